package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// QueuePage keeps an event for the pager, unless the incident has one of
// that action on record already (queued or sent): false then. An action
// other than trigger is kept only after a trigger: nothing acknowledges or
// resolves a page that never went out.
func (db *DB) QueuePage(ctx context.Context, incident, action string, event []byte, at time.Time) (queued bool, err error) {
	defer db.wrote("QueuePage", time.Now(), &err)
	ts, err := encodeTime(at)
	if err != nil {
		return false, fmt.Errorf("queue %s of %s: %w", action, incident, err)
	}
	res, err := db.write.ExecContext(ctx, `INSERT OR IGNORE INTO pager_events (incident, action, event, queued_at)
		SELECT ?, ?, ?, ? WHERE ? = 'trigger' OR EXISTS (SELECT 1 FROM pager_events WHERE incident = ? AND action = 'trigger')`,
		incident, action, string(event), ts, action, incident)
	if err != nil {
		return false, fmt.Errorf("queue %s of %s: %w", action, incident, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("queue %s of %s: %w", action, incident, err)
	}
	return n == 1, nil
}

// PendingPages lists the events queued and not yet sent, in the order they
// were queued.
func (db *DB) PendingPages(ctx context.Context) ([][]byte, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT event FROM pager_events WHERE sent_at IS NULL ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("pending pages: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("pending pages: %w", err)
		}
		out = append(out, []byte(e))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending pages: %w", err)
	}
	return out, nil
}

// PageSent marks a queued event done: sent, or refused for good (outcome
// says why).
func (db *DB) PageSent(ctx context.Context, incident, action, outcome string, at time.Time) (err error) {
	defer db.wrote("PageSent", time.Now(), &err)
	ts, err := encodeTime(at)
	if err != nil {
		return fmt.Errorf("mark %s of %s sent: %w", action, incident, err)
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE pager_events SET sent_at = ?, outcome = ? WHERE incident = ? AND action = ?`,
		ts, outcome, incident, action); err != nil {
		return fmt.Errorf("mark %s of %s sent: %w", action, incident, err)
	}
	return nil
}

// SentPages lists the actions sent for an incident, in order, with their
// outcomes ("trigger: sent").
func (db *DB) SentPages(ctx context.Context, incident string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT action, outcome FROM pager_events WHERE incident = ? AND sent_at IS NOT NULL ORDER BY seq`, incident)
	if err != nil {
		return nil, fmt.Errorf("pages of %s: %w", incident, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, o string
		if err := rows.Scan(&a, &o); err != nil {
			return nil, fmt.Errorf("pages of %s: %w", incident, err)
		}
		out = append(out, a+": "+o)
	}
	return out, rows.Err()
}

// SilenceRecord is a silence made from a card, as audited.
type SilenceRecord struct {
	ID, Incident, CreatedBy string
	Matchers                []byte // JSON, as sent to Alertmanager
	StartsAt, EndsAt        time.Time
	CreatedAt               time.Time
	ExpiredBy               string
	ExpiredAt               time.Time
}

// SaveSilence audits a silence made from a card.
func (db *DB) SaveSilence(ctx context.Context, s SilenceRecord) (err error) {
	defer db.wrote("SaveSilence", time.Now(), &err)
	var ts [3]string
	for i, t := range []time.Time{s.StartsAt, s.EndsAt, s.CreatedAt} {
		if ts[i], err = encodeTime(t); err != nil {
			return fmt.Errorf("save silence %s: %w", s.ID, err)
		}
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO silences (id, incident, created_by, matchers, starts_at, ends_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.ID, s.Incident, s.CreatedBy, string(s.Matchers), ts[0], ts[1], ts[2]); err != nil {
		return fmt.Errorf("save silence %s: %w", s.ID, err)
	}
	return nil
}

// ExpireSilence audits who expired a silence, and when.
func (db *DB) ExpireSilence(ctx context.Context, id, by string, at time.Time) (err error) {
	defer db.wrote("ExpireSilence", time.Now(), &err)
	ts, err := encodeTime(at)
	if err != nil {
		return fmt.Errorf("expire silence %s: %w", id, err)
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE silences SET expired_by = ?, expired_at = ? WHERE id = ?`, by, ts, id); err != nil {
		return fmt.Errorf("expire silence %s: %w", id, err)
	}
	return nil
}

// IncidentSilence is the latest silence made from an incident's card, if
// any.
func (db *DB) IncidentSilence(ctx context.Context, incident string) (SilenceRecord, bool, error) {
	s := SilenceRecord{Incident: incident}
	var m string
	err := db.read.QueryRowContext(ctx, `SELECT id, created_by, matchers, starts_at, ends_at, created_at, expired_by, expired_at
		FROM silences WHERE incident = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, incident).
		Scan(&s.ID, &s.CreatedBy, &m, timeCol{&s.StartsAt}, timeCol{&s.EndsAt}, timeCol{&s.CreatedAt}, &s.ExpiredBy, timeCol{&s.ExpiredAt})
	if errors.Is(err, sql.ErrNoRows) {
		return SilenceRecord{}, false, nil
	}
	if err != nil {
		return SilenceRecord{}, false, fmt.Errorf("silence of %s: %w", incident, err)
	}
	s.Matchers = []byte(m)
	return s, true, nil
}
