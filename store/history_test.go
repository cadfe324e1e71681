package store

import (
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestPastRecallsResolvedIncidentsWithTheirOutcomeButNoUnconfirmedCause(t *testing.T) {
	db := MustOpen(t)
	ctx := t.Context()
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	alert := func(name, svc string) diagnosis.AlertState {
		l := map[string]string{"alertname": name, "service": svc}
		return diagnosis.AlertState{Alert: diagnosis.Alert{Fingerprint: diagnosis.Fingerprint(l), Status: diagnosis.Resolved, Labels: l, StartsAt: start, EndsAt: start.Add(20 * time.Minute)}, Node: svc, FirstSeen: start, LastSeen: start}
	}
	old := diagnosis.Incident{ID: "INC-OLD", Status: diagnosis.Resolved, OpenedAt: start, ResolvedAt: start.Add(20 * time.Minute),
		Alerts: []diagnosis.AlertState{alert("DBPool", "orders"), alert("Errors", "checkout"), alert("Errors", "payments")}}
	open := diagnosis.Incident{ID: "INC-OPEN", Status: diagnosis.Firing, OpenedAt: start.Add(time.Hour), Alerts: []diagnosis.AlertState{alert("Disk", "db")}}
	for _, in := range []diagnosis.Incident{old, open} {
		if err := db.SaveIncident(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	d := diagnosis.Diagnosis{Incident: "INC-OLD", GeneratedAt: start, RecommendedRunbook: "RB-DB-001",
		Candidates: []diagnosis.Candidate{{Service: "orders", Confidence: 0.9}}}
	if err := db.SaveDiagnosis(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveOutcome(ctx, "INC-OLD", "RB-DB-001", "fixed", start.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveOutcome(ctx, "INC-OLD", "", "resolved", start.Add(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	past, err := db.Past(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(past) != 1 {
		t.Fatalf("got %d past incidents, want only the resolved one: %+v", len(past), past)
	}
	p := past[0]
	// Nothing confirmed the diagnosis (no correction, no run on record, no
	// votes): the runbook's fix counts, the engine's pick is no root cause.
	if p.Incident != "INC-OLD" || p.RootCause != "" || p.Confirmed != "" || p.Runbook != "RB-DB-001" || p.Outcome != "fixed" || p.TimeToResolve != 20*time.Minute {
		t.Errorf("got %+v", p)
	}
	if len(p.AlertNames) != 2 || p.AlertNames[0] != "DBPool" || len(p.Services) != 3 {
		t.Errorf("names %v services %v", p.AlertNames, p.Services)
	}
	got, err := db.Diagnosis(ctx, "INC-OLD")
	if err != nil || got.RecommendedRunbook != "RB-DB-001" {
		t.Errorf("diagnosis round trip: %+v %v", got, err)
	}
}

func TestPastVerdictCountsVotesOnTheDiagnosedRootCause(t *testing.T) {
	ctx := t.Context()
	type vote struct {
		user, rootCause string
		vote            int
		at              time.Duration
	}
	for _, tc := range []struct {
		name  string
		votes []vote
		want  string
	}{
		{"no votes give no verdict", nil, ""},
		{"a 👍 confirms", []vote{{"U1", "svc-A", 1, 0}}, diagnosis.VerdictConfirmed},
		{"more 👍 than 👎 confirm", []vote{{"U1", "svc-A", 1, 0}, {"U2", "svc-A", 1, 0}, {"U3", "svc-A", -1, 0}}, diagnosis.VerdictConfirmed},
		{"a 👎 disputes", []vote{{"U1", "svc-A", -1, 0}}, diagnosis.VerdictDisputed},
		{"more 👎 than 👍 dispute", []vote{{"U1", "svc-A", -1, 0}, {"U2", "svc-A", -1, 0}, {"U3", "svc-A", 1, 0}}, diagnosis.VerdictDisputed},
		{"a tie gives no verdict", []vote{{"U1", "svc-A", 1, 0}, {"U2", "svc-A", -1, 0}}, ""},
		{"votes on another root cause are ignored",
			[]vote{{"U1", "svc-A", -1, 0}, {"U2", "payments", 1, 0}, {"U3", "payments", 1, 0}}, diagnosis.VerdictDisputed},
		{"only votes on another root cause give no verdict", []vote{{"U1", "payments", -1, 0}}, ""},
		{"a person changing their vote counts once, as they last voted",
			[]vote{{"U1", "svc-A", 1, 0}, {"U2", "svc-A", 1, 0}, {"U1", "svc-A", -1, time.Minute}}, ""},
		{"a person changing their vote after the diagnosis changed no longer counts",
			[]vote{{"U1", "payments", 1, 0}, {"U1", "svc-A", -1, time.Minute}, {"U2", "svc-A", 1, 0}, {"U2", "payments", -1, time.Minute}}, diagnosis.VerdictDisputed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpen(t)
			mustSave(t, db, resolvedIncident("A", 0, time.Hour))
			d := diagnosis.Diagnosis{Incident: "A", GeneratedAt: t0, Candidates: []diagnosis.Candidate{{Service: "svc-A", Confidence: 0.8}}}
			if err := db.SaveDiagnosis(ctx, d); err != nil {
				t.Fatal(err)
			}
			for _, v := range tc.votes {
				if err := db.Vote(ctx, "A", v.user, v.vote, v.rootCause, t0.Add(v.at)); err != nil {
					t.Fatal(err)
				}
			}
			// Votes on another incident never leak into this one.
			if err := db.Vote(ctx, "B", "U1", 1, "svc-A", t0); err != nil {
				t.Fatal(err)
			}
			past, err := db.Past(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(past) != 1 || past[0].Incident != "A" {
				t.Fatalf("past %+v, want incident A", past)
			}
			if past[0].Verdict != tc.want {
				t.Errorf("verdict %q, want %q", past[0].Verdict, tc.want)
			}
			// Only a verdict that confirms makes the diagnosed cause the root cause.
			wantCause, wantBy := "", ""
			if tc.want == diagnosis.VerdictConfirmed {
				wantCause, wantBy = "svc-A", diagnosis.ConfirmedByVotes
			}
			if past[0].RootCause != wantCause || past[0].Confirmed != wantBy {
				t.Errorf("root cause %q confirmed by %q, want %q by %q", past[0].RootCause, past[0].Confirmed, wantCause, wantBy)
			}
		})
	}

	for _, tc := range []struct {
		name string
		d    *diagnosis.Diagnosis
	}{
		{"an incident never diagnosed has no verdict, whatever its votes", nil},
		{"a diagnosis that named no root cause has no verdict, whatever its votes", &diagnosis.Diagnosis{Incident: "A", GeneratedAt: t0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpen(t)
			mustSave(t, db, resolvedIncident("A", 0, time.Hour))
			if tc.d != nil {
				if err := db.SaveDiagnosis(ctx, *tc.d); err != nil {
					t.Fatal(err)
				}
			}
			for _, rc := range []string{"", "svc-A"} {
				if err := db.Vote(ctx, "A", "U-"+rc, -1, rc, t0); err != nil {
					t.Fatal(err)
				}
			}
			past, err := db.Past(ctx, 10)
			if err != nil || len(past) != 1 {
				t.Fatalf("past %+v, %v", past, err)
			}
			if past[0].RootCause != "" || past[0].Verdict != "" {
				t.Errorf("root cause %q verdict %q, want neither", past[0].RootCause, past[0].Verdict)
			}
		})
	}
}
