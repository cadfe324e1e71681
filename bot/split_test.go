package bot

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestSplittingAServiceOffPagesANewIncidentAndRedrawsTheOldCard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		bt.relay(alertOn("ServiceErrorRateHigh", "payment-service"), alertOn("HighLatency", "order-service"))
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		id := button(t, card, ActionResolve)
		if got := menuOptions(card, ActionSplit); len(got) != 2 {
			t.Fatalf("the Split… menu offers %v, want the incident's two services", got)
		}
		pages := bt.pages(tOnCall)

		bt.click(tPriya, card.ts, ActionSplit, menuOption(t, card, ActionSplit, "order-service"))
		wait(time.Second)
		posts := bt.slack.posts(tIncidents)
		if len(posts) != 2 {
			t.Fatalf("%d cards after the split, want the old one and a new one", len(posts))
		}
		old, split := posts[0], posts[1]
		newID := button(t, split, ActionResolve)
		if w := words(old.msg); strings.Contains(w, "HighLatency") || !strings.Contains(w, "ServiceErrorRateHigh") || hasButton(old, ActionSplit) {
			t.Errorf("the old card after the split:\n%s\nwant payment-service's alert only, and no Split… menu (one service left)", w)
		}
		if w := words(split.msg); !strings.Contains(w, "HighLatency") || strings.Contains(w, "ServiceErrorRateHigh") || !strings.Contains(w, "Split off "+id+" by priya") {
			t.Errorf("the new card:\n%s\nwant order-service's alert only, split off %s by priya", w, id)
		}
		if got := bt.pages(tOnCall); got != pages+1 {
			t.Errorf("the split paged %d times, want once: it is a separate problem", got-pages)
		}
		said := func(ts, text string) bool {
			return slices.ContainsFunc(bt.slack.thread(tIncidents, ts), func(m fakeMessage) bool { return strings.Contains(words(m.msg), text) })
		}
		if !said(old.ts, "priya split `order-service` off "+id+" into "+newID+": 1 alert moves there") ||
			!said(split.ts, "priya split `order-service` off "+id+" into "+newID+": a separate problem") {
			t.Error("both threads say who split what off where")
		}
		splits := 0
		bt.store.mu.Lock()
		for _, e := range bt.store.events {
			if e.Kind == diagnosis.EventSplit && e.Actor == tPriya && (e.Incident == id && e.Detail == "order-service into "+newID || e.Incident == newID && e.Detail == "order-service from "+id) {
				splits++
			}
		}
		bt.store.mu.Unlock()
		if splits != 2 {
			t.Errorf("%d split events on the record, want one on each incident", splits)
		}

		// Refusals, in one sentence each, and nothing moves.
		bt.click(tPriya, old.ts, ActionSplit, id+"|payment-service")
		bt.click(tPriya, old.ts, ActionSplit, id+"|search-service")
		wait(time.Second)
		got := bt.slack.ephemeralsTo(tPriya)
		if len(got) != 2 || !strings.Contains(words(got[0].msg), "the last service of "+id) || !strings.Contains(words(got[1].msg), "has no alerts of search-service") {
			t.Errorf("refusals: %d answers, want \"last service\" and \"no alerts of\"", len(got))
		}
		if n := len(bt.slack.posts(tIncidents)); n != 2 {
			t.Errorf("%d cards after the refusals, want 2", n)
		}
	})
}

func TestASplitOrMergeByCommandIsCarriedOutAsTheCardsMenusDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &commander{}
		bt := mustRunBot(t, botOptions{commands: c})
		bt.relay(alertOn("ServiceErrorRateHigh", "payment-service"), alertOn("HighLatency", "order-service"))
		wait(tGroupWait + time.Second)
		id := button(t, bt.card(t), ActionResolve)

		c.reply = commands.Reply{Summary: "splitting", Regroup: &commands.Regroup{Split: true, Incident: id, Service: "order-service", By: tPriya}}
		bt.slash(tPriya, "/diag", id+" split order-service")
		wait(time.Second)
		posts := bt.slack.posts(tIncidents)
		if len(posts) != 2 || count(bt.store.kinds(), diagnosis.EventSplit) != 2 {
			t.Fatalf("%d cards and %d split events after /diag split, want 2 and 2", len(posts), count(bt.store.kinds(), diagnosis.EventSplit))
		}
		newID := button(t, posts[1], ActionResolve)

		c.reply = commands.Reply{Summary: "merging", Regroup: &commands.Regroup{Incident: newID, Into: id, By: tPriya}}
		bt.slash(tPriya, "/diag", newID+" merge "+id)
		if in, _ := bt.live.Incident(id); len(in.Alerts) != 2 || count(bt.store.kinds(), diagnosis.EventMerged) != 2 {
			t.Errorf("%s holds %d alerts after /diag merge, want 2, and a merge event on each record", id, len(in.Alerts))
		}

		c.reply = commands.Reply{Summary: "splitting", Regroup: &commands.Regroup{Split: true, Incident: id, Service: "search-service", By: tPriya}}
		bt.slash(tPriya, "/diag", id+" split search-service")
		got := bt.slack.recorded("response_url")
		if len(got) != 3 || got[0].Msg.Text != "splitting" || got[1].Msg.Text != "merging" ||
			!strings.Contains(got[2].Msg.Text, "search-service was not split off "+id+": "+id+" has no alerts of search-service") {
			t.Errorf("answers %+v, want splitting, merging, then the refusal", got)
		}
	})
}
