package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// fakeDiscovery answers with its discovery, or its error when set.
type fakeDiscovery struct {
	mu    sync.Mutex
	d     graph.Discovery
	err   error
	calls int
}

func (f *fakeDiscovery) discover(context.Context, time.Time) (graph.Discovery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.d, f.err
}

func (f *fakeDiscovery) set(d graph.Discovery, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.d, f.err = d, err
}

func writeGraph(t *testing.T, path, data string) {
	t.Helper()
	mustWriteFile(t, filepath.Dir(path), filepath.Base(path), data)
}

// startRefresher runs a refresher over the graph file at path (written
// with file) and the fake discovery, inside the current synctest bubble.
func startRefresher(t *testing.T, path, file string, fake *fakeDiscovery, log *syncBuffer, hup <-chan os.Signal) *graph.Current {
	t.Helper()
	writeGraph(t, path, file)
	cfg, _, err := LoadConfig("test", nil, func(k string) string {
		return map[string]string{"SERVICE_GRAPH": path, "GRAPH_REFRESH": "5m"}[k]
	}, nil, needNothing)
	if err != nil {
		t.Fatal(err)
	}
	current := graph.NewCurrent(cfg.GraphSnapshot())
	var discover discoverFunc
	if fake != nil {
		discover = fake.discover
	}
	r := newGraphRefresher(cfg, current, discover, cfg.rules, hup, slog.New(slog.NewTextHandler(log, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	if discover != nil {
		r.refresh(ctx, "start", false)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return current
}

var meshDiscovery = graph.Discovery{
	Nodes: []graph.Node{{Name: "api", Kind: "service", DependsOn: []string{"db"}}, {Name: "db", Kind: "service"}, {Name: "web", Kind: "service", DependsOn: []string{"api"}}},
	Edges: []graph.Edge{{From: "api", To: "db", Source: graph.SourceIstio, Rate: 3}, {From: "web", To: "api", Source: graph.SourceIstio, Rate: 9}},
}

func TestARefreshThatFailsKeepsTheLastGoodGraphAndSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log syncBuffer
		fake := &fakeDiscovery{d: meshDiscovery}
		current := startRefresher(t, filepath.Join(t.TempDir(), "graph.yaml"), "services: {db: {kind: database, team: dba}}\n", fake, &log, nil)
		good := current.Load()
		if got := good.Graph.Names(); !slices.Equal(got, []string{"api", "db", "web"}) || good.Graph.Kind("db") != "database" {
			t.Fatalf("after the first refresh: nodes %v, db a %q; want the discovery merged with the file's database", got, good.Graph.Kind("db"))
		}
		fake.set(graph.Discovery{}, errors.New("Prometheus at http://prom:9090: connection refused"))
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		s := current.Load()
		if s.Graph != good.Graph || s.Version != good.Version {
			t.Errorf("after a failed refresh the graph is version %d with %d nodes, want the last good one (version %d)", s.Version, s.Graph.Len(), good.Version)
		}
		if !strings.Contains(s.Failed.Err, "connection refused") || s.Failed.At.IsZero() {
			t.Errorf("the snapshot says failed %+v, want when and why", s.Failed)
		}
		if !strings.Contains(log.String(), "service graph refresh failed: keeping the last good graph") {
			t.Errorf("the log does not say the refresh failed:\n%s", log.String())
		}
		fake.set(graph.Discovery{Nodes: meshDiscovery.Nodes[:2], Edges: meshDiscovery.Edges[:1]}, nil)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if s := current.Load(); s.Failed.Err != "" || s.Graph.Has("web") || !s.Graph.Has("api") {
			t.Errorf("after the next refresh worked: failed %q, nodes %v; want no failure and the new discovery", s.Failed.Err, s.Graph.Names())
		}
	})
}

func TestSIGHUPReadsTheGraphFileAgainAndABrokenOneChangesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log syncBuffer
		path := filepath.Join(t.TempDir(), "graph.yaml")
		hup := make(chan os.Signal, 1)
		current := startRefresher(t, path, "services: {web: {depends_on: [api]}, api: {}}\n", nil, &log, hup)

		writeGraph(t, path, "services: {web: {depends_on: [api]}, api: {depends_on: [db]}, db: {kind: database}}\n")
		hup <- os.Interrupt // any signal on the channel is a hangup
		synctest.Wait()
		good := current.Load()
		if !good.Graph.DependsTransitively("web", "db") || good.Version != 2 {
			t.Fatalf("after SIGHUP: version %d, web reaches db %v; want the file read again", good.Version, good.Graph.DependsTransitively("web", "db"))
		}

		writeGraph(t, path, "services: {web: {depends_on: [api]\n") // saved half-way
		hup <- os.Interrupt
		synctest.Wait()
		s := current.Load()
		if s.Graph != good.Graph || !strings.Contains(s.Failed.Err, "SERVICE_GRAPH") {
			t.Errorf("after SIGHUP with a broken file: %d nodes, failed %q; want the last good graph and why", s.Graph.Len(), s.Failed.Err)
		}
		if !strings.Contains(log.String(), "keeping the last good graph") {
			t.Errorf("the log does not say the graph was kept:\n%s", log.String())
		}
	})
}
