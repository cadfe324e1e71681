package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/store"
)

// The fault suite's cases that need a process of their own or a broken
// disk: SIGTERM in the middle of a storm, and a database that cannot be
// written at start. (e2e_faults_test.go has the rest.)

// TestFaultSIGTERMDrainsWithinTenSeconds runs the built binary, relays the
// storm one alert a message and sends SIGTERM a third of the way in: `bot
// run` exits within 10 s with code 0, and every alert message whose
// envelope it acked is in SQLite exactly once. (Messages relayed after it
// stopped listening are Slack's to redeliver, or the catch-up's at the next
// start: not this test's.)
func TestFaultSIGTERMDrainsWithinTenSeconds(t *testing.T) {
	t.Parallel()
	bin := nightowlBinary(t)
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bot.db")
	// no ./runbooks in dir: nightowl runs without a catalog
	run := startBuilt(t, bin, emu.APIURL(), dir, "ONCALL="+uOnCall, "ESCALATION="+sLeads,
		"GROUP_WAIT=1s", "SERVICE_GRAPH="+exampleGraphFile(t))
	cmd, exited := run.cmd, run.exited
	MustWait(t, emu, 20*time.Second, "the socket", func() bool { return emu.Connected() == 1 })

	storm := stormNow(t)
	relayed := make(chan int, len(storm))
	relayDone := make(chan error, 1)
	go func() {
		for i, a := range storm {
			if err := relayOne(hook, a); err != nil {
				relayDone <- err
				return
			}
			relayed <- i
			time.Sleep(20 * time.Millisecond)
		}
		relayDone <- nil
	}()
	for range len(storm) / 3 {
		<-relayed
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			t.Errorf("exit code %d after SIGTERM, want 0", exit.ExitCode())
		case err != nil:
			t.Fatal(err)
		}
		t.Logf("exited %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10s after SIGTERM")
	}
	if err := <-relayDone; err != nil {
		t.Fatal(err)
	}

	msgs := emu.Messages(chAlerts)
	if len(msgs) != len(storm) {
		t.Fatalf("%d messages in #alerts, want the %d relayed", len(msgs), len(storm))
	}
	rows := alertRows(t, dbPath)
	acked := 0
	for i, m := range msgs {
		key := storm[i].Fingerprint + " " + string(diagnosis.Firing)
		took := false
		for _, e := range emu.MessageEnvelopes(chAlerts, m.TS) {
			took = took || e.Acked
		}
		if took {
			acked++
			if rows[key] != 1 {
				t.Errorf("alert %d (%s) was acked: %d rows in SQLite, want 1", i, storm[i].Name(), rows[key])
			}
		}
	}
	for k, n := range rows {
		if n != 1 {
			t.Errorf("alert %s: %d rows in SQLite, want at most 1", k, n)
		}
	}
	if acked == 0 {
		t.Errorf("nightowl acked no alert message before SIGTERM: the storm was not in flight")
	}
	if cards, pages := len(emu.Messages(chIncidents)), notifications(emu)[uOnCall]; cards > 1 || pages > cards {
		t.Errorf("%d cards and %d pages, want at most one of each", cards, pages)
	}
	t.Logf("%d of %d alert messages acked before the exit, %d alerts in SQLite", acked, len(storm), len(rows))
}

