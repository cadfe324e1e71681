// Package lease elects the one nightowl replica that speaks to Slack, through
// a Kubernetes coordination.k8s.io/v1 Lease (client-go's leaderelection).
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// Config names the Lease and who campaigns for it.
type Config struct {
	// Client reaches the API server; InCluster builds it from the pod's
	// service account.
	Client kubernetes.Interface
	// Namespace and Name of the Lease; Identity is this replica (its pod
	// name).
	Namespace, Name, Identity string
	// LeaseDuration is how long a standby waits after the last renewal it
	// saw before it takes the Lease (default 15s); whole seconds, as the
	// Lease stores it. RenewDeadline is how long the leader keeps trying
	// to renew before it stops speaking (default 10s); RetryPeriod how
	// often both try (default 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Logger                                    *slog.Logger // default: discards
}

// Elector campaigns for the Lease and runs the leader's work while this
// replica holds it.
type Elector struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	holder  string // the holder last seen; "" while unknown or released
	leading bool
}

// InCluster is a client for the API server of the cluster the pod runs in.
func InCluster() (kubernetes.Interface, error) {
	rc, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	rc.UserAgent = "nightowl-leader-election"
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return c, nil
}

// New checks the configuration (client-go's rules: the lease outlasts the
// renew deadline, which outlasts a retry with jitter) and returns an
// Elector.
func New(cfg Config) (*Elector, error) {
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 15 * time.Second
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = 10 * time.Second
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = 2 * time.Second
	}
	switch {
	case cfg.Client == nil:
		return nil, errors.New("lease: no Kubernetes client")
	case cfg.Namespace == "" || cfg.Name == "" || cfg.Identity == "":
		return nil, errors.New("lease: the Lease needs a namespace, a name and this replica's identity")
	case cfg.LeaseDuration%time.Second != 0:
		return nil, fmt.Errorf("lease: the lease duration %v is not whole seconds", cfg.LeaseDuration)
	case cfg.LeaseDuration <= cfg.RenewDeadline:
		return nil, fmt.Errorf("lease: the lease duration %v must be longer than the renew deadline %v", cfg.LeaseDuration, cfg.RenewDeadline)
	case float64(cfg.RenewDeadline) <= leaderelection.JitterFactor*float64(cfg.RetryPeriod):
		return nil, fmt.Errorf("lease: the renew deadline %v must be longer than %v times the retry period %v",
			cfg.RenewDeadline, leaderelection.JitterFactor, cfg.RetryPeriod)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "lease", "lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
	return &Elector{cfg: cfg, log: log}, nil
}

// Holder is who holds the Lease as this replica last saw it, and whether
// that is this replica.
func (e *Elector) Holder() (identity string, leading bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.holder, e.leading
}

func (e *Elector) setHolder(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holder = id
}

func (e *Elector) setLeading(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leading = on
	if on {
		e.holder = e.cfg.Identity
	}
}

// Lead campaigns until ctx ends. Each time this replica wins the Lease it
// calls lead with a context that ends when ctx ends or the Lease is lost
// (no renewal for RenewDeadline), and gives the Lease up only once lead
// has returned, so that a standby never speaks while this one still does;
// then it campaigns again. An error from lead ends Lead with it, the Lease
// given up.
func (e *Elector) Lead(ctx context.Context, lead func(context.Context) error) error {
	for ctx.Err() == nil {
		if err := e.term(ctx, lead); err != nil {
			return err
		}
	}
	return nil
}

// term is one campaign: waiting for the Lease, leading while it holds,
// giving it up.
func (e *Elector) term(ctx context.Context, lead func(context.Context) error) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.Name},
		Client:     e.cfg.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.cfg.Identity},
	}
	// client-go logs through klog; the context carries ours to it.
	logged := klog.NewContext(context.WithoutCancel(ctx), logr.FromSlogHandler(e.log.Handler()))
	// The election outlives ctx until lead has returned: renewing goes on
	// while the leader stops speaking.
	election, stopElection := context.WithCancel(logged)
	defer stopElection()

	var (
		mu       sync.Mutex
		started  bool // lead was called
		stopping bool // ctx ended before this replica won
		done     = make(chan struct{})
		leadErr  error
	)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          lock,
		LeaseDuration: e.cfg.LeaseDuration,
		RenewDeadline: e.cfg.RenewDeadline,
		RetryPeriod:   e.cfg.RetryPeriod,
		Name:          e.cfg.Name,
		// Released below, after lead returns: client-go would release as
		// soon as the election's context ends, while the bot may still post.
		ReleaseOnCancel: false,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lost context.Context) {
				defer close(done)
				mu.Lock()
				if stopping {
					mu.Unlock()
					return
				}
				started = true
				mu.Unlock()
				e.setLeading(true)
				e.log.Info("leading: this replica speaks")
				leading, cancel := context.WithCancel(ctx)
				stop := context.AfterFunc(lost, cancel)
				leadErr = lead(leading)
				stop()
				cancel()
				e.setLeading(false)
				stopElection() // renewing stops; the Lease is released below
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(id string) {
				e.setHolder(id)
				if id != e.cfg.Identity {
					e.log.Info("standing by", "holder", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	// While campaigning, the end of ctx stops the election at once; while
	// leading, lead's return does.
	unwatch := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !started {
			stopping = true
			stopElection()
		}
	})
	defer unwatch()

	le.Run(election)
	mu.Lock()
	won := started
	mu.Unlock()
	if !won && !le.IsLeader() {
		return nil // ctx ended while campaigning
	}
	<-done // lead returned, or (ctx ended as this replica won) never ran
	if e.release(logged) {
		e.log.Info("gave the lease up: a standby may take over now")
	}
	return leadErr
}

// release gives the Lease up when this replica still holds it: the holder
// is cleared, so that a standby takes it at its next try instead of
// waiting for it to expire. A lease another replica holds is left alone.
func (e *Elector) release(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.RenewDeadline)
	defer cancel()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.Name},
		Client:     e.cfg.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.cfg.Identity},
	}
	rec, _, err := lock.Get(ctx)
	if err != nil {
		e.log.Warn("could not give the lease up: a standby takes over when it expires", "err", err)
		return false
	}
	if rec.HolderIdentity != e.cfg.Identity {
		return false
	}
	now := metav1.NewTime(time.Now())
	err = lock.Update(ctx, resourcelock.LeaderElectionRecord{
		LeaseDurationSeconds: 1, RenewTime: now, AcquireTime: now, LeaderTransitions: rec.LeaderTransitions,
	})
	if err != nil {
		e.log.Warn("could not give the lease up: a standby takes over when it expires", "err", err)
		return false
	}
	e.setHolder("")
	return true
}
