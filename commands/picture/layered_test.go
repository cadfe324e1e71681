package picture

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func mustGraph(tb testing.TB, spec GraphSpec) *graph {
	tb.Helper()
	g, err := newGraph(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// specOf builds a spec from node names and "from>to" edges.
func specOf(names []string, edges ...string) GraphSpec {
	var spec GraphSpec
	for _, n := range names {
		spec.Nodes = append(spec.Nodes, Node{Name: n})
	}
	for _, e := range edges {
		var from, to string
		for i := range e {
			if e[i] == '>' {
				from, to = e[:i], e[i+1:]
			}
		}
		spec.Edges = append(spec.Edges, Edge{from, to})
	}
	return spec
}

func TestCrossingReductionReducesCrossings(t *testing.T) {
	tests := []struct {
		name string
		spec GraphSpec
		want int // crossings after reduction
	}{
		{
			name: "a reversed matching untangles completely",
			spec: specOf([]string{"a", "b", "c", "d", "x", "y", "z", "w"}, "a>w", "b>z", "c>y", "d>x"),
			want: 0,
		},
		{
			name: "two interleaved trees separate",
			spec: specOf([]string{"r1", "r2", "a1", "b1", "a2", "b2", "a3", "b3"},
				"r1>a1", "r1>a2", "r1>a3", "r2>b1", "r2>b2", "r2>b3"),
			want: 0,
		},
		{
			name: "three layers tangled in spec order straighten",
			spec: specOf([]string{"top-a", "top-b", "mid-b", "mid-a", "low-a", "low-b"},
				"top-a>mid-a", "top-b>mid-b", "mid-a>low-b", "mid-b>low-a", "top-a>low-a"),
			want: 0,
		},
		{
			name: "a complete bipartite K3,3 keeps its unavoidable crossings",
			spec: specOf([]string{"a", "b", "c", "x", "y", "z"},
				"a>x", "a>y", "a>z", "b>x", "b>y", "b>z", "c>x", "c>y", "c>z"),
			want: 9,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGraph(t, tt.spec)
			before := layoutGraph(g, tt.spec, false).crossings
			after := layoutGraph(g, tt.spec, true).crossings
			if after != tt.want {
				t.Errorf("after reduction: %d crossings, want %d (before: %d)", after, tt.want, before)
			}
			if tt.want > 0 {
				return // nothing to gain: the crossings are unavoidable
			}
			if before == 0 {
				t.Fatalf("the crafted graph has no crossings to reduce")
			}
			t.Logf("%d crossings before reduction, %d after", before, after)
		})
	}
}

func TestCrossingReductionHelpsOnRandomGraphs(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			spec := layeredSpec(60, 4, seed)
			g := mustGraph(t, spec)
			before := layoutGraph(g, spec, false).crossings
			after := layoutGraph(g, spec, true).crossings
			if after*2 > before {
				t.Errorf("%d crossings before, %d after: want at least halved", before, after)
			}
		})
	}
}

func TestCrossingsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 40 {
		spec := layeredSpec(12+rng.IntN(30), 2+rng.IntN(3), uint64(trial))
		g := mustGraph(t, spec)
		dag := acyclic(g)
		L := newLayered(g.n, dag, longestPathLayers(g.n, dag))
		for _, row := range L.order {
			rng.Shuffle(len(row), func(i, j int) { row[i], row[j] = row[j], row[i] })
		}
		L.renumber()
		if got, want := L.crossings(), bruteCrossings(L); got != want {
			t.Fatalf("trial %d: crossings() = %d, brute force says %d", trial, got, want)
		}
	}
}

// bruteCrossings checks every pair of links between adjacent layers.
func bruteCrossings(L *layered) int {
	type link struct{ a, b int }
	total := 0
	for l := 0; l+1 < len(L.order); l++ {
		var links []link
		for _, v := range L.order[l] {
			for _, w := range L.down[v] {
				links = append(links, link{L.pos[v], L.pos[w]})
			}
		}
		for i := range links {
			for j := i + 1; j < len(links); j++ {
				p, q := links[i], links[j]
				if (p.a < q.a && p.b > q.b) || (p.a > q.a && p.b < q.b) {
					total++
				}
			}
		}
	}
	return total
}

