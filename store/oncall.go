package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
	"github.com/nightowl-sre/nightowl/runbooks"
)

var (
	_ oncall.Record = (*DB)(nil)
	_ oncall.Ledger = (*DB)(nil)
)

// Lifecycles lists the incidents opened in [from, to), oldest first, each
// as its record tells its life: card, acknowledgement, runs, resolution,
// and the answer to "Was this page actionable?".
func (db *DB) Lifecycles(ctx context.Context, from, to time.Time) ([]oncall.Lifecycle, error) {
	var ta timeArgs
	f, t := ta.at(from), ta.at(to)
	if ta.err != nil {
		return nil, fmt.Errorf("lifecycles: %w", ta.err)
	}
	ins, err := db.queryIncidents(ctx, `
		SELECT `+incidentColumns+` FROM incidents
		WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at, rowid`, f, t)
	if err != nil {
		return nil, fmt.Errorf("lifecycles: %w", err)
	}
	out := make([]oncall.Lifecycle, 0, len(ins))
	for _, in := range ins {
		l, err := db.lifecycle(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("lifecycles: %w", err)
		}
		out = append(out, l)
	}
	return out, nil
}

// lifecycle reads what the record holds of one incident beside its row.
func (db *DB) lifecycle(ctx context.Context, in diagnosis.Incident) (oncall.Lifecycle, error) {
	l := oncall.Lifecycle{Incident: in.ID, FirstAlert: in.StartedAt(), Opened: in.OpenedAt,
		Ack: in.Ack, Escalation: in.Escalation, Notifications: in.Received, Rules: rulesOf(in)}
	if in.Status == diagnosis.Resolved {
		l.Resolved = in.ResolvedAt
	}
	events, err := db.Events(ctx, in.ID)
	if err != nil {
		return l, err
	}
	for _, e := range events {
		switch e.Kind {
		case diagnosis.EventCardPosted:
			if l.Card.IsZero() {
				l.Card = e.At
				l.Paged = !strings.Contains(e.Detail, "nobody paged")
				if _, who, ok := strings.Cut(e.Detail, " paged "); ok && l.Paged {
					l.PagedWho = strings.TrimSpace(who)
				}
			}
		case oncall.EventVerdict:
			l.Verdict = &oncall.Verdict{Actionable: e.Detail == oncall.VerdictActionable, By: e.Actor, At: e.At}
		}
	}
	reqs, err := db.Requests(ctx, in.ID)
	if err != nil {
		return l, err
	}
	audit, err := db.Audit(ctx, in.ID)
	if err != nil {
		return l, err
	}
	for _, r := range reqs {
		l.Runs = append(l.Runs, runOf(r, audit))
	}
	err = db.read.QueryRowContext(ctx, `
		SELECT ifnull((SELECT outcome FROM outcomes WHERE incident_id = ?), ''),
			ifnull((SELECT root_cause FROM diagnoses WHERE incident_id = ?), ''),
			(SELECT count(*) FROM conversation_turns WHERE incident_id = ? AND role = 'user')`, in.ID, in.ID, in.ID).
		Scan(&l.Outcome, &l.RootCause, &l.Questions)
	if err != nil {
		return l, fmt.Errorf("outcome of %s: %w", in.ID, err)
	}
	return l, nil
}

// runOf is a request as the report sees it: who asked and approved, when
// it finished.
func runOf(r runbooks.Request, audit []runbooks.AuditEvent) oncall.Run {
	run := oncall.Run{Runbook: r.Runbook, RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt, State: string(r.State)}
	for _, a := range r.Approvals {
		run.ApprovedBy = append(run.ApprovedBy, a.By)
		if a.At.After(run.ApprovedAt) {
			run.ApprovedAt = a.At
		}
	}
	for _, e := range audit {
		if e.Request == r.ID && e.Kind == runbooks.AuditFinished {
			run.FinishedAt = e.At
		}
	}
	return run
}

// rulesOf groups an incident's alerts by rule: the labels they all share,
// and how long the longest fired.
func rulesOf(in diagnosis.Incident) []oncall.Rule {
	var out []oncall.Rule
	index := map[string]int{}
	for _, a := range in.Alerts {
		end := a.EndsAt
		if a.Status != diagnosis.Resolved || end.IsZero() {
			end = in.ResolvedAt
		}
		var firing time.Duration
		if !end.IsZero() && end.After(a.StartsAt) {
			firing = end.Sub(a.StartsAt)
		}
		i, ok := index[a.Name()]
		if !ok {
			index[a.Name()] = len(out)
			out = append(out, oncall.Rule{Name: a.Name(), Node: a.NodeOrService(), Labels: maps.Clone(a.Labels), Firing: firing})
			continue
		}
		r := &out[i]
		r.Node = cmp.Or(r.Node, a.NodeOrService())
		r.Firing = max(r.Firing, firing)
		maps.DeleteFunc(r.Labels, func(k, v string) bool { return a.Labels[k] != v })
	}
	for _, name := range slices.Sorted(maps.Keys(in.More.Names)) {
		if _, ok := index[name]; !ok {
			out = append(out, oncall.Rule{Name: name})
		}
	}
	return out
}

