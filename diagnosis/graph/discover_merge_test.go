package graph_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

const mergeFile = `
services:
  checkout:     {kind: service, team: shop, depends_on: [orders-db], runbooks: [RB-APP-001]}
  orders-db:    {kind: database, team: dba, aliases: [postgres]}
  worker-1:     {kind: node, aliases: ["10.0.0.1"]}
`

func mustParse(t *testing.T, src string) *graph.Graph {
	t.Helper()
	g, err := graph.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestMergeKeepsTheFileAndAddsWhatWasDiscovered(t *testing.T) {
	file := mustParse(t, mergeFile)
	d := graph.Discovery{
		Nodes: []graph.Node{
			{Name: "checkout", Kind: "service", DependsOn: []string{"payment", "postgres"}},
			{Name: "payment", Kind: "service", DependsOn: []string{"ip-10-0-0-1"}, Aliases: []string{"payment-svc"}},
			{Name: "postgres", Kind: "service", Aliases: []string{"pg-main"}},
			{Name: "ip-10-0-0-1", Kind: "node", Aliases: []string{"10.0.0.1", "10.0.0.1:9100"}},
		},
		Edges: []graph.Edge{
			{From: "checkout", To: "payment", Source: graph.SourceIstio, Rate: 4},
			{From: "checkout", To: "postgres", Source: graph.SourceTraces, Rate: 9},
			{From: "payment", To: "ip-10-0-0-1", Source: graph.SourceKubernetes, Rate: 2},
		},
	}
	g, edges, err := graph.Merge(file, d)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Names(), []string{"checkout", "orders-db", "payment", "worker-1"}; !slices.Equal(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
	// A discovered name matching a file alias is that node; the file's kind wins.
	if n, _ := g.Node("orders-db"); n.Kind != "database" || n.Team != "dba" || !slices.Equal(n.Aliases, []string{"postgres", "pg-main"}) {
		t.Errorf("orders-db is %+v, want the file's database, team dba, aliases postgres and pg-main", n)
	}
	// A discovered node one of whose aliases is a file alias is that node, and its name becomes an alias.
	for _, alias := range []string{"10.0.0.1", "10.0.0.1:9100", "ip-10-0-0-1"} {
		if got, _ := g.Lookup(alias); got != "worker-1" {
			t.Errorf("%s resolves to %q, want worker-1", alias, got)
		}
	}
	if n, _ := g.Node("checkout"); n.Team != "shop" || !slices.Equal(n.Runbooks, []string{"RB-APP-001"}) {
		t.Errorf("checkout lost the file's team or runbooks: %+v", n)
	}
	if got, want := g.DependsOn("checkout"), []string{"orders-db", "payment"}; !slices.Equal(got, want) {
		t.Errorf("checkout depends on %v, want %v", got, want)
	}
	if got, want := g.DependsOn("payment"), []string{"worker-1"}; !slices.Equal(got, want) {
		t.Errorf("payment depends on %v, want %v", got, want)
	}
	want := []graph.Edge{
		{From: "checkout", To: "orders-db", Source: graph.SourceFile},
		{From: "checkout", To: "orders-db", Source: graph.SourceTraces, Rate: 9},
		{From: "checkout", To: "payment", Source: graph.SourceIstio, Rate: 4},
		{From: "payment", To: "worker-1", Source: graph.SourceKubernetes, Rate: 2},
	}
	if !reflect.DeepEqual(edges, want) {
		t.Errorf("edges:\n got %+v\nwant %+v", edges, want)
	}
}

func TestMergeFillsOnlyKindsTheFileLeftOpen(t *testing.T) {
	file := mustParse(t, "services:\n  api: {depends_on: [cache]}\n")
	g, _, err := graph.Merge(file, graph.Discovery{Nodes: []graph.Node{{Name: "api", Kind: "service"}, {Name: "cache", Kind: "cache"}}})
	if err != nil {
		t.Fatal(err)
	}
	// api had no kind, cache was an undeclared dependency ("unknown").
	if g.Kind("api") != "service" || g.Kind("cache") != "cache" {
		t.Errorf("kinds api=%q cache=%q, want service and cache", g.Kind("api"), g.Kind("cache"))
	}
}

func TestMergeWithoutAFileIsTheDiscovery(t *testing.T) {
	d := graph.Discover(graph.Input{graph.FamilyTraces: {sample(1, "client", "web", "server", "db", "connection_type", "database")}})
	g, edges, err := graph.Merge(nil, d)
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind("db") != "database" || !g.DependsTransitively("web", "db") {
		t.Errorf("merged graph lost the discovery: db kind %q, web→db %v", g.Kind("db"), g.DependsTransitively("web", "db"))
	}
	if len(edges) != 1 || edges[0].Source != graph.SourceTraces {
		t.Errorf("edges %+v, want the one traces edge", edges)
	}
}

func TestMergeDropsADiscoveredAliasTheFileGivesAnotherNode(t *testing.T) {
	file := mustParse(t, "services:\n  api: {aliases: [gateway]}\n  gw: {kind: gateway}\n")
	g, _, err := graph.Merge(file, graph.Discovery{Nodes: []graph.Node{{Name: "gw", Kind: "service", Aliases: []string{"gateway"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := g.Lookup("gateway"); got != "api" {
		t.Errorf("gateway resolves to %q, want the file's api", got)
	}
}
