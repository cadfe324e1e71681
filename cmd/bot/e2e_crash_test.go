package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Crashes: nightowl killed with SIGKILL (as the kernel's OOM killer does)
// in the middle of a storm, before and after the card, then started again.
// Each test runs the built binary as its own process against the emulator
// and reads the database file afterwards.

var (
	crashBinOnce sync.Once
	crashBin     string
	crashBinErr  error
)

// nightowlBinary builds ./cmd/bot once for the crash tests.
func nightowlBinary(t *testing.T) string {
	t.Helper()
	goBin := testbed.MustFindBinary(t, "the Go toolchain", "go")
	crashBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nightowl-bin-")
		if err != nil {
			crashBinErr = err
			return
		}
		crashBin = filepath.Join(dir, "bot")
		if out, err := exec.Command(goBin, "build", "-o", crashBin, ".").CombinedOutput(); err != nil {
			crashBinErr = &buildError{err: err, out: string(out)}
		}
	})
	if crashBinErr != nil {
		t.Fatal(crashBinErr)
	}
	return crashBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build ./cmd/bot: " + e.err.Error() + "\n" + e.out }

// nightowlProcess is `bot run` in a process of its own.
type nightowlProcess struct {
	cmd    *exec.Cmd
	exited chan error
}

// startNightowl starts `bot run` against the emulator with the database at
// dbPath; its log goes to log.
func startNightowl(t *testing.T, emu *slackemu.Server, dbPath string, log *os.File, groupWait string) *nightowlProcess {
	t.Helper()
	dir := filepath.Dir(dbPath)
	cmd := exec.Command(nightowlBinary(t), "run")
	cmd.Dir = dir // no ./runbooks here: nightowl runs without a catalog
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"SLACK_APP_TOKEN=xapp-emulator", "SLACK_BOT_TOKEN=xoxb-emulator", "SLACK_API_URL=" + emu.APIURL(),
		"ALERTS_CHANNEL=" + chAlerts, "INCIDENTS_CHANNEL=" + chIncidents, "ALERT_SOURCES=" + amBot,
		"ONCALL=" + uOnCall, "ESCALATION=" + sLeads, "DB_PATH=" + dbPath, "GROUP_WAIT=" + groupWait, "LOG_LEVEL=debug",
		"SERVICE_GRAPH=" + exampleGraphFile(t)}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nightowlProcess{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill ends the process with SIGKILL: nothing of it runs after.
func (p *nightowlProcess) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// crashBed is a workspace, Alertmanager's webhook, a database path and a log.
type crashBed struct {
	emu    *slackemu.Server
	hook   string
	dbPath string
	log    *os.File
}

func mustCrashBed(t *testing.T) crashBed {
	t.Helper()
	emu := MustWorkspace(t)
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "nightowl.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			s := string(out)
			if len(s) > 8000 {
				s = "…" + s[len(s)-8000:]
			}
			t.Logf("nightowl log:\n%s", s)
			t.Logf("transcript:\n%s", emu.Transcript(chAlerts, chIncidents))
		}
	})
	return crashBed{emu: emu, hook: MustAlertmanagerHook(emu), dbPath: filepath.Join(dir, "bot.db"), log: log}
}

// recordedRows counts the alert log's rows, and the distinct (message,
// fingerprint) pairs among them.
func recordedRows(t *testing.T, dbPath string) (rows, distinct int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.QueryRow(`SELECT count(*), count(DISTINCT message_ts || '/' || fingerprint) FROM alerts`).Scan(&rows, &distinct)
	if err != nil && !strings.Contains(err.Error(), "no such table") {
		t.Fatal(err)
	}
	return rows, distinct
}

