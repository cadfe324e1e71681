package diagnosis

import (
	"slices"
	"sort"
	"time"
)

// Incident is a group of related alerts that share one card and one thread.
type Incident struct {
	ID string `json:"id"`
	// Scope is the cluster of its alerts and the namespace most of them
	// carry, for display; its alerts may span namespaces (NamespaceOf).
	Scope Scope `json:"scope"`
	// Status is firing while any alert fires, resolved once all have resolved.
	Status Status `json:"status"`
	// OpenedAt is when nightowl received the incident's first alert.
	OpenedAt time.Time `json:"opened_at"`
	// ResolvedAt is when the last alert resolved (zero while firing).
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Alerts holds the latest state of each distinct alert, by first start:
	// at most the Grouper's MaxAlerts of them; More summarises the rest.
	Alerts []AlertState `json:"alerts"`
	More   AlertTally   `json:"more,omitzero"`
	// Received counts every alert notification, repeats included.
	Received int `json:"received"`
	// Reopened counts how often the incident re-fired after resolving.
	Reopened int `json:"reopened,omitempty"`
	// Thread is where the incident's card lives in chat (zero until posted).
	Thread Thread `json:"thread,omitzero"`
	// Ack and Escalation record who acknowledged and escalated, and when.
	Ack        Mark `json:"ack,omitzero"`
	Escalation Mark `json:"escalation,omitzero"`
	// Resolution records who resolved it by hand, and when (zero: its
	// alerts resolved it, or it fires).
	Resolution Mark `json:"resolution,omitzero"`
	// SplitFrom, on an incident a person split off another (Grouper.Split),
	// says which one, which service, who and when.
	SplitFrom Split `json:"split_from,omitzero"`
}

// Split records that a person moved the alerts of one service out of an
// incident into a new one.
type Split struct {
	Incident string `json:"incident"`
	Service  string `json:"service"`
	Mark
}

// IsZero reports whether the incident was not split off another.
func (s Split) IsZero() bool { return s.Incident == "" }

// AlertState is the latest word on one distinct alert (by fingerprint).
type AlertState struct {
	Alert
	// Service is the graph node the alert was resolved to.
	Node      string    `json:"node,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Received counts notifications for this alert, repeats included.
	Received int `json:"received"`
	// Flaps counts how often it fired again after resolving.
	Flaps int `json:"flaps,omitempty"`
}

// Thread locates an incident's card: the channel and the message timestamp.
type Thread struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// IsZero reports whether no card has been posted.
func (t Thread) IsZero() bool { return t.TS == "" }

// Mark records who did something to an incident, and when.
type Mark struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// IsZero reports whether nobody did it.
func (m Mark) IsZero() bool { return m.By == "" }

// Firing lists the alerts that still fire.
func (in *Incident) Firing() []AlertState {
	var out []AlertState
	for _, a := range in.Alerts {
		if a.Status == Firing {
			out = append(out, a)
		}
	}
	return out
}

// Nodes lists the distinct graph nodes (or service labels) the alerts name, sorted.
func (in *Incident) Nodes() []string {
	var out []string
	for _, a := range in.Alerts {
		if n := a.NodeOrService(); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// NodeOrService is the resolved graph node, or the service label.
func (a AlertState) NodeOrService() string {
	if a.Node != "" {
		return a.Node
	}
	return a.Service()
}

// NamespaceOf is the namespace the incident's alerts place node in (the
// most common, the first on a tie), else the incident's Scope namespace:
// where something done to node, such as a runbook, should act. An
// incident's alerts may span namespaces (docs/grouping.md).
func (in *Incident) NamespaceOf(node string) string {
	var (
		count map[string]int
		best  string
	)
	for _, a := range in.Alerts {
		if node == "" || a.NodeOrService() != node {
			continue
		}
		ns := placedNamespace(a.Labels, node)
		if ns == "" {
			continue
		}
		if count == nil {
			count = map[string]int{}
		}
		count[ns]++
		if best == "" || count[ns] > count[best] {
			best = ns
		}
	}
	if best == "" {
		return in.Scope.Namespace
	}
	return best
}

// StartedAt is the earliest start among the incident's alerts.
func (in *Incident) StartedAt() time.Time {
	var t time.Time
	for _, a := range in.Alerts {
		if !a.StartsAt.IsZero() && (t.IsZero() || a.StartsAt.Before(t)) {
			t = a.StartsAt
		}
	}
	if t.IsZero() {
		return in.OpenedAt
	}
	return t
}

// Duration is how long the incident has lasted, or lasted, as of now.
func (in *Incident) Duration(now time.Time) time.Duration {
	end := now
	if in.Status == Resolved && !in.ResolvedAt.IsZero() {
		end = in.ResolvedAt
	}
	return end.Sub(in.StartedAt())
}

// Clone returns a deep copy, safe to hand to another goroutine.
func (in *Incident) Clone() Incident {
	c := *in
	c.Alerts = make([]AlertState, len(in.Alerts))
	for i, a := range in.Alerts {
		a.Labels = cloneMap(a.Labels)
		a.Annotations = cloneMap(a.Annotations)
		c.Alerts[i] = a
	}
	c.More = in.More.clone()
	return c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Event is one line of an incident's append-only record.
type Event struct {
	Incident string    `json:"incident"`
	Kind     EventKind `json:"kind"`
	Actor    string    `json:"actor,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	At       time.Time `json:"at"`
}

// EventKind names what happened.
type EventKind string

// Kinds of incident events.
const (
	EventAlertReceived EventKind = "alert_received"
	EventOpened        EventKind = "incident_opened"
	EventCardPosted    EventKind = "card_posted"
	EventCardUpdated   EventKind = "card_updated"
	EventAcked         EventKind = "acked"
	EventEscalated     EventKind = "escalated"
	EventResolved      EventKind = "resolved"
	EventReopened      EventKind = "reopened"
	EventRefused       EventKind = "refused"
	// EventRetired: the incident left memory while firing (no alert news,
	// or too many incidents); it stays on the record.
	EventRetired EventKind = "retired"
	// EventMerged: a person merged one incident into another; both
	// records have it (Detail "into INC-…" or "INC-… merged in").
	EventMerged EventKind = "merged"
	// EventSplit: a person moved one service's alerts out of an incident
	// into a new one; both records have it (Detail "<service> into INC-…"
	// or "<service> from INC-…").
	EventSplit EventKind = "split"
)
