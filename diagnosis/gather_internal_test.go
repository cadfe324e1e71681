package diagnosis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// subjectsWithCallers are n databases, best first, each called by the
// shared "api" and by a caller of its own.
func subjectsWithCallers(n int) []Subject {
	out := make([]Subject, n)
	for i := range out {
		out[i] = db(fmt.Sprintf("db-%02d", i), "api", fmt.Sprintf("caller-%02d", i))
	}
	return out
}

// recorder is a Metrics that takes 100ms per query and records what it
// was asked and how many queries were in flight at most.
type recorder struct {
	mu        sync.Mutex
	inFlight  int
	most      int
	subjects  []string // the service of each saturation or changes query, in order
	errorsFor int
}

func (r *recorder) QueryRange(_ context.Context, q string, _ Range) ([]Series, error) {
	r.mu.Lock()
	r.inFlight++
	r.most = max(r.most, r.inFlight)
	if strings.Contains(q, "http_requests_total") {
		r.errorsFor++
	} else if i := strings.Index(q, `service="`); i >= 0 {
		r.subjects = append(r.subjects, strings.SplitN(q[i+len(`service="`):], `"`, 2)[0])
	} else if i := strings.Index(q, `deployment="`); i >= 0 {
		r.subjects = append(r.subjects, strings.SplitN(q[i+len(`deployment="`):], `"`, 2)[0])
	}
	r.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
	return nil, nil
}

func TestGatherersQueryTheFirstSubjectsWithBoundedParallelism(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e := mustEngine(rec)
		began := time.Now()
		_, status := e.metricFindings(t.Context(), subjectsWithCallers(30), evidenceStart)
		// 12 saturations, then errors of api once and of 12 callers: 25
		// queries, 8 at a time, 100ms each.
		if took := time.Since(began); took != 400*time.Millisecond {
			t.Errorf("metric findings took %s, want 400ms", took)
		}
		if want := "metrics: 25 queries answered, for the first 12 of 30 candidates"; status != want {
			t.Errorf("status %q, want %q", status, want)
		}
		slices.Sort(rec.subjects)
		if len(rec.subjects) != evidenceMaxSubjects || rec.subjects[0] != "db-00" || rec.subjects[11] != "db-11" || rec.errorsFor != 13 {
			t.Errorf("saturation asked for %v and errors for %d services; want db-00…db-11 and 13", rec.subjects, rec.errorsFor)
		}
		if rec.most != evidenceMaxInFlight {
			t.Errorf("%d queries in flight at most, want %d", rec.most, evidenceMaxInFlight)
		}

		rec = &recorder{}
		e = mustEngine(rec)
		_, _, status = e.changeFindings(t.Context(), subjectsWithCallers(30), evidenceStart)
		if want := "changes: 12 queries answered, for the first 12 of 30 candidates, no candidate found in kube-state-metrics"; status != want {
			t.Errorf("status %q, want %q", status, want)
		}
		if len(rec.subjects) != evidenceMaxSubjects || rec.most != evidenceMaxInFlight {
			t.Errorf("changes asked for %v, %d in flight at most", rec.subjects, rec.most)
		}
	})
}

