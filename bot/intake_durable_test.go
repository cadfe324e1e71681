package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestAnAlertIsInItsIncidentOnRecordBeforeItsCardIsDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		a := alertOn("ServiceErrorRateHigh", "order-service")
		bt.relay(a)
		wait(time.Second)
		if len(bt.slack.posts(tIncidents)) != 0 {
			t.Fatal("a card before GROUP_WAIT")
		}
		in := bt.store.saved[bt.incidentID(t)]
		if len(in.Alerts) != 1 || in.Alerts[0].Fingerprint != a.Fingerprint || !in.Thread.IsZero() {
			t.Errorf("saved %d alerts, thread %v: want the alert in its incident, no card yet", len(in.Alerts), in.Thread)
		}
		if n := len(bt.store.alerts); n != 1 {
			t.Errorf("%d alerts on record, want 1", n)
		}
	})
}

func TestAlertsRecordedButNeverGroupedBeforeACrashGetTheirCardAfterTheRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The process died after recording (and acking) the message but
		// before any incident held its alerts.
		st := newMemStore()
		a := alertOn("ServiceErrorRateHigh", "order-service")
		b := alertOn("ServiceLatencyHigh", "order-service")
		if err := st.RecordAlerts(context.Background(), tAlerts, "1600000000.000001", tRelay, time.Now(), []diagnosis.Alert{a, b}); err != nil {
			t.Fatal(err)
		}
		bt := mustRunBot(t, botOptions{store: st})
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		if got := bt.pages(tOnCall); got != 1 {
			t.Errorf("on-call paged %d times, want once", got)
		}
		if !strings.Contains(words(card.msg), "ServiceErrorRateHigh") {
			t.Errorf("the card does not show the recorded alerts: %s", words(card.msg))
		}
		in := bt.store.saved[bt.incidentID(t)]
		if len(in.Alerts) != 2 || in.Thread.TS != card.ts {
			t.Errorf("saved %d alerts with thread %v, want both alerts and the card", len(in.Alerts), in.Thread)
		}
		if n := len(bt.store.alerts); n != 2 {
			t.Errorf("%d alerts on record, want each once (2)", n)
		}
	})
}

func TestAlertsRelayedWhileNightowlWasAwayAreReadBackFromTheChannelOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		// The last message nightowl took before it went away.
		seen := alertOn("DiskWillFillIn4Hours", "inventory-db")
		if err := st.RecordAlerts(context.Background(), tAlerts, "1600000000.000001", tRelay, time.Now(), []diagnosis.Alert{seen}); err != nil {
			t.Fatal(err)
		}
		missed := alertOn("ServiceErrorRateHigh", "order-service")
		var missedTS string
		bt := mustRunBot(t, botOptions{store: st, away: func(f *fakeSlack) {
			raw, _ := json.Marshal([]diagnosis.Alert{missed})
			missedTS = f.postAsBot(tAlerts, tRelay, string(raw))
			f.postAsBot(tAlerts, "B0STRANGER", `[{"labels":{"alertname":"Fake","service":"order-service"},"status":"firing"}]`)
		}})
		bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeConnected})
		synctest.Wait()
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		if !strings.Contains(words(card.msg), "order-service") {
			t.Errorf("the card is not about the missed alert: %s", words(card.msg))
		}
		// Slack delivers the same message late, and the socket reconnects:
		// nothing is taken twice.
		raw, _ := json.Marshal([]diagnosis.Alert{missed})
		me := &slackevents.MessageEvent{Type: "message", Channel: tAlerts, TimeStamp: missedTS, BotID: tRelay,
			Message: &slack.Msg{BotID: tRelay, Text: string(raw), Timestamp: missedTS}}
		bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: slackevents.EventsAPIEvent{
			Type: slackevents.CallbackEvent, InnerEvent: slackevents.EventsAPIInnerEvent{Type: string(slackevents.Message), Data: me}}})
		bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeConnected})
		synctest.Wait()
		wait(tGroupWait + time.Second)
		if n := len(bt.store.alerts); n != 2 {
			t.Errorf("%d alerts on record, want the one before and the one missed, each once", n)
		}
		if got := bt.pages(tOnCall); got != 1 {
			t.Errorf("on-call paged %d times, want once", got)
		}
		if got := len(bt.slack.posts(tIncidents)); got != 1 {
			t.Errorf("%d cards, want 1 (the untrusted bot's message is not an alert)", got)
		}
	})
}
