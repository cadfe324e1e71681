package lease_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nightowl-sre/nightowl/deploy/lease"
	"github.com/nightowl-sre/nightowl/deploy/lease/leasetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Short terms for tests; whole seconds for the lease, as the Lease keeps it.
// The lease outlasts the renew deadline by as much as the deadline, so
// that a leader cut off is silent well before a standby may take over,
// even on a busy machine (the defaults, 15 s and 10 s, leave 5 s).
const (
	leaseDuration = 3 * time.Second
	renewDeadline = 1500 * time.Millisecond
	retryPeriod   = 250 * time.Millisecond
)

// voices records who speaks, and fails the test if two ever do at once.
type voices struct {
	tb       testing.TB
	speaking atomic.Int32
	mu       sync.Mutex
	started  map[string][]time.Time
	stopped  map[string][]time.Time
}

func newVoices(tb testing.TB) *voices {
	return &voices{tb: tb, started: map[string][]time.Time{}, stopped: map[string][]time.Time{}}
}

// lead is a leader's work: speak until told to stop, then take a moment
// to stop, as closing a socket does.
func (v *voices) lead(id string) func(context.Context) error {
	return func(ctx context.Context) error {
		if n := v.speaking.Add(1); n > 1 {
			v.tb.Errorf("%s speaks while %d others do", id, n-1)
		}
		v.mu.Lock()
		v.started[id] = append(v.started[id], time.Now())
		v.mu.Unlock()
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond)
		v.mu.Lock()
		v.stopped[id] = append(v.stopped[id], time.Now())
		v.mu.Unlock()
		v.speaking.Add(-1)
		return nil
	}
}

func (v *voices) terms(id string) (started, stopped []time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]time.Time(nil), v.started[id]...), append([]time.Time(nil), v.stopped[id]...)
}

// replica is one elector campaigning in the background.
type replica struct {
	*lease.Elector
	stop func()
	err  chan error
}

func mustCampaign(tb testing.TB, c *leasetest.Cluster, id string, lead func(context.Context) error) *replica {
	tb.Helper()
	e, err := lease.New(lease.Config{Client: c.Client(id), Namespace: "nightowl", Name: "nightowl", Identity: id,
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{Elector: e, err: make(chan error, 1)}
	go func() { r.err <- e.Lead(ctx, lead) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-r.err; err != nil {
				tb.Errorf("%s: Lead: %v", id, err)
			}
		})
	}
	tb.Cleanup(r.stop)
	return r
}

func waitFor(tb testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			tb.Fatalf("gave up after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func leading(r *replica) func() bool {
	return func() bool { _, on := r.Holder(); return on }
}

func TestAStandbySpeaksOnlyOnceTheLeaderHasStopped(t *testing.T) {
	c := leasetest.New()
	v := newVoices(t)
	a := mustCampaign(t, c, "a", v.lead("a"))
	waitFor(t, 5*time.Second, "a to lead", leading(a))
	b := mustCampaign(t, c, "b", v.lead("b"))
	waitFor(t, 5*time.Second, "b to see a hold the lease", func() bool { h, _ := b.Holder(); return h == "a" })
	time.Sleep(2 * leaseDuration) // a renews; b stands by
	if _, on := b.Holder(); on {
		t.Fatal("b leads while a renews")
	}

	// a is cut off from the API server: it stops speaking when it cannot
	// renew, before b may take the lease.
	cut := time.Now()
	c.Cut("a")
	took := waitFor(t, 3*leaseDuration, "b to lead", leading(b))
	_, aStopped := v.terms("a")
	bStarted, _ := v.terms("b")
	if len(aStopped) != 1 || len(bStarted) != 1 {
		t.Fatalf("a stopped %d times, b started %d times; want once each", len(aStopped), len(bStarted))
	}
	t.Logf("cut off: a stopped speaking after %v, b spoke after %v (lease %v, renew deadline %v)",
		aStopped[0].Sub(cut).Round(time.Millisecond), bStarted[0].Sub(cut).Round(time.Millisecond), leaseDuration, renewDeadline)
	if took > leaseDuration+renewDeadline+2*retryPeriod {
		t.Errorf("b took over %v after a was cut off; want within the lease (%v) and a retry", took, leaseDuration)
	}
	if aStopped[0].Sub(cut) > renewDeadline+2*retryPeriod {
		t.Errorf("a spoke for %v after it was cut off; want at most the renew deadline %v and a retry", aStopped[0].Sub(cut), renewDeadline)
	}

	// a comes back: b holds the lease, a stands by.
	c.Mend("a")
	time.Sleep(2 * leaseDuration)
	if h, on := a.Holder(); on || h != "b" {
		t.Errorf("a after it is back: holder %q, leading %v; want b, false", h, on)
	}

	// b shuts down: it gives the lease up, and a takes it at its next try
	// instead of waiting for the lease to expire.
	stop := time.Now()
	b.stop()
	if got := c.Holder("nightowl", "nightowl"); got == "b" {
		t.Errorf("b still holds the lease after it stopped")
	}
	took = waitFor(t, 3*leaseDuration, "a to lead again", leading(a))
	t.Logf("handed over on shutdown in %v", time.Since(stop).Round(time.Millisecond))
	if took > leaseDuration {
		t.Errorf("a took %v to lead after b gave the lease up; want less than the lease duration %v", took, leaseDuration)
	}
}

func TestLeadsErrorEndsTheCampaignAndFreesTheLease(t *testing.T) {
	c := leasetest.New()
	boom := errors.New("boom")
	e, err := lease.New(lease.Config{Client: c.Client("a"), Namespace: "nightowl", Name: "nightowl", Identity: "a",
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Lead(context.Background(), func(context.Context) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("Lead = %v, want boom", err)
	}
	if h := c.Holder("nightowl", "nightowl"); h != "" {
		t.Errorf("the lease is held by %q after a failed term, want nobody", h)
	}
}

func TestAStoppedCampaignEndsWhileAnotherLeads(t *testing.T) {
	c := leasetest.New()
	v := newVoices(t)
	a := mustCampaign(t, c, "a", v.lead("a"))
	waitFor(t, 5*time.Second, "a to lead", leading(a))
	b := mustCampaign(t, c, "b", v.lead("b"))
	time.Sleep(2 * retryPeriod)
	start := time.Now()
	b.stop()
	if d := time.Since(start); d > retryPeriod*2 {
		t.Errorf("a standby took %v to stop", d)
	}
	if _, on := a.Holder(); !on {
		t.Error("a stopped leading when b stopped campaigning")
	}
}

func TestNewRefusesTermsClientGoWouldRefuse(t *testing.T) {
	c := leasetest.New()
	for _, tc := range []struct {
		name                string
		lease, renew, retry time.Duration
	}{
		{"a lease no longer than the renew deadline", 10 * time.Second, 10 * time.Second, 2 * time.Second},
		{"a renew deadline within a jittered retry", 15 * time.Second, 2 * time.Second, 2 * time.Second},
		{"a lease of part of a second", 1500 * time.Millisecond, time.Second, 100 * time.Millisecond},
	} {
		_, err := lease.New(lease.Config{Client: c.Client("a"), Namespace: "n", Name: "l", Identity: "a",
			LeaseDuration: tc.lease, RenewDeadline: tc.renew, RetryPeriod: tc.retry})
		if err == nil {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
}
