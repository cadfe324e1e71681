package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Retention keeps the database from growing without end. What goes, once
// older than the cutoff: the raw alert log (each notification as it was
// relayed) and the card-update events (one per burst of alerts). What
// stays for good: every incident with its summary (its row, the alerts it
// held, its diagnosis, triage and outcome), its timeline (every other
// event: opened, paged, acknowledged, escalated, resolved, retired …), the
// runbook requests and their audit, votes, corrections, conversations and
// model costs. The alert log of an incident still open in memory is kept
// whatever its age. Delivery keys (seen) go after SeenKeep, whatever Keep.

// trimBatch is how many rows one trimming transaction deletes: the writer
// is never held for long.
const trimBatch = 1000

// DefaultSeenKeep is how long delivery keys are remembered: Slack
// redelivers an envelope within minutes, and a relayed message is never
// read again after a week.
const DefaultSeenKeep = 7 * 24 * time.Hour

// Trimmed counts what one pass of retention removed.
type Trimmed struct {
	Alerts, Events, Seen int64
}

// Trim removes the alert log and card-update events from before cutoff,
// and delivery keys from before seenCutoff, in small batches, and records
// the pass in retention_runs (whose cutoff is what lets the append-only
// triggers allow the deletes). A zero cutoff trims no alert or event.
func (db *DB) Trim(ctx context.Context, cutoff, seenCutoff time.Time) (trimmed Trimmed, err error) {
	defer db.wrote("Trim", time.Now(), &err)
	var done Trimmed
	var ta timeArgs
	cut, seenCut, started := ta.at(cutoff), ta.at(seenCutoff), ta.at(db.Now())
	if ta.err != nil {
		return done, fmt.Errorf("trim: %w", ta.err)
	}
	var run int64
	if !cutoff.IsZero() {
		res, err := db.write.ExecContext(ctx, `INSERT INTO retention_runs (cutoff, started_at) VALUES (?, ?)`, cut, started)
		if err != nil {
			return done, fmt.Errorf("trim: record the run: %w", err)
		}
		if run, err = res.LastInsertId(); err != nil {
			return done, fmt.Errorf("trim: record the run: %w", err)
		}
		n, err := db.deleteBatches(ctx, `DELETE FROM alerts WHERE id IN (
			SELECT id FROM alerts WHERE received_at < ? AND (incident_id IS NULL OR incident_id NOT IN (
				SELECT id FROM incidents WHERE status <> ? AND retired_at IS NULL))
			LIMIT ?)`, cut, string(diagnosis.Resolved), trimBatch)
		done.Alerts = n
		if err != nil {
			return done, fmt.Errorf("trim the alert log: %w", err)
		}
		n, err = db.deleteBatches(ctx, `DELETE FROM events WHERE id IN (
			SELECT id FROM events WHERE kind IN (?, ?) AND at < ? LIMIT ?)`,
			string(diagnosis.EventCardUpdated), string(diagnosis.EventAlertReceived), cut, trimBatch)
		done.Events = n
		if err != nil {
			return done, fmt.Errorf("trim card updates: %w", err)
		}
	}
	n, err := db.deleteBatches(ctx, `DELETE FROM seen WHERE key IN (SELECT key FROM seen WHERE at < ? LIMIT ?)`, seenCut, trimBatch)
	done.Seen = n
	if err != nil {
		return done, fmt.Errorf("trim delivery keys: %w", err)
	}
	if run != 0 {
		finished, err := encodeTime(db.Now())
		if err == nil {
			_, err = db.write.ExecContext(ctx, `UPDATE retention_runs SET finished_at = ?, alerts = ?, events = ?, seen = ? WHERE id = ?`,
				finished, done.Alerts, done.Events, done.Seen, run)
		}
		if err != nil {
			return done, fmt.Errorf("trim: record the run: %w", err)
		}
	}
	return done, nil
}

// deleteBatches runs a DELETE that removes at most trimBatch rows until it
// removes fewer, and counts them all.
func (db *DB) deleteBatches(ctx context.Context, query string, args ...any) (int64, error) {
	var total int64
	for {
		res, err := db.write.ExecContext(ctx, query, args...)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < trimBatch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// RetentionConfig says what Retention keeps.
type RetentionConfig struct {
	// Keep is how long the alert log and card-update events are kept
	// (RETENTION); zero keeps them for good.
	Keep time.Duration
	// SeenKeep is how long delivery keys are kept; default DefaultSeenKeep.
	SeenKeep time.Duration
	// Every is how often a pass runs; default one hour.
	Every  time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Retention trims the database at start and then every hour.
type Retention struct {
	db  *DB
	cfg RetentionConfig
	log *slog.Logger
}

// NewRetention trims db as cfg says; Run starts it.
func NewRetention(db *DB, cfg RetentionConfig) *Retention {
	if cfg.SeenKeep <= 0 {
		cfg.SeenKeep = DefaultSeenKeep
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Retention{db: db, cfg: cfg, log: cfg.Logger.With("component", "retention")}
}

// Run trims until ctx ends; a failed pass is logged and tried again at the
// next.
func (r *Retention) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	for {
		r.Pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass trims once.
func (r *Retention) Pass(ctx context.Context) {
	now := r.cfg.Now()
	var cutoff time.Time
	if r.cfg.Keep > 0 {
		cutoff = now.Add(-r.cfg.Keep)
	}
	done, err := r.db.Trim(ctx, cutoff, now.Add(-r.cfg.SeenKeep))
	switch {
	case err != nil && ctx.Err() != nil:
	case err != nil:
		r.log.Error("retention pass failed; the next one tries again", "err", err, "alerts", done.Alerts, "events", done.Events, "seen", done.Seen)
	case done != Trimmed{}:
		r.log.Info("retention trimmed the record", "alerts", done.Alerts, "events", done.Events, "seen", done.Seen, "cutoff", cutoff)
	}
}
