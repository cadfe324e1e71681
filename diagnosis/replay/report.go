package replay

import (
	"cmp"
	"slices"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Incident is one incident nightowl would have formed. Its JSON is part of
// the report's stable interface (fields are only ever added).
type Incident struct {
	ID string `json:"id"`
	// FirstAlert is when its earliest alert started; FirstAlertName names it.
	FirstAlert     time.Time `json:"first_alert"`
	FirstAlertName string    `json:"first_alert_name"`
	// Alerts counts its distinct alerts; Services are the nodes (or service
	// labels) they are on, sorted.
	Alerts   int      `json:"alerts"`
	Services []string `json:"services"`
	// Candidates are its top root-cause candidates, best first (at most 3).
	Candidates []Candidate `json:"candidates"`
	// Paged says whether its card paged on-call, at PagedAt; Night whether
	// that was between 22:00 and 07:00.
	Paged   bool      `json:"paged"`
	PagedAt time.Time `json:"paged_at,omitzero"`
	Night   bool      `json:"night"`
	// ResolvedAt is when its last alert resolved (zero: it still fired when
	// the window closed); DurationSeconds runs from FirstAlert to then.
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
	DurationSeconds float64   `json:"duration_seconds"`
	// Reopened counts flaps that reopened it without a new page.
	Reopened int `json:"reopened"`
	// Outcome is how it ended: resolved, settled (before its card: no
	// page), retired (left memory while firing) or firing.
	Outcome string `json:"outcome"`
}

// Candidate is a possible root cause and the engine's confidence in it.
type Candidate struct {
	Service    string  `json:"service"`
	Confidence float64 `json:"confidence"`
}

// topCandidates is how many root-cause candidates an incident lists.
const topCandidates = 3

func (r *record) incident() Incident {
	in := Incident{
		ID: r.id, FirstAlert: r.first.StartsAt, FirstAlertName: r.first.Name(), Alerts: r.alerts,
		Services: slices.Clone(r.services), Candidates: []Candidate{}, Paged: r.diagnosis.Alerts.Pages > 0,
		ResolvedAt: r.resolvedAt, Reopened: r.reopened,
	}
	if in.Paged {
		in.PagedAt = r.pagedAt
	}
	for _, c := range r.diagnosis.Candidates[:min(topCandidates, len(r.diagnosis.Candidates))] {
		in.Candidates = append(in.Candidates, Candidate{Service: c.Service, Confidence: c.Confidence})
	}
	switch r.kind {
	case diagnosis.IncidentResolved:
		in.Outcome = "resolved"
	case diagnosis.Settled:
		in.Outcome = "settled"
	case diagnosis.Retired:
		in.Outcome = "retired"
	default:
		in.Outcome = "firing"
	}
	if !in.ResolvedAt.IsZero() {
		in.DurationSeconds = in.ResolvedAt.Sub(in.FirstAlert).Seconds()
	}
	return in
}

// Report is what `bot replay` prints. Its JSON is a stable interface:
// fields are only ever added.
type Report struct {
	Source string    `json:"source"` // "prometheus" or "file"
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	TZ     string    `json:"tz"`
	// Pages is how many times nightowl would have paged on-call: once per
	// incident whose card was posted while it fired.
	Pages      int `json:"pages"`
	NightPages int `json:"night_pages"`
	// AlertmanagerNotifications is how many notifications Alertmanager
	// sent in the window (the increase of alertmanager_notifications_total);
	// null when Prometheus has no such series or the history is a file.
	AlertmanagerNotifications      *float64           `json:"alertmanager_notifications"`
	AlertmanagerNightNotifications *float64           `json:"alertmanager_night_notifications"`
	AlertmanagerByIntegration      map[string]float64 `json:"alertmanager_by_integration,omitempty"`
	// Alerts counts firing intervals; Notifications the notifications
	// replayed (firing, repeated and resolved).
	Alerts        int `json:"alerts"`
	Notifications int `json:"notifications"`
	// Settled counts incidents that resolved before their card was due:
	// no card, no page.
	Settled       int         `json:"settled"`
	NoisiestRules []RuleNoise `json:"noisiest_rules"`
	Days          []Day       `json:"days"`
	// Incidents are oldest first.
	Incidents []Incident `json:"incidents"`
	// Notes say what the replay could not know (annotations, metrics).
	Notes []string `json:"notes"`
}

// RuleNoise is how often one alerting rule fired, and how many incidents
// it was the first alert of.
type RuleNoise struct {
	Alertname string `json:"alertname"`
	Firings   int    `json:"firings"`
	Incidents int    `json:"incidents"`
}

// Day counts one calendar day (in TZ) of the window.
type Day struct {
	Date       string `json:"date"` // 2006-01-02
	Pages      int    `json:"pages"`
	NightPages int    `json:"night_pages"`
	// Alertmanager is nil when the notifications are unknown.
	Alertmanager      *float64 `json:"alertmanager"`
	AlertmanagerNight *float64 `json:"alertmanager_night"`
}

// noisiestShown is how many rules the report lists.
const noisiestShown = 10

// Night reports whether t falls between 22:00 and 07:00 in loc.
func Night(t time.Time, loc *time.Location) bool {
	h := t.In(loc).Hour()
	return h >= 22 || h < 7
}

// Build makes the report of a replay over w: its intervals, the
// notifications replayed, the incidents, and what Alertmanager sent (nil:
// unknown).
func Build(w Window, loc *time.Location, intervals []Interval, notifications int, incidents []Incident, am *Notifications) Report {
	rep := Report{Since: w.Since.UTC(), Until: w.Until.UTC(), TZ: loc.String(), Alerts: len(intervals), Notifications: notifications,
		Incidents: incidents, NoisiestRules: []RuleNoise{}, Notes: []string{}}
	if rep.Incidents == nil {
		rep.Incidents = []Incident{}
	}
	days := map[string]*Day{}
	var dayOrder []string
	for d := startOfDay(w.Since, loc); d.Before(w.Until); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		days[key] = &Day{Date: key}
		dayOrder = append(dayOrder, key)
		if am != nil {
			days[key].Alertmanager, days[key].AlertmanagerNight = new(float64), new(float64)
		}
	}
	dayOf := func(t time.Time) *Day { return days[t.In(loc).Format(time.DateOnly)] }
	for i := range rep.Incidents {
		in := &rep.Incidents[i]
		switch {
		case in.Paged:
			rep.Pages++
			in.Night = Night(in.PagedAt, loc)
			if d := dayOf(in.PagedAt); d != nil {
				d.Pages++
				if in.Night {
					d.NightPages++
				}
			}
			if in.Night {
				rep.NightPages++
			}
		case in.Outcome == "settled":
			rep.Settled++
		}
	}
	if am != nil {
		total, night := am.Total, 0.0
		rep.AlertmanagerNotifications, rep.AlertmanagerByIntegration = &total, am.ByIntegration
		for _, p := range am.Increases {
			d := dayOf(p.T)
			isNight := Night(p.T, loc)
			if isNight {
				night += p.V
			}
			if d != nil {
				*d.Alertmanager += p.V
				if isNight {
					*d.AlertmanagerNight += p.V
				}
			}
		}
		rep.AlertmanagerNightNotifications = &night
	}
	for _, k := range dayOrder {
		rep.Days = append(rep.Days, *days[k])
	}
	rep.NoisiestRules = noisiest(intervals, incidents)
	return rep
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// noisiest ranks rules by how often they fired.
func noisiest(intervals []Interval, incidents []Incident) []RuleNoise {
	firings := map[string]int{}
	for _, iv := range intervals {
		firings[iv.Labels[diagnosis.LabelAlertname]]++
	}
	opened := map[string]int{}
	for _, in := range incidents {
		opened[in.FirstAlertName]++
	}
	out := make([]RuleNoise, 0, len(firings))
	for name, n := range firings {
		out = append(out, RuleNoise{Alertname: name, Firings: n, Incidents: opened[name]})
	}
	slices.SortFunc(out, func(a, b RuleNoise) int {
		return cmp.Or(cmp.Compare(b.Firings, a.Firings), cmp.Compare(a.Alertname, b.Alertname))
	})
	return out[:min(noisiestShown, len(out))]
}
