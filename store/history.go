package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
)

var _ diagnosis.History = (*DB)(nil)

// SaveDiagnosis keeps the latest diagnosis of an incident.
func (db *DB) SaveDiagnosis(ctx context.Context, d diagnosis.Diagnosis) (err error) {
	defer db.wrote("SaveDiagnosis", time.Now(), &err)
	if d.Incident == "" {
		return fmt.Errorf("save diagnosis: no incident")
	}
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("save diagnosis of %s: %w", d.Incident, err)
	}
	var ta timeArgs
	at := ta.at(d.GeneratedAt)
	if ta.err != nil {
		return fmt.Errorf("save diagnosis of %s: %w", d.Incident, ta.err)
	}
	top, _ := d.Top()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := noteDiagnosisChange(ctx, tx, d, top, at); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO diagnoses (incident_id, generated_at, root_cause, confidence, runbook, summary, body)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (incident_id) DO UPDATE SET generated_at = excluded.generated_at,
				root_cause = excluded.root_cause, confidence = excluded.confidence,
				runbook = excluded.runbook, summary = excluded.summary, body = excluded.body`,
			d.Incident, at, top.Service, top.Confidence, d.RecommendedRunbook, d.Summary, string(body))
		return err
	})
	if err != nil {
		return fmt.Errorf("save diagnosis of %s: %w", d.Incident, err)
	}
	return nil
}

// noteDiagnosisChange appends a "diagnosed" event to the incident's record
// when the diagnosis names another root cause or runbook than the one it
// replaces (or is the first): the timeline shows how the diagnosis moved.
func noteDiagnosisChange(ctx context.Context, tx *sql.Tx, d diagnosis.Diagnosis, top diagnosis.Candidate, at any) error {
	var cause, runbook string
	err := tx.QueryRowContext(ctx, `SELECT root_cause, runbook FROM diagnoses WHERE incident_id = ?`, d.Incident).Scan(&cause, &runbook)
	switch {
	case err == nil && cause == top.Service && runbook == d.RecommendedRunbook:
		return nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("previous diagnosis: %w", err)
	}
	detail := "no root cause named"
	if top.Service != "" {
		detail = fmt.Sprintf("root cause %s (%.0f%%)", top.Service, 100*top.Confidence)
	}
	if d.RecommendedRunbook != "" {
		detail += ", runbook " + d.RecommendedRunbook
	}
	if err == nil {
		detail += fmt.Sprintf(" (was %s)", cmp.Or(cause, "none"))
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO events (incident_id, kind, actor, detail, at) VALUES (?, ?, 'nightowl', ?, ?)`,
		d.Incident, string(oncall.EventDiagnosed), detail, at)
	return err
}

// Diagnosis returns the latest diagnosis of an incident.
func (db *DB) Diagnosis(ctx context.Context, incident string) (diagnosis.Diagnosis, error) {
	var body string
	err := db.read.QueryRowContext(ctx, `SELECT body FROM diagnoses WHERE incident_id = ?`, incident).Scan(&body)
	if err == sql.ErrNoRows {
		return diagnosis.Diagnosis{}, fmt.Errorf("diagnosis of %s: %w", incident, ErrNotFound)
	}
	if err != nil {
		return diagnosis.Diagnosis{}, fmt.Errorf("diagnosis of %s: %w", incident, err)
	}
	var d diagnosis.Diagnosis
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		return d, fmt.Errorf("diagnosis of %s: %w", incident, err)
	}
	return d, nil
}

