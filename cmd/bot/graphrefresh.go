package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
)

const (
	// discoveryQueryTimeout bounds one discovery query; refreshTimeout a
	// whole refresh, and the first one, which the start waits for.
	discoveryQueryTimeout = 30 * time.Second
	refreshTimeout        = 2 * time.Minute
	firstRefreshTimeout   = 20 * time.Second
)

// discoverFunc reads a discovery as of at.
type discoverFunc func(ctx context.Context, at time.Time) (graph.Discovery, error)

// graphRefresher keeps the graph in effect fresh: SERVICE_GRAPH merged
// with what discovery shows (GRAPH_DISCOVERY), read again every
// GRAPH_REFRESH and on SIGHUP, which reads the file again too.
// A refresh is all or nothing: one that fails keeps the last good graph,
// and the snapshot, hence /graph, says when and why it failed.
type graphRefresher struct {
	current  *graph.Current
	path     string       // SERVICE_GRAPH; "" for none
	discover discoverFunc // nil without discovery
	every    time.Duration
	hangups  <-chan os.Signal // SIGHUP, when the process listens for it
	log      *slog.Logger
	now      func() time.Time

	// Owned by whoever refreshes: NewApp once, then Run alone.
	file     *graph.Graph // the file as last read well; nil without one
	fileRead time.Time
	rules    []diagnosis.Rule // its resolve: rules as first read
}

// newGraphRefresher starts from the graph file Config read; discover is
// nil without discovery; a signal on hangups (SIGHUP) reads the file again.
func newGraphRefresher(cfg Config, current *graph.Current, discover discoverFunc, rules []diagnosis.Rule, hangups <-chan os.Signal, log *slog.Logger) *graphRefresher {
	r := &graphRefresher{current: current, path: cfg.ServiceGraph, discover: discover, every: cfg.GraphRefresh,
		hangups: hangups, log: log.With("component", "graph"), now: time.Now, rules: rules}
	if cfg.ServiceGraph != "" {
		r.file, r.fileRead = cfg.Graph(), cfg.graphRead
	}
	if r.every <= 0 {
		r.every = 5 * time.Minute
	}
	return r
}

// promDiscovery reads the discovery families from Prometheus; a family
// that fails fails the discovery, so a refresh never drops the edges of a
// family Prometheus did not answer for.
func promDiscovery(client *prom.Client, window time.Duration) discoverFunc {
	return func(ctx context.Context, at time.Time) (graph.Discovery, error) {
		results, err := client.Discover(ctx, prom.DiscoverOptions{Window: window, At: at, Exporters: graph.ExporterMetrics()})
		if err != nil {
			return graph.Discovery{}, fmt.Errorf("discover the service graph: %w", err)
		}
		in, failed := discoveryInput(results)
		if len(failed) > 0 {
			first, _, _ := strings.Cut(failed[0], "\n")
			return graph.Discovery{}, fmt.Errorf("discover the service graph: %d of %d families failed, the first with %s", len(failed), len(results), first)
		}
		return graph.Discover(in), nil
	}
}

// Run refreshes every GRAPH_REFRESH with discovery, and on each hangup,
// until ctx ends.
func (r *graphRefresher) Run(ctx context.Context) error {
	var tick <-chan time.Time
	if r.discover != nil {
		t := time.NewTicker(r.every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			r.refresh(ctx, "timer", false)
		case <-r.hangups:
			r.refresh(ctx, "SIGHUP", true)
		}
	}
}

// refresh reads the graph again, within refreshTimeout, and logs how it went.
func (r *graphRefresher) refresh(parent context.Context, why string, rereadFile bool) {
	ctx, cancel := context.WithTimeout(parent, refreshTimeout)
	defer cancel()
	was := r.current.Load()
	start := r.now()
	s, err := r.read(ctx, start, rereadFile)
	if err != nil {
		if parent.Err() != nil && errors.Is(context.Cause(parent), context.Canceled) {
			return // shutting down
		}
		r.current.Fail(start, err)
		r.log.Warn("service graph refresh failed: keeping the last good graph", "why", why, "err", err,
			"nodes", was.Graph.Len(), "version", was.Version, "since", lastGood(was))
		return
	}
	now := r.current.Store(s)
	level := slog.LevelDebug
	if now.Version != was.Version || was.Failed.Err != "" || rereadFile {
		level = slog.LevelInfo
	}
	r.log.Log(ctx, level, "service graph refreshed", "why", why, "nodes", now.Graph.Len(), "edges", edgeCounts(now),
		"version", now.Version, "took", r.now().Sub(start).Round(time.Millisecond))
	if now.Discovering && now.Graph.Len() == 0 && (was.Graph.Len() > 0 || was.Discovered.IsZero()) {
		r.log.Warn("discovery found no service graph: grouping by time and labels until it does; see bot graph discover")
	}
}

// read builds the next snapshot: the file (read again when asked) merged
// with a fresh discovery. Nothing is kept unless all of it worked.
func (r *graphRefresher) read(ctx context.Context, at time.Time, rereadFile bool) (graph.Snapshot, error) {
	file, fileRead := r.file, r.fileRead
	if rereadFile && r.path != "" {
		data, err := os.ReadFile(r.path)
		if err != nil {
			return graph.Snapshot{}, fmt.Errorf("read SERVICE_GRAPH: %w", err)
		}
		if file, err = graph.Parse(data); err != nil {
			return graph.Snapshot{}, fmt.Errorf("SERVICE_GRAPH %s: %w", r.path, err)
		}
		if rules, err := diagnosis.ParseRules(data); err == nil && !reflect.DeepEqual(rules, r.rules) {
			r.log.Warn("the resolve: rules of SERVICE_GRAPH changed: they take effect at the next restart; the services and ignore list take effect now", "file", r.path)
		}
		fileRead = at
	}
	s := graph.Snapshot{Graph: file, FileRead: fileRead, Discovering: r.discover != nil}
	if r.discover != nil {
		d, err := r.discover(ctx, at)
		if err != nil {
			return graph.Snapshot{}, err
		}
		g, edges, err := graph.Merge(file, d)
		if err != nil {
			return graph.Snapshot{}, err
		}
		for _, w := range d.Warnings {
			r.log.Debug("service graph discovery", "warning", w)
		}
		s.Graph, s.Edges, s.Discovered = g, edges, at
	}
	r.file, r.fileRead = file, fileRead
	return s, nil
}

// lastGood says when the graph in effect was read, for the log.
func lastGood(s *graph.Snapshot) string {
	switch {
	case !s.Discovered.IsZero():
		return s.Discovered.UTC().Format(time.RFC3339)
	case !s.FileRead.IsZero():
		return s.FileRead.UTC().Format(time.RFC3339)
	}
	return "never"
}

// edgeCounts is "file 12, mesh-istio 30": the edges of each source.
func edgeCounts(s *graph.Snapshot) string {
	if s.Edges == nil {
		deps := 0
		for _, n := range s.Graph.Names() {
			deps += len(s.Graph.DependsOn(n))
		}
		return fmt.Sprintf("file %d", deps)
	}
	return listOrNone(countBySource(s.Edges))
}
