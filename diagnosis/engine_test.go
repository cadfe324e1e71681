package diagnosis_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func incidentOf(alerts []diagnosis.Alert) diagnosis.Incident {
	in := diagnosis.Incident{ID: "INC-TEST", Status: diagnosis.Firing}
	for _, a := range alerts {
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a, Received: 1})
		in.Received++
	}
	return in
}

// diagnoseAt diagnoses the alerts as one incident on g, as of now.
func diagnoseAt(t *testing.T, g *graph.Graph, now time.Time, alerts ...diagnosis.Alert) diagnosis.Diagnosis {
	t.Helper()
	e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Now: func() time.Time { return now }})
	return e.Diagnose(t.Context(), incidentOf(alerts))
}

// TestEngineNamesOrderServiceForTheBlackFridayStorm: with the storm's own
// labels the card names order-service and is sure; without the labels that
// make it easy, order-service is still among the three candidates the card
// shows, and when it is not first the diagnosis says it is not sure.
func TestEngineNamesOrderServiceForTheBlackFridayStorm(t *testing.T) {
	cases := []struct {
		name  string
		strip []string // labels removed from every alert
		first bool     // order-service must be first
	}{
		{"with the storm's own labels", nil, true},
		{"without root_cause_candidate labels", []string{"root_cause_candidate"}, false},
		{"without root_cause_candidate, layer or runbook labels", []string{"root_cause_candidate", "layer", "runbook"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alerts := blackFriday(t)
			for _, a := range alerts {
				for _, l := range tc.strip {
					delete(a.Labels, l)
				}
			}
			e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: graph.Example()})
			d := e.Diagnose(t.Context(), incidentOf(alerts))
			rank := 0
			for i, c := range d.Candidates {
				if c.Service == "order-service" {
					rank = i + 1
					break
				}
			}
			top, _ := d.Top()
			switch {
			case tc.first && (rank != 1 || d.Unsure):
				t.Fatalf("order-service ranks %d (unsure %v), want first and sure; top %s at %.2f", rank, d.Unsure, top.Service, top.Confidence)
			case rank < 1 || rank > 3:
				t.Fatalf("order-service ranks %d, want it among the three the card shows; candidates %+v", rank, d.Candidates)
			case rank > 1 && !d.Unsure:
				t.Errorf("order-service ranks %d behind %s at %.2f, but the diagnosis claims to be sure", rank, top.Service, top.Confidence)
			}
			if rank == 1 && (len(top.Evidence) < 2 || top.Confidence <= d.Candidates[1].Confidence) {
				t.Errorf("top evidence %q confidence %.2f (next %.2f): want reasons and a lead", top.Evidence, top.Confidence, d.Candidates[1].Confidence)
			}
			if len(d.AffectedServices) != 6 || d.Alerts.Distinct != 31 {
				t.Errorf("affected %v distinct %d, want 6 services and 31 alerts", d.AffectedServices, d.Alerts.Distinct)
			}
			t.Logf("%s | %s (%s)", d.Summary, d.RecommendedRunbook, strings.Join(top.Evidence, "; "))
		})
	}
}

func TestEngineRecommendsTheRootCauseAlertsRunbook(t *testing.T) {
	e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: graph.Example()})
	d := e.Diagnose(t.Context(), incidentOf(blackFriday(t)))
	if d.RecommendedRunbook != "RB-DB-001" {
		t.Errorf("runbook %q (%s), want RB-DB-001", d.RecommendedRunbook, d.RunbookReason)
	}
}

func TestEngineReportsServicesMissingFromTheGraph(t *testing.T) {
	e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: graph.Example()})
	d := e.Diagnose(t.Context(), incidentOf([]diagnosis.Alert{mkAlert("Down", "legacy-billing", mkTime())}))
	if len(d.NotInGraph) != 1 || d.NotInGraph[0] != "legacy-billing" || d.Candidates[0].InGraph {
		t.Errorf("not in graph %v, top %+v", d.NotInGraph, d.Candidates[0])
	}
}

