// Package store keeps nightowl's records in SQLite (modernc.org/sqlite): alerts,
// incidents, their cards and an append-only event log, behind versioned migrations.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// pragmas apply to every pooled connection (see protocols.md §7).
const pragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

// DB is nightowl's SQLite database. Writes go through a single connection, so
// writers queue in the pool instead of failing with SQLITE_BUSY; reads use a
// separate read-only pool, which WAL lets run beside the writer.
type DB struct {
	write *sql.DB
	read  *sql.DB
	path  string

	// Now stamps incidents.updated_at. It can be replaced in tests.
	Now func() time.Time
	obs WriteObserver
}

// WriteObserver hears how long each write took and whether it failed, by
// the method that wrote (RecordAlerts, SaveIncident …), for nightowl's own
// metrics; metrics.Registry implements it. It must not block.
type WriteObserver interface {
	StoreWrote(op string, took time.Duration, err error)
}

// WriteObserverFunc is a function as a WriteObserver.
type WriteObserverFunc func(op string, took time.Duration, err error)

// StoreWrote calls f.
func (f WriteObserverFunc) StoreWrote(op string, took time.Duration, err error) { f(op, took, err) }

// deafWrites is the WriteObserver that hears nothing.
type deafWrites struct{}

func (deafWrites) StoreWrote(string, time.Duration, error) {}

// Option is an optional collaborator of Open.
type Option func(*DB)

// ObserveWrites has every write told to o.
func ObserveWrites(o WriteObserver) Option {
	return func(db *DB) {
		if o != nil {
			db.obs = o
		}
	}
}

// Open opens (creating if needed) the database at path, along with its parent
// directory, and applies any pending migrations; opts add optional
// collaborators (ObserveWrites).
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: create directory: %w", err)
		}
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas

	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)

	db := &DB{write: write, path: path, Now: time.Now, obs: deafWrites{}}
	for _, o := range opts {
		o(db)
	}
	if err := migrate(ctx, write, migrationFiles); err != nil {
		write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	// The read pool opens after the migrations, so the file is already in WAL
	// mode and query_only never meets a pending schema change.
	read, err := sql.Open("sqlite", dsn+"&_query_only=1")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	db.read = read
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.write.Close())
}

// Path is the file the database lives in.
func (db *DB) Path() string { return db.path }

// Stats counts what the database holds, for logs and the demo summary.
type Stats struct {
	// AlertsReceived counts alert notifications recorded, repeats included.
	AlertsReceived int64 `json:"alerts_received"`
	Incidents      int64 `json:"incidents"`
	// OpenIncidents counts incidents not resolved.
	OpenIncidents int64 `json:"open_incidents"`
	Events        int64 `json:"events"`
}

// Stats counts alerts received, incidents, open incidents and events.
func (db *DB) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	err := db.read.QueryRowContext(ctx, `
		SELECT
			(SELECT count(*) FROM alerts),
			(SELECT count(*) FROM incidents),
			(SELECT count(*) FROM incidents WHERE status <> ?),
			(SELECT count(*) FROM events)`, string(diagnosis.Resolved),
	).Scan(&s.AlertsReceived, &s.Incidents, &s.OpenIncidents, &s.Events)
	if err != nil {
		return Stats{}, fmt.Errorf("count records: %w", err)
	}
	return s, nil
}

// inTx runs fn in a write transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

// wrote tells the WriteObserver how a write of op went; a message seen
// before (ErrRepeated) and a record not found are answers, not failures.
func (db *DB) wrote(op string, start time.Time, err *error) {
	failed := *err
	if errors.Is(failed, ErrRepeated) || errors.Is(failed, ErrNotFound) {
		failed = nil
	}
	db.obs.StoreWrote(op, time.Since(start), failed)
}
