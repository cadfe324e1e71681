package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nightowl-sre/nightowl/runbooks"
)

var _ runbooks.Audit = (*DB)(nil)

// SaveRequest keeps the latest state of a run request.
func (db *DB) SaveRequest(ctx context.Context, r runbooks.Request) error {
	return db.Commit(ctx, r)
}

// Commit saves a run request's latest state and appends events to the run
// audit log in one transaction: both are on the record, or neither.
func (db *DB) Commit(ctx context.Context, r runbooks.Request, events ...runbooks.AuditEvent) (err error) {
	defer db.wrote("Commit", time.Now(), &err)
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("save run request %s: %w", r.ID, err)
	}
	var ta timeArgs
	requested, updated := ta.at(r.RequestedAt), ta.at(db.Now())
	ats := make([]any, len(events))
	for i, e := range events {
		ats[i] = ta.at(e.At)
	}
	if ta.err != nil {
		return fmt.Errorf("save run request %s: %w", r.ID, ta.err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO run_requests (id, incident_id, runbook, state, requested_by, requested_at, updated_at, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, body = excluded.body`,
			r.ID, r.Incident, r.Runbook, string(r.State), r.RequestedBy, requested, updated, string(body))
		if err != nil {
			return err
		}
		for i, e := range events {
			if err := appendAudit(ctx, tx, e, ats[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save run request %s (%s): %w", r.ID, r.State, err)
	}
	return nil
}

// AppendAudit adds one line to the run audit log.
func (db *DB) AppendAudit(ctx context.Context, e runbooks.AuditEvent) (err error) {
	defer db.wrote("AppendAudit", time.Now(), &err)
	var ta timeArgs
	at := ta.at(e.At)
	if ta.err != nil {
		return fmt.Errorf("append run audit: %w", ta.err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error { return appendAudit(ctx, tx, e, at) })
	if err != nil {
		return fmt.Errorf("append run audit of %s: %w", e.Request, err)
	}
	return nil
}

func appendAudit(ctx context.Context, tx *sql.Tx, e runbooks.AuditEvent, at any) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO run_audit (request_id, incident_id, runbook, kind, actor, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Request, e.Incident, e.Runbook, e.Kind, e.Actor, e.Detail, at)
	return err
}

// OpenRequests lists requests that were pending, queued or running.
func (db *DB) OpenRequests(ctx context.Context) ([]runbooks.Request, error) {
	return db.requests(ctx, `WHERE state IN ('pending', 'queued', 'running') ORDER BY requested_at`)
}

// Requests lists an incident's requests, oldest first; "" lists all.
func (db *DB) Requests(ctx context.Context, incident string) ([]runbooks.Request, error) {
	if incident == "" {
		return db.requests(ctx, `ORDER BY requested_at`)
	}
	return db.requests(ctx, `WHERE incident_id = ? ORDER BY requested_at`, incident)
}

func (db *DB) requests(ctx context.Context, where string, args ...any) ([]runbooks.Request, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT body FROM run_requests `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list run requests: %w", err)
	}
	defer rows.Close()
	var out []runbooks.Request
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("list run requests: %w", err)
		}
		var r runbooks.Request
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			return nil, fmt.Errorf("decode run request: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Audit lists the run audit log, of one incident or ("") of all, in order.
func (db *DB) Audit(ctx context.Context, incident string) ([]runbooks.AuditEvent, error) {
	q, args := `SELECT request_id, incident_id, runbook, kind, actor, detail, at FROM run_audit ORDER BY id`, []any(nil)
	if incident != "" {
		q, args = `SELECT request_id, incident_id, runbook, kind, actor, detail, at FROM run_audit WHERE incident_id = ? ORDER BY id`, []any{incident}
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read run audit: %w", err)
	}
	defer rows.Close()
	var out []runbooks.AuditEvent
	for rows.Next() {
		var (
			e  runbooks.AuditEvent
			at time.Time
		)
		if err := rows.Scan(&e.Request, &e.Incident, &e.Runbook, &e.Kind, &e.Actor, &e.Detail, timeCol{&at}); err != nil {
			return nil, fmt.Errorf("read run audit: %w", err)
		}
		e.At = at
		out = append(out, e)
	}
	return out, rows.Err()
}