func TestLongestPathLayering(t *testing.T) {
	tests := []struct {
		name string
		spec GraphSpec
		want map[string]int
	}{
		{
			name: "every sink lands on the bottom layer",
			spec: specOf([]string{"gw", "svc", "db", "cache"}, "gw>svc", "svc>db", "gw>cache"),
			want: map[string]int{"gw": 0, "svc": 1, "db": 2, "cache": 2},
		},
		{
			name: "a caller sits one layer above the deepest thing it calls",
			spec: specOf([]string{"a", "b", "c", "d"}, "a>b", "b>c", "d>c"),
			want: map[string]int{"a": 0, "b": 1, "d": 1, "c": 2},
		},
		{
			name: "a cycle is broken where the search closes it",
			spec: specOf([]string{"a", "b", "c"}, "a>b", "b>c", "c>a"),
			want: map[string]int{"a": 0, "b": 1, "c": 2},
		},
		{
			name: "isolated nodes share the bottom layer",
			spec: specOf([]string{"a", "b", "alone"}, "a>b"),
			want: map[string]int{"a": 0, "b": 1, "alone": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGraph(t, tt.spec)
			layer := longestPathLayers(g.n, acyclic(g))
			for name, want := range tt.want {
				if got := layer[g.index[name]]; got != want {
					t.Errorf("%s on layer %d, want %d", name, got, want)
				}
			}
		})
	}
}

func TestAcyclicReversesOnlyBackEdges(t *testing.T) {
	spec := specOf([]string{"a", "b", "c", "d"}, "a>b", "b>c", "c>a", "c>d", "d>b")
	g := mustGraph(t, spec)
	dag := acyclic(g)
	reversed := 0
	for _, e := range dag {
		reversed += e[2]
	}
	if reversed != 2 {
		t.Errorf("reversed %d edges, want 2 (one per cycle)", reversed)
	}
	// longestPathLayers would recurse forever on a cycle; edges must point down
	layer := longestPathLayers(g.n, dag)
	for _, e := range dag {
		if layer[e[0]] >= layer[e[1]] {
			t.Errorf("edge %d→%d does not point down: layers %d, %d", e[0], e[1], layer[e[0]], layer[e[1]])
		}
	}
}

func TestIsotonic(t *testing.T) {
	tests := []struct {
		name    string
		t, w    []float64
		want    []float64
		comment string
	}{
		{name: "a sorted target is kept", t: []float64{1, 2, 3}, w: []float64{1, 1, 1}, want: []float64{1, 2, 3}},
		{name: "a violating pair is pooled to its mean", t: []float64{3, 1}, w: []float64{1, 1}, want: []float64{2, 2}},
		{name: "weights pull the pool", t: []float64{4, 0}, w: []float64{3, 1}, want: []float64{3, 3}},
		{name: "pools merge backwards", t: []float64{1, 5, 4, 0}, w: []float64{1, 1, 1, 1}, want: []float64{1, 3, 3, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := isotonic(tt.t, tt.w)
			if !slices.EqualFunc(got, tt.want, func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }) {
				t.Errorf("isotonic(%v, %v) = %v, want %v", tt.t, tt.w, got, tt.want)
			}
		})
	}
}

func TestEllipsis(t *testing.T) {
	f := sans(nameSize, true)
	tests := []struct {
		name string
		text string
		max  float64
		want string
	}{
		{"a name that fits is kept", "kafka", 200, "kafka"},
		{"a long name ends in an ellipsis", "payment-service-canary-eu-west-1", 100, ""},
		{"no room leaves only the ellipsis", "kafka", 1, "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ellipsis(f, tt.text, tt.max)
			if tt.want != "" && got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got != tt.text && textWidth(f, got) > tt.max && got != "…" {
				t.Errorf("%q is %.1fpx, wider than %.0f", got, textWidth(f, got), tt.max)
			}
		})
	}
}
