package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func mustSave(tb testing.TB, db *DB, in diagnosis.Incident) {
	tb.Helper()
	if err := db.SaveIncident(context.Background(), in); err != nil {
		tb.Fatal(err)
	}
}

func mustIncident(tb testing.TB, db *DB, id string) diagnosis.Incident {
	tb.Helper()
	in, err := db.Incident(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

func TestFixturesSetEveryField(t *testing.T) {
	// The store names each field it keeps (see stateRecord); when the domain
	// grows a field, this fails until the fixture, and so the round-trip
	// tests, cover it.
	mustAllSet(t, fullIncident("inc-1", time.UTC))
}

func TestIncidentRoundTrip(t *testing.T) {
	tokyoIncident := fullIncident("inc-tokyo", tokyo)
	for _, tc := range []struct {
		name string
		in   diagnosis.Incident
		want diagnosis.Incident
	}{
		{"an incident with every field set comes back as saved", fullIncident("inc-full", time.UTC), fullIncident("inc-full", time.UTC)},
		{"times in other zones come back in UTC", tokyoIncident, fullIncident("inc-tokyo", time.UTC)},
		{
			"a new incident with zero times and no alerts comes back as saved",
			diagnosis.Incident{ID: "inc-new"},
			diagnosis.Incident{ID: "inc-new"},
		},
		{
			"an empty alert list stays empty, not nil",
			diagnosis.Incident{ID: "inc-empty", Alerts: []diagnosis.AlertState{}},
			diagnosis.Incident{ID: "inc-empty", Alerts: []diagnosis.AlertState{}},
		},
		{
			"nil and empty maps and zero alert times stay apart",
			diagnosis.Incident{ID: "inc-maps", Alerts: []diagnosis.AlertState{
				{Alert: diagnosis.Alert{Fingerprint: "nil"}},
				{Alert: diagnosis.Alert{Fingerprint: "empty", Labels: map[string]string{}, Annotations: map[string]string{}}},
			}},
			diagnosis.Incident{ID: "inc-maps", Alerts: []diagnosis.AlertState{
				{Alert: diagnosis.Alert{Fingerprint: "nil"}},
				{Alert: diagnosis.Alert{Fingerprint: "empty", Labels: map[string]string{}, Annotations: map[string]string{}}},
			}},
		},
		{
			"ids and scopes with quotes and unicode survive",
			diagnosis.Incident{ID: `inc-"🦉"-'x'; DROP TABLE incidents;--`, Scope: diagnosis.Scope{Cluster: "κλάστερ", Namespace: `n"s`}, Status: diagnosis.Firing},
			diagnosis.Incident{ID: `inc-"🦉"-'x'; DROP TABLE incidents;--`, Scope: diagnosis.Scope{Cluster: "κλάστερ", Namespace: `n"s`}, Status: diagnosis.Firing},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpen(t)
			mustSave(t, db, tc.in)
			mustEqual(t, "Incident", mustIncident(t, db, tc.in.ID), tc.want)

			db = MustReopen(t, db)
			mustEqual(t, "Incident after reopening", mustIncident(t, db, tc.in.ID), tc.want)
		})
	}
}

func TestSaveIncidentReplaces(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	first := fullIncident("inc-1", time.UTC)
	mustSave(t, db, first)

	second := openIncident("inc-1", time.Hour)
	mustSave(t, db, second)
	mustEqual(t, "Incident", mustIncident(t, db, "inc-1"), second)

	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM incidents`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d incident rows after saving one incident twice, want 1", n)
	}
}

func TestIncidentAlertsFollowSaves(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	type row struct {
		Fingerprint, Alertname, Service, Node, Severity, Status, EndsAt string
		Received, Flaps                                                 int
	}
	rows := func() []row {
		t.Helper()
		rs, err := db.read.QueryContext(ctx, `
			SELECT fingerprint, alertname, service, node, severity, status, ifnull(ends_at, ''), received, flaps
			FROM incident_alerts WHERE incident_id = 'inc-1' ORDER BY position`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []row
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.Fingerprint, &r.Alertname, &r.Service, &r.Node, &r.Severity, &r.Status, &r.EndsAt, &r.Received, &r.Flaps); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}

	full := fullIncident("inc-1", tokyo)
	mustSave(t, db, full)
	mustEqual(t, "rows after the first save", rows(), []row{
		{"a1b2c3d4e5f60718", "KubePodCrashLooping", "checkout", "checkout-svc", "critical", "resolved", "2026-03-14T03:10:00.123456789Z", 7, 2},
		{"0000000000000001", "PostgresDown", "orders-db", "orders-db", "unknown", "firing", "2026-03-14T03:30:00.123456789Z", 1, 1},
	})

	full.Alerts = full.Alerts[1:]
	full.Alerts[0].Received = 9
	mustSave(t, db, full)
	mustEqual(t, "rows after dropping an alert", rows(), []row{
		{"0000000000000001", "PostgresDown", "orders-db", "orders-db", "unknown", "firing", "2026-03-14T03:30:00.123456789Z", 9, 1},
	})

	full.Alerts = nil
	mustSave(t, db, full)
	mustEqual(t, "rows after dropping every alert", rows(), []row(nil))
}

func TestIncidentNotFound(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	posted := openIncident("inc-posted", 0)
	posted.Thread = diagnosis.Thread{Channel: "C1", TS: "100.1"}
	mustSave(t, db, posted)
	mustSave(t, db, openIncident("inc-unposted", 0))

	for _, tc := range []struct {
		name string
		get  func() (diagnosis.Incident, error)
	}{
		{"an unknown id", func() (diagnosis.Incident, error) { return db.Incident(ctx, "inc-nope") }},
		{"an unknown thread", func() (diagnosis.Incident, error) { return db.IncidentByThread(ctx, "C1", "100.2") }},
		{"a known ts in another channel", func() (diagnosis.Incident, error) { return db.IncidentByThread(ctx, "C2", "100.1") }},
		{"an empty thread, which unposted incidents share", func() (diagnosis.Incident, error) { return db.IncidentByThread(ctx, "", "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := tc.get()
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("got %v, %v; want ErrNotFound", in.ID, err)
			}
		})
	}
}

func TestIncidentByThread(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	a := fullIncident("inc-a", time.UTC)
	b := openIncident("inc-b", time.Hour)
	b.Thread = diagnosis.Thread{Channel: "C0INCIDENTS", TS: "1710383400.000200"}
	mustSave(t, db, a)
	mustSave(t, db, b)

	for _, want := range []diagnosis.Incident{a, b} {
		got, err := db.IncidentByThread(ctx, want.Thread.Channel, want.Thread.TS)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "IncidentByThread", got, want)
	}
}

func TestIncidentExists(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	mustSave(t, db, openIncident("inc-1", 0))
	for _, tc := range []struct {
		name string
		id   string
		want bool
	}{
		{"a saved incident exists", "inc-1", true},
		{"an unsaved one does not", "inc-2", false},
		{"nor does the empty id", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.IncidentExists(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("IncidentExists(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}

func TestActiveIncidents(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	// Saved out of order, to show the result is ordered by opening.
	mustSave(t, db, openIncident("firing-late", 5*time.Hour))
	mustSave(t, db, resolvedIncident("resolved-long-ago", 0, time.Hour))
	mustSave(t, db, resolvedIncident("resolved-at-cutoff", 2*time.Hour, 4*time.Hour))
	mustSave(t, db, resolvedIncident("resolved-recently", 3*time.Hour, 4*time.Hour+time.Nanosecond))
	mustSave(t, db, openIncident("firing-early", time.Minute))
	acked := openIncident("firing-acked", 4*time.Hour)
	acked.Ack = diagnosis.Mark{By: "U1", At: t0.Add(4 * time.Hour)}
	mustSave(t, db, acked)

	for _, tc := range []struct {
		name  string
		since time.Time
		want  []string
	}{
		{
			"firing incidents and those resolved since the cutoff, oldest first",
			t0.Add(4 * time.Hour),
			[]string{"firing-early", "resolved-at-cutoff", "resolved-recently", "firing-acked", "firing-late"},
		},
		{
			"a cutoff after every resolve keeps the firing ones",
			t0.Add(24 * time.Hour),
			[]string{"firing-early", "firing-acked", "firing-late"},
		},
		{
			"the zero cutoff keeps everything",
			time.Time{},
			[]string{"resolved-long-ago", "firing-early", "resolved-at-cutoff", "resolved-recently", "firing-acked", "firing-late"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.ActiveIncidents(ctx, tc.since)
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "ActiveIncidents", ids(got), tc.want)
		})
	}

	t.Run("they survive a restart, whole", func(t *testing.T) {
		before, err := db.ActiveIncidents(ctx, t0.Add(4*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		db := MustReopen(t, db)
		after, err := db.ActiveIncidents(ctx, t0.Add(4*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "ActiveIncidents after a restart", after, before)
		mustEqual(t, "the acked incident", after[3], acked)
	})
}

func TestIncidents(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	mustSave(t, db, resolvedIncident("r1", 0, time.Hour))
	mustSave(t, db, openIncident("f1", time.Hour))
	mustSave(t, db, resolvedIncident("r2", 2*time.Hour, 3*time.Hour))
	mustSave(t, db, openIncident("f2", 3*time.Hour))
	mustSave(t, db, openIncident("f3-same-time", 3*time.Hour))

	for _, tc := range []struct {
		name string
		f    IncidentFilter
		want []string
	}{
		{"no filter lists all, newest first", IncidentFilter{}, []string{"f3-same-time", "f2", "r2", "f1", "r1"}},
		{"a status keeps that status", IncidentFilter{Status: diagnosis.Resolved}, []string{"r2", "r1"}},
		{"since keeps those opened at or after it", IncidentFilter{Since: t0.Add(2 * time.Hour)}, []string{"f3-same-time", "f2", "r2"}},
		{"a limit keeps the newest", IncidentFilter{Limit: 2}, []string{"f3-same-time", "f2"}},
		{"all three combine", IncidentFilter{Status: diagnosis.Firing, Since: t0.Add(time.Hour), Limit: 2}, []string{"f3-same-time", "f2"}},
		{"a filter nothing matches gives nothing", IncidentFilter{Since: t0.Add(24 * time.Hour)}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Incidents(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "Incidents", ids(got), tc.want)
		})
	}
}

func TestSaveIncidentRefuses(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	tooLate := openIncident("inc-late", 0)
	tooLate.Alerts[0].LastSeen = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)

	for _, tc := range []struct {
		name string
		in   diagnosis.Incident
	}{
		{"an incident without an id", openIncident("", 0)},
		{"a time past year 9999, leaving nothing half-written", tooLate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.SaveIncident(ctx, tc.in); err == nil {
				t.Fatal("SaveIncident succeeded")
			}
			s, err := db.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s.Incidents != 0 {
				t.Errorf("%d incidents saved, want 0", s.Incidents)
			}
		})
	}

	t.Run("a cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := db.SaveIncident(ctx, openIncident("inc-1", 0)); !errors.Is(err, context.Canceled) {
			t.Fatalf("SaveIncident = %v, want context.Canceled", err)
		}
	})
}
