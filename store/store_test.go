package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// MustOpen opens a fresh database in a temporary directory, closed when the
// test ends.
func MustOpen(tb testing.TB) *DB {
	tb.Helper()
	return MustOpenPath(tb, filepath.Join(tb.TempDir(), "data", "nightowl.db"))
}

// MustOpenPath opens the database at path, closed when the test ends.
func MustOpenPath(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// MustReopen closes db and opens its file again, as a restart would.
func MustReopen(tb testing.TB, db *DB) *DB {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	return MustOpenPath(tb, db.Path())
}

// mustEqual fails the test unless got and want are deeply equal.
func mustEqual(tb testing.TB, what string, got, want any) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("%s:\n got: %s\nwant: %s", what, show(got), show(want))
	}
}

// show prints v with times in full, so a mismatch in zone or monotonic
// reading is visible.
func show(v any) string { return fmt.Sprintf("%#v", v) }

// mustAllSet fails the test if any field of v, a struct, is its zero value, so
// a fixture meant to exercise every field keeps up with new ones.
func mustAllSet(tb testing.TB, v any) {
	tb.Helper()
	var walk func(path string, rv reflect.Value)
	walk = func(path string, rv reflect.Value) {
		if rv.IsZero() {
			tb.Errorf("fixture leaves %s zero", path)
			return
		}
		switch rv.Kind() {
		case reflect.Struct:
			if rv.Type() == reflect.TypeFor[time.Time]() {
				return
			}
			for i := range rv.NumField() {
				walk(path+"."+rv.Type().Field(i).Name, rv.Field(i))
			}
		case reflect.Slice:
			for i := range rv.Len() {
				walk(fmt.Sprintf("%s[%d]", path, i), rv.Index(i))
			}
		}
	}
	walk(reflect.TypeOf(v).Name(), reflect.ValueOf(v))
}

var (
	t0    = time.Date(2026, 3, 14, 2, 30, 0, 123456789, time.UTC)
	tokyo = time.FixedZone("JST", 9*60*60)
	west  = time.FixedZone("", -(7*60*60 + 30*60))
)

// fullIncident sets every field of an incident, its times in loc.
func fullIncident(id string, loc *time.Location) diagnosis.Incident {
	at := func(d time.Duration) time.Time { return t0.Add(d).In(loc) }
	return diagnosis.Incident{
		ID:         id,
		Scope:      diagnosis.Scope{Cluster: "prod-eu", Namespace: "shop"},
		Status:     diagnosis.Resolved,
		OpenedAt:   at(0),
		ResolvedAt: at(42 * time.Minute),
		Alerts: []diagnosis.AlertState{
			{
				Alert: diagnosis.Alert{
					Fingerprint: "a1b2c3d4e5f60718",
					Status:      diagnosis.Resolved,
					Labels: map[string]string{
						"alertname": "KubePodCrashLooping", "service": "checkout", "severity": "critical",
						"pod": `checkout-7d9 "blue"`, "ünïcødé": "日本語 🦉", `we"ird\key`: "back\\slash\n",
					},
					Annotations:  map[string]string{"summary": `Pod "checkout" is crash looping`, "runbook_url": "https://example.com/rb?a=1&b=2"},
					StartsAt:     at(-3 * time.Minute),
					EndsAt:       at(40 * time.Minute),
					GeneratorURL: "http://prometheus:9090/graph?g0.expr=up%3D%3D0",
					Source:       diagnosis.SourceTemplate,
					Count:        3,
				},
				Node:      "checkout-svc",
				FirstSeen: at(time.Second),
				LastSeen:  at(41 * time.Minute),
				Received:  7,
				Flaps:     2,
			},
			{
				Alert: diagnosis.Alert{
					Fingerprint:  "0000000000000001",
					Status:       diagnosis.Firing,
					Labels:       map[string]string{"alertname": "PostgresDown", "service": "orders-db"},
					Annotations:  map[string]string{},
					StartsAt:     at(-time.Hour),
					EndsAt:       at(time.Hour),
					GeneratorURL: "x",
					Source:       diagnosis.SourceDefault,
					Count:        1,
				},
				Node:      "orders-db",
				FirstSeen: at(2 * time.Second),
				LastSeen:  at(3 * time.Second),
				Received:  1,
				Flaps:     1,
			},
		},
		More: diagnosis.AlertTally{Alerts: 3, Firing: 1, Names: map[string]int{"KubePodCrashLooping": 3},
			Nodes: map[string]int{"checkout-svc": 2, diagnosis.TallyOther: 1}},
		Received:   8,
		Reopened:   1,
		Thread:     diagnosis.Thread{Channel: "C0INCIDENTS", TS: "1710383400.000100"},
		Ack:        diagnosis.Mark{By: "U0ALICE", At: at(5 * time.Minute)},
		Escalation: diagnosis.Mark{By: "U0BOB", At: at(10 * time.Minute)},
		Resolution: diagnosis.Mark{By: "U0CAROL", At: at(40 * time.Minute)},
		SplitFrom: diagnosis.Split{Incident: "INC-PARENT", Service: "checkout-svc",
			Mark: diagnosis.Mark{By: "U0ALICE", At: at(2 * time.Minute)}},
	}
}

