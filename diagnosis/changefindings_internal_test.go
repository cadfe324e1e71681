package diagnosis

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// stepsAt is first, then each value from its offset on:
// stepsAt(41, -4*time.Minute, 42).
func stepsAt(first float64, changes ...any) shape {
	return func(d time.Duration) float64 {
		v := first
		for i := 0; i+1 < len(changes); i += 2 {
			if d >= changes[i].(time.Duration) {
				v = float64(changes[i+1].(int))
			}
		}
		return v
	}
}

// ksm is a kube-state-metrics series as the changes query returns it.
type ksm struct {
	change, namespace, pod string
	values                 shape
}

// fakeKSM answers the changes query of each service with its series.
func fakeKSM(byService map[string][]ksm) MetricsFunc {
	return func(_ context.Context, q string, r Range) ([]Series, error) {
		for svc, series := range byService {
			if !strings.Contains(q, `deployment="`+svc+`"`) {
				continue
			}
			var out []Series
			for _, s := range series {
				labels := map[string]string{changeTag: s.change, LabelNamespace: s.namespace}
				if s.pod != "" {
					labels["pod"] = s.pod
				}
				out = append(out, Series{Labels: labels, Points: s.values.points(r)})
			}
			return out, nil
		}
		return nil, nil
	}
}

func TestChangeFindings(t *testing.T) {
	const min = time.Minute
	cases := []struct {
		name   string
		series []ksm
		score  float64 // 0: no finding
		events []string
		kinds  []string
	}{
		{
			name:   "a rollout shortly before the first alert is strong evidence",
			series: []ksm{{"generation", "shop", "", stepsAt(41, -4*min, 42)}, {"replicas", "shop", "", stepsAt(6)}},
			score:  rolloutScore,
			events: []string{"svc rolled out 4m before the first alert"},
			kinds:  []string{"rollout"},
		},
		{
			name:   "an older rollout fades",
			series: []ksm{{"generation", "shop", "", stepsAt(41, -25*min, 42)}},
			score:  rolloutScore * (1 - 0.5*15.0/20),
			events: []string{"svc rolled out 25m before the first alert"},
			kinds:  []string{"rollout"},
		},
		{
			name:   "a rollout after the first alert is no evidence",
			series: []ksm{{"generation", "shop", "", stepsAt(41, 2*min, 42)}, {"replicas", "shop", "", stepsAt(6)}},
		},
		{
			name:   "a change as the first alert fires counts",
			series: []ksm{{"generation", "shop", "", stepsAt(41, time.Duration(0), 42)}},
			score:  rolloutScore,
			events: []string{"svc rolled out as the first alert fired"},
			kinds:  []string{"rollout"},
		},
		{
			name:   "a new generation with a new replica count is a scale, not a rollout",
			series: []ksm{{"generation", "shop", "", stepsAt(3, -7*min, 4)}, {"replicas", "shop", "", stepsAt(4, -7*min, 2)}},
			score:  scaleDownScore,
			events: []string{"svc scaled from 4 to 2 replicas 7m before the first alert"},
			kinds:  []string{"scale"},
		},
		{
			name:   "scaling up is weak evidence",
			series: []ksm{{"replicas", "shop", "", stepsAt(4, -6*min, 8)}},
			score:  scaleUpScore,
			events: []string{"svc scaled from 4 to 8 replicas 6m before the first alert"},
			kinds:  []string{"scale"},
		},
		{
			name:   "scaling to zero is stronger",
			series: []ksm{{"replicas", "shop", "", stepsAt(2, -3*min, 0)}},
			score:  scaleToZeroScore,
			events: []string{"svc scaled from 2 to 0 replicas 3m before the first alert"},
			kinds:  []string{"scale"},
		},
		{
			name: "a restart storm across pods, weaker than a rollout",
			series: []ksm{
				{"restarts", "shop", "svc-5d8f7b9c6-2xw9m", stepsAt(0, -12*min, 1, -8*min, 2, 3*min, 3)},
				{"restarts", "shop", "svc-5d8f7b9c6-q7x2k", stepsAt(4, -5*min, 5)},
			},
			score:  restartStormScore,
			events: []string{"svc restarted containers 3 times from 12m to 5m before the first alert"},
			kinds:  []string{"restart"},
		},
		{
			name:   "a single restart",
			series: []ksm{{"restarts", "shop", "svc-5d8f7b9c6-2xw9m", stepsAt(7, -3*min, 8)}},
			score:  restartScore,
			events: []string{"svc restarted a container 3m before the first alert"},
			kinds:  []string{"restart"},
		},
		{
			name:   "a counter reset and restarts after the first alert are no restarts",
			series: []ksm{{"restarts", "shop", "svc-5d8f7b9c6-2xw9m", stepsAt(7, -3*min, 0, 1*min, 1)}},
		},
		{
			name: "the strongest change is the score; every change is an event, oldest first",
			series: []ksm{
				{"generation", "shop", "", stepsAt(41, -4*min, 42)},
				{"replicas", "shop", "", stepsAt(6, -20*min, 8)},
				{"restarts", "shop", "svc-5d8f7b9c6-2xw9m", stepsAt(0, -2*min, 1)},
			},
			score: rolloutScore,
			events: []string{
				"svc scaled from 6 to 8 replicas 20m before the first alert",
				"svc rolled out 4m before the first alert",
				"svc restarted a container 2m before the first alert",
			},
			kinds: []string{"scale", "rollout", "restart"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEngine(fakeKSM(map[string][]ksm{"svc": tc.series}))
			findings, events, status := e.changeFindings(t.Context(), []Subject{{Node: "svc", Kind: "service", Namespace: "shop"}}, evidenceStart)
			if status != "changes: 1 query answered" {
				t.Errorf("status %q", status)
			}
			f, ok := findings["svc"]
			if ok != (tc.score > 0) || math.Abs(f.Score-tc.score) > 1e-9 {
				t.Errorf("finding %v %+v, want score %.3f", ok, f, tc.score)
			}
			var texts, kinds []string
			for _, ev := range events {
				texts, kinds = append(texts, ev.Text), append(kinds, ev.Kind)
				if ev.Service != "svc" || ev.At.After(evidenceStart) {
					t.Errorf("event %+v", ev)
				}
			}
			if !slices.Equal(texts, tc.events) || !slices.Equal(kinds, tc.kinds) {
				t.Errorf("events %q %q, want %q %q", texts, kinds, tc.events, tc.kinds)
			}
			if ok && len(f.Evidence) != len(tc.events) {
				t.Errorf("evidence %q, want one sentence per change", f.Evidence)
			}
		})
	}
}

