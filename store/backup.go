package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// BackupInfo describes a finished backup.
type BackupInfo struct {
	Path  string
	Bytes int64
	// Schema is the newest migration the copy holds.
	Schema                    int
	Incidents, Alerts, Events int64
}

// Backup copies the database at path into a new file dest with SQLite's
// VACUUM INTO: one consistent snapshot, taken while nightowl may be
// running (WAL lets its writers go on), compacted, and written beside dest
// then renamed into place once it passes an integrity check, so dest is
// either a whole backup or absent. The source is opened read-only and
// never migrated; dest must not exist.
func Backup(ctx context.Context, path, dest string) (BackupInfo, error) {
	info := BackupInfo{Path: dest}
	if _, err := os.Stat(path); err != nil {
		return info, fmt.Errorf("back up %s: %w", path, err)
	}
	if _, err := os.Stat(dest); err == nil {
		return info, fmt.Errorf("back up to %s: %w", dest, fs.ErrExist)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.partial")
	if err != nil {
		return info, fmt.Errorf("back up to %s: %w", dest, err)
	}
	partial := tmp.Name()
	tmp.Close()
	os.Remove(partial) // VACUUM INTO wants to create it
	defer os.Remove(partial)

	src, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return info, fmt.Errorf("back up %s: %w", path, err)
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, partial); err != nil {
		return info, fmt.Errorf("back up %s: vacuum into %s: %w", path, partial, err)
	}
	if err := checkBackup(ctx, partial, &info); err != nil {
		return info, fmt.Errorf("back up %s: the copy is not sound: %w", path, err)
	}
	if err := syncFile(partial); err != nil {
		return info, fmt.Errorf("back up %s: %w", path, err)
	}
	if err := os.Link(partial, dest); err != nil { // fails, unlike Rename, when dest appeared meanwhile
		return info, fmt.Errorf("back up to %s: %w", dest, err)
	}
	st, err := os.Stat(dest)
	if err != nil {
		return info, fmt.Errorf("back up to %s: %w", dest, err)
	}
	info.Bytes = st.Size()
	return info, nil
}

// checkBackup opens a copy, checks its integrity and counts what it holds.
func checkBackup(ctx context.Context, path string, info *BackupInfo) error {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if ok != "ok" {
		return fmt.Errorf("integrity check: %s", ok)
	}
	err = db.QueryRowContext(ctx, `SELECT
		(SELECT ifnull(max(version), 0) FROM schema_migrations),
		(SELECT count(*) FROM incidents), (SELECT count(*) FROM alerts), (SELECT count(*) FROM events)`).
		Scan(&info.Schema, &info.Incidents, &info.Alerts, &info.Events)
	if err != nil {
		return fmt.Errorf("count records: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
