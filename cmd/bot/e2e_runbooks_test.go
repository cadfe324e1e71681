package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
	"github.com/nightowl-sre/nightowl/store"
)

// runbookBed is a catalog and playbooks in temp dirs: the shipped demo
// runbook writing into a temp dir, and playbooks that fail and hang.
type runbookBed struct {
	runbooks, playbooks, demoDir, marker string
}

func mustRunbookBed(t *testing.T) runbookBed {
	t.Helper()
	testbed.MustFindBinary(t, "apt-get install ansible", "ansible-playbook")
	b := runbookBed{runbooks: t.TempDir(), playbooks: t.TempDir(), demoDir: t.TempDir(), marker: fmt.Sprintf("nightowl-e2e-%d", time.Now().UnixNano())}
	demo, err := os.ReadFile(filepath.Join("..", "..", "playbooks", "demo-touch-file.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(b.playbooks, "demo-touch-file.yml"): string(demo),
		filepath.Join(b.playbooks, "fail.yml"): `- hosts: localhost
  gather_facts: false
  tasks:
    - name: Look at the patient
      ansible.builtin.debug: {msg: "looking"}
    - name: Give up
      ansible.builtin.fail: {msg: "the pool is on fire"}
`,
		filepath.Join(b.playbooks, "hang.yml"): `- hosts: localhost
  gather_facts: false
  tasks:
    - name: Prepare
      ansible.builtin.debug: {msg: "ready"}
    - name: Wait for ever
      ansible.builtin.command: {argv: [sh, -c, "sleep 3600; : ` + b.marker + `"]}
`,
		filepath.Join(b.runbooks, "RB-DEMO-001.yaml"): `id: RB-DEMO-001
title: Write a line to a demo file
playbook: demo-touch-file.yml
parameters:
  - {name: service, type: service, from: root_cause, default: demo}
  - {name: demo_dir, type: string, pattern: '/[A-Za-z0-9._/-]{1,200}', default: ` + b.demoDir + `}
risk: low
dry_run: true
timeout: 2m
`,
		filepath.Join(b.runbooks, "RB-FAIL-001.yaml"): "id: RB-FAIL-001\ntitle: Always fails\nplaybook: fail.yml\ntimeout: 1m\n",
		filepath.Join(b.runbooks, "RB-HANG-001.yaml"): "id: RB-HANG-001\ntitle: Never ends\nplaybook: hang.yml\ntimeout: 1h\n",
		filepath.Join(b.runbooks, "RB-SLOW-001.yaml"): "id: RB-SLOW-001\ntitle: Ends by timeout\nplaybook: hang.yml\ntimeout: 3s\n",
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b runbookBed) env() map[string]string {
	return map[string]string{"RUNBOOKS_DIR": b.runbooks, "PLAYBOOKS_DIR": b.playbooks, "APPROVERS": uLead + "," + sLeads}
}

// leftover reports whether a process of this test's hanging playbook lives.
func (b runbookBed) leftover() bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmd), b.marker) && !strings.Contains(string(cmd), "ansible") {
			return true
		}
	}
	return false
}

// cardWithRunbook relays one alert whose runbook label names rb and waits
// for its card.
func cardWithRunbook(t *testing.T, emu *slackemu.Server, hook, service, rb string) slackemu.Message {
	t.Helper()
	before := len(emu.Messages(chIncidents))
	a := alertOn("Broken", service, "critical", time.Now(), "runbook", rb, "root_cause_candidate", "true")
	MustRelay(t, hook, []string{"namespace", "service"}, []diagnosis.Alert{a})
	MustWait(t, emu, 15*time.Second, "the card of "+service, func() bool { return len(emu.Messages(chIncidents)) > before })
	return emu.Messages(chIncidents)[before]
}

func click(t *testing.T, emu *slackemu.Server, user, channel, ts, action, value string) error {
	t.Helper()
	_, err := emu.Click(t.Context(), slackemu.Click{User: user, Channel: channel, MessageTS: ts, ActionID: action, Value: value})
	return err
}

// requestMessage finds the run request's message in a card's thread.
func requestMessage(emu *slackemu.Server, card slackemu.Message, rb string) (slackemu.Message, bool) {
	for _, r := range emu.Replies(chIncidents, card.TS) {
		if strings.Contains(r.Text, rb+" RUN-") {
			return r, true
		}
	}
	return slackemu.Message{}, false
}