func TestChangeEventsOfSeveralSubjectsAreInTimeOrder(t *testing.T) {
	e := mustEngine(fakeKSM(map[string][]ksm{
		"order-service":   {{"generation", "shop", "", stepsAt(41, -4*time.Minute, 42)}},
		"payment-service": {{"replicas", "shop", "", stepsAt(3, -9*time.Minute, 1)}},
	}))
	subjects := []Subject{{Node: "order-service", Namespace: "shop"}, {Node: "payment-service", Namespace: "shop"}, {Node: "quiet", Namespace: "shop"}}
	findings, events, status := e.changeFindings(t.Context(), subjects, evidenceStart)
	want := []ChangeEvent{
		{Service: "payment-service", Kind: "scale", At: evidenceStart.Add(-9 * time.Minute), Text: "payment-service scaled from 3 to 1 replica 9m before the first alert"},
		{Service: "order-service", Kind: "rollout", At: evidenceStart.Add(-4 * time.Minute), Text: "order-service rolled out 4m before the first alert"},
	}
	if !slices.Equal(events, want) {
		t.Errorf("events\n %+v\nwant\n %+v", events, want)
	}
	if len(findings) != 2 || findings["order-service"].Evidence[0] != "it rolled out 4m before the first alert" {
		t.Errorf("findings %+v", findings)
	}
	if status != "changes: 3 queries answered" {
		t.Errorf("status %q", status)
	}
}
