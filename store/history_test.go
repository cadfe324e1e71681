package store

import (
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestPastRecallsResolvedIncidentsWithTheirDiagnosisAndOutcome(t *testing.T) {
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
	if p.Incident != "INC-OLD" || p.RootCause != "orders" || p.Runbook != "RB-DB-001" || p.Outcome != "fixed" || p.TimeToResolve != 20*time.Minute {
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
