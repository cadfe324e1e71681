package picture

import (
	"math"
	"testing"
	"time"
)

func BenchmarkDrawGraph200(b *testing.B) {
	spec := layeredSpec(200, 8, 1)
	for b.Loop() {
		if _, _, err := DrawGraph(spec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDrawChart24h(b *testing.B) {
	start := exampleStart
	spec := ChartSpec{Title: "24h, 5 series", YLabel: "ratio", Shade: &Window{From: start.Add(15 * time.Hour), To: start.Add(17 * time.Hour)}}
	for k := range 5 {
		s := Series{Name: "series"}
		for i := range 24 * 60 * 4 {
			s.Points = append(s.Points, Point{T: start.Add(time.Duration(i) * 15 * time.Second), V: math.Sin(float64(i)/300+float64(k)) + float64(k)})
		}
		spec.Series = append(spec.Series, s)
	}
	if n := 5 * len(spec.Series[0].Points); n != 28800 {
		b.Fatalf("%d points, want 28800", n)
	}
	for b.Loop() {
		if _, err := DrawChart(spec); err != nil {
			b.Fatal(err)
		}
	}
}
