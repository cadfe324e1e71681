package store

import (
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

func TestCorrectionsKeepEveryWordAndTheLatestCounts(t *testing.T) {
	db := MustOpen(t)
	ctx := t.Context()
	if _, ok, err := db.Correction(ctx, "INC-1"); ok || err != nil {
		t.Fatalf("an incident nobody corrected: ok=%v err=%v", ok, err)
	}
	for _, c := range []diagnosis.Correction{
		{Incident: "INC-1", RootCause: "payments", By: "U1", At: t0.Add(2 * time.Minute)},
		{Incident: "INC-1", RootCause: "orders", By: "U2", At: t0}, // said earlier, recorded later
		{Incident: "INC-2", RootCause: "kafka", By: "U1", At: t0.Add(time.Hour)},
	} {
		if err := db.CorrectCause(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := db.Correction(ctx, "INC-1")
	if err != nil || !ok {
		t.Fatalf("correction of INC-1: ok=%v err=%v", ok, err)
	}
	if want := (diagnosis.Correction{Incident: "INC-1", RootCause: "payments", By: "U1", At: t0.Add(2 * time.Minute)}); got != want {
		t.Errorf("got %+v, want %+v (the latest said, not the latest recorded)", got, want)
	}

	// Two corrections in the same instant: the one recorded last counts.
	for _, cause := range []string{"redis", "postgres"} {
		if err := db.CorrectCause(ctx, diagnosis.Correction{Incident: "INC-3", RootCause: cause, By: "U1", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if got, _, _ := db.Correction(ctx, "INC-3"); got.RootCause != "postgres" {
		t.Errorf("same instant: %q, want the one recorded last", got.RootCause)
	}

	if _, err := db.write.ExecContext(ctx, `UPDATE cause_corrections SET root_cause = 'x'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("update of a correction: %v, want it refused", err)
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM cause_corrections`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete of a correction: %v, want it refused", err)
	}
}

func TestCorrectCauseRefusesIncompleteCorrections(t *testing.T) {
	db := MustOpen(t)
	for _, tc := range []struct {
		name string
		c    diagnosis.Correction
		want string
	}{
		{"no incident", diagnosis.Correction{RootCause: "x", By: "U1", At: t0}, "empty incident"},
		{"no cause", diagnosis.Correction{Incident: "INC-1", RootCause: "  ", By: "U1", At: t0}, "empty root cause"},
		{"nobody", diagnosis.Correction{Incident: "INC-1", RootCause: "x", At: t0}, "nobody made it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.CorrectCause(t.Context(), tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestPastRootCauseIsOnlyWhatWasConfirmed: history holds a root cause only
// when a person's correction, a runbook that fixed the incident, or 👍 votes
// confirmed it, in that order of authority.
func TestPastRootCauseIsOnlyWhatWasConfirmed(t *testing.T) {
	const (
		resolved = time.Hour // incident A resolves at t0+1h
		before   = 50 * time.Minute
		after    = 70 * time.Minute
	)
	type run struct {
		state   runbooks.State
		service string // "" for a runbook without a service parameter
		outcome string
		at      time.Duration
	}
	type correction struct {
		cause string
		at    time.Duration
	}
	for _, tc := range []struct {
		name        string
		votes       []int // on the diagnosed svc-A
		run         *run
		corrections []correction
		wantCause   string
		wantBy      string
	}{
		{name: "an incident nothing confirmed has no root cause"},
		{name: "a 👎 majority confirms nothing", votes: []int{-1}},
		{name: "a tie confirms nothing", votes: []int{1, -1}},
		{name: "more 👍 than 👎 confirm the diagnosed cause", votes: []int{1, 1, -1}, wantCause: "svc-A", wantBy: diagnosis.ConfirmedByVotes},
		{name: "a run that fixed the incident confirms its target service",
			run: &run{runbooks.StateSucceeded, "svc-B", "fixed", before}, wantCause: "svc-B", wantBy: diagnosis.ConfirmedByRunbook},
		{name: "a run that succeeded after the incident had resolved confirms nothing",
			run: &run{runbooks.StateSucceeded, "svc-B", "fixed", after}},
		{name: "a run that failed confirms nothing",
			run: &run{runbooks.StateFailed, "svc-B", "failed", before}},
		{name: "a run without a service parameter confirms nothing",
			run: &run{runbooks.StateSucceeded, "", "fixed", before}},
		{name: "a person's correction confirms its cause",
			corrections: []correction{{"svc-C", 0}}, wantCause: "svc-C", wantBy: diagnosis.ConfirmedByCorrection},
		{name: "the latest correction wins",
			corrections: []correction{{"svc-C", 5 * time.Minute}, {"svc-D", 0}}, wantCause: "svc-C", wantBy: diagnosis.ConfirmedByCorrection},
		{name: "a correction after the incident resolved still counts",
			corrections: []correction{{"svc-C", 2 * time.Hour}}, wantCause: "svc-C", wantBy: diagnosis.ConfirmedByCorrection},
		{name: "a runbook outranks votes", votes: []int{1},
			run: &run{runbooks.StateSucceeded, "svc-B", "fixed", before}, wantCause: "svc-B", wantBy: diagnosis.ConfirmedByRunbook},
		{name: "a correction outranks a runbook and votes", votes: []int{1},
			run:         &run{runbooks.StateSucceeded, "svc-B", "fixed", before},
			corrections: []correction{{"svc-C", 0}}, wantCause: "svc-C", wantBy: diagnosis.ConfirmedByCorrection},
		{name: "a correction outranks a 👎 majority", votes: []int{-1, -1},
			corrections: []correction{{"svc-C", 0}}, wantCause: "svc-C", wantBy: diagnosis.ConfirmedByCorrection},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpen(t)
			ctx := t.Context()
			mustSave(t, db, resolvedIncident("A", 0, resolved))
			mustSave(t, db, resolvedIncident("B", 2*time.Hour, 3*time.Hour)) // its words never leak into A
			d := diagnosis.Diagnosis{Incident: "A", GeneratedAt: t0, Candidates: []diagnosis.Candidate{{Service: "svc-A", Confidence: 0.8}}}
			if err := db.SaveDiagnosis(ctx, d); err != nil {
				t.Fatal(err)
			}
			for i, v := range tc.votes {
				if err := db.Vote(ctx, "A", "U"+string(rune('1'+i)), v, "svc-A", t0); err != nil {
					t.Fatal(err)
				}
			}
			if r := tc.run; r != nil {
				vars := map[string]any{"namespace": "shop"}
				if r.service != "" {
					vars["service"] = r.service
				}
				req := runbooks.Request{ID: "RUN-1", Incident: "A", Runbook: "RB-X-001", State: r.state, Vars: vars,
					RequestedBy: "U1", RequestedAt: t0.Add(10 * time.Minute), Approvals: []runbooks.Decision{{By: "U2", At: t0.Add(11 * time.Minute)}}}
				if err := db.SaveRequest(ctx, req); err != nil {
					t.Fatal(err)
				}
				if err := db.SaveOutcome(ctx, "A", "RB-X-001", r.outcome, t0.Add(r.at)); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.SaveOutcome(ctx, "A", "", "resolved", t0.Add(resolved)); err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.corrections {
				if err := db.CorrectCause(ctx, diagnosis.Correction{Incident: "A", RootCause: c.cause, By: "U9", At: t0.Add(c.at)}); err != nil {
					t.Fatal(err)
				}
			}
			for _, err := range []error{
				db.CorrectCause(ctx, diagnosis.Correction{Incident: "B", RootCause: "svc-Z", By: "U9", At: t0.Add(4 * time.Hour)}),
				db.SaveRequest(ctx, runbooks.Request{ID: "RUN-B", Incident: "B", Runbook: "RB-X-001", State: runbooks.StateSucceeded,
					Vars: map[string]any{"service": "svc-Y"}, RequestedAt: t0.Add(2 * time.Hour)}),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}

			past, err := db.Past(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			var a *diagnosis.Past
			for i := range past {
				if past[i].Incident == "A" {
					a = &past[i]
				}
			}
			if a == nil {
				t.Fatalf("past %+v lacks incident A", past)
			}
			if a.RootCause != tc.wantCause || a.Confirmed != tc.wantBy {
				t.Errorf("root cause %q confirmed by %q, want %q by %q", a.RootCause, a.Confirmed, tc.wantCause, tc.wantBy)
			}
			// Whatever confirmed the cause, the incident still says how it ended.
			if tc.run != nil && (a.Runbook != "RB-X-001" || a.Outcome != tc.run.outcome) {
				t.Errorf("runbook %q outcome %q, want RB-X-001 %s", a.Runbook, a.Outcome, tc.run.outcome)
			}
			if len(a.AlertNames) != 1 || a.AlertNames[0] != "HighLatency" {
				t.Errorf("alert names %v: an unconfirmed incident still counts for similarity", a.AlertNames)
			}
		})
	}
}
