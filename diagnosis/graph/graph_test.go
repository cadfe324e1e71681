package graph_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func TestExampleIsTheBlackFridayShop(t *testing.T) {
	g := graph.Example()
	if g.Len() != 9 {
		t.Errorf("example has %d nodes, want 9", g.Len())
	}
	if got, want := g.Dependents("order-service"), []string{"checkout-service", "payment-service"}; !slices.Equal(got, want) {
		t.Errorf("dependents of order-service %v, want %v", got, want)
	}
	if got, want := g.Upstream("postgres-rds"), []string{"api-gateway", "checkout-service", "inventory-service", "order-service", "payment-service"}; !slices.Equal(got, want) {
		t.Errorf("impact radius of postgres-rds %v, want %v", got, want)
	}
	if got, want := g.Downstream("payment-service"), []string{"kafka", "order-service", "postgres-rds", "redis-cache"}; !slices.Equal(got, want) {
		t.Errorf("downstream of payment-service %v, want %v", got, want)
	}
	if n, ok := g.Lookup("orders-db"); !ok || n != "postgres-rds" {
		t.Errorf("alias orders-db resolves to %q %v, want postgres-rds", n, ok)
	}
	if g.Layer("postgres-rds") != graph.LayerInfrastructure || g.Layer("api-gateway") != graph.LayerEdge || g.Layer("nope") != graph.LayerApplication {
		t.Errorf("layers: %v %v %v", g.Layer("postgres-rds"), g.Layer("api-gateway"), g.Layer("nope"))
	}
}

func TestRelated(t *testing.T) {
	g := graph.Example()
	cases := []struct {
		name string
		a, b string
		want bool
	}{
		{"a node is related to itself", "kafka", "kafka", true},
		{"a caller is related to what it calls", "payment-service", "order-service", true},
		{"and the other way round", "order-service", "payment-service", true},
		{"transitively", "api-gateway", "postgres-rds", true},
		{"callers of the same dependency are related", "notification-service", "order-service", true},
		{"services that only share a caller are not", "payment-service", "inventory-service", false},
		{"unknown services are related to nothing", "legacy", "kafka", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := g.Related(tc.a, tc.b); got != tc.want {
				t.Errorf("Related(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestAroundWalksCallsBothWaysWithinHopsAndLimit(t *testing.T) {
	// e calls a calls b calls c calls d; f calls b too.
	g, err := graph.New([]graph.Node{
		{Name: "a", DependsOn: []string{"b"}}, {Name: "b", DependsOn: []string{"c"}}, {Name: "c", DependsOn: []string{"d"}},
		{Name: "d"}, {Name: "e", DependsOn: []string{"a"}}, {Name: "f", DependsOn: []string{"b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		node        string
		hops, limit int
		want        []string
	}{
		{"one hop is what it calls and what calls it", "b", 1, 10, []string{"a", "b", "c", "f"}},
		{"two hops reach the callers' callers and the callee's callees", "b", 2, 10, []string{"a", "b", "c", "d", "e", "f"}},
		{"no hops is the node alone", "b", 0, 10, []string{"b"}},
		{"the limit keeps the node and what it calls before what calls it", "b", 2, 3, []string{"a", "b", "c"}},
		{"the limit keeps nearer nodes before farther ones", "b", 2, 4, []string{"a", "b", "c", "f"}},
		{"a limit of one is the node alone", "b", 2, 1, []string{"b"}},
		{"an unknown node has no surroundings", "legacy", 2, 10, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := g.Around(tc.node, tc.hops, tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("Around(%s, %d, %d) = %v, want %v", tc.node, tc.hops, tc.limit, got, tc.want)
			}
		})
	}
}

func TestNeighbourhoodGrowsWithItsNodes(t *testing.T) {
	g := graph.Example()
	n := g.NewNeighbourhood()
	if n.Contains("payment-service") {
		t.Fatal("an empty neighbourhood contains payment-service")
	}
	n.Add("inventory-service")
	if n.Contains("payment-service") || !n.Contains("postgres-rds") || !n.Contains("checkout-service") {
		t.Errorf("after inventory-service: payment %v postgres %v checkout %v", n.Contains("payment-service"), n.Contains("postgres-rds"), n.Contains("checkout-service"))
	}
	n.Add("checkout-service")
	if !n.Contains("payment-service") {
		t.Errorf("after checkout-service, payment-service (which checkout calls) is not near")
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, doc, wantErr string
		warnings           int
	}{
		{"YAML", "services:\n  a: {depends_on: [b]}\n  b: {kind: database}\n", "", 0},
		{"JSON", `{"services": {"a": {"depends_on": ["b"]}, "b": {"kind": "queue"}}}`, "", 0},
		{"an undeclared dependency is added with a warning", "services:\n  a: {depends_on: [ghost]}\n", "", 1},
		{"a node with no fields", "services:\n  a:\n  b: {depends_on: [a]}\n", "", 0},
		{"no services", "nodes: []\n", "no services", 0},
		{"not YAML", "services: [", "parse", 0},
		{"an alias shared by two services", "services:\n  a: {aliases: [x]}\n  b: {aliases: [x]}\n", `alias "x" belongs to both`, 0},
		{"an alias that names another service", "services:\n  a: {aliases: [b]}\n  b: {}\n", "is the name of another service", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := graph.Parse([]byte(tc.doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Warnings()) != tc.warnings {
				t.Errorf("warnings %q, want %d", g.Warnings(), tc.warnings)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "graph.yaml")
	if err := os.WriteFile(p, []byte("services: ["), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := graph.Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("err %v, want it to name %s", err, p)
	}
	if _, err := graph.Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("loading a missing file succeeded")
	}
}
