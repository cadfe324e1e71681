package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// changes is how many rows the writer has inserted, updated or deleted
// since it opened (it is one connection).
func changes(tb testing.TB, db *DB) int64 {
	tb.Helper()
	var n int64
	if err := db.write.QueryRowContext(context.Background(), `SELECT total_changes()`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// manyAlerts is an incident holding n alerts one by one.
func manyAlerts(id string, n int) diagnosis.Incident {
	in := openIncident(id, 0)
	in.Alerts = nil
	for i := range n {
		a := benchAlert(i)
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a, Node: a.Service(), FirstSeen: t0, LastSeen: t0, Received: 1})
	}
	return in
}

func TestSaveIncidentWritesOnlyTheAlertRowsThatChanged(t *testing.T) {
	db := MustOpen(t)
	in := manyAlerts("inc-big", 200)
	mustSave(t, db, in)

	before := changes(t, db)
	in.Alerts[7].LastSeen, in.Alerts[7].Received = t0.Add(time.Minute), 2
	mustSave(t, db, in)
	if got := changes(t, db) - before; got != 2 {
		t.Errorf("a save after one alert changed wrote %d rows, want 2 (the incident and that alert)", got)
	}
	got, err := db.Incident(context.Background(), "inc-big")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "the changed alert", got.Alerts[7].Received, 2)
	var rows int
	if err := db.read.QueryRow(`SELECT count(*) FROM incident_alerts WHERE incident_id = 'inc-big'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "alert rows", rows, 200)
}

func TestActiveIncidentsLeaveOutRetiredOnes(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	mustSave(t, db, openIncident("inc-stale", 0))
	mustSave(t, db, openIncident("inc-live", time.Minute))
	if err := db.RetireIncident(ctx, "inc-stale", t0.Add(24*time.Hour), "no alert notification for 24h"); err != nil {
		t.Fatal(err)
	}
	mustSave(t, db, openIncident("inc-stale", 0)) // a late save does not bring it back
	active, err := db.ActiveIncidents(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range active {
		ids = append(ids, in.ID)
	}
	mustEqual(t, "active incidents", ids, []string{"inc-live"})
	at, why, err := db.Retired(ctx, "inc-stale")
	if err != nil || !at.Equal(t0.Add(24*time.Hour)) || why != "no alert notification for 24h" {
		t.Errorf("Retired = %v, %q, %v", at, why, err)
	}
	if err := db.RetireIncident(ctx, "inc-nope", t0, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("retiring an unknown incident: %v, want ErrNotFound", err)
	}
}

func TestTheAlertLogKeepsEveryAlertAnIncidentSummarises(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	var alerts []diagnosis.Alert
	for i := range 5 {
		alerts = append(alerts, benchAlert(i))
	}
	mustRecord(t, db, AlertReceipt{Channel: "C0ALERTS", MessageTS: "1.000001", Received: t0, Alerts: alerts})
	in := openIncident("inc-1", 0)
	in.Alerts = states(alerts[:2]...)
	in.More = diagnosis.AlertTally{Alerts: 3, Firing: 3}
	mustSave(t, db, in)
	if err := db.LinkAlerts(ctx, "inc-1", []string{alerts[2].Fingerprint, alerts[3].Fingerprint, alerts[4].Fingerprint}); err != nil {
		t.Fatal(err)
	}
	gone := alerts[3]
	gone.Status = diagnosis.Resolved
	mustRecord(t, db, AlertReceipt{Channel: "C0ALERTS", MessageTS: "1.000002", Received: t0.Add(time.Minute), Alerts: []diagnosis.Alert{gone}})
	if err := db.LinkAlerts(ctx, "inc-1", []string{gone.Fingerprint}); err != nil {
		t.Fatal(err)
	}

	if log := mustAlertLog(t, db, "inc-1"); len(log) != 6 {
		t.Errorf("the incident's alert log holds %d notifications, want all 6", len(log))
	}
	got, err := db.SummarisedAlerts(ctx, "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "summarised alerts", got, map[string]diagnosis.Status{
		alerts[2].Fingerprint: diagnosis.Firing, alerts[3].Fingerprint: diagnosis.Resolved, alerts[4].Fingerprint: diagnosis.Firing,
	})
	back, err := db.Incident(ctx, "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "summary", back.More, in.More)
}

func TestTrimKeepsEachIncidentsSummaryTimelineAndAudit(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	old, recent := t0, t0.Add(100*24*time.Hour)
	cutoff := recent.Add(-90 * 24 * time.Hour)

	record := func(ts string, at time.Time, a diagnosis.Alert) {
		t.Helper()
		mustRecord(t, db, AlertReceipt{Channel: "C0ALERTS", MessageTS: ts, Received: at, Alerts: []diagnosis.Alert{a}})
	}
	// A resolved incident from long ago, one still firing since long ago,
	// an alert nobody grouped, and a recent alert.
	closed := resolvedIncident("inc-closed", 0, time.Hour)
	firing := openIncident("inc-firing", 0)
	record("1.1", old, closed.Alerts[0].Alert)
	record("1.2", old, firing.Alerts[0].Alert)
	record("1.3", old, benchAlert(99))
	record("2.1", recent, benchAlert(98))
	mustSave(t, db, closed)
	mustSave(t, db, firing)
	for _, e := range []diagnosis.Event{
		{Incident: "inc-closed", Kind: diagnosis.EventOpened, At: old},
		{Incident: "inc-closed", Kind: diagnosis.EventCardUpdated, At: old},
		{Incident: "inc-closed", Kind: diagnosis.EventAcked, Actor: "U0ALICE", At: old},
		{Incident: "inc-closed", Kind: diagnosis.EventCardUpdated, At: recent},
		{Incident: "inc-closed", Kind: diagnosis.EventResolved, At: old},
	} {
		if err := db.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for i, at := range []time.Time{old, recent} {
		if _, err := db.FirstSeen(ctx, fmt.Sprint("event:", i), at); err != nil {
			t.Fatal(err)
		}
	}

	// Before any trim, the log is append-only.
	if _, err := db.write.ExecContext(ctx, `DELETE FROM alerts`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("deleting the alert log before retention: %v, want it refused", err)
	}
	done, err := db.Trim(ctx, cutoff, recent.Add(-7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "trimmed", done, Trimmed{Alerts: 2, Events: 1, Seen: 1})

	if log := mustAlertLog(t, db, "inc-firing"); len(log) != 1 {
		t.Errorf("the firing incident's alert log holds %d alerts, want its one kept whatever its age", len(log))
	}
	if log := mustAlertLog(t, db, "inc-closed"); len(log) != 0 {
		t.Errorf("the resolved incident's old alert log holds %d alerts, want none", len(log))
	}
	events, err := db.Events(ctx, "inc-closed")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []diagnosis.EventKind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	mustEqual(t, "the timeline", kinds, []diagnosis.EventKind{diagnosis.EventOpened, diagnosis.EventAcked, diagnosis.EventCardUpdated, diagnosis.EventResolved})
	back, err := db.Incident(ctx, "inc-closed")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "the incident's summary", back.Alerts[0].Fingerprint, closed.Alerts[0].Fingerprint)

	// What is newer than the cutoff stays append-only.
	if _, err := db.write.ExecContext(ctx, `DELETE FROM alerts`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("deleting recent alerts: %v, want it refused", err)
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM events WHERE kind = 'acked'`); err == nil {
		t.Errorf("deleting an old acknowledgement succeeded, want the timeline kept")
	}
	var runs, alerts int64
	if err := db.read.QueryRow(`SELECT count(*), sum(alerts) FROM retention_runs WHERE finished_at IS NOT NULL`).Scan(&runs, &alerts); err != nil || runs != 1 || alerts != 2 {
		t.Errorf("retention runs %d trimming %d alerts (%v), want one run of 2", runs, alerts, err)
	}
}

