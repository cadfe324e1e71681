package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// menuOptions reads the values of the options of a message's static_select menus.
func menuOptions(tb testing.TB, m slackemu.Message) []string {
	tb.Helper()
	var blocks []struct {
		Accessory struct {
			Type    string `json:"type"`
			Options []struct {
				Value string `json:"value"`
			} `json:"options"`
		} `json:"accessory"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, b := range blocks {
		if b.Accessory.Type == "static_select" {
			for _, o := range b.Accessory.Options {
				out = append(out, o.Value)
			}
		}
	}
	return out
}

// mustPoll waits until cond holds, checking every 20ms: for what the
// workspace does not see change, such as the store.
func mustPoll(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
	}
}

// TestACorrectedCauseIsWhatTheNextSimilarIncidentRemembers: a person says
// in the thread what the cause was (by the 👎's menu, then by a mention);
// the card shows it; once the incident is over, the next incident like it
// recalls the corrected cause, not the engine's pick, and says who
// confirmed it.
func TestACorrectedCauseIsWhatTheNextSimilarIncidentRemembers(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	nightowl := MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), nil)
	db := nightowl.App.DB

	// The first storm began two hours ago, so the second cannot join it.
	storm := stormNow(t)[:8]
	for i := range storm {
		storm[i].StartsAt = storm[i].StartsAt.Add(-2 * time.Hour)
	}
	MustRelay(t, hook, []string{"namespace"}, storm)
	MustWait(t, emu, 20*time.Second, "the card", func() bool { return len(emu.Messages(chIncidents)) == 1 })
	card := emu.Messages(chIncidents)[0]
	first := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(card.Text, "🔴 "))[0], ":")
	d, err := db.Diagnosis(t.Context(), first)
	if err != nil || len(d.Candidates) < 3 {
		t.Fatalf("diagnosis of %s: %+v, %v", first, d, err)
	}
	pick, target := d.Candidates[0].Service, d.Candidates[1].Service

	// 👎: an answer only the voter sees, in the thread, with a menu of the others.
	if err := click(t, emu, uLead, chIncidents, card.TS, bot.ActionVoteDown, ""); err != nil {
		t.Fatal(err)
	}
	var ask slackemu.Message
	MustWait(t, emu, 10*time.Second, "the question what the cause was", func() bool {
		for _, e := range emu.Ephemerals(uLead) {
			if strings.Contains(e.Text, "What was?") {
				ask = e
				return true
			}
		}
		return false
	})
	options := menuOptions(t, ask)
	if ask.ThreadTS != card.TS || len(options) < 2 || options[0] != first+"|"+target {
		t.Fatalf("the 👎's answer in thread %q offers %q, want it in the card's thread %q, %s first", ask.ThreadTS, options, card.TS, target)
	}
	decoy := strings.TrimPrefix(options[len(options)-1], first+"|")
	said := func(cause string) func() bool {
		return func() bool {
			return repliesWith(emu, chIncidents, card.TS, "says the root cause of "+first+" was") > 0 &&
				strings.Contains(contentOf(emu.Messages(chIncidents)[0]), "says the root cause was* `"+cause+"`")
		}
	}
	if _, err := emu.Click(t.Context(), slackemu.Click{User: uLead, Channel: chIncidents, MessageTS: ask.TS, ActionID: bot.ActionCausePick, Value: first + "|" + decoy}); err != nil {
		t.Fatal(err)
	}
	MustWait(t, emu, 10*time.Second, "the picked cause in the thread and on the card", said(decoy))

	// Then a mention says otherwise: the latest word counts.
	before := repliesWith(emu, chIncidents, card.TS, "✏️ Noted")
	if _, err := emu.PostAsUser(chIncidents, uLead, "<@U0NIGHTOWL> the cause was "+target, card.TS); err != nil {
		t.Fatal(err)
	}
	MustWait(t, emu, 10*time.Second, "the corrected cause in the thread and on the card", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "✏️ Noted") == before+1 && said(target)()
	})
	// A name that is no service gets one sentence that names the choices, to its author only.
	if _, err := emu.PostAsUser(chIncidents, uLead, "<@U0NIGHTOWL> cause the-moon", card.TS); err != nil {
		t.Fatal(err)
	}
	MustWait(t, emu, 10*time.Second, "the refusal", func() bool {
		e := emu.Ephemerals(uLead)
		return strings.Contains(e[len(e)-1].Text, "the-moon is not a service of the graph") && strings.Contains(e[len(e)-1].Text, target)
	})

	MustRelay(t, hook, []string{"namespace"}, resolveAll(storm))
	MustWait(t, emu, 20*time.Second, "the first incident resolved", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "resolved after") > 0
	})
	// The store is written after the thread reply: poll it.
	mustPoll(t, 10*time.Second, "the history to hold the corrected cause", func() bool {
		past, err := db.Past(t.Context(), 10)
		return err == nil && len(past) == 1 && past[0].RootCause == target && past[0].Confirmed == diagnosis.ConfirmedByCorrection
	})

	// The same failure again, now and in another namespace: another incident.
	again := stormNow(t)[:8]
	for i := range again {
		labels := map[string]string{}
		for k, v := range again[i].Labels {
			labels[k] = v
		}
		labels["namespace"] = "production-eu"
		again[i].Labels, again[i].Fingerprint = labels, diagnosis.Fingerprint(labels)
	}
	MustRelay(t, hook, []string{"namespace"}, again)
	MustWait(t, emu, 20*time.Second, "the second card", func() bool { return len(emu.Messages(chIncidents)) == 2 })
	second := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(emu.Messages(chIncidents)[1].Text, "🔴 "))[0], ":")

	if _, err := emu.SlashCommand(t.Context(), slackemu.SlashCommand{User: uHuman, Channel: chIncidents, Command: "/diag", Text: second}); err != nil {
		t.Fatal(err)
	}
	var reply slackemu.Message
	MustWait(t, emu, 15*time.Second, "/diag of the second incident", func() bool {
		for _, e := range emu.Ephemerals(uHuman) {
			if strings.Contains(e.Text, second) {
				reply = e
				return true
			}
		}
		return false
	})
	got := contentOf(reply)
	if want := "root cause " + target + " (confirmed by a person's correction)"; !strings.Contains(got, "Seen before") || !strings.Contains(got, first) || !strings.Contains(got, want) {
		t.Errorf("/diag %s lacks %s seen before with %q:\n%s", second, first, want, got)
	}
	if target != pick && strings.Contains(got, "root cause "+pick) {
		t.Errorf("/diag %s remembers the engine's pick %s as the cause:\n%s", second, pick, got)
	}
	d2, err := db.Diagnosis(t.Context(), second)
	if err != nil {
		t.Fatal(err)
	}
	if len(d2.History) == 0 || d2.History[0].Incident != first || d2.History[0].RootCause != target {
		t.Fatalf("history of %s: %+v, want %s with root cause %s", second, d2.History, first, target)
	}
	for _, c := range d2.Candidates {
		evidence := strings.Join(c.Evidence, "; ")
		switch c.Service {
		case target:
			if c.Signals["history"] <= 0 || !strings.Contains(evidence, "(confirmed by a person's correction)") {
				t.Errorf("%s: history signal %v, evidence %q; want the corrected cause supported, and said so", c.Service, c.Signals["history"], evidence)
			}
		default:
			if c.Signals["history"] > 0 || strings.Contains(evidence, "same pattern") {
				t.Errorf("%s: history signal %v, evidence %q; only the corrected cause has history", c.Service, c.Signals["history"], evidence)
			}
		}
	}
}
