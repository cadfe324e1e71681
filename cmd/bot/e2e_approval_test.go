package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
	"github.com/nightowl-sre/nightowl/store"
)

// Why this file is long: the approval flow end to end, one test per
// promise, each driving the real App through the emulator and the real
// ansible-playbook with the testbed helpers at the top.

// The end-to-end proofs of docs/security.md: each test plays one attack on
// the approval flow, or one fault, through the Slack emulator and a real
// ansible-playbook.

// withApprovalRunbooks adds the runbooks these tests need to a bed: the demo
// playbook without a dry run (RB-QUICK-001) and under the two-person rule
// (RB-TWO-001), a dry run that takes a minute (RB-SLEEP-001), and a playbook
// that hangs inside a block whose always section leaves a mark (RB-HOLD-001).
func withApprovalRunbooks(t *testing.T, b runbookBed) runbookBed {
	t.Helper()
	demo := func(id, extra string) string {
		return "id: " + id + "\ntitle: Write a line to a demo file\nplaybook: demo-touch-file.yml\nparameters:\n" +
			"  - {name: service, type: service, from: root_cause, default: demo}\n" +
			"  - {name: demo_dir, type: string, pattern: '/[A-Za-z0-9._/-]{1,200}', default: " + b.demoDir + "}\n" +
			"  - {name: note, type: string, pattern: '[A-Za-z0-9 .,:_-]{0,200}'}\n" +
			"dry_run: false\ntimeout: 2m\n" + extra
	}
	files := map[string]string{
		filepath.Join(b.runbooks, "RB-QUICK-001.yaml"): demo("RB-QUICK-001", "risk: low\n"),
		filepath.Join(b.runbooks, "RB-TWO-001.yaml"):   demo("RB-TWO-001", "risk: high\napprovals: {required: 1, two_person: true}\n"),
		filepath.Join(b.runbooks, "RB-SLEEP-001.yaml"): "id: RB-SLEEP-001\ntitle: Look slowly\nplaybook: sleep.yml\n" +
			"parameters:\n  - {name: service, type: string, from: root_cause, required: true}\n" +
			"dry_run: true\ntimeout: 5m\n",
		filepath.Join(b.playbooks, "sleep.yml"): `- hosts: localhost
  gather_facts: false
  tasks:
    - name: Look slowly, even in check mode
      ansible.builtin.command: {argv: [sh, -c, "sleep 60; : ` + b.marker + `"]}
      check_mode: false
      changed_when: false
`,
		filepath.Join(b.runbooks, "RB-HOLD-001.yaml"): "id: RB-HOLD-001\ntitle: Hold, then clean up\nplaybook: hold.yml\ntimeout: 1h\n",
		filepath.Join(b.playbooks, "hold.yml"): `- hosts: localhost
  gather_facts: false
  tasks:
    - block:
        - name: Prepare
          ansible.builtin.debug: {msg: "ready"}
        - name: Wait for ever
          ansible.builtin.command: {argv: [sh, -c, "sleep 3600; : ` + b.marker + `"]}
      always:
        - name: Clean up
          ansible.builtin.file: {path: "` + filepath.Join(b.demoDir, "cleaned-up") + `", state: touch}
`,
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b runbookBed) envWith(kv ...string) map[string]string {
	env := b.env()
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// demoLines are the lines the demo playbook wrote.
func (b runbookBed) demoLines() []string {
	data, err := os.ReadFile(filepath.Join(b.demoDir, "nightowl-demo.log"))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

var requestIDRe = regexp.MustCompile(`RUN-[0-9A-F]{6}`)

// incidentOf reads the incident ID off a card.
func incidentOf(card slackemu.Message) string {
	return strings.TrimSuffix(strings.Fields(strings.TrimPrefix(card.Text, "🔴 "))[0], ":")
}

// mustCardOffers waits until the card offers its own request's Approve
// button, and returns the card as it is then.
func mustCardOffers(t *testing.T, emu *slackemu.Server, card slackemu.Message) slackemu.Message {
	t.Helper()
	var m slackemu.Message
	MustWait(t, emu, 30*time.Second, "the card's Approve button", func() bool {
		m, _ = emu.Message(chIncidents, card.TS)
		return strings.Contains(string(m.Blocks), bot.ActionRunbookApprove)
	})
	return m
}

// mustRequest waits for the request message of runbook rb in the card's
// thread whose blocks contain all of want, and returns it with its ID.
func mustRequest(t *testing.T, emu *slackemu.Server, card slackemu.Message, rb string, want ...string) (slackemu.Message, string) {
	t.Helper()
	var found slackemu.Message
	MustWait(t, emu, 30*time.Second, fmt.Sprintf("a request message of %s with %v", rb, want), func() bool {
		for _, r := range emu.Replies(chIncidents, card.TS) {
			if !strings.Contains(r.Text, rb+" RUN-") {
				continue
			}
			ok := true
			for _, w := range want {
				ok = ok && (strings.Contains(r.Text, w) || strings.Contains(string(r.Blocks), w))
			}
			if ok {
				found = r
				return true
			}
		}
		return false
	})
	return found, requestIDRe.FindString(found.Text)
}

// mention posts "@nightowl text" in the card's thread as user.
func mention(t *testing.T, emu *slackemu.Server, card slackemu.Message, user, text string) {
	t.Helper()
	if _, err := emu.PostAsUser(chIncidents, user, "<@U0NIGHTOWL> "+text, card.TS); err != nil {
		t.Fatal(err)
	}
}

func press(t *testing.T, emu *slackemu.Server, c slackemu.Click) slackemu.ClickResult {
	t.Helper()
	if c.Channel == "" {
		c.Channel = chIncidents
	}
	res, err := emu.Click(t.Context(), c)
	if err != nil {
		t.Fatalf("click %s as %s: %v", c.ActionID, c.User, err)
	}
	return res
}

// mustEphemeral waits for an ephemeral reply to user that contains s.
func mustEphemeral(t *testing.T, emu *slackemu.Server, user, s string) string {
	t.Helper()
	var text string
	MustWait(t, emu, 15*time.Second, fmt.Sprintf("an ephemeral %q to %s", s, user), func() bool {
		for _, m := range emu.Ephemerals(user) {
			if strings.Contains(m.Text, s) {
				text = m.Text
				return true
			}
		}
		return false
	})
	return text
}

// auditOf lists one request's record, in order.
func auditOf(all []runbooks.AuditEvent, id string) []string {
	var kinds []string
	for _, e := range all {
		if e.Request == id {
			kinds = append(kinds, e.Kind+":"+e.Actor)
		}
	}
	return kinds
}

func hasKind(kinds []string, kind string) bool {
	return slices.ContainsFunc(kinds, func(k string) bool { return strings.HasPrefix(k, kind+":") })
}

// TestTheCardApprovesOnlyItsOwnRequestWithItsOwnParameters: someone who may
// not approve asks for the card's runbook against another service; the
// approver approves the card, and only what the card shows runs.
func TestTheCardApprovesOnlyItsOwnRequestWithItsOwnParameters(t *testing.T) {
	bed := mustRunbookBed(t)
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, bed.env())
	card := cardWithRunbook(t, emu, hook, "order-service", "RB-DEMO-001")
	card = mustCardOffers(t, emu, card)
	_, own := mustRequest(t, emu, card, "RB-DEMO-001", "service=order-service")

	mention(t, emu, card, uHuman, "runbook run RB-DEMO-001 service=payment-service")
	_, swapped := mustRequest(t, emu, card, "RB-DEMO-001", "service=payment-service", "waiting for approval")
	if swapped == own {
		t.Fatalf("the mention joined the card's request %s", own)
	}

	res := press(t, emu, slackemu.Click{User: uLead, MessageTS: card.TS, ActionID: bot.ActionRunbookApprove})
	if res.Confirm == nil || !strings.Contains(res.Confirm.Title+res.Confirm.Text, "RB-DEMO-001") ||
		!strings.Contains(res.Confirm.Text, "service=order-service") || strings.Contains(res.Confirm.Text, "payment-service") {
		t.Fatalf("the approver confirmed %+v, want RB-DEMO-001 on order-service named", res.Confirm)
	}
	MustWait(t, emu, 60*time.Second, "the card's run to end", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "RB-DEMO-001 ("+own+") succeeded") == 1
	})
	lines := bed.demoLines()
	if len(lines) != 1 || !strings.Contains(lines[0], "service=order-service") {
		t.Fatalf("the playbook wrote %q, want one line for order-service", lines)
	}
	if msg, _ := mustRequest(t, emu, card, "RB-DEMO-001", swapped); !strings.Contains(msg.Text, "waiting for approval") {
		t.Errorf("the other request is %q, want it still waiting", msg.Text)
	}
	// "Show command" on a request shows that request's command: its ID, its service.
	press(t, emu, slackemu.Click{User: uLead, MessageTS: mustRequestTS(t, emu, card, swapped), ActionID: bot.ActionRunbookManual})
	text := mustEphemeral(t, emu, uLead, "Check first")
	if !strings.Contains(text, swapped) || !strings.Contains(text, "payment-service") {
		t.Errorf("Show command on %s shows %q", swapped, text)
	}

	nightowl.stop()
	db, err := store.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reqs, _ := db.Requests(t.Context(), incidentOf(card))
	states := map[string]runbooks.State{}
	for _, r := range reqs {
		states[r.ID] = r.State
		if r.ID == own && (r.Result == nil || r.Vars["service"] != "order-service") {
			t.Errorf("the card's request on record: %+v", r)
		}
	}
	if states[own] != runbooks.StateSucceeded || states[swapped] != runbooks.StatePending {
		t.Errorf("states %v: want %s succeeded and %s pending", states, own, swapped)
	}
	all := mustAudit(t, dbPath, incidentOf(card))
	for _, id := range []string{own, swapped} {
		if k := auditOf(all, id); !hasKind(k, runbooks.AuditCheckDone) {
			t.Errorf("%s had no dry run of its own: %v", id, k)
		}
	}
}

