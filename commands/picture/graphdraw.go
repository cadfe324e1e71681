package picture

import (
	"cmp"
	"image/color"
	"math"
	"slices"
)

// Text sizes, in pixels.
const (
	titleSize  = 18
	nameSize   = 13
	kindSize   = 10.5
	tagSize    = 9
	legendSize = 11.5
)

// Box geometry, in pixels.
const (
	boxRadius  = 8
	rootBorder = 4  // the root cause's dark border
	rootBand   = 17 // the dark "ROOT CAUSE" band along its top
	focusOut   = 4  // gap between a focused box and its ring
	focusWidth = 3
	haloOut    = 10 // how far the impact-radius tint reaches past a box
	arrowLen   = 9
	arrowHalf  = 4.5
)

// nodeStyle is how a box of one state is painted.
type nodeStyle struct {
	fill, border, name, kind color.NRGBA
}

// The picture's palette.
var (
	colBackground = rgb(0xffffff) // what newPixels paints
	colTitle      = rgb(0x1f2328)
	colEdge       = rgb(0x8c959f)
	colEdgeRoot   = rgb(0x57606a) // edges into the root cause
	colRoot       = rgb(0x1f2328) // root cause border and band
	colRootText   = rgb(0xffffff)
	colFocus      = rgb(0x0969da)
	colHalo       = rgb(0xffe2a8)
	colLegendText = rgb(0x424a53)
	colRule       = rgb(0xe4e8ec)

	stateStyles = map[State]nodeStyle{
		StateFiring:   {fill: rgb(0xe5484d), border: rgb(0xc2363b), name: rgb(0xffffff), kind: rgb(0xffe4e4)},
		StateResolved: {fill: rgb(0x2e9f5e), border: rgb(0x21804a), name: rgb(0xffffff), kind: rgb(0xdcf5e6)},
		StateOK:       {fill: rgb(0xdde2e8), border: rgb(0xb4bec8), name: rgb(0x1f2328), kind: rgb(0x57606a)},
		StateUnknown:  {fill: rgb(0xf6f8fa), border: rgb(0xc9d1d9), name: rgb(0x57606a), kind: rgb(0x8c959f)},
	}
)

func styleOf(s State) nodeStyle {
	if st, ok := stateStyles[s]; ok {
		return st
	}
	return stateStyles[StateUnknown]
}

func renderGraph(spec GraphSpec, d *drawing) ([]byte, error) {
	p := newPixels(d.width, d.height)
	if d.title != "" {
		p.text(sans(titleSize, true), colTitle, margin, margin+titleSize, 0, d.title)
	}
	for v, n := range spec.Nodes {
		if n.InRadius {
			r := d.box(v)
			p.roundRect(float64(r.X-haloOut), float64(r.Y-haloOut), float64(r.W+2*haloOut), float64(r.H+2*haloOut), boxRadius+haloOut)
			p.fill(colHalo)
		}
	}
	d.drawEdges(p, spec)
	for v, n := range spec.Nodes {
		drawNode(p, n, d.box(v))
	}
	if spec.Legend {
		d.legend.draw(p, d.width)
	}
	return p.png()
}

// drawNode paints one box: border, fill, optional root band and focus ring, text.
func drawNode(p *pixels, n Node, r Rect) {
	st := styleOf(n.State)
	x, y, w, h := float64(r.X), float64(r.Y), float64(r.W), float64(r.H)
	if n.Focus {
		o := focusOut + focusWidth/2.0
		p.roundRect(x-o, y-o, w+2*o, h+2*o, boxRadius+o)
		p.stroke(colFocus, focusWidth)
	}
	border, inset, top := st.border, 1.0, 1.0
	if n.Root {
		border, inset, top = colRoot, rootBorder, rootBand
	}
	p.roundRect(x, y, w, h, boxRadius)
	p.fill(border)
	p.roundRect(x+inset, y+top, w-2*inset, h-top-inset, boxRadius-inset)
	p.fill(st.fill)

	nameY, kindY := y+28, y+47
	if n.Root {
		drawRootTag(p, x+w/2, y)
		nameY, kindY = y+38, y+53
	}
	if n.Kind == "" {
		nameY += 8
	}
	room := w - 2*boxPadX
	nf := sans(nameSize, true)
	p.text(nf, st.name, x+w/2, nameY, 0.5, ellipsis(nf, n.Name, room))
	kf := sans(kindSize, false)
	p.text(kf, st.kind, x+w/2, kindY, 0.5, ellipsis(kf, n.Kind, room))
}