// Timeline is an incident's whole record in time order: its alerts, card,
// people's acts, diagnoses, conversation, runs and resolution.
func (db *DB) Timeline(ctx context.Context, id string) (oncall.Timeline, error) {
	in, err := db.Incident(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return oncall.Timeline{}, fmt.Errorf("timeline of %s: %w", id, oncall.ErrUnknown)
	}
	if err != nil {
		return oncall.Timeline{}, fmt.Errorf("timeline of %s: %w", id, err)
	}
	t := oncall.Timeline{Incident: in}
	if t.Lifecycle, err = db.lifecycle(ctx, in); err != nil {
		return t, fmt.Errorf("timeline of %s: %w", id, err)
	}
	if t.Diagnosis, err = db.Diagnosis(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("timeline of %s: %w", id, err)
	}
	add := func(at time.Time, s oncall.Section, actor, text string) {
		t.Entries = append(t.Entries, oncall.Entry{At: at, Section: s, Actor: actor, Text: text})
	}
	for _, a := range in.Alerts {
		what := a.Name()
		if n := a.NodeOrService(); n != "" {
			what += " on " + n
		}
		add(a.StartsAt, oncall.SectionAlert, "", what+" fired ("+a.Severity().String()+")")
		if a.Status == diagnosis.Resolved && !a.EndsAt.IsZero() {
			add(a.EndsAt, oncall.SectionAlert, "", what+" resolved")
		}
	}
	events, err := db.Events(ctx, id)
	if err != nil {
		return t, fmt.Errorf("timeline of %s: %w", id, err)
	}
	for _, e := range events {
		if s, text, ok := eventEntry(e); ok {
			add(e.At, s, e.Actor, text)
		}
	}
	audit, err := db.Audit(ctx, id)
	if err != nil {
		return t, fmt.Errorf("timeline of %s: %w", id, err)
	}
	for _, e := range audit {
		switch e.Kind {
		case runbooks.AuditTask, runbooks.AuditQueued, runbooks.AuditCheckDone:
			continue // the run's own detail: the thread and `bot audit` keep it
		}
		text := e.Runbook + ": " + strings.ReplaceAll(e.Kind, "_", " ")
		if e.Detail != "" {
			text += " — " + e.Detail
		}
		add(e.At, oncall.SectionRunbook, e.Actor, text)
	}
	turns, err := db.Turns(ctx, id, 0)
	if err != nil {
		return t, fmt.Errorf("timeline of %s: %w", id, err)
	}
	for _, tu := range turns {
		actor, text := tu.Author, "asked: "+tu.Text
		if tu.Role == "assistant" {
			actor, text = "nightowl", "answered: "+tu.Text
		}
		add(tu.At, oncall.SectionQuestion, actor, clip(text, 300))
	}
	t.Sort()
	return t, nil
}

// eventEntry tells an event as a line of the timeline; false leaves it out.
func eventEntry(e diagnosis.Event) (oncall.Section, string, bool) {
	switch e.Kind {
	case diagnosis.EventAlertReceived:
		return "", "", false
	case diagnosis.EventOpened:
		return oncall.SectionCard, "incident opened with " + e.Detail, true
	case diagnosis.EventCardPosted:
		return oncall.SectionCard, "card posted: " + e.Detail, true
	case diagnosis.EventCardUpdated:
		return oncall.SectionCard, "card updated: " + e.Detail, true
	case diagnosis.EventAcked:
		return oncall.SectionPeople, "acknowledged", true
	case diagnosis.EventEscalated:
		return oncall.SectionPeople, "escalated to " + e.Detail, true
	case diagnosis.EventResolved:
		return oncall.SectionResolved, "resolved " + e.Detail, true
	case diagnosis.EventReopened:
		return oncall.SectionAlert, "fired again: " + e.Detail, true
	case oncall.EventDiagnosed:
		return oncall.SectionDiagnosis, e.Detail, true
	case oncall.EventVerdict:
		return oncall.SectionPeople, "answered: the page was " + e.Detail, true
	}
	text := strings.ReplaceAll(string(e.Kind), "_", " ")
	if e.Detail != "" {
		text += ": " + e.Detail
	}
	return oncall.SectionPeople, text, true
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// weekKey is the delivery key of a week's report in seen: kept
// DefaultSeenKeep (a week), longer than the week it is checked in.
func weekKey(week string) string { return "weekly-report:" + week }

// ClaimWeek takes a week's report for posting, once: false when it was
// taken before (posted, or lost to a crash while posting: never twice).
func (db *DB) ClaimWeek(ctx context.Context, week string, at time.Time) (bool, error) {
	return db.FirstSeen(ctx, weekKey(week), at)
}

// PostedWeek has nothing left to record: the claim is the record.
func (db *DB) PostedWeek(context.Context, string, time.Time) error { return nil }

// ReleaseWeek forgets the claim of a week whose post failed.
func (db *DB) ReleaseWeek(ctx context.Context, week string) (err error) {
	defer db.wrote("ReleaseWeek", time.Now(), &err)
	if _, err := db.write.ExecContext(ctx, `DELETE FROM seen WHERE key = ?`, weekKey(week)); err != nil {
		return fmt.Errorf("release the report of week %s: %w", week, err)
	}
	return nil
}
