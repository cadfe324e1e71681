package diagnosis_test

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// These tests run the evidence gatherers against a real Prometheus 2.42
// loaded (through promtool) with series named and labelled the way
// kube-state-metrics, postgres_exporter, mysqld_exporter, redis_exporter,
// node_exporter and cAdvisor publish them, scraped by kube-prometheus-stack.

// promStart is the first alert of the incidents below.
var promStart = time.Date(2026, 6, 10, 14, 0, 0, 0, time.UTC)

const scrape = 15 * time.Second

// exposition writes OpenMetrics text as a scrape every 15 s would have
// collected it, from 50 minutes before promStart to 15 minutes after.
type exposition struct{ b bytes.Buffer }

func (x *exposition) family(name, typ string) {
	fmt.Fprintf(&x.b, "# TYPE %s %s\n# HELP %s Test series.\n", name, typ, name)
}

// gauge writes sample{labels} valued v(offset from promStart).
func (x *exposition) gauge(sample, labels string, v func(time.Duration) float64) {
	for d := -50 * time.Minute; d <= 15*time.Minute; d += scrape {
		ts := promStart.Add(d).Unix()
		fmt.Fprintf(&x.b, "%s{%s} %s %d\n", sample, labels, strconv.FormatFloat(v(d), 'f', -1, 64), ts)
	}
}

// counter writes a counter that grows at rate(offset) per second.
func (x *exposition) counter(sample, labels string, rate func(time.Duration) float64) {
	total := 0.0
	x.gauge(sample, labels, func(d time.Duration) float64 {
		if d > -50*time.Minute {
			total += rate(d) * scrape.Seconds()
		}
		return math.Round(total*1000) / 1000
	})
}

func (x *exposition) bytes() []byte { return append(x.b.Bytes(), "# EOF\n"...) }

// level is before until at, then ramps linearly to after over ramp.
func level(before, after float64, at, ramp time.Duration) func(time.Duration) float64 {
	return func(d time.Duration) float64 {
		switch {
		case d <= at:
			return before
		case d >= at+ramp:
			return after
		}
		return before + (after-before)*float64(d-at)/float64(ramp)
	}
}

// steps changes value at each offset: steps(41, -4*time.Minute, 42).
func steps(first float64, changes ...any) func(time.Duration) float64 {
	return func(d time.Duration) float64 {
		v := first
		for i := 0; i+1 < len(changes); i += 2 {
			if d >= changes[i].(time.Duration) {
				v = changes[i+1].(float64)
			}
		}
		return v
	}
}

// jitter adds deterministic relative noise of ±rel to f, as real scrapes have.
func jitter(rel float64, seed string, f func(time.Duration) float64) func(time.Duration) float64 {
	return func(d time.Duration) float64 {
		h := fnv.New32a()
		fmt.Fprintf(h, "%s%d", seed, d)
		u := float64(h.Sum32())/math.MaxUint32*2 - 1
		return math.Round(f(d) * (1 + rel*u))
	}
}

func mustPromEngine(tb testing.TB, openMetrics []byte) *diagnosis.Engine {
	tb.Helper()
	p := testbed.MustStartPrometheus(tb, openMetrics)
	c, err := prom.New(prom.Config{URL: p.URL})
	if err != nil {
		tb.Fatal(err)
	}
	return diagnosis.NewEngine(diagnosis.EngineConfig{Metrics: c, Now: func() time.Time { return promStart.Add(time.Hour) }})
}

// kubeStateMetrics: what every kube-state-metrics series carries besides
// its object's labels (honorLabels keeps the object's namespace and pod).
const ksm = `job="kube-state-metrics",instance="10.0.3.7:8080",service="prometheus-kube-state-metrics",endpoint="http"`

