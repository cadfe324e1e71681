package lease_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

// Why the manifests are checked here: this package owns client-go, whose
// scheme knows every built-in kind, and the Lease the Deployment elects
// its leader with.

// crds are kinds of the manifests that client-go's scheme does not know.
var crds = []string{"ServiceMonitor"}

// mustDecodeManifests decodes every object of deploy/kubernetes (optional/
// included) strictly: an unknown or repeated field is an error.
func mustDecodeManifests(t *testing.T) []runtime.Object {
	t.Helper()
	files, _ := filepath.Glob("../kubernetes/*.yaml")
	optional, _ := filepath.Glob("../kubernetes/optional/*.yaml")
	strict := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	var objs []runtime.Object
	for _, f := range append(files, optional...) {
		if b := filepath.Base(f); b == "kustomization.yaml" || b == "graph.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			obj, _, err := strict.Decode(doc, nil, nil)
			if runtime.IsNotRegisteredError(err) && slices.ContainsFunc(crds, func(k string) bool { return bytes.Contains(doc, []byte("\nkind: "+k+"\n")) }) {
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			objs = append(objs, obj)
		}
	}
	if len(objs) < 8 {
		t.Fatalf("decoded only %d objects from deploy/kubernetes", len(objs))
	}
	return objs
}

func TestTheManifestsDecodeStrictlyWithClientGosScheme(t *testing.T) {
	mustDecodeManifests(t)
}

func TestTheDeploymentElectsItsLeaderWithTheLeaseItMayChange(t *testing.T) {
	var dep *appsv1.Deployment
	var verbs []string
	for _, obj := range mustDecodeManifests(t) {
		switch o := obj.(type) {
		case *appsv1.Deployment:
			dep = o
		case *rbacv1.Role:
			if o.Name == "nightowl-leases" {
				for _, r := range o.Rules {
					verbs = append(verbs, r.Verbs...)
				}
			}
		}
	}
	if dep == nil {
		t.Fatal("no Deployment")
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	if env["LEADER_ELECTION"].Value != "kubernetes" {
		t.Errorf("LEADER_ELECTION = %q, want kubernetes", env["LEADER_ELECTION"].Value)
	}
	for name, field := range map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"} {
		if f := env[name].ValueFrom; f == nil || f.FieldRef == nil || f.FieldRef.FieldPath != field {
			t.Errorf("%s is not the downward API's %s", name, field)
		}
	}
	if !strings.HasPrefix(env["REPLICA_URL"].Value, "file:///data/") {
		t.Errorf("REPLICA_URL = %q, want a directory on the /data volume", env["REPLICA_URL"].Value)
	}
	for _, v := range []string{"get", "create", "update"} { // what the elector calls
		if !slices.Contains(verbs, v) {
			t.Errorf("Role nightowl-leases does not grant %s on leases", v)
		}
	}
}
