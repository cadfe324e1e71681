package store

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func mustRecord(tb testing.TB, db *DB, r AlertReceipt) {
	tb.Helper()
	if err := db.RecordAlerts(context.Background(), r); err != nil {
		tb.Fatal(err)
	}
}

func mustAlertLog(tb testing.TB, db *DB, incidentID string) []diagnosis.Alert {
	tb.Helper()
	got, err := db.AlertLog(context.Background(), incidentID)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// states wraps alerts as an incident's alert states.
func states(alerts ...diagnosis.Alert) []diagnosis.AlertState {
	out := make([]diagnosis.AlertState, len(alerts))
	for i, a := range alerts {
		out[i] = diagnosis.AlertState{Alert: a, FirstSeen: t0, LastSeen: t0, Received: 1}
	}
	return out
}

func TestAlertLogRoundTrip(t *testing.T) {
	full := fullIncident("inc-1", time.UTC)
	fullInTokyo := fullIncident("inc-1", tokyo)
	for _, tc := range []struct {
		name string
		in   []diagnosis.Alert
		want []diagnosis.Alert
	}{
		{
			"alerts with every field set come back as received",
			[]diagnosis.Alert{full.Alerts[0].Alert, full.Alerts[1].Alert},
			[]diagnosis.Alert{full.Alerts[0].Alert, full.Alerts[1].Alert},
		},
		{
			"times in other zones come back in UTC",
			[]diagnosis.Alert{fullInTokyo.Alerts[0].Alert},
			[]diagnosis.Alert{full.Alerts[0].Alert},
		},
		{
			"nil and empty maps and zero times stay apart",
			[]diagnosis.Alert{{Fingerprint: "fp"}, {Fingerprint: "fp", Labels: map[string]string{}, Annotations: map[string]string{}}},
			[]diagnosis.Alert{{Fingerprint: "fp"}, {Fingerprint: "fp", Labels: map[string]string{}, Annotations: map[string]string{}}},
		},
		{
			"repeats are all kept",
			[]diagnosis.Alert{{Fingerprint: "fp", Status: diagnosis.Firing}, {Fingerprint: "fp", Status: diagnosis.Firing}, {Fingerprint: "fp", Status: diagnosis.Resolved}},
			[]diagnosis.Alert{{Fingerprint: "fp", Status: diagnosis.Firing}, {Fingerprint: "fp", Status: diagnosis.Firing}, {Fingerprint: "fp", Status: diagnosis.Resolved}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpen(t)
			mustRecord(t, db, AlertReceipt{Channel: "C0ALERTS", MessageTS: "1.000001", Received: t0, Alerts: tc.in})
			mustSave(t, db, diagnosis.Incident{ID: "inc-1", Alerts: states(tc.in...)})
			mustEqual(t, "AlertLog", mustAlertLog(t, db, "inc-1"), tc.want)
		})
	}
}

func TestRecordAlertsColumns(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	a := fullIncident("x", tokyo).Alerts[0].Alert
	mustRecord(t, db, AlertReceipt{Channel: "C0ALERTS", MessageTS: "1710383400.000100", Received: t0.In(west), Alerts: []diagnosis.Alert{a}})

	type row struct {
		Alertname, Service, Source, ReceivedAt, Channel, MessageTS, StartsAt string
		Pod                                                                  string
	}
	var got row
	if err := db.read.QueryRowContext(ctx, `
		SELECT alertname, service, source, received_at, channel, message_ts, starts_at,
			labels ->> '$.pod'
		FROM alerts`).Scan(&got.Alertname, &got.Service, &got.Source, &got.ReceivedAt, &got.Channel, &got.MessageTS, &got.StartsAt, &got.Pod); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "alerts row", got, row{
		Alertname:  "KubePodCrashLooping",
		Service:    "checkout",
		Source:     "template",
		ReceivedAt: "2026-03-14T02:30:00.123456789Z",
		Channel:    "C0ALERTS",
		MessageTS:  "1710383400.000100",
		StartsAt:   "2026-03-14T02:27:00.123456789Z",
		Pod:        `checkout-7d9 "blue"`,
	})
}

func TestRecordAlertsIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	err := db.RecordAlerts(ctx, AlertReceipt{Received: t0, Alerts: []diagnosis.Alert{
		{Fingerprint: "ok", StartsAt: t0},
		{Fingerprint: "bad", StartsAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}})
	if err == nil {
		t.Fatal("RecordAlerts succeeded with a time past year 9999")
	}
	s, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.AlertsReceived != 0 {
		t.Errorf("%d alerts recorded, want 0", s.AlertsReceived)
	}
}