func TestChangeFindingsReadKubeStateMetrics(t *testing.T) {
	var x exposition
	x.family("kube_deployment_metadata_generation", "gauge")
	x.gauge("kube_deployment_metadata_generation", `namespace="shop",deployment="order-service",`+ksm, steps(41, -4*time.Minute, 42.0))
	x.gauge("kube_deployment_metadata_generation", `namespace="shop",deployment="payment-service",`+ksm, steps(7, 2*time.Minute, 8.0))
	x.gauge("kube_deployment_metadata_generation", `namespace="shop",deployment="cart-service",`+ksm, steps(3, -10*time.Minute, 4.0))
	x.gauge("kube_deployment_metadata_generation", `namespace="shop",deployment="inventory-service",`+ksm, steps(12))
	x.family("kube_deployment_status_observed_generation", "gauge")
	x.gauge("kube_deployment_status_observed_generation", `namespace="shop",deployment="order-service",`+ksm, steps(41, -4*time.Minute+scrape, 42.0))
	x.family("kube_deployment_spec_replicas", "gauge")
	x.gauge("kube_deployment_spec_replicas", `namespace="shop",deployment="order-service",`+ksm, steps(6))
	x.gauge("kube_deployment_spec_replicas", `namespace="shop",deployment="payment-service",`+ksm, steps(3))
	x.gauge("kube_deployment_spec_replicas", `namespace="shop",deployment="cart-service",`+ksm, steps(4, -10*time.Minute, 8.0))
	x.family("kube_statefulset_metadata_generation", "gauge")
	x.gauge("kube_statefulset_metadata_generation", `namespace="shop",statefulset="orders-postgres",`+ksm, steps(2, -20*time.Minute, 3.0))
	x.family("kube_statefulset_replicas", "gauge")
	x.gauge("kube_statefulset_replicas", `namespace="shop",statefulset="orders-postgres",`+ksm, steps(1))
	x.family("kube_pod_container_status_restarts", "counter")
	x.gauge("kube_pod_container_status_restarts_total", `namespace="shop",pod="inventory-service-5d8f7b9c6-2xw9m",container="app",uid="a1",`+ksm,
		steps(0, -12*time.Minute, 1.0, -8*time.Minute, 2.0, -3*time.Minute, 3.0, 3*time.Minute, 4.0))
	x.gauge("kube_pod_container_status_restarts_total", `namespace="shop",pod="inventory-service-5d8f7b9c6-q7x2k",container="app",uid="a2",`+ksm, steps(0))
	// A workload whose name extends inventory-service: not its pods.
	x.gauge("kube_pod_container_status_restarts_total", `namespace="shop",pod="inventory-service-canary-7c5d9b8f4-k2l9p",container="app",uid="a3",`+ksm,
		steps(0, -6*time.Minute, 5.0))
	e := mustPromEngine(t, x.bytes())

	subjects := []diagnosis.Subject{
		{Node: "order-service", Kind: "service", Namespace: "shop"},
		{Node: "payment-service", Kind: "service", Namespace: "shop"},
		{Node: "cart-service", Kind: "service", Namespace: "shop"},
		{Node: "inventory-service", Kind: "service"}, // no namespace: any
		{Node: "orders-postgres", Kind: "database", Namespace: "shop"},
		{Node: "redis", Kind: "cache", Namespace: "shop"}, // not in kube-state-metrics
	}
	findings, events, status := e.ChangeFindings(t.Context(), subjects, promStart)
	if status != "changes: 6 queries answered" {
		t.Errorf("status %q", status)
	}
	at := func(d time.Duration) time.Time { return promStart.Add(d) }
	want := []diagnosis.ChangeEvent{
		{Service: "orders-postgres", Kind: "rollout", At: at(-20 * time.Minute), Text: "orders-postgres rolled out 20m before the first alert"},
		{Service: "inventory-service", Kind: "restart", At: at(-12 * time.Minute), Text: "inventory-service restarted containers 3 times from 12m to 3m before the first alert"},
		{Service: "cart-service", Kind: "scale", At: at(-10 * time.Minute), Text: "cart-service scaled from 4 to 8 replicas 10m before the first alert"},
		{Service: "order-service", Kind: "rollout", At: at(-4 * time.Minute), Text: "order-service rolled out 4m before the first alert"},
	}
	if !slices.EqualFunc(events, want, func(a, b diagnosis.ChangeEvent) bool {
		return a.Service == b.Service && a.Kind == b.Kind && a.At.Equal(b.At) && a.Text == b.Text
	}) {
		t.Errorf("events:\n got %+v\nwant %+v", events, want)
	}
	wantScores := map[string]float64{"order-service": 0.9, "orders-postgres": 0.9 * 0.75, "inventory-service": 0.5, "cart-service": 0.15}
	if got := slices.Sorted(maps.Keys(findings)); !slices.Equal(got, slices.Sorted(maps.Keys(wantScores))) {
		t.Fatalf("findings for %v, want %v (payment-service changed only after the first alert)", got, slices.Sorted(maps.Keys(wantScores)))
	}
	for node, score := range wantScores {
		if f := findings[node]; math.Abs(f.Score-score) > 1e-9 || len(f.Evidence) == 0 {
			t.Errorf("%s: score %.3f, evidence %q; want %.3f", node, f.Score, f.Evidence, score)
		}
	}
	if got := findings["order-service"].Evidence; !slices.Equal(got, []string{"it rolled out 4m before the first alert"}) {
		t.Errorf("order-service evidence %q", got)
	}
}

