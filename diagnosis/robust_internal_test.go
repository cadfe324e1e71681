package diagnosis

import (
	"math"
	"testing"
	"time"
)

// levels are samples 15 s apart from t0; the split is at index split.
func levels(t0 time.Time, vals ...float64) []Point { return series(t0, vals...) }

// baseline is 40 samples around 10 with a small deterministic spread.
func baseline() []float64 {
	out := make([]float64, 40)
	for i := range out {
		out[i] = 10 + 0.3*math.Sin(float64(i))
	}
	return out
}

func TestLevelShift(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	split := t0.Add(40 * 15 * time.Second)
	after := func(vals ...float64) []Point { return levels(t0, append(baseline(), vals...)...) }
	spiked := baseline()
	spiked[17] = 1000

	cases := []struct {
		name           string
		points         []Point
		up, down       bool // robust z beyond anomalyZ
		wantUpAtSample int  // where the rise began; -1: none
	}{
		{"a rise of the level is an anomaly", after(10, 10, 14, 14, 14, 14, 14, 14), true, false, 42},
		{"a single spike in the baseline does not hide an anomaly",
			levels(t0, append(spiked, 10, 10, 14, 14, 14, 14, 14, 14)...), true, false, 42},
		{"a single spike after the split is not an anomaly", after(10, 10, 40, 10, 10, 10, 10), false, false, -1},
		{"a flat series is not anomalous", levels(t0, make([]float64, 50)...), false, false, -1},
		{"a steady series with noise is not anomalous", after(10.2, 9.8, 10.1, 9.9, 10.3, 9.7, 10), false, false, -1},
		{"a fall of the level is measured too", after(10, 2, 2, 2, 2, 2, 2), false, true, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := levelShift(tc.points, split)
			if !ok {
				t.Fatal("not measured")
			}
			if (s.zUp >= anomalyZ) != tc.up || (s.zDown >= anomalyZ) != tc.down {
				t.Errorf("zUp %.2f zDown %.2f, want rise %v, fall %v", s.zUp, s.zDown, tc.up, tc.down)
			}
			switch {
			case tc.wantUpAtSample < 0 && !s.upAt.IsZero():
				t.Errorf("excursion from %v, want none", s.upAt)
			case tc.wantUpAtSample >= 0 && !s.upAt.Equal(tc.points[tc.wantUpAtSample].T):
				t.Errorf("excursion from %v, want %v", s.upAt, tc.points[tc.wantUpAtSample].T)
			}
		})
	}
	if _, ok := levelShift(levels(t0, 1, 2, 3), split); ok {
		t.Error("3 samples measured; want too short a baseline")
	}
}

// The classical z-score's standard deviation swells with one spike; the
// robust one does not.
func TestRobustZSeesThroughASpikeTheMeanDoesNot(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	vals := baseline()
	vals[17] = 1000
	pts := levels(t0, append(vals, 14, 14, 14, 14, 14, 14)...)
	s, _ := levelShift(pts, t0.Add(40*15*time.Second))
	mean, sq := 0.0, 0.0
	for _, v := range vals {
		mean += v / float64(len(vals))
	}
	for _, v := range vals {
		sq += (v - mean) * (v - mean) / float64(len(vals))
	}
	if classic := (14 - mean) / math.Sqrt(sq); classic >= anomalyZ || s.zUp < 10 {
		t.Errorf("classic z %.2f, robust z %.2f; want the spike to hide the rise from the first only", classic, s.zUp)
	}
}

func TestLeadCorrelationAcrossAGap(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	cause := series(t0, 0, 0, 0, 5, 9, 9, 9, 9, 9, 9, 9, 9)
	effect := series(t0, 0, 0, 0, 0, 0, 5, 9, 9, 9, 9, 9, 9)          // two steps later
	gapped := append(append([]Point{}, effect[:4]...), effect[5:]...) // Prometheus left a sample out
	for name, e := range map[string][]Point{"regular": effect, "with a gap": gapped} {
		if r, lag := leadCorrelation(cause, e, 15*time.Second, time.Minute); lag != 30*time.Second || r < 0.99 {
			t.Errorf("%s: r=%.3f lag=%s, want ~1 at 30s", name, r, lag)
		}
	}
}
