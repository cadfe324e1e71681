package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/store"
	"github.com/nightowl-sre/nightowl/store/replica"
)

// mustReplicated writes a store at path, streamed to the replica at url,
// holding one incident's worth of records, and stops it cleanly.
func mustReplicated(t *testing.T, path, url string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := replica.Start(ctx, path, replica.Config{URL: url, SyncInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.FirstSeen(ctx, "restored", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBotRestoreBringsTheDatabaseBackFromItsReplica(t *testing.T) {
	dir := t.TempDir()
	url := "file://" + filepath.Join(dir, "replica")
	mustReplicated(t, filepath.Join(dir, "leader.db"), url)
	lost := filepath.Join(dir, "lost", "bot.db")
	env := func(k string) string { return map[string]string{"DB_PATH": lost, "REPLICA_URL": url}[k] }

	cases := []struct {
		name string
		args []string
		env  func(string) string
		code int
		out  string
	}{
		{"a missing database is restored", []string{"restore"}, env, 0, "restored " + lost + " from the replica at transaction"},
		{"a current one is left alone", []string{"restore"}, env, 0, "is already at the replica's transaction"},
		{"--to writes a new file", []string{"restore", "--to", filepath.Join(dir, "copy.db")}, env, 0, "into " + filepath.Join(dir, "copy.db")},
		{"--to never overwrites", []string{"restore", "--to", filepath.Join(dir, "copy.db")}, env, 2, "never overwrites"},
		{"--replica names the replica", []string{"restore", "--replica", url, "--to=" + filepath.Join(dir, "other.db")}, func(string) string { return "" }, 0, "restored the replica's transaction"},
		{"no replica is a usage error", []string{"restore"}, func(string) string { return "" }, 2, "needs a replica"},
		{"an unknown scheme is a usage error", []string{"restore", "--replica", "ftp://x/y"}, env, 2, "ftp"},
		{"an empty replica says so", []string{"restore", "--replica", filepath.Join(dir, "empty"), "--to", filepath.Join(dir, "x.db")}, env, 1, "holds no database yet"},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), tc.args, tc.env, nil, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("%s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", tc.name, code, tc.code, tc.out, stdout.String(), stderr.String())
		}
	}
	db, err := store.Open(context.Background(), lost)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if first, err := db.FirstSeen(context.Background(), "restored", time.Now()); err != nil || first {
		t.Errorf("the restored database does not hold the leader's record (first=%v, err=%v)", first, err)
	}
}
