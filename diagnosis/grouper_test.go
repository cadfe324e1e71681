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

// Why this file is long: one synctest bubble per rule of GROUP_WAIT and
// grouping, each read alone; the recording sink and alert helpers at the
// top serve them all.

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
		{"a related service in a staging namespace stays out of the production incident", mkAlert("A", "payment-service", time.Time{}), mkAlert("B", "order-service", time.Time{}, "namespace", "shop-staging"), true},
		{"a related service labelled another environment stays out", mkAlert("A", "payment-service", time.Time{}, "env", "prod"), mkAlert("B", "order-service", time.Time{}, "namespace", "shop", "env", "qa"), true},
		{"a related service in another cluster stays out", mkAlert("A", "payment-service", time.Time{}, "cluster", "eu-1"), mkAlert("B", "order-service", time.Time{}, "cluster", "us-1"), true},
		{"a related service in another namespace of the same environment shares the incident", mkAlert("A", "payment-service", time.Time{}), mkAlert("B", "order-service", time.Time{}, "namespace", "orders"), false},
		{"a service the graph does not know joins by its namespace", mkAlert("A", "payment-service", time.Time{}), mkAlert("B", "legacy-billing", time.Time{}), false},
		{"a service the graph does not know, sharing nothing, stands alone", mkAlert("A", "payment-service", time.Time{}), mkAlert("B", "legacy-billing", time.Time{}, "namespace", "billing"), true},
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

// An incident restored before its card went out gets its card soon after
// the restart, and the card's first thread reply lists every alert the
// card holds: those restored and any that joined meanwhile.
func TestTheFirstReplyOfACardAfterARestartListsEveryAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		now := time.Now()
		var held []diagnosis.AlertState
		for _, n := range []string{"payment-service", "order-service", "checkout-service"} {
			held = append(held, diagnosis.AlertState{Alert: mkAlert("ServiceErrorRateHigh", n, now), Node: n, Received: 1})
		}
		g.Restore(diagnosis.Incident{ID: "INC-BEEF", Status: diagnosis.Firing, OpenedAt: now, Received: 3, Alerts: held})
		g.Add(mkAlert("SyntheticCheckFailed", "api-gateway", now)) // recorded before the crash, grouped again
		time.Sleep(time.Minute)
		synctest.Wait()
		us := sink.all()
		if len(us) == 0 || us[0].Kind != diagnosis.Opened || us[0].Incident.ID != "INC-BEEF" {
			t.Fatalf("updates %v: want INC-BEEF's card", sink.kinds())
		}
		listed := map[string]bool{}
		for _, c := range us[0].Changes {
			listed[c.Alert.NodeOrService()] = true
		}
		for _, n := range []string{"payment-service", "order-service", "checkout-service", "api-gateway"} {
			if !listed[n] {
				t.Errorf("the card's first reply lists %v, not the alert on %s", listed, n)
			}
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

// partition checks that alerts sharing a number in want share an incident
// and alerts with different numbers do not, by where the Grouper holds them
// in the end (merges included).
func partition(t *testing.T, g *diagnosis.Grouper, alerts []diagnosis.Alert, want []int) {
	t.Helper()
	home := map[string]string{}
	for _, in := range g.Live() {
		for _, a := range in.Alerts {
			home[a.Fingerprint] = in.ID
		}
	}
	for _, a := range alerts {
		if home[diagnosis.Fingerprint(a.Labels)] == "" {
			t.Errorf("%s on %s is in no incident", a.Name(), a.Service())
		}
	}
	for i := range alerts {
		for j := i + 1; j < len(alerts); j++ {
			fi, fj := diagnosis.Fingerprint(alerts[i].Labels), diagnosis.Fingerprint(alerts[j].Labels)
			if together := home[fi] == home[fj]; together != (want[i] == want[j]) {
				t.Errorf("%s on %s (%s) and %s on %s (%s): together=%v, want %v",
					alerts[i].Name(), alerts[i].Service(), home[fi], alerts[j].Name(), alerts[j].Service(), home[fj], together, want[i] == want[j])
			}
		}
	}
}

// nsAlert is an alert on a service in a namespace.
func nsAlert(name, service, ns string, at time.Time, extra ...string) diagnosis.Alert {
	return mkAlert(name, service, at, append([]string{"namespace", ns}, extra...)...)
}

func TestGrouperFollowsTheGraphAcrossNamespaces(t *testing.T) {
	at := mkTime()
	cases := []struct {
		name   string
		alerts []diagnosis.Alert
		want   []int
	}{
		{"the gateway in edge joins the shop in shop-prod, and so do its later alerts",
			[]diagnosis.Alert{nsAlert("A", "checkout-service", "shop-prod", at), nsAlert("B", "api-gateway", "edge", at), nsAlert("C", "api-gateway", "edge", at)},
			[]int{0, 0, 0}},
		{"a service alerting again from its own namespace joins, whichever namespace came first",
			[]diagnosis.Alert{nsAlert("A", "api-gateway", "edge", at), nsAlert("B", "checkout-service", "shop-prod", at), nsAlert("C", "checkout-service", "shop-prod", at)},
			[]int{0, 0, 0}},
		{"a service in a namespace without an environment word is another deployment",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "shop-a", at), nsAlert("B", "payment-service", "shop-b", at)},
			[]int{0, 1}},
		{"a staging storm stays whole and apart from production",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "shop-prod", at), nsAlert("B", "order-service", "shop-staging", at), nsAlert("C", "payment-service", "shop-staging", at)},
			[]int{0, 1, 1}},
		{"an exporter's alert about a held service joins wherever the exporter runs",
			[]diagnosis.Alert{
				nsAlert("ServiceErrorRateHigh", "notification-service", "production", at),
				nsAlert("KafkaConsumerLagHigh", "kafka-exporter", "monitoring", at, "job", "kafka-exporter", "consumergroup", "notification-service", "topic", "order-events"),
				nsAlert("KubePodCrashLooping", "kube-prometheus-stack-kube-state-metrics", "production", at, "job", "kube-state-metrics", "pod", "notification-service-7d9f8b6c5-x2x9z"),
			},
			[]int{0, 0, 0}},
		{"an ingress alert places its service by exported_namespace",
			[]diagnosis.Alert{
				nsAlert("HTTPErrorRateHigh", "api-gateway", "edge", at),
				nsAlert("NginxIngress5xxRateHigh", "ingress-nginx-controller-metrics", "ingress-nginx", at, "exported_namespace", "edge", "exported_service", "api-gateway"),
				nsAlert("NginxIngress5xxRateHigh", "ingress-nginx-controller-metrics", "ingress-nginx", at, "exported_namespace", "edge-canary", "exported_service", "api-gateway"),
			},
			[]int{0, 0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, _ := startGrouper(t, diagnosis.GrouperConfig{})
				for _, a := range tc.alerts {
					g.Add(a)
				}
				partition(t, g, tc.alerts, tc.want)
			})
		})
	}
}