// mustRequestTS is the ts of a request's message.
func mustRequestTS(t *testing.T, emu *slackemu.Server, card slackemu.Message, id string) string {
	t.Helper()
	for _, r := range emu.Replies(chIncidents, card.TS) {
		if strings.Contains(r.Text, id) {
			return r.TS
		}
	}
	t.Fatalf("no message of %s", id)
	return ""
}

// TestARefusedClickOpensNothing: a click by someone who may not approve
// is refused, on the record, and opens no request.
func TestARefusedClickOpensNothing(t *testing.T) {
	bed := withApprovalRunbooks(t, mustRunbookBed(t))
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, bed.env())
	card := mustCardOffers(t, emu, cardWithRunbook(t, emu, hook, "payment-service", "RB-QUICK-001"))
	msg, own := mustRequest(t, emu, card, "RB-QUICK-001")
	incident := incidentOf(card)
	before := nightowl.App.Runbooks.ForIncident(incident)

	for _, ts := range []string{card.TS, msg.TS} { // the card's Approve, then the request's own
		action := bot.ActionRunbookApprove
		if ts == msg.TS {
			action = bot.ActionRequestApprove
		}
		press(t, emu, slackemu.Click{User: uHuman, MessageTS: ts, ActionID: action})
	}
	MustWait(t, emu, 10*time.Second, "two refusals", func() bool {
		n := 0
		for _, m := range emu.Ephemerals(uHuman) {
			if strings.Contains(m.Text, "You cannot approve this run") {
				n++
			}
		}
		return n == 2
	})
	after := nightowl.App.Runbooks.ForIncident(incident)
	if len(after) != len(before) {
		t.Errorf("%d requests before the refused clicks, %d after", len(before), len(after))
	}
	for _, r := range after {
		if r.RequestedBy == uHuman || len(r.Approvals) > 0 || r.State != runbooks.StatePending {
			t.Errorf("a refused click changed %+v", r)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if lines := bed.demoLines(); len(lines) != 0 {
		t.Errorf("the refused click ran the playbook: %q", lines)
	}
	nightowl.stop()
	kinds := auditOf(mustAudit(t, dbPath, incident), own)
	if n := strings.Count(strings.Join(kinds, " "), runbooks.AuditRefused+":"+uHuman); n != 2 {
		t.Errorf("%d refusals of %s on the record, want 2: %v", n, uHuman, kinds)
	}
	if hasKind(kinds, runbooks.AuditApproved) || strings.Count(strings.Join(kinds, " "), runbooks.AuditRequested) != 1 {
		t.Errorf("record %v", kinds)
	}
}

// TestTwoPersonWithARequesterWhoMayNotApproveNeedsTwoApprovers: under the
// two-person rule a request typed by someone who may not approve needs two
// different approvers; the requester's clicks count for nothing.
func TestTwoPersonWithARequesterWhoMayNotApproveNeedsTwoApprovers(t *testing.T) {
	bed := withApprovalRunbooks(t, mustRunbookBed(t))
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, bed.envWith("APPROVERS", uLead+","+uOnCall))
	card := mustCardOffers(t, emu, cardWithRunbook(t, emu, hook, "payment-service", "RB-HANG-001"))
	mention(t, emu, card, uHuman, "runbook run RB-TWO-001")
	msg, id := mustRequest(t, emu, card, "RB-TWO-001", "waiting for approval")

	press(t, emu, slackemu.Click{User: uLead, MessageTS: msg.TS, ActionID: bot.ActionRequestApprove})
	mustEphemeral(t, emu, uLead, "needs 1 more")
	press(t, emu, slackemu.Click{User: uHuman, MessageTS: msg.TS, ActionID: bot.ActionRequestApprove})
	mustEphemeral(t, emu, uHuman, "You cannot approve this run")
	press(t, emu, slackemu.Click{User: uLead, MessageTS: msg.TS, ActionID: bot.ActionRequestApprove})
	mustEphemeral(t, emu, uLead, "approved this run already")
	time.Sleep(500 * time.Millisecond)
	if got, _ := nightowl.App.Runbooks.Get(id); got.State != runbooks.StatePending || len(bed.demoLines()) != 0 {
		t.Fatalf("one approver ran a two-person runbook: %s, %q", got.State, bed.demoLines())
	}

	press(t, emu, slackemu.Click{User: uOnCall, MessageTS: msg.TS, ActionID: bot.ActionRequestApprove})
	MustWait(t, emu, 60*time.Second, "the run to end", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "RB-TWO-001 ("+id+") succeeded") == 1
	})
	if lines := bed.demoLines(); len(lines) != 1 {
		t.Errorf("the playbook wrote %q", lines)
	}
	nightowl.stop()
	kinds := auditOf(mustAudit(t, dbPath, incidentOf(card)), id)
	want := []string{runbooks.AuditApproved + ":" + uLead, runbooks.AuditApproved + ":" + uOnCall, runbooks.AuditQueued + ":"}
	for _, w := range want {
		if !slices.Contains(kinds, w) {
			t.Errorf("the record %v lacks %s", kinds, w)
		}
	}
}