// openIncident is a firing incident opened at t0+d, with one alert.
func openIncident(id string, d time.Duration) diagnosis.Incident {
	return diagnosis.Incident{
		ID:       id,
		Status:   diagnosis.Firing,
		OpenedAt: t0.Add(d),
		Alerts: []diagnosis.AlertState{{
			Alert: diagnosis.Alert{
				Fingerprint: "fp-" + id,
				Status:      diagnosis.Firing,
				Labels:      map[string]string{"alertname": "HighLatency", "service": "svc-" + id},
				StartsAt:    t0.Add(d),
			},
			FirstSeen: t0.Add(d),
			LastSeen:  t0.Add(d),
			Received:  1,
		}},
		Received: 1,
	}
}

// resolvedIncident is openIncident resolved at t0+resolved.
func resolvedIncident(id string, opened, resolved time.Duration) diagnosis.Incident {
	in := openIncident(id, opened)
	in.Status = diagnosis.Resolved
	in.ResolvedAt = t0.Add(resolved)
	in.Alerts[0].Status = diagnosis.Resolved
	in.Alerts[0].EndsAt = t0.Add(resolved)
	return in
}

func ids(ins []diagnosis.Incident) []string {
	out := []string{}
	for _, in := range ins {
		out = append(out, in.ID)
	}
	return out
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	db := MustOpenPath(t, filepath.Join(t.TempDir(), "new dir", "with #odd? name%", "nightowl.db"))

	for _, tc := range []struct {
		name   string
		pragma string
		want   string
	}{
		{"the journal is in WAL mode", "journal_mode", "wal"},
		{"busy connections wait five seconds", "busy_timeout", "5000"},
		{"foreign keys are enforced", "foreign_keys", "1"},
		{"commits sync normally, as WAL allows", "synchronous", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, pool := range []struct {
				name string
				q    func(string) (string, error)
			}{
				{"writer", func(q string) (s string, err error) { return s, db.write.QueryRowContext(ctx, q).Scan(&s) }},
				{"reader", func(q string) (s string, err error) { return s, db.read.QueryRowContext(ctx, q).Scan(&s) }},
			} {
				got, err := pool.q("PRAGMA " + tc.pragma)
				if err != nil {
					t.Fatalf("%s: PRAGMA %s: %v", pool.name, tc.pragma, err)
				}
				if got != tc.want {
					t.Errorf("%s: PRAGMA %s = %q, want %q", pool.name, tc.pragma, got, tc.want)
				}
			}
		})
	}

	t.Run("the file is where it was asked for", func(t *testing.T) {
		var file string
		if err := db.read.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
			t.Fatal(err)
		}
		if file != db.Path() {
			t.Errorf("database file %q, want %q", file, db.Path())
		}
	})

	t.Run("the read pool cannot write", func(t *testing.T) {
		_, err := db.read.ExecContext(ctx, `INSERT INTO seen (key, at) VALUES ('x', 'y')`)
		if err == nil {
			t.Fatal("insert through the read pool succeeded")
		}
	})

	t.Run("an empty path is refused", func(t *testing.T) {
		if _, err := Open(ctx, ""); err == nil {
			t.Fatal("Open(\"\") succeeded")
		}
	})
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)

	got, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "empty stats", got, Stats{})

	mustRecord(t, db, AlertReceipt{Channel: "C1", MessageTS: "1.1", Received: t0, Alerts: []diagnosis.Alert{
		{Fingerprint: "a", Status: diagnosis.Firing}, {Fingerprint: "b", Status: diagnosis.Firing},
	}})
	mustSave(t, db, openIncident("open", 0))
	mustSave(t, db, resolvedIncident("done", 0, time.Hour))
	for range 3 {
		mustAppend(t, db, diagnosis.Event{Incident: "open", Kind: diagnosis.EventCardUpdated, At: t0})
	}
	got, err = db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "stats", got, Stats{AlertsReceived: 2, Incidents: 2, OpenIncidents: 1, Events: 3})
}

func TestTimeColumns(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"the zero time stays zero", time.Time{}, time.Time{}},
		{"a zero time in a zone stays zero", time.Time{}.In(tokyo), time.Time{}},
		{"nanoseconds survive", t0, t0},
		{"other zones come back in UTC", t0.In(west), t0},
		{"the monotonic reading is dropped", now, now.Round(0).UTC()},
		{"the last representable instant survives", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := encodeTime(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var got time.Time
			if err := (timeCol{&got}).Scan(s); err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "time", got, tc.want)
		})
	}

	t.Run("text sorts as time does", func(t *testing.T) {
		times := []time.Time{{}, t0, t0.Add(time.Nanosecond), t0.Add(500 * time.Millisecond), t0.Add(550 * time.Millisecond), t0.Add(time.Second)}
		for i := 1; i < len(times); i++ {
			a, _ := encodeTime(times[i-1])
			b, _ := encodeTime(times[i])
			if !(a < b) {
				t.Errorf("%q does not sort before %q", a, b)
			}
		}
	})

	t.Run("times past year 9999 are refused", func(t *testing.T) {
		if s, err := encodeTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
			t.Fatalf("encodeTime(year 10000) = %q", s)
		}
	})
}

func TestErrorsSayWhat(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	_, err := db.Incident(ctx, "inc-404")
	if err == nil || !strings.Contains(err.Error(), "inc-404") {
		t.Fatalf("Incident(inc-404) error %v does not name the incident", err)
	}
}

func TestWritableKeepsNothing(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	if err := db.Writable(ctx); err != nil {
		t.Fatalf("Writable on a fresh database: %v", err)
	}
	first, err := db.FirstSeen(ctx, "readyz:probe", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !first {
		t.Error("the probe's row was kept; want it rolled back")
	}
}
