package prom_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
)

// mustServeQueries runs a fake Prometheus answering each instant query
// with the body of the first entry whose key the query contains (an
// empty vector when none does) and records the queries.
func mustServeQueries(tb testing.TB, answers map[string]string) (*httptest.Server, *[]string) {
	tb.Helper()
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			tb.Errorf("parse form: %v", err)
		}
		q := r.Form.Get("query")
		asked = append(asked, q)
		w.Header().Set("Content-Type", "application/json")
		for key, body := range answers {
			if strings.Contains(q, key) {
				if strings.Contains(body, `"status":"error"`) {
					w.WriteHeader(http.StatusUnprocessableEntity)
				}
				io.WriteString(w, body)
				return
			}
		}
		io.WriteString(w, success("vector", "[]"))
	}))
	tb.Cleanup(srv.Close)
	return srv, &asked
}

func vector(labels ...string) string {
	var items []string
	for _, l := range labels {
		items = append(items, fmt.Sprintf(`{"metric":%s,"value":[1772366400,"2.5"]}`, l))
	}
	return success("vector", "["+strings.Join(items, ",")+"]")
}

func TestDiscoverReportsAFailingFamilyAndKeepsTheOthers(t *testing.T) {
	srv, _ := mustServeQueries(t, map[string]string{
		"istio_requests_total": vector(`{"source_workload":"web","destination_workload":"api","reporter":"source"}`),
		"kube_pod_info":        failure("execution", "query processing would load too many samples into memory"),
		"redis_up":             vector(`{"service":"sessions"}`),
	})
	c := mustNew(t, prom.Config{URL: srv.URL})
	results, err := c.Discover(context.Background(), prom.DiscoverOptions{At: t0, Exporters: []string{"pg_up", "redis_up"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]prom.FamilyResult{}
	for _, r := range results {
		got[r.Family] = r
	}
	if len(results) != len(graph.Families()) {
		t.Errorf("%d families answered, want one per graph family (%d)", len(results), len(graph.Families()))
	}
	for _, f := range graph.Families() {
		if _, ok := got[string(f)]; !ok {
			t.Errorf("no answer for graph family %s", f)
		}
	}
	if r := got["istio"]; r.Err != nil || len(r.Series) != 1 {
		t.Errorf("istio: %d series, error %v; want 1 series", len(r.Series), r.Err)
	}
	var perr *prom.Error
	if r := got["kube_pod_info"]; !errors.As(r.Err, &perr) || !strings.Contains(r.Err.Error(), "too many samples") {
		t.Errorf("kube_pod_info error %v, want Prometheus's reason", r.Err)
	}
	if r := got["traces"]; r.Err != nil || len(r.Series) != 0 {
		t.Errorf("absent traces: %d series, error %v; want none and no error", len(r.Series), r.Err)
	}
	ex := got["exporters"]
	if ex.Err != nil || len(ex.Series) != 1 || ex.Series[0].Labels["__name__"] != "redis_up" || ex.Series[0].Labels["service"] != "sessions" {
		t.Errorf("exporters: %+v, want redis_up of sessions", ex)
	}
}

func TestDiscoverFallsBackToLinkerdResponsesAndAsksOverTheWindow(t *testing.T) {
	srv, asked := mustServeQueries(t, map[string]string{
		"rate(response_total": vector(`{"deployment":"web","dst_deployment":"api"}`),
	})
	c := mustNew(t, prom.Config{URL: srv.URL})
	results, err := c.Discover(context.Background(), prom.DiscoverOptions{At: t0, Window: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Family == "linkerd" && (len(r.Series) != 1 || len(r.Queries) != 2) {
			t.Errorf("linkerd: %d series after %d queries, want 1 after request_total then response_total", len(r.Series), len(r.Queries))
		}
	}
	for _, q := range *asked {
		if !strings.Contains(q, "[15m]") {
			t.Errorf("query %q is not over the 15m window", q)
		}
	}
}

func TestDiscoverRefusesUnusableOptions(t *testing.T) {
	c := mustNew(t, prom.Config{URL: "http://127.0.0.1:1"})
	for name, opt := range map[string]prom.DiscoverOptions{
		"a negative window":                  {Window: -1},
		"a window under a second":            {Window: 500 * time.Millisecond},
		"an exporter that is no metric name": {Exporters: []string{`up{job="x"}`}},
	} {
		if _, err := c.Discover(context.Background(), opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