// clusterGraph is a shop whose gateway runs in edge and whose services run
// in shop-prod, a search system that shares nothing with it, and payments
// split between payments and risk.
const clusterGraph = `services:
  api-gateway:      {kind: gateway, depends_on: [checkout-service]}
  checkout-service: {depends_on: [payment-service, order-service]}
  payment-service:  {depends_on: [order-service]}
  order-service:    {depends_on: [postgres-rds]}
  postgres-rds:     {kind: database}
  search-api:       {depends_on: [elasticsearch]}
  search-indexer:   {depends_on: [elasticsearch]}
  elasticsearch:    {kind: database}
  payments-api:     {depends_on: [fraud-scoring]}
  fraud-scoring:    {depends_on: [risk-db]}
  risk-db:          {kind: database}
`

func mustGraph(tb testing.TB, yaml string) *graph.Graph {
	tb.Helper()
	g, err := graph.Parse([]byte(yaml))
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// TestGrouperKeepsStormsAcrossNamespacesWhole replays the three storms
// users measured, each in stages whose cards are out before the next
// stage's alerts (from another namespace) arrive: one incident, one
// Opened update (the page) per real incident, every alert in it.
func TestGrouperKeepsStormsAcrossNamespacesWhole(t *testing.T) {
	at := mkTime()
	shop := [][]diagnosis.Alert{
		{nsAlert("DatabaseConnectionPoolExhausted", "order-service", "shop-prod", at), nsAlert("HTTPErrorRateHigh", "checkout-service", "shop-prod", at.Add(time.Minute))},
		{nsAlert("HTTPErrorRateHigh", "api-gateway", "edge", at.Add(2*time.Minute)), nsAlert("HTTPLatencyHigh", "api-gateway", "edge", at.Add(2*time.Minute)),
			nsAlert("KubePodCrashLooping", "kube-state-metrics", "edge", at.Add(3*time.Minute), "pod", "api-gateway-5c7f9d8b4-q7r2t")},
		{nsAlert("HTTPLatencyHigh", "checkout-service", "shop-prod", at.Add(4*time.Minute)), nsAlert("HTTPLatencyHigh", "payment-service", "shop-prod", at.Add(4*time.Minute))},
	}
	search := [][]diagnosis.Alert{
		{nsAlert("HTTPErrorRateHigh", "search-api", "search", at)},
		{nsAlert("ElasticsearchClusterHealthRed", "elasticsearch", "search-data", at.Add(time.Minute)), nsAlert("ElasticsearchDiskOutOfSpace", "elasticsearch", "search-data", at.Add(time.Minute)),
			nsAlert("KubePodCrashLooping", "kube-state-metrics", "search-data", at.Add(2*time.Minute), "pod", "search-indexer-6b8d7c9f5-m4n8v")},
		{nsAlert("HTTPLatencyHigh", "search-api", "search", at.Add(3*time.Minute))},
	}
	payments := [][]diagnosis.Alert{
		{nsAlert("PostgresqlTooManyConnections", "risk-db", "risk", at), nsAlert("HTTPLatencyHigh", "fraud-scoring", "risk", at.Add(10*time.Second))},
		{nsAlert("HTTPErrorRateHigh", "payments-api", "payments", at.Add(40*time.Second)), nsAlert("HTTPLatencyHigh", "payments-api", "payments", at.Add(45*time.Second))},
		{nsAlert("HTTPErrorRateHigh", "fraud-scoring", "risk", at.Add(50*time.Second)), nsAlert("HTTPErrorRateHigh", "payments-api", "payments", at.Add(55*time.Second), "route", "/v1/charges")},
	}
	cases := []struct {
		name      string
		incidents [][][]diagnosis.Alert // per incident, its stages
	}{
		{"a shop cascade from shop-prod into the gateway in edge is one incident", [][][]diagnosis.Alert{shop}},
		{"two unrelated incidents over four namespaces are two incidents", [][][]diagnosis.Alert{shop, search}},
		{"a payments cascade from risk into payments is one incident, 30 s later too", [][][]diagnosis.Alert{payments}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 10 * time.Second, Graph: mustGraph(t, clusterGraph)})
				for stage := range 3 {
					for _, inc := range tc.incidents {
						g.Add(inc[stage]...)
					}
					time.Sleep(30 * time.Second) // every card is out before the next stage
					synctest.Wait()
				}
				pages := 0
				for _, u := range sink.all() {
					if u.Kind == diagnosis.Opened {
						pages++
					}
				}
				if pages != len(tc.incidents) || len(g.Live()) != len(tc.incidents) {
					t.Errorf("%d pages and %d incidents, want %d of each: %v", pages, len(g.Live()), len(tc.incidents), sink.kinds())
				}
				var alerts []diagnosis.Alert
				var want []int
				for i, inc := range tc.incidents {
					for _, stage := range inc {
						alerts = append(alerts, stage...)
						for range stage {
							want = append(want, i)
						}
					}
				}
				partition(t, g, alerts, want)
			})
		})
	}
}

