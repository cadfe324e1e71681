// Package oncalltest holds a seeded on-call history with known answers:
// five weeks of synthetic incidents whose report figures are worked out by
// hand in its comments, written into a store through the store's own
// methods, for the tests of the report, the timeline and the docs' example.
package oncalltest

import (
	"context"
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Berlin, wherever the tests run

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// People of the history.
const (
	OnCall = "UONCALL" // ON_CALL: paged by every card
	Alice  = "UALICE"
	Bob    = "UBOB"
	Carol  = "UCAROL"
	// Channel is where the cards were posted.
	Channel = "C0INCIDENTS"
)

// TZ is the history's time zone: nights and weeks are Berlin's.
const TZ = "Europe/Berlin"

// Loc is TZ loaded.
func Loc() *time.Location {
	loc, err := time.LoadLocation(TZ)
	if err != nil {
		panic(fmt.Sprintf("oncalltest: %v", err))
	}
	return loc
}

// local is a wall-clock time in TZ.
func local(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, Loc())
}

// Weeks of the history, Mondays at 00:00 in TZ. Week4 is the week the
// weekly report posted on Monday 2 March 09:00 covers; Week3 is the one
// before it.
var (
	Week1 = local(time.February, 2, 0, 0)
	Week2 = local(time.February, 9, 0, 0)
	Week3 = local(time.February, 16, 0, 0)
	Week4 = local(time.February, 23, 0, 0)
	End   = local(time.March, 2, 0, 0)
	// Now is when the weekly report of Week4 is due.
	Now = local(time.March, 2, 9, 0)
)

// Graph is the history's service graph (SERVICE_GRAPH), with the teams
// TeamOf names.
const Graph = `services:
  frontend: {kind: service, team: web, depends_on: [checkout, orders]}
  checkout: {kind: service, team: payments, depends_on: [postgres]}
  orders: {kind: service, team: orders, depends_on: [postgres]}
  postgres: {kind: database, team: data}
  elasticsearch: {kind: database}
`

// TeamOf is the service graph's word on who owns a node.
func TeamOf(node string) string {
	return map[string]string{"orders": "orders", "checkout": "payments", "postgres": "data", "frontend": "web"}[node]
}

// Alert rules of the history and their labels.
var (
	checkoutErrors = rule{"CheckoutHighErrorRate", "checkout", map[string]string{"service": "checkout", "severity": "critical", "team": "payments", "namespace": "shop", "cluster": "eu-1"}}
	diskFull       = rule{"DiskAlmostFull", "elasticsearch", map[string]string{"service": "elasticsearch", "severity": "warning", "team": "storage", "namespace": "logging", "cluster": "eu-1"}}
	podRestarting  = rule{"PodRestarting", "orders", map[string]string{"service": "orders", "severity": "warning", "namespace": "shop", "cluster": "eu-1"}}
	replicaLag     = rule{"ReplicaLagHigh", "postgres", map[string]string{"service": "postgres", "severity": "critical", "team": "data", "namespace": "data", "cluster": "eu-1"}}
	highLatency    = rule{"HighLatency", "frontend", map[string]string{"service": "frontend", "severity": "warning", "team": "web", "namespace": "shop", "cluster": "eu-1"}}
)

type rule struct {
	name, node string
	labels     map[string]string
}

// Story is one synthetic incident.
type Story struct {
	ID    string
	Card  time.Time     // when its card was posted (or was due, when Settled)
	MTTD  time.Duration // first alert → card
	Ack   string        // who acknowledged, "" for nobody
	MTTA  time.Duration // card → ack
	MTTR  time.Duration // first alert → resolved; zero: still firing
	Rules []rule
	Cause string // the diagnosed root cause (a node)
	// Notifications counts alert notifications, repeats included.
	Notifications int
	// Settled: it resolved before its card was due; nobody was paged.
	Settled bool
	// Runbook, when set, ran: RequestedBy asked, ApprovedBy approved it
	// at ack+1m, and it succeeded (the outcome is "fixed").
	Runbook, RequestedBy, ApprovedBy string
	Escalated                        string   // who escalated, at ack+2m
	Questions                        []string // asked in the thread by Ack
	// Verdict is "", oncall.VerdictActionable or VerdictNotActionable,
	// answered by VerdictBy at resolution + 1m.
	Verdict, VerdictBy string
}

