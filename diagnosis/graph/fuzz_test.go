package graph_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// render writes a graph back as a graph file: every node, declared,
// with its fields as Node returns them.
func render(tb testing.TB, g *graph.Graph) []byte {
	tb.Helper()
	services := map[string]graph.Node{}
	for _, n := range g.Names() {
		node, ok := g.Node(n)
		if !ok {
			tb.Fatalf("Names lists %q, Node does not know it", n)
		}
		services[n] = node
	}
	out, err := yaml.Marshal(map[string]any{"services": services})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// MustBeConsistent checks what every graph Parse returns promises.
func MustBeConsistent(t *testing.T, g *graph.Graph) {
	t.Helper()
	names := g.Names()
	if len(names) != g.Len() || len(names) == 0 {
		t.Fatalf("%d names for %d nodes", len(names), g.Len())
	}
	for _, n := range names {
		if n == "" || n != strings.TrimSpace(n) {
			t.Errorf("node name %q is empty or not trimmed", n)
		}
		if got, ok := g.Lookup(n); !ok || got != n || !g.Has(n) {
			t.Errorf("Lookup(%q) = %q, %v; Has = %v", n, got, ok, g.Has(n))
		}
		node, _ := g.Node(n)
		for _, a := range node.Aliases {
			if _, ok := g.Lookup(strings.TrimSpace(a)); !ok {
				t.Errorf("alias %q of %s does not resolve", a, n)
			}
		}
		for _, d := range g.DependsOn(n) {
			if d == n || !g.Has(d) || !slices.Contains(g.Dependents(d), n) || !g.DependsTransitively(n, d) || !g.Related(n, d) {
				t.Errorf("edge %s → %s is not the same both ways", n, d)
			}
		}
		for _, d := range g.Downstream(n) {
			if !g.DependsTransitively(n, d) || !slices.Contains(g.Upstream(d), n) {
				t.Errorf("%s is downstream of %s one way only", d, n)
			}
		}
		if around := g.Around(n, 2, 5); len(around) > 5 || !slices.Contains(around, n) {
			t.Errorf("Around(%s, 2, 5) = %v", n, around)
		}
	}
}

func FuzzGraphFile(f *testing.F) {
	for _, p := range []string{"example.yaml", filepath.Join("..", "scenarios", "black-friday-graph.yaml")} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		g, err := graph.Parse(data)
		if err != nil {
			f.Fatal(err)
		}
		// The same graph as JSON, which is YAML too.
		services := map[string]graph.Node{}
		for _, n := range g.Names() {
			services[n], _ = g.Node(n)
		}
		js, err := json.Marshal(map[string]any{"services": services})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	for _, s := range []string{
		``, `services:`, `services: {}`, `services: []`, `{"services": {"a": null}}`,
		"services:\n  a: {depends_on: [a, b, b]}\n",
		"services:\n  a: {aliases: [b]}\n  b: {}\n",
		"services:\n  a: {aliases: [x]}\n  b: {aliases: [x]}\n",
		"services:\n  ' a': {}\n  a: {}\n",
		"services:\n  a: {depends_on: [' b']}\n  b: {aliases: [' c ']}\n",
		"services:\n  a: {depends_on: ['']}\n", "services:\n  a: {aliases: [' ']}\n",
		"services:\n  a: &x {depends_on: [b]}\n  b: *x\n",
		"services:\n  a: {kind: [1]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := graph.Parse(data)
		if err != nil {
			if g != nil {
				t.Errorf("a graph and an error %v", err)
			}
			return
		}
		MustBeConsistent(t, g)
		again, err := graph.Parse(render(t, g))
		if err != nil {
			t.Fatalf("the graph written back does not parse: %v\n%s", err, render(t, g))
		}
		if got, want := again.Names(), g.Names(); !slices.Equal(got, want) {
			t.Fatalf("written back, the nodes are %q, want %q", got, want)
		}
		for _, n := range g.Names() {
			if got, want := again.DependsOn(n), g.DependsOn(n); !slices.Equal(got, want) {
				t.Errorf("written back, %s depends on %q, want %q", n, got, want)
			}
			if got, want := again.Kind(n), g.Kind(n); got != want {
				t.Errorf("written back, %s is a %q, want %q", n, got, want)
			}
		}
	})
}

// Found by FuzzGraphFile: " b" in depends_on made a second node " b"
// beside b, and the graph written back did not load.
func TestDependenciesAndAliasesAreNamesTrimmed(t *testing.T) {
	g, err := graph.Parse([]byte("services:\n  a: {depends_on: [' b']}\n  b: {aliases: [' c ']}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Names(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("nodes %q, want %q", got, want)
	}
	if got, _ := g.Lookup("c"); got != "b" {
		t.Errorf("alias c resolves to %q, want b", got)
	}
	for _, doc := range []string{"services:\n  a: {depends_on: ['']}\n", "services:\n  a: {aliases: [' ']}\n"} {
		if _, err := graph.Parse([]byte(doc)); err == nil {
			t.Errorf("%q loaded, want an error for the empty name", doc)
		}
	}
}
