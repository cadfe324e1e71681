package commands_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func TestGraphOfAServiceSaysWhereEachEdgeCameFromAndHowFreshItIs(t *testing.T) {
	w := newWorld(t)
	g, edges, err := graph.Merge(w.g, graph.Discovery{
		Nodes: []graph.Node{{Name: "order-service", DependsOn: []string{"postgres-rds", "worker-7"}}, {Name: "worker-7", Kind: "node"}, {Name: "postgres-rds", Kind: "service"}},
		Edges: []graph.Edge{
			{From: "order-service", To: "postgres-rds", Source: graph.SourceIstio, Rate: 12},
			{From: "order-service", To: "worker-7", Source: graph.SourceKubernetes, Rate: 3},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	current := graph.NewCurrent(graph.Snapshot{Graph: g, Edges: edges, Discovering: true,
		FileRead: w.now.Add(-2 * time.Hour), Discovered: w.now.Add(-3 * time.Minute)})
	h := commands.New(commands.Deps{Incidents: w, Graph: current, Now: func() time.Time { return w.now }})
	r, err := h.Handle(t.Context(), commands.Request{Command: "/graph", Text: "order-service"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"order-service → postgres-rds: from the graph file, read 2h 0m ago; discovered from Istio 3m ago",
		"order-service → worker-7: discovered from Kubernetes 3m ago",
		"checkout-service → order-service: from the graph file, read 2h 0m ago",
	} {
		if !strings.Contains(plain(r), want) {
			t.Errorf("/graph order-service does not say %q:\n%s", want, plain(r))
		}
	}
	if strings.Contains(plain(r), "failed") {
		t.Errorf("/graph speaks of a failure when the last refresh worked:\n%s", plain(r))
	}

	current.Fail(w.now.Add(-time.Minute), errors.New("Prometheus at http://prom:9090: connection refused"))
	r, err = h.Handle(t.Context(), commands.Request{Command: "/graph", Text: "order-service"})
	if err != nil {
		t.Fatal(err)
	}
	want := "The last graph refresh failed 1m ago: Prometheus at http://prom:9090: connection refused; the graph in effect was read 3m ago."
	if !strings.Contains(plain(r), want) {
		t.Errorf("after a failed refresh /graph does not say %q:\n%s", want, plain(r))
	}
}
