package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/metrics"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// counted reads one nightowl_* counter of a Registry, summed over the
// series whose labels include want.
func counted(t *testing.T, reg *metrics.Registry, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func TestRunbookNewsIsCountedOnItsWayToTheBot(t *testing.T) {
	reg := metrics.New("test")
	var passed int
	o := observeRunbooks(runbooks.NotifierFunc(func(context.Context, runbooks.Update) { passed++ }), reg)
	rq := runbooks.Request{ID: "r1", Runbook: "RB-APP-001"}
	send := func(kind runbooks.UpdateKind) {
		o.RunbookUpdate(context.Background(), runbooks.Update{Kind: kind, Request: rq})
	}
	send(runbooks.UpdateOpened)
	rq.Approvals = []runbooks.Decision{{}}
	send(runbooks.UpdateApproved)
	rq.Approvals = append(rq.Approvals, runbooks.Decision{})
	send(runbooks.UpdateQueued)
	send(runbooks.UpdateStarted)
	start := time.Unix(1_700_000_000, 0)
	rq.Result = &runbooks.Result{Outcome: "succeeded", Started: start, Ended: start.Add(90 * time.Second)}
	send(runbooks.UpdateFinished)
	send(runbooks.UpdateVerified) // after the run: no approval counted again
	rq = runbooks.Request{ID: "r2", Runbook: "RB-APP-001", Approvals: []runbooks.Decision{{}}}
	send(runbooks.UpdateRejected) // r2's one decision was a rejection, not an approval

	rb := map[string]string{"runbook": "RB-APP-001"}
	for name, want := range map[string]float64{
		"nightowl_runbook_requests_total":  1,
		"nightowl_runbook_approvals_total": 2, // each approval once, however many updates carry it
		"nightowl_runbook_refusals_total":  1,
		"nightowl_runbook_runs_total":      1,
	} {
		if got := counted(t, reg, name, rb); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if passed != 7 {
		t.Errorf("the bot heard %d updates, want all 7", passed)
	}
}

func TestFailedPrometheusQueriesAreCounted(t *testing.T) {
	reg := metrics.New("test")
	down := errors.New("connection refused")
	m := observeQueries(diagnosis.MetricsFunc(func(context.Context, string, diagnosis.Range) ([]diagnosis.Series, error) {
		return nil, down
	}), reg)
	for range 3 {
		_, _ = m.QueryRange(context.Background(), "up", diagnosis.Range{})
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = m.QueryRange(cancelled, "up", diagnosis.Range{}) // nightowl gave up: not Prometheus failing
	if got := counted(t, reg, "nightowl_prometheus_query_failures_total", nil); got != 3 {
		t.Errorf("nightowl_prometheus_query_failures_total = %v, want 3", got)
	}
	if observeQueries(nil, reg) != nil {
		t.Error("no Prometheus became one")
	}
}

// nullAudit is a runbooks.Audit that keeps nothing.
type nullAudit struct{ appended int }

func (n *nullAudit) Commit(context.Context, runbooks.Request, ...runbooks.AuditEvent) error {
	return nil
}
func (n *nullAudit) AppendAudit(context.Context, runbooks.AuditEvent) error {
	n.appended++
	return nil
}
func (n *nullAudit) OpenRequests(context.Context) ([]runbooks.Request, error) { return nil, nil }
func (n *nullAudit) SaveOutcome(context.Context, string, string, string, time.Time) error {
	return nil
}

func TestClicksThePolicyRefusesAreCountedAsTheyGoOnRecord(t *testing.T) {
	reg := metrics.New("test")
	next := &nullAudit{}
	a := observedAudit{next, reg}
	for _, kind := range []string{runbooks.AuditRefused, runbooks.AuditRefused, runbooks.AuditTask} {
		if err := a.AppendAudit(context.Background(), runbooks.AuditEvent{Runbook: "RB-DB-001", Kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	if got := counted(t, reg, "nightowl_runbook_refusals_total", map[string]string{"runbook": "RB-DB-001"}); got != 2 {
		t.Errorf("nightowl_runbook_refusals_total = %v, want 2", got)
	}
	if next.appended != 3 {
		t.Errorf("%d events reached the record, want all 3", next.appended)
	}
}