// drawRootTag writes "ROOT CAUSE" with a warning marker in the dark band at
// the top of the box whose top centre is (cx, y).
func drawRootTag(p *pixels, cx, y float64) {
	const label = "ROOT CAUSE"
	f := sans(tagSize, true)
	tw := textWidth(f, label)
	left := cx - (tw+14)/2
	// marker: a white triangle with a dark "!"
	p.begin(left, y+13.5)
	p.lineTo(left+10, y+13.5)
	p.lineTo(left+5, y+4)
	p.path.Close()
	p.fill(colRootText)
	p.begin(left+5, y+7)
	p.lineTo(left+5, y+10.5)
	p.stroke(colRoot, 1.3)
	p.begin(left+5, y+11.4)
	p.lineTo(left+5, y+12.6)
	p.stroke(colRoot, 1.3)
	p.text(f, colRootText, left+14, y+12.5, 0, label)
}

// drawEdges draws every chain from caller to callee: S-curves between layers,
// straight through the layers it passes, an arrowhead at the callee.
func (d *drawing) drawEdges(p *pixels, spec GraphSpec) {
	L := d.L
	bottomPorts := make(map[int]float64) // chain index → port x at its upper end
	topPorts := make(map[int]float64)    // chain index → port x at its lower end
	ends := make([][2][]int, L.n)        // per real vertex: chains leaving below, arriving above
	for i, c := range L.chains {
		upper, lower := c.path[0], c.path[len(c.path)-1]
		ends[upper][0] = append(ends[upper][0], i)
		ends[lower][1] = append(ends[lower][1], i)
	}
	for v := range L.n {
		cx := d.graphLeft + d.x[v]
		for side, list := range ends[v] {
			// the neighbour along each chain decides its port, left to right
			next := func(i int) float64 {
				path := L.chains[i].path
				if side == 0 {
					return d.x[path[1]]
				}
				return d.x[path[len(path)-2]]
			}
			slices.SortStableFunc(list, func(a, b int) int { return cmp.Compare(next(a), next(b)) })
			k := len(list)
			step := 0.0
			if k > 1 {
				step = math.Min(16, 0.6*float64(d.boxW)/float64(k-1))
			}
			for j, i := range list {
				px := cx + (float64(j)-float64(k-1)/2)*step
				if side == 0 {
					bottomPorts[i] = px
				} else {
					topPorts[i] = px
				}
			}
		}
	}
	for i, c := range L.chains {
		col, width := colEdge, 1.4
		if spec.Nodes[c.to].Root {
			col, width = colEdgeRoot, 2
		}
		d.drawChain(p, spec, c, bottomPorts[i], topPorts[i], col, width)
	}
}

func (d *drawing) drawChain(p *pixels, spec GraphSpec, c chain, x0, x1 float64, col color.Color, width float64) {
	L := d.L
	upper, lower := c.path[0], c.path[len(c.path)-1]
	gapOf := func(v int) float64 {
		if spec.Nodes[v].Focus {
			return focusOut + focusWidth
		}
		return 0
	}
	y0 := float64(d.rowTop[L.layer[upper]]+boxH) + gapOf(upper)
	y1 := float64(d.rowTop[L.layer[lower]]) - gapOf(lower)
	// the arrowhead sits at the callee: the lower end normally, the upper
	// end for an edge that closes a cycle
	start, end := y0, y1
	if c.reversed {
		start += arrowLen
	} else {
		end -= arrowLen
	}
	p.begin(x0, start)
	cx, cy := x0, start
	for _, dv := range c.path[1 : len(c.path)-1] {
		top := float64(d.rowTop[L.layer[dv]])
		nx := d.graphLeft + d.x[dv]
		curve(p, cx, cy, nx, top)
		p.lineTo(nx, top+boxH)
		cx, cy = nx, top+boxH
	}
	curve(p, cx, cy, x1, end)
	if c.reversed {
		p.stroke(col, width, 5, 4)
		arrow(p, x0, y0, -1, col)
	} else {
		p.stroke(col, width)
		arrow(p, x1, y1, 1, col)
	}
}

// curve continues the path, which is at (x0, y0), to (x1, y1) as an S-curve
// leaving and arriving vertically.
func curve(p *pixels, x0, y0, x1, y1 float64) {
	mid := (y0 + y1) / 2
	p.curveTo(x0, mid, x1, mid, x1, y1)
}

// arrow draws an arrowhead with its tip at (x, y) pointing down (dir 1) or up (-1).
func arrow(p *pixels, x, y, dir float64, col color.Color) {
	p.begin(x, y)
	p.lineTo(x-arrowHalf, y-dir*arrowLen)
	p.lineTo(x+arrowHalf, y-dir*arrowLen)
	p.path.Close()
	p.fill(col)
}