// An alert that names a service both in a label and in its words says one
// thing twice: it counts once, at the weight of the stronger of the two.
func TestANameInALabelAndInTheWordsOfOneAlertCountsOnce(t *testing.T) {
	at := mkTime()
	gw := mkAlert("GatewayErrorsHigh", "api-gateway", at.Add(time.Minute), "exported_service", "checkout-service")
	gw.Annotations = map[string]string{"summary": "5xx for checkout-service 21%"}
	in := incidentOf([]diagnosis.Alert{mkAlert("ServiceErrorRateHigh", "checkout-service", at), gw})
	d := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: graph.Example()}).Diagnose(t.Context(), in)
	p := diagnosis.DefaultParams()
	for _, c := range d.Candidates {
		if c.Service != "checkout-service" {
			continue
		}
		got := c.Terms["named"] + c.Terms["mention"]
		if want := math.Max(p.Named, p.Mention); math.Abs(got-want) > 1e-9 {
			t.Errorf("named %.3f + mention %.3f = %.3f, want %.3f: one alert, one naming", c.Terms["named"], c.Terms["mention"], got, want)
		}
		return
	}
	t.Fatalf("checkout-service is no candidate: %+v", d.Candidates)
}

// A defect while reading one incident (here a history store that panics)
// costs that incident its diagnosis, not the bot its life: the diagnosis
// says so in one sentence and keeps the alert counts.
func TestEngineSurvivesADefectInOneIncident(t *testing.T) {
	broken := diagnosis.HistoryFunc(func(context.Context, int) ([]diagnosis.Past, error) { panic("corrupt row") })
	e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: graph.Example(), History: broken})
	in := incidentOf([]diagnosis.Alert{mkAlert("ServiceErrorRateHigh", "checkout-service", mkTime())})
	d := e.Diagnose(t.Context(), in)
	if !strings.HasPrefix(d.Summary, "no diagnosis: ") || len(d.Candidates) != 0 || d.Alerts.Distinct != 1 || !d.Unsure {
		t.Errorf("got %+v, want no candidates, the reason, and the alert count", d)
	}
}

// A worker whose cloud role may not read its queue crash-loops while the
// queue backs up: the denial names the worker's own permissions, not the
// queue it was denied; and the SDK's "api error" is no mention of the
// service called api.
func TestADeniedPermissionIsTheCallersOwn(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "api", DependsOn: []string{"jobs-queue"}},
		{Name: "worker", DependsOn: []string{"jobs-queue", "jobs-db"}},
		{Name: "jobs-queue", Kind: "queue"},
		{Name: "jobs-db", Kind: "database"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := mkTime()
	backlog := mkAlert("QueueOldestMessageAgeHigh", "jobs-queue", at)
	backlog.Annotations = map[string]string{"summary": "oldest message 6m old"}
	crash := mkAlert("KubePodCrashLooping", "worker", at.Add(30*time.Second))
	crash.Annotations = map[string]string{"description": "back-off restarting failed container worker: operation error SQS: ReceiveMessage, api error AccessDenied: User: arn:aws:sts::123456789012:assumed-role/worker is not authorized to perform: sqs:ReceiveMessage"}
	d := diagnoseAt(t, g, at.Add(5*time.Minute), backlog, crash)
	top, ok := d.Top()
	if !ok || top.Service != "worker" {
		t.Fatalf("top %+v, want worker; candidates %+v", top, d.Candidates)
	}
	if ev := strings.Join(top.Evidence, "\n"); !strings.Contains(ev, "its own permissions") {
		t.Errorf("evidence %q: want the denial read as the worker's own permissions", top.Evidence)
	}
}

