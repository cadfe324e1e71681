package store

import (
	"context"
	"fmt"
	"time"
)

// FirstSeen records key and reports whether this is the first time it has been
// recorded, so a redelivered envelope or a repeated message is handled once.
// Keys are remembered across restarts until pruned.
func (db *DB) FirstSeen(ctx context.Context, key string, at time.Time) (first bool, err error) {
	defer db.wrote("FirstSeen", time.Now(), &err)
	ts, err := encodeTime(at)
	if err != nil {
		return false, fmt.Errorf("record seen %q: %w", key, err)
	}
	res, err := db.write.ExecContext(ctx, `INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)`, key, ts)
	if err != nil {
		return false, fmt.Errorf("record seen %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record seen %q: %w", key, err)
	}
	return n == 1, nil
}

// PruneSeen forgets keys first seen before the given time and reports how
// many it forgot.
func (db *DB) PruneSeen(ctx context.Context, before time.Time) (pruned int64, err error) {
	defer db.wrote("PruneSeen", time.Now(), &err)
	ts, err := encodeTime(before)
	if err != nil {
		return 0, fmt.Errorf("prune seen: %w", err)
	}
	res, err := db.write.ExecContext(ctx, `DELETE FROM seen WHERE at < ?`, ts)
	if err != nil {
		return 0, fmt.Errorf("prune seen: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune seen: %w", err)
	}
	return n, nil
}
