package prom_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
)

// mustPrometheus starts a real Prometheus loaded with the scenario's
// synthetic series and returns a client for it.
func mustPrometheus(tb testing.TB, s scenarios.Scenario) (*testbed.Prometheus, *prom.Client) {
	tb.Helper()
	p := testbed.MustStartPrometheus(tb, s.OpenMetrics(scenarios.DefaultStep))
	c, err := prom.New(prom.Config{URL: p.URL})
	if err != nil {
		tb.Fatal(err)
	}
	return p, c
}

func mustScenario(tb testing.TB, name string) scenarios.Scenario {
	tb.Helper()
	corpus, err := scenarios.Corpus()
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range corpus {
		if strings.HasPrefix(s.Name, name) {
			return s
		}
	}
	tb.Fatalf("no scenario %s", name)
	return scenarios.Scenario{}
}

// TestCorpusAccuracy diagnoses every incident of the corpus with the metric
// evidence of a real Prometheus 2.42 (loaded with each scenario's synthetic
// series through promtool) where the scenario has metrics. It reports top-1
// and top-3 accuracy and calibration. The corpus is part of what the model's
// parameters were fitted on (docs/diagnosis.md), so this guards against
// regressions; the held-out figures are cmd/evaluate's.
func TestCorpusAccuracy(t *testing.T) {
	corpus, err := scenarios.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	withMetrics := 0
	ev, err := bench.Evaluate(corpus, func(s scenarios.Scenario, r *diagnosis.Resolver) *diagnosis.Engine {
		cfg := diagnosis.EngineConfig{Graph: s.Graph, Resolver: r, Now: func() time.Time { return s.Start.Add(time.Hour) }}
		if len(s.Metrics) > 0 {
			_, cfg.Metrics = mustPrometheus(t, s)
			withMetrics++
		}
		return diagnosis.NewEngine(cfg)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d scenarios diagnosed with a real Prometheus\n%s", withMetrics, ev.Report("alerts and metrics"))
	if withMetrics < 3 {
		t.Errorf("only %d scenarios had metrics; want at least 3", withMetrics)
	}
	if top1, _ := bench.Accuracy(ev.Diagnosis); top1 < 0.85 {
		t.Errorf("top-1 accuracy %.1f%% is below 85%%", 100*top1)
	}
}

// TestMetricEvidenceDecidesWhatLabelsCannot: two databases look the same to
// the alerts and the graph; Prometheus shows which one saturated first.
func TestMetricEvidenceDecidesWhatLabelsCannot(t *testing.T) {
	s := mustScenario(t, "fintech/01")
	r, _ := diagnosis.NewResolver(s.Graph, nil)
	in := bench.IncidentOf(r, s.Incidents[0].Alerts)
	now := func() time.Time { return s.Start.Add(time.Hour) }

	blind := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: s.Graph, Resolver: r, Now: now}).Diagnose(t.Context(), in)
	_, metrics := mustPrometheus(t, s)
	seeing := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: s.Graph, Resolver: r, Now: now, Metrics: metrics}).Diagnose(t.Context(), in)

	b, _ := blind.Top()
	top, _ := seeing.Top()
	t.Logf("without metrics: %s %.2f; with metrics: %s %.2f (%s)", b.Service, b.Confidence, top.Service, top.Confidence, seeing.Metrics)
	if b.Service == s.Incidents[0].RootCause {
		t.Fatalf("labels alone already name %s: the scenario is not ambiguous", b.Service)
	}
	if top.Service != s.Incidents[0].RootCause {
		t.Fatalf("with metrics the top candidate is %s, want %s; evidence %q", top.Service, s.Incidents[0].RootCause, top.Evidence)
	}
	if !strings.Contains(strings.Join(top.Evidence, " "), "correlate with its saturation") {
		t.Errorf("the evidence does not show the correlation: %q", top.Evidence)
	}
}

// TestDiagnosisReturnsWhenPrometheusStops: with Prometheus gone, the
// diagnosis still comes, at once, and says why there is no metric evidence.
func TestDiagnosisReturnsWhenPrometheusStops(t *testing.T) {
	s := mustScenario(t, "ecommerce/01")
	r, _ := diagnosis.NewResolver(s.Graph, nil)
	p, metrics := mustPrometheus(t, s)
	p.Stop()
	e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: s.Graph, Resolver: r, Metrics: metrics, Now: func() time.Time { return s.Start.Add(time.Hour) }})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	began := time.Now()
	d := e.Diagnose(ctx, bench.IncidentOf(r, s.Incidents[0].Alerts))
	took := time.Since(began)
	top, ok := d.Top()
	if !ok || top.Service != s.Incidents[0].RootCause {
		t.Errorf("top %+v, want %s from the alerts alone", top, s.Incidents[0].RootCause)
	}
	if !strings.HasPrefix(d.Metrics, "metrics unavailable: ") || !strings.Contains(d.Metrics, "refused the connection") {
		t.Errorf("metrics status %q, want it to say Prometheus refused the connection", d.Metrics)
	}
	if took > 3*time.Second {
		t.Errorf("diagnosis took %s with Prometheus down", took)
	}
}

// BenchmarkDiagnoseWithPrometheus: one incident of 1,000 alerts over a
// 500-service graph, with metric evidence from a real Prometheus that holds
// an hour of series for 100 of the services (target: under 3s in all).
func BenchmarkDiagnoseWithPrometheus(b *testing.B) {
	g := bench.SyntheticGraph(500)
	start := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	s := scenarios.Scenario{Start: start}
	for i, name := range g.Names()[:100] {
		rise := float64(i%5) * 20
		s.Metrics = append(s.Metrics,
			scenarios.MetricSpec{Name: "db_pool_connections_in_use", Labels: map[string]string{"service": name}, Type: scenarios.Gauge,
				Points: []scenarios.MetricPoint{{At: -45 * time.Minute, Value: 20}, {At: 0, Value: 20 + rise}, {At: 15 * time.Minute, Value: 25 + rise}}, Noise: 0.05},
			scenarios.MetricSpec{Name: "db_pool_connections_max", Labels: map[string]string{"service": name}, Type: scenarios.Gauge,
				Points: []scenarios.MetricPoint{{At: -45 * time.Minute, Value: 100}, {At: 15 * time.Minute, Value: 100}}},
			scenarios.MetricSpec{Name: "http_requests_total", Labels: map[string]string{"service": name, "code": "500"}, Type: scenarios.Counter,
				Points: []scenarios.MetricPoint{{At: -45 * time.Minute, Value: 0.1}, {At: 2 * time.Minute, Value: 0.1 + rise/10}, {At: 15 * time.Minute, Value: 0.1 + rise/10}}, Noise: 0.05},
			scenarios.MetricSpec{Name: "http_requests_total", Labels: map[string]string{"service": name, "code": "200"}, Type: scenarios.Counter,
				Points: []scenarios.MetricPoint{{At: -45 * time.Minute, Value: 50}, {At: 15 * time.Minute, Value: 50}}, Noise: 0.05},
		)
	}
	_, metrics := mustPrometheus(b, s)
	r, _ := diagnosis.NewResolver(g, nil)
	in := bench.IncidentOf(r, bench.SyntheticStorm(g, 1000, start))
	e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Resolver: r, Metrics: metrics, Now: func() time.Time { return start.Add(time.Hour) }})
	b.ResetTimer()
	for b.Loop() {
		d := e.Diagnose(b.Context(), in)
		if !strings.HasPrefix(d.Metrics, "metrics: ") {
			b.Fatalf("metrics status %q", d.Metrics)
		}
	}
}
