package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/nightowl-sre/nightowl/store"
)

// backupCmd is `bot backup FILE`: a consistent copy of DB_PATH in a new
// file, taken with SQLite's VACUUM INTO while nightowl may be running.
// Restoring is copying it back while nightowl is stopped (README, Back up
// and restore).
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := LoadConfig("backup", args, getenv, stderr, needNothing)
	if err != nil {
		return configError(err)
	}
	if len(rest) != 1 {
		return usageError{msg: "backup needs one file to write", hint: "usage: bot backup [--db-path FILE] BACKUP-FILE"}
	}
	if _, err := os.Stat(cfg.DBPath); err != nil {
		return fmt.Errorf("no database at %s (set DB_PATH)", cfg.DBPath)
	}
	info, err := store.Backup(ctx, cfg.DBPath, rest[0])
	if errors.Is(err, fs.ErrExist) {
		return usageError{msg: fmt.Sprintf("%s exists: nightowl never overwrites a file with a backup", rest[0]), hint: "Name a new file."}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s: %d incidents, %d alerts, %d events, schema %d, %.1f MB\n",
		cfg.DBPath, info.Path, info.Incidents, info.Alerts, info.Events, info.Schema, float64(info.Bytes)/(1<<20))
	return nil
}
