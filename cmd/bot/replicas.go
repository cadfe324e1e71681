package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nightowl-sre/nightowl/deploy/lease"
	"github.com/nightowl-sre/nightowl/metrics"
	"github.com/nightowl-sre/nightowl/store/replica"
)

// Leader decides which replica speaks to Slack (docs/ha.md). Lead calls
// lead each time this replica wins, with a context that ends when it loses
// or ctx ends, and returns when ctx ends; Holder says who leads as this
// replica last saw it, and whether that is this replica.
type Leader interface {
	Lead(ctx context.Context, lead func(context.Context) error) error
	Holder() (identity string, leading bool)
}

var _ Leader = (*lease.Elector)(nil)

// alone is the Leader without an election (LEADER_ELECTION=none): this
// replica leads from start to end.
type alone struct{}

func (alone) Lead(ctx context.Context, lead func(context.Context) error) error { return lead(ctx) }
func (alone) Holder() (string, bool)                                           { return "", true }

// runReplica is `bot run` with LEADER_ELECTION or REPLICA_URL set.
func runReplica(ctx context.Context, cfg Config, log *slog.Logger) error {
	leader, err := newLeader(cfg, log)
	if err != nil {
		return err
	}
	return newReplicaRun(cfg, log, leader).Run(ctx)
}

// serviceAccountNamespace is where Kubernetes tells a pod its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// newLeader builds the election LEADER_ELECTION names.
func newLeader(cfg Config, log *slog.Logger) (Leader, error) {
	if cfg.LeaderElection != "kubernetes" {
		return alone{}, nil
	}
	ns := cfg.PodNamespace
	if ns == "" {
		b, err := os.ReadFile(serviceAccountNamespace)
		if err != nil {
			return nil, usageError{msg: "LEADER_ELECTION=kubernetes needs the Lease's namespace: set POD_NAMESPACE (the Deployment sets it from the downward API)"}
		}
		ns = strings.TrimSpace(string(b))
	}
	id := cfg.PodName
	if id == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("LEADER_ELECTION=kubernetes: no POD_NAME and no host name: %w", err)
		}
		id = h
	}
	client, err := lease.InCluster()
	if err != nil {
		return nil, fmt.Errorf("LEADER_ELECTION=kubernetes: %w", err)
	}
	return lease.New(lease.Config{Client: client, Namespace: ns, Name: cfg.LeaseName, Identity: id,
		LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.LeaseRenewDeadline, RetryPeriod: cfg.LeaseRetryPeriod, Logger: log})
}

// replicaRun is one replica of nightowl: it serves its probes and metrics
// for as long as it runs, keeps the graph and the store warm, and serves
// Slack only while it leads, each term with an App of its own built on
// the store as the last leader left it (restored from REPLICA_URL).
type replicaRun struct {
	cfg    Config
	log    *slog.Logger
	leader Leader
	reg    *metrics.Registry

	mu       sync.Mutex
	app      *App // serving Slack; nil on a standby or between terms
	stopping bool // SIGTERM: not ready from now on
	restored replica.Restored
}

func newReplicaRun(cfg Config, log *slog.Logger, leader Leader) *replicaRun {
	return &replicaRun{cfg: cfg, log: log, leader: leader, reg: metrics.New(version)}
}

// Run campaigns and leads until ctx ends. The probes answer until the
// last term has stopped: on SIGTERM readiness turns false first, then
// the leader stops speaking, ships its last writes, and gives the Lease
// up, so that a standby takes over at once.
func (r *replicaRun) Run(ctx context.Context) error {
	serving, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.stopping = true
		r.mu.Unlock()
		r.log.Info("shutting down: not ready; the leader hands over once it has stopped")
	})
	defer stop()

	var g errgroup.Group
	if r.cfg.MetricsAddr != "" {
		srv := metrics.NewServer(metrics.ServerConfig{Addr: r.cfg.MetricsAddr, Registry: r.reg, Checks: r.checks(), Logger: r.log})
		g.Go(func() error { return srv.Run(serving) })
	}
	if r.cfg.PprofAddr != "" {
		g.Go(func() error { return servePprof(serving, r.cfg.PprofAddr, r.log) })
	}
	g.Go(func() error {
		defer stopServing()
		// A standby restores the store now, so that the first term only
		// fetches what changed since and a broken replica shows early.
		if r.cfg.ReplicaURL != "" {
			if err := r.restore(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("could not restore the store from the replica; trying again when this replica leads", "err", err)
			}
		}
		return r.leader.Lead(ctx, r.lead)
	})
	return g.Wait()
}

