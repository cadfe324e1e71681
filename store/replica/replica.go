// Package replica streams nightowl's SQLite database to a replica with
// Litestream (embedded as a library) and brings a local copy back up to the
// replica's latest state, so that the store follows whichever replica leads.
package replica

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
	_ "github.com/benbjohnson/litestream/s3" // registers s3:// (S3 and S3-compatible storage)
	"github.com/superfly/ltx"
)

// Config says where the replica is and how often it is written.
type Config struct {
	// URL is the replica: a directory path, file:///path, or
	// s3://bucket/path (credentials from the usual AWS variables;
	// ?endpoint=… for S3-compatible storage).
	URL string
	// SyncInterval is how often new writes are shipped (default 1s): the
	// most a crash can lose, and the replication lag.
	SyncInterval time.Duration
	Logger       *slog.Logger // default: discards
}

func (c Config) withDefaults() Config {
	if c.SyncInterval <= 0 {
		c.SyncInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Logger = c.Logger.With("component", "replica")
	return c
}

// Check says in one sentence what is wrong with a replica URL, or nil.
func Check(url string) error {
	_, err := newClient(url)
	return err
}

// newClient opens the replica named by url; a plain path is a directory.
func newClient(url string) (litestream.ReplicaClient, error) {
	if url == "" {
		return nil, errors.New("no replica URL")
	}
	if !strings.Contains(url, "://") {
		return file.NewReplicaClient(url), nil
	}
	c, err := litestream.NewReplicaClientFromURL(url)
	if err != nil {
		return nil, fmt.Errorf("replica %s: %w", redact(url), err)
	}
	return c, nil
}

// redact keeps a URL's scheme and place and drops any password in it.
func redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "…@" + rest[at+1:]
	}
	if q := strings.Index(rest, "?"); q >= 0 {
		rest = rest[:q]
	}
	return scheme + "://" + rest
}

// Latest is the last transaction the replica holds; 0 when it is empty.
func Latest(ctx context.Context, cfg Config) (uint64, error) {
	client, err := newClient(cfg.URL)
	if err != nil {
		return 0, err
	}
	if err := client.Init(ctx); err != nil {
		return 0, fmt.Errorf("replica %s: %w", redact(cfg.URL), err)
	}
	txid, err := latest(ctx, client)
	if err != nil {
		return 0, fmt.Errorf("replica %s: %w", redact(cfg.URL), err)
	}
	return uint64(txid), nil
}

// latest is the highest transaction in any level of the replica.
func latest(ctx context.Context, client litestream.ReplicaClient) (ltx.TXID, error) {
	var max ltx.TXID
	for level := 0; level <= litestream.SnapshotLevel; level++ {
		itr, err := client.LTXFiles(ctx, level, 0, false)
		if err != nil {
			return 0, fmt.Errorf("list level %d: %w", level, err)
		}
		for itr.Next() {
			max = maxTXID(max, itr.Item().MaxTXID)
		}
		if err := itr.Close(); err != nil {
			return 0, fmt.Errorf("list level %d: %w", level, err)
		}
	}
	return max, nil
}

func maxTXID(a, b ltx.TXID) ltx.TXID {
	if a > b {
		return a
	}
	return b
}

// Restored says what Restore did.
type Restored struct {
	// TXID is the transaction the local database is at now (0: the
	// replica is empty and the database is whatever was there).
	TXID uint64
	// Fetched is true when the database was rewritten from the replica;
	// false when it was already at the replica's latest transaction or
	// the replica is empty.
	Fetched bool
	Took    time.Duration
}

