package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/store"
)

// runGraph runs `bot graph ARGS…` with env and returns its exit code and output.
func runGraph(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = Main(context.Background(), append([]string{"graph"}, args...), func(k string) string { return env[k] }, nil, &out, &errs)
	return code, out.String(), errs.String()
}

// mustMeshPrometheus runs a real Prometheus holding the Istio and
// kube-state-metrics data sets of diagnosis/prom's discovery tests.
func mustMeshPrometheus(t *testing.T) *testbed.Prometheus {
	t.Helper()
	var om []byte
	for _, f := range []string{"istio.om", "kubernetes.om"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "diagnosis", "prom", "testdata", "discover", f))
		if err != nil {
			t.Fatal(err)
		}
		om = append(om, bytes.TrimSuffix(b, []byte("# EOF\n"))...)
	}
	return testbed.MustStartPrometheus(t, append(om, "# EOF\n"...))
}

// TestGraphDiscoverPrintsAGraphFileFromPrometheus: `bot graph discover`
// against a real Prometheus prints a graph SERVICE_GRAPH can load, with a
// header saying which families it found and how many edges each showed.
func TestGraphDiscoverPrintsAGraphFileFromPrometheus(t *testing.T) {
	p := mustMeshPrometheus(t)
	env := map[string]string{"PROMETHEUS_URL": p.URL}
	code, out, errs := runGraph(t, env, "discover", "--at", "2026-03-01T12:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"# Families found: istio (", "kube_pod_info (", "# Families absent: linkerd, traces,",
		"# Edges: kubernetes 5, mesh-istio 6; 12 nodes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	path := filepath.Join(t.TempDir(), "graph.yaml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := graph.Load(path)
	if err != nil {
		t.Fatalf("the discovered graph does not load: %v\n%s", err, out)
	}
	if !g.DependsTransitively("istio-ingressgateway", "ratings-v1") || g.Kind("ip-10-0-1-12.ec2.internal") != "node" {
		t.Errorf("the loaded graph lost what was discovered:\n%s", out)
	}
	if n, _ := g.Lookup("details"); n != "details-v1" {
		t.Errorf("the Service details resolves to %q, want details-v1", n)
	}

	// JSON: the same graph, the header on stderr.
	code, out, errs = runGraph(t, nil, "discover", "--prometheus", p.URL, "--at", "2026-03-01T12:00:00Z", "--format", "json", "--window", "30m")
	if code != 0 || !json.Valid([]byte(out)) || !strings.Contains(errs, "over the 30m before") {
		t.Errorf("json: exit %d, valid %v, stderr %q", code, json.Valid([]byte(out)), errs)
	}
}

// TestGraphDiscoverPrintsWhatItFoundWhenAFamilyFails: a family Prometheus
// cannot answer is named in the header and makes the exit code 1; the
// graph of the others is still printed.
func TestGraphDiscoverPrintsWhatItFoundWhenAFamilyFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch q := r.Form.Get("query"); {
		case strings.Contains(q, "traces_service_graph_request_total"):
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"client":"web","server":"db","connection_type":"database"},"value":[1772366400,"3"]}]}}`)
		case strings.Contains(q, "kube_pod_info"):
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`)
		default:
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		}
	}))
	defer srv.Close()
	code, out, errs := runGraph(t, nil, "discover", "--prometheus", srv.URL)
	if code != 1 || !strings.Contains(errs, "1 families failed") || !strings.Contains(errs, "too many samples") {
		t.Errorf("exit %d, stderr %q; want 1 naming the failed family", code, errs)
	}
	if !strings.Contains(out, "# Families that failed: kube_pod_info") || !strings.Contains(out, "db: {kind: database}") {
		t.Errorf("output lacks the failed family or the graph:\n%s", out)
	}
}

func TestGraphDiscoverExitCodes(t *testing.T) {
	dead := "http://" + testbed.FreeAddr(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		says string
	}{
		{"no Prometheus is a usage error", nil, []string{"discover"}, 2, "needs Prometheus"},
		{"an unknown format is a usage error", nil, []string{"discover", "--prometheus", dead, "--format", "toml"}, 2, "want yaml or json"},
		{"an argument is a usage error", nil, []string{"discover", "--prometheus", dead, "extra"}, 2, "takes no arguments"},
		{"no subcommand is a usage error", nil, nil, 2, "needs a subcommand"},
		{"an unknown subcommand is a usage error", nil, []string{"draw"}, 2, `unknown graph subcommand "draw"`},
		{"Prometheus down is a problem, each family says so", map[string]string{"PROMETHEUS_URL": dead}, []string{"discover", "--timeout", "2s"}, 1, "every family failed, the first with istio: Prometheus at " + dead + " refused the connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runGraph(t, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.says) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", code, errs, tt.code, tt.says)
			}
		})
	}
}

// mustAlertDB records one alert per service, received at received.
func mustAlertDB(t *testing.T, received time.Time, services ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var alerts []diagnosis.Alert
	for _, s := range services {
		alerts = append(alerts, diagnosis.Alert{
			Fingerprint: "fp-" + s, Status: diagnosis.Firing, StartsAt: received, Count: 1,
			Labels: map[string]string{"alertname": "HighErrorRate", "service": s},
		})
	}
	if err := db.RecordAlerts(context.Background(), store.AlertReceipt{Channel: "C1", MessageTS: received.Format("150405.000"), Received: received, Alerts: alerts}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGraphCheck(t *testing.T) {
	dir := t.TempDir()
	file := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.yaml", "services:\n  api: {depends_on: [orders-db]}\n  orders-db: {kind: database, aliases: [postgres]}\n")
	partial := file("partial.yaml", "services:\n  api: {depends_on: [cache]}\n")
	broken := file("broken.yaml", "services: [api]\n")
	now := time.Now()
	recent := mustAlertDB(t, now.Add(-time.Hour), "api", "postgres", "payments")
	old := mustAlertDB(t, now.Add(-8*24*time.Hour), "payments")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		says string
	}{
		{"a good file", nil, []string{"check", good}, 0, "✓ " + good + ": 2 services, 1 dependencies"},
		{"an undeclared dependency is a problem", nil, []string{"check", partial}, 1, "api depends on cache, which is not declared"},
		{"a file that does not parse is a problem", nil, []string{"check", broken}, 1, "✗ service graph"},
		{"a missing file is a problem", nil, []string{"check", filepath.Join(dir, "none.yaml")}, 1, "no such file"},
		{"a service that alerted this week and is not in the graph is a problem", nil, []string{"check", good, "--db", recent}, 1, "1 of 3 services that alerted in the last 7 days are not in the graph (name or alias):\n  payments (1 alerts)"},
		{"DB_PATH is the default database", map[string]string{"DB_PATH": recent}, []string{"check", good}, 1, "payments (1 alerts)"},
		{"alerts older than 7 days do not count", nil, []string{"check", good, "--db", old}, 0, "the graph knows all 0 services"},
		{"a missing database is a problem", nil, []string{"check", good, "--db", filepath.Join(dir, "none.db")}, 1, ""},
		{"no file is a usage error", nil, []string{"check"}, 2, ""},
		{"two files are a usage error", nil, []string{"check", good, partial}, 2, ""},
		{"an unknown flag is a usage error", nil, []string{"check", good, "--strict"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runGraph(t, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(out+errs, tt.says) {
				t.Errorf("exit %d, output:\n%s%s\nwant %d saying %q", code, out, errs, tt.code, tt.says)
			}
		})
	}
}