// TestAStaleApprovalRunsNothing: a client that still shows an Approve
// button after the request expired, or after its incident resolved, gets
// one sentence, and nothing runs.
func TestAStaleApprovalRunsNothing(t *testing.T) {
	t.Run("after the TTL", func(t *testing.T) {
		bed := withApprovalRunbooks(t, mustRunbookBed(t))
		emu := MustWorkspace(t)
		hook := MustAlertmanagerHook(emu)
		dbPath := filepath.Join(t.TempDir(), "bot.db")
		nightowl := MustRunNightowl(t, emu, dbPath, bed.envWith("RUNBOOK_REQUEST_TTL", "3s"))
		card := mustCardOffers(t, emu, cardWithRunbook(t, emu, hook, "payment-service", "RB-HANG-001"))
		mention(t, emu, card, uHuman, "runbook run RB-QUICK-001")
		seen, id := mustRequest(t, emu, card, "RB-QUICK-001", "waiting for approval", bot.ActionRequestApprove)
		MustWait(t, emu, 15*time.Second, "the request to expire", func() bool {
			m, _ := emu.Message(chIncidents, seen.TS)
			return strings.Contains(m.Text, "expired") && !strings.Contains(string(m.Blocks), bot.ActionRequestApprove)
		})
		press(t, emu, slackemu.Click{User: uLead, MessageTS: seen.TS, ActionID: bot.ActionRequestApprove, Seen: seen.Blocks})
		text := mustEphemeral(t, emu, uLead, id)
		if !strings.Contains(text, "expired") || strings.Contains(strings.TrimSuffix(text, "."), ". ") {
			t.Errorf("the stale click was told %q", text)
		}
		time.Sleep(time.Second)
		if lines := bed.demoLines(); len(lines) != 0 {
			t.Fatalf("a stale approval ran the playbook: %q", lines)
		}
		nightowl.stop()
		kinds := auditOf(mustAudit(t, dbPath, incidentOf(card)), id)
		if !hasKind(kinds, runbooks.AuditExpired) || hasKind(kinds, runbooks.AuditApproved) || hasKind(kinds, runbooks.AuditStarted) {
			t.Errorf("record %v", kinds)
		}
	})
	t.Run("after the incident resolved", func(t *testing.T) {
		bed := withApprovalRunbooks(t, mustRunbookBed(t))
		emu := MustWorkspace(t)
		hook := MustAlertmanagerHook(emu)
		dbPath := filepath.Join(t.TempDir(), "bot.db")
		nightowl := MustRunNightowl(t, emu, dbPath, bed.env())
		alert := alertOn("Broken", "payment-service", "critical", time.Now(), "runbook", "RB-QUICK-001", "root_cause_candidate", "true")
		MustRelay(t, hook, []string{"namespace", "service"}, []diagnosis.Alert{alert})
		MustWait(t, emu, 15*time.Second, "the card", func() bool { return len(emu.Messages(chIncidents)) > 0 })
		seen := mustCardOffers(t, emu, emu.Messages(chIncidents)[0])
		msg, id := mustRequest(t, emu, seen, "RB-QUICK-001")

		MustRelay(t, hook, []string{"namespace", "service"}, resolveAll([]diagnosis.Alert{alert}))
		MustWait(t, emu, 30*time.Second, "the resolution and the request's expiry", func() bool {
			c, _ := emu.Message(chIncidents, seen.TS)
			m, _ := emu.Message(chIncidents, msg.TS)
			return strings.Contains(c.Text, "resolved") && strings.Contains(m.Text, "expired")
		})
		press(t, emu, slackemu.Click{User: uLead, MessageTS: seen.TS, ActionID: bot.ActionRunbookApprove, Seen: seen.Blocks})
		text := mustEphemeral(t, emu, uLead, id)
		if !strings.Contains(text, "resolved") || strings.Contains(strings.TrimSuffix(text, "."), ". ") {
			t.Errorf("the stale click was told %q", text)
		}
		time.Sleep(time.Second)
		if lines := bed.demoLines(); len(lines) != 0 {
			t.Fatalf("an approval after the incident resolved ran the playbook: %q", lines)
		}
		nightowl.stop()
		if kinds := auditOf(mustAudit(t, dbPath, incidentOf(seen)), id); hasKind(kinds, runbooks.AuditApproved) || !hasKind(kinds, runbooks.AuditExpired) {
			t.Errorf("record %v", kinds)
		}
	})
}

