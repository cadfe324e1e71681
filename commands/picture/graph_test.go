package picture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/deploy/golden"
)

func TestDrawGraphRejectsBadSpecs(t *testing.T) {
	a, b := Node{Name: "a"}, Node{Name: "b"}
	tests := []struct {
		name string
		spec GraphSpec
		want error
	}{
		{"an empty spec is an error", GraphSpec{Title: "nothing"}, ErrNoNodes},
		{"a node without a name is an error", GraphSpec{Nodes: []Node{a, {Kind: "service"}}}, ErrEmptyName},
		{"a duplicate name is an error", GraphSpec{Nodes: []Node{a, b, a}}, ErrDuplicateNode},
		{"an edge from an unknown node is an error", GraphSpec{Nodes: []Node{a, b}, Edges: []Edge{{"ghost", "a"}}}, ErrUnknownNode},
		{"an edge to an unknown node is an error", GraphSpec{Nodes: []Node{a, b}, Edges: []Edge{{"a", "ghost"}}}, ErrUnknownNode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			png, _, err := DrawGraph(tt.spec)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if png != nil {
				t.Errorf("got %d bytes of PNG with the error", len(png))
			}
		})
	}
}

// graphCase is a spec with the structural facts its layout must show.
type graphCase struct {
	name   string
	spec   GraphSpec
	upward int  // edges allowed to point up: the ones that close cycles
	layers int  // how many layers, or 0 for any
	big    bool // slow to encode under -race: drawn once, not twice
}

func graphCases() []graphCase {
	chain := func(names ...string) []Edge {
		var es []Edge
		for i := 1; i < len(names); i++ {
			es = append(es, Edge{names[i-1], names[i]})
		}
		return es
	}
	fan := GraphSpec{Title: "one caller, sixty dependencies", Nodes: []Node{{Name: "hub", Kind: "service"}}}
	for i := range 60 {
		name := fmt.Sprintf("dep-%02d", i)
		fan.Nodes = append(fan.Nodes, Node{Name: name, Kind: "database"})
		fan.Edges = append(fan.Edges, Edge{"hub", name})
	}
	return []graphCase{
		{name: "the Black Friday neighbourhood", spec: blackFriday(), layers: 5},
		{name: "a single node", spec: GraphSpec{Nodes: []Node{{Name: "lonely", Kind: "service", State: StateFiring}}}, layers: 1},
		{
			name: "isolated nodes sit beside a chain",
			spec: GraphSpec{
				Nodes: []Node{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "loner-1"}, {Name: "loner-2"}},
				Edges: chain("a", "b", "c"),
			},
			layers: 3,
		},
		{
			name: "a cycle is broken for layering and one edge points up",
			spec: GraphSpec{
				Nodes:  []Node{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "db", Kind: "database"}},
				Edges:  append(chain("a", "b", "c", "a"), Edge{"c", "db"}),
				Legend: true,
			},
			upward: 1,
		},
		{
			name: "self-loops and repeated edges are drawn once or not at all",
			spec: GraphSpec{
				Nodes: []Node{{Name: "a"}, {Name: "b"}},
				Edges: []Edge{{"a", "a"}, {"a", "b"}, {"a", "b"}},
			},
			layers: 2,
		},
		{
			name: "long names are ellipsised inside the widest box",
			spec: GraphSpec{
				Nodes: []Node{
					{Name: "a-service-with-a-name-far-too-long-to-fit-in-any-reasonable-box", Kind: "service"},
					{Name: "db", Kind: "a database of an extraordinarily verbose kind"},
				},
				Edges: []Edge{{"a-service-with-a-name-far-too-long-to-fit-in-any-reasonable-box", "db"}},
			},
			layers: 2,
		},
		{name: "a layer too wide for the canvas wraps into rows", spec: fan, big: true},
		{name: "a 200-node layered graph", spec: layeredSpec(200, 8, 1), big: true},
	}
}

