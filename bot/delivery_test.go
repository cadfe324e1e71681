package bot

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// slackDown is what slack-go returns when the Web API answers HTTP 500.
var slackDown = slack.StatusCodeError{Code: 500, Status: "500 Internal Server Error"}

// isCard matches the post of an incident's card (not a thread reply).
func isCard(c call) bool { return c.Channel == tIncidents && c.ThreadTS == "" }

func TestACardThatSlackRefusesIsPostedUntilItLandsAndPagesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		bt.slack.failNext(fault{method: "chat.postMessage", n: 3, err: slackDown, match: isCard})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		if got := len(bt.slack.posts(tIncidents)); got != 0 {
			t.Fatalf("%d cards while Slack answers 500, want none yet", got)
		}
		wait(10 * time.Minute) // three backoffs: at most 3s + 6s + 12s
		card := bt.card(t)
		if got := bt.pages(tOnCall); got != 1 {
			t.Errorf("on-call paged %d times, want once", got)
		}
		if got := len(bt.slack.thread(tIncidents, card.ts)); got != 1 {
			t.Errorf("%d replies under the card, want the first burst once", got)
		}
		failed := 0
		for _, c := range bt.slack.recorded("chat.postMessage") {
			if c.Failed {
				failed++
			}
		}
		if failed != 3 {
			t.Errorf("%d refused posts, want the 3 injected", failed)
		}
		saved := bt.store.saved[bt.incidentID(t)]
		if saved.Thread.TS != card.ts {
			t.Errorf("the record says the card is %q, want %q", saved.Thread.TS, card.ts)
		}
	})
}

func TestAnIncidentThatResolvedBeforeItsCardLandedIsPostedResolvedWithoutAPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		bt.slack.failNext(fault{method: "chat.postMessage", n: 2, err: slackDown, match: isCard})
		a := alertOn("ServiceErrorRateHigh", "order-service")
		bt.relay(a)
		wait(tGroupWait + time.Second) // first attempt refused
		bt.relay(resolvedAlert(a))
		wait(10 * time.Minute)
		card := bt.card(t)
		if got := bt.pages(tOnCall); got != 0 {
			t.Errorf("on-call paged %d times for an incident that was over, want none", got)
		}
		if !strings.Contains(strings.ToLower(words(card.msg)), "resolved") {
			t.Errorf("the card does not say it resolved: %s", words(card.msg))
		}
		if got := bt.store.kinds(); !containsKind(got, "resolved") {
			t.Errorf("events %v: want the resolution on the record", got)
		}
	})
}

func TestAThreadReplySlackRefusesIsPostedOnceLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		bt.slack.failNext(fault{method: "chat.postMessage", n: 2, err: slackDown, match: func(c call) bool { return c.ThreadTS == card.ts }})
		bt.relay(alertOn("ServiceLatencyHigh", "order-service"))
		wait(tGroupWait + time.Second)
		if got := len(bt.slack.thread(tIncidents, card.ts)); got != 1 {
			t.Fatalf("%d replies while Slack refuses the second, want the first only", got)
		}
		wait(10 * time.Minute)
		replies := bt.slack.thread(tIncidents, card.ts)
		if len(replies) != 2 {
			t.Fatalf("%d replies, want 2 (the refused one posted once, later)", len(replies))
		}
		if !strings.Contains(words(replies[1].msg), "ServiceLatencyHigh") {
			t.Errorf("the late reply is %q, want the second burst", words(replies[1].msg))
		}
		if got := bt.pages(tOnCall); got != 1 {
			t.Errorf("on-call paged %d times, want once", got)
		}
	})
}

func TestCardUpdatesSlackRefusesCoalesceIntoOneThatShowsTheLatestState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		bt.slack.failNext(fault{method: "chat.update", n: 1000, err: slackDown})
		bt.relay(alertOn("ServiceLatencyHigh", "order-service"))
		wait(tGroupWait + time.Second) // this update is refused, and its retries
		bt.relay(alertOn("PodRestarting", "order-service"))
		wait(tGroupWait + time.Second) // and this one
		wait(time.Minute)
		bt.slack.clearFaults() // Slack is back
		wait(10 * time.Minute)
		ok := 0
		for _, c := range bt.slack.recorded("chat.update") {
			if !c.Failed {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("%d card updates landed, want the two refused ones coalesced into 1", ok)
		}
		got := bt.card(t)
		if got.ts != card.ts || !strings.Contains(words(got.msg), "3 firing") {
			t.Errorf("the card is not in its latest state (3 alerts firing): %s", words(got.msg))
		}
	})
}

func TestAReplySlackRefusesForWhatItIsIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		bt.slack.failNext(fault{method: "chat.postMessage", n: 1, err: slackError("invalid_blocks"), match: func(c call) bool { return c.ThreadTS == card.ts }})
		bt.relay(alertOn("ServiceLatencyHigh", "order-service"))
		wait(tGroupWait + time.Second)
		wait(time.Hour)
		if got := len(bt.slack.recorded("chat.postMessage")); got != 3 {
			t.Errorf("%d posts, want card, first reply and the refused one, never retried", got)
		}
		if n := bt.bot.outbox.pending(); n != 0 {
			t.Errorf("%d retries waiting, want none", n)
		}
	})
}

// incidentID is the one incident the store has saved.
func (bt *botUnderTest) incidentID(t *testing.T) string {
	t.Helper()
	bt.store.mu.Lock()
	defer bt.store.mu.Unlock()
	if len(bt.store.saved) != 1 {
		t.Fatalf("%d incidents saved, want 1", len(bt.store.saved))
	}
	for id := range bt.store.saved {
		return id
	}
	return ""
}

func containsKind(kinds []diagnosis.EventKind, kind diagnosis.EventKind) bool {
	return slices.Contains(kinds, kind)
}

func TestACardPostThatTimedOutButLandedIsNotPostedTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		// Slack takes the card, but its answer never arrives.
		bt.slack.failNext(fault{method: "chat.postMessage", n: 1, err: context.DeadlineExceeded, match: isCard, landed: true})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		wait(10 * time.Minute)
		card := bt.card(t) // exactly one
		if got := bt.pages(tOnCall); got != 1 {
			t.Errorf("on-call paged %d times, want once", got)
		}
		if got := len(bt.slack.thread(tIncidents, card.ts)); got != 1 {
			t.Errorf("%d replies under the card, want its first burst once", got)
		}
		if saved := bt.store.saved[bt.incidentID(t)]; saved.Thread.TS != card.ts {
			t.Errorf("the record says the card is %q, want the one that landed, %q", saved.Thread.TS, card.ts)
		}
	})
}

func TestACardPostSlackRefusedIsNotLookedFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		bt.slack.failNext(fault{method: "chat.postMessage", n: 1, err: slackDown, match: isCard})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		wait(10 * time.Minute)
		bt.card(t)
		if got := len(bt.slack.recorded("conversations.history")); got != 0 {
			t.Errorf("%d history reads, want none: an HTTP 500 is a post Slack did not take", got)
		}
	})
}
