package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func TestTheIgnoreListHidesDiscoveredNodesAndEdges(t *testing.T) {
	file := mustParse(t, `
services:
  checkout: {team: shop, depends_on: [audit-log]}
  audit-log: {}
ignore:
  - prometheus               # a node, with every edge it has
  - "checkout -> fraud-*"    # edges, by pattern
  - "* -> audit-log"         # discovered edges only: the file's own stays
  - jaeger-collector-svc     # a node, by one of its aliases
`)
	d := graph.Discovery{
		Nodes: []graph.Node{
			{Name: "checkout", Kind: "service", DependsOn: []string{"audit-log", "fraud-check", "fraud-score", "payment", "prometheus"}},
			{Name: "audit-log", Kind: "service"},
			{Name: "fraud-check", Kind: "service"},
			{Name: "fraud-score", Kind: "service"},
			{Name: "payment", Kind: "service", DependsOn: []string{"jaeger-collector", "audit-log"}},
			{Name: "prometheus", Kind: "service", DependsOn: []string{"checkout"}},
			{Name: "jaeger-collector", Kind: "service", Aliases: []string{"jaeger-collector-svc"}},
		},
		Edges: []graph.Edge{
			{From: "checkout", To: "audit-log", Source: graph.SourceIstio, Rate: 1},
			{From: "checkout", To: "fraud-check", Source: graph.SourceIstio, Rate: 1},
			{From: "checkout", To: "fraud-score", Source: graph.SourceIstio, Rate: 1},
			{From: "checkout", To: "payment", Source: graph.SourceIstio, Rate: 1},
			{From: "checkout", To: "prometheus", Source: graph.SourceIstio, Rate: 1},
			{From: "payment", To: "audit-log", Source: graph.SourceTraces, Rate: 1},
			{From: "payment", To: "jaeger-collector", Source: graph.SourceTraces, Rate: 1},
			{From: "prometheus", To: "checkout", Source: graph.SourceIstio, Rate: 1},
		},
	}
	g, edges, err := graph.Merge(file, d)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Names(), []string{"audit-log", "checkout", "fraud-check", "fraud-score", "payment"}; !slices.Equal(got, want) {
		t.Errorf("nodes %v, want %v (prometheus and jaeger-collector hidden)", got, want)
	}
	if got, want := g.DependsOn("checkout"), []string{"audit-log", "payment"}; !slices.Equal(got, want) {
		t.Errorf("checkout depends on %v, want %v: the file's edge to audit-log stays, fraud-* are hidden", got, want)
	}
	if got := g.DependsOn("payment"); len(got) != 0 {
		t.Errorf("payment depends on %v, want nothing: both its discovered edges are hidden", got)
	}
	var shown []string
	for _, e := range edges {
		shown = append(shown, e.From+" -> "+e.To+" "+string(e.Source))
	}
	if want := []string{"checkout -> audit-log file", "checkout -> payment mesh-istio"}; !slices.Equal(shown, want) {
		t.Errorf("edges %v, want %v", shown, want)
	}
}

func TestAnIgnoreListAloneIsAGraphFile(t *testing.T) {
	g := mustParse(t, "ignore: [prometheus]\n")
	if g.Len() != 0 || !g.Ignored().Node("prometheus") {
		t.Errorf("a file with only an ignore list: %d nodes, ignores prometheus %v; want none and true", g.Len(), g.Ignored().Node("prometheus"))
	}
}

func TestABadIgnoreEntrySaysWhichAndWhy(t *testing.T) {
	for _, tc := range []struct{ entry, want string }{
		{`"checkout ->"`, `ignore entry 1 ("checkout ->")`},
		{`"-> db"`, `ignore entry 1 ("-> db")`},
		{`"[abc"`, `"[abc" is not a pattern`},
	} {
		_, err := graph.Parse([]byte("services: {a: {}}\nignore: [" + tc.entry + "]\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ignore [%s]: error %v, want one saying %s", tc.entry, err, tc.want)
		}
	}
}