func TestGrouperPlacesWhatTheGraphDoesNotKnowByClues(t *testing.T) {
	at := mkTime()
	withSummary := func(a diagnosis.Alert, summary string) diagnosis.Alert {
		a.Annotations = map[string]string{"summary": summary}
		return a
	}
	nameless := func(name string, extra ...string) diagnosis.Alert {
		labels := map[string]string{"alertname": name, "severity": "warning"}
		for i := 0; i+1 < len(extra); i += 2 {
			labels[extra[i]] = extra[i+1]
		}
		return diagnosis.Alert{Status: diagnosis.Firing, Labels: labels, StartsAt: at, Fingerprint: diagnosis.Fingerprint(labels)}
	}
	cases := []struct {
		name   string
		alerts []diagnosis.Alert
		want   []int
	}{
		{"an unknown service joins by its namespace",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "payments", at), nsAlert("B", "legacy-billing", "payments", at.Add(5*time.Minute))},
			[]int{0, 0}},
		{"an unknown service joins when its text names a node of the incident",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "payments", at), withSummary(nsAlert("B", "legacy-billing", "billing", at), "calls to payment-service time out")},
			[]int{0, 0}},
		{"an unknown service joins when the incident's text names it",
			[]diagnosis.Alert{withSummary(nsAlert("A", "payment-service", "payments", at), "legacy-billing returns 503"), nsAlert("B", "legacy-billing", "billing", at)},
			[]int{0, 0}},
		{"an unknown service joins by the Kubernetes node it shares",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "payments", at, "node", "ip-10-0-1-5"), nsAlert("B", "legacy-billing", "billing", at, "node", "ip-10-0-1-5")},
			[]int{0, 0}},
		{"an unknown service sharing nothing stands alone",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "payments", at), nsAlert("B", "legacy-billing", "billing", at)},
			[]int{0, 1}},
		{"an unknown service sharing only an exporter's job and instance stands alone",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "payments", at, "job", "kube-state-metrics", "instance", "10.0.3.57:8080"),
				nsAlert("B", "legacy-billing", "billing", at, "job", "kube-state-metrics", "instance", "10.0.3.57:8080")},
			[]int{0, 1}},
		{"an unknown service more than ten minutes away stands alone though it shares the namespace",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "payments", at), nsAlert("B", "legacy-billing", "payments", at.Add(15*time.Minute))},
			[]int{0, 1}},
		{"an unknown service's later alerts follow it into its incident",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "payments", at), nsAlert("B", "legacy-billing", "payments", at), nsAlert("C", "legacy-billing", "payments", at.Add(20*time.Minute))},
			[]int{0, 0, 0}},
		{"a nameless alert in no namespace joins the newest incident near it",
			[]diagnosis.Alert{nsAlert("A", "notification-service", "messaging", at), nsAlert("B", "inventory-service", "stock", at), nameless("SyntheticCheckFailed", "job", "synthetics")},
			[]int{0, 1, 1}},
		{"a nameless alert prefers the incident it shares labels with",
			[]diagnosis.Alert{nsAlert("A", "notification-service", "messaging", at), nsAlert("B", "inventory-service", "stock", at), nameless("QueueBacklogHigh", "namespace", "messaging")},
			[]int{0, 1, 0}},
		{"a nameless alert in a namespace no incident has stands alone",
			[]diagnosis.Alert{nsAlert("A", "payment-service", "payments", at), nameless("CronJobLate", "namespace", "batch")},
			[]int{0, 1}},
		{"an alert the graph knows joins an incident of nameless alerts",
			[]diagnosis.Alert{nameless("BlackboxProbeFailed", "job", "blackbox", "instance", "https://shop.example.com/"), nsAlert("A", "payment-service", "payments", at)},
			[]int{0, 0}},
		{"an alert the graph knows takes in an unknown service's incident it shares a namespace with",
			[]diagnosis.Alert{nsAlert("A", "order-service", "orders", at), nsAlert("B", "legacy-billing", "payments", at), nsAlert("C", "payment-service", "payments", at)},
			[]int{0, 0, 0}},
		{"an alert the graph knows does not join an unknown service's incident in another namespace",
			[]diagnosis.Alert{nsAlert("A", "legacy-billing", "billing", at), nsAlert("B", "payment-service", "payments", at)},
			[]int{0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, _ := startGrouper(t, diagnosis.GrouperConfig{})
				for _, a := range tc.alerts {
					g.Add(a)
				}
				partition(t, g, tc.alerts, tc.want)
			})
		})
	}
}

