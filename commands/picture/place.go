package picture

import (
	"math"
	"slices"
)

// Graph geometry, in pixels.
const (
	maxCanvasW = 3000 // wider layers shrink their boxes, then wrap into rows
	minCanvasW = 720
	margin     = 28
	titleH     = 40 // room under the top margin for the title
	boxH       = 64
	minBoxW    = 110
	maxBoxW    = 210
	boxPadX    = 12 // text inset inside a box
	layerGap   = 64 // vertical room between layers for the edges
	gapReal    = 30 // between two boxes
	gapDummy   = 14 // between a box and an edge passing by
	gapDummies = 10 // between two edges passing by
	legendGap  = 30 // between the lowest layer and the legend
)

// drawing is a laid-out graph: layered, ordered and placed.
type drawing struct {
	L         *layered
	crossings int
	boxW      int
	x         []float64 // centre of every vertex, dummies included
	rowTop    []int     // top of each layer's boxes
	width     int
	height    int
	title     string // fitted to the canvas
	legend    legendLayout
	graphLeft float64 // added to x to get canvas pixels
}

// layoutGraph lays g out; reduce false skips crossing reduction (for tests
// that measure it).
func layoutGraph(g *graph, spec GraphSpec, reduce bool) *drawing {
	boxW := naturalBoxW(spec)
	dag := acyclic(g)
	base := longestPathLayers(g.n, dag)
	L := newLayered(g.n, dag, base)
	order := func(L *layered) int {
		if reduce {
			return L.reduceCrossings()
		}
		return L.crossings()
	}
	crossings := order(L)

	usable := float64(maxCanvasW - 2*margin)
	if w := L.fitBoxW(usable); w < boxW {
		boxW = max(minBoxW, w)
	}
	if L.minSpan(boxW) > usable {
		// Too many boxes side by side even at the smallest width: wrap the
		// widest layers into rows, keeping neighbours (in the reduced order)
		// together, and tighten until it fits.
		rowCap := int((usable + gapReal) / float64(minBoxW+gapReal))
		wide := L
		for attempt := 0; attempt < 8 && rowCap >= 2; attempt++ {
			wide = newLayered(g.n, dag, wrapLayers(L, rowCap))
			crossings = order(wide)
			if wide.minSpan(boxW) <= usable {
				break
			}
			rowCap -= max(1, rowCap/6)
		}
		L = wide
	}

	d := &drawing{L: L, crossings: crossings, boxW: boxW}
	d.placeX()
	d.frame(spec)
	return d
}

// naturalBoxW is the box width that shows the longest name and kind in full,
// within [minBoxW, maxBoxW].
func naturalBoxW(spec GraphSpec) int {
	name, kind := sans(nameSize, true), sans(kindSize, false)
	w := 0.0
	for _, n := range spec.Nodes {
		w = math.Max(w, textWidth(name, n.Name))
		w = math.Max(w, textWidth(kind, n.Kind))
	}
	return min(maxBoxW, max(minBoxW, int(math.Ceil(w))+2*boxPadX))
}

// halfW is half the width a vertex takes in its layer.
func (L *layered) halfW(v, boxW int) float64 {
	if v < L.n {
		return float64(boxW) / 2
	}
	return 0
}

// need is the least distance between the centres of neighbours a and b.
func (L *layered) need(a, b, boxW int) float64 {
	gap := gapReal
	switch {
	case a >= L.n && b >= L.n:
		gap = gapDummies
	case a >= L.n || b >= L.n:
		gap = gapDummy
	}
	return L.halfW(a, boxW) + L.halfW(b, boxW) + float64(gap)
}

// span is the width of layer l packed tight.
func (L *layered) span(l, boxW int) float64 {
	row := L.order[l]
	if len(row) == 0 {
		return 0
	}
	s := L.halfW(row[0], boxW) + L.halfW(row[len(row)-1], boxW)
	for i := 1; i < len(row); i++ {
		s += L.need(row[i-1], row[i], boxW)
	}
	return s
}

func (L *layered) minSpan(boxW int) float64 {
	s := 0.0
	for l := range L.order {
		s = math.Max(s, L.span(l, boxW))
	}
	return s
}

// fitBoxW is the widest box with which every layer fits in usable pixels.
func (L *layered) fitBoxW(usable float64) int {
	w := maxBoxW
	for l, row := range L.order {
		reals := 0
		for _, v := range row {
			if v < L.n {
				reals++
			}
		}
		if reals == 0 {
			continue
		}
		rest := L.span(l, 0) // the gaps alone
		w = min(w, int((usable-rest)/float64(reals)))
	}
	return w
}

// wrapLayers splits every layer of L with more than rowCap real vertices into
// consecutive rows of at most rowCap, in L's order, and returns the new layer
// of each real vertex. Edges still point down: a layer has no edges inside it.
func wrapLayers(L *layered, rowCap int) []int {
	layer := make([]int, L.n)
	next := 0
	for _, row := range L.order {
		var reals []int
		for _, v := range row {
			if v < L.n {
				reals = append(reals, v)
			}
		}
		rows := max(1, (len(reals)+rowCap-1)/rowCap)
		for i, v := range reals {
			layer[v] = next + i*rows/len(reals)
		}
		next += rows
	}
	return layer
}

