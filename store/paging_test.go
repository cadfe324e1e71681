package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestEachPagerActionIsQueuedOnceAndOnlyAfterATrigger(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	queue := func(incident, action string) bool {
		t.Helper()
		ok, err := db.QueuePage(ctx, incident, action, []byte(`{"incident":"`+incident+`","action":"`+action+`"}`), at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, tc := range []struct {
		name, incident, action string
		want                   bool
	}{
		{"an acknowledge before any trigger is not kept", "INC-1", "acknowledge", false},
		{"a trigger is kept", "INC-1", "trigger", true},
		{"a second trigger is not", "INC-1", "trigger", false},
		{"an acknowledge after the trigger is kept", "INC-1", "acknowledge", true},
		{"a resolve after the trigger is kept", "INC-1", "resolve", true},
		{"another incident's trigger is kept", "INC-2", "trigger", true},
	} {
		if got := queue(tc.incident, tc.action); got != tc.want {
			t.Errorf("%s: queued %v, want %v", tc.name, got, tc.want)
		}
	}
	pending, err := db.PendingPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 4 || string(pending[0]) != `{"incident":"INC-1","action":"trigger"}` {
		t.Fatalf("pending %q, want INC-1's trigger, acknowledge, resolve and INC-2's trigger, in order", pending)
	}
	if err := db.PageSent(ctx, "INC-1", "trigger", "sent", at); err != nil {
		t.Fatal(err)
	}
	if err := db.PageSent(ctx, "INC-1", "acknowledge", "sent", at); err != nil {
		t.Fatal(err)
	}
	// A restart: the same file, opened again, remembers what was sent.
	if queue("INC-1", "trigger") {
		t.Error("a trigger sent before was queued again")
	}
	pending, _ = db.PendingPages(ctx)
	if len(pending) != 2 {
		t.Errorf("%d pending after two were sent, want 2", len(pending))
	}
	sent, err := db.SentPages(ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"trigger: sent", "acknowledge: sent"}; !slices.Equal(sent, want) {
		t.Errorf("sent %q, want %q", sent, want)
	}
}

func TestASilenceMadeFromACardIsAuditedAndItsExpiryToo(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	if _, ok, err := db.IncidentSilence(ctx, "INC-1"); err != nil || ok {
		t.Fatalf("a silence before any was made (%v)", err)
	}
	s := SilenceRecord{ID: "0b1c", Incident: "INC-1", CreatedBy: "U0PRIYA", Matchers: []byte(`[{"name":"alertname"}]`),
		StartsAt: at, EndsAt: at.Add(time.Hour), CreatedAt: at}
	if err := db.SaveSilence(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.IncidentSilence(ctx, "INC-1")
	if err != nil || !ok || got.CreatedBy != "U0PRIYA" || !got.EndsAt.Equal(at.Add(time.Hour)) || !got.ExpiredAt.IsZero() {
		t.Fatalf("silence %+v (%v), want priya's, until 09:00, not expired", got, err)
	}
	if err := db.ExpireSilence(ctx, "0b1c", "U0MARCUS", at.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _, _ = db.IncidentSilence(ctx, "INC-1")
	if got.ExpiredBy != "U0MARCUS" || !got.ExpiredAt.Equal(at.Add(10*time.Minute)) {
		t.Errorf("silence %+v, want expired by marcus at 08:10", got)
	}
}
