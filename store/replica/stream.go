package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/benbjohnson/litestream"
)

// Stream ships every write to one database file to the replica while it
// is open: Litestream reads the WAL the store writes and uploads each
// transaction within SyncInterval.
type Stream struct {
	path  string
	cfg   Config
	log   *slog.Logger
	db    *litestream.DB
	store *litestream.Store
	// stopCompacting ends the compaction loop; compacted is closed when it
	// has returned.
	stopCompacting context.CancelFunc
	compacted      chan struct{}
}

// Start begins streaming the database at path, which the store has
// already opened (or which Litestream creates), to the replica. Close it
// after the store is closed.
func Start(ctx context.Context, path string, cfg Config) (*Stream, error) {
	cfg = cfg.withDefaults()
	client, err := newClient(cfg.URL)
	if err != nil {
		return nil, err
	}
	// The file's recorded position stops being true with the first
	// write: only a clean Close records it again.
	if err := os.Remove(litestream.TXIDPath(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("replicate %s: %w", path, err)
	}
	db := litestream.NewDB(path)
	db.SetLogger(cfg.Logger.With("db", path))
	db.MonitorInterval = cfg.SyncInterval
	db.ShutdownSyncTimeout = 10 * time.Second
	r := litestream.NewReplicaWithClient(db, client)
	r.SyncInterval = cfg.SyncInterval
	db.Replica = r
	if fc, ok := client.(*fileClient); ok {
		fc.Replica = r // keeps the database's ownership and permissions on the files
	}
	levels := litestream.CompactionLevels{
		{Level: 0},
		{Level: 1, Interval: 30 * time.Second},
		{Level: 2, Interval: 5 * time.Minute},
	}
	store := litestream.NewStore([]*litestream.DB{db}, levels)
	store.Logger = cfg.Logger
	// Compaction runs in a loop of ours, not in the Store's monitors:
	// Store.Close closes the database before it stops its monitors, and a
	// snapshot in flight then reads a closed file (a data race in
	// Litestream 0.5.17). Ours stops before the Store closes.
	store.CompactionMonitorEnabled = false
	if err := store.Open(ctx); err != nil {
		return nil, fmt.Errorf("replicate %s to %s: %w", path, redact(cfg.URL), err)
	}
	compactCtx, stopCompacting := context.WithCancel(context.WithoutCancel(ctx))
	s := &Stream{path: path, cfg: cfg, log: cfg.Logger, db: db, store: store,
		stopCompacting: stopCompacting, compacted: make(chan struct{})}
	go s.compact(compactCtx, append(levels[1:], store.SnapshotLevel()))
	// Litestream reads the file lazily; the first sync takes its hold on
	// the WAL now and ships the file as it is.
	if err := s.Sync(ctx); err != nil {
		s.stopCompaction()
		return nil, errors.Join(err, store.Close(context.WithoutCancel(ctx)))
	}
	cfg.Logger.Info("replicating the database", "db", path, "replica", redact(cfg.URL), "sync_interval", cfg.SyncInterval)
	return s, nil
}

// Sync ships what the database holds now and waits until the replica has
// it (for tests and for a handover).
func (s *Stream) Sync(ctx context.Context) error {
	if err := s.db.Sync(ctx); err != nil {
		return fmt.Errorf("sync %s: %w", s.path, err)
	}
	if err := s.db.Replica.Sync(ctx); err != nil {
		return fmt.Errorf("sync %s to %s: %w", s.path, redact(s.cfg.URL), err)
	}
	return nil
}

// Position is the last transaction the database wrote and the last one
// the replica holds; the difference is what a crash now would lose.
func (s *Stream) Position() (local, replicated uint64, err error) {
	pos, err := s.db.Pos()
	if err != nil {
		return 0, 0, fmt.Errorf("position of %s: %w", s.path, err)
	}
	return uint64(pos.TXID), uint64(s.db.Replica.Pos().TXID), nil
}

// Close ships the last writes, stops streaming and, when the replica then
// holds everything the file does, records the file's position beside it,
// so that the next Restore knows the file is current. The store must be
// closed first.
func (s *Stream) Close(ctx context.Context) error {
	synced := s.Sync(ctx)
	s.stopCompaction()
	if err := errors.Join(synced, s.store.Close(ctx)); err != nil {
		return fmt.Errorf("stop replicating %s: %w", s.path, err)
	}
	pos, perr := s.db.Pos()
	if rpos := s.db.Replica.Pos(); perr == nil && pos.TXID != 0 && pos.TXID == rpos.TXID {
		if err := litestream.WriteTXIDFile(s.path, pos.TXID); err != nil {
			return fmt.Errorf("stop replicating %s: %w", s.path, err)
		}
		s.log.Info("replica holds every write", "db", s.path, "txid", pos.TXID.String())
	}
	return nil
}

// compact merges the replica's files level by level, each when its
// interval has passed (Litestream's own schedule), and snapshots, until
// ctx ends.
func (s *Stream) compact(ctx context.Context, levels []*litestream.CompactionLevel) {
	defer close(s.compacted)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		next := time.Now().Add(time.Minute)
		for _, lvl := range levels {
			_, err := s.store.CompactDB(ctx, s.db, lvl)
			switch {
			case err == nil, errors.Is(err, litestream.ErrNoCompaction), errors.Is(err, litestream.ErrCompactionTooEarly),
				errors.Is(err, litestream.ErrDBNotReady), ctx.Err() != nil:
			default:
				s.log.Warn("replica compaction failed; the replica stays whole, with more files", "db", s.path, "level", lvl.Level, "err", err)
			}
			if lvl.Level == litestream.SnapshotLevel && ctx.Err() == nil {
				if err := s.store.EnforceSnapshotRetention(ctx, s.db); err != nil && ctx.Err() == nil {
					s.log.Warn("replica snapshot retention failed", "db", s.path, "err", err)
				}
			}
			if at := lvl.NextCompactionAt(time.Now()); at.Before(next) {
				next = at
			}
		}
		timer.Reset(max(time.Until(next), time.Second))
	}
}

// stopCompaction ends the compaction loop and waits for it.
func (s *Stream) stopCompaction() {
	s.stopCompacting()
	<-s.compacted
}