// History is the seeded history. The figures its tests expect are worked
// out below each week.
func History() []Story {
	m := time.Minute
	return []Story{
		// January: the 30-day report's previous period holds one page.
		{ID: "INC-JAN1", Card: local(time.January, 20, 10, 0), MTTD: 2 * m, Ack: Alice, MTTA: 2 * m, MTTR: 20 * m, Rules: []rule{checkoutErrors}, Cause: "checkout", Notifications: 4},

		// Week 1: one page.
		{ID: "INC-W1A", Card: local(time.February, 4, 14, 0), MTTD: 2 * m, Ack: Alice, MTTA: 6 * m, MTTR: 35 * m, Rules: []rule{checkoutErrors}, Cause: "checkout", Notifications: 5},

		// Week 2: two pages; DiskAlmostFull once, unactioned, at night.
		{ID: "INC-W2A", Card: local(time.February, 10, 10, 0), MTTD: 1 * m, Ack: Bob, MTTA: 4 * m, MTTR: 25 * m, Rules: []rule{checkoutErrors}, Cause: "checkout", Notifications: 7},
		{ID: "INC-W2B", Card: local(time.February, 12, 23, 30), MTTD: 1 * m, MTTR: 2 * time.Hour, Rules: []rule{diskFull}, Cause: "elasticsearch", Notifications: 15},

		// Week 3: five pages, two at night. ReplicaLagHigh with its symptom
		// HighLatency twice, unactioned (one answered "not actionable"):
		// both noisy in week 3, HighLatency to be inhibited by
		// ReplicaLagHigh, ReplicaLagHigh (50m, 40m) to be routed away.
		{ID: "INC-W3A", Card: local(time.February, 16, 9, 30), MTTD: 2 * m, MTTR: 50 * m, Rules: []rule{replicaLag, highLatency}, Cause: "postgres", Notifications: 10,
			Verdict: oncall.VerdictNotActionable, VerdictBy: Alice},
		{ID: "INC-W3B", Card: local(time.February, 17, 1, 0), MTTD: 2 * m, MTTR: 40 * m, Rules: []rule{replicaLag, highLatency}, Cause: "postgres", Notifications: 8},
		{ID: "INC-W3C", Card: local(time.February, 18, 11, 0), MTTD: 1 * m, Ack: Alice, MTTA: 2 * m, MTTR: 30 * m, Rules: []rule{checkoutErrors}, Cause: "checkout", Notifications: 6,
			Runbook: "restart-checkout", RequestedBy: runbooks.Recommender, ApprovedBy: Alice, Verdict: oncall.VerdictActionable, VerdictBy: Alice},
		{ID: "INC-W3D", Card: local(time.February, 20, 16, 0), MTTD: 1 * m, Ack: Bob, MTTA: 5 * m, MTTR: time.Hour, Rules: []rule{diskFull}, Cause: "elasticsearch", Notifications: 9},
		{ID: "INC-W3E", Card: local(time.February, 21, 4, 0), MTTD: 1 * m, MTTR: 5 * m, Rules: []rule{podRestarting}, Cause: "orders", Notifications: 2},

		// Week 4, the weekly report's week: eight incidents, seven pages
		// (INC-W4G settled before its card), four at night (W4B, W4C,
		// W4F, W4H).
		//   MTTD  30s 1m 1m 2m 2m 3m 4m        → median 2m, p90 4m
		//   MTTA  1m 3m 10m                    → median 3m, p90 10m
		//   MTTR  4m 6m 20m 45m 2h 3h (W4H firing) → median 32m30s, p90 3h
		//   notifications 12+30+20+4+3+40+2+5 = 116 → 116/7 = 16.57 a page
		//   auto-resolved: W4A of six resolved pages (W4F escalated, was asked about)
		//   false positives: W4B, W4E of four answered (W4A, W4B, W4E, W4F)
		//   night pages: UONCALL 2 (W4B, W4C, unacked), UBOB 1 (W4F), UALICE 1 (W4H)
		//   noisy: DiskAlmostFull (W4B, W4C: 3h, 2h → route), PodRestarting
		//   (W4D, W4E: 6m, 4m → for: 10m)
		{ID: "INC-W4A", Card: local(time.February, 23, 10, 0), MTTD: 2 * m, Ack: Alice, MTTA: 3 * m, MTTR: 20 * m, Rules: []rule{checkoutErrors}, Cause: "checkout", Notifications: 12,
			Runbook: "restart-checkout", RequestedBy: runbooks.Recommender, ApprovedBy: Alice, Verdict: oncall.VerdictActionable, VerdictBy: Alice},
		{ID: "INC-W4B", Card: local(time.February, 24, 2, 30), MTTD: 1 * m, MTTR: 3 * time.Hour, Rules: []rule{diskFull}, Cause: "elasticsearch", Notifications: 30,
			Verdict: oncall.VerdictNotActionable, VerdictBy: Bob},
		{ID: "INC-W4C", Card: local(time.February, 25, 23, 15), MTTD: 1 * m, MTTR: 2 * time.Hour, Rules: []rule{diskFull}, Cause: "elasticsearch", Notifications: 20},
		{ID: "INC-W4D", Card: local(time.February, 26, 14, 0), MTTD: 3 * m, MTTR: 6 * m, Rules: []rule{podRestarting}, Cause: "orders", Notifications: 4},
		{ID: "INC-W4E", Card: local(time.February, 26, 15, 30), MTTD: 2 * m, MTTR: 4 * m, Rules: []rule{podRestarting}, Cause: "orders", Notifications: 3,
			Verdict: oncall.VerdictNotActionable, VerdictBy: Carol},
		{ID: "INC-W4F", Card: local(time.February, 27, 3, 0), MTTD: 4 * m, Ack: Bob, MTTA: 10 * m, MTTR: 45 * m, Rules: []rule{replicaLag, highLatency}, Cause: "postgres", Notifications: 40,
			Runbook: "failover-postgres", RequestedBy: Bob, ApprovedBy: Carol, Escalated: Bob,
			Questions: []string{"is the replica caught up?", "why did failover not start on its own?"},
			Verdict:   oncall.VerdictActionable, VerdictBy: Bob},
		{ID: "INC-W4G", Card: local(time.February, 28, 12, 0), MTTD: 1 * m, MTTR: 1 * m, Rules: []rule{podRestarting}, Cause: "orders", Notifications: 2, Settled: true},
		{ID: "INC-W4H", Card: local(time.March, 1, 22, 30), MTTD: 30 * time.Second, Ack: Alice, MTTA: 1 * m, Rules: []rule{checkoutErrors}, Cause: "checkout", Notifications: 5},
	}
}