// TestFaultSlackRefusingTheAppEndsBotRun: after a link_disabled
// disconnect, apps.connections.open answers HTTP 404, which slack-go takes
// for an app that no longer exists (as it does invalid_auth, token_revoked,
// account_inactive and not_authed): its Socket Mode loop ends, and `bot
// run` exits with code 1 and one line saying why, the records intact, for
// its supervisor to restart it with back-off until the app is enabled
// again. Refusals other than those (503 …) are retried with back-off in
// the process instead (TestFaultSlackAsksToReconnect).
func TestFaultSlackRefusingTheAppEndsBotRun(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	env := map[string]string{
		"SLACK_APP_TOKEN": "xapp-emulator", "SLACK_BOT_TOKEN": "xoxb-emulator", "SLACK_API_URL": emu.APIURL(),
		"ALERTS_CHANNEL": chAlerts, "INCIDENTS_CHANNEL": chIncidents, "ALERT_SOURCES": amBot,
		"ONCALL": uOnCall, "DB_PATH": dbPath, "GROUP_WAIT": "1s",
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr bytes.Buffer
	exited := make(chan int, 1)
	go func() {
		exited <- Main(ctx, []string{"run"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &stderr)
	}()
	MustWait(t, emu, 20*time.Second, "the socket", func() bool { return emu.Connected() == 1 })
	storm := stormNow(t)[:5]
	MustRelay(t, hook, []string{"namespace"}, storm)
	mustCardCounting(t, emu, len(storm), 20*time.Second)

	emu.FailCalls("apps.connections.open", -1, http.StatusNotFound)
	emu.Disconnect("link_disabled")
	select {
	case code := <-exited:
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if last := lines[len(lines)-1]; code != 1 || !strings.HasPrefix(last, "nightowl: socket mode: ") {
			t.Errorf("exit code %d, last line %q: want 1 and why", code, last)
		}
		t.Logf("exit %d: %s", code, lines[len(lines)-1])
	case <-time.After(20 * time.Second):
		t.Fatal("bot run still running 20s after Slack refused the app")
	}
	if n := emu.Calls("apps.connections.open"); n != 2 {
		t.Errorf("%d apps.connections.open calls, want 2: the one at start and the refused one", n)
	}
	assertWhole(t, emu, dbPath, storm, 1)
}

// built is `bot run` of the built binary, logging to dir/nightowl.log.
type built struct {
	cmd     *exec.Cmd
	exited  chan error // cmd.Wait's answer
	logPath string
}

// startBuilt starts the built binary's `bot run` in dir against the Slack
// emulator at apiURL, with the channels and tokens every test uses, its
// database at dir/bot.db, plus env; it kills the process at cleanup if it
// still runs, and a failed test's output gets the log.
func startBuilt(t *testing.T, bin, apiURL, dir string, env ...string) *built {
	t.Helper()
	b := &built{logPath: filepath.Join(dir, "nightowl.log"), exited: make(chan error, 1)}
	logFile, err := os.Create(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	b.cmd = exec.Command(bin, "run")
	b.cmd.Dir = dir
	b.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"SLACK_APP_TOKEN=xapp-emulator", "SLACK_BOT_TOKEN=xoxb-emulator", "SLACK_API_URL=" + apiURL,
		"ALERTS_CHANNEL=" + chAlerts, "INCIDENTS_CHANNEL=" + chIncidents, "ALERT_SOURCES=" + amBot,
		"DB_PATH=" + filepath.Join(dir, "bot.db"), "LOG_LEVEL=debug"}, env...)
	b.cmd.Stdout, b.cmd.Stderr = logFile, logFile
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.exited <- b.cmd.Wait() }()
	t.Cleanup(func() {
		if b.cmd.ProcessState == nil {
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
		if t.Failed() {
			out, _ := os.ReadFile(b.logPath)
			t.Logf("nightowl log (last 6000 bytes):\n%s", tail(string(out), 6000))
		}
	})
	return b
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// runBotRun runs `bot run` in-process with DB_PATH=dbPath and returns its
// exit code and what it wrote to stderr; a start that hangs is cut after 20s.
func runBotRun(t *testing.T, dbPath string) (int, string) {
	t.Helper()
	emu := MustWorkspace(t)
	env := map[string]string{
		"SLACK_APP_TOKEN": "xapp-emulator", "SLACK_BOT_TOKEN": "xoxb-emulator", "SLACK_API_URL": emu.APIURL(),
		"ALERTS_CHANNEL": chAlerts, "INCIDENTS_CHANNEL": chIncidents, "ALERT_SOURCES": amBot,
		"ONCALL": uOnCall, "DB_PATH": dbPath, "GROUP_WAIT": "1s",
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, []string{"run"}, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	return code, stderr.String()
}

// mustMount runs mount(8) and unmounts the target when the test ends.
func mustMount(t *testing.T, target string, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", append(args, target)...).CombinedOutput(); err != nil {
		t.Fatalf("mount %v %s: %v\n%s", args, target, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", target).Run() })
}

// makeReadOnly makes dir (and the files in it) unwritable: a read-only
// bind mount as root, whom file modes do not stop; modes otherwise.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() == 0 {
		mustMount(t, dir, "--bind", dir)
		if out, err := exec.Command("mount", "-o", "remount,bind,ro", dir).CombinedOutput(); err != nil {
			t.Fatalf("remount %s read-only: %v\n%s", dir, err, out)
		}
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
}

// snapshot hashes every file in dir, by name.
func snapshot(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(data)
	}
	return out
}

// assertOneClearError: a non-zero exit and one line on stderr that names
// the database file.
func assertOneClearError(t *testing.T, code int, stderr, dbPath string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "nightowl: ") || !strings.Contains(lines[0], dbPath) {
		t.Errorf("exit code %d and stderr:\n%s\nwant a non-zero code and one line naming %s", code, stderr, dbPath)
	}
	t.Logf("exit %d: %s", code, strings.TrimSpace(stderr))
}

// TestFaultADatabaseThatCannotBeWrittenStopsTheStart: DB_PATH on a
// read-only volume, with no database yet or with one; `bot run` stops at
// once with one sentence naming the file and a non-zero code, and writes
// nothing.
func TestFaultADatabaseThatCannotBeWrittenStopsTheStart(t *testing.T) {
	t.Run("a new database in a read-only directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		makeReadOnly(t, dir)
		dbPath := filepath.Join(dir, "bot.db")
		code, stderr := runBotRun(t, dbPath)
		assertOneClearError(t, code, stderr, dbPath)
		if left := snapshot(t, dir); len(left) != 0 {
			t.Errorf("files left in the read-only directory: %v", left)
		}
	})
	t.Run("an existing database on a read-only volume", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		dbPath := filepath.Join(dir, "bot.db")
		db, err := store.Open(t.Context(), dbPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, dir)
		makeReadOnly(t, dir)
		code, stderr := runBotRun(t, dbPath)
		assertOneClearError(t, code, stderr, dbPath)
		if after := snapshot(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("the read-only database changed:\nbefore %x\nafter  %x", before, after)
		}
	})
}

