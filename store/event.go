package store

import (
	"context"
	"fmt"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Append adds an event to its incident's record. The record is append-only:
// there is no way to change or remove an event, and the schema refuses to.
func (db *DB) Append(ctx context.Context, e diagnosis.Event) (err error) {
	defer db.wrote("Append", time.Now(), &err)
	at, err := encodeTime(e.At)
	if err != nil {
		return fmt.Errorf("append %s event to %s: %w", e.Kind, e.Incident, err)
	}
	if _, err := db.write.ExecContext(ctx,
		`INSERT INTO events (incident_id, kind, actor, detail, at) VALUES (?, ?, ?, ?, ?)`,
		e.Incident, string(e.Kind), e.Actor, e.Detail, at); err != nil {
		return fmt.Errorf("append %s event to %s: %w", e.Kind, e.Incident, err)
	}
	return nil
}

// Events lists an incident's events in the order they were appended.
func (db *DB) Events(ctx context.Context, incidentID string) ([]diagnosis.Event, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT incident_id, kind, actor, detail, at FROM events WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", incidentID, err)
	}
	defer rows.Close()
	var out []diagnosis.Event
	for rows.Next() {
		var e diagnosis.Event
		if err := rows.Scan(&e.Incident, &e.Kind, &e.Actor, &e.Detail, timeCol{&e.At}); err != nil {
			return nil, fmt.Errorf("events of %s: %w", incidentID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events of %s: %w", incidentID, err)
	}
	return out, nil
}