// mustFreezeDatabase makes the running nightowl's database unwritable: the
// files become immutable (chattr +i, which refuses writes even through
// files already open, even to root); where that cannot be done another
// process holds the database's write lock, as sqlite3 or a backup would.
// It returns how, and the undo.
func mustFreezeDatabase(t *testing.T, dbPath string) (string, func()) {
	t.Helper()
	// Another process holds SQLite's write lock (as a backup or a person
	// with the sqlite3 shell would): every write of nightowl's waits out its
	// busy timeout and fails. (Making the files immutable instead can fault
	// SQLite's shared-memory mapping and kill the process.)
	bin := testbed.MustFindBinary(t, "Debian sqlite3; ./scripts/test installs it", "sqlite3")
	cmd := exec.Command(bin, dbPath)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "PRAGMA busy_timeout=5000;\nBEGIN IMMEDIATE;\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	undo := func() {
		stdin.Close()
		_ = cmd.Wait()
	}
	t.Cleanup(undo)
	return "another process's write lock", undo
}

// TestNothingRunsWhenTheDatabaseCannotBeWritten: the database turns
// read-only under a running nightowl; an approval cannot be recorded, so
// nothing runs, the approver and the thread are told in one sentence, and
// the same click works once the database is writable again.
func TestNothingRunsWhenTheDatabaseCannotBeWritten(t *testing.T) {
	bed := withApprovalRunbooks(t, mustRunbookBed(t))
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, bed.env())
	card := mustCardOffers(t, emu, cardWithRunbook(t, emu, hook, "payment-service", "RB-QUICK-001"))
	_, id := mustRequest(t, emu, card, "RB-QUICK-001", "waiting for approval")

	how, undo := mustFreezeDatabase(t, dbPath)
	t.Logf("the database is unwritable by %s", how)
	press(t, emu, slackemu.Click{User: uLead, MessageTS: card.TS, ActionID: bot.ActionRunbookApprove})
	said := mustEphemeral(t, emu, uLead, "could not write your approval")
	MustWait(t, emu, 15*time.Second, "the thread to say why", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "RB-QUICK-001 ("+id+") did not start") == 1
	})
	time.Sleep(time.Second)
	if lines := bed.demoLines(); len(lines) != 0 {
		t.Fatalf("an approval that is not on the record ran the playbook: %q", lines)
	}
	if got, _ := nightowl.App.Runbooks.Get(id); got.State != runbooks.StatePending || len(got.Approvals) != 0 {
		t.Fatalf("request %s %v after a failed write, want pending without approvals", got.State, got.Approvals)
	}
	t.Logf("the approver was told: %s", said)

	undo()
	press(t, emu, slackemu.Click{User: uLead, MessageTS: card.TS, ActionID: bot.ActionRunbookApprove})
	MustWait(t, emu, 60*time.Second, "the run once the database is back", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "RB-QUICK-001 ("+id+") succeeded") == 1
	})
	nightowl.stop()
	kinds := auditOf(mustAudit(t, dbPath, incidentOf(card)), id)
	if n := strings.Count(strings.Join(kinds, " "), runbooks.AuditStarted+":"); n != 1 || len(bed.demoLines()) != 1 {
		t.Errorf("record %v, demo file %q: want one run, after the database came back", kinds, bed.demoLines())
	}
}