func TestMetricFindingsReadRealExporters(t *testing.T) {
	var x exposition
	// postgres_exporter as a sidecar of the StatefulSet pod orders-postgres-0,
	// scraped through the Service orders-postgres-metrics.
	pg := `instance="10.0.4.12:9187",job="orders-postgres-metrics",namespace="shop",pod="orders-postgres-0",service="orders-postgres-metrics",container="metrics",endpoint="http-metrics"`
	x.family("pg_stat_activity_count", "gauge")
	x.gauge("pg_stat_activity_count", `datname="orders",state="active",server="localhost:5432",`+pg, jitter(0.05, "pg-active", level(22, 185, -3*time.Minute, 2*time.Minute)))
	x.gauge("pg_stat_activity_count", `datname="orders",state="idle",server="localhost:5432",`+pg, jitter(0.05, "pg-idle", level(12, 10, -3*time.Minute, 2*time.Minute)))
	x.family("pg_settings_max_connections", "gauge")
	x.gauge("pg_settings_max_connections", `server="localhost:5432",`+pg, steps(200))
	// mysqld_exporter for catalog-db: steady.
	my := `instance="10.0.4.20:9104",job="catalog-db",namespace="shop",pod="catalog-db-0",service="catalog-db",endpoint="metrics"`
	x.family("mysql_global_status_threads_connected", "gauge")
	x.gauge("mysql_global_status_threads_connected", my, jitter(0.05, "mysql", steps(60)))
	x.family("mysql_global_variables_max_connections", "gauge")
	x.gauge("mysql_global_variables_max_connections", my, steps(500))
	// redis_exporter: memory fills up, clients steady.
	rd := `instance="10.0.5.3:9121",job="sessions-redis",namespace="shop",pod="sessions-redis-0",service="sessions-redis",endpoint="http-metrics"`
	x.family("redis_memory_used_bytes", "gauge")
	x.gauge("redis_memory_used_bytes", rd, jitter(0.01, "redis-mem", level(400e6, 995e6, -6*time.Minute, 4*time.Minute)))
	x.family("redis_memory_max_bytes", "gauge")
	x.gauge("redis_memory_max_bytes", rd, steps(1e9))
	x.family("redis_connected_clients", "gauge")
	x.gauge("redis_connected_clients", rd, jitter(0.03, "redis-clients", steps(800)))
	x.family("redis_config_maxclients", "gauge")
	x.gauge("redis_config_maxclients", rd, steps(10000))
	// cAdvisor through the kubelet: cart-service's memory climbs to its limit.
	cad := `job="kubelet",metrics_path="/metrics/cadvisor",service="prometheus-kube-prometheus-kubelet",instance="10.0.1.5:10250",node="ip-10-0-1-5.eu-west-1.compute.internal",namespace="shop",pod="cart-service-7d9f8b6c5-x2x7z"`
	x.family("container_memory_working_set_bytes", "gauge")
	x.gauge("container_memory_working_set_bytes", `container="cart",image="shop/cart:1.4",`+cad, jitter(0.01, "cart-ws", level(210e6, 530e6, -8*time.Minute, 6*time.Minute)))
	x.gauge("container_memory_working_set_bytes", `container="",`+cad, jitter(0.01, "cart-ws-pod", level(215e6, 535e6, -8*time.Minute, 6*time.Minute)))
	x.gauge("container_memory_working_set_bytes", `container="POD",image="pause:3.9",`+cad, steps(400e3))
	x.family("container_spec_memory_limit_bytes", "gauge")
	x.gauge("container_spec_memory_limit_bytes", `container="cart",image="shop/cart:1.4",`+cad, steps(536870912))
	x.gauge("container_spec_memory_limit_bytes", `container="POD",image="pause:3.9",`+cad, steps(0))
	x.family("container_cpu_usage_seconds", "counter")
	x.counter("container_cpu_usage_seconds_total", `container="cart",cpu="total",image="shop/cart:1.4",`+cad, steps(0.4))
	// node_exporter on a node named by node_uname_info only.
	ne := `instance="10.0.2.14:9100",job="node-exporter",namespace="monitoring",pod="node-exporter-x7k2p",service="prometheus-node-exporter"`
	x.family("node_uname_info", "gauge")
	x.gauge("node_uname_info", `nodename="ip-10-0-2-14.eu-west-1.compute.internal",sysname="Linux",release="6.1.0",`+ne, steps(1))
	x.family("node_nf_conntrack_entries", "gauge")
	x.gauge("node_nf_conntrack_entries", ne, jitter(0.02, "ct", level(31000, 250000, -5*time.Minute, 3*time.Minute)))
	x.family("node_nf_conntrack_entries_limit", "gauge")
	x.gauge("node_nf_conntrack_entries_limit", ne, steps(262144))
	x.family("node_cpu_seconds", "counter")
	for cpu := range 2 {
		x.counter("node_cpu_seconds_total", fmt.Sprintf(`cpu="%d",mode="idle",`, cpu)+ne, jitter(0.02, "idle"+strconv.Itoa(cpu), steps(700)))
	}
	// The services that call them count requests.
	x.family("http_requests", "counter")
	for _, svc := range []struct {
		name string
		from time.Duration
	}{{"order-service", -time.Minute}, {"checkout-service", -2 * time.Minute}} {
		labels := fmt.Sprintf(`service=%q,namespace="shop",job=%q,instance="10.0.7.9:8080",method="POST"`, svc.name, svc.name)
		x.counter("http_requests_total", `code="200",`+labels, jitter(0.03, svc.name+"200", steps(100)))
		x.counter("http_requests_total", `code="500",`+labels, jitter(0.03, svc.name+"500", level(0.05, 40, svc.from, time.Minute)))
	}
	e := mustPromEngine(t, x.bytes())

	orderService := []diagnosis.Dependent{{Node: "order-service", Namespace: "shop"}}
	subjects := []diagnosis.Subject{
		{Node: "orders-postgres", Kind: "database", Namespace: "shop", Dependents: orderService},
		{Node: "catalog-db", Kind: "database", Namespace: "shop", Dependents: orderService},
		{Node: "sessions-redis", Kind: "cache", Namespace: "shop"},
		{Node: "cart-service", Kind: "service", Namespace: "shop", Dependents: []diagnosis.Dependent{{Node: "checkout-service", Namespace: "shop"}}},
		{Node: "ip-10-0-2-14.eu-west-1.compute.internal", Kind: "node"},
	}
	findings, status := e.MetricFindings(t.Context(), subjects, promStart)
	if status != "metrics: 7 queries answered" {
		t.Errorf("status %q, want every query answered", status)
	}
	for _, tc := range []struct {
		node     string
		positive bool
		evidence []string
	}{
		{"orders-postgres", true, []string{"its database connections rose from 17% to 10", "order-service errors correlate with its saturation (database connections), r="}},
		{"catalog-db", false, []string{"its database connections stayed flat while order-service errors rose"}},
		{"sessions-redis", true, []string{"its memory use rose from 40% to"}},
		{"cart-service", true, []string{"its memory use rose from 39% to", "checkout-service errors correlate with its saturation (memory use), r="}},
		{"ip-10-0-2-14.eu-west-1.compute.internal", true, []string{"its conntrack table rose from 12% to"}},
	} {
		f, ok := findings[tc.node]
		got := strings.Join(f.Evidence, "; ")
		if !ok || (f.Score > 0) != tc.positive || (!tc.positive && f.Score >= 0) {
			t.Errorf("%s: finding %v score %.2f (%q), want positive=%v", tc.node, ok, f.Score, got, tc.positive)
		}
		for _, w := range tc.evidence {
			if !strings.Contains(got, w) {
				t.Errorf("%s: evidence %q lacks %q", tc.node, got, w)
			}
		}
		t.Logf("%s: %.2f %q", tc.node, f.Score, got)
	}
}

