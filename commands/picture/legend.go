package picture

// The graph legend: one entry per thing a reader must decode, laid out in
// rows like words in a paragraph.

const (
	legendRowH   = 24
	legendSwatch = 16 // side of a box swatch
	legendArrowW = 30 // length of an edge swatch
	legendSpace  = 22 // between entries
	legendTextAt = 7  // between a swatch and its label
)

type legendKind int

const (
	legendState legendKind = iota
	legendRoot
	legendFocus
	legendRadius
	legendCall
	legendCycle
)

type legendEntry struct {
	kind  legendKind
	state State
	label string
	x, y  float64 // top left, relative to the legend's top left
}

type legendLayout struct {
	top, height int
	entries     []legendEntry
}

// layoutLegend flows the entries into rows no wider than width; the cycle
// entry appears only when some edge closes a cycle.
func layoutLegend(L *layered, width int) legendLayout {
	entries := []legendEntry{
		{kind: legendState, state: StateFiring, label: "firing"},
		{kind: legendState, state: StateResolved, label: "resolved"},
		{kind: legendState, state: StateOK, label: "ok"},
		{kind: legendState, state: StateUnknown, label: "unknown"},
		{kind: legendRoot, label: "root cause"},
		{kind: legendFocus, label: "focus"},
		{kind: legendRadius, label: "impact radius"},
		{kind: legendCall, label: "calls"},
	}
	for _, c := range L.chains {
		if c.reversed {
			entries = append(entries, legendEntry{kind: legendCycle, label: "calls (closes a cycle)"})
			break
		}
	}
	f := sans(legendSize, false)
	x, y := 0.0, 0.0
	for i := range entries {
		e := &entries[i]
		w := e.swatchW() + legendTextAt + textWidth(f, e.label)
		if x > 0 && x+w > float64(width) {
			x, y = 0, y+legendRowH
		}
		e.x, e.y = x, y
		x += w + legendSpace
	}
	return legendLayout{height: int(y) + legendRowH, entries: entries}
}

func (e legendEntry) swatchW() float64 {
	if e.kind == legendCall || e.kind == legendCycle {
		return legendArrowW
	}
	return legendSwatch
}

func (lg legendLayout) draw(p *pixels, width int) {
	rule := float64(lg.top) - legendGap/2
	p.begin(margin, rule)
	p.lineTo(float64(width-margin), rule)
	p.stroke(colRule, 1)
	f := sans(legendSize, false)
	for _, e := range lg.entries {
		x, y := margin+e.x, float64(lg.top)+e.y
		sy := y + (legendRowH-legendSwatch)/2
		s := float64(legendSwatch)
		switch e.kind {
		case legendState:
			st := styleOf(e.state)
			p.roundRect(x, sy, s, s, 4)
			p.fill(st.border)
			p.roundRect(x+1, sy+1, s-2, s-2, 3)
			p.fill(st.fill)
		case legendRoot:
			p.roundRect(x, sy, s, s, 4)
			p.fill(colRoot)
			p.roundRect(x+3, sy+5, s-6, s-8, 1)
			p.fill(styleOf(StateFiring).fill)
		case legendFocus:
			p.roundRect(x+1.5, sy+1.5, s-3, s-3, 4)
			p.stroke(colFocus, focusWidth)
			p.roundRect(x+4, sy+4, s-8, s-8, 2)
			p.fill(styleOf(StateOK).fill)
		case legendRadius:
			p.roundRect(x, sy, s, s, 5)
			p.fill(colHalo)
			p.roundRect(x+4, sy+4, s-8, s-8, 2)
			p.fill(styleOf(StateOK).fill)
		case legendCall, legendCycle:
			cy := y + legendRowH/2
			p.begin(x, cy)
			p.lineTo(x+legendArrowW-arrowLen, cy)
			if e.kind == legendCycle {
				p.stroke(colEdge, 1.4, 5, 4)
			} else {
				p.stroke(colEdge, 1.4)
			}
			p.begin(x+legendArrowW, cy)
			p.lineTo(x+legendArrowW-arrowLen, cy-arrowHalf)
			p.lineTo(x+legendArrowW-arrowLen, cy+arrowHalf)
			p.path.Close()
			p.fill(colEdge)
		}
		p.text(f, colLegendText, x+e.swatchW()+legendTextAt, y+16, 0, e.label)
	}
}