// mustAudit reads the run audit of a stopped nightowl's database.
func mustAudit(t *testing.T, dbPath, incident string) []runbooks.AuditEvent {
	t.Helper()
	db, err := store.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events, err := db.Audit(t.Context(), incident)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func kindsOf(events []runbooks.AuditEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return out
}

// TestApproveRunsTheDemoRunbookOnceForApproversOnly walks the approval flow
// end to end: dry run in the thread, a refused click, a double click by an
// approver, a real ansible-playbook run that changes a file, the result in
// the thread, the card's buttons, and the audit record.
func TestApproveRunsTheDemoRunbookOnceForApproversOnly(t *testing.T) {
	bed := mustRunbookBed(t)
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, bed.env())
	card := cardWithRunbook(t, emu, hook, "payment-service", "RB-DEMO-001")
	incident := strings.Fields(strings.TrimPrefix(card.Text, "🔴 "))[0]
	incident = strings.TrimSuffix(incident, ":")

	card = mustCardOffers(t, emu, card)
	dry, _ := mustRequest(t, emu, card, "RB-DEMO-001", "The dry run with these parameters says it would")
	if !strings.Contains(string(dry.Blocks), "nightowl-demo.log") {
		t.Errorf("the dry run does not say what would change:\n%s", emu.Transcript(chIncidents))
	}

	// Someone who is not an approver presses Approve.
	if err := click(t, emu, uHuman, chIncidents, card.TS, bot.ActionRunbookApprove, ""); err != nil {
		t.Fatal(err)
	}
	MustWait(t, emu, 10*time.Second, "the refusal", func() bool {
		for _, m := range emu.Ephemerals(uHuman) {
			if strings.Contains(m.Text, "You cannot approve this run") {
				return true
			}
		}
		return false
	})
	if entries, _ := os.ReadDir(bed.demoDir); len(entries) != 0 {
		t.Fatalf("the refused click ran the playbook: %v", entries)
	}

	// The approver double-clicks.
	callsBefore := len(emu.CallLog())
	clicked := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := click(t, emu, uLead, chIncidents, card.TS, bot.ActionRunbookApprove, ""); err != nil && !errors.Is(err, slackemu.ErrNoSuchButton) {
				t.Errorf("approve: %v", err)
			}
		})
	}
	wg.Wait()
	MustWait(t, emu, 60*time.Second, "the run's result in the thread", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "RB-DEMO-001 (RUN-") == 1
	})
	log, err := os.ReadFile(filepath.Join(bed.demoDir, "nightowl-demo.log"))
	if err != nil || !strings.Contains(string(log), incident) {
		t.Fatalf("the demo file %q (%v) does not name %s", log, err, incident)
	}
	if n := strings.Count(string(log), "\n"); n != 1 {
		t.Errorf("the demo file has %d lines: the double click must run once", n)
	}
	msg, ok := requestMessage(emu, card, "RB-DEMO-001")
	if !ok || !strings.Contains(msg.Text, "succeeded") || !strings.Contains(string(msg.Blocks), "changed") {
		t.Errorf("request message %q", msg.Text)
	}
	MustWait(t, emu, 10*time.Second, "the card without its Approve button", func() bool {
		m, _ := emu.Message(chIncidents, card.TS)
		return !strings.Contains(string(m.Blocks), bot.ActionRunbookApprove) && strings.Contains(string(m.Blocks), "RB-DEMO-001 succeeded")
	})

	calls := map[string]int{}
	for _, c := range emu.CallLog()[callsBefore:] {
		calls[c.Method]++
	}
	t.Logf("Slack calls for the run, from the click to the card's last update: %v", calls)
	nightowl.stop()
	kinds := kindsOf(mustAudit(t, dbPath, incident))
	for _, k := range []string{runbooks.AuditDryRun, runbooks.AuditRequested, runbooks.AuditRefused, runbooks.AuditApproved,
		runbooks.AuditQueued, runbooks.AuditStarted, runbooks.AuditTask, runbooks.AuditCheckDone, runbooks.AuditFinished} {
		if !slices.Contains(kinds, k) {
			t.Errorf("the audit record lacks %q: %v", k, kinds)
		}
	}
	if n := strings.Count(strings.Join(kinds, " "), runbooks.AuditStarted); n != 1 {
		t.Errorf("%d runs started, want 1", n)
	}
	db, err := store.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reqs, _ := db.Requests(t.Context(), incident)
	if len(reqs) != 1 || reqs[0].Result == nil {
		t.Fatalf("requests %+v", reqs)
	}
	t.Logf("approval click to ansible-playbook start: %s (check run first); run took %s",
		reqs[0].Check.Started.Sub(clicked).Round(time.Millisecond), reqs[0].Result.Ended.Sub(reqs[0].Check.Started).Round(time.Millisecond))
}

