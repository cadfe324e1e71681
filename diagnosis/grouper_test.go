package diagnosis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// recordSink records every update, like Alertmanager's recordStage.
type recordSink struct {
	mu      sync.Mutex
	updates []diagnosis.Update
}

func (r *recordSink) Publish(_ context.Context, u diagnosis.Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, u)
}

func (r *recordSink) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, u := range r.updates {
		out = append(out, fmt.Sprintf("%s %s", u.Kind, u.Incident.ID))
	}
	return out
}

func (r *recordSink) all() []diagnosis.Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]diagnosis.Update(nil), r.updates...)
}

func mkAlert(name, service string, at time.Time, extra ...string) diagnosis.Alert {
	labels := map[string]string{"alertname": name, "service": service, "namespace": "production", "severity": "warning"}
	for i := 0; i+1 < len(extra); i += 2 {
		labels[extra[i]] = extra[i+1]
	}
	return diagnosis.Alert{Status: diagnosis.Firing, Labels: labels, StartsAt: at, Fingerprint: diagnosis.Fingerprint(labels)}
}

func resolved(a diagnosis.Alert, at time.Time) diagnosis.Alert {
	a.Status, a.EndsAt = diagnosis.Resolved, at
	return a
}

// startGrouper runs a Grouper inside the current synctest bubble.
func startGrouper(t *testing.T, cfg diagnosis.GrouperConfig) (*diagnosis.Grouper, *recordSink) {
	t.Helper()
	sink := &recordSink{}
	if cfg.Graph == nil {
		cfg.Graph = graph.Example()
	}
	g := diagnosis.NewGrouper(cfg, sink)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return g, sink
}

func TestGrouperWaitsForTheFirstBurstThenBatchesLaterAlerts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 10 * time.Second})
		now := time.Now()
		g.Add(mkAlert("ServiceErrorRateHigh", "payment-service", now))
		time.Sleep(3 * time.Second)
		g.Add(mkAlert("ServiceLatencyHigh", "checkout-service", now))
		synctest.Wait()
		if got := sink.kinds(); len(got) != 0 {
			t.Fatalf("published before GROUP_WAIT: %v", got)
		}
		time.Sleep(7 * time.Second)
		synctest.Wait()
		us := sink.all()
		if len(us) != 1 || us[0].Kind != diagnosis.Opened || len(us[0].Incident.Alerts) != 2 {
			t.Fatalf("after GROUP_WAIT got %v, want one opened incident with 2 alerts", sink.kinds())
		}
		for i := range 5 { // a burst of five, one second apart
			g.Add(mkAlert(fmt.Sprintf("Burst%d", i), "order-service", now))
			time.Sleep(time.Second)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		us = sink.all()
		if len(us) != 2 || us[1].Kind != diagnosis.Burst || len(us[1].Changes) != 5 {
			t.Fatalf("got %v, want the five later alerts in one burst", sink.kinds())
		}
		if us[1].Incident.ID != us[0].Incident.ID {
			t.Errorf("burst went to %s, want %s", us[1].Incident.ID, us[0].Incident.ID)
		}
	})
}

func TestGrouperPublishesACriticalRootCauseCandidateAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Minute})
		g.Add(mkAlert("DatabaseConnectionPoolExhausted", "order-service", time.Now(), "severity", "critical", "root_cause_candidate", "true"))
		synctest.Wait()
		if got := sink.kinds(); len(got) != 1 {
			t.Fatalf("got %v, want the card at once", got)
		}
	})
}

func TestGrouperDeduplicatesByFingerprint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		a := mkAlert("ServiceErrorRateHigh", "payment-service", time.Now())
		out := g.Add(a, a, a)
		if out[0].Repeat || !out[1].Repeat || !out[2].Repeat {
			t.Errorf("outcomes %+v: want the 2nd and 3rd marked as repeats", out)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		us := sink.all()
		if len(us) != 1 || len(us[0].Incident.Alerts) != 1 || us[0].Incident.Received != 3 || us[0].Repeats != 2 {
			t.Fatalf("got %+v, want 1 distinct alert, 3 received, 2 repeats", us)
		}
	})
}

