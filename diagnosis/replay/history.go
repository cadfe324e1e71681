// Package replay owns replaying a team's alert history (Prometheus's ALERTS
// series, or Alertmanager webhook lines) through nightowl's live incident
// state on a simulated clock, and the report of what nightowl would have
// done: its incidents, pages and root causes beside what Alertmanager sent.
package replay

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// DefaultRepeat is Alertmanager's default repeat_interval: how often it
// notifies again about an alert that keeps firing.
const DefaultRepeat = 4 * time.Hour

// Interval is one alert firing from Start to End.
type Interval struct {
	Labels map[string]string
	// Annotations are known from webhook lines; ALERTS has none.
	Annotations map[string]string
	Start       time.Time
	// End is zero when the alert still fired when the window closed.
	End time.Time
}

// Event is one alert notification at a moment of the history.
type Event struct {
	At    time.Time
	Alert diagnosis.Alert
}

// Events turns intervals into the notifications nightowl would have
// received, oldest first: firing at Start, again every repeat (DefaultRepeat
// if ≤ 0) while it fires before until, and resolved at End.
func Events(intervals []Interval, until time.Time, repeat time.Duration) []Event {
	if repeat <= 0 {
		repeat = DefaultRepeat
	}
	out := make([]Event, 0, 2*len(intervals))
	for _, iv := range intervals {
		a := diagnosis.Alert{Labels: iv.Labels, Annotations: iv.Annotations, StartsAt: iv.Start, Status: diagnosis.Firing,
			Fingerprint: diagnosis.Fingerprint(iv.Labels), Source: diagnosis.SourceWebhook, Count: 1}
		last := until
		if !iv.End.IsZero() {
			last = iv.End
		}
		for at := iv.Start; at.Before(last) || at.Equal(iv.Start); at = at.Add(repeat) {
			out = append(out, Event{At: at, Alert: a})
		}
		if !iv.End.IsZero() {
			r := a
			r.Status, r.EndsAt = diagnosis.Resolved, iv.End
			out = append(out, Event{At: iv.End, Alert: r})
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		// At one instant a firing comes before a resolution, then by
		// fingerprint: the order never depends on the input's.
		if c := cmp.Compare(statusRank(a.Alert.Status), statusRank(b.Alert.Status)); c != 0 {
			return c
		}
		return strings.Compare(a.Alert.Fingerprint, b.Alert.Fingerprint)
	})
	return out
}

func statusRank(s diagnosis.Status) int {
	if s == diagnosis.Firing {
		return 0
	}
	return 1
}

// FromAlerts rebuilds firing intervals from alerts as Alertmanager's
// webhook delivered them, each alert possibly many times: an interval per
// fingerprint and start, ended by the latest resolution that names it.
func FromAlerts(alerts []diagnosis.Alert) []Interval {
	type key struct {
		fp    string
		start int64
	}
	byKey := map[key]*Interval{}
	var order []key
	for _, a := range alerts {
		fp := a.Fingerprint
		if fp == "" {
			fp = diagnosis.Fingerprint(a.Labels)
		}
		k := key{fp, a.StartsAt.UnixNano()}
		iv, ok := byKey[k]
		if !ok {
			iv = &Interval{Labels: a.Labels, Annotations: a.Annotations, Start: a.StartsAt}
			byKey[k] = iv
			order = append(order, k)
		}
		if a.Annotations != nil {
			iv.Annotations = a.Annotations
		}
		if a.Status == diagnosis.Resolved && !a.EndsAt.IsZero() && a.EndsAt.After(iv.End) {
			iv.End = a.EndsAt
		}
	}
	out := make([]Interval, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	sortIntervals(out)
	return out
}

func sortIntervals(ivs []Interval) {
	slices.SortStableFunc(ivs, func(a, b Interval) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(seriesKey(a.Labels), seriesKey(b.Labels))
	})
}

// seriesKey identifies a label set.
func seriesKey(labels map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteString(k)
		b.WriteByte('\xff')
		b.WriteString(labels[k])
		b.WriteByte('\xfe')
	}
	return b.String()
}
