package picture

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"time"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Point is one sample of a series.
type Point struct {
	T time.Time
	V float64
}

// Series is one line of a chart; NaN and infinite values leave gaps.
type Series struct {
	Name   string
	Points []Point
}

// Window is a span of time, such as an incident.
type Window struct{ From, To time.Time }

// ChartSpec is what DrawChart draws.
type ChartSpec struct {
	Title, YLabel string
	Series        []Series // the first maxSeries are drawn; the rest are counted in the title ("+N more")
	Shade         *Window  // the incident window, shaded
	Width, Height int      // pixels; 1000×500 when zero
}

// maxSeries is how many lines a chart draws before it only counts them.
const maxSeries = 10

// Chart geometry and palette.
const (
	chartPad        = 16
	chartTitleSize  = 16
	chartTitleH     = 34
	chartTickSize   = 11
	chartLabelSize  = 12
	chartLegendSize = 11.5
	chartLegendRowH = 20
	chartLineW      = 1.6
)

var (
	seriesColors = []color.NRGBA{ // Tableau 10
		rgb(0x4e79a7), rgb(0xf28e2b), rgb(0x59a14f), rgb(0xb07aa1), rgb(0x76b7b2),
		rgb(0xedc948), rgb(0xff9da7), rgb(0x9c755f), rgb(0xbab0ac), rgb(0xe15759),
	}
	colAxis      = rgb(0x8c959f)
	colTickText  = rgb(0x57606a)
	colGrid      = rgb(0xeef1f4)
	colShade     = color.NRGBA{R: 0xe5, G: 0x48, B: 0x4d, A: 0x22}
	colShadeEdge = color.NRGBA{R: 0xe5, G: 0x48, B: 0x4d, A: 0x99}
	colShadeText = rgb(0xc2363b)
	colNoData    = rgb(0x8c959f)
)

// DrawChart draws the series as a line chart over UTC time, with the incident
// window shaded, and returns a PNG. A spec without any finite sample gives a
// chart that says "no data".
func DrawChart(spec ChartSpec) ([]byte, error) {
	w, h := spec.Width, spec.Height
	if w <= 0 {
		w = 1000
	}
	if h <= 0 {
		h = 500
	}
	if w < 200 || h < 150 {
		return nil, fmt.Errorf("draw chart: %d×%d is too small", w, h)
	}
	p := newPixels(w, h)
	shown := spec.Series[:min(len(spec.Series), maxSeries)]
	lines := make([]*seriesLine, 0, len(shown))
	for i, s := range shown {
		if l := newSeriesLine(s, seriesColors[i%len(seriesColors)]); l != nil {
			lines = append(lines, l)
		}
	}

	title := chartTitle(spec)
	tf := sans(chartTitleSize, true)
	p.text(tf, colTitle, chartPad, chartPad+chartTitleSize-2, 0, ellipsis(tf, title, float64(w-2*chartPad)))

	legend := layoutChartLegend(shown, lines, w-2*chartPad)
	area := draw.New(p.c)
	area = draw.Crop(area, chartPad, -chartPad, vg.Length(chartPad+legend.height), -chartTitleH-chartPad)
	if len(lines) == 0 {
		drawNoData(p, area)
	} else {
		pl := newChartPlot(spec, lines)
		pl.Draw(area)
		legend.draw(p, float64(h-chartPad-legend.height))
	}
	png, err := p.png()
	if err != nil {
		return nil, fmt.Errorf("draw chart: %w", err)
	}
	return png, nil
}

// chartTitle is the spec's title, with the series that were left out counted.
func chartTitle(spec ChartSpec) string {
	title := spec.Title
	if more := len(spec.Series) - maxSeries; more > 0 {
		if title != "" {
			title += " "
		}
		title += fmt.Sprintf("(+%d more series)", more)
	}
	return title
}