func TestDrawGraphLayout(t *testing.T) {
	for _, tt := range graphCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, lay, err := DrawGraph(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			img := mustDecodePNG(t, data)
			if got := img.Bounds().Size(); got != (image.Point{lay.Width, lay.Height}) {
				t.Errorf("PNG is %v, layout says %dx%d", got, lay.Width, lay.Height)
			}
			if lay.Width > maxCanvasW {
				t.Errorf("width %d is over the cap of %d", lay.Width, maxCanvasW)
			}
			if tt.layers != 0 && len(lay.Layers) != tt.layers {
				t.Errorf("got %d layers, want %d: %v", len(lay.Layers), tt.layers, lay.Layers)
			}
			checkLayers(t, tt.spec, lay)
			checkBoxes(t, tt.spec, lay)
			up := 0
			for _, e := range tt.spec.Edges {
				from, to := lay.Boxes[e.From], lay.Boxes[e.To]
				if e.From != e.To && from.Y+from.H > to.Y {
					up++
				}
			}
			if up != tt.upward {
				t.Errorf("%d edges point up, want %d", up, tt.upward)
			}
		})
	}
}

// checkLayers: every node is in exactly one layer, at that layer's height.
func checkLayers(t *testing.T, spec GraphSpec, lay Layout) {
	t.Helper()
	seen := make(map[string]int)
	for l, names := range lay.Layers {
		for _, n := range names {
			seen[n]++
			if lay.Boxes[n].Y != lay.Boxes[names[0]].Y {
				t.Errorf("layer %d: %s is not level with %s", l, n, names[0])
			}
		}
	}
	for _, n := range spec.Nodes {
		if seen[n.Name] != 1 {
			t.Errorf("%s is in %d layers, want 1", n.Name, seen[n.Name])
		}
	}
}

// checkBoxes: every node has a box inside the canvas and no two boxes overlap.
func checkBoxes(t *testing.T, spec GraphSpec, lay Layout) {
	t.Helper()
	canvas := image.Rect(0, 0, lay.Width, lay.Height)
	for i, n := range spec.Nodes {
		r, ok := lay.Boxes[n.Name]
		if !ok {
			t.Errorf("%s has no box", n.Name)
			continue
		}
		if !rectOf(r).In(canvas) {
			t.Errorf("%s's box %+v is not inside the %dx%d canvas", n.Name, r, lay.Width, lay.Height)
		}
		for _, m := range spec.Nodes[i+1:] {
			if rectOf(r).Overlaps(rectOf(lay.Boxes[m.Name])) {
				t.Errorf("%s %+v overlaps %s %+v", n.Name, r, m.Name, lay.Boxes[m.Name])
			}
		}
	}
	if len(lay.Boxes) != len(spec.Nodes) {
		t.Errorf("got %d boxes for %d nodes", len(lay.Boxes), len(spec.Nodes))
	}
}

func rectOf(r Rect) image.Rectangle { return image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H) }

func TestDrawGraphIsDeterministic(t *testing.T) {
	for _, tt := range graphCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.big {
				// the layout decides every pixel; compare it without encoding twice
				g := mustGraph(t, tt.spec)
				a, b := layoutGraph(g, tt.spec, true), layoutGraph(g, tt.spec, true)
				if x, y := mustJSON(t, a.public(tt.spec)), mustJSON(t, b.public(tt.spec)); x != y {
					t.Errorf("the same spec gave different layouts:\n%s\n%s", x, y)
				}
				return
			}
			first, lay1, err := DrawGraph(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			second, lay2, err := DrawGraph(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Error("the same spec gave different PNGs")
			}
			if a, b := mustJSON(t, lay1), mustJSON(t, lay2); a != b {
				t.Errorf("the same spec gave different layouts:\n%s\n%s", a, b)
			}
		})
	}
}

