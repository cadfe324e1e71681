package replay

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// AlertsQuery asks Prometheus when each firing alert was last evaluated:
// the timestamp of ALERTS's sample, not the query's step, so that an
// interval starts and ends at rule evaluations, and a sample repeated by
// the lookback after a rule stopped firing is not taken for firing.
const AlertsQuery = `timestamp(ALERTS{alertstate="firing"})`

// NotificationsQuery is Alertmanager's counter of the notifications it
// sent (or tried to), per integration.
const NotificationsQuery = `sum by (integration) (alertmanager_notifications_total)`

// maxPoints is the most samples per series one query asks for; Prometheus
// refuses more than 11,000.
const maxPoints = 720

// Progress hears how far a long read or replay has come, done of total.
type Progress func(done, total int)

// Window is the span of history a replay covers.
type Window struct{ Since, Until time.Time }

// chunks splits w into ranges of at most maxPoints steps.
func (w Window) chunks(step time.Duration) []diagnosis.Range {
	var out []diagnosis.Range
	span := step * maxPoints
	for s := w.Since; s.Before(w.Until); s = s.Add(span) {
		e := s.Add(span - step)
		if e.After(w.Until) {
			e = w.Until
		}
		out = append(out, diagnosis.Range{Start: s, End: e, Step: step})
	}
	return out
}

// Gap is how far apart two evaluations of a firing rule may be and still
// belong to one interval: beyond it, the alert resolved between them.
func Gap(step time.Duration) time.Duration { return max(3*step, 2*time.Minute) }

// open is a series' interval being read.
type open struct {
	labels      map[string]string
	start, last time.Time
	seen        int // the chunk index it was last present in
	at          time.Time
}

// ReadAlerts rebuilds every alert's firing intervals in w from ALERTS,
// asking m one chunk of at most 720 steps at a time (so memory stays
// bounded by the alerts, not by the samples). An alert is firing from
// the first evaluation that says so to the last, and resolves between
// two steps when it is absent at a step or two evaluations are further
// apart than Gap(step). Its labels are ALERTS's without alertstate;
// ALERTS keeps no annotations.
func ReadAlerts(ctx context.Context, m diagnosis.Metrics, w Window, step time.Duration, progress Progress) ([]Interval, error) {
	if step <= 0 {
		return nil, fmt.Errorf("read ALERTS: step %v is not positive", step)
	}
	gap := Gap(step)
	live := map[string]*open{}
	var out []Interval
	closeOut := func(o *open) {
		out = append(out, Interval{Labels: o.labels, Start: o.start, End: o.last})
	}
	chunks := w.chunks(step)
	for i, r := range chunks {
		series, err := m.QueryRange(ctx, AlertsQuery, r)
		if err != nil {
			return nil, fmt.Errorf("read ALERTS from %s to %s: %w", r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339), err)
		}
		for _, s := range series {
			labels := maps.Clone(s.Labels)
			delete(labels, "alertstate")
			delete(labels, "__name__")
			if labels[diagnosis.LabelAlertname] == "" {
				continue
			}
			key := seriesKey(labels)
			o := live[key]
			for _, p := range s.Points {
				ts := evaluatedAt(p.V)
				switch {
				case o == nil:
					o = &open{labels: labels, start: ts, last: ts}
					live[key] = o
				case p.T.Sub(o.at) > step || ts.Sub(o.last) > gap:
					// absent at a step in between, or not evaluated firing for too long
					if ts.Equal(o.last) {
						break
					}
					closeOut(o)
					o.start, o.last = ts, ts
				case ts.After(o.last):
					o.last = ts
				}
				o.at, o.seen = p.T, i
			}
		}
		// A series absent from a whole chunk, or from its last steps, has resolved.
		for key, o := range live {
			if o.seen < i || r.End.Sub(o.at) > step {
				closeOut(o)
				delete(live, key)
			}
		}
		if progress != nil {
			progress(i+1, len(chunks))
		}
	}
	for _, o := range live {
		if w.Until.Sub(o.last) > gap {
			closeOut(o)
			continue
		}
		out = append(out, Interval{Labels: o.labels, Start: o.start}) // still firing
	}
	sortIntervals(out)
	return out, nil
}

// evaluatedAt reads timestamp()'s value: seconds since the epoch.
func evaluatedAt(v float64) time.Time {
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC()
}

// Notifications is what Alertmanager sent in a window, from its counter.
type Notifications struct {
	// Total is the increase of alertmanager_notifications_total over the
	// window, summed over integrations.
	Total float64
	// ByIntegration splits Total by the integration label (slack, email, …).
	ByIntegration map[string]float64
	// Increases are the counter's increases between samples, for per-day
	// and night counts.
	Increases []diagnosis.Point
}

// ReadNotifications sums the increase of alertmanager_notifications_total
// over w per integration, counter resets included. It returns nil when
// Prometheus has no such series.
func ReadNotifications(ctx context.Context, m diagnosis.Metrics, w Window, step time.Duration) (*Notifications, error) {
	prev := map[string]float64{}
	var n *Notifications
	for _, r := range w.chunks(step) {
		series, err := m.QueryRange(ctx, NotificationsQuery, r)
		if err != nil {
			return nil, fmt.Errorf("read alertmanager_notifications_total: %w", err)
		}
		for _, s := range series {
			if n == nil {
				n = &Notifications{ByIntegration: map[string]float64{}}
			}
			in := s.Labels["integration"]
			if _, ok := n.ByIntegration[in]; !ok {
				n.ByIntegration[in] = 0
			}
			for _, p := range s.Points {
				last, seen := prev[in]
				prev[in] = p.V
				if !seen {
					continue
				}
				inc := p.V - last
				if inc < 0 { // a reset: the counter started again from zero
					inc = p.V
				}
				if inc > 0 {
					n.Total += inc
					n.ByIntegration[in] += inc
					n.Increases = append(n.Increases, diagnosis.Point{T: p.T, V: inc})
				}
			}
		}
	}
	if n != nil {
		slices.SortStableFunc(n.Increases, func(a, b diagnosis.Point) int { return a.T.Compare(b.T) })
	}
	return n, nil
}
