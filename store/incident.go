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

// SaveIncident writes the incident's latest state, all or nothing: the
// incident row (with the summary of the alerts it does not hold one by
// one), its incident_alerts rows that changed since the last save (keyed
// by fingerprint: a save costs what changed, not what the incident holds),
// and the incident id on logged alerts with its fingerprints that belong
// to no incident yet.
func (db *DB) SaveIncident(ctx context.Context, in diagnosis.Incident) (err error) {
	defer db.wrote("SaveIncident", time.Now(), &err)
	if in.ID == "" {
		return errors.New("save incident: empty id")
	}
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return saveIncident(ctx, tx, in, db.Now()) }); err != nil {
		return fmt.Errorf("save incident %s: %w", in.ID, err)
	}
	return nil
}

func saveIncident(ctx context.Context, tx *sql.Tx, in diagnosis.Incident, now time.Time) error {
	var ta timeArgs
	openedAt, resolvedAt := ta.at(in.OpenedAt), ta.optional(in.ResolvedAt)
	ackAt, escalationAt := ta.optional(in.Ack.At), ta.optional(in.Escalation.At)
	resolutionAt, splitAt := ta.optional(in.Resolution.At), ta.optional(in.SplitFrom.At)
	updatedAt := ta.at(now)
	if ta.err != nil {
		return ta.err
	}
	states, err := encodeStates(in.Alerts)
	if err != nil {
		return err
	}
	more, err := json.Marshal(in.More)
	if err != nil {
		return fmt.Errorf("encode summarised alerts: %w", err)
	}
	if in.More.IsZero() {
		more = []byte("null")
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO incidents (id, scope_cluster, scope_namespace, status, opened_at, resolved_at,
			received, reopened, thread_channel, thread_ts, ack_by, ack_at, escalation_by, escalation_at,
			resolution_by, resolution_at, split_incident, split_service, split_by, split_at,
			alerts, more, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			scope_cluster = excluded.scope_cluster, scope_namespace = excluded.scope_namespace,
			status = excluded.status, opened_at = excluded.opened_at, resolved_at = excluded.resolved_at,
			received = excluded.received, reopened = excluded.reopened,
			thread_channel = excluded.thread_channel, thread_ts = excluded.thread_ts,
			ack_by = excluded.ack_by, ack_at = excluded.ack_at,
			escalation_by = excluded.escalation_by, escalation_at = excluded.escalation_at,
			resolution_by = excluded.resolution_by, resolution_at = excluded.resolution_at,
			split_incident = excluded.split_incident, split_service = excluded.split_service,
			split_by = excluded.split_by, split_at = excluded.split_at,
			alerts = excluded.alerts, more = excluded.more, updated_at = excluded.updated_at`,
		in.ID, in.Scope.Cluster, in.Scope.Namespace, string(in.Status), openedAt, resolvedAt,
		in.Received, in.Reopened, in.Thread.Channel, in.Thread.TS, in.Ack.By, ackAt, in.Escalation.By, escalationAt,
		in.Resolution.By, resolutionAt, in.SplitFrom.Incident, in.SplitFrom.Service, in.SplitFrom.By, splitAt,
		states, string(more), updatedAt,
	); err != nil {
		return fmt.Errorf("upsert: %w", err)
	}

	// A row is written only when it is new or its alert changed: every
	// notification moves last_seen, and nothing else changes without one.
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO incident_alerts (incident_id, position, fingerprint, alertname, service, node, severity,
			status, starts_at, ends_at, first_seen, last_seen, received, flaps)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id, fingerprint) DO UPDATE SET
			position = excluded.position, alertname = excluded.alertname, service = excluded.service,
			node = excluded.node, severity = excluded.severity, status = excluded.status,
			starts_at = excluded.starts_at, ends_at = excluded.ends_at, first_seen = excluded.first_seen,
			last_seen = excluded.last_seen, received = excluded.received, flaps = excluded.flaps
		WHERE incident_alerts.last_seen IS NOT excluded.last_seen OR incident_alerts.status IS NOT excluded.status
			OR incident_alerts.received IS NOT excluded.received OR incident_alerts.node IS NOT excluded.node
			OR incident_alerts.starts_at IS NOT excluded.starts_at OR incident_alerts.ends_at IS NOT excluded.ends_at`)
	if err != nil {
		return fmt.Errorf("write alerts: %w", err)
	}
	defer stmt.Close()
	fingerprints := make([]string, 0, len(in.Alerts))
	for i, a := range in.Alerts {
		fingerprints = append(fingerprints, a.Fingerprint)
		var ta timeArgs
		startsAt, endsAt := ta.at(a.StartsAt), ta.optional(a.EndsAt)
		firstSeen, lastSeen := ta.at(a.FirstSeen), ta.at(a.LastSeen)
		if ta.err != nil {
			return fmt.Errorf("alert %s: %w", a.Fingerprint, ta.err)
		}
		if _, err := stmt.ExecContext(ctx, in.ID, i, a.Fingerprint, a.Name(), a.Service(), a.Node,
			a.Severity().String(), string(a.Status), startsAt, endsAt, firstSeen, lastSeen, a.Received, a.Flaps,
		); err != nil {
			return fmt.Errorf("write alert %s: %w", a.Fingerprint, err)
		}
	}

	fps, err := json.Marshal(fingerprints)
	if err != nil {
		return fmt.Errorf("link alert log: %w", err)
	}
	// An alert the incident no longer holds one by one (now summarised)
	// loses its row; the alert log keeps it.
	if _, err := tx.ExecContext(ctx, `
		DELETE FROM incident_alerts
		WHERE incident_id = ? AND fingerprint NOT IN (SELECT value FROM json_each(?))`, in.ID, string(fps)); err != nil {
		return fmt.Errorf("drop alerts no longer held: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE alerts SET incident_id = ?
		WHERE incident_id IS NULL AND fingerprint IN (SELECT value FROM json_each(?))`,
		in.ID, string(fps)); err != nil {
		return fmt.Errorf("link alert log: %w", err)
	}
	return nil
}

// incidentColumns are read by scanIncident, in its order.
const incidentColumns = `id, scope_cluster, scope_namespace, status, opened_at, resolved_at,
	received, reopened, thread_channel, thread_ts, ack_by, ack_at, escalation_by, escalation_at,
	resolution_by, resolution_at, split_incident, split_service, split_by, split_at, alerts, more`

func scanIncident(row interface{ Scan(...any) error }) (diagnosis.Incident, error) {
	var (
		in           diagnosis.Incident
		states, more []byte
	)
	err := row.Scan(&in.ID, &in.Scope.Cluster, &in.Scope.Namespace, &in.Status,
		timeCol{&in.OpenedAt}, timeCol{&in.ResolvedAt}, &in.Received, &in.Reopened,
		&in.Thread.Channel, &in.Thread.TS, &in.Ack.By, timeCol{&in.Ack.At},
		&in.Escalation.By, timeCol{&in.Escalation.At},
		&in.Resolution.By, timeCol{&in.Resolution.At}, &in.SplitFrom.Incident, &in.SplitFrom.Service,
		&in.SplitFrom.By, timeCol{&in.SplitFrom.At}, &states, &more)
	if err != nil {
		return diagnosis.Incident{}, err
	}
	if in.Alerts, err = decodeStates(states); err != nil {
		return diagnosis.Incident{}, fmt.Errorf("incident %s: %w", in.ID, err)
	}
	if err := json.Unmarshal(more, &in.More); err != nil {
		return diagnosis.Incident{}, fmt.Errorf("incident %s: summarised alerts: %w", in.ID, err)
	}
	return in, nil
}

// Incident reads one incident, or fails with ErrNotFound.
func (db *DB) Incident(ctx context.Context, id string) (diagnosis.Incident, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id)
	in, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return diagnosis.Incident{}, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return diagnosis.Incident{}, fmt.Errorf("read incident %s: %w", id, err)
	}
	return in, nil
}

// IncidentByThread reads the incident whose card is the message ts in
// channel (the newest, should two share it), or fails with ErrNotFound.
func (db *DB) IncidentByThread(ctx context.Context, channel, ts string) (diagnosis.Incident, error) {
	if ts == "" {
		return diagnosis.Incident{}, fmt.Errorf("incident in thread %s/%s: %w", channel, ts, ErrNotFound)
	}
	row := db.read.QueryRowContext(ctx, `
		SELECT `+incidentColumns+` FROM incidents
		WHERE thread_channel = ? AND thread_ts = ?
		ORDER BY opened_at DESC, rowid DESC LIMIT 1`, channel, ts)
	in, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return diagnosis.Incident{}, fmt.Errorf("incident in thread %s/%s: %w", channel, ts, ErrNotFound)
	}
	if err != nil {
		return diagnosis.Incident{}, fmt.Errorf("read incident in thread %s/%s: %w", channel, ts, err)
	}
	return in, nil
}

// IncidentExists reports whether an incident with this id has been saved.
func (db *DB) IncidentExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	if err := db.read.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM incidents WHERE id = ?)`, id).Scan(&ok); err != nil {
		return false, fmt.Errorf("look up incident %s: %w", id, err)
	}
	return ok, nil
}

// ActiveIncidents lists the incidents to carry on with after a restart, oldest
// first: every one not resolved and not retired (RetireIncident), and those
// resolved at or after resolvedSince (a resolved incident with no resolve
// time counts as resolved at the zero time).
func (db *DB) ActiveIncidents(ctx context.Context, resolvedSince time.Time) ([]diagnosis.Incident, error) {
	since, err := encodeTime(resolvedSince)
	if err != nil {
		return nil, fmt.Errorf("active incidents: %w", err)
	}
	zero, _ := encodeTime(time.Time{})
	ins, err := db.queryIncidents(ctx, `
		SELECT `+incidentColumns+` FROM incidents
		WHERE (status <> ? AND retired_at IS NULL) OR (status = ? AND ifnull(resolved_at, ?) >= ?)
		ORDER BY opened_at, rowid`, string(diagnosis.Resolved), string(diagnosis.Resolved), zero, since)
	if err != nil {
		return nil, fmt.Errorf("active incidents: %w", err)
	}
	return ins, nil
}

// IncidentFilter selects incidents to list.
type IncidentFilter struct {
	// Status keeps incidents in this status; empty keeps all.
	Status diagnosis.Status
	// Since keeps incidents opened at or after it; zero keeps all.
	Since time.Time
	// Limit caps how many are returned; zero or less means no cap.
	Limit int
}

// Incidents lists the incidents f selects, newest (last opened) first.
func (db *DB) Incidents(ctx context.Context, f IncidentFilter) ([]diagnosis.Incident, error) {
	since, err := encodeTime(f.Since)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	ins, err := db.queryIncidents(ctx, `
		SELECT `+incidentColumns+` FROM incidents
		WHERE (? = '' OR status = ?) AND opened_at >= ?
		ORDER BY opened_at DESC, rowid DESC LIMIT ?`,
		string(f.Status), string(f.Status), since, limit)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return ins, nil
}

func (db *DB) queryIncidents(ctx context.Context, query string, args ...any) ([]diagnosis.Incident, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []diagnosis.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}