// placeX assigns the centre of every vertex: each layer packed, then sweeps
// in which every vertex moves as close to the mean of its neighbours as the
// order and gaps allow.
func (d *drawing) placeX() {
	L := d.L
	d.x = make([]float64, len(L.layer))
	d.pack()
	both := make([][]int, len(L.layer))
	for v := range both {
		both[v] = append(slices.Clone(L.up[v]), L.down[v]...)
	}
	for pass := range 10 {
		switch {
		case pass >= 8:
			for l := range L.order {
				d.placeLayer(l, both)
			}
		case pass%2 == 0:
			for l := 1; l < len(L.order); l++ {
				d.placeLayer(l, L.up)
			}
		default:
			for l := len(L.order) - 2; l >= 0; l-- {
				d.placeLayer(l, L.down)
			}
		}
	}
	left, right := d.extent()
	if right-left > float64(maxCanvasW-2*margin) {
		d.pack() // the sweeps spread it too far: fall back to centred rows
		left, right = d.extent()
	}
	for v := range d.x {
		d.x[v] -= left
	}
}

// pack puts each layer tight and centred on 0.
func (d *drawing) pack() {
	L := d.L
	for l, row := range L.order {
		if len(row) == 0 {
			continue
		}
		x := -L.span(l, d.boxW)/2 + L.halfW(row[0], d.boxW)
		for i, v := range row {
			if i > 0 {
				x += L.need(row[i-1], v, d.boxW)
			}
			d.x[v] = x
		}
	}
}

func (d *drawing) extent() (left, right float64) {
	left, right = math.Inf(1), math.Inf(-1)
	for v, x := range d.x {
		hw := d.L.halfW(v, d.boxW)
		left, right = math.Min(left, x-hw), math.Max(right, x+hw)
	}
	return left, right
}

// placeLayer moves layer l's vertices towards the mean x of their neighbours
// in nbrs: the least-squares placement that keeps order and gaps, found by
// isotonic regression on positions less their cumulative gaps.
func (d *drawing) placeLayer(l int, nbrs [][]int) {
	L := d.L
	row := L.order[l]
	target := make([]float64, len(row))
	weight := make([]float64, len(row))
	off := 0.0
	for i, v := range row {
		if i > 0 {
			off += L.need(row[i-1], v, d.boxW)
		}
		t, w := d.x[v], 0.25 // nothing to follow: stay put, lightly
		if len(nbrs[v]) > 0 {
			sum := 0.0
			for _, u := range nbrs[v] {
				sum += d.x[u]
			}
			t, w = sum/float64(len(nbrs[v])), float64(len(nbrs[v]))
			if v >= L.n {
				w *= 4 // keep long edges straight
			}
		}
		target[i], weight[i] = t-off, w
	}
	y := isotonic(target, weight)
	off = 0
	for i, v := range row {
		if i > 0 {
			off += L.need(row[i-1], v, d.boxW)
		}
		d.x[v] = y[i] + off
	}
}

// isotonic returns the non-decreasing sequence nearest to t in weighted least
// squares (pool adjacent violators).
func isotonic(t, w []float64) []float64 {
	type block struct {
		sum, weight float64
		n           int
	}
	blocks := make([]block, 0, len(t))
	for i := range t {
		blocks = append(blocks, block{t[i] * w[i], w[i], 1})
		for len(blocks) > 1 {
			a, b := blocks[len(blocks)-2], blocks[len(blocks)-1]
			if a.sum/a.weight <= b.sum/b.weight {
				break
			}
			blocks = blocks[:len(blocks)-1]
			blocks[len(blocks)-1] = block{a.sum + b.sum, a.weight + b.weight, a.n + b.n}
		}
	}
	out := make([]float64, 0, len(t))
	for _, b := range blocks {
		for range b.n {
			out = append(out, b.sum/b.weight)
		}
	}
	return out
}

// frame sizes the canvas around the placed layers, title and legend.
func (d *drawing) frame(spec GraphSpec) {
	_, span := d.extent()
	need := int(math.Ceil(span)) + 2*margin
	top := margin
	d.width = need
	if spec.Title != "" {
		top += titleH
		d.width = max(d.width, int(math.Ceil(textWidth(sans(titleSize, true), spec.Title)))+2*margin)
	}
	d.width = max(need, min(maxCanvasW, max(minCanvasW, d.width)))
	d.title = ellipsis(sans(titleSize, true), spec.Title, float64(d.width-2*margin))
	d.graphLeft = math.Round((float64(d.width) - span) / 2)

	d.rowTop = make([]int, len(d.L.order))
	for l := range d.rowTop {
		d.rowTop[l] = top + l*(boxH+layerGap)
	}
	bottom := d.rowTop[len(d.rowTop)-1] + boxH
	if spec.Legend {
		d.legend = layoutLegend(d.L, d.width-2*margin)
		d.legend.top = bottom + legendGap
		bottom = d.legend.top + d.legend.height
	}
	d.height = bottom + margin
}

// box is where real vertex v is drawn.
func (d *drawing) box(v int) Rect {
	return Rect{
		X: int(math.Round(d.graphLeft + d.x[v] - float64(d.boxW)/2)),
		Y: d.rowTop[d.L.layer[v]],
		W: d.boxW,
		H: boxH,
	}
}

// public is the Layout callers see.
func (d *drawing) public(spec GraphSpec) Layout {
	out := Layout{
		Width:     d.width,
		Height:    d.height,
		Boxes:     make(map[string]Rect, d.L.n),
		Crossings: d.crossings,
	}
	for _, row := range d.L.order {
		var names []string
		for _, v := range row {
			if v < d.L.n {
				names = append(names, spec.Nodes[v].Name)
				out.Boxes[spec.Nodes[v].Name] = d.box(v)
			}
		}
		if names != nil {
			out.Layers = append(out.Layers, names)
		}
	}
	return out
}
