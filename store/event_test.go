package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func mustAppend(tb testing.TB, db *DB, e diagnosis.Event) {
	tb.Helper()
	if err := db.Append(context.Background(), e); err != nil {
		tb.Fatal(err)
	}
}

func mustEvents(tb testing.TB, db *DB, incidentID string) []diagnosis.Event {
	tb.Helper()
	got, err := db.Events(context.Background(), incidentID)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

func TestEventsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   diagnosis.Event
		want diagnosis.Event
	}{
		{
			"an event with every field set",
			diagnosis.Event{Incident: "inc-1", Kind: diagnosis.EventAcked, Actor: "U0ALICE", Detail: `acked "checkout" 🦉`, At: t0},
			diagnosis.Event{Incident: "inc-1", Kind: diagnosis.EventAcked, Actor: "U0ALICE", Detail: `acked "checkout" 🦉`, At: t0},
		},
		{
			"an event at the zero time",
			diagnosis.Event{Incident: "inc-1", Kind: diagnosis.EventRefused},
			diagnosis.Event{Incident: "inc-1", Kind: diagnosis.EventRefused},
		},
		{
			"an event in another zone comes back in UTC",
			diagnosis.Event{Incident: "inc-1", Kind: diagnosis.EventEscalated, At: t0.In(tokyo)},
			diagnosis.Event{Incident: "inc-1", Kind: diagnosis.EventEscalated, At: t0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpen(t)
			mustAppend(t, db, tc.in)
			mustEqual(t, "Events", mustEvents(t, db, "inc-1"), []diagnosis.Event{tc.want})
		})
	}
}

func TestEventsAreOrderedAndAppendOnly(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	kinds := []diagnosis.EventKind{
		diagnosis.EventAlertReceived, diagnosis.EventOpened, diagnosis.EventCardPosted, diagnosis.EventCardUpdated,
		diagnosis.EventAcked, diagnosis.EventEscalated, diagnosis.EventResolved, diagnosis.EventReopened, diagnosis.EventRefused,
	}
	var want []diagnosis.Event
	for i := range 50 {
		// Times run backwards: the order is the order of appending, not of At.
		e := diagnosis.Event{Incident: "inc-1", Kind: kinds[i%len(kinds)], Detail: fmt.Sprint(i), At: t0.Add(-time.Duration(i) * time.Second)}
		want = append(want, e)
		mustAppend(t, db, e)
		mustAppend(t, db, diagnosis.Event{Incident: "inc-2", Kind: diagnosis.EventCardUpdated, At: t0})
	}
	mustEqual(t, "Events", mustEvents(t, db, "inc-1"), want)
	if got := mustEvents(t, db, "inc-none"); got != nil {
		t.Errorf("Events of an unknown incident = %v, want none", got)
	}

	for _, tc := range []struct {
		name string
		sql  string
	}{
		{"an event cannot be changed", `UPDATE events SET detail = 'rewritten'`},
		{"an event cannot be removed", `DELETE FROM events WHERE incident_id = 'inc-1'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.write.ExecContext(ctx, tc.sql)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("%s: err = %v, want append-only", tc.sql, err)
			}
			mustEqual(t, "Events", mustEvents(t, db, "inc-1"), want)
		})
	}
}
