package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/pagerduty/pdtest"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

const pdKey = "R0UTINGKEY0123456789abcdefABCDEF"

// mustPDActions waits until PagerDuty has accepted exactly want, in order.
func mustPDActions(t *testing.T, pd *pdtest.Server, want ...string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !slices.Equal(pd.Actions(), want) {
		select {
		case <-pd.Changed():
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("PagerDuty accepted %q (refused %q), want %q", pd.Actions(), pd.Refused(), want)
		}
	}
}

// TestPagerDutyHearsTriggerAcknowledgeResolveOnceEachAcrossRestarts: a card
// triggers one PagerDuty incident keyed by the incident ID, in the
// documented Events API v2 schema; pressing Acknowledge acknowledges it
// (an acknowledge PagerDuty failed while nightowl stopped is sent after
// the restart, once); the resolution resolves it; no restart sends
// anything twice.
func TestPagerDutyHearsTriggerAcknowledgeResolveOnceEachAcrossRestarts(t *testing.T) {
	pd := pdtest.MustStart(t)
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	env := map[string]string{"PAGERDUTY_ROUTING_KEY": pdKey, "PAGERDUTY_URL": pd.URL}
	run := MustRunNightowl(t, emu, dbPath, env)

	card, alerts := mustCascadeCard(t, emu, hook)
	id := incidentOf(card)
	mustPDActions(t, pd, "trigger "+id)
	tr := pd.Accepted()[0]
	if tr.Payload.Severity != "critical" || !strings.HasPrefix(tr.Payload.Summary, id+": ") || tr.Payload.Component == "" {
		t.Errorf("trigger payload %+v, want severity critical (the gravest alert), a summary naming %s and a component", *tr.Payload, id)
	}
	if len(tr.Links) == 0 || !strings.Contains(tr.Links[0].Href, strings.ReplaceAll(card.TS, ".", "")) {
		t.Errorf("trigger links %+v, want the card's permalink first", tr.Links)
	}
	if cands, _ := tr.Payload.CustomDetails["candidates"].([]any); len(cands) == 0 {
		t.Errorf("custom_details %v, want the top candidates", tr.Payload.CustomDetails)
	}

	// A restart after the trigger sends nothing.
	run.stop()
	run = MustRunNightowl(t, emu, dbPath, env)
	time.Sleep(2 * time.Second)
	mustPDActions(t, pd, "trigger "+id)

	// PagerDuty fails the acknowledge and nightowl stops meanwhile: the
	// acknowledge waits in the store and goes out after the restart.
	pd.FailNext(503, 503)
	before := pd.Requests()
	press(t, emu, slackemu.Click{User: uOnCall, MessageTS: card.TS, ActionID: bot.ActionAck})
	deadline := time.Now().Add(20 * time.Second)
	for pd.Requests() == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	run.stop()
	if got := pd.Actions(); len(got) != 1 {
		t.Fatalf("PagerDuty accepted %q before the restart, want only the trigger", got)
	}
	run = MustRunNightowl(t, emu, dbPath, env)
	mustPDActions(t, pd, "trigger "+id, "acknowledge "+id)

	mustResolveCard(t, emu, hook, alerts, card)
	mustPDActions(t, pd, "trigger "+id, "acknowledge "+id, "resolve "+id)
	run.stop()
	MustRunNightowl(t, emu, dbPath, env)
	time.Sleep(2 * time.Second)
	mustPDActions(t, pd, "trigger "+id, "acknowledge "+id, "resolve "+id)
	if r := pd.Refused(); len(r) > 0 {
		t.Errorf("PagerDuty refused %q", r)
	}
}

// TestResolvingByHandResolvesThePagerDutyIncidentAndANewAlertPagesAnew:
// through the emulator, pressing Resolve (its dialog confirmed) on a card
// whose alerts still fire resolves the PagerDuty incident, shows who
// resolved it and says what still fires; a new alert then opens a new
// card and a new PagerDuty incident rather than reopening the old one.
func TestResolvingByHandResolvesThePagerDutyIncidentAndANewAlertPagesAnew(t *testing.T) {
	pd := pdtest.MustStart(t)
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	env := map[string]string{"PAGERDUTY_ROUTING_KEY": pdKey, "PAGERDUTY_URL": pd.URL}
	MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), env)

	card, _ := mustCascadeCard(t, emu, hook)
	id := incidentOf(card)
	mustPDActions(t, pd, "trigger "+id)

	res := press(t, emu, slackemu.Click{User: uOnCall, MessageTS: card.TS, ActionID: bot.ActionResolve})
	if res.Confirm == nil || !strings.Contains(res.Confirm.Title, "Resolve "+id) {
		t.Errorf("Resolve showed the dialog %+v, want one asking to resolve %s", res.Confirm, id)
	}
	mustPDActions(t, pd, "trigger "+id, "resolve "+id)
	MustWait(t, emu, 30*time.Second, "the card resolved by hand", func() bool {
		ms := emu.Messages(chIncidents)
		return len(ms) == 1 && strings.Contains(string(ms[0].Blocks), "Resolved by \\u003c@"+uOnCall+"\\u003e") ||
			len(ms) == 1 && strings.Contains(string(ms[0].Blocks), "Resolved by <@"+uOnCall+">")
	})
	MustWait(t, emu, 30*time.Second, "the thread saying what still fires", func() bool {
		for _, m := range emu.Replies(chIncidents, card.TS) {
			if strings.Contains(m.Text, "2 alerts still fire; a new alert will open a new incident.") {
				return true
			}
		}
		return false
	})

	MustRelay(t, hook, []string{"namespace"}, []diagnosis.Alert{alertOn("PodCrashLooping", "checkout-service", "critical", time.Now())})
	var second slackemu.Message
	MustWait(t, emu, 30*time.Second, "a new card", func() bool {
		ms := emu.Messages(chIncidents)
		if len(ms) == 2 {
			second = ms[1]
		}
		return len(ms) == 2
	})
	next := incidentOf(second)
	if next == id {
		t.Fatalf("the new alert reopened %s", id)
	}
	mustPDActions(t, pd, "trigger "+id, "resolve "+id, "trigger "+next)
}

// mustCascadeCard relays a two-alert cascade (postgres-rds critical, then
// order-service) and returns the one card it makes, and the alerts.
func mustCascadeCard(t *testing.T, emu *slackemu.Server, hook string) (slackemu.Message, []diagnosis.Alert) {
	t.Helper()
	now := time.Now().Add(-time.Minute)
	alerts := []diagnosis.Alert{
		alertOn("DatabaseConnectionsHigh", "postgres-rds", "critical", now),
		alertOn("ServiceErrorRateHigh", "order-service", "warning", now.Add(10*time.Second)),
	}
	MustRelay(t, hook, []string{"namespace"}, alerts)
	var card slackemu.Message
	MustWait(t, emu, 30*time.Second, "the card", func() bool {
		ms := emu.Messages(chIncidents)
		if len(ms) == 1 {
			card = ms[0]
		}
		return len(ms) == 1
	})
	return card, alerts
}
