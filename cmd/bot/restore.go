package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/nightowl-sre/nightowl/store/replica"
)

// restoreCmd is `bot restore [--replica URL] [--to FILE]`: the database
// brought back from its replica (REPLICA_URL) by hand, as a new leader
// does before it connects. Without --to it rewrites DB_PATH when the file
// is missing or behind the replica (nightowl stopped); with --to it
// writes a new file and never overwrites one.
func restoreCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	url, args, err := takeFlag(args, "replica")
	if err != nil {
		return err
	}
	to, args, err := takeFlag(args, "to")
	if err != nil {
		return err
	}
	cfg, rest, err := LoadConfig("restore", args, getenv, stderr, needNothing)
	if err != nil {
		return configError(err)
	}
	if len(rest) != 0 {
		return usageError{msg: fmt.Sprintf("restore takes no argument %q", rest[0]), hint: restoreUsage}
	}
	if url != "" {
		if err := replica.Check(url); err != nil {
			return usageError{msg: err.Error(), hint: restoreUsage}
		}
		cfg.ReplicaURL = url
	}
	if cfg.ReplicaURL == "" {
		return usageError{msg: "restore needs a replica: set REPLICA_URL or give --replica URL", hint: restoreUsage}
	}
	rc := replica.Config{URL: cfg.ReplicaURL, SyncInterval: cfg.ReplicaSyncInterval}
	if to != "" {
		got, err := replica.RestoreTo(ctx, to, rc)
		if errors.Is(err, fs.ErrExist) {
			return usageError{msg: fmt.Sprintf("%s exists: nightowl never overwrites a file with a restore", to), hint: "Name a new file."}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "restored the replica's transaction %d into %s in %v\n", got.TXID, to, got.Took.Round(1e6))
		return nil
	}
	got, err := replica.Restore(ctx, cfg.DBPath, rc)
	switch {
	case err != nil:
		return err
	case got.Fetched:
		fmt.Fprintf(stdout, "restored %s from the replica at transaction %d in %v\n", cfg.DBPath, got.TXID, got.Took.Round(1e6))
	case got.TXID == 0:
		fmt.Fprintf(stdout, "the replica holds no database yet: %s left as it is\n", cfg.DBPath)
	default:
		fmt.Fprintf(stdout, "%s is already at the replica's transaction %d\n", cfg.DBPath, got.TXID)
	}
	return nil
}

const restoreUsage = "usage: bot restore [--replica URL] [--to NEW-FILE] (run it while nightowl is stopped, or with --to)"

// takeFlag removes --name VALUE (or -name, or =VALUE) from args.
func takeFlag(args []string, name string) (string, []string, error) {
	var value string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		flag := strings.TrimLeft(a, "-")
		if !strings.HasPrefix(a, "-") || (flag != name && !strings.HasPrefix(flag, name+"=")) {
			rest = append(rest, a)
			continue
		}
		if v, ok := strings.CutPrefix(flag, name+"="); ok {
			value = v
			continue
		}
		if i+1 >= len(args) {
			return "", nil, usageError{msg: fmt.Sprintf("--%s needs a value", name), hint: restoreUsage}
		}
		value = args[i+1]
		i++
	}
	return value, rest, nil
}