// TestDryRunsNeverDelayAnApprovedRun: twenty incidents each dry-run their
// runbook, which takes a minute, with one runner slot; an approval starts
// its run at once all the same.
func TestDryRunsNeverDelayAnApprovedRun(t *testing.T) {
	bed := withApprovalRunbooks(t, mustRunbookBed(t))
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, bed.envWith("RUNBOOK_MAX_RUNS", "1", "RUNBOOK_STOP_GRACE", "1s"))
	var alerts []diagnosis.Alert
	for i := 1; i <= 20; i++ {
		svc := fmt.Sprintf("storm-svc-%02d", i)
		alerts = append(alerts, alertOn("Broken", svc, "critical", time.Now(), "runbook", "RB-SLEEP-001", "root_cause_candidate", "true",
			"namespace", fmt.Sprintf("storm-%02d", i)))
	}
	MustRelay(t, hook, []string{"namespace", "service"}, alerts)
	MustWait(t, emu, 60*time.Second, "twenty cards offering their runbook", func() bool {
		n := 0
		for _, m := range emu.Messages(chIncidents) {
			if strings.Contains(string(m.Blocks), bot.ActionRunbookApprove) {
				n++
			}
		}
		return n == 20
	})
	testbed.WaitFor(t, 30*time.Second, "a dry run holding the runner", func() (struct{}, bool) { return struct{}{}, bed.leftover() })
	queued := 0
	for _, in := range nightowl.App.Live.Open() {
		for _, r := range nightowl.App.Runbooks.ForIncident(in.ID) {
			if r.State == runbooks.StatePending && r.DryRun == nil {
				queued++
			}
		}
	}
	if queued < 20 {
		t.Fatalf("%d dry runs outstanding, want the storm's 20 (one running, the rest waiting)", queued)
	}

	var card slackemu.Message
	for _, m := range emu.Messages(chIncidents) {
		if strings.Contains(m.Text, "storm-svc-20") {
			card = m
		}
	}
	msg, id := mustRequest(t, emu, card, "RB-SLEEP-001")
	clicked := time.Now()
	press(t, emu, slackemu.Click{User: uLead, MessageTS: card.TS, ActionID: bot.ActionRunbookApprove})
	MustWait(t, emu, 10*time.Second, "the approved run to start", func() bool {
		m, _ := emu.Message(chIncidents, msg.TS)
		return strings.Contains(m.Text, "running")
	})
	shown := time.Since(clicked)
	if shown > time.Second {
		t.Errorf("the approved run showed running %s after the click, with %d dry runs outstanding; want under 1s", shown.Round(time.Millisecond), queued)
	}
	nightowl.stop()
	testbed.WaitFor(t, 10*time.Second, "no leftover process", func() (struct{}, bool) { return struct{}{}, !bed.leftover() })
	var approved, started time.Time
	for _, e := range mustAudit(t, dbPath, "") {
		if e.Request == id && e.Kind == runbooks.AuditQueued {
			approved = e.At
		}
		if e.Request == id && e.Kind == runbooks.AuditStarted {
			started = e.At
		}
	}
	if started.IsZero() {
		t.Fatal("the approved run never started")
	}
	t.Logf("with %d dry runs outstanding (one running): click to ansible-playbook start %s, approval committed to start %s, click to 'running' in the thread %s",
		queued, started.Sub(clicked).Round(time.Millisecond), started.Sub(approved).Round(time.Millisecond), shown.Round(time.Millisecond))
}