// Restore brings the database at path up to the replica's latest state
// before anything opens it: when the file is missing, or when the replica
// holds a transaction the file is not known to hold (the file's last
// position is recorded beside it when replication stops cleanly), it is
// replaced by a fresh restore, written beside it and renamed into place.
// An empty replica leaves the file as it is: the first leader seeds it.
func Restore(ctx context.Context, path string, cfg Config) (Restored, error) {
	cfg = cfg.withDefaults()
	start := time.Now()
	client, want, err := openLatest(ctx, cfg)
	if err != nil {
		return Restored{}, err
	}
	if want == 0 {
		return Restored{Took: time.Since(start)}, nil
	}
	have, _ := litestream.ReadTXIDFile(path) // 0 when unknown: restore
	if _, err := os.Stat(path); err == nil && have == want {
		return Restored{TXID: uint64(have), Took: time.Since(start)}, nil
	}
	if err := restoreInto(ctx, client, path); err != nil {
		return Restored{}, err
	}
	if err := litestream.WriteTXIDFile(path, want); err != nil {
		return Restored{}, fmt.Errorf("restore %s: %w", path, err)
	}
	r := Restored{TXID: uint64(want), Fetched: true, Took: time.Since(start)}
	cfg.Logger.Info("restored the database from the replica", "db", path, "txid", want.String(), "took", r.Took)
	return r, nil
}

// openLatest opens the replica and reads the last transaction it holds
// (0 when it holds none yet).
func openLatest(ctx context.Context, cfg Config) (litestream.ReplicaClient, ltx.TXID, error) {
	client, err := newClient(cfg.URL)
	if err != nil {
		return nil, 0, err
	}
	if err := client.Init(ctx); err != nil {
		return nil, 0, fmt.Errorf("replica %s: %w", redact(cfg.URL), err)
	}
	want, err := latest(ctx, client)
	if err != nil {
		return nil, 0, fmt.Errorf("replica %s: %w", redact(cfg.URL), err)
	}
	return client, want, nil
}

// RestoreTo writes the replica's latest state into a new file dest, which
// must not exist (bot restore --to).
func RestoreTo(ctx context.Context, dest string, cfg Config) (Restored, error) {
	cfg = cfg.withDefaults()
	start := time.Now()
	if _, err := os.Stat(dest); err == nil {
		return Restored{}, fmt.Errorf("restore to %s: %w", dest, fs.ErrExist)
	}
	client, want, err := openLatest(ctx, cfg)
	if err != nil {
		return Restored{}, err
	}
	if want == 0 {
		return Restored{}, fmt.Errorf("replica %s holds no database yet", redact(cfg.URL))
	}
	r := litestream.NewReplicaWithClient(nil, client)
	opt := litestream.NewRestoreOptions()
	opt.OutputPath = dest
	opt.IntegrityCheck = litestream.IntegrityCheckQuick
	if err := r.Restore(ctx, opt); err != nil {
		return Restored{}, fmt.Errorf("restore %s from %s: %w", dest, redact(cfg.URL), err)
	}
	return Restored{TXID: uint64(want), Fetched: true, Took: time.Since(start)}, nil
}

// restoreInto replaces the database at path (and its WAL, shared memory
// and Litestream's local state) with the replica's latest state.
func restoreInto(ctx context.Context, client litestream.ReplicaClient, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("restore %s: %w", path, err)
	}
	tmp := path + ".restoring"
	for _, p := range []string{tmp, tmp + ".tmp"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore %s: %w", path, err)
		}
	}
	r := litestream.NewReplicaWithClient(nil, client)
	opt := litestream.NewRestoreOptions()
	opt.OutputPath = tmp
	opt.IntegrityCheck = litestream.IntegrityCheckQuick
	if err := r.Restore(ctx, opt); err != nil {
		return fmt.Errorf("restore %s: %w", path, err)
	}
	if err := removeLocal(path); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("restore %s: %w", path, err)
	}
	return nil
}

// removeLocal deletes a database file, its WAL and shared memory, the
// recorded position and Litestream's local state.
func removeLocal(path string) error {
	dir, base := filepath.Split(path)
	for _, p := range []string{path + "-wal", path + "-shm", litestream.TXIDPath(path), path} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "."+base+litestream.MetaDirSuffix)); err != nil {
		return fmt.Errorf("remove Litestream's state for %s: %w", path, err)
	}
	return nil
}

type fileClient = file.ReplicaClient