func newChartPlot(spec ChartSpec, lines []*seriesLine) *plot.Plot {
	pl := plot.New()
	pl.BackgroundColor = nil
	tick := textStyle(chartTickSize, colTickText)
	label := textStyle(chartLabelSize, colLegendText)
	for _, ax := range []*plot.Axis{&pl.X, &pl.Y} {
		ax.Color, ax.Width = colAxis, 1
		ax.Tick.Color, ax.Tick.Width, ax.Tick.Length = colAxis, 1, 5
		ax.Tick.Label.Font, ax.Tick.Label.Color = tick.Font, tick.Color
		ax.Label.TextStyle.Font, ax.Label.TextStyle.Color = label.Font, label.Color
		ax.Padding = 0
	}
	pl.X.Tick.Marker = utcTicks{}
	pl.Y.Tick.Marker = valueTicks{}

	grid := &chartGrid{}
	pl.Add(grid)
	if spec.Shade != nil {
		pl.Add(&shade{from: unixSeconds(spec.Shade.From), to: unixSeconds(spec.Shade.To)})
	}

	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, l := range lines {
		a, b, c, d := l.DataRange()
		xmin, xmax, ymin, ymax = math.Min(xmin, a), math.Max(xmax, b), math.Min(ymin, c), math.Max(ymax, d)
	}
	if xmax-xmin < 60 {
		xmin, xmax = xmin-300, xmax+300 // a lone sample: show the five minutes around it
	}
	pl.X.Min, pl.X.Max = xmin, xmax
	if ymin >= 0 && ymax > 0 {
		ymin = 0 // counts, ratios and latencies read best from zero
	}
	headroom := 0.06
	if spec.Shade != nil {
		headroom = 0.15 // keep the window's label clear of the lines
	}
	pl.Y.Min, pl.Y.Max = ymin, ymax+headroom*(ymax-ymin)
	pl.Y.Label.Text = spec.YLabel
	pl.X.Label.Text = fmt.Sprintf("time (UTC), %s – %s", unixTime(xmin).Format("2006-01-02 15:04"), unixTime(xmax).Format("2006-01-02 15:04"))
	pl.X.Label.Padding = 4
	pl.Y.Label.Padding = 6

	for _, l := range lines {
		pl.Add(l)
	}
	return pl
}

