package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// readingModel is an Explainer that records every text it is given: the
// incident context of a triage and of an answer, and the results of the
// tools it calls while answering.
type readingModel struct {
	calls []diagnosis.ToolCall
	mu    sync.Mutex
	read  []string
}

func (m *readingModel) Model() string { return "reader" }

func (m *readingModel) keep(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.read = append(m.read, s)
}

func (m *readingModel) Triage(_ context.Context, _, incidentContext string, fallback diagnosis.Triage) (diagnosis.Triage, diagnosis.Usage, error) {
	m.keep(incidentContext)
	return fallback, diagnosis.Usage{}, nil
}

func (m *readingModel) Answer(ctx context.Context, q diagnosis.Question, _ []diagnosis.Tool, call diagnosis.ToolCaller) (string, diagnosis.Usage, error) {
	m.keep(q.Context)
	for _, c := range m.calls {
		m.keep(call(ctx, c).Content)
	}
	return "read it all", diagnosis.Usage{}, nil
}

// queries records what reaches Prometheus and answers with one series.
type queries struct {
	mu   sync.Mutex
	sent []string
}

func (q *queries) QueryRange(_ context.Context, query string, r diagnosis.Range) ([]diagnosis.Series, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = append(q.sent, query)
	return []diagnosis.Series{{Labels: map[string]string{"__name__": "http_requests_total", "customer": "Acme Corp Ltd", "instance": "web-1"},
		Points: []diagnosis.Point{{T: r.Start, V: 1}, {T: r.End, V: 2}}}}, nil
}

