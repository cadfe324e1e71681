package bot

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// confirmOf is the confirm dialog of a card's button, or nil.
func confirmOf(m fakeMessage, actionID string) *slack.ConfirmationBlockObject {
	for _, b := range m.msg.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.ActionID == actionID {
					return btn.Confirm
				}
			}
		}
	}
	return nil
}

func TestResolvingByHandClosesTheIncidentAndANewAlertOpensANewOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		a, b := alertOn("ServiceErrorRateHigh", "payment-service"), alertOn("HighLatency", "order-service")
		bt.relay(a, b)
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		id := button(t, card, ActionResolve)
		if c := confirmOf(card, ActionResolve); c == nil || !strings.Contains(c.Title.Text, "Resolve "+id) {
			t.Fatalf("the Resolve button asks no confirmation: %+v", c)
		}

		bt.click(tPriya, card.ts, ActionResolve, id)
		wait(time.Second)
		card = bt.card(t)
		if w := words(card.msg); !strings.Contains(w, "resolved") || !strings.Contains(w, "Resolved by <@"+tPriya+">") || hasButton(card, ActionResolve) {
			t.Errorf("the card after Resolve:\n%s\nwant it resolved by <@%s>, without a Resolve button", w, tPriya)
		}
		var closing, question bool
		for _, m := range bt.slack.thread(tIncidents, card.ts) {
			w := words(m.msg)
			if strings.Contains(w, id+" resolved by priya") && strings.Contains(w, "2 alerts still fire; a new alert will open a new incident.") {
				closing = true
			}
			question = question || hasButton(m, ActionPageActionable)
		}
		if !closing || !question {
			t.Errorf("thread says who resolved it and what still fires: %v; asks whether the page was actionable: %v", closing, question)
		}
		var audited bool
		bt.store.mu.Lock()
		for _, e := range bt.store.events {
			audited = audited || e.Incident == id && e.Kind == diagnosis.EventResolved && e.Actor == tPriya && !e.At.IsZero()
		}
		bt.store.mu.Unlock()
		if !audited {
			t.Errorf("no resolution by %s on the record: %v", tPriya, bt.store.kinds())
		}

		bt.click(tMarcus, card.ts, ActionResolve, id)
		if got := bt.slack.ephemeralsTo(tMarcus); len(got) != 1 || !strings.Contains(words(got[0].msg), "already resolved by priya") {
			t.Errorf("a second Resolve answered %d times, want one \"already resolved by priya\"", len(got))
		}

		// Alertmanager repeats the alerts that still fire: nothing new.
		bt.relay(a, b)
		wait(tGroupWait + time.Second)
		if n := len(bt.slack.posts(tIncidents)); n != 1 || bt.pages(tOnCall) != 1 {
			t.Fatalf("%d cards and %d pages after repeats of the alerts still firing, want 1 and 1", n, bt.pages(tOnCall))
		}
		// A new alert is a new incident: a new card, a new page.
		bt.relay(alertOn("PodCrashLooping", "checkout-service"))
		wait(tGroupWait + time.Second)
		if n := len(bt.slack.posts(tIncidents)); n != 2 || bt.pages(tOnCall) != 2 {
			t.Errorf("%d cards and %d pages after a new alert, want a new card that pages", n, bt.pages(tOnCall))
		}
	})
}

func TestMergingAnIncidentMovesItsAlertsAndPagesNobody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		bt.relay(alertOn("ServiceErrorRateHigh", "payment-service"))
		wait(tGroupWait + time.Second)
		bt.relay(alertOn("SearchSlow", "search-service", "namespace", "search"))
		wait(tGroupWait + time.Second)
		posts := bt.slack.posts(tIncidents)
		if len(posts) != 2 {
			t.Fatalf("%d cards, want two incidents", len(posts))
		}
		older, newer := posts[0], posts[1]
		into, from := button(t, older, ActionResolve), button(t, newer, ActionResolve)
		value := mergeOption(t, newer, into)
		pages := bt.pages(tOnCall)

		bt.click(tPriya, newer.ts, ActionMerge, value)
		wait(time.Second)
		posts = bt.slack.posts(tIncidents)
		if w := words(posts[1].msg); !strings.Contains(w, "merged") || !strings.Contains(w, "Merged into "+into) || hasButton(posts[1], ActionResolve) {
			t.Errorf("the merged card:\n%s\nwant merged into %s, without buttons", w, into)
		}
		in, ok := bt.live.Incident(into)
		if !ok || len(in.Alerts) != 2 {
			t.Errorf("%s holds %d alerts after the merge, want 2", into, len(in.Alerts))
		}
		if _, live := bt.live.Incident(from); live {
			t.Errorf("%s is still live after it was merged", from)
		}
		saidThere, saidHere := false, false
		for _, m := range bt.slack.thread(tIncidents, older.ts) {
			saidHere = saidHere || strings.Contains(words(m.msg), "priya merged "+from+" into "+into+": 1 alert moves here")
		}
		for _, m := range bt.slack.thread(tIncidents, newer.ts) {
			saidThere = saidThere || strings.Contains(words(m.msg), "priya merged "+from+" into "+into)
		}
		if !saidHere || !saidThere {
			t.Errorf("the merge is said in the thread merged into: %v, in the merged one: %v", saidHere, saidThere)
		}
		merged := 0
		bt.store.mu.Lock()
		for _, e := range bt.store.events {
			if e.Kind == diagnosis.EventMerged && e.Actor == tPriya && (e.Incident == from && e.Detail == "into "+into || e.Incident == into && e.Detail == from+" merged in") {
				merged++
			}
		}
		saved := bt.store.saved[from].Status
		bt.store.mu.Unlock()
		if merged != 2 || saved != diagnosis.Resolved {
			t.Errorf("%d merge events on the record, want one on each; %s saved %s, want resolved", merged, from, saved)
		}
		if bt.pages(tOnCall) != pages || len(posts) != 2 {
			t.Errorf("the merge paged %d times and posted %d cards, want no page, no card", bt.pages(tOnCall)-pages, len(posts)-2)
		}
		bt.click(tPriya, newer.ts, ActionMerge, value)
		if got := bt.slack.ephemeralsTo(tPriya); len(got) != 1 || !strings.Contains(words(got[0].msg), "closed") {
			t.Errorf("merging a merged incident again answered %d times, want one \"closed\"", len(got))
		}
	})
}

// mergeOption is the value of the "Merge into…" option naming into.
func mergeOption(t *testing.T, m fakeMessage, into string) string {
	t.Helper()
	return menuOption(t, m, ActionMerge, into)
}

// menuOption is the value of the option of a card's menu whose value ends
// in "|"+what; "" when the card has no such menu or option.
func menuOption(t *testing.T, m fakeMessage, actionID, what string) string {
	t.Helper()
	for _, o := range menuOptions(m, actionID) {
		if strings.HasSuffix(o, "|"+what) {
			return o
		}
	}
	t.Fatalf("no %s option %s on %q", actionID, what, m.msg.Text)
	return ""
}

// menuOptions are the values of a card's menu.
func menuOptions(m fakeMessage, actionID string) []string {
	var out []string
	for _, b := range m.msg.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if sel, ok := el.(*slack.SelectBlockElement); ok && sel.ActionID == actionID {
					for _, o := range sel.Options {
						out = append(out, o.Value)
					}
				}
			}
		}
	}
	return out
}