func TestGrouperSeparatesUnrelatedFailures(t *testing.T) {
	cases := []struct {
		name     string
		a, b     diagnosis.Alert
		separate bool
	}{
		{"a caller and its dependency share an incident", mkAlert("A", "payment-service", time.Time{}), mkAlert("B", "order-service", time.Time{}), false},
		{"two callers of the same queue share an incident", mkAlert("A", "notification-service", time.Time{}), mkAlert("B", "order-service", time.Time{}), false},
		{"unrelated services get two incidents", mkAlert("A", "notification-service", time.Time{}), mkAlert("B", "inventory-service", time.Time{}), true},
		{"the same service in another namespace gets two incidents", mkAlert("A", "payment-service", time.Time{}), mkAlert("B", "payment-service", time.Time{}, "namespace", "staging"), true},
		{"a service the graph does not know stands alone", mkAlert("A", "payment-service", time.Time{}), mkAlert("B", "legacy-billing", time.Time{}), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, _ := startGrouper(t, diagnosis.GrouperConfig{})
				out := g.Add(tc.a, tc.b)
				if got := out[0].Incident != out[1].Incident; got != tc.separate {
					t.Errorf("incidents %s and %s: separate=%v, want %v", out[0].Incident, out[1].Incident, got, tc.separate)
				}
			})
		})
	}
}

func TestGrouperKeepsDistantAlertsApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := startGrouper(t, diagnosis.GrouperConfig{MaxGap: 30 * time.Minute})
		now := time.Now()
		out := g.Add(mkAlert("A", "payment-service", now), mkAlert("B", "order-service", now.Add(2*time.Hour)))
		if out[0].Incident == out[1].Incident {
			t.Errorf("alerts two hours apart share %s", out[0].Incident)
		}
	})
}

func TestGrouperResolvesAndAFlapReopensWithoutANewIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second, FlapWindow: 15 * time.Minute})
		now := time.Now()
		a, b := mkAlert("A", "payment-service", now), mkAlert("B", "order-service", now)
		g.Add(a, b)
		time.Sleep(2 * time.Second)
		g.Add(resolved(a, time.Now()))
		time.Sleep(2 * time.Second)
		g.Add(resolved(b, time.Now()))
		time.Sleep(2 * time.Second)
		time.Sleep(10 * time.Minute) // inside the flap window
		g.Add(a)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		us := sink.all()
		want := []diagnosis.UpdateKind{diagnosis.Opened, diagnosis.Burst, diagnosis.IncidentResolved, diagnosis.Reopened}
		if len(us) != len(want) {
			t.Fatalf("got %v, want kinds %v", sink.kinds(), want)
		}
		for i, k := range want {
			if us[i].Kind != k || us[i].Incident.ID != us[0].Incident.ID {
				t.Errorf("update %d is %s %s, want %s %s", i, us[i].Kind, us[i].Incident.ID, k, us[0].Incident.ID)
			}
		}
		if st := us[3].Incident; st.Status != diagnosis.Firing || st.Reopened != 1 || st.Alerts[0].Flaps != 1 {
			t.Errorf("reopened incident: status %s reopened %d flaps %d", st.Status, st.Reopened, st.Alerts[0].Flaps)
		}
		if res := us[2].Incident; res.ResolvedAt.IsZero() {
			t.Errorf("resolved incident has no resolution time")
		}
	})
}

func TestGrouperForgetsAResolvedIncidentAfterTheFlapWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second, FlapWindow: 15 * time.Minute})
		a := mkAlert("A", "payment-service", time.Now())
		first := g.Add(a)[0].Incident
		time.Sleep(2 * time.Second)
		g.Add(resolved(a, time.Now()))
		time.Sleep(16 * time.Minute)
		a.StartsAt = time.Now()
		second := g.Add(a)[0].Incident
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if first == second {
			t.Errorf("a re-fire after the flap window joined the old incident %s", first)
		}
		if got := sink.all(); got[len(got)-1].Kind != diagnosis.Opened {
			t.Errorf("last update %v, want a new incident opened", sink.kinds())
		}
	})
}

func TestGrouperSettlesAnIncidentThatResolvesBeforeItsCard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 10 * time.Second})
		a := mkAlert("A", "payment-service", time.Now())
		g.Add(a)
		time.Sleep(time.Second)
		g.Add(resolved(a, time.Now()))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if us := sink.all(); len(us) != 1 || us[0].Kind != diagnosis.Settled {
			t.Errorf("got %v, want one settled update (nobody paged)", sink.kinds())
		}
	})
}

func TestGrouperIgnoresAResolvedAlertItNeverSawFire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		out := g.Add(resolved(mkAlert("A", "payment-service", time.Now()), time.Now()))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if out[0].Ignored == "" || len(sink.all()) != 0 {
			t.Errorf("outcome %+v, updates %v: want ignored and nothing published", out[0], sink.kinds())
		}
	})
}

