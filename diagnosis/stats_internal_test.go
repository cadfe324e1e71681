package diagnosis

import (
	"math"
	"testing"
	"time"
)

func series(start time.Time, vals ...float64) []Point {
	out := make([]Point, len(vals))
	for i, v := range vals {
		out[i] = Point{T: start.Add(time.Duration(i) * 15 * time.Second), V: v}
	}
	return out
}

func TestPearsonAndLead(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	up := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	if r := pearson(up, up); math.Abs(r-1) > 1e-9 {
		t.Errorf("pearson of a series with itself = %v", r)
	}
	if r := pearson(up, []float64{8, 7, 6, 5, 4, 3, 2, 1}); math.Abs(r+1) > 1e-9 {
		t.Errorf("pearson of opposite series = %v", r)
	}
	if r := pearson(up, []float64{3, 3, 3, 3, 3, 3, 3, 3}); !math.IsNaN(r) {
		t.Errorf("pearson with a constant = %v, want NaN", r)
	}
	cause := series(t0, 0, 0, 0, 5, 9, 9, 9, 9, 9, 9, 9, 9)
	effect := series(t0, 0, 0, 0, 0, 0, 5, 9, 9, 9, 9, 9, 9) // two steps later
	r, lag := leadCorrelation(cause, effect, 15*time.Second, time.Minute)
	if lag != 30*time.Second || r < 0.99 {
		t.Errorf("lead correlation r=%.3f lag=%s, want ~1 at 30s", r, lag)
	}
}

func TestZscore(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	pts := series(t0, 10, 11, 10, 9, 10, 11, 10, 40, 42)
	if z := zscore(pts, t0.Add(7*15*time.Second)); z < 20 {
		t.Errorf("z = %.1f for a jump from ~10 to ~41", z)
	}
	flat := series(t0, 5, 5, 5, 5, 5, 5, 5, 5)
	if z := zscore(flat, t0.Add(6*15*time.Second)); z != 0 {
		t.Errorf("z = %v for a flat series", z)
	}
}