// A read replica's lag builds up before its threshold is crossed: the
// services reading stale rows alert first, and that is no evidence
// against the replica.
func TestALagThatBuildsUpIsNotBlamedForComingLate(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "statements", DependsOn: []string{"ledger-replica"}},
		{Name: "reconciler", DependsOn: []string{"ledger-replica", "bank-sftp"}},
		{Name: "ledger-api", DependsOn: []string{"ledger-db"}},
		{Name: "ledger-replica", Kind: "database", DependsOn: []string{"ledger-db"}},
		{Name: "ledger-db", Kind: "database"},
		{Name: "bank-sftp", Kind: "external"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := mkTime()
	d := diagnoseAt(t, g, at.Add(10*time.Minute),
		mkAlert("ReconciliationMismatches", "reconciler", at),
		mkAlert("StatementsGenerationSlow", "statements", at.Add(time.Minute)),
		mkAlert("PostgresReplicationLagHigh", "ledger-replica", at.Add(4*time.Minute)),
	)
	top, ok := d.Top()
	if !ok || top.Service != "ledger-replica" {
		t.Fatalf("top %+v, want ledger-replica; candidates %+v", top, d.Candidates)
	}
	if top.Terms["timing"] < 0 {
		t.Errorf("timing %.2f against the replica: its lag alert came late because lag builds up", top.Terms["timing"])
	}
}

// A service whose errors say its own code broke (a panic) is not what the
// database below it explains, even when the database is busy too (and
// another of its callers is fine).
func TestAnErrorAboutItsOwnCodeIsNotExplainedFromBelow(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "web", DependsOn: []string{"cart"}},
		{Name: "cart", DependsOn: []string{"cart-db"}},
		{Name: "reports", DependsOn: []string{"cart-db"}},
		{Name: "cart-db", Kind: "database"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := mkTime()
	busy := mkAlert("PostgresConnectionsHigh", "cart-db", at)
	busy.Annotations = map[string]string{"summary": "cart-db connections 180/200"}
	crash := mkAlert("ServiceErrorRateHigh", "cart", at.Add(30*time.Second))
	crash.Annotations = map[string]string{"description": "cart 5xx 40%: panic: runtime error: invalid memory address or nil pointer dereference"}
	d := diagnoseAt(t, g, at.Add(5*time.Minute),
		busy, crash, mkAlert("HighErrorRate", "web", at.Add(time.Minute)),
	)
	top, ok := d.Top()
	if !ok || top.Service != "cart" {
		t.Fatalf("top %+v, want cart, whose own code panics; candidates %+v", top, d.Candidates)
	}
	for _, c := range d.Candidates {
		if c.Service == "cart-db" && c.Confidence >= top.Confidence/3 {
			t.Errorf("cart-db %.2f against cart %.2f: the database explains a panic as if it were a timeout", c.Confidence, top.Confidence)
		}
	}
}

// A load balancer over two backends sends the traffic of a failed one to
// the other and stays quiet: its silence says nothing against that
// backend. One with no other backend has nowhere to send it: its silence
// still counts.
func TestABalancerThatFailsOverIsNoQuietCallerOfOneSide(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "edge-lb", Kind: "loadbalancer", DependsOn: []string{"ingress-a", "ingress-b"}},
		{Name: "admin-lb", Kind: "loadbalancer", DependsOn: []string{"ingress-a"}},
		{Name: "ingress-a", Kind: "ingress", DependsOn: []string{"web-a"}},
		{Name: "ingress-b", Kind: "ingress", DependsOn: []string{"web-b"}},
		{Name: "web-a", DependsOn: []string{"sessions"}},
		{Name: "web-b", DependsOn: []string{"sessions"}},
		{Name: "sessions", Kind: "cache"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := mkTime()
	tls := mkAlert("IngressTLSHandshakeErrorsHigh", "ingress-a", at)
	unhealthy := mkAlert("BackendUnhealthy", "ingress-a", at.Add(time.Minute))
	d := diagnoseAt(t, g, at.Add(5*time.Minute), tls, unhealthy)
	for _, c := range d.Candidates {
		if c.Service != "ingress-a" {
			continue
		}
		ev := strings.Join(c.Evidence, "\n")
		if strings.Contains(ev, "edge-lb") {
			t.Errorf("ingress-a: the balancer that fails over to ingress-b is counted as a quiet caller: %q", c.Evidence)
		}
		if !strings.Contains(ev, "quiet: admin-lb") {
			t.Errorf("ingress-a: the balancer with no other backend should count as quiet: %q", c.Evidence)
		}
		return
	}
	t.Fatalf("ingress-a is no candidate: %+v", d.Candidates)
}

