package picture

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
)

func chartCases() []struct {
	name string
	spec ChartSpec
	w, h int
} {
	start := exampleStart
	steady := func(name string, n int, step time.Duration, v float64) Series {
		s := Series{Name: name}
		for i := range n {
			s.Points = append(s.Points, Point{T: start.Add(time.Duration(i) * step), V: v + float64(i%7)})
		}
		return s
	}
	many := ChartSpec{Title: "per-pod restarts"}
	for i := range 14 {
		many.Series = append(many.Series, steady(fmt.Sprintf("pod-%d", i), 120, time.Minute, float64(i)))
	}
	gappy := steady("gappy", 240, time.Minute, 3)
	gappy.Points[40].V = math.NaN()
	gappy.Points = append(gappy.Points[:100], gappy.Points[160:]...)
	outside := Window{From: start.Add(-48 * time.Hour), To: start.Add(-47 * time.Hour)}
	return []struct {
		name string
		spec ChartSpec
		w, h int
	}{
		{"24 hours of pool saturation with the incident shaded", poolSaturation(start), 1000, 500},
		{"a custom size is honoured", ChartSpec{Title: "small", Series: []Series{steady("x", 30, time.Minute, 1)}, Width: 640, Height: 320}, 640, 320},
		{"more than ten series are drawn ten and counted", many, 1000, 500},
		{"gaps and NaNs break the line", ChartSpec{Title: "gaps", YLabel: "req/s", Series: []Series{gappy}}, 1000, 500},
		{"a single sample is a dot", ChartSpec{Series: []Series{{Name: "one", Points: []Point{{T: start, V: 42}}}}}, 1000, 500},
		{"large values get SI labels", ChartSpec{YLabel: "bytes", Series: []Series{steady("rss", 60, time.Minute, 3e9)}}, 1000, 500},
		{"an incident window outside the data is left out", ChartSpec{Series: []Series{steady("x", 60, time.Minute, 1)}, Shade: &outside}, 1000, 500},
		{"no series says no data", ChartSpec{Title: "nothing here", YLabel: "ratio"}, 1000, 500},
		{"series without finite samples say no data", ChartSpec{Series: []Series{{Name: "nan", Points: []Point{{T: start, V: math.NaN()}}}, {Name: "empty"}}}, 1000, 500},
	}
}

func TestDrawChart(t *testing.T) {
	for _, tt := range chartCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first, err := DrawChart(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			img := mustDecodePNG(t, first)
			if got := img.Bounds().Size(); got != (image.Point{tt.w, tt.h}) {
				t.Errorf("PNG is %v, want %dx%d", got, tt.w, tt.h)
			}
			second, err := DrawChart(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Error("the same spec gave different PNGs")
			}
		})
	}
}

func TestDrawChartRejectsTinySizes(t *testing.T) {
	if _, err := DrawChart(ChartSpec{Width: 50, Height: 40}); err == nil {
		t.Error("a 50×40 chart drew without an error")
	}
}

func TestDrawChartPaints(t *testing.T) {
	shaded := poolSaturation(exampleStart)
	plain := poolSaturation(exampleStart)
	plain.Shade = nil
	tests := []struct {
		name string
		spec ChartSpec
		want map[string]bool // what the picture shows
	}{
		{"lines in series colours and a shaded window", shaded, map[string]bool{"first series": true, "shade": true}},
		{"no window, no shade", plain, map[string]bool{"first series": true, "shade": false}},
		{"no data, no lines", ChartSpec{Title: "nothing"}, map[string]bool{"first series": false, "shade": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := DrawChart(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			img := mustDecodePNG(t, data)
			got := map[string]bool{
				"first series": countPixels(img, func(c color.NRGBA) bool { return c == seriesColors[0] }) > 100,
				"shade": countPixels(img, func(c color.NRGBA) bool {
					return c.R > 245 && c.G > 215 && c.G < 240 && int(c.G)-int(c.B) < 6 && c.R-c.G > 15
				}) > 1000,
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s: got %v, want %v", k, got[k], want)
				}
			}
		})
	}
}

func countPixels(img image.Image, match func(color.NRGBA) bool) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if match(color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)) {
				n++
			}
		}
	}
	return n
}

func TestChartTitleCountsHiddenSeries(t *testing.T) {
	series := func(n int) []Series { return make([]Series, n) }
	tests := []struct {
		name string
		spec ChartSpec
		want string
	}{
		{"ten series need no note", ChartSpec{Title: "cpu", Series: series(10)}, "cpu"},
		{"the eleventh is counted", ChartSpec{Title: "cpu", Series: series(11)}, "cpu (+1 more series)"},
		{"an untitled chart still counts", ChartSpec{Series: series(25)}, "(+15 more series)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chartTitle(tt.spec); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUTCTicks(t *testing.T) {
	at := func(h, m int) float64 { return unixSeconds(time.Date(2025, 11, 28, h, m, 0, 0, time.UTC)) }
	tests := []struct {
		name     string
		min, max float64
		want     []string // the labelled ticks
	}{
		{"a day is marked every three hours with the date at midnight", at(0, 0), at(23, 59),
			[]string{"Nov 28", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00"}},
		{"an hour is marked every ten minutes", at(14, 3), at(15, 3),
			[]string{"14:10", "14:20", "14:30", "14:40", "14:50", "15:00"}},
		{"a minute shows seconds", at(14, 0), at(14, 1),
			[]string{"14:00:00", "14:00:10", "14:00:20", "14:00:30", "14:00:40", "14:00:50", "14:01:00"}},
		{"a week is marked by day", at(0, 0), at(0, 0) + 7*86400,
			[]string{"Nov 28", "Nov 29", "Nov 30", "Dec 1", "Dec 2", "Dec 3", "Dec 4", "Dec 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := labels(utcTicks{}.Ticks(tt.min, tt.max)); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValueTicks(t *testing.T) {
	tests := []struct {
		name     string
		min, max float64
		want     []string
	}{
		{"a ratio is marked in fifths", 0, 1.06, []string{"0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{"quarter steps keep two decimals", 0, 1.3, []string{"0", "0.25", "0.50", "0.75", "1.00", "1.25"}},
		{"below ten thousand there is no suffix", 0, 5000, []string{"0", "1000", "2000", "3000", "4000", "5000"}},
		{"thousands use k", 0, 60000, []string{"0", "10k", "20k", "30k", "40k", "50k", "60k"}},
		{"billions use G", 2e9, 4.5e9, []string{"2.0G", "2.5G", "3.0G", "3.5G", "4.0G", "4.5G"}},
		{"negative values keep their sign", -1, 1, []string{"-1.0", "-0.5", "0", "0.5", "1.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := labels(valueTicks{}.Ticks(tt.min, tt.max)); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func labels(ticks []plot.Tick) []string {
	var out []string
	for _, t := range ticks {
		if t.Label != "" {
			out = append(out, t.Label)
		}
	}
	return out
}
