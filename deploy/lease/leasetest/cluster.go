// Package leasetest is an in-process Kubernetes API holding Leases, for
// tests of replicas that elect each other: client-go's fake clientset,
// made to refuse a stale update as the API server does, with a switch that
// cuts one replica off.
package leasetest

import (
	"fmt"
	"strconv"
	"sync"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// Cluster is the API server the replicas share.
type Cluster struct {
	tracker k8stesting.ObjectTracker

	mu  sync.Mutex // serialises writes, so that each compares and swaps
	cut map[string]bool
}

// New returns a Cluster holding no Lease.
func New() *Cluster {
	return &Cluster{tracker: fake.NewClientset().Tracker(), cut: map[string]bool{}}
}

var leases = coordinationv1.SchemeGroupVersion.WithResource("leases")

// Client is the API as the replica named identity reaches it.
func (c *Cluster) Client(identity string) kubernetes.Interface {
	cs := &fake.Clientset{}
	cs.AddReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.cut[identity] {
			return true, nil, fmt.Errorf("%s is cut off from the API server", identity)
		}
		return false, nil, nil
	})
	cs.AddReactor("create", "leases", c.write)
	cs.AddReactor("update", "leases", c.write)
	cs.AddReactor("*", "*", k8stesting.ObjectReaction(c.tracker))
	return cs
}

// write stores a Lease if the caller read the version it replaces, as the
// API server's optimistic concurrency does, and stamps a new version.
func (c *Cluster) write(a k8stesting.Action) (bool, runtime.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var obj runtime.Object
	switch a := a.(type) {
	case k8stesting.CreateAction:
		obj = a.GetObject()
	case k8stesting.UpdateAction:
		obj = a.GetObject()
	default:
		return false, nil, nil
	}
	l := obj.(*coordinationv1.Lease).DeepCopy()
	cur, err := c.tracker.Get(leases, a.GetNamespace(), l.Name)
	version := 0
	switch {
	case apierrors.IsNotFound(err) && a.GetVerb() == "create":
	case err != nil:
		return true, nil, err
	case a.GetVerb() == "create":
		return true, nil, apierrors.NewAlreadyExists(leases.GroupResource(), l.Name)
	default:
		version, _ = strconv.Atoi(cur.(*coordinationv1.Lease).ResourceVersion)
		if l.ResourceVersion != strconv.Itoa(version) {
			return true, nil, apierrors.NewConflict(leases.GroupResource(), l.Name, fmt.Errorf("the lease was changed since it was read"))
		}
	}
	l.ResourceVersion = strconv.Itoa(version + 1)
	if a.GetVerb() == "create" {
		err = c.tracker.Create(leases, l, a.GetNamespace(), metav1.CreateOptions{})
	} else {
		err = c.tracker.Update(leases, l, a.GetNamespace(), metav1.UpdateOptions{})
	}
	if err != nil {
		return true, nil, err
	}
	return true, l.DeepCopy(), nil
}

// Cut makes every call of the replica fail, as a crash or a network
// partition does; Mend undoes it.
func (c *Cluster) Cut(identity string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut[identity] = true
}

// Mend lets the replica reach the API server again.
func (c *Cluster) Mend(identity string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cut, identity)
}

// Holder is who the Lease namespace/name names as its holder ("" when it
// is released or missing).
func (c *Cluster) Holder(namespace, name string) string {
	obj, err := c.tracker.Get(leases, namespace, name)
	if err != nil {
		return ""
	}
	if h := obj.(*coordinationv1.Lease).Spec.HolderIdentity; h != nil {
		return *h
	}
	return ""
}
