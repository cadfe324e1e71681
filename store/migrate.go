package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema, one file per version: NNNN_name.sql,
// numbered from 0001 without gaps. To change the schema, add the next file;
// never edit one that has shipped.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema version.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads migrations/NNNN_name.sql from fsys, in version order,
// and checks they are numbered 1, 2, 3… with no gaps or duplicates.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	ms := make([]migration, 0, len(names))
	for _, p := range names { // fs.Glob returns names sorted
		base := strings.TrimSuffix(path.Base(p), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || name == "" {
			return nil, fmt.Errorf("migration %s: want a name like 0001_initial.sql", p)
		}
		if want := len(ms) + 1; v != want {
			return nil, fmt.Errorf("migration %s: want version %04d next", p, want)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", p, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	return ms, nil
}

// migrate brings the schema up to the newest migration in fsys, one
// transaction per migration. It refuses a database whose schema is newer than
// fsys knows, or whose applied migrations have different names.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `
		CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL
		)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, db)
	if err != nil {
		return err
	}
	if n := len(applied); n > 0 && applied[n-1].version > len(ms) {
		return fmt.Errorf("schema version %d is newer than this nightowl knows (%d): upgrade nightowl",
			applied[n-1].version, len(ms))
	}
	for i, a := range applied {
		if a.version != i+1 {
			return fmt.Errorf("schema_migrations: version %d follows %d", a.version, i)
		}
		if a.name != ms[i].name {
			return fmt.Errorf("schema version %04d is %q in the database but %q here", a.version, a.name, ms[i].name)
		}
	}
	for _, m := range ms[len(applied):] {
		if err := apply(ctx, db, m); err != nil {
			return err
		}
	}
	return nil
}

// appliedMigrations lists the migrations recorded in schema_migrations, by version.
func appliedMigrations(ctx context.Context, db *sql.DB) ([]migration, error) {
	rows, err := db.QueryContext(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	var applied []migration
	for rows.Next() {
		var m migration
		if err := rows.Scan(&m.version, &m.name); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied = append(applied, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}

// apply runs one migration and records it, in one write transaction. If
// another process applied it meanwhile, apply leaves it be.
func apply(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %04d_%s: begin: %w", m.version, m.name, err)
	}
	var done bool
	if err := tx.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.version).Scan(&done); err != nil {
		return errors.Join(fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err), rollback(tx))
	}
	if done {
		return rollback(tx)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return errors.Join(fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err), rollback(tx))
	}
	now, err := encodeTime(time.Now())
	if err != nil {
		return errors.Join(err, rollback(tx))
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, now); err != nil {
		return errors.Join(fmt.Errorf("migration %04d_%s: record: %w", m.version, m.name, err), rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %04d_%s: commit: %w", m.version, m.name, err)
	}
	return nil
}
