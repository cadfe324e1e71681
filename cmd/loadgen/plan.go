package main

import (
	"slices"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// notification is one message Alertmanager's Slack notifier posts: the
// alerts of one aggregation group (one service), due at At from the start.
type notification struct {
	At       time.Duration
	Incident int // the cluster the alerts belong to
	Alerts   []diagnosis.Alert
}

// cascade plays incidents as Alertmanager relays them: a service's group is
// notified as soon as it starts alerting, then groups take turns, each
// notification resending every alert of its group (repeats), at a steady
// rate of alert entries per second. A resolved alert is sent twice more,
// resolved, then leaves its group.
type cascade struct {
	base   time.Time
	rate   float64 // alert entries per second
	events []event // sorted by at
	queue  []*group
	budget float64
	now    time.Duration
}

// event starts a group alerting, or resolves a share of its firing alerts.
type event struct {
	at      time.Duration
	g       *group
	resolve float64 // 0: the group starts; else the share of its firing alerts that resolve
}

type group struct {
	incident int
	alerts   []*alertState
	fresh    bool // started and not yet notified: goes out at once
}

type alertState struct {
	a        diagnosis.Alert
	resolved int // notifications sent since it resolved; -1 while firing
}

const step = 20 * time.Millisecond

// add schedules ev.
func (c *cascade) add(ev event) {
	i, _ := slices.BinarySearchFunc(c.events, ev.at, func(e event, at time.Duration) int { return int(e.at - at) })
	for i < len(c.events) && c.events[i].at == ev.at {
		i++
	}
	c.events = slices.Insert(c.events, i, ev)
}

// newGroup is the alerts of service j of cluster k in episode ep, firing
// from at.
func (c *cascade) newGroup(k, j, ep, pods int, at time.Duration) *group {
	g := &group{incident: k}
	for _, a := range alertsOf(k, j, ep, pods, c.base.Add(at)) {
		g.alerts = append(g.alerts, &alertState{a: a, resolved: -1})
	}
	c.add(event{at: at, g: g})
	return g
}

// advance plays the cascade until the time until and returns the
// notifications due, in order.
func (c *cascade) advance(until time.Duration) []notification {
	var out []notification
	for ; c.now < until; c.now += step {
		for len(c.events) > 0 && c.events[0].at <= c.now {
			ev := c.events[0]
			c.events = c.events[1:]
			c.apply(ev)
		}
		c.budget += c.rate * step.Seconds()
		for len(c.queue) > 0 {
			g := c.queue[0]
			if !g.fresh && c.budget < float64(len(g.alerts)) {
				break
			}
			out = append(out, c.notify(g))
			c.queue = c.queue[1:]
			if len(g.alerts) > 0 {
				c.queue = append(c.queue, g)
			}
		}
	}
	return out
}

func (c *cascade) apply(ev event) {
	if ev.resolve == 0 {
		ev.g.fresh = true
		c.queue = slices.Insert(c.queue, 0, ev.g)
		return
	}
	n := int(ev.resolve * float64(len(ev.g.alerts)))
	for _, s := range ev.g.alerts {
		if n == 0 {
			break
		}
		if s.resolved < 0 {
			s.resolved = 0
			s.a.Status, s.a.EndsAt = diagnosis.Resolved, c.base.Add(ev.at).Truncate(time.Millisecond)
			n--
		}
	}
}

// notify is g's notification now; resolved alerts sent twice leave g.
func (c *cascade) notify(g *group) notification {
	n := notification{At: c.now, Incident: g.incident}
	kept := g.alerts[:0]
	for _, s := range g.alerts {
		n.Alerts = append(n.Alerts, s.a)
		if s.resolved >= 0 {
			s.resolved++
		}
		if s.resolved < 2 {
			kept = append(kept, s)
		}
	}
	g.alerts = kept
	g.fresh = false
	c.budget -= float64(len(n.Alerts))
	return n
}

// stormPlan is the storm: incidents clusters start one after another over
// the first half of d, each a cascade from its database to its gateway
// (one service a second); from 80% of d half the alerts of the outer five
// services of every incident resolve. At least total alert entries are
// sent in d, in whole notifications.
func stormPlan(base time.Time, incidents, total int, d time.Duration) []notification {
	const pods = 4
	c := &cascade{base: base, rate: float64(total) / (0.98 * d.Seconds())} // a little ahead, cut at total
	spread := d / 2
	for k := range incidents {
		start := time.Duration(k) * spread / time.Duration(incidents)
		for j := range perCluster {
			g := c.newGroup(k, j, 0, pods, start+time.Duration(j)*time.Second)
			if j >= 5 {
				c.add(event{at: d * 8 / 10, g: g, resolve: 0.5})
			}
		}
	}
	var out []notification
	sent := 0
	for _, n := range c.advance(d) {
		if sent >= total {
			break // whole notifications: total, or a few more
		}
		out = append(out, n)
		sent += len(n.Alerts)
	}
	return out
}

// oneIncidentPlan is total distinct alerts (one pod each) on the ten
// services of one cluster, perMessage to a notification, evenly over d.
func oneIncidentPlan(base time.Time, total, perMessage int, d time.Duration) []notification {
	msgs := (total + perMessage - 1) / perMessage
	out := make([]notification, 0, msgs)
	for m := range msgs {
		j := m % perCluster
		at := d * time.Duration(m) / time.Duration(msgs)
		n := notification{At: at}
		for i := range min(perMessage, total-m*perMessage) {
			pod := m*perMessage + i
			labels := map[string]string{
				"alertname": "HighErrorRate", "severity": "critical", "service": serviceName(0, j),
				"namespace": "prod", "pod": serviceName(0, j) + "-" + itoa(pod), "job": serviceName(0, j),
			}
			if j == 0 {
				labels["alertname"] = "PostgresConnectionsExhausted"
			}
			n.Alerts = append(n.Alerts, diagnosis.Alert{
				Status: diagnosis.Firing, Labels: labels,
				Annotations: map[string]string{"summary": serviceName(0, j) + " is failing"},
				StartsAt:    base.Add(at).Truncate(time.Millisecond), Fingerprint: diagnosis.Fingerprint(labels),
			})
		}
		out = append(out, n)
	}
	return out
}

// soak is a steady stream of incidents: every period one starts on the
// next cluster (new pods, so new alerts), cascades for a minute, fires for
// lasting, then resolves; notifications go out at rate entries a second.
type soak struct {
	c        *cascade
	clusters int
	period   time.Duration
	lasting  time.Duration
	next     int // the next episode to schedule
}

func newSoak(base time.Time, clusters int, rate float64) *soak {
	return &soak{c: &cascade{base: base, rate: rate}, clusters: clusters, period: 2 * time.Minute, lasting: 5 * time.Minute}
}

// advance plays the soak until until.
func (s *soak) advance(until time.Duration) []notification {
	for ; time.Duration(s.next)*s.period <= until; s.next++ {
		start := time.Duration(s.next) * s.period
		for j := range perCluster {
			g := s.c.newGroup(s.next%s.clusters, j, s.next, 2, start+time.Duration(j)*6*time.Second)
			s.c.add(event{at: start + s.lasting, g: g, resolve: 1})
		}
	}
	return s.c.advance(until)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
