package diagnosis_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

const twinDBs = `services:
  api: {kind: service, depends_on: [billing-db, users-db]}
  billing-db: {kind: database}
  users-db: {kind: database}
`

// twinIncident: two databases that look the same to the alerts and the graph.
func twinIncident(start time.Time) diagnosis.Incident {
	in := diagnosis.Incident{ID: "INC-TWIN", Status: diagnosis.Firing}
	for _, l := range []map[string]string{
		{"alertname": "PostgresSlowQueries", "service": "billing-db", "severity": "warning"},
		{"alertname": "PostgresSlowQueries", "service": "users-db", "severity": "warning"},
		{"alertname": "ServiceErrorRateHigh", "service": "api", "severity": "warning"},
	} {
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: diagnosis.Alert{Fingerprint: diagnosis.Fingerprint(l), Status: diagnosis.Firing, Labels: l, StartsAt: start}})
	}
	return in
}

// ramp is 0.2 until at, then climbs to 1 over 5 minutes, with a wobble so
// that it is never constant.
func ramp(r diagnosis.Range, at time.Time) []diagnosis.Point {
	var out []diagnosis.Point
	for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
		v := 0.2 + 0.01*math.Sin(float64(t.Unix())/60)
		if t.After(at) {
			v += math.Min(t.Sub(at).Minutes()/5, 1) * 0.8
		}
		out = append(out, diagnosis.Point{T: t, V: v})
	}
	return out
}

func fakePrometheus(start time.Time) diagnosis.MetricsFunc {
	return func(_ context.Context, q string, r diagnosis.Range) ([]diagnosis.Series, error) {
		switch {
		case strings.Contains(q, `service="users-db"`): // saturates 3 minutes before the start
			return []diagnosis.Series{{Points: ramp(r, start.Add(-3*time.Minute))}}, nil
		case strings.Contains(q, `service="billing-db"`): // flat
			return []diagnosis.Series{{Points: ramp(r, r.End.Add(time.Hour))}}, nil
		case strings.Contains(q, `service="api"`): // errors follow users-db by a minute
			return []diagnosis.Series{{Points: ramp(r, start.Add(-2*time.Minute))}}, nil
		}
		return nil, nil
	}
}

func TestMetricsDecideBetweenCandidatesTheAlertsCannotTellApart(t *testing.T) {
	g, err := graph.Parse([]byte(twinDBs))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(10 * time.Minute) }
	in := twinIncident(start)

	blind := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Now: now}).Diagnose(t.Context(), in)
	seeing := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Now: now, Metrics: fakePrometheus(start)}).Diagnose(t.Context(), in)

	if top, _ := blind.Top(); top.Service != "billing-db" {
		t.Fatalf("without metrics the tie goes to %s; the test expects billing-db (alphabetical)", top.Service)
	}
	top, _ := seeing.Top()
	if top.Service != "users-db" {
		t.Fatalf("with metrics the top candidate is %s, want users-db: %+v", top.Service, seeing.Candidates)
	}
	if !strings.Contains(strings.Join(top.Evidence, "; "), "api errors correlate with its saturation") {
		t.Errorf("evidence %q lacks the correlation", top.Evidence)
	}
	if !strings.HasPrefix(seeing.Metrics, "metrics:") {
		t.Errorf("metrics status %q", seeing.Metrics)
	}
}

func TestDiagnosisReturnsWhenPrometheusFails(t *testing.T) {
	g, _ := graph.Parse([]byte(twinDBs))
	start := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		metrics diagnosis.MetricsFunc
		want    string
	}{
		{"Prometheus refuses the connection", func(context.Context, string, diagnosis.Range) ([]diagnosis.Series, error) {
			return nil, errors.New("Prometheus at http://127.0.0.1:1 refused the connection")
		}, "metrics unavailable: Prometheus at http://127.0.0.1:1 refused the connection"},
		{"Prometheus hangs past the deadline", func(ctx context.Context, _ string, _ diagnosis.Range) ([]diagnosis.Series, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, "metrics unavailable: Prometheus did not answer within 200ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Metrics: tc.metrics, MetricsDeadline: 200 * time.Millisecond, Now: func() time.Time { return start }})
			began := time.Now()
			d := e.Diagnose(t.Context(), twinIncident(start))
			if d.Metrics != tc.want || len(d.Candidates) == 0 {
				t.Errorf("metrics %q with %d candidates, want %q and a diagnosis", d.Metrics, len(d.Candidates), tc.want)
			}
			if took := time.Since(began); took > 2*time.Second {
				t.Errorf("diagnosis took %s despite a 200ms metrics deadline", took)
			}
		})
	}
}