// Shift moves every story by d: a history that ends now, for a test
// whose clock it cannot set.
func Shift(stories []Story, d time.Duration) []Story {
	out := make([]Story, len(stories))
	for i, s := range stories {
		s.Card = s.Card.Add(d)
		out[i] = s
	}
	return out
}

// Writer is the store's writing side that the history goes through.
type Writer interface {
	SaveIncident(ctx context.Context, in diagnosis.Incident) error
	Append(ctx context.Context, e diagnosis.Event) error
	SaveDiagnosis(ctx context.Context, d diagnosis.Diagnosis) error
	Commit(ctx context.Context, r runbooks.Request, events ...runbooks.AuditEvent) error
	SaveOutcome(ctx context.Context, incident, runbook, outcome string, at time.Time) error
	AppendTurn(ctx context.Context, t diagnosis.Turn, u diagnosis.Usage) error
}

// Write records the stories as nightowl would have: the incident, its
// events, its diagnosis, its runs, its conversation and how it ended.
func Write(ctx context.Context, w Writer, stories []Story) error {
	for i, s := range stories {
		if err := write(ctx, w, s, i); err != nil {
			return fmt.Errorf("seed %s: %w", s.ID, err)
		}
	}
	return nil
}

func write(ctx context.Context, w Writer, s Story, n int) error {
	first := s.Card.Add(-s.MTTD).UTC()
	opened := first.Add(5 * time.Second)
	if s.MTTD < 10*time.Second {
		opened = first
	}
	var resolved time.Time
	if s.MTTR > 0 {
		resolved = first.Add(s.MTTR)
	}
	ts := fmt.Sprintf("%d.%06d", s.Card.Unix(), n)
	in := diagnosis.Incident{ID: s.ID, Scope: diagnosis.Scope{Cluster: "eu-1"}, Status: diagnosis.Firing, OpenedAt: opened,
		Received: s.Notifications}
	if !s.Settled {
		in.Thread = diagnosis.Thread{Channel: Channel, TS: ts}
	}
	if !resolved.IsZero() {
		in.Status, in.ResolvedAt = diagnosis.Resolved, resolved
	}
	per := max(1, s.Notifications/len(s.Rules))
	for j, r := range s.Rules {
		labels := map[string]string{"alertname": r.name, "pod": fmt.Sprintf("%s-%d", r.node, n)}
		for k, v := range r.labels {
			labels[k] = v
		}
		a := diagnosis.AlertState{Alert: diagnosis.Alert{Fingerprint: fmt.Sprintf("%s-%d", s.ID, j), Status: in.Status, Labels: labels,
			StartsAt: first, EndsAt: resolved, Source: diagnosis.SourceTemplate, Count: 1},
			Node: r.node, FirstSeen: opened, LastSeen: opened, Received: per}
		in.Alerts = append(in.Alerts, a)
	}
	var ack time.Time
	if s.Ack != "" {
		ack = s.Card.Add(s.MTTA).UTC()
		in.Ack = diagnosis.Mark{By: s.Ack, At: ack}
	}
	if s.Escalated != "" {
		in.Escalation = diagnosis.Mark{By: s.Escalated, At: ack.Add(2 * time.Minute)}
	}
	if err := w.SaveIncident(ctx, in); err != nil {
		return err
	}
	event := func(at time.Time, kind diagnosis.EventKind, actor, detail string) error {
		return w.Append(ctx, diagnosis.Event{Incident: s.ID, Kind: kind, Actor: actor, Detail: detail, At: at})
	}
	if err := event(opened, diagnosis.EventOpened, "", fmt.Sprintf("%d alerts", len(s.Rules))); err != nil {
		return err
	}
	if s.Settled {
		return errorsJoin(event(resolved, diagnosis.EventResolved, "", "resolved before its card was due; nobody paged"),
			w.SaveOutcome(ctx, s.ID, "", "resolved", resolved))
	}
	d := diagnosis.Diagnosis{Incident: s.ID, GeneratedAt: s.Card.UTC(), Summary: fmt.Sprintf("%s is the likely root cause", s.Cause),
		Candidates: []diagnosis.Candidate{{Service: s.Cause, Confidence: 0.8, Alerts: []string{s.Rules[0].name},
			Evidence: []string{fmt.Sprintf("%s fired first", s.Rules[0].name)}}}}
	if s.Runbook != "" {
		d.RecommendedRunbook = s.Runbook
	}
	if err := w.SaveDiagnosis(ctx, d); err != nil {
		return err
	}
	if err := event(s.Card.UTC(), diagnosis.EventCardPosted, "", fmt.Sprintf("%s/%s paged %s", Channel, ts, OnCall)); err != nil {
		return err
	}
	if s.Ack != "" {
		if err := event(ack, diagnosis.EventAcked, s.Ack, ""); err != nil {
			return err
		}
	}
	if s.Escalated != "" {
		if err := event(in.Escalation.At, diagnosis.EventEscalated, s.Escalated, "UESCALATION"); err != nil {
			return err
		}
	}
	for j, q := range s.Questions {
		at := ack.Add(time.Duration(3+j) * time.Minute)
		if err := errorsJoin(w.AppendTurn(ctx, diagnosis.Turn{Incident: s.ID, Role: "user", Author: s.Ack, Text: q, At: at}, diagnosis.Usage{}),
			w.AppendTurn(ctx, diagnosis.Turn{Incident: s.ID, Role: "assistant", Text: "Answered from the diagnosis.", At: at.Add(5 * time.Second)}, diagnosis.Usage{})); err != nil {
			return err
		}
	}
	outcome, runbook := "resolved", ""
	if s.Runbook != "" {
		if err := run(ctx, w, s, ack, n); err != nil {
			return err
		}
		outcome, runbook = "fixed", s.Runbook
	}
	if resolved.IsZero() {
		return nil
	}
	if err := errorsJoin(event(resolved, diagnosis.EventResolved, "", "after "+diagnosis.Elapsed(s.MTTR)),
		w.SaveOutcome(ctx, s.ID, runbook, outcome, resolved)); err != nil {
		return err
	}
	if s.Verdict != "" {
		return event(resolved.Add(time.Minute), oncall.EventVerdict, s.VerdictBy, s.Verdict)
	}
	return nil
}

