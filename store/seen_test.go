package store

import (
	"context"
	"testing"
	"time"
)

func mustFirstSeen(tb testing.TB, db *DB, key string, at time.Time) bool {
	tb.Helper()
	first, err := db.FirstSeen(context.Background(), key, at)
	if err != nil {
		tb.Fatal(err)
	}
	return first
}

func TestFirstSeen(t *testing.T) {
	outer := t
	db := MustOpen(t)
	for _, tc := range []struct {
		name    string
		key     string
		restart bool
		want    bool
	}{
		{"a new key is first seen", "envelope:1", false, true},
		{"the same key again is not", "envelope:1", false, false},
		{"another key is", "message:C1/1710383400.000100", false, true},
		{"a key seen before a restart is not first seen after it", "envelope:1", true, false},
		{"a new key after a restart is", "envelope:2", false, true},
		{"keys are exact, not case-folded", "ENVELOPE:1", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.restart {
				db = MustReopen(outer, db) // closed when the whole test ends
			}
			if got := mustFirstSeen(t, db, tc.key, t0); got != tc.want {
				t.Errorf("FirstSeen(%q) = %v, want %v", tc.key, got, tc.want)
			}
		})
	}
}

func TestPruneSeen(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	for _, k := range []struct {
		key string
		at  time.Time
	}{
		{"old", t0.Add(-time.Hour)},
		{"older", t0.Add(-2 * time.Hour)},
		{"cutoff", t0},
		{"new", t0.Add(time.Hour).In(tokyo)},
	} {
		mustFirstSeen(t, db, k.key, k.at)
	}

	n, err := db.PruneSeen(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("PruneSeen pruned %d keys, want 2", n)
	}
	for _, tc := range []struct {
		key  string
		want bool
	}{{"old", true}, {"older", true}, {"cutoff", false}, {"new", false}} {
		if got := mustFirstSeen(t, db, tc.key, t0); got != tc.want {
			t.Errorf("after pruning, FirstSeen(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}
