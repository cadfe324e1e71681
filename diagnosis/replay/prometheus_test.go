package replay_test

import (
	"context"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/replay"
)

var t0 = time.Date(2024, 6, 3, 0, 0, 0, 0, time.UTC)

// evaluations is one ALERTS series as Prometheus answers
// timestamp(ALERTS{…}) over a range: at each step, the time of the latest
// evaluation within the lookback (5 minutes), or nothing.
type evaluations struct {
	labels map[string]string
	at     []time.Time // rule evaluations that found it firing
	stale  bool        // staleness markers end it at once, as live rule evaluation writes them
}

// fakeALERTS answers range queries from evaluations, as Prometheus would.
func fakeALERTS(series ...evaluations) diagnosis.Metrics {
	return diagnosis.MetricsFunc(func(_ context.Context, _ string, r diagnosis.Range) ([]diagnosis.Series, error) {
		var out []diagnosis.Series
		for _, s := range series {
			var pts []diagnosis.Point
			for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
				var latest time.Time
				for _, e := range s.at {
					if !e.After(t) && t.Sub(e) <= 5*time.Minute {
						latest = e
					}
				}
				if latest.IsZero() || (s.stale && t.Sub(latest) >= 30*time.Second) {
					continue
				}
				pts = append(pts, diagnosis.Point{T: t, V: float64(latest.Unix())})
			}
			if len(pts) > 0 {
				out = append(out, diagnosis.Series{Labels: s.labels, Points: pts})
			}
		}
		return out, nil
	})
}

// every lists evaluations every 30 s from from to to, both included.
func every(from, to time.Duration) []time.Time {
	var out []time.Time
	for d := from; d <= to; d += 30 * time.Second {
		out = append(out, t0.Add(d))
	}
	return out
}

func TestReadAlertsRebuildsFiringIntervals(t *testing.T) {
	labels := map[string]string{"alertname": "HighLatencyP99", "alertstate": "firing", "service": "search"}
	for _, tc := range []struct {
		name   string
		series evaluations
		want   [][2]time.Duration // start, end; end < 0: still firing
	}{
		{"one interval, its lookback tail not taken for firing",
			evaluations{labels: labels, at: every(10*time.Minute, 20*time.Minute)},
			[][2]time.Duration{{10 * time.Minute, 20 * time.Minute}}},
		{"a flap of three minutes without staleness markers is two intervals",
			evaluations{labels: labels, at: append(every(10*time.Minute, 13*time.Minute), every(16*time.Minute, 19*time.Minute)...)},
			[][2]time.Duration{{10 * time.Minute, 13 * time.Minute}, {16 * time.Minute, 19 * time.Minute}}},
		{"a flap of one minute with staleness markers is two intervals",
			evaluations{labels: labels, stale: true, at: append(every(10*time.Minute, 13*time.Minute), every(14*time.Minute, 19*time.Minute)...)},
			[][2]time.Duration{{10 * time.Minute, 13 * time.Minute}, {14 * time.Minute, 19 * time.Minute}}},
		{"an interval across chunks of the query is one",
			evaluations{labels: labels, at: every(5*time.Hour, 7*time.Hour)},
			[][2]time.Duration{{5 * time.Hour, 7 * time.Hour}}},
		{"an alert firing when the window closes has no end",
			evaluations{labels: labels, at: every(23*time.Hour, 24*time.Hour)},
			[][2]time.Duration{{23 * time.Hour, -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replay.ReadAlerts(t.Context(), fakeALERTS(tc.series), replay.Window{Since: t0, Until: t0.Add(24 * time.Hour)}, 30*time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d intervals %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				end := t0.Add(w[1])
				if w[1] < 0 {
					end = time.Time{}
				}
				if !got[i].Start.Equal(t0.Add(w[0])) || !got[i].End.Equal(end) {
					t.Errorf("interval %d: %v → %v, want %v → %v", i, got[i].Start, got[i].End, t0.Add(w[0]), end)
				}
				if _, ok := got[i].Labels["alertstate"]; ok || got[i].Labels["alertname"] != "HighLatencyP99" {
					t.Errorf("labels %v: want ALERTS's without alertstate", got[i].Labels)
				}
			}
		})
	}
}

func TestEventsRepeatAFiringAlertAndResolveIt(t *testing.T) {
	labels := map[string]string{"alertname": "DiskSpaceLow", "service": "db"}
	evs := replay.Events([]replay.Interval{{Labels: labels, Start: t0, End: t0.Add(9 * time.Hour)}}, t0.Add(24*time.Hour), 4*time.Hour)
	var got []string
	for _, e := range evs {
		got = append(got, e.At.Sub(t0).String()+" "+string(e.Alert.Status))
	}
	want := []string{"0s firing", "4h0m0s firing", "8h0m0s firing", "9h0m0s resolved"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %s, want %s", i, got[i], want[i])
		}
	}
}