// TestFaultAFullDiskStopsTheStartAndLeavesADatabaseThatOpensLater: DB_PATH
// on a volume too small for the schema (a 48 KiB tmpfs: mounting one needs
// root; /dev/full cannot stand in, SQLite must read back the pages it
// writes and keep a WAL beside them, and without root there is no other
// way to make a write fail with ENOSPC). `bot run` stops with one sentence
// and a non-zero code; once the volume has room, the database it left
// opens, passes integrity_check and takes every migration.
func TestFaultAFullDiskStopsTheStartAndLeavesADatabaseThatOpensLater(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a full disk needs a small tmpfs, and mounting one needs root")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustMount(t, dir, "-t", "tmpfs", "-o", "size=48k", "tmpfs")
	dbPath := filepath.Join(dir, "bot.db")
	code, stderr := runBotRun(t, dbPath)
	assertOneClearError(t, code, stderr, dbPath)
	if !strings.Contains(stderr, "full") {
		t.Errorf("the error does not say the disk is full: %s", stderr)
	}

	if out, err := exec.Command("mount", "-o", "remount,size=16m", dir).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v\n%s", err, out)
	}
	db, err := store.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatalf("the database left by the failed start does not open once there is room: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var check string
	if err := raw.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q %v", check, err)
	}
	if _, err := raw.ExecContext(t.Context(), "SELECT count(*) FROM alerts"); err != nil {
		t.Errorf("the schema is incomplete: %v", err)
	}
}
