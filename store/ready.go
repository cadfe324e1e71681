package store

import (
	"context"
	"errors"
	"fmt"
)

// Writable proves the database takes a write now, for a readiness probe: it
// inserts a row into seen inside a transaction and rolls it back, so
// nothing is kept and nothing reaches the file. It waits for the one write
// connection like any write, bounded by ctx, and fails on a read-only file
// or volume and on a lock held past ctx. A full disk shows only when a
// real write fails (nightowl_store_errors_total), since a rolled-back
// insert writes no page. PRAGMA quick_check would read the whole file:
// too slow for a probe every few seconds.
func (db *DB) Writable(ctx context.Context) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO seen (key, at) VALUES ('readyz:probe', '') ON CONFLICT (key) DO NOTHING`)
	if err != nil {
		err = fmt.Errorf("write: %w", err)
	}
	return errors.Join(err, rollback(tx))
}