func TestGrouperContinuesRestoredIncidentsInTheirThread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		a := mkAlert("A", "payment-service", time.Now())
		prior := diagnosis.Incident{
			ID: "INC-BEEF", Status: diagnosis.Firing, OpenedAt: time.Now(), Received: 1,
			Thread: diagnosis.Thread{Channel: "C1", TS: "1.000001"},
			Alerts: []diagnosis.AlertState{{Alert: a, Node: "payment-service", Received: 1}},
		}
		g.Restore(prior)
		out := g.Add(mkAlert("B", "order-service", time.Now()))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		us := sink.all()
		if out[0].Incident != "INC-BEEF" || len(us) != 1 || us[0].Kind != diagnosis.Burst || us[0].Incident.Thread.TS != "1.000001" {
			t.Errorf("outcome %+v updates %v: want a burst in INC-BEEF's thread", out[0], sink.kinds())
		}
	})
}

func TestGrouperGroupsTheBlackFridayStormIntoOneIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 10 * time.Second})
		alerts := blackFriday(t)
		for i, a := range alerts {
			if i > 0 {
				time.Sleep(a.StartsAt.Sub(alerts[i-1].StartsAt) / 10) // replayed at 10x
			}
			g.Add(a)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		ids := map[string]bool{}
		for _, u := range sink.all() {
			ids[u.Incident.ID] = true
		}
		us := sink.all()
		if len(ids) != 1 || len(us[len(us)-1].Incident.Alerts) != 31 {
			t.Fatalf("got %v, want every update about one incident holding 31 alerts", sink.kinds())
		}
		if len(us) > 10 {
			t.Errorf("%d updates for one storm: want bursts, not one per alert", len(us))
		}
	})
}

func blackFriday(tb testing.TB) []diagnosis.Alert {
	tb.Helper()
	var msg struct{ Alerts []diagnosis.Alert }
	if err := json.Unmarshal(scenarios.BlackFriday, &msg); err != nil {
		tb.Fatal(err)
	}
	if len(msg.Alerts) != 31 {
		tb.Fatalf("black friday has %d alerts", len(msg.Alerts))
	}
	return msg.Alerts
}

func mkTime() time.Time { return time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC) }

func TestGrouperMergesIncidentsThatALaterAlertConnectsBeforeTheirCard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 5 * time.Second})
		now := time.Now()
		// payment-service and inventory-service are unrelated until checkout, which calls both, fails too.
		out := g.Add(mkAlert("A", "payment-service", now), mkAlert("B", "inventory-service", now))
		if out[0].Incident == out[1].Incident {
			t.Fatalf("unrelated services share %s before anything connects them", out[0].Incident)
		}
		joined := g.Add(mkAlert("C", "checkout-service", now))[0].Incident
		time.Sleep(6 * time.Second)
		synctest.Wait()
		us := sink.all()
		if len(us) != 1 || len(us[0].Incident.Alerts) != 3 || us[0].Incident.ID != joined || len(us[0].Changes) != 3 {
			t.Fatalf("got %v, want one card for all three alerts", sink.kinds())
		}
	})
}

func TestGrouperKeepsTwoIncidentsWithCardsApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		now := time.Now()
		first := g.Add(mkAlert("A", "payment-service", now), mkAlert("B", "inventory-service", now))
		time.Sleep(2 * time.Second)
		joined := g.Add(mkAlert("C", "checkout-service", now))[0].Incident
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if joined != first[0].Incident {
			t.Errorf("checkout joined %s, want the oldest incident with a card, %s", joined, first[0].Incident)
		}
		ids := map[string]bool{}
		for _, u := range sink.all() {
			ids[u.Incident.ID] = true
		}
		if len(ids) != 2 {
			t.Errorf("got %v, want both cards to live on", sink.kinds())
		}
	})
}

func TestGrouperUpdatesAGroupAlertWhoseCountChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		a := mkAlert("ServiceErrorRateHigh", "payment-service", time.Now())
		a.Count = 1
		g.Add(a)
		time.Sleep(2 * time.Second)
		a.Count = 3
		g.Add(a)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		us := sink.all()
		if len(us) != 2 || len(us[1].Changes) != 1 || us[1].Changes[0].Kind != diagnosis.ChangeCount || us[1].Changes[0].Was != 1 || us[1].Incident.Alerts[0].Count != 3 {
			t.Fatalf("got %+v, want a burst saying the group grew from 1 to 3", us)
		}
	})
}