// SaveOutcome records how an incident ended: "fixed" or "failed" by a
// runbook, or "resolved" on its own. A runbook's word is never overwritten
// by "resolved".
func (db *DB) SaveOutcome(ctx context.Context, incident, runbook, outcome string, at time.Time) (err error) {
	defer db.wrote("SaveOutcome", time.Now(), &err)
	var ta timeArgs
	t := ta.at(at)
	if ta.err != nil {
		return fmt.Errorf("save outcome of %s: %w", incident, ta.err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO outcomes (incident_id, runbook, outcome, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (incident_id) DO UPDATE SET runbook = excluded.runbook, outcome = excluded.outcome, at = excluded.at
			WHERE excluded.outcome <> 'resolved' OR outcomes.outcome = 'resolved'`,
			incident, runbook, outcome, t)
		return err
	})
	if err != nil {
		return fmt.Errorf("save outcome of %s: %w", incident, err)
	}
	return nil
}

// Past recalls resolved incidents, newest first, with their alert names,
// services, outcome, verdict (the votes cast on the diagnosed root cause;
// votes cast while the card named another are ignored) and a root cause
// only where one was confirmed, by authority: a person's latest correction,
// then the target service of an approved run that fixed the incident (it
// succeeded, and the incident resolved after it), then the diagnosed root
// cause when more people voted 👍 than 👎 on it. The engine's own pick is
// never remembered as the cause.
func (db *DB) Past(ctx context.Context, limit int) ([]diagnosis.Past, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT i.id, i.opened_at, i.resolved_at,
			COALESCE(d.root_cause, ''), COALESCE(o.runbook, ''), COALESCE(o.outcome, 'resolved'),
			(SELECT group_concat(DISTINCT ia.alertname) FROM incident_alerts ia WHERE ia.incident_id = i.id),
			(SELECT group_concat(DISTINCT CASE WHEN ia.node <> '' THEN ia.node ELSE ia.service END) FROM incident_alerts ia WHERE ia.incident_id = i.id),
			(SELECT min(ia.starts_at) FROM incident_alerts ia WHERE ia.incident_id = i.id),
			(SELECT COALESCE(sum(f.vote), 0) FROM feedback f
				WHERE f.incident_id = i.id AND d.root_cause <> '' AND f.root_cause = d.root_cause),
			COALESCE((SELECT c.root_cause FROM cause_corrections c WHERE c.incident_id = i.id
				ORDER BY c.at DESC, c.id DESC LIMIT 1), ''),
			CASE WHEN o.outcome = 'fixed' AND o.runbook <> '' AND o.at <= i.resolved_at THEN
				COALESCE((SELECT json_extract(r.body, '$.vars.service') FROM run_requests r
					WHERE r.incident_id = i.id AND r.runbook = o.runbook AND r.state = 'succeeded'
					ORDER BY r.requested_at DESC LIMIT 1), '')
			ELSE '' END
		FROM incidents i
		LEFT JOIN diagnoses d ON d.incident_id = i.id
		LEFT JOIN outcomes o ON o.incident_id = i.id
		WHERE i.status = 'resolved'
		ORDER BY i.opened_at DESC
		LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("recall past incidents: %w", err)
	}
	defer rows.Close()
	var out []diagnosis.Past
	for rows.Next() {
		var (
			p                          diagnosis.Past
			c                          diagnosis.Confirmations
			names, services            sql.NullString
			openAt, resolvedAt, starts time.Time
			votes                      int
			fixed                      any // the run's service parameter: text, unless a run said otherwise
		)
		if err := rows.Scan(&p.Incident, timeCol{&openAt}, timeCol{&resolvedAt}, &c.Diagnosed, &p.Runbook, &p.Outcome,
			&names, &services, timeCol{&starts}, &votes, &c.Correction, &fixed); err != nil {
			return nil, fmt.Errorf("recall past incidents: %w", err)
		}
		p.When = openAt
		if !starts.IsZero() {
			p.When = starts
		}
		if !resolvedAt.IsZero() {
			p.TimeToResolve = resolvedAt.Sub(p.When)
		}
		p.AlertNames = splitSorted(names.String)
		p.Services = splitSorted(services.String)
		p.Verdict = verdict(votes)
		c.Verdict = p.Verdict
		c.Fixed, _ = fixed.(string)
		p.RootCause, p.Confirmed = c.Cause()
		out = append(out, p)
	}
	return out, rows.Err()
}

// verdict reads the sum of ±1 votes: more 👍 than 👎 confirms, more 👎 disputes.
func verdict(sum int) string {
	switch {
	case sum > 0:
		return diagnosis.VerdictConfirmed
	case sum < 0:
		return diagnosis.VerdictDisputed
	}
	return ""
}

func splitSorted(s string) []string {
	if s == "" {
		return nil
	}
	out := strings.Split(s, ",")
	sort.Strings(out)
	return out
}