func TestGatherersReturnAtTheDeadline(t *testing.T) {
	cases := []struct {
		name                    string
		metrics                 func(release <-chan struct{}) MetricsFunc
		wantMetrics, wantChange string
	}{
		{
			name: "Prometheus hangs until the context ends",
			metrics: func(<-chan struct{}) MetricsFunc {
				return func(ctx context.Context, _ string, _ Range) ([]Series, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}
			},
			wantMetrics: "metrics unavailable: Prometheus did not answer within 3s",
			wantChange:  "changes unavailable: Prometheus did not answer within 3s",
		},
		{
			name: "a Metrics that ignores its context",
			metrics: func(release <-chan struct{}) MetricsFunc {
				return func(context.Context, string, Range) ([]Series, error) {
					<-release
					return nil, nil
				}
			},
			wantMetrics: "metrics unavailable: Prometheus did not answer within 3s",
			wantChange:  "changes unavailable: Prometheus did not answer within 3s",
		},
		{
			name: "only the saturation of db-00 answers",
			metrics: func(release <-chan struct{}) MetricsFunc {
				return func(ctx context.Context, q string, _ Range) ([]Series, error) {
					if strings.Contains(q, `service="db-00"`) || strings.Contains(q, `deployment="db-00"`) {
						return nil, nil
					}
					<-release
					return nil, nil
				}
			},
			wantMetrics: "metrics: 1 query answered, 4 failed (Prometheus did not answer within 3s)",
			wantChange:  "changes: 1 query answered, 1 failed (Prometheus did not answer within 3s), no candidate found in kube-state-metrics",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer close(release)
				e := mustEngine(tc.metrics(release))
				var metrics, changes string
				var wg sync.WaitGroup
				began := time.Now()
				wg.Go(func() { _, metrics = e.metricFindings(t.Context(), subjectsWithCallers(2), evidenceStart) })
				wg.Go(func() { _, _, changes = e.changeFindings(t.Context(), subjectsWithCallers(2), evidenceStart) })
				wg.Wait()
				if took := time.Since(began); took != 3*time.Second {
					t.Errorf("both gatherers together took %s, want the 3s deadline", took)
				}
				if metrics != tc.wantMetrics || changes != tc.wantChange {
					t.Errorf("status\n %q\n %q\nwant\n %q\n %q", metrics, changes, tc.wantMetrics, tc.wantChange)
				}
			})
		})
	}
}

// BenchmarkEvidenceFor12Subjects: metricFindings and changeFindings for 12
// subjects (4 dependents each) against a Metrics that answers at once.
func BenchmarkEvidenceFor12Subjects(b *testing.B) {
	e := mustEngine(nil)
	metricsRange := e.evidenceRange(evidenceStart.Add(-evidenceBefore), evidenceStart.Add(evidenceAfter))
	changesRange := e.evidenceRange(evidenceStart.Add(-changesBefore), evidenceStart.Add(changesAfter))
	saturation := []Series{
		{Labels: map[string]string{saturationTag: "connections"}, Points: stepUp(0.2, 0.95, -3*time.Minute).points(metricsRange)},
		{Labels: map[string]string{saturationTag: "volume"}, Points: wobble(0.6).points(metricsRange)},
	}
	errs := []Series{{Points: stepUp(0.001, 0.3, -2*time.Minute).points(metricsRange)}}
	changes := []Series{
		{Labels: map[string]string{changeTag: "generation", LabelNamespace: "shop"}, Points: stepsAt(41, -4*time.Minute, 42).points(changesRange)},
		{Labels: map[string]string{changeTag: "replicas", LabelNamespace: "shop"}, Points: stepsAt(6).points(changesRange)},
		{Labels: map[string]string{changeTag: "restarts", LabelNamespace: "shop", "pod": "x-5d8f7b9c6-2xw9m"}, Points: stepsAt(0, -8*time.Minute, 1, -3*time.Minute, 2).points(changesRange)},
	}
	e.cfg.Metrics = MetricsFunc(func(_ context.Context, q string, _ Range) ([]Series, error) {
		switch {
		case strings.Contains(q, "kube_deployment_metadata_generation"):
			return changes, nil
		case strings.Contains(q, "http_requests_total"):
			return errs, nil
		}
		return saturation, nil
	})
	subjects := make([]Subject, 12)
	for i := range subjects {
		subjects[i] = db(fmt.Sprintf("db-%02d", i), "api", fmt.Sprintf("a-%02d", i), fmt.Sprintf("b-%02d", i), fmt.Sprintf("c-%02d", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		findings, _ := e.metricFindings(b.Context(), subjects, evidenceStart)
		changed, _, _ := e.changeFindings(b.Context(), subjects, evidenceStart)
		if len(findings) != 12 || len(changed) != 12 {
			b.Fatalf("%d metric and %d change findings, want 12 each", len(findings), len(changed))
		}
	}
}