func TestBackupIsAWholeDatabaseThatOpens(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	mustSave(t, db, fullIncident("inc-1", time.UTC))
	mustRecord(t, db, AlertReceipt{Channel: "C0ALERTS", MessageTS: "1.1", Received: t0, Alerts: []diagnosis.Alert{benchAlert(1)}})
	dest := filepath.Join(t.TempDir(), "backup.db")

	info, err := Backup(ctx, db.Path(), dest) // while the database is open
	if err != nil {
		t.Fatal(err)
	}
	if info.Incidents != 1 || info.Alerts != 1 || info.Schema != len(shipped(t)) || info.Bytes == 0 {
		t.Errorf("backup info %+v, want 1 incident, 1 alert, schema %d", info, len(shipped(t)))
	}
	copyDB := MustOpenPath(t, dest)
	got, err := copyDB.Incident(ctx, "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "the incident in the backup", got, fullIncident("inc-1", time.UTC))

	if _, err := Backup(ctx, db.Path(), dest); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a backup over an existing file: %v, want it refused", err)
	}
	if _, err := Backup(ctx, filepath.Join(t.TempDir(), "missing.db"), filepath.Join(t.TempDir(), "b.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a backup of a missing database: %v, want it refused", err)
	}
}

// BenchmarkSaveIncidentOfMaxAlerts saves an incident that holds the
// Grouper's default MaxAlerts alerts one by one, after one of them changed:
// the cost of the save a burst causes on the largest incident.
func BenchmarkSaveIncidentOfMaxAlerts(b *testing.B) {
	db := MustOpen(b)
	in := manyAlerts("inc-big", diagnosis.DefaultMaxAlerts)
	in.More = diagnosis.AlertTally{Alerts: 99_500, Firing: 99_500}
	mustSave(b, db, in)
	n := 0
	for b.Loop() {
		n++
		in.Alerts[n%len(in.Alerts)].LastSeen = t0.Add(time.Duration(n) * time.Second)
		if err := db.SaveIncident(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(n), "ms/save")
}