func TestGrouperShowsTheMainNamespaceAndKnowsEachNodesOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := startGrouper(t, diagnosis.GrouperConfig{})
		at := mkTime()
		out := g.Add(nsAlert("A", "api-gateway", "edge", at), nsAlert("B", "checkout-service", "shop-prod", at), nsAlert("C", "order-service", "shop-prod", at),
			nsAlert("KafkaConsumerLagHigh", "kafka-exporter", "monitoring", at, "job", "kafka-exporter", "consumergroup", "notification-service"))
		in, ok := g.Incident(out[0].Incident)
		if !ok || len(in.Alerts) != 4 {
			t.Fatalf("outcomes %+v: want one incident of 4 alerts", out)
		}
		if in.Scope.Namespace != "shop-prod" {
			t.Errorf("scope %q, want shop-prod, where most of its alerts are", in.Scope)
		}
		for node, want := range map[string]string{"api-gateway": "edge", "order-service": "shop-prod", "notification-service": "shop-prod", "payment-service": "shop-prod"} {
			if got := in.NamespaceOf(node); got != want {
				t.Errorf("NamespaceOf(%s) = %q, want %q", node, got, want)
			}
		}
	})
}

func TestGrouperKeepsARestoredIncidentsNamespaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		at := time.Now()
		gw, co := nsAlert("A", "api-gateway", "edge", at), nsAlert("B", "checkout-service", "shop-prod", at)
		g.Restore(diagnosis.Incident{
			ID: "INC-BEEF", Status: diagnosis.Firing, OpenedAt: at, Received: 2, Scope: diagnosis.Scope{Namespace: "edge"},
			Thread: diagnosis.Thread{Channel: "C1", TS: "1.000001"},
			Alerts: []diagnosis.AlertState{{Alert: gw, Node: "api-gateway", Received: 1}, {Alert: co, Node: "checkout-service", Received: 1}},
		})
		out := g.Add(nsAlert("C", "checkout-service", "shop-prod", at), nsAlert("D", "api-gateway", "edge", at), nsAlert("E", "checkout-service", "shop-qa", at))
		if out[0].Incident != "INC-BEEF" || out[1].Incident != "INC-BEEF" {
			t.Errorf("outcomes %+v: want checkout in shop-prod and the gateway in edge to continue INC-BEEF", out)
		}
		if out[2].Incident == "INC-BEEF" {
			t.Errorf("checkout in shop-qa joined INC-BEEF: another deployment, another incident")
		}
	})
}