func TestAlertLogLinksToIncidents(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	alert := func(fp string, s diagnosis.Status) diagnosis.Alert {
		return diagnosis.Alert{Fingerprint: fp, Status: s, Labels: map[string]string{"alertname": fp}}
	}
	mustRecord(t, db, AlertReceipt{Channel: "C1", MessageTS: "1", Received: t0, Alerts: []diagnosis.Alert{
		alert("a", diagnosis.Firing), alert("stray", diagnosis.Firing), alert("b", diagnosis.Firing),
	}})
	mustRecord(t, db, AlertReceipt{Channel: "C1", MessageTS: "2", Received: t0.Add(time.Minute), Alerts: []diagnosis.Alert{
		alert("a", diagnosis.Resolved),
	}})
	mustSave(t, db, diagnosis.Incident{ID: "inc-1", Alerts: states(alert("a", diagnosis.Resolved), alert("b", diagnosis.Firing))})

	// "a" fires again later and lands in a second incident; what the first
	// incident already had stays with it.
	mustRecord(t, db, AlertReceipt{Channel: "C1", MessageTS: "3", Received: t0.Add(time.Hour), Alerts: []diagnosis.Alert{
		alert("a", diagnosis.Firing),
	}})
	mustSave(t, db, diagnosis.Incident{ID: "inc-2", Alerts: states(alert("a", diagnosis.Firing))})
	mustSave(t, db, diagnosis.Incident{ID: "inc-1", Alerts: states(alert("a", diagnosis.Resolved), alert("b", diagnosis.Resolved))})

	for _, tc := range []struct {
		name     string
		incident string
		want     []diagnosis.Alert
	}{
		{"an incident gets its alerts in receipt order", "inc-1", []diagnosis.Alert{
			alert("a", diagnosis.Firing), alert("b", diagnosis.Firing), alert("a", diagnosis.Resolved),
		}},
		{"a later incident gets only the later receipts", "inc-2", []diagnosis.Alert{alert("a", diagnosis.Firing)}},
		{"an unknown incident has none", "inc-nope", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustEqual(t, "AlertLog", mustAlertLog(t, db, tc.incident), tc.want)
		})
	}

	t.Run("alerts of no incident stay unlinked", func(t *testing.T) {
		var n int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE incident_id IS NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d unlinked alerts, want 1 (stray)", n)
		}
	})

	t.Run("the log refuses deletes", func(t *testing.T) {
		if _, err := db.write.ExecContext(ctx, `DELETE FROM alerts`); err == nil {
			t.Fatal("DELETE FROM alerts succeeded")
		}
	})
}

func TestRecordAlertsWithNoAlerts(t *testing.T) {
	db := MustOpen(t)
	mustRecord(t, db, AlertReceipt{Channel: "C1", MessageTS: "1", Received: t0})
	s, err := db.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "stats", s, Stats{})
}

func TestAlertOriginsNameWhoFirstReportedEachAlertFiring(t *testing.T) {
	db := MustOpen(t)
	firing := func(fp string) diagnosis.Alert { return diagnosis.Alert{Fingerprint: fp, Status: diagnosis.Firing} }
	resolved := func(fp string) diagnosis.Alert { return diagnosis.Alert{Fingerprint: fp, Status: diagnosis.Resolved} }
	mustRecord(t, db, AlertReceipt{Channel: "C1", MessageTS: "1", RelayedBy: "B0OTHER", Received: t0, Alerts: []diagnosis.Alert{resolved("a")}})
	mustRecord(t, db, AlertReceipt{Channel: "C1", MessageTS: "2", RelayedBy: "B0AM", Received: t0, Alerts: []diagnosis.Alert{firing("a"), firing("b")}})
	mustRecord(t, db, AlertReceipt{Channel: "C1", MessageTS: "3", RelayedBy: "B0OTHER", Received: t0, Alerts: []diagnosis.Alert{firing("a"), firing("c")}})
	mustRecord(t, db, AlertReceipt{Channel: "C1", MessageTS: "4", Received: t0, Alerts: []diagnosis.Alert{firing("legacy")}})

	fps := []string{"a", "b", "c", "legacy", "never"}
	for i := range 1200 { // more than one batch
		fps = append(fps, fmt.Sprintf("none-%d", i))
	}
	got, err := db.AlertOrigins(context.Background(), fps)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "B0AM", "b": "B0AM", "c": "B0OTHER", "legacy": ""}
	if !maps.Equal(got, want) {
		t.Errorf("origins = %v, want %v (the first firing report counts; a resolution does not claim an alert)", got, want)
	}
}
