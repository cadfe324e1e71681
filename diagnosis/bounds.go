package diagnosis

import (
	"fmt"
	"maps"
	"time"
)

// What the Grouper keeps in memory is bounded, whatever the storm: the
// alerts each incident holds one by one (GrouperConfig.MaxAlerts; the rest
// are summarised in Incident.More and remembered by fingerprint and state
// only), the incidents (MaxIncidents), and how long a firing incident that
// nobody hears from stays (StaleAfter). Every alert is in the store's alert
// log whatever memory keeps; an incident that leaves memory stays in the
// store.

// Defaults of the bounds.
const (
	DefaultMaxAlerts    = 500
	DefaultMaxIncidents = 200
	DefaultStaleAfter   = 24 * time.Hour
)

// maxListedChanges bounds the changes an Update lists one by one; the rest
// are counted (Update.Unlisted). A thread reply shows fewer anyway.
const maxListedChanges = 1000

// tallyKeys bounds the names and nodes an AlertTally counts one by one; the
// rest are counted under TallyOther.
const tallyKeys = 32

// TallyOther is the AlertTally key of names and nodes beyond the first tallyKeys.
const TallyOther = "…"

// AlertTally summarises the alerts an incident does not keep one by one in
// memory (beyond GrouperConfig.MaxAlerts): how many, how many still fire,
// and their names and nodes. The store's alert log holds each of them.
type AlertTally struct {
	// Alerts counts the distinct alerts summarised; Firing those firing now.
	Alerts int `json:"alerts"`
	Firing int `json:"firing"`
	// Names and Nodes count them per alert name and per node (or service
	// label), at most tallyKeys keys each, the rest under TallyOther.
	Names map[string]int `json:"names,omitempty"`
	Nodes map[string]int `json:"nodes,omitempty"`
}

// IsZero reports whether nothing is summarised.
func (t AlertTally) IsZero() bool { return t.Alerts == 0 }

func (t *AlertTally) add(a Alert, node string) {
	t.Alerts++
	if a.Status == Firing {
		t.Firing++
	}
	t.Names = countKey(t.Names, a.Name())
	if node == "" {
		node = a.Service()
	}
	t.Nodes = countKey(t.Nodes, node)
}

func (t *AlertTally) merge(o AlertTally) {
	t.Alerts += o.Alerts
	t.Firing += o.Firing
	for k, n := range o.Names {
		t.Names = countKeyN(t.Names, k, n)
	}
	for k, n := range o.Nodes {
		t.Nodes = countKeyN(t.Nodes, k, n)
	}
}

func (t AlertTally) clone() AlertTally {
	t.Names, t.Nodes = maps.Clone(t.Names), maps.Clone(t.Nodes)
	return t
}

func countKey(m map[string]int, k string) map[string]int { return countKeyN(m, k, 1) }

func countKeyN(m map[string]int, k string, n int) map[string]int {
	if k == "" {
		return m
	}
	if m == nil {
		m = map[string]int{}
	}
	if _, ok := m[k]; !ok && len(m) >= tallyKeys {
		k = TallyOther
	}
	m[k] += n
	return m
}

// ChangeTally counts the changes of an Update that it does not list.
type ChangeTally struct {
	New, Resolved, Refired int
}

// IsZero reports whether nothing went unlisted.
func (c ChangeTally) IsZero() bool { return c == ChangeTally{} }

func (c *ChangeTally) count(k ChangeKind) {
	switch k {
	case ChangeNew:
		c.New++
	case ChangeResolved:
		c.Resolved++
	case ChangeRefired:
		c.Refired++
	}
}

func (c *ChangeTally) merge(o ChangeTally) {
	c.New += o.New
	c.Resolved += o.Resolved
	c.Refired += o.Refired
}

// AlertCount is how many distinct alerts the incident holds: those it keeps
// one by one and those it summarises.
func (in *Incident) AlertCount() int { return len(in.Alerts) + in.More.Alerts }

// firing reports whether any of the incident's alerts fires.
func (in *Incident) firing() bool {
	if in.More.Firing > 0 {
		return true
	}
	for _, a := range in.Alerts {
		if a.Status == Firing {
			return true
		}
	}
	return false
}

