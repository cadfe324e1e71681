package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

func TestRunRequestsRoundTripAndOpenOnesComeBack(t *testing.T) {
	db := MustOpen(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	running := runbooks.Request{ID: "RUN-1", Incident: "INC-1", Runbook: "RB-DEMO-001", State: runbooks.StateRunning,
		Thread: diagnosis.Thread{Channel: "C1", TS: "1.1"}, Vars: map[string]any{"service": "orders", "replicas": float64(3)},
		RequestedBy: "U1", RequestedAt: at, Approvals: []runbooks.Decision{{By: "U2", At: at}},
		Check: &runbooks.Result{Outcome: runbooks.OutcomeSucceeded, Tasks: []runbooks.TaskResult{{Task: "t", Host: "localhost", Status: "changed"}}, Changed: 1, Started: at, Ended: at}}
	done := runbooks.Request{ID: "RUN-2", Incident: "INC-1", Runbook: "RB-DEMO-001", State: runbooks.StateSucceeded, RequestedBy: "U1", RequestedAt: at.Add(time.Minute), Vars: map[string]any{}}
	for _, r := range []runbooks.Request{running, done} {
		if err := db.SaveRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	open, err := db.OpenRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || !reflect.DeepEqual(open[0], running) {
		t.Errorf("open requests %+v, want only RUN-1 exactly as saved", open)
	}
	all, err := db.Requests(ctx, "INC-1")
	if err != nil || len(all) != 2 {
		t.Errorf("requests of INC-1: %d, %v", len(all), err)
	}
}

func TestRunAuditIsAppendOnlyAndOrdered(t *testing.T) {
	db := MustOpen(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	for i, kind := range []string{runbooks.AuditRequested, runbooks.AuditRefused, runbooks.AuditApproved, runbooks.AuditFinished} {
		e := runbooks.AuditEvent{Request: "RUN-1", Incident: "INC-1", Runbook: "RB-DEMO-001", Kind: kind, Actor: "U1", At: at.Add(time.Duration(i) * time.Second)}
		if err := db.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Audit(ctx, "INC-1")
	if err != nil || len(got) != 4 || got[1].Kind != runbooks.AuditRefused || !got[3].At.Equal(at.Add(3*time.Second)) {
		t.Fatalf("audit %+v %v", got, err)
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE run_audit SET actor = 'x'`); err == nil {
		t.Error("the run audit could be rewritten")
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM run_audit`); err == nil {
		t.Error("the run audit could be deleted")
	}
}

func TestACommitWritesTheRequestAndItsEventsOrNeither(t *testing.T) {
	db := MustOpen(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	r := runbooks.Request{ID: "RUN-1", Incident: "INC-1", Runbook: "RB-DEMO-001", State: runbooks.StatePending, RequestedBy: "U1", RequestedAt: at, Vars: map[string]any{}}
	requested := runbooks.AuditEvent{Request: r.ID, Incident: r.Incident, Runbook: r.Runbook, Kind: runbooks.AuditRequested, Actor: "U1", At: at}
	if err := db.Commit(ctx, r, requested); err != nil {
		t.Fatal(err)
	}
	// The audit log cannot take another line: approving must leave no trace.
	if _, err := db.write.ExecContext(ctx, `CREATE TRIGGER full BEFORE INSERT ON run_audit BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	queued := r
	queued.State, queued.Approvals = runbooks.StateQueued, []runbooks.Decision{{By: "U2", At: at}}
	approved := requested
	approved.Kind, approved.Actor = runbooks.AuditApproved, "U2"
	if err := db.Commit(ctx, queued, approved); err == nil {
		t.Fatal("a commit whose audit line failed succeeded")
	}
	open, err := db.OpenRequests(ctx)
	if err != nil || len(open) != 1 || open[0].State != runbooks.StatePending || len(open[0].Approvals) != 0 {
		t.Errorf("after the failed commit the record says %+v (%v), want RUN-1 still pending", open, err)
	}
	if got, _ := db.Audit(ctx, "INC-1"); len(got) != 1 {
		t.Errorf("audit %+v", got)
	}
}