func args(tb testing.TB, m map[string]string) json.RawMessage {
	tb.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// TestTheModelReadsNothingOfAWithheldLabel: labels and annotations the
// Withhold seam names (REDACT_LABELS, secret-looking names) are left out
// whole of everything a model reads: the triage's context, an answer's
// context, and the results of get_alert, list_alerts and query_prometheus,
// however many spaces their values hold.
func TestTheModelReadsNothingOfAWithheldLabel(t *testing.T) {
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	in := diagnosis.Incident{ID: "INC-9", Status: diagnosis.Firing, OpenedAt: start}
	labels := map[string]string{"alertname": "OrdersSlow", "service": "order-service", "severity": "critical",
		"customer": "Acme Corp Ltd", "db_password": "correct horse battery", "tenant": "Globex Inc"}
	in.Alerts = []diagnosis.AlertState{
		{Alert: diagnosis.Alert{Labels: labels, Status: diagnosis.Firing, StartsAt: start,
			Annotations: map[string]string{"summary": "orders are slow", "customer": "Acme Corp Ltd, gold tier"}}, Node: "order-service"},
		{Alert: diagnosis.Alert{Labels: map[string]string{"alertname": "TenantDown", "tenant": "Globex Inc"}, Status: diagnosis.Firing, StartsAt: start},
			Node: "Globex Inc"},
	}
	d := diagnosis.Diagnosis{Incident: in.ID, Summary: "order-service is slow", Candidates: []diagnosis.Candidate{{Service: "order-service", Confidence: 0.8}}}
	model := &readingModel{calls: []diagnosis.ToolCall{
		{Name: "get_alert", Arguments: args(t, map[string]string{"name": "OrdersSlow"})},
		{Name: "list_alerts", Arguments: args(t, map[string]string{})},
		{Name: "query_prometheus", Arguments: args(t, map[string]string{"promql": "rate(http_requests_total[5m])"})},
	}}
	withheld := map[string]bool{"customer": true, "db_password": true, "tenant": true}
	h := commands.New(commands.Deps{Incidents: oneIncident{in, d}, Graph: graph.Example(), Explainer: model, Metrics: &queries{},
		Withhold: func(name string) bool { return withheld[name] }, Now: func() time.Time { return start.Add(time.Hour) }})

	if _, _, err := h.ModelTriage(t.Context(), in, d); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Answer(t.Context(), commands.Ask{Incident: in.ID, Text: "who is affected?"}); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(model.read, "\n---\n")
	for _, leak := range []string{"Acme", "Corp", "Ltd", "gold tier", "correct horse", "battery", "Globex"} {
		if strings.Contains(all, leak) {
			t.Errorf("%q reached the model:\n%s", leak, all)
		}
	}
	for _, kept := range []string{"OrdersSlow", "order-service", "orders are slow", "instance=web-1"} {
		if !strings.Contains(all, kept) {
			t.Errorf("%q, which nobody withheld, did not reach the model:\n%s", kept, all)
		}
	}
	if len(model.read) != 5 {
		t.Errorf("the model read %d texts, want 5 (triage, answer, three tools)", len(model.read))
	}
}

// TestPromQLAllowRefusesQueriesBeforeTheyAreSent: with PROMQL_ALLOW, /graph
// query and the model's query_prometheus send only queries whose metrics
// it allows, and say in one sentence why not otherwise.
func TestPromQLAllowRefusesQueriesBeforeTheyAreSent(t *testing.T) {
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	in := diagnosis.Incident{ID: "INC-9", Status: diagnosis.Firing, OpenedAt: start,
		Alerts: []diagnosis.AlertState{{Alert: diagnosis.Alert{Labels: map[string]string{"alertname": "A", "service": "order-service"}, Status: diagnosis.Firing, StartsAt: start}}}}
	d := diagnosis.Diagnosis{Incident: in.ID, Candidates: []diagnosis.Candidate{{Service: "order-service", Confidence: 0.8}}}
	cases := []struct {
		name, promql string
		sent         bool
		says         string
	}{
		{"an allowed metric is sent", `sum(rate(http_requests_total{code=~"5.."}[5m])) by (job)`, true, ""},
		{"a metric outside the list is refused", `rate(payroll_salary_total[5m])`, false, "PROMQL_ALLOW does not allow the metric payroll_salary_total"},
		{"a metric hidden behind an allowed one is refused", `up or on() payroll_salary_total`, false, "does not allow the metric payroll_salary_total"},
		{"a selector without a name is refused", `{job="payroll"}`, false, "cannot tell which metrics it reads"},
		{"a __name__ pattern is refused", `{__name__=~"http_.*|payroll.*"}`, false, "cannot tell which metrics it reads"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prom := &queries{}
			model := &readingModel{calls: []diagnosis.ToolCall{{Name: "query_prometheus", Arguments: args(t, map[string]string{"promql": tc.promql})}}}
			h := commands.New(commands.Deps{Incidents: oneIncident{in, d}, Graph: graph.Example(), Metrics: prom, Explainer: model,
				PromQLAllow: regexp.MustCompile(`^(?:http_.*|up)$`), Now: func() time.Time { return start.Add(time.Hour) }})

			_, err := h.Handle(t.Context(), commands.Request{Command: "/graph", Text: "query " + tc.promql, User: "U1"})
			var ue commands.UsageError
			switch {
			case tc.sent && err != nil:
				t.Errorf("/graph query: %v, want a chart", err)
			case !tc.sent && (!errors.As(err, &ue) || !strings.Contains(ue.Msg, tc.says) || strings.Count(ue.Msg, ". ") > 0):
				t.Errorf("/graph query: %v, want one sentence saying %q", err, tc.says)
			}
			if _, _, err := h.Answer(t.Context(), commands.Ask{Incident: in.ID, Text: "how many errors?"}); err != nil {
				t.Fatal(err)
			}
			if tool := model.read[len(model.read)-1]; !tc.sent && !strings.Contains(tool, tc.says) {
				t.Errorf("query_prometheus answered %q, want %q", tool, tc.says)
			}
			want := 0
			if tc.sent {
				want = 2
			}
			if len(prom.sent) != want {
				t.Errorf("%d queries reached Prometheus (%q), want %d", len(prom.sent), prom.sent, want)
			}
		})
	}
}