func textStyle(size float64, c color.Color) text.Style {
	return text.Style{Color: c, Font: font.Font{Typeface: "Liberation", Variant: "Sans", Size: font.Length(size)}}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func unixTime(s float64) time.Time {
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// seriesLine draws one series as polylines, broken where samples are missing.
type seriesLine struct {
	runs                   [][]vg.Point // data coordinates, X in Unix seconds
	color                  color.Color
	xmin, xmax, ymin, ymax float64
}

// newSeriesLine splits s into runs of finite samples no further apart than
// gapFactor times its usual step; nil when s has no finite sample.
func newSeriesLine(s Series, c color.Color) *seriesLine {
	pts := slices.Clone(s.Points)
	slices.SortStableFunc(pts, func(a, b Point) int { return a.T.Compare(b.T) })
	const gapFactor = 5
	var steps []float64
	for i := 1; i < len(pts); i++ {
		steps = append(steps, pts[i].T.Sub(pts[i-1].T).Seconds())
	}
	slices.Sort(steps)
	maxStep := math.Inf(1)
	if len(steps) > 0 && steps[len(steps)/2] > 0 {
		maxStep = gapFactor * steps[len(steps)/2]
	}
	l := &seriesLine{color: c, xmin: math.Inf(1), xmax: math.Inf(-1), ymin: math.Inf(1), ymax: math.Inf(-1)}
	var run []vg.Point
	prev := math.Inf(-1)
	for _, pt := range pts {
		if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
			l.flush(&run)
			continue
		}
		x := unixSeconds(pt.T)
		if x-prev > maxStep {
			l.flush(&run)
		}
		prev = x
		run = append(run, vg.Point{X: vg.Length(x), Y: vg.Length(pt.V)})
		l.xmin, l.xmax = math.Min(l.xmin, x), math.Max(l.xmax, x)
		l.ymin, l.ymax = math.Min(l.ymin, pt.V), math.Max(l.ymax, pt.V)
	}
	l.flush(&run)
	if len(l.runs) == 0 {
		return nil
	}
	return l
}

func (l *seriesLine) flush(run *[]vg.Point) {
	if len(*run) > 0 {
		l.runs = append(l.runs, *run)
	}
	*run = nil
}

func (l *seriesLine) DataRange() (xmin, xmax, ymin, ymax float64) {
	return l.xmin, l.xmax, l.ymin, l.ymax
}

func (l *seriesLine) Plot(c draw.Canvas, pl *plot.Plot) {
	trX, trY := pl.Transforms(&c)
	style := draw.LineStyle{Color: l.color, Width: chartLineW}
	for _, run := range l.runs {
		if len(run) == 1 { // a lone sample: a dot
			pt := vg.Point{X: trX(float64(run[0].X)), Y: trY(float64(run[0].Y))}
			c.DrawGlyph(draw.GlyphStyle{Color: l.color, Radius: 2, Shape: draw.CircleGlyph{}}, pt)
			continue
		}
		screen := make([]vg.Point, len(run))
		for i, pt := range run {
			screen[i] = vg.Point{X: trX(float64(pt.X)), Y: trY(float64(pt.Y))}
		}
		c.StrokeLines(style, c.ClipLinesXY(screen)...)
	}
}

// shade fills the incident window across the plot's height and names it.
type shade struct{ from, to float64 }

func (s *shade) Plot(c draw.Canvas, pl *plot.Plot) {
	trX, _ := pl.Transforms(&c)
	x0, x1 := max(trX(s.from), c.Min.X), min(trX(s.to), c.Max.X)
	if x1 <= x0 {
		return
	}
	c.FillPolygon(colShade, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	edge := draw.LineStyle{Color: colShadeEdge, Width: 1, Dashes: []vg.Length{4, 3}}
	for _, x := range []vg.Length{x0, x1} {
		if x > c.Min.X && x < c.Max.X {
			c.StrokeLine2(edge, x, c.Min.Y, x, c.Max.Y)
		}
	}
	bold := textStyle(11, colShadeText)
	bold.Font.Weight = xfont.WeightBold
	bold.Handler = pl.TextHandler
	c.FillText(bold, vg.Point{X: x0 + 4, Y: c.Max.Y - 14}, "incident")
	span := unixTime(s.from).Format("15:04") + "–" + unixTime(s.to).Format("15:04")
	plain := textStyle(10, colShadeText)
	plain.Handler = pl.TextHandler
	if plain.Width(span)+8 <= x1-x0 {
		c.FillText(plain, vg.Point{X: x0 + 4, Y: c.Max.Y - 27}, span)
	}
}

// chartGrid draws light lines at the major ticks.
type chartGrid struct{}

func (chartGrid) Plot(c draw.Canvas, pl *plot.Plot) {
	trX, trY := pl.Transforms(&c)
	style := draw.LineStyle{Color: colGrid, Width: 1}
	for _, t := range pl.X.Tick.Marker.Ticks(pl.X.Min, pl.X.Max) {
		if x := trX(t.Value); !t.IsMinor() && x > c.Min.X && x <= c.Max.X {
			c.StrokeLine2(style, x, c.Min.Y, x, c.Max.Y)
		}
	}
	for _, t := range pl.Y.Tick.Marker.Ticks(pl.Y.Min, pl.Y.Max) {
		if y := trY(t.Value); !t.IsMinor() && y > c.Min.Y && y <= c.Max.Y {
			c.StrokeLine2(style, c.Min.X, y, c.Max.X, y)
		}
	}
}

func drawNoData(p *pixels, area draw.Canvas) {
	x0, x1 := float64(area.Min.X), float64(area.Max.X)
	top, bottom := p.h-float64(area.Max.Y), p.h-float64(area.Min.Y)
	p.roundRect(x0, top, x1-x0, bottom-top, 8)
	p.stroke(colRule, 1.5)
	f := sans(20, true)
	p.text(f, colNoData, (x0+x1)/2, (top+bottom)/2+7, 0.5, "no data")
}

// chartLegend lists the drawn series under the plot.
type chartLegend struct {
	height  int
	entries []chartLegendEntry
}

type chartLegendEntry struct {
	name  string
	color color.Color
	x, y  float64
}

func layoutChartLegend(shown []Series, lines []*seriesLine, width int) chartLegend {
	if len(lines) == 0 {
		return chartLegend{}
	}
	f := sans(chartLegendSize, false)
	var lg chartLegend
	x, y := 0.0, 0.0
	for i, s := range shown {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("series %d", i+1)
		}
		name = ellipsis(f, name, 0.45*float64(width))
		w := 22 + 6 + textWidth(f, name)
		if x > 0 && x+w > float64(width) {
			x, y = 0, y+chartLegendRowH
		}
		lg.entries = append(lg.entries, chartLegendEntry{name: name, color: seriesColors[i%len(seriesColors)], x: x, y: y})
		x += w + 20
	}
	lg.height = int(y) + chartLegendRowH + 6
	return lg
}

func (lg chartLegend) draw(p *pixels, top float64) {
	f := sans(chartLegendSize, false)
	for _, e := range lg.entries {
		x, y := chartPad+e.x, top+6+e.y
		p.begin(x, y+8)
		p.lineTo(x+22, y+8)
		p.stroke(e.color, 3)
		p.text(f, colLegendText, x+28, y+12, 0, e.name)
	}
}