// TestRunsThatFailHangOrAreCancelledSayWhyAndLeaveNothing covers the bad
// endings: a failing playbook, a hanging one stopped by its timeout, and
// one cancelled from Slack; each says so in the thread, leaves no process
// behind and is complete on the record.
func TestRunsThatFailHangOrAreCancelledSayWhyAndLeaveNothing(t *testing.T) {
	bed := mustRunbookBed(t)
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, bed.env())

	cases := []struct {
		runbook, service, want string
		cancel                 bool
	}{
		{"RB-FAIL-001", "payment-service", "failed", false},
		{"RB-SLOW-001", "inventory-service", "timed out", false},
		{"RB-HANG-001", "notification-service", "cancelled", true},
	}
	for _, tc := range cases {
		t.Run(tc.runbook, func(t *testing.T) {
			card := mustCardOffers(t, emu, cardWithRunbook(t, emu, hook, tc.service, tc.runbook))
			if err := click(t, emu, uLead, chIncidents, card.TS, bot.ActionRunbookApprove, ""); err != nil {
				t.Fatal(err)
			}
			if tc.cancel {
				var msg slackemu.Message
				MustWait(t, emu, 30*time.Second, "the run to be running", func() bool {
					m, ok := requestMessage(emu, card, tc.runbook)
					msg = m
					return ok && strings.Contains(string(m.Blocks), bot.ActionRunCancel) && strings.Contains(string(m.Blocks), "Prepare")
				})
				if err := click(t, emu, uHuman, chIncidents, msg.TS, bot.ActionRunCancel, ""); err != nil {
					t.Fatal(err)
				}
				MustWait(t, emu, 10*time.Second, "the refusal to a stranger", func() bool { return len(emu.Ephemerals(uHuman)) > 0 })
				if err := click(t, emu, uLead, chIncidents, msg.TS, bot.ActionRunCancel, ""); err != nil {
					t.Fatal(err)
				}
			}
			MustWait(t, emu, 30*time.Second, "the outcome in the thread", func() bool {
				return repliesWith(emu, chIncidents, card.TS, tc.runbook+" (RUN-") == 1
			})
			if repliesWith(emu, chIncidents, card.TS, tc.want) == 0 {
				t.Errorf("the thread does not say %q:\n%s", tc.want, emu.Transcript(chIncidents))
			}
			if tc.runbook == "RB-FAIL-001" && repliesWith(emu, chIncidents, card.TS, "the pool is on fire") == 0 {
				t.Errorf("the thread does not show the failing task's message")
			}
			testbed.WaitFor(t, 5*time.Second, "no leftover process", func() (struct{}, bool) { return struct{}{}, !bed.leftover() })
		})
	}
	nightowl.stop()
	all := mustAudit(t, dbPath, "")
	finished := 0
	for _, e := range all {
		if e.Kind == runbooks.AuditFinished {
			finished++
		}
	}
	if finished != 3 {
		t.Errorf("%d finished runs on the record, want 3: %v", finished, kindsOf(all))
	}
}

// TestARunInFlightWhenTheBotDiedIsSaidInterrupted: a request the store says
// was running when nightowl last stopped is marked interrupted, in the
// record and in its thread.
func TestARunInFlightWhenTheBotDiedIsSaidInterrupted(t *testing.T) {
	bed := mustRunbookBed(t)
	emu := MustWorkspace(t)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	thread, err := emu.PostAsUser(chIncidents, uLead, "an old incident card", "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	err = db.SaveRequest(t.Context(), runbooks.Request{ID: "RUN-DEAD01", Incident: "INC-OLD", Runbook: "RB-DEMO-001", State: runbooks.StateRunning,
		Thread: diagnosis.Thread{Channel: chIncidents, TS: thread}, Vars: map[string]any{}, RequestedAt: time.Now().Add(-time.Minute)})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	nightowl := MustRunNightowl(t, emu, dbPath, bed.env())
	MustWait(t, emu, 15*time.Second, "the interruption in the thread", func() bool {
		return repliesWith(emu, chIncidents, thread, "RB-DEMO-001 (RUN-DEAD01) interrupted") == 1
	})
	nightowl.stop()
	if kinds := kindsOf(mustAudit(t, dbPath, "INC-OLD")); !slices.Contains(kinds, runbooks.AuditInterrupted) {
		t.Errorf("the record does not say interrupted: %v", kinds)
	}
}