// TestCancelIsForApproversAndStopsThePlaybook: the requester who may not
// approve cannot cancel; an approver cancels through a confirm dialog (a
// denied dialog changes nothing); the thread ends "cancelled" and no
// process is left.
func TestCancelIsForApproversAndStopsThePlaybook(t *testing.T) {
	bed := withApprovalRunbooks(t, mustRunbookBed(t))
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, bed.env())
	card := mustCardOffers(t, emu, cardWithRunbook(t, emu, hook, "payment-service", "RB-QUICK-001"))
	mention(t, emu, card, uHuman, "runbook run RB-HOLD-001")
	msg, id := mustRequest(t, emu, card, "RB-HOLD-001", "waiting for approval")
	press(t, emu, slackemu.Click{User: uLead, MessageTS: msg.TS, ActionID: bot.ActionRequestApprove})
	MustWait(t, emu, 30*time.Second, "the run to be running", func() bool {
		m, _ := emu.Message(chIncidents, msg.TS)
		return strings.Contains(string(m.Blocks), bot.ActionRunCancel) && strings.Contains(string(m.Blocks), "Prepare")
	})
	testbed.WaitFor(t, 15*time.Second, "the playbook's process", func() (struct{}, bool) { return struct{}{}, bed.leftover() })

	press(t, emu, slackemu.Click{User: uHuman, MessageTS: msg.TS, ActionID: bot.ActionRunCancel})
	mustEphemeral(t, emu, uHuman, "Only approvers can cancel")
	denied := press(t, emu, slackemu.Click{User: uLead, MessageTS: msg.TS, ActionID: bot.ActionRunCancel, Deny: true})
	if denied.Confirm == nil || !strings.Contains(denied.Confirm.Title, id) {
		t.Fatalf("Cancel asks %+v, want a dialog naming %s", denied.Confirm, id)
	}
	time.Sleep(500 * time.Millisecond)
	if got, _ := nightowl.App.Runbooks.Get(id); got.State != runbooks.StateRunning {
		t.Fatalf("a denied dialog or a refused click stopped the run: %s", got.State)
	}
	cancelled := time.Now()
	press(t, emu, slackemu.Click{User: uLead, MessageTS: msg.TS, ActionID: bot.ActionRunCancel})
	MustWait(t, emu, 90*time.Second, "the thread to say cancelled", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "RB-HOLD-001 ("+id+") cancelled") == 1
	})
	t.Logf("cancel click to 'cancelled' in the thread: %s", time.Since(cancelled).Round(time.Millisecond))
	testbed.WaitFor(t, 10*time.Second, "no leftover process", func() (struct{}, bool) { return struct{}{}, !bed.leftover() })
	// The runner interrupts the running task rather than killing Ansible,
	// so the playbook's always section cleans up.
	if _, err := os.Stat(filepath.Join(bed.demoDir, "cleaned-up")); err != nil {
		t.Errorf("the playbook's always section did not run after the cancel: %v", err)
	}
	nightowl.stop()
	kinds := auditOf(mustAudit(t, dbPath, incidentOf(card)), id)
	if !slices.Contains(kinds, runbooks.AuditCancelled+":"+uLead) || !slices.Contains(kinds, runbooks.AuditRefused+":"+uHuman) {
		t.Errorf("record %v", kinds)
	}
}

