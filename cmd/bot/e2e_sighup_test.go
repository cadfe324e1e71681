package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

// TestSIGHUPReadsTheGraphFileAgain runs the built binary: SIGHUP makes
// `bot run` read SERVICE_GRAPH again without a restart (a service added to
// the file is one /graph knows), and a file broken meanwhile changes
// nothing but the log, which says the last good graph is kept.
func TestSIGHUPReadsTheGraphFileAgain(t *testing.T) {
	t.Parallel()
	bin := nightowlBinary(t)
	emu := MustWorkspace(t)
	dir := t.TempDir()
	graphPath := mustWriteFile(t, dir, "graph.yaml", "services: {web: {depends_on: [api]}, api: {}}\n")
	run := startBuilt(t, bin, emu.APIURL(), dir, "SERVICE_GRAPH="+graphPath)
	cmd, exited, logPath := run.cmd, run.exited, run.logPath
	MustWait(t, emu, 20*time.Second, "the socket", func() bool { return emu.Connected() == 1 })

	// graphOf asks /graph about a service and returns what the asker saw.
	graphOf := func(service string) string {
		t.Helper()
		before, beforePublic := len(emu.Ephemerals(uLead)), len(emu.Messages(chIncidents))
		if _, err := emu.SlashCommand(t.Context(), slackemu.SlashCommand{User: uLead, Channel: chIncidents, Command: "/graph", Text: service}); err != nil {
			t.Fatal(err)
		}
		// The answer is words (ephemeral, or in the channel) and, for a
		// service the graph knows, a picture uploaded beside them: wait
		// for the words, whichever comes first.
		var answer string
		MustWait(t, emu, 15*time.Second, "the answer to /graph "+service, func() bool {
			for _, e := range emu.Ephemerals(uLead)[before:] {
				if text := e.Text + string(e.Blocks); strings.Contains(text, service) {
					answer = text
					return true
				}
			}
			for _, m := range emu.Messages(chIncidents)[beforePublic:] {
				if text := m.Text + string(m.Blocks); strings.Contains(text, service) {
					answer = text
					return true
				}
			}
			return false
		})
		return answer
	}
	hangUp := func(wantInLog string) {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, _ := os.ReadFile(logPath)
			if strings.Contains(string(out), wantInLog) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("10s after SIGHUP the log does not say %q", wantInLog)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	if got := graphOf("db"); !strings.Contains(got, `No service \"db\"`) {
		t.Fatalf("/graph db before the file names it: %s", got)
	}
	mustWriteFile(t, dir, "graph.yaml", "services: {web: {depends_on: [api]}, api: {depends_on: [db]}, db: {kind: database}}\n")
	hangUp("why=SIGHUP")
	if got := graphOf("db"); !strings.Contains(got, "db calls nothing; called by api.") {
		t.Errorf("/graph db after SIGHUP: %s", got)
	}
	mustWriteFile(t, dir, "graph.yaml", "services: {web: {depends_on: [api]\n")
	hangUp("service graph refresh failed: keeping the last good graph")
	if got := graphOf("db"); !strings.Contains(got, "db calls nothing; called by api.") || !strings.Contains(got, "The last graph refresh failed") {
		t.Errorf("/graph db after SIGHUP on a broken file: %s", got)
	}
	select {
	case err := <-exited:
		t.Fatalf("bot run ended after SIGHUP: %v", err)
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("bot run after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
}
