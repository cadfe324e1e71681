package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/store"
)

// TestBackupWhileRunningAndRestore: `bot backup FILE` copies the database of
// a running nightowl into a real SQLite file that opens and holds the
// incident and its alerts; restoring it (README: copy it to DB_PATH while
// nightowl is stopped) carries the incident on in its thread.
func TestBackupWhileRunningAndRestore(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, nil)
	storm := stormNow(t)[:8]
	MustRelay(t, hook, []string{"namespace"}, storm)
	MustWait(t, emu, 20*time.Second, "the card", func() bool { return len(emu.Messages(chIncidents)) == 1 })
	card := emu.Messages(chIncidents)[0]
	id := nightowl.App.Live.Open()[0].ID
	testbed.WaitFor(t, 10*time.Second, "the card on the record", func() (struct{}, bool) {
		in, err := nightowl.App.DB.Incident(context.Background(), id)
		return struct{}{}, err == nil && in.Thread.TS == card.TS
	})

	backup := filepath.Join(dir, "backups", "nightowl-1.db")
	if err := os.MkdirAll(filepath.Dir(backup), 0o750); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string { return map[string]string{"DB_PATH": dbPath}[k] }
	var out, errs bytes.Buffer
	if code := Main(context.Background(), []string{"backup", backup}, env, nil, &out, &errs); code != 0 {
		t.Fatalf("bot backup exited %d: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "1 incidents") {
		t.Errorf("bot backup said %q, want the incident counted", out.String())
	}
	if code := Main(context.Background(), []string{"backup", backup}, env, nil, io.Discard, &errs); code != 2 ||
		!strings.Contains(errs.String(), "never overwrites") {
		t.Errorf("a second backup to the same file exited %d (%q), want it refused", code, errs.String())
	}

	// The backup is a database of its own, with the incident and every alert.
	copyDB, err := store.Open(context.Background(), backup)
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	in, err := copyDB.Incident(context.Background(), id)
	if err != nil || in.Thread.TS != card.TS || in.AlertCount() != len(storm) {
		t.Fatalf("the backup holds %s as %+v (%v), want its card's thread and its %d alerts", id, in.Thread, err, len(storm))
	}
	log, err := copyDB.AlertLog(context.Background(), id)
	if err != nil || len(log) != len(storm) {
		t.Errorf("the backup's alert log of %s holds %d alerts (%v), want %d", id, len(log), err, len(storm))
	}
	copyDB.Close()

	// Restore: stop nightowl, put the backup in place of the database,
	// start again: the incident carries on in its thread.
	nightowl.stop()
	restored := filepath.Join(dir, "restored.db")
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, data, 0o600); err != nil {
		t.Fatal(err)
	}
	again := MustRunNightowl(t, emu, restored, nil)
	if got, ok := again.App.Live.Incident(id); !ok || got.Thread.TS != card.TS {
		t.Fatalf("after the restore %s is %+v (live %v), want it carried on in its thread", id, got.Thread, ok)
	}
	MustRelay(t, hook, []string{"namespace"}, resolveAll(storm))
	MustWait(t, emu, 20*time.Second, "the incident resolved in its own thread", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "resolved after") == 1
	})
	if n := len(emu.Messages(chIncidents)); n != 1 {
		t.Errorf("%d cards after the restore, want the one card", n)
	}
}
