package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestAMessageIsRecordedAndSeenTogetherOrNotAtAll(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	a := diagnosis.Alert{Fingerprint: "fp1", Status: diagnosis.Firing, Labels: map[string]string{"alertname": "X"}}
	r := AlertReceipt{Channel: "C0ALERTS", MessageTS: "1.000001", Received: t0, Alerts: []diagnosis.Alert{a}, Key: "msg:C0ALERTS:1.000001"}
	mustRecord(t, db, r)
	if err := db.RecordAlerts(ctx, r); !errors.Is(err, ErrRepeated) {
		t.Fatalf("the same message again: %v, want ErrRepeated", err)
	}
	got, err := db.Ungrouped(ctx, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Errorf("%d alerts on record, want the message's one alert once", len(got))
	}
	if first, err := db.FirstSeen(ctx, r.Key, t0); err != nil || first {
		t.Errorf("FirstSeen after the record = %v, %v; want the key already seen", first, err)
	}

	// A record that fails leaves the key unseen: a redelivery is taken.
	bad := AlertReceipt{Channel: "C0ALERTS", MessageTS: "1.000002", Received: t0, Key: "msg:C0ALERTS:1.000002",
		Alerts: []diagnosis.Alert{{Fingerprint: "fp2", Labels: map[string]string{"bad": string([]byte{0xff})}, StartsAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}
	if err := db.RecordAlerts(ctx, bad); err == nil || errors.Is(err, ErrRepeated) {
		t.Fatalf("recording an alert with an unencodable time: %v, want an error", err)
	}
	if first, err := db.FirstSeen(ctx, bad.Key, t0); err != nil || !first {
		t.Errorf("FirstSeen after a failed record = %v, %v; want the key unseen", first, err)
	}
}

func TestUngroupedListsTheAlertsNoSavedIncidentHolds(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	held := diagnosis.Alert{Fingerprint: "held", Status: diagnosis.Firing, Labels: map[string]string{"alertname": "A"}}
	lost := diagnosis.Alert{Fingerprint: "lost", Status: diagnosis.Firing, Labels: map[string]string{"alertname": "B"}}
	old := diagnosis.Alert{Fingerprint: "old", Status: diagnosis.Firing, Labels: map[string]string{"alertname": "C"}}
	mustRecord(t, db, AlertReceipt{Channel: "C0ALERTS", MessageTS: "1.000001", Received: t0.Add(-48 * time.Hour), Alerts: []diagnosis.Alert{old}})
	mustRecord(t, db, AlertReceipt{Channel: "C0ALERTS", MessageTS: "1.000002", Received: t0, Alerts: []diagnosis.Alert{held, lost}})
	mustSave(t, db, diagnosis.Incident{ID: "inc-1", Alerts: states(held)})
	got, err := db.Ungrouped(ctx, t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Fingerprint != "lost" {
		t.Errorf("Ungrouped = %v, want only the alert received in the window that no incident holds", got)
	}
	last, err := db.LastMessage(ctx, "C0ALERTS")
	if err != nil || last != "1.000002" {
		t.Errorf("LastMessage = %q, %v; want 1.000002", last, err)
	}
	if last, _ := db.LastMessage(ctx, "C0OTHER"); last != "" {
		t.Errorf("LastMessage of a channel with nothing recorded = %q, want empty", last)
	}
}