// fpKey is the compact key by which the Grouper remembers a summarised
// alert: FNV-1a of its fingerprint (a collision among 2^64 is ignored).
func fpKey(fp string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(fp); i++ {
		h ^= uint64(fp[i])
		h *= 1099511628211
	}
	return h
}

// pend adds a change to an incident's next update, listing at most
// maxListedChanges of them.
func (g *Grouper) pend(t *tracked, c Change) {
	if len(t.pending) < maxListedChanges {
		t.pending = append(t.pending, c)
		return
	}
	t.unlisted.count(c.Kind)
}

// summarise takes a new alert into an incident that already keeps
// MaxAlerts alerts one by one: it is counted, and remembered by
// fingerprint and state only.
func (g *Grouper) summarise(t *tracked, key uint64, a Alert, node string, now time.Time) Outcome {
	if t.extra == nil {
		t.extra = map[uint64]bool{}
	}
	t.extra[key] = a.Status == Firing
	g.extra[key] = t
	t.inc.More.add(a, node)
	t.inc.Received++
	g.pend(t, Change{Kind: ChangeNew, Alert: AlertState{Alert: a, Node: node, FirstSeen: now, LastSeen: now, Received: 1}})
	g.schedule(t, now, false)
	return Outcome{Incident: t.inc.ID, Summarised: true}
}

// updateSummarised applies news about an alert the incident summarises.
func (g *Grouper) updateSummarised(t *tracked, key uint64, a Alert, now time.Time) Outcome {
	t.heard = now
	t.inc.Received++
	wasFiring := t.extra[key]
	st := AlertState{Alert: a, FirstSeen: now, LastSeen: now, Received: 1}
	switch {
	case wasFiring == (a.Status == Firing):
		t.repeats++
		return Outcome{Incident: t.inc.ID, Repeat: true, Summarised: true}
	case a.Status == Resolved:
		t.extra[key] = false
		t.inc.More.Firing--
		if st.EndsAt.IsZero() {
			st.EndsAt = now
		}
		g.pend(t, Change{Kind: ChangeResolved, Alert: st})
		if !t.inc.firing() {
			t.inc.Status, t.inc.ResolvedAt, t.settledAt = Resolved, st.EndsAt, now
		}
	default: // fired again after resolving: a flap
		t.extra[key] = true
		t.inc.More.Firing++
		g.pend(t, Change{Kind: ChangeRefired, Alert: st})
		if t.inc.Status == Resolved {
			t.inc.Status, t.inc.ResolvedAt, t.settledAt = Firing, time.Time{}, time.Time{}
			t.inc.Reopened++
			t.reopened = true
		}
	}
	g.schedule(t, now, false)
	return Outcome{Incident: t.inc.ID, Summarised: true}
}

// keepOrSummarise moves an alert state into an incident (from the one it
// merges, or nil on a restore): kept one by one while there is room, else
// summarised.
func (g *Grouper) keepOrSummarise(t *tracked, a AlertState, from *tracked) {
	if len(t.inc.Alerts) < g.cfg.MaxAlerts {
		t.idx[a.Fingerprint] = len(t.inc.Alerts)
		t.inc.Alerts = append(t.inc.Alerts, a)
		g.byFP[a.Fingerprint] = t
		return
	}
	if cur := g.byFP[a.Fingerprint]; cur == from || cur == t {
		delete(g.byFP, a.Fingerprint)
	}
	key := fpKey(a.Fingerprint)
	if t.extra == nil {
		t.extra = map[uint64]bool{}
	}
	t.extra[key] = a.Status == Firing
	g.extra[key] = t
	t.inc.More.add(a.Alert, a.Node)
}

