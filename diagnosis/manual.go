package diagnosis

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// What people do to incidents by hand: resolve one, merge one into
// another. The Grouper learns nothing from them (its rules stay as they
// are); the incidents and the record change.

// Resolve marks a firing incident with a card resolved by a person, even
// while some of its alerts still fire. Its resolution is published like
// one its alerts made (IncidentResolved), with Incident.Resolution set.
// The incident is closed: no alert joins or reopens it any more. Its
// alerts' repeats and resolutions are taken quietly; an alert of it that
// resolves and fires again, and any new alert, opens a new incident with
// its own card and page (as PagerDuty does after a manual resolve). It
// leaves memory after the flap window like any resolved incident; from
// then on Alertmanager's next repeat of an alert still firing opens a new
// incident too. It reports false when the incident is not live, has no
// card yet, or is resolved already.
func (g *Grouper) Resolve(id string, by Mark) (Incident, bool) {
	now := g.cfg.Now()
	g.mu.Lock()
	t, ok := g.live[id]
	if !ok || !t.published || t.inc.Status == Resolved || t.closed {
		g.mu.Unlock()
		return Incident{}, false
	}
	t.closed = true
	t.inc.Status, t.inc.ResolvedAt, t.inc.Resolution, t.settledAt = Resolved, by.At, by, now
	t.reopened = false
	t.dueAt = now
	in := t.inc.Clone()
	g.mu.Unlock()
	g.wake()
	g.log.Info("incident resolved by hand", "incident", id, "by", by.By, "still_firing", in.StillFiring())
	return in, true
}

// StillFiring counts the alerts of an incident that fire now, those it
// summarises included.
func (in *Incident) StillFiring() int {
	n := in.More.Firing
	for _, a := range in.Alerts {
		if a.Status == Firing {
			n++
		}
	}
	return n
}

// addToClosed takes news about an alert of an incident resolved by hand:
// a repeat or a resolution quietly; a firing alert that had resolved is
// let go, to open a new incident (ok false).
func (g *Grouper) addToClosed(t *tracked, a Alert, now time.Time) (Outcome, bool) {
	if i, held := t.idx[a.Fingerprint]; held && g.byFP[a.Fingerprint] == t {
		st := &t.inc.Alerts[i]
		if a.Status == Firing && st.Status == Resolved {
			delete(g.byFP, a.Fingerprint)
			return Outcome{}, false
		}
		st.LastSeen, t.heard = now, now
		st.Received++
		t.inc.Received++
		if a.Status == Resolved && st.Status == Firing {
			st.Status, st.EndsAt = Resolved, a.EndsAt
			if st.EndsAt.IsZero() {
				st.EndsAt = now
			}
		}
		return Outcome{Incident: t.inc.ID, Repeat: true}, true
	}
	key := fpKey(a.Fingerprint)
	firing := t.extra[key]
	if a.Status == Firing && !firing {
		delete(g.extra, key)
		delete(t.extra, key)
		return Outcome{}, false
	}
	t.heard = now
	t.inc.Received++
	if a.Status == Resolved && firing {
		t.extra[key] = false
		t.inc.More.Firing--
	}
	return Outcome{Incident: t.inc.ID, Repeat: true, Summarised: true}, true
}

// Merge moves every alert of the incident from into the incident into,
// both firing with a card: from leaves memory (its card and record say
// where it went), into keeps its alerts from now on. It returns from as
// it was and into as it is now; an error says in one sentence why not.
func (g *Grouper) Merge(from, into string) (Incident, Incident, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if from == into {
		return Incident{}, Incident{}, fmt.Errorf("an incident cannot be merged into itself")
	}
	f, err := g.openWithCard(from)
	if err != nil {
		return Incident{}, Incident{}, err
	}
	t, err := g.openWithCard(into)
	if err != nil {
		return Incident{}, Incident{}, err
	}
	was := f.inc.Clone()
	g.merge(t, f)
	t.clues = incidentClues{}
	sortAlerts(t.inc.Alerts, t.idx)
	g.log.Info("incident merged by hand", "incident", into, "merged", from, "alerts", len(was.Alerts))
	return was, t.inc.Clone(), nil
}

func (g *Grouper) openWithCard(id string) (*tracked, error) {
	t, ok := g.live[id]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s is not open", id)
	case t.closed || t.inc.Status == Resolved:
		return nil, fmt.Errorf("%s is resolved", id)
	case !t.published:
		return nil, fmt.Errorf("%s has no card yet", id)
	}
	return t, nil
}

// Resolve resolves an incident by hand (Grouper.Resolve).
func (l *Live) Resolve(id string, by Mark) (Incident, bool) { return l.grouper.Resolve(id, by) }

// Merge merges one incident into another (Grouper.Merge).
func (l *Live) Merge(from, into string) (Incident, Incident, error) {
	return l.grouper.Merge(from, into)
}

