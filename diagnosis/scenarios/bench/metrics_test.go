package bench_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
)

// TestRememberAsksEachQueryOnce: a fit diagnoses one incident thousands of
// times; its Prometheus answers each distinct query once, and a query cut
// short by the caller's deadline is asked again, not remembered as failed.
func TestRememberAsksEachQueryOnce(t *testing.T) {
	var asked atomic.Int32
	slow := false
	m := bench.Remember(diagnosis.MetricsFunc(func(ctx context.Context, query string, r diagnosis.Range) ([]diagnosis.Series, error) {
		asked.Add(1)
		if slow {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		if query == "broken" {
			return nil, errors.New("bad_data: parse error")
		}
		return []diagnosis.Series{{Labels: map[string]string{"q": query}, Points: []diagnosis.Point{{T: r.Start, V: 1}}}}, nil
	}))
	t0 := time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)
	r := diagnosis.Range{Start: t0, End: t0.Add(time.Hour), Step: time.Minute}
	ctx := context.Background()
	for range 3 {
		s, err := m.QueryRange(ctx, "up", r)
		if err != nil || len(s) != 1 || s[0].Labels["q"] != "up" {
			t.Fatalf("QueryRange(up) = %v, %v; want its one series", s, err)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("three identical queries reached Prometheus %d times; want 1", n)
	}
	if _, err := m.QueryRange(ctx, "up", diagnosis.Range{Start: t0, End: t0.Add(2 * time.Hour), Step: time.Minute}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := m.QueryRange(ctx, "broken", r); err == nil {
			t.Error("a query Prometheus refused answered without error")
		}
	}
	if n := asked.Load(); n != 3 {
		t.Errorf("another range and a refused query asked twice reached Prometheus %d times in all; want 3", n)
	}
	slow = true
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := m.QueryRange(short, "rate(x[5m])", r); err == nil {
		t.Fatal("a query past its deadline answered without error")
	}
	slow = false
	if s, err := m.QueryRange(ctx, "rate(x[5m])", r); err != nil || len(s) != 1 {
		t.Errorf("after a deadline, the same query = %v, %v; want it asked again and answered", s, err)
	}
}