// When one zone's backends fail, the balancer over both zones sends their
// traffic to the other zone, which saturates minutes later: that load is
// the failed zone's doing, not a sign of something both zones call.
func TestTheLoadABalancerMovesIsTheFailedSidesDoing(t *testing.T) {
	g := mustGraph(t, `services:
  public-lb: {kind: loadbalancer, team: edge, depends_on: [web-a, web-b]}
  web-a: {kind: service, team: web, depends_on: [sessions-db]}
  web-b: {kind: service, team: web, depends_on: [sessions-db]}
  sessions-db: {kind: database, team: web}
`)
	t0 := mkTime()
	d := diagnoseAt(t, g, t0.Add(10*time.Minute),
		storm(t0, 0, "Target group web-a: 12 of 12 targets unhealthy", "alertname=AWSALBUnhealthyTargets", "target_group=targetgroup/web-a/0a1b2c3d", "job=yace", "severity=critical"),
		storm(t0, 10, "Pod web/web-a-7f8d9-aaaaa has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=web", "pod=web-a-7f8d9-aaaaa"),
		storm(t0, 240, "web-b CPU throttled 60%", "alertname=CPUThrottlingHigh", "namespace=web", "pod=web-b-5c6d7-bbbbb", "container=web", "severity=info"),
		storm(t0, 300, "web-b p99 latency 2.2s", "alertname=HTTPLatencyHigh", "namespace=web", "service=web-b"),
	)
	top, ok := d.Top()
	if !ok || top.Service != "web-a" {
		t.Fatalf("top %+v, want web-a; candidates %+v", top, d.Candidates)
	}
	if ev := strings.Join(top.Evidence, "\n"); !strings.Contains(ev, "public-lb, which took its load when it failed over, alerted: web-b") {
		t.Errorf("evidence %q: want the load public-lb moved onto web-b", top.Evidence)
	}
}

// An ingress controller measures the requests it routes; its 5xx per
// route carry the backend's name. When every route it serves fails at
// once and the backends say nothing of their own, the controller is the
// cause; when one route fails and the others are fine, the backend is.
func TestAProxyWhoseEveryRouteFailsIsTheCause(t *testing.T) {
	g := mustGraph(t, `services:
  ingress-nginx: {kind: ingress, team: platform, depends_on: [web, api, docs]}
  web: {kind: service, team: web, depends_on: [api]}
  api: {kind: service, team: core, depends_on: [core-db]}
  docs: {kind: service, team: web}
  core-db: {kind: database, team: core}
`)
	t0 := mkTime()
	route := func(at int, backend, value string) diagnosis.Alert {
		return storm(t0, at, "Nginx high HTTP 5xx error rate (ingress "+backend+"): VALUE = "+value, "alertname=NginxHighHttp5xxErrorRate",
			"namespace=ingress-nginx", "ingress="+backend, "exported_service="+backend, "exported_namespace=apps",
			"service=ingress-nginx-controller-metrics", "job=ingress-nginx-controller-metrics", "severity=critical")
	}
	every := diagnoseAt(t, g, t0.Add(10*time.Minute), route(60, "web", "64"), route(65, "api", "71"), route(70, "docs", "58"))
	if top, ok := every.Top(); !ok || top.Service != "ingress-nginx" {
		t.Errorf("every route fails: top %+v, want ingress-nginx; candidates %+v", top, every.Candidates)
	}
	one := diagnoseAt(t, g, t0.Add(10*time.Minute), route(60, "docs", "100"))
	if top, ok := one.Top(); !ok || top.Service != "docs" {
		t.Errorf("one route fails: top %+v, want docs; candidates %+v", top, one.Candidates)
	}
}