// An SLO burn that names no service often fires first and gets its card
// alone; what fails next within minutes is that incident, not a second page.
func TestGrouperKeepsAnIncidentThatNamesNoServiceOpenToWhatFailsNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		now := time.Now()
		burn := diagnosis.Alert{Status: diagnosis.Firing, StartsAt: now,
			Labels: map[string]string{"alertname": "KubeAPIErrorBudgetBurn", "severity": "critical", "long": "1h", "short": "5m"}}
		burn.Fingerprint = diagnosis.Fingerprint(burn.Labels)
		first := g.Add(burn)[0].Incident
		time.Sleep(2 * time.Second) // its card is out
		synctest.Wait()
		if next := g.Add(mkAlert("ServiceErrorRateHigh", "checkout-service", now.Add(2*time.Minute)))[0].Incident; next != first {
			t.Errorf("checkout-service opened %s, want it in %s, the storm's first card", next, first)
		}
		// A later alert on an unrelated service and namespace does not
		// join: the incident names a service now.
		if other := g.Add(nsAlert("JobFailed", "legacy-billing", "finance", now.Add(3*time.Minute)))[0].Incident; other == first {
			t.Errorf("legacy-billing in finance joined %s, which now holds checkout-service", first)
		}
	})
}

// Parts of one application in one namespace (kyverno and its
// kyverno-admission-controller) join each other beyond the short window
// for services the graph does not know; strangers there do not.
func TestGrouperJoinsPartsOfOneApplicationFurtherApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		now := time.Now()
		first := g.Add(nsAlert("KyvernoAdmissionRequestsFailing", "kyverno", "kyverno", now))[0].Incident
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := g.Add(nsAlert("KubePodCrashLooping", "ledger-sync", "kyverno", now.Add(12*time.Minute)))[0].Incident; got == first {
			t.Errorf("ledger-sync, another application, joined %s 12 minutes on by its namespace alone", first)
		}
		crash := nsAlert("KubePodCrashLooping", "kube-state-metrics", "kyverno", now.Add(12*time.Minute), "job", "kube-state-metrics", "pod", "kyverno-admission-controller-f5fw9crgsw-97zh9")
		if got := g.Add(crash)[0].Incident; got != first {
			t.Errorf("kyverno-admission-controller 12 minutes later opened %s, want %s", got, first)
		}
	})
}