// TestDefaultTemplatesAreValidPromQL asks a real Prometheus every default
// template, for a subject of each kind: none may be rejected.
func TestDefaultTemplatesAreValidPromQL(t *testing.T) {
	var x exposition
	x.family("up", "gauge")
	x.gauge("up", `job="prometheus",instance="localhost:9090"`, steps(1))
	e := mustPromEngine(t, x.bytes())
	var subjects []diagnosis.Subject
	for _, kind := range []string{"database", "cache", "queue", "node", "storage", "service", "gateway", ""} {
		subjects = append(subjects, diagnosis.Subject{Node: "x-" + kind, Kind: kind, Namespace: `we"ird`,
			Labels:     map[string]string{"consumergroup": `a\b`},
			Dependents: []diagnosis.Dependent{{Node: "caller-" + kind}}})
	}
	if _, status := e.MetricFindings(t.Context(), subjects, promStart); status != "metrics: 16 queries answered" {
		t.Errorf("metrics status %q", status)
	}
	if _, _, status := e.ChangeFindings(t.Context(), subjects, promStart); status != "changes: 8 queries answered, no candidate found in kube-state-metrics" {
		t.Errorf("changes status %q", status)
	}
}

// saturationMetrics are the corpus's saturation series: the subject's name
// is in the label given.
var saturationMetrics = map[string]string{
	"pg_stat_activity_count":            "service",
	"db_pool_connections_in_use":        "service",
	"redis_connected_clients":           "service",
	"kafka_consumergroup_lag":           "service",
	"container_cpu_usage_seconds_total": "service",
	"node_cpu_seconds_total":            "instance",
}

