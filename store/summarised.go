package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// An incident holds at most the Grouper's MaxAlerts alerts one by one; the
// rest it summarises, and the alert log is where each of them is kept:
// LinkAlerts marks their log rows with the incident, SummarisedAlerts reads
// their latest states back after a restart.

// LinkAlerts marks the logged alerts with these fingerprints that belong to
// no incident yet as the incident's. The bot calls it for alerts the
// incident summarises; SaveIncident links the ones it holds one by one.
func (db *DB) LinkAlerts(ctx context.Context, incident string, fingerprints []string) (err error) {
	defer db.wrote("LinkAlerts", time.Now(), &err)
	if incident == "" || len(fingerprints) == 0 {
		return nil
	}
	fps, err := json.Marshal(fingerprints)
	if err != nil {
		return fmt.Errorf("link %d alerts to %s: %w", len(fingerprints), incident, err)
	}
	if _, err := db.write.ExecContext(ctx, `
		UPDATE alerts SET incident_id = ?
		WHERE incident_id IS NULL AND fingerprint IN (SELECT value FROM json_each(?))`,
		incident, string(fps)); err != nil {
		return fmt.Errorf("link %d alerts to %s: %w", len(fingerprints), incident, err)
	}
	return nil
}

// SummarisedAlerts is the latest status of each alert linked to the
// incident in the alert log that it does not hold one by one (no
// incident_alerts row): what the Grouper needs to take it back after a
// restart (diagnosis.Live.RestoreSummarised).
func (db *DB) SummarisedAlerts(ctx context.Context, incident string) (map[string]diagnosis.Status, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT a.fingerprint, a.status FROM alerts a
		JOIN (SELECT max(id) AS id FROM alerts WHERE incident_id = ? GROUP BY fingerprint) latest ON a.id = latest.id
		WHERE NOT EXISTS (SELECT 1 FROM incident_alerts ia WHERE ia.incident_id = ? AND ia.fingerprint = a.fingerprint)`,
		incident, incident)
	if err != nil {
		return nil, fmt.Errorf("summarised alerts of %s: %w", incident, err)
	}
	defer rows.Close()
	out := map[string]diagnosis.Status{}
	for rows.Next() {
		var (
			fp     string
			status diagnosis.Status
		)
		if err := rows.Scan(&fp, &status); err != nil {
			return nil, fmt.Errorf("summarised alerts of %s: %w", incident, err)
		}
		out[fp] = status
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarised alerts of %s: %w", incident, err)
	}
	return out, nil
}

// RetireIncident notes that a firing incident left memory (why: no alert
// news, or too many incidents): it stays on the record, and ActiveIncidents
// no longer takes it back after a restart.
func (db *DB) RetireIncident(ctx context.Context, id string, at time.Time, why string) (err error) {
	defer db.wrote("RetireIncident", time.Now(), &err)
	ts, err := encodeTime(at)
	if err != nil {
		return fmt.Errorf("retire incident %s: %w", id, err)
	}
	res, err := db.write.ExecContext(ctx, `UPDATE incidents SET retired_at = ?, retired_why = ? WHERE id = ?`, ts, why, id)
	if err != nil {
		return fmt.Errorf("retire incident %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("retire incident %s: %w", id, ErrNotFound)
	}
	return nil
}

// Retired says whether and when an incident left memory while firing, and why.
func (db *DB) Retired(ctx context.Context, id string) (at time.Time, why string, err error) {
	err = db.read.QueryRowContext(ctx, `SELECT retired_at, retired_why FROM incidents WHERE id = ?`, id).
		Scan(timeCol{&at}, &why)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, "", fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return time.Time{}, "", fmt.Errorf("read incident %s: %w", id, err)
	}
	return at, why, nil
}
