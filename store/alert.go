package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// AlertReceipt is one chat message's worth of alerts: where it was posted,
// who relayed it, when nightowl received it, and what it said.
type AlertReceipt struct {
	Channel   string
	MessageTS string
	// RelayedBy is the bot (B…) that posted the message.
	RelayedBy string
	Received  time.Time
	Alerts    []diagnosis.Alert
	// Key, when set, marks the message seen (FirstSeen) in the same
	// transaction: a message is either recorded and seen, or neither, so a
	// crash between the two cannot make a redelivery skip it.
	Key string
}

// ErrRepeated says a receipt's Key was seen before: nothing was recorded.
var ErrRepeated = errors.New("message already recorded")

// RecordAlerts appends a receipt's alerts to the alert log, all or none,
// and marks its Key seen with them (ErrRepeated when it was).
func (db *DB) RecordAlerts(ctx context.Context, r AlertReceipt) (err error) {
	defer db.wrote("RecordAlerts", time.Now(), &err)
	if len(r.Alerts) == 0 && r.Key == "" {
		return nil
	}
	received, err := encodeTime(r.Received)
	if err != nil {
		return fmt.Errorf("record alerts from %s/%s: %w", r.Channel, r.MessageTS, err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if r.Key != "" {
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)`, r.Key, received)
			if err != nil {
				return fmt.Errorf("mark seen: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("mark seen: %w", err)
			} else if n == 0 {
				return ErrRepeated
			}
		}
		stmt, err := tx.PrepareContext(ctx, `
			INSERT INTO alerts (fingerprint, status, alertname, service, labels, annotations,
				starts_at, ends_at, generator_url, source, count, received_at, channel, message_ts, relayed_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, a := range r.Alerts {
			labels, err := json.Marshal(a.Labels)
			if err != nil {
				return fmt.Errorf("alert %s labels: %w", a.Fingerprint, err)
			}
			annotations, err := json.Marshal(a.Annotations)
			if err != nil {
				return fmt.Errorf("alert %s annotations: %w", a.Fingerprint, err)
			}
			var ta timeArgs
			startsAt, endsAt := ta.at(a.StartsAt), ta.optional(a.EndsAt)
			if ta.err != nil {
				return fmt.Errorf("alert %s: %w", a.Fingerprint, ta.err)
			}
			if _, err := stmt.ExecContext(ctx,
				a.Fingerprint, string(a.Status), a.Name(), a.Service(), string(labels), string(annotations),
				startsAt, endsAt, a.GeneratorURL, string(a.Source), a.Count, received, r.Channel, r.MessageTS, r.RelayedBy,
			); err != nil {
				return fmt.Errorf("alert %s: %w", a.Fingerprint, err)
			}
		}
		return nil
	})
	if errors.Is(err, ErrRepeated) {
		return ErrRepeated
	}
	if err != nil {
		return fmt.Errorf("record alerts from %s/%s: %w", r.Channel, r.MessageTS, err)
	}
	return nil
}

// originBatch bounds the fingerprints of one AlertOrigins query, well below
// SQLite's limit on variables.
const originBatch = 500

// AlertOrigins returns, for each fingerprint that was ever recorded firing,
// the bot that relayed its first firing report; fingerprints never recorded
// firing are absent, and alerts recorded before sources were kept map to "".
func (db *DB) AlertOrigins(ctx context.Context, fingerprints []string) (map[string]string, error) {
	out := make(map[string]string, len(fingerprints))
	for start := 0; start < len(fingerprints); start += originBatch {
		batch := fingerprints[start:min(start+originBatch, len(fingerprints))]
		args := make([]any, len(batch))
		for i, fp := range batch {
			args[i] = fp
		}
		marks := strings.TrimSuffix(strings.Repeat("?,", len(batch)), ",")
		rows, err := db.read.QueryContext(ctx, `
			SELECT fingerprint, relayed_by FROM alerts WHERE id IN (
				SELECT MIN(id) FROM alerts WHERE status = 'firing' AND fingerprint IN (`+marks+`) GROUP BY fingerprint)`, args...)
		if err != nil {
			return nil, fmt.Errorf("origins of %d alerts: %w", len(fingerprints), err)
		}
		for rows.Next() {
			var fp, by string
			if err := rows.Scan(&fp, &by); err != nil {
				rows.Close()
				return nil, fmt.Errorf("origins of %d alerts: %w", len(fingerprints), err)
			}
			out[fp] = by
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("origins of %d alerts: %w", len(fingerprints), err)
		}
	}
	return out, nil
}

// AlertLog lists the alerts recorded for an incident, in the order they were
// received. Alerts join an incident when it is saved with their fingerprints.
func (db *DB) AlertLog(ctx context.Context, incidentID string) ([]diagnosis.Alert, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT fingerprint, status, labels, annotations, starts_at, ends_at, generator_url, source, count
		FROM alerts WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("alert log of %s: %w", incidentID, err)
	}
	out, err := scanAlerts(rows)
	if err != nil {
		return nil, fmt.Errorf("alert log of %s: %w", incidentID, err)
	}
	return out, nil
}

// scanAlerts reads rows of (fingerprint, status, labels, annotations,
// starts_at, ends_at, generator_url, source, count) and closes them.
func scanAlerts(rows *sql.Rows) ([]diagnosis.Alert, error) {
	defer rows.Close()
	var out []diagnosis.Alert
	for rows.Next() {
		var (
			a                   diagnosis.Alert
			labels, annotations []byte
		)
		if err := rows.Scan(&a.Fingerprint, &a.Status, &labels, &annotations,
			timeCol{&a.StartsAt}, timeCol{&a.EndsAt}, &a.GeneratorURL, &a.Source, &a.Count); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(labels, &a.Labels); err != nil {
			return nil, fmt.Errorf("alert %s labels: %w", a.Fingerprint, err)
		}
		if err := json.Unmarshal(annotations, &a.Annotations); err != nil {
			return nil, fmt.Errorf("alert %s annotations: %w", a.Fingerprint, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Ungrouped lists, in the order they were received, the alerts received
// since then that belong to no incident: after a crash, those that were
// recorded (and acked) but whose incident was never saved.
func (db *DB) Ungrouped(ctx context.Context, since time.Time) ([]diagnosis.Alert, error) {
	from, err := encodeTime(since)
	if err != nil {
		return nil, fmt.Errorf("ungrouped alerts: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT fingerprint, status, labels, annotations, starts_at, ends_at, generator_url, source, count
		FROM alerts WHERE incident_id IS NULL AND received_at >= ? ORDER BY id`, from)
	if err != nil {
		return nil, fmt.Errorf("ungrouped alerts: %w", err)
	}
	out, err := scanAlerts(rows)
	if err != nil {
		return nil, fmt.Errorf("ungrouped alerts: %w", err)
	}
	return out, nil
}

// LastMessage is the latest message of a channel whose alerts are on
// record ("" when none): where reading the channel's history resumes.
func (db *DB) LastMessage(ctx context.Context, channel string) (string, error) {
	var ts sql.NullString
	if err := db.read.QueryRowContext(ctx, `SELECT max(message_ts) FROM alerts WHERE channel = ?`, channel).Scan(&ts); err != nil {
		return "", fmt.Errorf("last message of %s: %w", channel, err)
	}
	return ts.String, nil
}