// TestKindTemplatesFindTheCorpusMetrics: for every scenario with metrics
// (corpus and held-out), every graph node with a saturation series there is
// measured by the template of its kind.
func TestKindTemplatesFindTheCorpusMetrics(t *testing.T) {
	corpus, err := scenarios.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	holdout, err := scenarios.Holdout()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(corpus, holdout...) {
		if len(s.Metrics) == 0 {
			continue
		}
		subjects := map[string]diagnosis.Subject{}
		for _, m := range s.Metrics {
			label, ok := saturationMetrics[m.Name]
			node := m.Labels[label]
			if !ok || !s.Graph.Has(node) {
				continue
			}
			subjects[node] = diagnosis.Subject{Node: node, Kind: s.Graph.Kind(node), Namespace: m.Labels["namespace"]}
		}
		t.Run(s.Name, func(t *testing.T) {
			p := testbed.MustStartPrometheus(t, s.OpenMetrics(scenarios.DefaultStep))
			c, err := prom.New(prom.Config{URL: p.URL})
			if err != nil {
				t.Fatal(err)
			}
			e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: s.Graph, Metrics: c, Now: func() time.Time { return s.Start.Add(time.Hour) }})
			list := slices.Collect(maps.Values(subjects))
			slices.SortFunc(list, func(a, b diagnosis.Subject) int { return strings.Compare(a.Node, b.Node) })
			findings, status := e.MetricFindings(t.Context(), list, s.Start)
			if strings.Contains(status, "failed") || strings.Contains(status, "unavailable") {
				t.Errorf("status %q", status)
			}
			for _, sub := range list {
				f, ok := findings[sub.Node]
				if !ok {
					t.Errorf("no saturation found for %s (kind %q)", sub.Node, sub.Kind)
				}
				t.Logf("%s (%s): %.2f %q", sub.Node, sub.Kind, f.Score, f.Evidence)
			}
		})
	}
}
