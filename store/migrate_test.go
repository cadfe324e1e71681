package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// withMigrations is the embedded migrations plus extra files.
func withMigrations(tb testing.TB, extra map[string]string) fs.FS {
	tb.Helper()
	fsys := fstest.MapFS{}
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range mustGlob(tb, migrationFiles) {
		b, err := fs.ReadFile(migrationFiles, name)
		if err != nil {
			tb.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: b}
	}
	if len(fsys) != len(ms) {
		tb.Fatalf("%d files for %d migrations", len(fsys), len(ms))
	}
	for name, sql := range extra {
		fsys[name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return fsys
}

func mustGlob(tb testing.TB, fsys fs.FS) []string {
	tb.Helper()
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

type appliedRow struct {
	Version int
	Name    string
}

// shipped lists the migrations nightowl ships, as schema_migrations rows.
func shipped(tb testing.TB) []appliedRow {
	tb.Helper()
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		tb.Fatal(err)
	}
	var out []appliedRow
	for _, m := range ms {
		out = append(out, appliedRow{m.version, m.name})
	}
	return out
}

// nextFile names a migration file that comes right after the shipped ones.
func nextFile(tb testing.TB, offset int, name string) string {
	return fmt.Sprintf("migrations/%04d_%s.sql", len(shipped(tb))+offset, name)
}

func plus(rows []appliedRow, more ...appliedRow) []appliedRow {
	return append(append([]appliedRow(nil), rows...), more...)
}

func mustApplied(tb testing.TB, db *sql.DB) []appliedRow {
	tb.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []appliedRow
	for rows.Next() {
		var r appliedRow
		if err := rows.Scan(&r.Version, &r.Name); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestMigrationsApplyOnce(t *testing.T) {
	db := MustOpen(t)
	want := shipped(t)
	mustEqual(t, "applied migrations", mustApplied(t, db.write), want)

	db = MustReopen(t, db)
	mustEqual(t, "applied migrations after reopening", mustApplied(t, db.write), want)
}

func TestMigrationsAddVersions(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	next := withMigrations(t, map[string]string{
		nextFile(t, 1, "incident_notes"): `
			ALTER TABLE incidents ADD COLUMN notes TEXT NOT NULL DEFAULT '';
			CREATE INDEX incidents_by_notes ON incidents (notes);`,
	})

	t.Run("a new file is applied in order", func(t *testing.T) {
		if err := migrate(ctx, db.write, next); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "applied migrations", mustApplied(t, db.write), plus(shipped(t), appliedRow{len(shipped(t)) + 1, "incident_notes"}))
		if _, err := db.write.ExecContext(ctx, `UPDATE incidents SET notes = 'x'`); err != nil {
			t.Fatalf("the new column is missing: %v", err)
		}
	})

	t.Run("applying again changes nothing", func(t *testing.T) {
		if err := migrate(ctx, db.write, next); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "applied migrations", mustApplied(t, db.write), plus(shipped(t), appliedRow{len(shipped(t)) + 1, "incident_notes"}))
	})

	t.Run("code that knows fewer versions refuses the database", func(t *testing.T) {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, db.Path())
		n := len(shipped(t))
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d is newer than this nightowl knows (%d)", n+1, n)) {
			t.Fatalf("Open = %v, want a newer-schema error", err)
		}
	})
}

func TestMigrationsRefuse(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		extra   map[string]string
		wantErr string
	}{
		{
			"a failing migration rolls back whole",
			map[string]string{nextFile(t, 1, "broken"): `CREATE TABLE half (x); SELECT * FROM nowhere;`},
			"no such table: nowhere",
		},
		{
			"a gap in the numbering",
			map[string]string{nextFile(t, 2, "skipped"): `SELECT 1`},
			fmt.Sprintf("want version %04d next", len(shipped(t))+1),
		},
		{
			"two files with one number",
			map[string]string{"migrations/0001_again.sql": `SELECT 1`},
			"want version 0002 next",
		},
		{
			"a file named without a number",
			map[string]string{"migrations/9_late.sql": `SELECT 1`},
			"want a name like 0001_initial.sql",
		},
		{
			"a file named without a name",
			map[string]string{"migrations/0002.sql": `SELECT 1`},
			"want a name like 0001_initial.sql",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpen(t)
			err := migrate(ctx, db.write, withMigrations(t, tc.extra))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("migrate = %v, want an error containing %q", err, tc.wantErr)
			}
			mustEqual(t, "applied migrations", mustApplied(t, db.write), shipped(t))
			var n int
			if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Error("the failed migration left its table behind")
			}
		})
	}

	t.Run("a database whose migration has another name", func(t *testing.T) {
		db := MustOpen(t)
		if _, err := db.write.ExecContext(ctx, `UPDATE schema_migrations SET name = 'other' WHERE version = 1`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := Open(ctx, db.Path())
		if err == nil || !strings.Contains(err.Error(), `schema version 0001 is "other" in the database but "initial" here`) {
			t.Fatalf("Open = %v, want a name mismatch", err)
		}
	})
}