// unlinked counts the alerts on record that no incident holds.
func unlinked(t *testing.T, dbPath string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM alerts WHERE incident_id IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitForRows waits until the alert log holds n rows.
func waitForRows(t *testing.T, dbPath string, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if rows, _ := recordedRows(t, dbPath); rows >= n {
			return
		}
		if time.Now().After(deadline) {
			rows, _ := recordedRows(t, dbPath)
			t.Fatalf("gave up waiting for %s: %d of %d alerts on record", what, rows, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// relayEach posts each alert in a message of its own, as Alertmanager does
// with group_by: ['...'], and returns how many it posted.
func relayEach(t *testing.T, hook string, alerts []diagnosis.Alert) int {
	t.Helper()
	for _, a := range alerts {
		MustRelay(t, hook, []string{"..."}, []diagnosis.Alert{a})
	}
	return len(alerts)
}

// TestACrashBeforeTheCardLosesNoAlertAndTheCardComesAfterTheRestart:
// every alert of the storm is acked and on record, the process is killed
// inside GROUP_WAIT (no card yet); started again, nightowl posts exactly one
// card that pages once and holds every alert, each recorded once.
func TestACrashBeforeTheCardLosesNoAlertAndTheCardComesAfterTheRestart(t *testing.T) {
	t.Parallel()
	bed := mustCrashBed(t)
	first := startNightowl(t, bed.emu, bed.dbPath, bed.log, "10m")
	MustWait(t, bed.emu, 20*time.Second, "the socket", func() bool { return bed.emu.Connected() == 1 })
	// A critical root-cause alert posts its card at once: leave those out
	// so that the crash comes before any card.
	var storm []diagnosis.Alert
	for _, a := range stormNow(t) {
		if a.Severity() != diagnosis.SeverityCritical || !a.RootCauseCandidate() {
			storm = append(storm, a)
		}
	}
	n := relayEach(t, bed.hook, storm)
	waitForRows(t, bed.dbPath, n, "the storm on record")
	first.kill()
	if cards := bed.emu.Messages(chIncidents); len(cards) != 0 {
		t.Fatalf("%d cards before GROUP_WAIT was over", len(cards))
	}

	startNightowl(t, bed.emu, bed.dbPath, bed.log, "2s")
	MustWait(t, bed.emu, 30*time.Second, "the card after the restart", func() bool { return len(bed.emu.Messages(chIncidents)) >= 1 })
	time.Sleep(3 * time.Second) // time for a second card, were there one
	cards := bed.emu.Messages(chIncidents)
	if len(cards) != 1 {
		t.Fatalf("%d cards after the restart, want 1", len(cards))
	}
	if pages := notifications(bed.emu)[uOnCall]; pages != 1 {
		t.Errorf("on-call paged %d times, want once", pages)
	}
	if !strings.Contains(cards[0].Text, fmt.Sprintf("(%d alerts", n)) {
		t.Errorf("the card is not the storm's: %s", cards[0].Text)
	}
	rows, distinct := recordedRows(t, bed.dbPath)
	if rows != n || distinct != n {
		t.Errorf("%d alert rows (%d distinct), want each of the %d relayed exactly once", rows, distinct, n)
	}
	// The first burst is listed under the card just after it is posted:
	// wait for it (a loaded machine may take seconds), then count it.
	MustWait(t, bed.emu, 20*time.Second, "the first burst under the card", func() bool {
		return repliesWith(bed.emu, chIncidents, cards[0].TS, "alerts grouped into") >= 1
	})
	if got := repliesWith(bed.emu, chIncidents, cards[0].TS, "alerts grouped into"); got != 1 {
		t.Errorf("%d first-burst replies under the card, want 1", got)
	}
}

// TestACrashAfterTheCardNeverPagesTwiceAndAlertsRelayedMeanwhileAreReadBack:
// the card is out when the process is killed; more alerts are relayed
// while it is down; started again, it reads them back from the channel
// (each once), threads them under the same card, and pages nobody again.
func TestACrashAfterTheCardNeverPagesTwiceAndAlertsRelayedMeanwhileAreReadBack(t *testing.T) {
	t.Parallel()
	bed := mustCrashBed(t)
	first := startNightowl(t, bed.emu, bed.dbPath, bed.log, "1s")
	MustWait(t, bed.emu, 20*time.Second, "the socket", func() bool { return bed.emu.Connected() == 1 })
	storm := stormNow(t)
	half := len(storm) / 2
	n := relayEach(t, bed.hook, storm[:half])
	MustWait(t, bed.emu, 20*time.Second, "the card", func() bool { return len(bed.emu.Messages(chIncidents)) == 1 })
	waitForRows(t, bed.dbPath, n, "the first half on record")
	first.kill()

	n += relayEach(t, bed.hook, storm[half:]) // while nightowl is down
	startNightowl(t, bed.emu, bed.dbPath, bed.log, "1s")
	waitForRows(t, bed.dbPath, n, "the alerts relayed while down, read back")
	card := bed.emu.Messages(chIncidents)[0]
	deadline := time.Now().Add(20 * time.Second)
	for unlinked(t, bed.dbPath) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d alerts on record in no incident", unlinked(t, bed.dbPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
	MustWait(t, bed.emu, 20*time.Second, "a reply for the alerts relayed while down", func() bool {
		return len(bed.emu.Replies(chIncidents, card.TS)) >= 2
	})
	time.Sleep(2 * time.Second)
	if cards := bed.emu.Messages(chIncidents); len(cards) != 1 {
		t.Errorf("%d cards, want the one from before the crash", len(cards))
	}
	if pages := notifications(bed.emu)[uOnCall]; pages != 1 {
		t.Errorf("on-call paged %d times, want once", pages)
	}
	rows, distinct := recordedRows(t, bed.dbPath)
	if rows != n || distinct != n {
		t.Errorf("%d alert rows (%d distinct), want each of the %d relayed exactly once", rows, distinct, n)
	}
}
