package diagnosis_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

func TestGrouperRelatesByTheGraphInEffectAfterASwap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Before: web calls api; db stands alone. After: api calls db too.
		before := mustGraph(t, "services: {web: {depends_on: [api]}, api: {}, db: {kind: database}}")
		after := mustGraph(t, "services: {web: {depends_on: [api]}, api: {depends_on: [db]}, db: {kind: database}}")
		current := graph.NewCurrent(graph.Snapshot{Graph: before})
		g, _ := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Minute, Graph: current})
		now := time.Now()
		first := g.Add(mkAlert("DatabaseDown", "db", now))[0].Incident
		if got := g.Add(mkAlert("Unrelated", "web", now, "namespace", "other"))[0].Incident; got == first {
			t.Fatalf("before the swap web joined %s, whose db the graph does not relate to it", first)
		}
		current.Store(graph.Snapshot{Graph: after})
		if got := g.Add(mkAlert("ApiErrors", "api", now))[0].Incident; got != first {
			t.Errorf("after the swap api went to %s, want %s: the graph in effect has api call db", got, first)
		}
	})
}

func TestEngineDiagnosesWithTheGraphInEffect(t *testing.T) {
	s, err := scenarios.BlackFridayScenario()
	if err != nil {
		t.Fatal(err)
	}
	current := graph.NewCurrent(graph.Snapshot{})
	e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: current, Now: func() time.Time { return s.Start.Add(5 * time.Minute) }})
	in := diagnosis.Incident{ID: "INC-1", Status: diagnosis.Firing}
	for _, a := range s.Incidents[0].Alerts {
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a})
	}
	if d := e.Diagnose(t.Context(), in); !d.NoGraph {
		t.Fatalf("with the empty graph in effect the diagnosis does not say it had no graph")
	}
	current.Store(graph.Snapshot{Graph: s.Graph})
	d := e.Diagnose(t.Context(), in)
	if top, _ := d.Top(); d.NoGraph || top.Service != "order-service" {
		t.Errorf("with the Black Friday graph swapped in: NoGraph %v, top %q; want the graph used and order-service", d.NoGraph, top.Service)
	}
}

// TestGraphSwapsWhileAlertsArrive runs grouping and diagnosis while a
// refresh swaps the graph back and forth (go test -race finds a version
// mixed within one operation or a neighbourhood read from a stale graph).
func TestGraphSwapsWhileAlertsArrive(t *testing.T) {
	s, err := scenarios.BlackFridayScenario()
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := graph.New(nil)
	current := graph.NewCurrent(graph.Snapshot{Graph: s.Graph})
	var mu sync.Mutex
	var diagnoses []diagnosis.Diagnosis
	engine := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: current})
	grouper := diagnosis.NewGrouper(diagnosis.GrouperConfig{Wait: time.Millisecond, Graph: current},
		diagnosis.SinkFunc(func(ctx context.Context, u diagnosis.Update) {
			d := engine.Diagnose(ctx, u.Incident)
			mu.Lock()
			diagnoses = append(diagnoses, d)
			mu.Unlock()
		}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = grouper.Run(ctx) }()

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				current.Store(graph.Snapshot{Graph: empty})
			} else {
				current.Store(graph.Snapshot{Graph: s.Graph})
			}
			time.Sleep(50 * time.Microsecond)
		}
	})
	alerts := s.Incidents[0].Alerts
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(alerts); i += 4 {
				if out := grouper.Add(alerts[i]); out[0].Incident == "" {
					t.Errorf("%s was not grouped: %s", alerts[i].Name(), out[0].Ignored)
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	cancel()
	<-done
	grouper.Flush(t.Context())
	total := 0
	for _, in := range grouper.Live() {
		total += len(in.Alerts)
	}
	if total != len(alerts) {
		t.Errorf("the incidents hold %d alerts, want all %d", total, len(alerts))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(diagnoses) == 0 {
		t.Fatal("nothing was diagnosed")
	}
}