func TestDrawGraphPaintsStates(t *testing.T) {
	spec := blackFriday()
	data, lay, err := DrawGraph(spec)
	if err != nil {
		t.Fatal(err)
	}
	img := mustDecodePNG(t, data)
	at := func(x, y int) color.NRGBA { return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA) }
	box := func(name string) Rect { return lay.Boxes[name] }
	tests := []struct {
		name string
		x, y int
		want color.NRGBA
	}{
		{"the root cause's left border is the root colour", box("order-service").X + rootBorder/2, box("order-service").Y + boxH/2, colRoot},
		{"the root cause's band is the root colour", box("order-service").X + 6, box("order-service").Y + 8, colRoot},
		{"the root cause's ring shows it is the focus", box("order-service").X - focusOut - focusWidth/2 - 1, box("order-service").Y + boxH/2, colFocus},
		{"a firing node's centre has the firing fill", box("checkout-service").X + box("checkout-service").W/2, box("checkout-service").Y + boxH/2, styleOf(StateFiring).fill},
		{"a firing node's border is its state's border", box("checkout-service").X, box("checkout-service").Y + boxH/2, styleOf(StateFiring).border},
		{"an ok node's centre has the ok fill", box("kafka").X + box("kafka").W/2, box("kafka").Y + boxH/2, styleOf(StateOK).fill},
		{"a node in the impact radius is tinted around", box("payment-service").X - haloOut/2, box("payment-service").Y + boxH/2, colHalo},
		{"a node outside the impact radius is not", box("inventory-service").X - haloOut/2, box("inventory-service").Y + boxH/2, colBackground},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := at(tt.x, tt.y); got != tt.want {
				t.Errorf("pixel (%d, %d) = %v, want %v", tt.x, tt.y, got, tt.want)
			}
		})
	}
}

func TestDrawGraphLayoutIsGolden(t *testing.T) {
	_, lay, err := DrawGraph(blackFriday())
	if err != nil {
		t.Fatal(err)
	}
	golden.AssertJSON(t, filepath.Join("testdata", "black-friday.layout.json"), []byte(mustJSON(t, lay)))
}

// layeredSpec builds a graph of n nodes on the given number of layers, each
// calling two or three nodes further down, deterministically from seed.
func layeredSpec(n, layers int, seed uint64) GraphSpec {
	rng := rand.New(rand.NewPCG(seed, 2))
	per := n / layers
	spec := GraphSpec{Title: fmt.Sprintf("%d services", n), Legend: true}
	name := func(i int) string { return fmt.Sprintf("svc-%03d", i) }
	states := []State{StateOK, StateOK, StateOK, StateFiring, StateResolved, StateUnknown}
	kinds := []string{"service", "service", "database", "cache", "queue", "external"}
	for i := range n {
		spec.Nodes = append(spec.Nodes, Node{
			Name:     name(i),
			Kind:     kinds[rng.IntN(len(kinds))],
			State:    states[rng.IntN(len(states))],
			InRadius: rng.IntN(5) == 0,
		})
	}
	spec.Nodes[n/2].Root, spec.Nodes[n/2].Focus = true, true
	for i := range n - per {
		l := i / per
		for range 2 + rng.IntN(2) {
			down := 1
			if rng.IntN(4) == 0 && l+2 < layers {
				down = 2
			}
			j := min(n-1, (l+down)*per+rng.IntN(per))
			spec.Edges = append(spec.Edges, Edge{name(i), name(j)})
		}
	}
	return spec
}

func mustDecodePNG(tb testing.TB, data []byte) image.Image {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("decode PNG: %v", err)
	}
	return img
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(b)) + "\n"
}

func TestDrawGraphConcurrently(t *testing.T) {
	want, _, err := DrawGraph(blackFriday())
	if err != nil {
		t.Fatal(err)
	}
	got := make([][]byte, 4)
	done := make(chan int)
	for i := range got {
		go func() {
			got[i], _, _ = DrawGraph(blackFriday())
			done <- i
		}()
	}
	for range got {
		<-done
	}
	for i, g := range got {
		if !bytes.Equal(g, want) {
			t.Errorf("drawing %d, made alongside others, differs", i)
		}
	}
}