// RestoreSummarised gives a restored incident back the state of the alerts
// it summarises (fingerprint → status, from the store's alert log), so
// that their repeats and resolutions find it after a restart. Alerts it
// keeps one by one are left as they are.
func (g *Grouper) RestoreSummarised(id string, alerts map[string]Status) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.live[id]
	if !ok {
		return
	}
	if t.extra == nil {
		t.extra = make(map[uint64]bool, len(alerts))
	}
	for fp, s := range alerts {
		if _, kept := t.idx[fp]; kept {
			continue
		}
		key := fpKey(fp)
		t.extra[key] = s == Firing
		g.extra[key] = t
	}
	if len(t.extra) < t.inc.More.Alerts {
		return // the log knows fewer than the summary counted: keep its counts
	}
	firing := 0
	for _, f := range t.extra {
		if f {
			firing++
		}
	}
	t.inc.More.Alerts, t.inc.More.Firing = len(t.extra), firing
}

// retireWhy says why an incident should leave memory while firing, or "".
func (g *Grouper) retireWhy(t *tracked, now time.Time) string {
	switch {
	case t.retire != "":
		return t.retire
	case t.inc.Status == Firing && t.published && t.dueAt.IsZero() && !t.heard.IsZero() && now.Sub(t.heard) >= g.cfg.StaleAfter:
		return fmt.Sprintf("no alert notification for %s", Elapsed(now.Sub(t.heard)))
	}
	return ""
}

// staleAt is when a firing incident will be retired for silence, zero
// when it will not.
func (g *Grouper) staleAt(t *tracked) time.Time {
	if t.inc.Status != Firing || !t.published || !t.dueAt.IsZero() || t.heard.IsZero() {
		return time.Time{}
	}
	return t.heard.Add(g.cfg.StaleAfter)
}

// retired is the last update of an incident leaving memory while firing.
func (g *Grouper) retired(t *tracked, why string) Update {
	u := Update{Kind: Retired, Changes: t.pending, Unlisted: t.unlisted, Repeats: t.repeats, Note: why}
	t.pending, t.unlisted, t.repeats, t.dueAt = nil, ChangeTally{}, 0, time.Time{}
	u.Incident = t.inc.Clone()
	g.log.Info("incident leaves memory while firing; it stays on the record", "incident", t.inc.ID, "why", why)
	return u
}

// bound keeps the incidents in memory within MaxIncidents when fresh is
// opened: a resolved incident leaves at once (its flap window is cut
// short), else the firing one with a card heard from least recently is
// retired at the next publish. An incident whose card is not out yet is
// never chosen: its page must not be lost.
func (g *Grouper) bound(fresh *tracked) {
	if len(g.live) <= g.cfg.MaxIncidents {
		return
	}
	var resolved, firing *tracked
	for _, t := range g.order {
		switch {
		case t == fresh || t.retire != "" || !t.published:
		case t.inc.Status == Resolved && t.dueAt.IsZero():
			if resolved == nil || t.settledAt.Before(resolved.settledAt) {
				resolved = t
			}
		case t.inc.Status == Firing:
			if firing == nil || t.heard.Before(firing.heard) {
				firing = t
			}
		}
	}
	switch {
	case resolved != nil:
		g.evict(resolved)
		g.order = deleteTracked(g.order, resolved)
	case firing != nil:
		firing.retire = fmt.Sprintf("nightowl holds its limit of %d incidents in memory and heard least recently from this one", g.cfg.MaxIncidents)
		firing.dueAt = g.cfg.Now()
	default:
		g.log.Warn("more incidents than MaxIncidents, none of which can leave memory yet", "incidents", len(g.live), "max", g.cfg.MaxIncidents)
	}
}

func deleteTracked(order []*tracked, t *tracked) []*tracked {
	for i, o := range order {
		if o == t {
			copy(order[i:], order[i+1:])
			order[len(order)-1] = nil
			return order[:len(order)-1]
		}
	}
	return order
}

// ThreadOf is where a live incident's card is, without copying the incident.
func (g *Grouper) ThreadOf(id string) (Thread, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.live[id]
	if !ok {
		return Thread{}, false
	}
	return t.inc.Thread, true
}

// holds reports which of ids are live, without copying any incident.
func (g *Grouper) holds(ids map[string]bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id := range ids {
		_, live := g.live[id]
		ids[id] = live
	}
}
