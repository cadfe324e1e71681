package prom_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
)

// discoveredAt is when the data sets of testdata/discover end.
var discoveredAt = time.Unix(1772366400, 0).UTC()

// mustDiscover loads one data set into a real Prometheus, asks it for
// every family and returns what discovery makes of the answers.
func mustDiscover(tb testing.TB, dataSet string) ([]prom.FamilyResult, graph.Discovery) {
	tb.Helper()
	om, err := os.ReadFile(filepath.Join("testdata", "discover", dataSet))
	if err != nil {
		tb.Fatal(err)
	}
	p := testbed.MustStartPrometheus(tb, om)
	c := mustNew(tb, prom.Config{URL: p.URL, Timeout: 10 * time.Second})
	results, err := c.Discover(context.Background(), prom.DiscoverOptions{At: discoveredAt, Exporters: graph.ExporterMetrics()})
	if err != nil {
		tb.Fatal(err)
	}
	in := graph.Input{}
	for _, r := range results {
		if r.Err != nil {
			tb.Errorf("family %s failed: %v", r.Family, r.Err)
		}
		for _, s := range r.Series {
			in[graph.Family(r.Family)] = append(in[graph.Family(r.Family)], graph.Sample{Labels: s.Labels, Value: s.Points[0].V})
		}
	}
	return results, graph.Discover(in)
}

type edge struct {
	From, To string
	Source   graph.Source
}

func edgesOf(d graph.Discovery) []edge {
	var out []edge
	for _, e := range d.Edges {
		out = append(out, edge{e.From, e.To, e.Source})
	}
	return out
}

func rateOf(d graph.Discovery, from, to string) float64 {
	for _, e := range d.Edges {
		if e.From == from && e.To == to {
			return e.Rate
		}
	}
	return -1
}

