package scenarios_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

func TestSamples(t *testing.T) {
	tests := []struct {
		name string
		spec scenarios.MetricSpec
		step time.Duration
		want []scenarios.MetricPoint
	}{
		{
			name: "a gauge is interpolated linearly between points",
			spec: scenarios.MetricSpec{Name: "g", Type: scenarios.Gauge, Points: []scenarios.MetricPoint{{-30 * time.Second, 10}, {30 * time.Second, 40}}},
			step: 15 * time.Second,
			want: []scenarios.MetricPoint{{-30 * time.Second, 10}, {-15 * time.Second, 17.5}, {0, 25}, {15 * time.Second, 32.5}, {30 * time.Second, 40}},
		},
		{
			name: "a counter integrates its rate from zero",
			spec: scenarios.MetricSpec{Name: "c_total", Type: scenarios.Counter, Points: []scenarios.MetricPoint{{0, 2}, {time.Minute, 2}}},
			step: 15 * time.Second,
			want: []scenarios.MetricPoint{{0, 0}, {15 * time.Second, 30}, {30 * time.Second, 60}, {45 * time.Second, 90}, {time.Minute, 120}},
		},
		{
			name: "a counter's rising rate integrates by trapezoids",
			spec: scenarios.MetricSpec{Name: "c_total", Type: scenarios.Counter, Points: []scenarios.MetricPoint{{0, 0}, {30 * time.Second, 2}}},
			step: 15 * time.Second,
			want: []scenarios.MetricPoint{{0, 0}, {15 * time.Second, 7.5}, {30 * time.Second, 30}},
		},
		{
			name: "samples stop at the last point when the step does not divide the span",
			spec: scenarios.MetricSpec{Name: "g", Type: scenarios.Gauge, Points: []scenarios.MetricPoint{{0, 1}, {40 * time.Second, 1}}},
			step: 15 * time.Second,
			want: []scenarios.MetricPoint{{0, 1}, {15 * time.Second, 1}, {30 * time.Second, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.spec.Samples(tt.step)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].At != tt.want[i].At || abs(got[i].Value-tt.want[i].Value) > 1e-9 {
					t.Errorf("got %v, want %v", got, tt.want)
					break
				}
			}
		})
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestSamplesNoiseIsDeterministicAndBounded(t *testing.T) {
	spec := scenarios.MetricSpec{Name: "g", Labels: map[string]string{"service": "a"}, Type: scenarios.Gauge, Noise: 0.1,
		Points: []scenarios.MetricPoint{{0, 100}, {time.Hour, 100}}}
	a, b := spec.Samples(0), spec.Samples(0)
	varied := false
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("sample %d: %v then %v", i, a[i], b[i])
		}
		if a[i].Value < 90 || a[i].Value > 110 {
			t.Errorf("sample %d: %v outside 100±10%%", i, a[i].Value)
		}
		varied = varied || a[i].Value != 100
	}
	if !varied {
		t.Error("noise 0.1 left every sample at 100")
	}
	other := spec
	other.Labels = map[string]string{"service": "b"}
	if o := other.Samples(0); o[1] == a[1] && o[2] == a[2] {
		t.Error("two series share their noise")
	}
}

func TestOpenMetricsOfAScenario(t *testing.T) {
	s := scenarios.Scenario{
		Name:  "t/one",
		Start: time.Date(2026, 3, 14, 2, 10, 0, 0, time.UTC),
		Metrics: []scenarios.MetricSpec{
			{Name: "http_requests_total", Labels: map[string]string{"service": "a", "code": "500"}, Type: scenarios.Counter,
				Points: []scenarios.MetricPoint{{0, 1}, {15 * time.Second, 1}}},
			{Name: "g", Labels: map[string]string{"path": `C:\x "y"`}, Type: scenarios.Gauge,
				Points: []scenarios.MetricPoint{{-15 * time.Second, 1.5}, {0, 2}}},
			{Name: "http_requests_total", Labels: map[string]string{"service": "a", "code": "200"}, Type: scenarios.Counter,
				Points: []scenarios.MetricPoint{{0, 2}, {15 * time.Second, 2}}},
		},
	}
	want := `# TYPE g gauge
# HELP g Synthetic series of scenario t/one.
g{path="C:\\x \"y\""} 1.5 1773454185
g{path="C:\\x \"y\""} 2 1773454200
# TYPE http_requests counter
# HELP http_requests Synthetic series of scenario t/one.
http_requests_total{code="500",service="a"} 0 1773454200
http_requests_total{code="500",service="a"} 15 1773454215
http_requests_total{code="200",service="a"} 0 1773454200
http_requests_total{code="200",service="a"} 30 1773454215
# EOF
`
	if got := string(s.OpenMetrics(15 * time.Second)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestOpenMetricsOfTheCorpus checks every scenario's exposition: families are
// contiguous and declared once, samples belong to their family, every series'
// timestamps increase and counters never decrease, and the text ends with # EOF.
func TestOpenMetricsOfTheCorpus(t *testing.T) {
	for _, s := range scenarios.MustCorpus(t) {
		if len(s.Metrics) == 0 {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			text := s.OpenMetrics(scenarios.DefaultStep)
			if !bytes.HasSuffix(text, []byte("\n# EOF\n")) {
				t.Fatal("does not end with # EOF")
			}
			declared := map[string]bool{}
			family, typ := "", ""
			type last struct{ ts, v float64 }
			series := map[string]last{}
			sc := bufio.NewScanner(bytes.NewReader(text))
			for n := 1; sc.Scan(); n++ {
				line := sc.Text()
				switch {
				case line == "# EOF":
					continue
				case strings.HasPrefix(line, "# TYPE "):
					f := strings.Fields(line)
					if declared[f[2]] {
						t.Fatalf("line %d: family %s declared twice (interleaved)", n, f[2])
					}
					declared[f[2]], family, typ = true, f[2], f[3]
					continue
				case strings.HasPrefix(line, "#"):
					continue
				}
				id, rest, _ := strings.Cut(line, "} ")
				name, _, _ := strings.Cut(id, "{")
				if name != family && name != family+"_total" {
					t.Fatalf("line %d: sample %s outside its family %s", n, name, family)
				}
				f := strings.Fields(rest)
				v, err1 := strconv.ParseFloat(f[0], 64)
				ts, err2 := strconv.ParseFloat(f[1], 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("line %d: %q", n, line)
				}
				if p, ok := series[id]; ok {
					if ts <= p.ts {
						t.Fatalf("line %d: timestamp %v not after %v", n, ts, p.ts)
					}
					if typ == "counter" && v < p.v {
						t.Fatalf("line %d: counter %s decreases from %v to %v", n, id, p.v, v)
					}
				}
				series[id] = last{ts, v}
			}
		})
	}
}

// TestOpenMetricsImportsIntoPrometheus feeds every scenario's metrics to the
// real promtool, as the end-to-end tests do before starting Prometheus.
func TestOpenMetricsImportsIntoPrometheus(t *testing.T) {
	promtool := testbed.MustFindBinary(t, "apt-get install prometheus", "promtool")
	for _, s := range scenarios.MustCorpus(t) {
		if len(s.Metrics) == 0 {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, "metrics.om")
			if err := os.WriteFile(file, s.OpenMetrics(scenarios.DefaultStep), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(t.Context(), promtool, "tsdb", "create-blocks-from", "openmetrics", file, filepath.Join(dir, "data")).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool: %v\n%s", err, out)
			}
			if !bytes.Contains(out, []byte("BLOCK ULID")) {
				t.Errorf("promtool wrote no block:\n%s", out)
			}
		})
	}
}
