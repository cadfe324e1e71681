package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/nightowl-sre/nightowl/metrics"
)

// TestMain fails the package when a goroutine outlives its tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// mustScrape GETs /metrics from the registry's server, as Prometheus
// would, and parses the text exposition.
func mustScrape(tb testing.TB, r *metrics.Registry) map[string]*dto.MetricFamily {
	tb.Helper()
	srv := httptest.NewServer(metrics.NewServer(metrics.ServerConfig{Registry: r}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// series finds the one series of name whose labels are exactly labels.
func series(tb testing.TB, families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	tb.Helper()
	mf, ok := families[name]
	if !ok {
		tb.Fatalf("%s is not exposed", name)
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if fmt.Sprint(got) == fmt.Sprint(labels) {
			return m
		}
	}
	tb.Fatalf("%s has no series %v", name, labels)
	return nil
}

// value is a series' counter or gauge value, or a histogram's count.
func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return -1
}

// exercise calls every method once, so every instrument has a series.
func exercise(r *metrics.Registry) {
	r.AlertReceived("B01ALERTMGR", true)
	r.IncidentOpened()
	r.IncidentResolved()
	r.PageSent(3)
	r.CardPosted(31*time.Second, nil)
	r.SlackAPICalled("chat.postMessage", nil, false)
	r.SocketConnected(true)
	r.SocketReconnected()
	r.EnvelopeAcked("events_api", 2*time.Millisecond)
	r.Diagnosed(120 * time.Millisecond)
	r.PrometheusQueryFailed()
	r.RunbookRequested("RB-APP-001")
	r.RunbookApproved("RB-APP-001")
	r.RunbookRefused("RB-APP-001")
	r.RunbookRan("RB-APP-001", "succeeded", 40*time.Second)
	r.ModelCalled(900, 120, nil)
	r.StoreWrote("RecordAlerts", 3*time.Millisecond, errors.New("disk I/O error"))
}

func TestEveryInstrumentIsExposedWithItsTypeAndLabels(t *testing.T) {
	r := metrics.New("v1.2.3")
	exercise(r)
	families := mustScrape(t, r)
	for _, in := range r.Instruments() {
		mf, ok := families[in.Name]
		if !ok {
			t.Errorf("%s is not exposed", in.Name)
			continue
		}
		if got := strings.ToLower(mf.GetType().String()); got != in.Type {
			t.Errorf("%s is a %s, want %s", in.Name, got, in.Type)
		}
		want := slices.Sorted(slices.Values(in.Labels))
		for _, m := range mf.GetMetric() {
			var got []string
			for _, lp := range m.GetLabel() {
				got = append(got, lp.GetName())
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s has labels %v, want %v", in.Name, got, want)
			}
		}
	}
}

func TestNamesFollowPrometheusConventions(t *testing.T) {
	for _, in := range metrics.New("dev").Instruments() {
		switch {
		case !strings.HasPrefix(in.Name, "nightowl_"):
			t.Errorf("%s does not start with nightowl_", in.Name)
		case in.Type == "counter" && !strings.HasSuffix(in.Name, "_total"):
			t.Errorf("counter %s does not end in _total", in.Name)
		case in.Type != "counter" && strings.HasSuffix(in.Name, "_total"):
			t.Errorf("%s %s ends in _total, which is for counters", in.Type, in.Name)
		case in.Type == "histogram" && strings.Contains(in.Name, "second") && !strings.HasSuffix(in.Name, "_seconds"):
			t.Errorf("histogram %s measures time but does not end in _seconds", in.Name)
		}
	}
}

func TestCallsShowAsValues(t *testing.T) {
	tests := []struct {
		name   string
		call   func(r *metrics.Registry)
		metric string
		labels map[string]string
		want   float64
	}{
		{"an accepted alert counts by source", func(r *metrics.Registry) { r.AlertReceived("B1", true); r.AlertReceived("B1", true) },
			"nightowl_alerts_received_total", map[string]string{"source": "B1", "outcome": "accepted"}, 2},
		{"a refused alert counts apart", func(r *metrics.Registry) { r.AlertReceived("B1", false) },
			"nightowl_alerts_received_total", map[string]string{"source": "B1", "outcome": "refused"}, 1},
		{"an alert without a source is unknown", func(r *metrics.Registry) { r.AlertReceived("", false) },
			"nightowl_alerts_received_total", map[string]string{"source": "unknown", "outcome": "refused"}, 1},
		{"incidents opened", func(r *metrics.Registry) { r.IncidentOpened() }, "nightowl_incidents_opened_total", map[string]string{}, 1},
		{"incidents resolved", func(r *metrics.Registry) { r.IncidentResolved() }, "nightowl_incidents_resolved_total", map[string]string{}, 1},
		{"a page counts once", func(r *metrics.Registry) { r.PageSent(4) }, "nightowl_pages_sent_total", map[string]string{}, 1},
		{"a page observes whom it notified", func(r *metrics.Registry) { r.PageSent(4); r.PageSent(2) },
			"nightowl_page_notifications", map[string]string{}, 2},
		{"a posted card counts ok", func(r *metrics.Registry) { r.CardPosted(time.Second, nil) },
			"nightowl_card_posts_total", map[string]string{"outcome": "ok"}, 1},
		{"a posted card observes first alert to card", func(r *metrics.Registry) { r.CardPosted(time.Second, nil) },
			"nightowl_first_alert_to_card_seconds", map[string]string{}, 1},
		{"a failed card counts as an error", func(r *metrics.Registry) { r.CardPosted(time.Second, errors.New("channel_not_found")) },
			"nightowl_card_posts_total", map[string]string{"outcome": "error"}, 1},
		{"a failed card observes no latency", func(r *metrics.Registry) { r.CardPosted(time.Second, errors.New("x")) },
			"nightowl_first_alert_to_card_seconds", map[string]string{}, 0},
		{"card posts start at zero", func(*metrics.Registry) {}, "nightowl_card_posts_total", map[string]string{"outcome": "error"}, 0},
		{"a Web API call counts by method", func(r *metrics.Registry) { r.SlackAPICalled("chat.update", nil, false) },
			"nightowl_slack_api_calls_total", map[string]string{"method": "chat.update", "outcome": "ok"}, 1},
		{"a 429 is rate_limited, not error", func(r *metrics.Registry) {
			r.SlackAPICalled("chat.update", errors.New("slack rate limit exceeded"), true)
		},
			"nightowl_slack_api_calls_total", map[string]string{"method": "chat.update", "outcome": "rate_limited"}, 1},
		{"a failed Web API call is an error", func(r *metrics.Registry) { r.SlackAPICalled("chat.update", errors.New("timeout"), false) },
			"nightowl_slack_api_calls_total", map[string]string{"method": "chat.update", "outcome": "error"}, 1},
		{"the socket is up", func(r *metrics.Registry) { r.SocketConnected(true) }, "nightowl_socket_connected", map[string]string{}, 1},
		{"the socket went down", func(r *metrics.Registry) { r.SocketConnected(true); r.SocketConnected(false) },
			"nightowl_socket_connected", map[string]string{}, 0},
		{"reconnects count", func(r *metrics.Registry) { r.SocketReconnected(); r.SocketReconnected() },
			"nightowl_socket_reconnects_total", map[string]string{}, 2},
		{"an ack is observed by envelope type", func(r *metrics.Registry) { r.EnvelopeAcked("slash_commands", time.Millisecond) },
			"nightowl_envelope_ack_seconds", map[string]string{"type": "slash_commands"}, 1},
		{"an unknown envelope type is other", func(r *metrics.Registry) { r.EnvelopeAcked("hello", time.Millisecond) },
			"nightowl_envelope_ack_seconds", map[string]string{"type": "other"}, 1},
		{"a diagnosis is observed", func(r *metrics.Registry) { r.Diagnosed(time.Second) }, "nightowl_diagnosis_seconds", map[string]string{}, 1},
		{"a failed PromQL query counts", func(r *metrics.Registry) { r.PrometheusQueryFailed() },
			"nightowl_prometheus_query_failures_total", map[string]string{}, 1},
		{"a runbook request counts by runbook", func(r *metrics.Registry) { r.RunbookRequested("RB-DB-001") },
			"nightowl_runbook_requests_total", map[string]string{"runbook": "RB-DB-001"}, 1},
		{"an approval counts", func(r *metrics.Registry) { r.RunbookApproved("RB-DB-001") },
			"nightowl_runbook_approvals_total", map[string]string{"runbook": "RB-DB-001"}, 1},
		{"a refusal counts", func(r *metrics.Registry) { r.RunbookRefused("RB-DB-001") },
			"nightowl_runbook_refusals_total", map[string]string{"runbook": "RB-DB-001"}, 1},
		{"a run counts by outcome", func(r *metrics.Registry) { r.RunbookRan("RB-DB-001", "failed", time.Minute) },
			"nightowl_runbook_runs_total", map[string]string{"runbook": "RB-DB-001", "outcome": "failed"}, 1},
		{"an unknown run outcome is other", func(r *metrics.Registry) { r.RunbookRan("RB-DB-001", "exploded", time.Minute) },
			"nightowl_runbook_runs_total", map[string]string{"runbook": "RB-DB-001", "outcome": "other"}, 1},
		{"a run observes its duration", func(r *metrics.Registry) { r.RunbookRan("RB-DB-001", "succeeded", time.Minute) },
			"nightowl_runbook_run_duration_seconds", map[string]string{"runbook": "RB-DB-001"}, 1},
		{"a model call counts ok", func(r *metrics.Registry) { r.ModelCalled(10, 5, nil) },
			"nightowl_model_calls_total", map[string]string{"outcome": "ok"}, 1},
		{"a model deadline is a timeout", func(r *metrics.Registry) {
			r.ModelCalled(10, 0, fmt.Errorf("explain: %w", context.DeadlineExceeded))
		}, "nightowl_model_calls_total", map[string]string{"outcome": "timeout"}, 1},
		{"a model failure is an error", func(r *metrics.Registry) { r.ModelCalled(0, 0, errors.New("401")) },
			"nightowl_model_calls_total", map[string]string{"outcome": "error"}, 1},
		{"prompt tokens add up", func(r *metrics.Registry) { r.ModelCalled(10, 5, nil); r.ModelCalled(7, 1, nil) },
			"nightowl_model_tokens_total", map[string]string{"kind": "prompt"}, 17},
		{"completion tokens add up", func(r *metrics.Registry) { r.ModelCalled(10, 5, nil); r.ModelCalled(7, 1, nil) },
			"nightowl_model_tokens_total", map[string]string{"kind": "completion"}, 6},
		{"a store write is observed by op", func(r *metrics.Registry) { r.StoreWrote("SaveDiagnosis", time.Millisecond, nil) },
			"nightowl_store_write_seconds", map[string]string{"op": "SaveDiagnosis"}, 1},
		{"a failed store write counts", func(r *metrics.Registry) { r.StoreWrote("SaveDiagnosis", time.Millisecond, errors.New("locked")) },
			"nightowl_store_errors_total", map[string]string{"op": "SaveDiagnosis"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := metrics.New("dev")
			tt.call(r)
			if got := value(series(t, mustScrape(t, r), tt.metric, tt.labels)); got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
}

func TestHistogramsObserveSeconds(t *testing.T) {
	r := metrics.New("dev")
	r.CardPosted(1500*time.Millisecond, nil)
	h := series(t, mustScrape(t, r), "nightowl_first_alert_to_card_seconds", map[string]string{}).GetHistogram()
	if got := h.GetSampleSum(); got != 1.5 {
		t.Errorf("sum = %v, want 1.5 (seconds)", got)
	}
}

func TestOpenLabelsStopGrowingAtTheirCap(t *testing.T) {
	r := metrics.New("dev")
	for i := range 100 {
		r.AlertReceived(fmt.Sprintf("B%03d", i), true)
	}
	mf := mustScrape(t, r)["nightowl_alerts_received_total"]
	if n := len(mf.GetMetric()); n > 17 {
		t.Errorf("100 sources made %d series; want at most 16 and other", n)
	}
	if got := value(series(t, map[string]*dto.MetricFamily{mf.GetName(): mf}, mf.GetName(),
		map[string]string{"source": "other", "outcome": "accepted"})); got != 84 {
		t.Errorf("other = %v, want the 84 sources past the cap", got)
	}
}

func TestBuildInfoNamesVersionAndGo(t *testing.T) {
	got := series(t, mustScrape(t, metrics.New("v1.2.3")), "nightowl_build_info",
		map[string]string{"version": "v1.2.3", "go_version": runtime.Version()})
	if value(got) != 1 {
		t.Errorf("nightowl_build_info = %v, want 1", value(got))
	}
}

func TestTheRegistryIsNotTheGlobalDefault(t *testing.T) {
	// Two registries register the same names: the global default would panic.
	a, b := metrics.New("a"), metrics.New("b")
	a.IncidentOpened()
	if got := value(series(t, mustScrape(t, b), "nightowl_incidents_opened_total", map[string]string{})); got != 0 {
		t.Errorf("b counted a's incident: %v", got)
	}
}