func TestHistoryRecommendsWhatFixedTheSamePattern(t *testing.T) {
	in := incidentOf(blackFriday(t))
	for i := range in.Alerts {
		delete(in.Alerts[i].Labels, "runbook")
	}
	past := diagnosis.HistoryFunc(func(context.Context, int) ([]diagnosis.Past, error) {
		return []diagnosis.Past{
			{Incident: "INC-1", RootCause: "order-service", Confirmed: diagnosis.ConfirmedByRunbook, Runbook: "RB-DB-002", Outcome: "fixed",
				AlertNames: []string{"DatabaseConnectionPoolExhausted", "ServiceErrorRateHigh", "ServiceLatencyHigh", "HighCPUUsage", "RedisConnectionTimeout", "KafkaConsumerLagHigh"},
				Services:   []string{"order-service", "payment-service", "checkout-service", "inventory-service", "notification-service", "api-gateway"}},
			{Incident: "INC-2", RootCause: "order-service", Confirmed: diagnosis.ConfirmedByRunbook, Runbook: "RB-DB-002", Outcome: "fixed",
				AlertNames: []string{"DatabaseConnectionPoolExhausted", "ServiceErrorRateHigh", "ServiceLatencyHigh", "PodRestarting", "HPAMaxedOut"},
				Services:   []string{"order-service", "payment-service", "checkout-service", "api-gateway"}},
			{Incident: "INC-3", RootCause: "kafka", AlertNames: []string{"KafkaBrokerDown"}, Services: []string{"kafka"}},
		}, nil
	})
	// The example graph without its runbooks, so that only history can say which one.
	noRunbooks, err := graph.Parse([]byte("services:\n  order-service: {depends_on: [postgres-rds, kafka]}\n  payment-service: {depends_on: [order-service]}\n  checkout-service: {depends_on: [payment-service, order-service]}\n  postgres-rds: {kind: database}\n  kafka: {kind: queue}\n"))
	if err != nil {
		t.Fatal(err)
	}
	{
		d := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: noRunbooks, History: past}).Diagnose(t.Context(), in)
		if len(d.History) != 2 || d.History[0].Incident == "INC-3" {
			t.Errorf("history %+v, want INC-1 and INC-2", d.History)
		}
		top, _ := d.Top()
		if !strings.Contains(strings.Join(top.Evidence, "; "), "the same pattern was fixed by RB-DB-002 twice before") {
			t.Errorf("evidence %q lacks the history", top.Evidence)
		}
		if d.RecommendedRunbook != "RB-DB-002" {
			t.Errorf("runbook %q (%s), want what fixed it before", d.RecommendedRunbook, d.RunbookReason)
		}
	}
}

// TestAResolverAddressStaysWhole: a DNS error names the resolver by its
// address; the address is a candidate as it is, not cut at its first dot.
func TestAResolverAddressStaysWhole(t *testing.T) {
	g, err := graph.Parse([]byte("services:\n  api: {kind: service}\n  web: {kind: service}\n  jobs: {kind: service}\n"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	in := diagnosis.Incident{ID: "INC-DNS", Status: diagnosis.Firing}
	for i, svc := range []string{"api", "web", "jobs"} {
		l := map[string]string{"alertname": "HTTPErrorRateHigh", "service": svc, "severity": "warning"}
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: diagnosis.Alert{Fingerprint: diagnosis.Fingerprint(l), Status: diagnosis.Firing, Labels: l,
			StartsAt:    start.Add(time.Duration(i) * time.Minute),
			Annotations: map[string]string{"description": "dial tcp: lookup db-" + svc + ".internal on 172.20.0.10:53: server misbehaving"}}})
	}
	d := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Now: func() time.Time { return start.Add(5 * time.Minute) }}).Diagnose(t.Context(), in)
	for _, c := range d.Candidates {
		if c.Service == "172" {
			t.Fatalf("the resolver's address was cut at its first dot: %+v", d.Candidates)
		}
	}
	if top, _ := d.Top(); top.Service != "172.20.0.10" {
		t.Errorf("top candidate %s, want the resolver 172.20.0.10 every message names; all %+v", top.Service, d.Candidates)
	}
}
