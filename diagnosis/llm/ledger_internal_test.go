package llm

import (
	"errors"
	"testing"
	"time"
)

func TestTheHourlyBudgetIsTheLastSixtyMinutes(t *testing.T) {
	now := time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)
	l := newLedger(-1, 100)
	l.now = func() time.Time { return now }
	l.charge("INC-1", 60)
	now = now.Add(30 * time.Minute)
	l.charge("INC-2", 50)
	if err := l.check("INC-3"); !errors.Is(err, ErrHourlyBudget) {
		t.Fatalf("110 tokens in 30 minutes: %v, want the hourly budget used up", err)
	}
	now = now.Add(31 * time.Minute) // the first 60 tokens are over an hour old
	if err := l.check("INC-3"); err != nil {
		t.Errorf("50 tokens in the last hour: %v, want the call allowed", err)
	}
	now = now.Add(2 * time.Hour) // a bucket is reused for a later minute
	l.charge("INC-4", 99)
	if got := l.lastHour(); got != 99 {
		t.Errorf("last hour = %d tokens, want 99", got)
	}
}