// restore brings the local store up to the replica's latest state.
func (r *replicaRun) restore(ctx context.Context) error {
	got, err := replica.Restore(ctx, r.cfg.DBPath, r.replicaConfig())
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.restored = got
	r.mu.Unlock()
	return nil
}

func (r *replicaRun) replicaConfig() replica.Config {
	return replica.Config{URL: r.cfg.ReplicaURL, SyncInterval: r.cfg.ReplicaSyncInterval, Logger: r.log}
}

// lead is one term: the store restored from the replica when it is behind
// it, a new App on it, the store streamed to the replica while the App
// serves Slack, and, when the term ends, the last writes shipped.
func (r *replicaRun) lead(ctx context.Context) error {
	start := time.Now()
	if r.cfg.ReplicaURL != "" {
		if err := r.restore(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("take over: %w", err)
		}
	}
	cfg := r.cfg
	cfg.MetricsAddr, cfg.PprofAddr = "", "" // served by the replica, across terms
	app, err := newApp(ctx, cfg, r.log, r.reg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("take over: %w", err)
	}
	var stream *replica.Stream
	if r.cfg.ReplicaURL != "" {
		if stream, err = replica.Start(ctx, r.cfg.DBPath, r.replicaConfig()); err != nil {
			app.DB.Close()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("take over: %w", err)
		}
	}
	r.setApp(app)
	r.log.Info("leading: serving Slack", "took_over_in", time.Since(start).Round(time.Millisecond))
	err = app.Run(ctx) // closes the store
	r.setApp(nil)
	if stream != nil {
		closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if cerr := stream.Close(closing); cerr != nil {
			r.log.Warn("the last writes may not have reached the replica", "err", cerr)
		}
	}
	r.log.Info("stopped leading")
	return err
}

func (r *replicaRun) setApp(a *App) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.app = a
}

// checks are the replica's readiness: "leader" says whether it leads,
// stands by (ready, with a note) or is shutting down (not ready); the
// App's own checks (Socket Mode, store …) answer while it leads, and a
// standby is ready for each with a note.
func (r *replicaRun) checks() []metrics.Check {
	checks := []metrics.Check{{Name: "leader", Ready: func(context.Context) error {
		holder, leading := r.leader.Holder()
		r.mu.Lock()
		stopping, app := r.stopping, r.app
		r.mu.Unlock()
		switch {
		case stopping:
			return errors.New("shutting down: handing over to a standby")
		case leading && app == nil:
			return errors.New("taking over: restoring the store")
		case leading:
			return nil
		default:
			return metrics.Standby(cmp.Or(holder, "no replica") + " holds the lease")
		}
	}}}
	for _, c := range (&App{}).readiness() {
		checks = append(checks, metrics.Check{Name: c.Name, Ready: func(ctx context.Context) error {
			r.mu.Lock()
			app, restored := r.app, r.restored
			r.mu.Unlock()
			if app == nil {
				return metrics.Standby(r.standbyNote(c.Name, restored))
			}
			for _, ac := range app.readiness() {
				if ac.Name == c.Name {
					return ac.Ready(ctx)
				}
			}
			return nil
		}})
	}
	return checks
}

func (r *replicaRun) standbyNote(check string, restored replica.Restored) string {
	switch {
	case check != "store":
		return "opened when this replica leads"
	case r.cfg.ReplicaURL == "":
		return "no REPLICA_URL: opened as it is when this replica leads"
	case restored.TXID == 0:
		return "restored from the replica when this replica leads"
	default:
		return fmt.Sprintf("restored from the replica at transaction %d; brought up to date when this replica leads", restored.TXID)
	}
}
