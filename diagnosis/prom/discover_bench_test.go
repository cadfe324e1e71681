package prom_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
)

// meshAnswers is what Prometheus would answer for a mesh of n workloads
// in 20 namespaces on n/20 worker nodes: each workload calls four others,
// runs three pods, and each node has a node-exporter.
func meshAnswers(n int) map[string]string {
	w := func(i int) string { return fmt.Sprintf("workload-%04d", i) }
	ns := func(i int) string { return fmt.Sprintf("team-%02d", i%20) }
	node := func(i int) string { return fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i/250, i%250) }
	nodes := max(1, n/20)
	var istio, pods, owners, sets, unames []string
	for i := 0; i < n; i++ {
		for _, step := range []int{1, 7, 31, 101} {
			j := (i + step) % n
			istio = append(istio, fmt.Sprintf(`{"metric":{"source_workload":%q,"source_workload_namespace":%q,"destination_workload":%q,"destination_workload_namespace":%q,"destination_service_name":%q},"value":[1772366400,"%d.25"]}`,
				w(i), ns(i), w(j), ns(j), w(j)+"-svc", 1+i%50))
		}
		rs := w(i) + "-7d9f8b6c5"
		sets = append(sets, fmt.Sprintf(`{"metric":{"namespace":%q,"replicaset":%q,"owner_kind":"Deployment","owner_name":%q},"value":[1772366400,"1"]}`, ns(i), rs, w(i)))
		for p := 0; p < 3; p++ {
			pod := fmt.Sprintf("%s-%05d", rs, p)
			pods = append(pods, fmt.Sprintf(`{"metric":{"namespace":%q,"pod":%q,"node":%q,"created_by_kind":"ReplicaSet","created_by_name":%q},"value":[1772366400,"1"]}`, ns(i), pod, node((i*3+p)%nodes), rs))
			owners = append(owners, fmt.Sprintf(`{"metric":{"namespace":%q,"pod":%q,"owner_kind":"ReplicaSet","owner_name":%q},"value":[1772366400,"1"]}`, ns(i), pod, rs))
		}
	}
	for k := 0; k < nodes; k++ {
		unames = append(unames, fmt.Sprintf(`{"metric":{"instance":"10.0.%d.%d:9100","nodename":%q},"value":[1772366400,"1"]}`, k/250, k%250, node(k)))
	}
	vec := func(items []string) string { return success("vector", "["+strings.Join(items, ",")+"]") }
	return map[string]string{
		"istio_requests_total":  vec(istio),
		"kube_pod_info":         vec(pods),
		"kube_pod_owner":        vec(owners),
		"kube_replicaset_owner": vec(sets),
		"node_uname_info":       vec(unames),
	}
}

func serveAnswers(tb testing.TB, answers map[string]string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		q := r.Form.Get("query")
		for key, body := range answers {
			if strings.Contains(q, "("+key) {
				io.WriteString(w, body)
				return
			}
		}
		io.WriteString(w, success("vector", "[]"))
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

func discoverInput(tb testing.TB, c *prom.Client) graph.Input {
	results, err := c.Discover(context.Background(), prom.DiscoverOptions{At: t0, Exporters: graph.ExporterMetrics()})
	if err != nil {
		tb.Fatal(err)
	}
	in := graph.Input{}
	for _, r := range results {
		if r.Err != nil {
			tb.Fatal(r.Err)
		}
		samples := make([]graph.Sample, 0, len(r.Series))
		for _, s := range r.Series {
			samples = append(samples, graph.Sample{Labels: s.Labels, Value: s.Points[0].V})
		}
		in[graph.Family(r.Family)] = samples
	}
	return in
}

// BenchmarkDiscoverMesh2000 discovers a 2,000-workload mesh: Prometheus's
// JSON answers read through client_golang (from a local server that
// answers at once), then discovery (targets: under 2 s and 100 MB an
// operation); discovery alone; and, for reference, building the *Graph
// of the result (graph.New's transitive closures of a mesh where every
// workload reaches every other); and a whole refresh, with its peak heap.
func BenchmarkDiscoverMesh2000(b *testing.B) {
	url := serveAnswers(b, meshAnswers(2000))
	c := mustNew(b, prom.Config{URL: url})
	b.Run("queries+discovery", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			graph.Discover(discoverInput(b, c))
		}
	})
	in := discoverInput(b, c)
	b.Run("discovery", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			graph.Discover(in)
		}
	})
	// A whole refresh as GRAPH_DISCOVERY does it, with the peak of the
	// live heap above what it was before (sampled every 5 ms): the memory
	// target is about what a refresh holds at once, not what it allocates
	// in all.
	b.Run("refresh", func(b *testing.B) {
		b.ReportAllocs()
		peak := 0.0
		for b.Loop() {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			stop := make(chan struct{})
			done := make(chan uint64)
			go func() {
				var top uint64
				t := time.NewTicker(5 * time.Millisecond)
				defer t.Stop()
				for {
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					top = max(top, m.HeapInuse)
					select {
					case <-stop:
						done <- top
						return
					case <-t.C:
					}
				}
			}()
			if _, _, err := graph.Merge(nil, graph.Discover(discoverInput(b, c))); err != nil {
				b.Fatal(err)
			}
			close(stop)
			if top := <-done; top > before.HeapInuse {
				peak = max(peak, float64(top-before.HeapInuse)/(1<<20))
			}
		}
		b.ReportMetric(peak, "peak-heap-MB")
	})
	d := graph.Discover(in)
	b.Run("graph", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := graph.Merge(nil, d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestTheSyntheticMeshIsDiscoveredWhole(t *testing.T) {
	c := mustNew(t, prom.Config{URL: serveAnswers(t, meshAnswers(200))})
	d := graph.Discover(discoverInput(t, c))
	istio, kube := 0, 0
	for _, e := range d.Edges {
		switch e.Source {
		case graph.SourceIstio:
			istio++
		case graph.SourceKubernetes:
			kube++
		}
	}
	// 200 workloads calling 4 others; 10 nodes, 3 pods each spread over 3 nodes.
	if len(d.Nodes) != 210 || istio != 800 || kube != 600 {
		t.Errorf("%d nodes, %d mesh edges, %d kubernetes edges; want 210, 800, 600", len(d.Nodes), istio, kube)
	}
	if n := len(d.Warnings); n != 0 {
		t.Errorf("%d warnings, first %q", n, d.Warnings[0])
	}
}
