package oncall_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
)

// memLedger is a Ledger in memory that outlives the schedules using it,
// as the store outlives a restart.
type memLedger struct {
	mu      sync.Mutex
	claimed map[string]bool
}

func (l *memLedger) ClaimWeek(_ context.Context, week string, _ time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.claimed[week] {
		return false, nil
	}
	if l.claimed == nil {
		l.claimed = map[string]bool{}
	}
	l.claimed[week] = true
	return true, nil
}

func (l *memLedger) PostedWeek(context.Context, string, time.Time) error { return nil }

func (l *memLedger) ReleaseWeek(_ context.Context, week string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.claimed, week)
	return nil
}

// posts records what was posted, and when; fail makes the next posts fail.
type posts struct {
	mu   sync.Mutex
	got  []string
	fail int
}

func (p *posts) post(_ context.Context, from, to time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		return errors.New("slack is down")
	}
	p.got = append(p.got, time.Now().UTC().Format("Mon 01-02 15:04")+" "+from.Format("01-02")+"→"+to.Format("01-02"))
	return nil
}

func (p *posts) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

// runFor runs a schedule for d of the bubble's time, then stops it.
func runFor(t *testing.T, w *oncall.Weekly, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	time.Sleep(d)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestTheWeeklyReportPostsEachMondayAtNineOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble starts on Saturday 2000-01-01 00:00 UTC: Monday
		// 12-27's report is too old to catch up on.
		ledger, p := &memLedger{}, &posts{}
		w := oncall.NewWeekly(oncall.WeeklyConfig{Ledger: ledger, Post: p.post})
		runFor(t, w, 16*24*time.Hour)
		want := []string{"Mon 01-03 09:00 12-27→01-03", "Mon 01-10 09:00 01-03→01-10"}
		if got := p.list(); !equal(got, want) {
			t.Fatalf("posts:\n got %q\nwant %q", got, want)
		}
		// A restart on Monday at 10:00 finds the week posted.
		restarted := oncall.NewWeekly(oncall.WeeklyConfig{Ledger: ledger, Post: p.post})
		time.Sleep(time.Hour) // Monday 01-17 01:00
		runFor(t, restarted, 10*time.Hour)
		again := oncall.NewWeekly(oncall.WeeklyConfig{Ledger: ledger, Post: p.post})
		runFor(t, again, time.Hour)
		want = append(want, "Mon 01-17 09:00 01-10→01-17")
		if got := p.list(); !equal(got, want) {
			t.Fatalf("posts after restarts:\n got %q\nwant %q", got, want)
		}
	})
}

func TestAMondayMissedWhileDownIsPostedAtStartAndAFailedPostIsTriedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(2*24*time.Hour + 14*time.Hour) // Monday 01-03 14:00: nightowl was down at 09:00
		ledger, p := &memLedger{}, &posts{fail: 1}
		w := oncall.NewWeekly(oncall.WeeklyConfig{Ledger: ledger, Post: p.post, Retry: 15 * time.Minute})
		runFor(t, w, time.Hour)
		want := []string{"Mon 01-03 14:15 12-27→01-03"}
		if got := p.list(); !equal(got, want) {
			t.Fatalf("posts:\n got %q\nwant %q", got, want)
		}
	})
}

func TestTheSlotIsMondayNineInTheZone(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	// Sunday 2026-03-08 is when New York moves to summer time.
	got := oncall.Slot(time.Date(2026, 3, 11, 3, 0, 0, 0, loc), loc)
	if want := time.Date(2026, 3, 9, 9, 0, 0, 0, loc); !got.Equal(want) {
		t.Fatalf("slot: got %s, want %s", got, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
