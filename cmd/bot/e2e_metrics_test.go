package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
)

// TestMetricsCountTheStormAndReadinessFollowsTheSocket: with METRICS_ADDR
// set, /metrics answers all through the Black Friday storm and counts it,
// every alert accepted and one page; /readyz is 200 while Socket Mode is
// connected, 503 while Slack refuses to let it reconnect, and 200 again
// once it has.
func TestMetricsCountTheStormAndReadinessFollowsTheSocket(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	addr := testbed.FreeAddr(t)
	MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), map[string]string{"METRICS_ADDR": addr})
	MustWait(t, emu, 10*time.Second, "the socket", func() bool { return emu.Connected() == 1 })
	mustReadiness(t, addr, http.StatusOK, "socket: ok")

	storm := stormNow(t)
	stop := make(chan struct{})
	var scrapes sync.WaitGroup
	scrapes.Go(func() { // Prometheus scraping while the storm comes in
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := scrape(addr); err != nil {
				t.Errorf("a scrape during the storm: %v", err)
				return
			}
		}
	})
	MustRelay(t, hook, []string{"namespace"}, storm)
	card := mustCardCounting(t, emu, len(storm), 60*time.Second)
	close(stop)
	scrapes.Wait()

	mustMetric(t, addr, "every relayed alert accepted", `nightowl_alerts_received_total{outcome="accepted"}`, float64(len(storm)))
	for _, m := range []struct {
		what, series string
		want         float64
	}{
		{"one page", `nightowl_pages_sent_total`, 1},
		{"one incident", `nightowl_incidents_opened_total`, 1},
		{"one card posted", `nightowl_card_posts_total{outcome="ok"}`, 1},
		{"no card failed", `nightowl_card_posts_total{outcome="error"}`, 0},
		{"nothing refused", `nightowl_alerts_received_total{outcome="refused"}`, 0},
		{"the socket up", `nightowl_socket_connected`, 1},
		{"one card latency observed", `nightowl_first_alert_to_card_seconds_count`, 1},
	} {
		mustMetric(t, addr, m.what, m.series, m.want)
	}
	got, err := scrape(addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, series := range []string{`nightowl_slack_api_calls_total{method="chat.postMessage",outcome="ok"}`,
		`nightowl_envelope_ack_seconds_count{type="events_api"}`, `nightowl_diagnosis_seconds_count`} {
		if got[series] < 1 {
			t.Errorf("%s = %v, want at least 1", series, got[series])
		}
	}

	// Slack refuses new sockets: the dropped connection cannot come back.
	emu.FailCalls("apps.connections.open", -1, http.StatusServiceUnavailable)
	emu.DropConnections()
	mustReadiness(t, addr, http.StatusServiceUnavailable, "socket: not ready")
	mustMetric(t, addr, "the socket down", `nightowl_socket_connected`, 0)
	emu.FailCalls("apps.connections.open", 0, 0)
	mustReadiness(t, addr, http.StatusOK, "store: ok")
	mustMetric(t, addr, "one reconnection", `nightowl_socket_reconnects_total`, 1)

	mustResolveCard(t, emu, hook, storm, card)
	mustMetric(t, addr, "the incident resolved", `nightowl_incidents_resolved_total`, 1)
}

// scrape reads /metrics into series → value (addSeries says how series
// are named; a histogram is its _count).
func scrape(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				addSeries(out, name, m, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				addSeries(out, name, m, m.GetGauge().GetValue())
			case dto.MetricType_HISTOGRAM:
				addSeries(out, name+"_count", m, float64(m.GetHistogram().GetSampleCount()))
			}
		}
	}
	return out, nil
}

// addSeries adds a metric's value under its full series name and under
// each of its single labels (name{label="value"}), so that a test can ask
// for the sum over the labels it does not name.
func addSeries(out map[string]float64, name string, m *dto.Metric, v float64) {
	var all []string
	for _, l := range m.GetLabel() {
		pair := l.GetName() + `="` + l.GetValue() + `"`
		all = append(all, pair)
		if len(m.GetLabel()) > 1 {
			out[name+"{"+pair+"}"] += v
		}
	}
	if len(all) == 0 {
		out[name] += v
		return
	}
	out[name+"{"+strings.Join(all, ",")+"}"] += v
	out[name] += v
}

// mustMetric waits up to 20 seconds for a series to read want.
func mustMetric(t *testing.T, addr, what, series string, want float64) {
	t.Helper()
	var got map[string]float64
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, err = scrape(addr); err == nil && got[series] == want {
			return
		}
	}
	t.Fatalf("%s: %s = %v (scrape error %v), want %v", what, series, got[series], err, want)
}

// mustReadiness waits up to 60 seconds (slack-go's reconnection backs off)
// for /readyz to answer status with a body that contains line.
func mustReadiness(t *testing.T, addr string, status int, line string) {
	t.Helper()
	var got int
	var body string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got, body = resp.StatusCode, string(b)
		if got == status && strings.Contains(body, line) {
			return
		}
	}
	t.Fatalf("/readyz answered %d %q, want %d with %q", got, body, status, line)
}

// TestPrometheusScrapesNightowl: a real Prometheus, scraping METRICS_ADDR
// as job "nightowl" (what deploy/prometheus's rules select), sees the bot
// up, connected, and the storm's one page.
func TestPrometheusScrapesNightowl(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	addr := testbed.FreeAddr(t)
	MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), map[string]string{"METRICS_ADDR": addr})
	prom := testbed.MustStartPrometheusScraping(t, "nightowl", addr)
	MustWait(t, emu, 10*time.Second, "the socket", func() bool { return emu.Connected() == 1 })
	storm := stormNow(t)
	MustRelay(t, hook, []string{"namespace"}, storm)
	mustCardCounting(t, emu, len(storm), 60*time.Second)
	for _, q := range []string{
		`up{job="nightowl"}`,
		`nightowl_socket_connected{job="nightowl"}`,
		`nightowl_pages_sent_total{job="nightowl"}`,
		`nightowl_incidents_opened_total{job="nightowl"}`,
	} {
		mustQuery(t, prom.URL, q, "1")
	}
	mustQuery(t, prom.URL, `sum(nightowl_alerts_received_total{job="nightowl",outcome="accepted"})`, strconv.Itoa(len(storm)))
}

// mustQuery waits up to 30 seconds for an instant PromQL query to return
// one sample of value want.
func mustQuery(t *testing.T, promURL, query, want string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		resp, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(query))
		if err != nil {
			last = err.Error()
			continue
		}
		var body struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			last = err.Error()
			continue
		}
		last = fmt.Sprint(body.Data.Result)
		if len(body.Data.Result) == 1 && body.Data.Result[0].Value[1] == want {
			return
		}
	}
	t.Fatalf("Prometheus: %s = %s, want one sample of %s", query, last, want)
}
