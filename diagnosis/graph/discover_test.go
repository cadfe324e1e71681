package graph_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func sample(v float64, kv ...string) graph.Sample {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return graph.Sample{Labels: l, Value: v}
}

func istio(reporter, from, fromNS, to, toNS, svc string, rate float64) graph.Sample {
	return sample(rate, "reporter", reporter, "source_workload", from, "source_workload_namespace", fromNS,
		"destination_workload", to, "destination_workload_namespace", toNS, "destination_service_name", svc)
}

// node finds name in d, failing the test without it.
func node(t *testing.T, d graph.Discovery, name string) graph.Node {
	t.Helper()
	for _, n := range d.Nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s in %+v", name, d.Nodes)
	return graph.Node{}
}

func TestDiscoverFamilies(t *testing.T) {
	tests := []struct {
		name      string
		in        graph.Input
		nodes     []graph.Node
		edges     []graph.Edge
		warnsWith string
	}{
		{
			name: "Istio counts each request once, as the larger of the two reports",
			in: graph.Input{graph.FamilyIstio: {
				istio("source", "web", "shop", "api", "shop", "api", 9),
				istio("destination", "web", "shop", "api", "shop", "api", 10),
			}},
			nodes: []graph.Node{{Name: "api", Kind: "service"}, {Name: "web", Kind: "service", DependsOn: []string{"api"}}},
			edges: []graph.Edge{{From: "web", To: "api", Source: graph.SourceIstio, Rate: 10}},
		},
		{
			name: "a Service in front of two workloads is no alias, one in front of one is",
			in: graph.Input{graph.FamilyIstio: {
				istio("source", "web", "shop", "reviews-v1", "shop", "reviews", 1),
				istio("source", "web", "shop", "reviews-v2", "shop", "reviews", 1),
				istio("source", "web", "shop", "details-v1", "shop", "details", 1),
			}},
			nodes: []graph.Node{
				{Name: "details-v1", Kind: "service", Aliases: []string{"details"}},
				{Name: "reviews-v1", Kind: "service"},
				{Name: "reviews-v2", Kind: "service"},
				{Name: "web", Kind: "service", DependsOn: []string{"details-v1", "reviews-v1", "reviews-v2"}},
			},
			edges: []graph.Edge{
				{From: "web", To: "details-v1", Source: graph.SourceIstio, Rate: 1},
				{From: "web", To: "reviews-v1", Source: graph.SourceIstio, Rate: 1},
				{From: "web", To: "reviews-v2", Source: graph.SourceIstio, Rate: 1},
			},
		},
		{
			name: "the same workload name in two namespaces is one node, with a warning",
			in: graph.Input{graph.FamilyIstio: {
				istio("source", "web", "shop", "api", "shop", "api", 1),
				istio("source", "web", "staging", "api", "staging", "api", 2),
			}},
			nodes:     []graph.Node{{Name: "api", Kind: "service"}, {Name: "web", Kind: "service", DependsOn: []string{"api"}}},
			edges:     []graph.Edge{{From: "web", To: "api", Source: graph.SourceIstio, Rate: 3}},
			warnsWith: "namespaces shop, staging",
		},
		{
			name: "Linkerd reads outbound requests between workloads of any kind and ignores inbound ones",
			in: graph.Input{graph.FamilyLinkerd: {
				sample(4, "direction", "outbound", "deployment", "web", "namespace", "shop", "dst_statefulset", "db", "dst_namespace", "shop", "dst_service", "db-svc"),
				sample(4, "direction", "inbound", "deployment", "db", "namespace", "shop"),
				sample(1, "direction", "outbound", "deployment", "web", "namespace", "shop"), // to outside the mesh
			}},
			nodes: []graph.Node{{Name: "db", Kind: "service", Aliases: []string{"db-svc"}}, {Name: "web", Kind: "service", DependsOn: []string{"db"}}},
			edges: []graph.Edge{{From: "web", To: "db", Source: graph.SourceLinkerd, Rate: 4}},
		},
		{
			name: "a messaging_system server that calls something is a service, not a queue",
			in: graph.Input{graph.FamilyTraces: {
				sample(2, "client", "checkout", "server", "mailer", "connection_type", "messaging_system"),
				sample(2, "client", "mailer", "server", "smtp", "connection_type", "virtual_node"),
			}},
			nodes: []graph.Node{
				{Name: "checkout", Kind: "service", DependsOn: []string{"mailer"}},
				{Name: "mailer", Kind: "service", DependsOn: []string{"smtp"}},
				{Name: "smtp", Kind: "external"},
			},
			edges: []graph.Edge{
				{From: "checkout", To: "mailer", Source: graph.SourceTraces, Rate: 2},
				{From: "mailer", To: "smtp", Source: graph.SourceTraces, Rate: 2},
			},
		},
		{
			name: "an exporter's kind beats the mesh's service, and a node-exporter alias clashing with a node name is dropped",
			in: graph.Input{
				graph.FamilyIstio:     {istio("source", "api", "shop", "orders-db", "shop", "orders-db", 5)},
				graph.FamilyExporters: {sample(1, "__name__", "pg_up", "job", "pg", "service", "orders-db"), sample(0, "__name__", "up", "service", "api")},
				graph.FamilyNodeNames: {sample(1, "instance", "api:9100", "nodename", "worker-1")},
			},
			nodes: []graph.Node{
				{Name: "api", Kind: "service", DependsOn: []string{"orders-db"}},
				{Name: "orders-db", Kind: "database"},
				{Name: "worker-1", Kind: "node", Aliases: []string{"api:9100"}},
			},
			edges: []graph.Edge{{From: "api", To: "orders-db", Source: graph.SourceIstio, Rate: 5}},
		},
		{
			name: "kube-state-metrics: a ReplicaSet without a Deployment is the workload; static and pending pods add nothing",
			in: graph.Input{
				graph.FamilyPods: {
					sample(1, "namespace", "shop", "pod", "web-abc-1", "node", "n1"),
					sample(1, "namespace", "shop", "pod", "web-abc-2", "node", "n1"),
					sample(1, "namespace", "shop", "pod", "bare-xyz-1", "node", "n2", "created_by_kind", "ReplicaSet", "created_by_name", "bare-xyz"),
					sample(1, "namespace", "kube-system", "pod", "etcd-n1", "node", "n1", "created_by_kind", "Node", "created_by_name", "n1"),
					sample(1, "namespace", "shop", "pod", "web-abc-3"),
				},
				graph.FamilyPodOwners: {
					sample(1, "namespace", "shop", "pod", "web-abc-1", "owner_kind", "ReplicaSet", "owner_name", "web-abc"),
					sample(1, "namespace", "shop", "pod", "web-abc-2", "owner_kind", "ReplicaSet", "owner_name", "web-abc"),
				},
				graph.FamilyReplicaSets: {sample(1, "namespace", "shop", "replicaset", "web-abc", "owner_kind", "Deployment", "owner_name", "web")},
			},
			nodes: []graph.Node{
				{Name: "bare-xyz", Kind: "service", DependsOn: []string{"n2"}},
				{Name: "n1", Kind: "node"},
				{Name: "n2", Kind: "node"},
				{Name: "web", Kind: "service", DependsOn: []string{"n1"}},
			},
			edges: []graph.Edge{
				{From: "bare-xyz", To: "n2", Source: graph.SourceKubernetes, Rate: 1},
				{From: "web", To: "n1", Source: graph.SourceKubernetes, Rate: 2},
			},
		},
		{
			name:  "nothing found is an empty discovery",
			in:    graph.Input{graph.FamilyIstio: nil},
			nodes: nil,
			edges: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := graph.Discover(tt.in)
			if !reflect.DeepEqual(d.Nodes, tt.nodes) {
				t.Errorf("nodes:\n got %+v\nwant %+v", d.Nodes, tt.nodes)
			}
			if !reflect.DeepEqual(d.Edges, tt.edges) {
				t.Errorf("edges:\n got %+v\nwant %+v", d.Edges, tt.edges)
			}
			warned := strings.Join(d.Warnings, "\n")
			if (tt.warnsWith == "") != (warned == "") || !strings.Contains(warned, tt.warnsWith) {
				t.Errorf("warnings %q, want one with %q", d.Warnings, tt.warnsWith)
			}
		})
	}
}

func TestDiscoveredGraphRoundTripsThroughTheFileFormat(t *testing.T) {
	d := graph.Discover(graph.Input{
		graph.FamilyIstio:     {istio("source", "web", "shop", "api", "shop", "api-svc", 3)},
		graph.FamilyNodeNames: {sample(1, "instance", "10.0.0.1:9100", "nodename", "worker-1")},
	})
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			out, err := graph.Encode(d.Nodes, format)
			if err != nil {
				t.Fatal(err)
			}
			g, err := graph.Parse(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, want := range d.Nodes {
				got, ok := g.Node(want.Name)
				if !ok || !reflect.DeepEqual(got, want) {
					t.Errorf("node %s read back as %+v, want %+v\n%s", want.Name, got, want, out)
				}
			}
			if got, _ := g.Lookup("10.0.0.1"); got != "worker-1" {
				t.Errorf("alias 10.0.0.1 is %q, want worker-1", got)
			}
		})
	}
	if _, err := graph.Encode(d.Nodes, "toml"); err == nil {
		t.Error("Encode accepted format toml")
	}
}
