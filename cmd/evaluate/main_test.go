package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
)

func TestEvaluatePrintsEveryPartOfTheReport(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"text", []string{"-n", "16", "-half", "tune", "-seed", "2"}, []string{"nightowl on 16 synthetic incidents (tune half, seed 2)", "Overall", "By root type", "Ablation", "Calibration", "Leave one topology out", "Misses", "Generated and measured in"}},
		{"markdown", []string{"-n", "8", "-markdown"}, []string{"## nightowl on 8 synthetic incidents (test half, seed 1)", "| method | top-1 | top-3 | MRR |", "| root type |", "| signal left out |", "| topology |"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if code := run(tc.args, &out, &errs); code != 0 {
				t.Fatalf("exit %d: %s", code, errs.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestEvaluateRefusesAnUnknownHalf(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-half", "both"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "want tune or test") {
		t.Errorf("exit %d, stderr %q; want 2 and a usage message", code, errs.String())
	}
}

func TestEvaluateShowsMissesOfTheTuningHalfOnly(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-misses", "all", "-half", "test", "-n", "8"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "tuning half only") {
		t.Errorf("-misses on the test half: exit %d, stderr %q; want 2 and a refusal", code, errs.String())
	}
	out.Reset()
	errs.Reset()
	if code := run([]string{"-misses", "all", "-half", "tune", "-n", "40", "-seed", "2", "-disable", "signature,mention,graph"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	// With three signals off, some of 40 incidents are missed, and each
	// miss shows what was wanted, the candidates and the alerts.
	for _, w := range []string{"== synth/", " want ", "   1. ", "   alert ", "Signals, right answer minus top candidate"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("misses lack %q:\n%s", w, out.String())
		}
	}
}

func TestEvaluateRefusesAnUnknownSignal(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-disable", "vibes"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), `no signal "vibes"`) {
		t.Errorf("exit %d, stderr %q; want 2 and the signals there are", code, errs.String())
	}
}

func TestEvaluateShowsTheCorpusMissesButNeverTheHeldOutSet(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-misses", "corpus", "-half", "tune"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "== ") {
		t.Errorf("no corpus miss printed:\n%s", out.String())
	}
	for _, heldOut := range []string{"iot-telemetry/", "logistics/", "media-streaming/", "saas-workspace/"} {
		if strings.Contains(out.String(), heldOut) {
			t.Errorf("the held-out set's %s is among the misses shown", heldOut)
		}
	}
}

func TestEvaluateGroupsTheHandwrittenStormsWithAndWithoutTheirGraphs(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-grouping"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"corpus and Black Friday, with their graphs: ", "corpus and Black Friday, with an empty graph: ", "held-out set, with their graphs: ", "held-out set, with an empty graph: "}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) || !strings.Contains(lines[i], "incidents split") || strings.Contains(lines[i], "  split ") {
			t.Errorf("line %d %q: want %q and one summary, no incident names", i, lines[i], w)
		}
	}
}

// TestEvaluateServesTheHandwrittenMetricsFromARealPrometheus: with
// -prometheus, every hand-written scenario that ships metrics is diagnosed
// against a real Prometheus loaded with them.
func TestEvaluateServesTheHandwrittenMetricsFromARealPrometheus(t *testing.T) {
	testbed.MustFindBinary(t, "apt-get install prometheus", "prometheus")
	testbed.MustFindBinary(t, "apt-get install prometheus", "promtool")
	all, err := scenarios.Handwritten()
	if err != nil {
		t.Fatal(err)
	}
	withMetrics := 0
	for _, s := range all {
		if len(s.Metrics) > 0 {
			withMetrics++
		}
	}
	var out, errs bytes.Buffer
	if code := run([]string{"-n", "8", "-prometheus"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	want := fmt.Sprintf("Hand-written incidents with metrics (%d scenarios) were diagnosed with a real Prometheus serving them.", withMetrics)
	if withMetrics < 3 || !strings.Contains(out.String(), want) {
		t.Errorf("%d scenarios have metrics; output lacks %q:\n%s", withMetrics, want, out.String())
	}
}

// TestServersGiveEachScenarioWithMetricsItsOwnPrometheus: every incident of
// a scenario that ships metrics is diagnosed against a Prometheus that
// holds that scenario's series; the others have none.
func TestServersGiveEachScenarioWithMetricsItsOwnPrometheus(t *testing.T) {
	testbed.MustFindBinary(t, "apt-get install prometheus", "prometheus")
	testbed.MustFindBinary(t, "apt-get install prometheus", "promtool")
	all, err := scenarios.Handwritten()
	if err != nil {
		t.Fatal(err)
	}
	srv, cases := mustServe(t, all)
	defer srv.stop()
	byName := map[string]scenarios.Scenario{}
	for _, s := range all {
		byName[s.Name] = s
	}
	for _, c := range cases {
		s := byName[strings.SplitN(c.Name, "#", 2)[0]]
		if (c.Metrics != nil) != (len(s.Metrics) > 0) {
			t.Errorf("%s: metrics served %v, scenario ships %d series", c.Name, c.Metrics != nil, len(s.Metrics))
			continue
		}
		if c.Metrics == nil {
			continue
		}
		m := s.Metrics[0]
		r := diagnosis.Range{Start: s.Start.Add(-30 * time.Minute), End: s.Start.Add(10 * time.Minute), Step: time.Minute}
		series, err := c.Metrics.QueryRange(t.Context(), m.Name, r)
		if err != nil || len(series) == 0 || len(series[0].Points) == 0 {
			t.Errorf("%s: %s over the incident = %d series, %v; want its samples", c.Name, m.Name, len(series), err)
		}
	}
}

// An evaluation interrupted midway (a refit runs for minutes) stops its
// Prometheus servers and exits 130; none outlives it.
func TestASignalStopsThePrometheusServers(t *testing.T) {
	testbed.MustFindBinary(t, "apt-get install prometheus", "prometheus")
	testbed.MustFindBinary(t, "apt-get install prometheus", "promtool")
	all, err := scenarios.Handwritten()
	if err != nil {
		t.Fatal(err)
	}
	var one []scenarios.Scenario
	for _, s := range all {
		if len(s.Metrics) > 0 {
			one = append(one, s)
			break
		}
	}
	srv, _ := mustServe(t, one)
	defer srv.stop()
	url := srv.running[0].URL
	exited := make(chan int, 1)
	release := srv.stopOnSignal(func(code int) { exited <- code })
	defer release()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 130 {
			t.Errorf("exit code %d, want 130", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit 30 s after SIGTERM")
	}
	if resp, err := http.Get(url + "/-/ready"); err == nil {
		resp.Body.Close()
		t.Errorf("Prometheus at %s still answers after the signal", url)
	}
	if _, err := os.Stat(srv.dir); !os.IsNotExist(err) {
		t.Errorf("its data directory %s is still there (%v)", srv.dir, err)
	}
}

// mustServe starts the Prometheus servers for the scenarios' incidents, as
// -prometheus does; the caller stops them.
func mustServe(t *testing.T, ss []scenarios.Scenario) (*servers, []bench.Case) {
	t.Helper()
	cases, err := bench.Cases(ss, bench.KeepResolved())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServers()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.attach(ss, cases); err != nil {
		srv.stop()
		t.Fatal(err)
	}
	return srv, cases
}
