package bot

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

const tEscalateAfter = 10 * time.Minute

func TestAnUnacknowledgedCardPagesEscalationOnceAtEscalateAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{cfg: Config{Escalation: tLeads, EscalateAfter: tEscalateAfter}})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		wait(tEscalateAfter - 2*time.Second)
		if got := bt.pages(tLeads); got != 0 {
			t.Fatalf("escalation paged %d times before ESCALATE_AFTER, want 0", got)
		}
		wait(3 * time.Second)
		if got := bt.pages(tLeads); got != 1 {
			t.Fatalf("escalation paged %d times at ESCALATE_AFTER, want 1", got)
		}
		mustSay(t, bt.slack.thread(tIncidents, card.ts), "Nobody acknowledged")
		wait(5 * time.Hour)
		if got := bt.pages(tLeads); got != 1 {
			t.Errorf("escalation paged %d times after hours, want exactly 1", got)
		}
		if n := count(bt.store.kinds(), diagnosis.EventEscalated); n != 1 {
			t.Errorf("%d escalations on the record, want 1", n)
		}
		id := bt.live.Open()[0].ID
		bt.store.mu.Lock()
		saved := bt.store.saved[id]
		bt.store.mu.Unlock()
		if saved.Escalation.IsZero() {
			t.Error("the saved incident does not record its escalation")
		}
		card = bt.card(t)
		if hasButton(card, ActionEscalate) || !strings.Contains(words(card.msg), "Escalated by") {
			t.Errorf("card says %s\nwant it escalated, without the Escalate button", words(card.msg))
		}
	})
}

func TestAnAcknowledgedCardIsNotEscalated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{cfg: Config{Escalation: tLeads, EscalateAfter: tEscalateAfter}})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		wait(tEscalateAfter / 2)
		bt.click(tPriya, card.ts, ActionAck, button(t, card, ActionAck))
		wait(2 * tEscalateAfter)
		if got := bt.pages(tLeads); got != 0 {
			t.Errorf("escalation paged %d times for an acknowledged card, want 0", got)
		}
	})
}

func TestWithoutEscalateAfterNobodyIsEscalated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{cfg: Config{Escalation: tLeads}})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(24 * time.Hour)
		if got := bt.pages(tLeads); got != 0 {
			t.Errorf("escalation paged %d times without ESCALATE_AFTER, want 0", got)
		}
	})
}

func TestAfterARestartAnEscalationOnRecordIsNotPagedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Escalation: tLeads, EscalateAfter: tEscalateAfter}
		first := mustRunBot(t, botOptions{cfg: cfg})
		first.relay(alertOn("ServiceErrorRateHigh", "order-service"), alertOn("PodCrashLooping", "payment-service"))
		wait(tGroupWait + time.Second)
		wait(tEscalateAfter + time.Second)
		if got := first.pages(tLeads); got < 1 {
			t.Fatalf("the first run paged escalation %d times, want at least 1", got)
		}
		first.store.mu.Lock()
		var restored []diagnosis.Incident
		for _, in := range first.store.saved {
			restored = append(restored, in)
		}
		first.store.mu.Unlock()
		if len(restored) == 0 {
			t.Fatal("nothing saved")
		}
		// The second run takes back the incidents as the store has them:
		// escalated. A further incident, restored unescalated and overdue,
		// is escalated once.
		overdue := restored[0]
		overdue.ID, overdue.Escalation = "INC-OVERDUE", diagnosis.Mark{}
		overdue.Thread.TS = "1600000099.000001"
		restored = append(restored, overdue)
		cards := func(f *fakeSlack) { // the cards Slack kept across the restart
			for _, in := range restored {
				f.messages = append(f.messages, &fakeMessage{channel: in.Thread.Channel, ts: in.Thread.TS, msg: Message{Text: in.ID}})
			}
		}
		second := mustRunBot(t, botOptions{cfg: cfg, restore: restored, away: cards})
		wait(3 * tEscalateAfter)
		if got := second.pages(tLeads); got != 1 {
			t.Errorf("after the restart escalation paged %d times, want 1 (the overdue incident only)", got)
		}
		for _, m := range second.slack.recorded("chat.postMessage") {
			if mentions(m.Msg, tLeads) > 0 && m.Msg.ThreadTS != overdue.Thread.TS {
				t.Errorf("paged in thread %s, want only the overdue incident's %s", m.Msg.ThreadTS, overdue.Thread.TS)
			}
		}
	})
}
