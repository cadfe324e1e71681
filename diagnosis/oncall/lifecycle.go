package oncall

import (
	"context"
	"slices"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Record is what the report and the timeline read; the store implements it.
type Record interface {
	// Lifecycles lists the incidents opened in [from, to), oldest first.
	Lifecycles(ctx context.Context, from, to time.Time) ([]Lifecycle, error)
	// Timeline is one incident's whole record, or an error wrapping
	// ErrUnknown when there is no such incident.
	Timeline(ctx context.Context, incident string) (Timeline, error)
}

// Lifecycle is one incident's life as the record tells it.
type Lifecycle struct {
	Incident string
	// FirstAlert is the earliest start among its alerts; Opened is when
	// nightowl received the first of them.
	FirstAlert, Opened time.Time
	// Card is when its card was posted (zero: none); Paged says the card
	// paged someone, PagedWho (ON_CALL when it was posted, "" when unset).
	Card     time.Time
	Paged    bool
	PagedWho string
	// Ack and Escalation: who did it first, and when.
	Ack, Escalation diagnosis.Mark
	// Resolved is when its last alert resolved (zero while firing).
	Resolved time.Time
	// Notifications counts the alert notifications it received, repeats
	// included.
	Notifications int
	// Rules are the distinct alert rules that fired in it, by name.
	Rules []Rule
	// Runs are its runbook requests, oldest first.
	Runs []Run
	// RootCause is the graph node its latest diagnosis named ("" when none).
	RootCause string
	// Outcome is how it ended: "fixed" or "failed" by a runbook,
	// "resolved" on its own, "" while open.
	Outcome string
	// Questions counts what people said in its thread.
	Questions int
	// Verdict is the latest answer to "Was this page actionable?"; nil
	// when nobody answered.
	Verdict *Verdict
}

// Rule is an alert rule as it fired in an incident.
type Rule struct {
	Name string
	// Node is the graph node its alerts were resolved to ("" when none).
	Node string
	// Labels are the labels all its alerts in the incident share.
	Labels map[string]string
	// Firing is how long its alerts fired in the incident (the longest).
	Firing time.Duration
}

// Run is one runbook request of an incident.
type Run struct {
	Runbook     string
	RequestedBy string // "nightowl" for the card's own request
	RequestedAt time.Time
	ApprovedBy  []string
	ApprovedAt  time.Time // the last approval; zero when none
	FinishedAt  time.Time // zero when it never ran to an end
	State       string    // the request's final (or current) state
}

// Approved says whether anyone approved the request.
func (r Run) Approved() bool { return len(r.ApprovedBy) > 0 }

// Verdict is someone's answer to "Was this page actionable?".
type Verdict struct {
	Actionable bool
	By         string
	At         time.Time
}

// EventVerdict is the kind of the event that records a Verdict; its detail
// is VerdictActionable or VerdictNotActionable.
const (
	EventVerdict         diagnosis.EventKind = "page_verdict"
	VerdictActionable                        = "actionable"
	VerdictNotActionable                     = "not actionable"
)

// EventDiagnosed is the kind of the event that records a diagnosis whose
// root cause or runbook differs from the one before.
const EventDiagnosed diagnosis.EventKind = "diagnosed"

// Acted says whether anyone acted on the page: acknowledged it, or
// requested (as a person) or approved a runbook.
func (l Lifecycle) Acted() bool {
	if !l.Ack.IsZero() {
		return true
	}
	return slices.ContainsFunc(l.Runs, func(r Run) bool {
		return r.Approved() || (r.RequestedBy != "" && r.RequestedBy != "nightowl")
	})
}

// Unactioned says whether a page went unanswered or was answered "not
// actionable".
func (l Lifecycle) Unactioned() bool {
	if l.Verdict != nil && !l.Verdict.Actionable {
		return true
	}
	return !l.Acted()
}

// AutoResolved says whether an approved runbook fixed the incident with no
// escalation and no question asked.
func (l Lifecycle) AutoResolved() bool {
	if l.Resolved.IsZero() || l.Outcome != "fixed" || !l.Escalation.IsZero() || l.Questions > 0 {
		return false
	}
	return slices.ContainsFunc(l.Runs, func(r Run) bool { return r.Approved() && r.State == "succeeded" })
}

// Owner is the team of a rule: its team label, else the team of its graph
// node (teamOf may be nil), else "".
func (r Rule) Owner(teamOf func(node string) string) string {
	if t := r.Labels["team"]; t != "" {
		return t
	}
	if teamOf != nil && r.Node != "" {
		return teamOf(r.Node)
	}
	return ""
}

// Teams lists the distinct owners of an incident's rules.
func (l Lifecycle) Teams(teamOf func(string) string) []string {
	var out []string
	for _, r := range l.Rules {
		if t := r.Owner(teamOf); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}
