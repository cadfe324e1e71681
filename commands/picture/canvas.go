package picture

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"

	"git.sr.ht/~sbinet/gg"
	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/font/liberation"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi makes one vg point one pixel, so layouts can think in pixels.
const dpi = 72

// fontCache holds the Liberation fonts embedded by gonum.org/v1/plot.
var fontCache = sync.OnceValue(func() *font.Cache {
	return font.NewCache(liberation.Collection())
})

// sans returns Liberation Sans at size pixels.
func sans(size float64, bold bool) font.Face {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: font.Length(size)}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return fontCache().Lookup(f, f.Size)
}

// textWidth is the advance of s in pixels.
func textWidth(f font.Face, s string) float64 { return float64(f.Width(s)) }

// ellipsis shortens s with a trailing "…" until it fits in max pixels.
func ellipsis(f font.Face, s string, max float64) string {
	if textWidth(f, s) <= max {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r) // the longest prefix that fits is in [lo, hi)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if textWidth(f, string(r[:mid])+"…") <= max {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return "…"
	}
	return string(r[:lo]) + "…"
}

// rgb makes an opaque colour from 0xRRGGBB.
func rgb(hex uint32) color.NRGBA {
	return color.NRGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

// pixels is a vgimg canvas addressed in pixels with Y growing downwards.
type pixels struct {
	c    *vgimg.Canvas
	h    float64
	path vg.Path
}

// newPixels makes a white canvas of w×h pixels.
func newPixels(w, h int) *pixels {
	// Hand vgimg the image and context: left to itself it allocates the
	// image twice, which shows on big graphs. It paints the background white.
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	ctx := gg.NewContextForRGBA(img)
	ctx.SetLineCapButt()
	ctx.InvertY()
	c := vgimg.NewWith(vgimg.UseImageWithContext(img, ctx), vgimg.UseDPI(dpi))
	return &pixels{c: c, h: float64(h)}
}

func (p *pixels) pt(x, y float64) vg.Point { return vg.Point{X: vg.Length(x), Y: vg.Length(p.h - y)} }

// begin starts a new path at (x, y).
func (p *pixels) begin(x, y float64) {
	p.path = p.path[:0]
	p.path.Move(p.pt(x, y))
}

func (p *pixels) lineTo(x, y float64) { p.path.Line(p.pt(x, y)) }

func (p *pixels) curveTo(x1, y1, x2, y2, x, y float64) {
	p.path.CubeTo(p.pt(x1, y1), p.pt(x2, y2), p.pt(x, y))
}

func (p *pixels) fill(c color.Color) {
	p.c.SetColor(c)
	p.c.Fill(p.path)
}

func (p *pixels) stroke(c color.Color, width float64, dash ...float64) {
	p.c.SetColor(c)
	p.c.SetLineWidth(vg.Length(width))
	ds := make([]vg.Length, len(dash))
	for i, d := range dash {
		ds[i] = vg.Length(d)
	}
	p.c.SetLineDash(ds, 0)
	p.c.Stroke(p.path)
}

// roundRect traces a rectangle with corners of radius r as the current path.
func (p *pixels) roundRect(x, y, w, h, r float64) {
	r = math.Max(0, math.Min(r, math.Min(w, h)/2))
	p.path = p.path[:0]
	p.path.Move(p.pt(x+r, y))
	p.path.Line(p.pt(x+w-r, y))
	p.arc(x+w-r, y+r, r, math.Pi/2, -math.Pi/2)
	p.path.Line(p.pt(x+w, y+h-r))
	p.arc(x+w-r, y+h-r, r, 0, -math.Pi/2)
	p.path.Line(p.pt(x+r, y+h))
	p.arc(x+r, y+h-r, r, -math.Pi/2, -math.Pi/2)
	p.path.Line(p.pt(x, y+r))
	p.arc(x+r, y+r, r, math.Pi, -math.Pi/2)
	p.path.Close()
}

// arc appends a circular arc; angles are in vg's Y-up convention.
func (p *pixels) arc(cx, cy, r, start, sweep float64) {
	if r > 0 {
		p.path.Arc(p.pt(cx, cy), vg.Length(r), start, sweep)
	}
}

// text draws s with its baseline at y; align is 0 for left, 0.5 for centre, 1
// for right.
func (p *pixels) text(f font.Face, c color.Color, x, y float64, align float64, s string) {
	if s == "" {
		return
	}
	x -= align * textWidth(f, s)
	p.c.SetColor(c)
	p.c.FillString(f, p.pt(x, y), s)
}

// png encodes the canvas. Flat pictures compress well even at the fastest
// level, which keeps big graphs quick.
func (p *pixels) png() ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, p.c.Image()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