// TestAShutdownLetsRunsFinishThenSaysInterruptedInTheirThreads: on
// SIGTERM nightowl takes no new approval, gives running runs
// RUNBOOK_STOP_GRACE, interrupts the rest and updates their threads before
// it exits. Readiness turns false first: all through the drain /readyz
// answers 503 "shutting down" while /healthz still answers 200.
func TestAShutdownLetsRunsFinishThenSaysInterruptedInTheirThreads(t *testing.T) {
	bed := withApprovalRunbooks(t, mustRunbookBed(t))
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	addr := testbed.FreeAddr(t)
	nightowl := MustRunNightowl(t, emu, dbPath, bed.envWith("RUNBOOK_STOP_GRACE", "3s", "METRICS_ADDR", addr))
	card := mustCardOffers(t, emu, cardWithRunbook(t, emu, hook, "payment-service", "RB-HOLD-001"))
	msg, id := mustRequest(t, emu, card, "RB-HOLD-001")
	mention(t, emu, card, uHuman, "runbook run RB-QUICK-001")
	later, laterID := mustRequest(t, emu, card, "RB-QUICK-001", "waiting for approval")
	press(t, emu, slackemu.Click{User: uLead, MessageTS: card.TS, ActionID: bot.ActionRunbookApprove})
	testbed.WaitFor(t, 30*time.Second, "the playbook's process", func() (struct{}, bool) { return struct{}{}, bed.leftover() })

	mustReadiness(t, addr, http.StatusOK, "socket: ok")

	stopped := make(chan time.Duration, 1)
	began := time.Now()
	go func() { nightowl.stop(); stopped <- time.Since(began) }() // what SIGTERM does
	time.Sleep(500 * time.Millisecond)
	if code, body := mustGetStatus(t, "http://"+addr+"/readyz"); code != http.StatusServiceUnavailable || body != "shutting down\n" {
		t.Errorf("/readyz during the drain = %d %q, want 503 \"shutting down\"", code, body)
	}
	if code, _ := mustGetStatus(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz during the drain = %d, want 200", code)
	}
	if _, err := emu.Click(t.Context(), slackemu.Click{User: uLead, Channel: chIncidents, MessageTS: later.TS, ActionID: bot.ActionRequestApprove}); err != nil && !errors.Is(err, slackemu.ErrNoAck) {
		t.Fatal(err)
	}
	mustEphemeral(t, emu, uLead, "shutting down")
	var took time.Duration
	select {
	case took = <-stopped:
	case <-time.After(90 * time.Second):
		t.Fatal("nightowl did not stop")
	}
	t.Logf("shutdown with a hanging run and a 3s grace took %s", took.Round(time.Millisecond))
	if took < 3*time.Second {
		t.Errorf("nightowl stopped after %s, before the grace was over", took)
	}
	if repliesWith(emu, chIncidents, card.TS, "RB-HOLD-001 ("+id+") interrupted by shutdown") != 1 {
		t.Errorf("the thread does not say the run was interrupted by shutdown:\n%s", emu.Transcript(chIncidents))
	}
	if m, _ := emu.Message(chIncidents, msg.TS); !strings.Contains(m.Text, "interrupted") || strings.Contains(string(m.Blocks), bot.ActionRunCancel) {
		t.Errorf("the request message still says %q", m.Text)
	}
	testbed.WaitFor(t, 10*time.Second, "no leftover process", func() (struct{}, bool) { return struct{}{}, !bed.leftover() })
	// Interrupted, the playbook still ran its always section: the scale-back
	// of a real runbook is not cut off by a redeploy.
	if _, err := os.Stat(filepath.Join(bed.demoDir, "cleaned-up")); err != nil {
		t.Errorf("the playbook's always section did not run on shutdown: %v", err)
	}
	if lines := bed.demoLines(); len(lines) != 0 {
		t.Errorf("an approval during the shutdown ran: %q", lines)
	}
	all := mustAudit(t, dbPath, incidentOf(card))
	if k := auditOf(all, id); !hasKind(k, runbooks.AuditFinished) {
		t.Errorf("the interrupted run is not on the record: %v", k)
	}
	if k := auditOf(all, laterID); hasKind(k, runbooks.AuditApproved) {
		t.Errorf("an approval was taken during the shutdown: %v", k)
	}
}