// Split moves the alerts of one service (AlertState.NodeOrService) out of
// a firing incident with a card into a new incident, which gets its own
// card and page at once (Opened) and its own diagnosis: people said it is
// a separate problem. Incident.SplitFrom on the new one says where it came
// from. The alerts the incident only summarises (Incident.More) stay. The
// old incident keeps its card; it resolves if what is left of it has
// resolved. From now on the service's alerts do not join the old incident
// while it is open: the Grouper's rules place them as any alert, so they
// join the new incident while it is open and related, or open another.
// It returns the old incident as it is now and the new one; an error says
// in one sentence why not (an unknown service, the incident's last
// service, only resolved alerts to move, a resolved incident).
func (g *Grouper) Split(id, service string, by Mark) (Incident, Incident, error) {
	now := g.cfg.Now()
	g.mu.Lock()
	t, err := g.openWithCard(id)
	if err != nil {
		g.mu.Unlock()
		return Incident{}, Incident{}, err
	}
	var keep, move []AlertState
	for _, a := range t.inc.Alerts {
		if a.NodeOrService() == service {
			move = append(move, a)
		} else {
			keep = append(keep, a)
		}
	}
	switch {
	case len(move) == 0:
		g.mu.Unlock()
		return Incident{}, Incident{}, fmt.Errorf("%s has no alerts of %s: say one of %s", id, service, strings.Join(t.inc.Nodes(), ", "))
	case len(keep) == 0:
		g.mu.Unlock()
		return Incident{}, Incident{}, fmt.Errorf("%s is the last service of %s: there is nothing to split it from", service, id)
	case !slices.ContainsFunc(move, func(a AlertState) bool { return a.Status == Firing }):
		g.mu.Unlock()
		return Incident{}, Incident{}, fmt.Errorf("every alert of %s in %s has resolved: there is no separate problem to page for", service, id)
	}
	n := &tracked{
		inc: Incident{ID: g.newID(move[0].Alert, now), Status: Firing, OpenedAt: now,
			SplitFrom: Split{Incident: id, Service: service, Mark: by}},
		idx: map[string]int{}, nodes: map[string][]string{}, heard: now,
	}
	for _, a := range move {
		g.keepOrSummarise(n, a, t)
		n.inc.Received += a.Received
		t.inc.Received -= a.Received
		g.pend(n, Change{Kind: ChangeNew, Alert: a})
	}
	g.rebuild(n, now)
	t.inc.Alerts = keep
	clear(t.idx)
	for i, a := range keep {
		t.idx[a.Fingerprint] = i
	}
	t.pending = slices.DeleteFunc(t.pending, func(c Change) bool { return c.Alert.NodeOrService() == service })
	g.rebuild(t, now)
	if t.splitOff == nil {
		t.splitOff = map[string]string{}
	}
	t.splitOff[service] = n.inc.ID
	if !t.inc.firing() {
		t.inc.Status, t.inc.ResolvedAt, t.settledAt = Resolved, lastEnd(keep), now
		t.dueAt = now
	}
	n.dueAt = now
	g.live[n.inc.ID] = n
	g.order = append(g.order, n)
	g.bound(n)
	was, split := t.inc.Clone(), n.inc.Clone()
	g.mu.Unlock()
	g.wake()
	g.log.Info("incident split by hand", "incident", id, "split", split.ID, "service", service, "by", by.By, "alerts", len(move))
	return was, split, nil
}

// rebuild recounts what an incident holds from its alerts one by one
// (nodes, neighbourhood, namespaces, Scope, clues, the span of starts),
// after alerts moved out of it or into a new one.
func (g *Grouper) rebuild(t *tracked, now time.Time) {
	t.nodes, t.near, t.namespaces, t.placed, t.clues = map[string][]string{}, nil, nil, false, incidentClues{}
	t.inc.Scope = Scope{}
	t.firstAt, t.lastAt = time.Time{}, time.Time{}
	for _, a := range t.inc.Alerts {
		f := g.factsOf(a.Alert, a.NodeOrService(), now)
		g.note(t, a.Alert, f)
		if t.firstAt.IsZero() || f.start.Before(t.firstAt) {
			t.firstAt = f.start
		}
		if f.start.After(t.lastAt) {
			t.lastAt = f.start
		}
	}
	sortAlerts(t.inc.Alerts, t.idx)
}

// lastEnd is when the last of alerts ended.
func lastEnd(alerts []AlertState) time.Time {
	var last time.Time
	for _, a := range alerts {
		if a.EndsAt.After(last) {
			last = a.EndsAt
		}
	}
	return last
}

// Split splits one service's alerts off an incident (Grouper.Split).
func (l *Live) Split(id, service string, by Mark) (Incident, Incident, error) {
	return l.grouper.Split(id, service, by)
}
