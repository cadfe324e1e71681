package replica_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/store"
	"github.com/nightowl-sre/nightowl/store/replica"
)

// mustOpen opens a store at path.
func mustOpen(tb testing.TB, path string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// mustSeen records keys.
func mustSeen(tb testing.TB, db *store.DB, keys ...string) {
	tb.Helper()
	for _, k := range keys {
		if _, err := db.FirstSeen(context.Background(), k, time.Now()); err != nil {
			tb.Fatal(err)
		}
	}
}

// seen reports which of keys the database at path holds.
func seen(tb testing.TB, path string, keys ...string) []string {
	tb.Helper()
	db := mustOpen(tb, path)
	defer db.Close()
	var held []string
	for _, k := range keys {
		first, err := db.FirstSeen(context.Background(), k, time.Now())
		if err != nil {
			tb.Fatal(err)
		}
		if !first {
			held = append(held, k)
		}
	}
	return held
}

// mustLead writes keys to the database at path while it streams to the
// replica, as a leader does, and stops cleanly.
func mustLead(tb testing.TB, path string, cfg replica.Config, keys ...string) {
	tb.Helper()
	ctx := context.Background()
	if _, err := replica.Restore(ctx, path, cfg); err != nil {
		tb.Fatal(err)
	}
	db := mustOpen(tb, path)
	s, err := replica.Start(ctx, path, cfg)
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	mustSeen(tb, db, keys...)
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		tb.Fatal(err)
	}
}

func TestALeaderTakesOverTheLastLeadersWrites(t *testing.T) {
	dir := t.TempDir()
	cfg := replica.Config{URL: "file://" + filepath.Join(dir, "replica"), SyncInterval: 50 * time.Millisecond}
	a, b := filepath.Join(dir, "a", "bot.db"), filepath.Join(dir, "b", "bot.db")

	mustLead(t, a, cfg, "one", "two")
	mustLead(t, b, cfg, "three") // b starts with nothing: it restores a's writes
	mustLead(t, a, cfg, "four")  // a's file is behind b's writes: it restores again

	all := []string{"one", "two", "three", "four"}
	if got := seen(t, a, all...); !slices.Equal(got, all) {
		t.Errorf("a holds %v, want %v", got, all)
	}
	if got := seen(t, b, all...); !slices.Equal(got, all[:3]) {
		t.Errorf("b holds %v, want %v (it has not led since)", got, all[:3])
	}
	dest := filepath.Join(dir, "by-hand.db")
	if _, err := replica.RestoreTo(context.Background(), dest, cfg); err != nil {
		t.Fatal(err)
	}
	if got := seen(t, dest, all...); !slices.Equal(got, all) {
		t.Errorf("bot restore wrote %v, want %v", got, all)
	}
}

func TestRestoreKeepsAFileThatIsCurrent(t *testing.T) {
	dir := t.TempDir()
	cfg := replica.Config{URL: filepath.Join(dir, "replica"), SyncInterval: 50 * time.Millisecond}
	a := filepath.Join(dir, "a", "bot.db")
	mustLead(t, a, cfg, "one")
	r, err := replica.Restore(context.Background(), a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Fetched || r.TXID == 0 {
		t.Errorf("Restore = %+v, want the file kept at the replica's transaction", r)
	}
}

func TestAnEmptyReplicaLeavesTheFileAlone(t *testing.T) {
	dir := t.TempDir()
	cfg := replica.Config{URL: filepath.Join(dir, "replica")}
	a := filepath.Join(dir, "bot.db")
	db := mustOpen(t, a)
	mustSeen(t, db, "kept")
	db.Close()
	r, err := replica.Restore(context.Background(), a, cfg)
	if err != nil || r.Fetched {
		t.Fatalf("Restore = %+v, %v; want nothing fetched", r, err)
	}
	if got := seen(t, a, "kept"); len(got) != 1 {
		t.Error("the file lost its record")
	}
	if _, err := replica.RestoreTo(context.Background(), filepath.Join(dir, "x.db"), cfg); err == nil {
		t.Error("RestoreTo from an empty replica succeeded")
	}
}

func TestRestoreToNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	cfg := replica.Config{URL: filepath.Join(dir, "replica"), SyncInterval: 50 * time.Millisecond}
	a := filepath.Join(dir, "bot.db")
	mustLead(t, a, cfg, "one")
	if _, err := replica.RestoreTo(context.Background(), a, cfg); !errors.Is(err, fs.ErrExist) {
		t.Errorf("RestoreTo onto an existing file: %v, want fs.ErrExist", err)
	}
}

func TestCheckNamesABadURL(t *testing.T) {
	for _, url := range []string{"", "ftp://example/x"} {
		if err := replica.Check(url); err == nil {
			t.Errorf("Check(%q) = nil", url)
		}
	}
	for _, url := range []string{"/var/lib/nightowl/replica", "file:///tmp/x", "s3://bucket/nightowl"} {
		if err := replica.Check(url); err != nil {
			t.Errorf("Check(%q) = %v", url, err)
		}
	}
}

// BenchmarkReplicationLag measures how long a committed write takes to
// reach a file replica (docs/ha.md): the window a crash of the leader can
// lose. ns/op is the mean lag of one write, worst-ms the longest.
func BenchmarkReplicationLag(b *testing.B) {
	for _, interval := range []time.Duration{100 * time.Millisecond, time.Second} {
		b.Run(fmt.Sprint("sync-", interval), func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "bot.db")
			cfg := replica.Config{URL: filepath.Join(dir, "replica"), SyncInterval: interval}
			ctx := context.Background()
			db := mustOpen(b, path)
			s, err := replica.Start(ctx, path, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { db.Close(); s.Close(ctx) }()
			var worst time.Duration
			for i := 0; b.Loop(); i++ {
				before, err := replica.Latest(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				mustSeen(b, db, fmt.Sprint("k", i))
				start := time.Now()
				for {
					if now, err := replica.Latest(ctx, cfg); err == nil && now > before {
						break
					}
					time.Sleep(2 * time.Millisecond)
				}
				worst = max(worst, time.Since(start))
			}
			b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
		})
	}
}