// TestDiscoverFromEachFamily runs discovery against a real Prometheus 2.42
// holding one family at a time, and checks it finds exactly the nodes,
// kinds, aliases and edges the data shows, and only that family.
func TestDiscoverFromEachFamily(t *testing.T) {
	const node1, node2 = "ip-10-0-1-11.ec2.internal", "ip-10-0-1-12.ec2.internal"
	tests := []struct {
		name, dataSet, family string
		nodes                 []graph.Node
		edges                 []edge
	}{
		{
			name:    "Istio's bookinfo: workloads, a Service in front of one workload as its alias, an egress host as external",
			dataSet: "istio.om", family: "istio",
			nodes: []graph.Node{
				{Name: "api.stripe.com", Kind: "external"},
				{Name: "details-v1", Kind: "service", Aliases: []string{"details"}},
				{Name: "istio-ingressgateway", Kind: "service", DependsOn: []string{"productpage-v1"}},
				{Name: "productpage-v1", Kind: "service", DependsOn: []string{"api.stripe.com", "details-v1", "reviews-v1", "reviews-v2"}, Aliases: []string{"productpage"}},
				{Name: "ratings-v1", Kind: "service", Aliases: []string{"ratings"}},
				{Name: "reviews-v1", Kind: "service"},
				{Name: "reviews-v2", Kind: "service", DependsOn: []string{"ratings-v1"}},
			},
			edges: []edge{
				{"istio-ingressgateway", "productpage-v1", graph.SourceIstio},
				{"productpage-v1", "api.stripe.com", graph.SourceIstio},
				{"productpage-v1", "details-v1", graph.SourceIstio},
				{"productpage-v1", "reviews-v1", graph.SourceIstio},
				{"productpage-v1", "reviews-v2", graph.SourceIstio},
				{"reviews-v2", "ratings-v1", graph.SourceIstio},
			},
		},
		{
			name:    "Linkerd's emojivoto: outbound requests between deployments, dst_service as an alias",
			dataSet: "linkerd.om", family: "linkerd",
			nodes: []graph.Node{
				{Name: "emoji", Kind: "service", Aliases: []string{"emoji-svc"}},
				{Name: "vote-bot", Kind: "service", DependsOn: []string{"web"}},
				{Name: "voting", Kind: "service", Aliases: []string{"voting-svc"}},
				{Name: "web", Kind: "service", DependsOn: []string{"emoji", "voting"}, Aliases: []string{"web-svc"}},
			},
			edges: []edge{
				{"vote-bot", "web", graph.SourceLinkerd},
				{"web", "emoji", graph.SourceLinkerd},
				{"web", "voting", graph.SourceLinkerd},
			},
		},
		{
			name:    "Tempo's service graph: databases, a queue and uninstrumented peers by connection_type",
			dataSet: "traces.om", family: "traces",
			nodes: []graph.Node{
				{Name: "cart", Kind: "service", DependsOn: []string{"redis"}},
				{Name: "checkout", Kind: "service", DependsOn: []string{"kafka", "orders-db", "payment"}},
				{Name: "frontend", Kind: "service", DependsOn: []string{"cart", "checkout"}},
				{Name: "kafka", Kind: "queue"},
				{Name: "orders-db", Kind: "database"},
				{Name: "payment", Kind: "service", DependsOn: []string{"stripe-api"}},
				{Name: "redis", Kind: "database"},
				{Name: "stripe-api", Kind: "external"},
				{Name: "user", Kind: "external", DependsOn: []string{"frontend"}},
			},
			edges: []edge{
				{"cart", "redis", graph.SourceTraces},
				{"checkout", "kafka", graph.SourceTraces},
				{"checkout", "orders-db", graph.SourceTraces},
				{"checkout", "payment", graph.SourceTraces},
				{"frontend", "cart", graph.SourceTraces},
				{"frontend", "checkout", graph.SourceTraces},
				{"payment", "stripe-api", graph.SourceTraces},
				{"user", "frontend", graph.SourceTraces},
			},
		},
		{
			name:    "kube-state-metrics: workloads depend on the worker nodes their pods run on; node-exporter's instance is an alias",
			dataSet: "kubernetes.om", family: "kube_pod_info",
			nodes: []graph.Node{
				{Name: "checkout", Kind: "service", DependsOn: []string{node1, node2}},
				{Name: node1, Kind: "node", Aliases: []string{"10.0.1.11", "10.0.1.11:9100"}},
				{Name: node2, Kind: "node", Aliases: []string{"10.0.1.12", "10.0.1.12:9100"}},
				{Name: "node-exporter", Kind: "service", DependsOn: []string{node1, node2}},
				{Name: "orders-db", Kind: "service", DependsOn: []string{node2}},
			},
			edges: []edge{
				{"checkout", node1, graph.SourceKubernetes},
				{"checkout", node2, graph.SourceKubernetes},
				{"node-exporter", node1, graph.SourceKubernetes},
				{"node-exporter", node2, graph.SourceKubernetes},
				{"orders-db", node2, graph.SourceKubernetes},
			},
		},
		{
			name:    "exporters: the service each describes (its service label, else its job) takes the exporter's kind",
			dataSet: "exporters.om", family: "exporters",
			nodes: []graph.Node{
				{Name: "kafka", Kind: "queue"},
				{Name: "legacy-db", Kind: "database"},
				{Name: "orders-db", Kind: "database"},
				{Name: "product-search", Kind: "search"},
				{Name: "rabbitmq", Kind: "queue"},
				{Name: "session-cache", Kind: "cache"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, d := mustDiscover(t, tt.dataSet)
			for _, r := range results {
				found := len(r.Series) > 0
				kube := tt.family == "kube_pod_info" && (r.Family == "kube_pod_owner" || r.Family == "kube_replicaset_owner" || r.Family == "node_uname_info")
				if want := r.Family == tt.family || kube; found != want {
					t.Errorf("family %s found = %v, want %v", r.Family, found, want)
				}
			}
			if !reflect.DeepEqual(d.Nodes, tt.nodes) {
				t.Errorf("nodes:\n got %+v\nwant %+v", d.Nodes, tt.nodes)
			}
			if got := edgesOf(d); !reflect.DeepEqual(got, tt.edges) {
				t.Errorf("edges:\n got %+v\nwant %+v", got, tt.edges)
			}
			if len(d.Warnings) > 0 {
				t.Errorf("warnings: %q", d.Warnings)
			}
		})
	}
}

// TestDiscoverCountsEachIstioRequestOnce: both proxies report a call, so
// the edge's rate is one report's, not their sum.
func TestDiscoverCountsEachIstioRequestOnce(t *testing.T) {
	_, d := mustDiscover(t, "istio.om")
	// productpage → details is 10/s as each reporter tells it (rate
	// extrapolates a little inside the 1h window).
	if got := rateOf(d, "productpage-v1", "details-v1"); got < 7 || got > 11 {
		t.Errorf("productpage-v1 → details-v1 at %.2f/s, want about 10/s", got)
	}
	// reviews-v2 answered 5/s with 200 and 1/s with 503: both count.
	if got := rateOf(d, "productpage-v1", "reviews-v2"); got < 5 || got > 6.6 {
		t.Errorf("productpage-v1 → reviews-v2 at %.2f/s, want about 6/s", got)
	}
}
