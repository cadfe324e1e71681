package graph_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func TestCurrentSwapsVersionsAndKeepsTheLastGoodGraphOnAFailure(t *testing.T) {
	first := mustParse(t, "services: {a: {depends_on: [b]}, b: {}}")
	second := mustParse(t, "services: {a: {depends_on: [b, c]}, b: {}, c: {}}")
	at := time.Date(2024, 11, 29, 9, 0, 0, 0, time.UTC)
	c := graph.NewCurrent(graph.Snapshot{Graph: first, FileRead: at})
	if s := c.Load(); s.Version != 1 || s.Graph != first {
		t.Fatalf("first snapshot: version %d, graph %p; want 1 and the graph given", s.Version, s.Graph)
	}
	c.Store(graph.Snapshot{Graph: second, Discovered: at.Add(time.Minute)})
	c.Fail(at.Add(6*time.Minute), errors.New("prometheus: connection refused"))
	s := c.Load()
	if s.Graph != second || s.Version != 2 {
		t.Errorf("after a failed refresh: version %d, %d nodes; want the last good graph, version 2", s.Version, s.Graph.Len())
	}
	if s.Failed.Err != "prometheus: connection refused" || !s.Failed.At.Equal(at.Add(6*time.Minute)) {
		t.Errorf("Failed = %+v, want when and why", s.Failed)
	}
	c.Store(graph.Snapshot{Graph: first})
	if s := c.Load(); s.Version != 3 || s.Failed != (graph.Failure{}) {
		t.Errorf("after a refresh that worked: version %d, failed %+v; want 3 and no failure", s.Version, s.Failed)
	}
	if empty := graph.NewCurrent(graph.Snapshot{}); empty.Graph() == nil || empty.Graph().Len() != 0 {
		t.Errorf("a snapshot without a graph holds %v, want the empty graph", empty.Graph())
	}
}

func TestSnapshotSaysWhatShowedAnEdge(t *testing.T) {
	g := mustParse(t, "services: {a: {depends_on: [b]}, b: {}}")
	fileOnly := graph.Snapshot{Graph: g}
	if got := fileOnly.Sources("a", "b"); !slices.Equal(got, []graph.Source{graph.SourceFile}) {
		t.Errorf("a graph read from a file alone: sources %v, want [file]", got)
	}
	if got := fileOnly.Sources("b", "a"); got != nil {
		t.Errorf("an edge the graph lacks: sources %v, want none", got)
	}
	merged := graph.Snapshot{Graph: g, Edges: []graph.Edge{
		{From: "a", To: "b", Source: graph.SourceFile}, {From: "a", To: "b", Source: graph.SourceIstio},
	}}
	if got := merged.Sources("a", "b"); !slices.Equal(got, []graph.Source{graph.SourceFile, graph.SourceIstio}) {
		t.Errorf("sources %v, want file and mesh-istio", got)
	}
}

func TestStoringTheSameGraphAgainKeepsItsVersion(t *testing.T) {
	first := mustParse(t, "services: {a: {depends_on: [b], kind: service}, b: {kind: database}}")
	again := mustParse(t, "services: {b: {kind: database}, a: {kind: service, depends_on: [b]}}")
	at := time.Date(2024, 11, 29, 9, 0, 0, 0, time.UTC)
	c := graph.NewCurrent(graph.Snapshot{Graph: first, Discovered: at})
	s := c.Store(graph.Snapshot{Graph: again, Discovered: at.Add(5 * time.Minute)})
	if s.Graph != first || s.Version != 1 || !s.Discovered.Equal(at.Add(5*time.Minute)) {
		t.Errorf("the same graph again: version %d, graph kept %v, discovered %v; want version 1, the graph kept, the new time",
			s.Version, s.Graph == first, s.Discovered)
	}
	changed := mustParse(t, "services: {a: {depends_on: [b], kind: service}, b: {kind: cache}}")
	if s := c.Store(graph.Snapshot{Graph: changed}); s.Graph != changed || s.Version != 2 {
		t.Errorf("a changed kind: version %d, want 2 and the new graph", s.Version)
	}
}