// run records a request approved a minute after the ack that succeeded
// two minutes later.
func run(ctx context.Context, w Writer, s Story, ack time.Time, n int) error {
	requested := ack
	if s.RequestedBy == runbooks.Recommender {
		requested = s.Card.UTC()
	}
	approved := ack.Add(time.Minute)
	finished := approved.Add(2 * time.Minute)
	r := runbooks.Request{ID: fmt.Sprintf("RB-%d", n), Incident: s.ID, Runbook: s.Runbook, RequestedBy: s.RequestedBy, RequestedAt: requested,
		State: runbooks.StatePending}
	audit := func(kind, actor, detail string, at time.Time) runbooks.AuditEvent {
		return runbooks.AuditEvent{Request: r.ID, Incident: s.ID, Runbook: s.Runbook, Kind: kind, Actor: actor, Detail: detail, At: at}
	}
	if err := w.Commit(ctx, r, audit(runbooks.AuditRequested, s.RequestedBy, "", requested)); err != nil {
		return err
	}
	r.Approvals = []runbooks.Decision{{By: s.ApprovedBy, At: approved}}
	r.State = runbooks.StateSucceeded
	return w.Commit(ctx, r, audit(runbooks.AuditApproved, s.ApprovedBy, "", approved),
		audit(runbooks.AuditStarted, "", "check=false", approved.Add(time.Second)),
		audit(runbooks.AuditFinished, "", "succeeded", finished))
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
