package bot

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Slow work never starves quick work: clicks, commands, questions, model
// triage and notes each have their own bounded lane; the socket loop
// never waits for one; nothing the bot does at once waits for Slack.

// stuck answers nothing until its context ends: a model or a Prometheus
// that hangs. It counts the calls under way and the most at once.
type stuck struct {
	now, most atomic.Int32
	calls     atomic.Int32
}

func (s *stuck) wait(ctx context.Context) error {
	s.calls.Add(1)
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *stuck) Answer(ctx context.Context, _ commands.Ask) (commands.Reply, diagnosis.Usage, error) {
	return commands.Reply{}, diagnosis.Usage{}, s.wait(ctx)
}

func (s *stuck) Handle(ctx context.Context, _ commands.Request) (commands.Reply, error) {
	return commands.Reply{}, s.wait(ctx)
}

func (s *stuck) Model() string { return "slow-model" }

func (s *stuck) RulesTriage(diagnosis.Incident, diagnosis.Diagnosis) diagnosis.Triage {
	return diagnosis.Triage{OneLineSummary: "look at the database", ImmediateAction: "check it", Source: "rules"}
}

func (s *stuck) ModelTriage(ctx context.Context, _ diagnosis.Incident, _ diagnosis.Diagnosis) (diagnosis.Triage, diagnosis.Usage, error) {
	return diagnosis.Triage{}, diagnosis.Usage{}, s.wait(ctx)
}

// mention has user mention nightowl in a thread of the incidents channel.
func (bt *botUnderTest) mention(user, threadTS, text string) {
	bt.msgs++
	ev := &slackevents.AppMentionEvent{Type: "app_mention", User: user, Text: "<@U0NIGHTOWL> " + text, Channel: tIncidents,
		TimeStamp: fmt.Sprintf("1700000100.%06d", bt.msgs), ThreadTimeStamp: threadTS}
	bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: slackevents.EventsAPIEvent{
		Type: slackevents.CallbackEvent, InnerEvent: slackevents.EventsAPIInnerEvent{Type: string(slackevents.AppMention), Data: ev}}})
}

func TestAClickIsAnsweredWhileTheModelIsSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		model := &stuck{}
		bt := mustRunBot(t, botOptions{answerer: model, commands: &commander{}})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		card := bt.card(t)

		for i := range 12 { // more questions than there are workers of any kind
			bt.mention(tMarcus, card.ts, fmt.Sprintf("why is it slow? (%d)", i))
		}
		synctest.Wait()
		if model.now.Load() == 0 {
			t.Fatal("no question reached the model")
		}

		start := time.Now()
		bt.click(tPriya, card.ts, ActionAck, button(t, card, ActionAck))
		card = bt.card(t)
		if !strings.Contains(words(card.msg), "Acknowledged by priya") {
			t.Fatalf("after the click the card says %q, want it acknowledged while the model still thinks", card.msg.Text)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("the click was answered after %v, want within its 30 s deadline", took)
		}
		if n := model.now.Load(); n != 4 {
			t.Errorf("%d questions are with the model at once, want the answers lane's 4", n)
		}
	})
}

func TestAFullLaneDropsWorkAndNeverHoldsUpAlerts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := &stuck{} // a /graph query whose Prometheus never answers
		bt := mustRunBot(t, botOptions{commands: hung})
		start := time.Now()
		const n = 1100 // more than the commands lane holds
		urls := make([]string, n)
		for i := range n {
			urls[i] = bt.slack.responseURL(tIncidents, tPriya, "")
			bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeSlashCommand,
				Data: slack.SlashCommand{Command: "/graph", Text: "query up", UserID: tPriya, ChannelID: tIncidents, ResponseURL: urls[i]}})
		}
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)

		if posts := bt.slack.posts(tIncidents); len(posts) != 1 {
			t.Fatalf("%d cards after the alert, want its card while every command worker hangs", len(posts))
		}
		if took := time.Since(start); took > tGroupWait+2*time.Second {
			t.Errorf("the card came %v after the commands, want no later than GROUP_WAIT", took)
		}
		dropped := bt.bot.Dropped()[laneCommands]
		if dropped == 0 || dropped > n {
			t.Fatalf("the commands lane dropped %d of %d commands, want some", dropped, n)
		}
		busy := 0
		for _, c := range bt.slack.recorded("response_url") {
			if strings.Contains(c.Msg.Text, "nightowl is busy") {
				busy++
			}
		}
		if int64(busy) != dropped {
			t.Errorf("%d people were told nightowl is busy, want the %d whose command was dropped", busy, dropped)
		}
	})
}

func TestModelTriagesWaitForTheirTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		model := &stuck{}
		bt := mustRunBot(t, botOptions{triager: model})
		for i := range 6 { // six unrelated incidents at once: one deployment each
			bt.relay(alertOn("ServiceErrorRateHigh", "order-service", "namespace", fmt.Sprint("shop-", i)))
		}
		wait(tGroupWait + time.Second)
		if cards := len(bt.slack.posts(tIncidents)); cards != 6 {
			t.Fatalf("%d cards, want 6", cards)
		}
		if got := model.most.Load(); got != 2 {
			t.Errorf("%d triages were with the model at once, want the 2 triage workers", got)
		}
		if got := bt.bot.triages.len(); got != 4 {
			t.Errorf("%d triages wait, want the other 4", got)
		}
		wait(triageTimeout) // the first two give up; the next two go
		if got := model.calls.Load(); got != 4 {
			t.Errorf("the model was asked %d times after one triage timeout, want 4", got)
		}
	})
}

func TestAnIncidentNobodyHearsFromLeavesMemoryAndSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{grouper: func(c *diagnosis.GrouperConfig) { c.StaleAfter = time.Hour }})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		id := bt.live.Open()[0].ID

		wait(time.Hour)
		if _, ok := bt.live.Incident(id); ok {
			t.Fatalf("%s is still in memory after an hour without news", id)
		}
		mustSay(t, bt.slack.thread(tIncidents, card.ts), "nightowl stopped following "+id+": no alert notification for 1h")
		bt.store.mu.Lock()
		why, saved := bt.store.retired[id], bt.store.saved[id]
		bt.store.mu.Unlock()
		if !strings.Contains(why, "no alert notification") || saved.ID != id {
			t.Errorf("the store has %s retired for %q and saved %+v, want it kept and marked retired", id, why, saved.ID)
		}
		if count(bt.store.kinds(), diagnosis.EventRetired) != 1 {
			t.Errorf("events %v, want one retirement on the record", bt.store.kinds())
		}
	})
}

// slowThreads is Slack that hangs on replies in the alerts channel.
type slowThreads struct{ *fakeSlack }

func (s slowThreads) Post(ctx context.Context, m Message) (string, error) {
	if m.Channel == tAlerts && m.ThreadTS != "" {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return s.fakeSlack.Post(ctx, m)
}

func TestAnUnreadableAlertMessageIsExplainedWithoutHoldingUpIntake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{
			slack: func(f *fakeSlack) Slack { return slowThreads{f} },
			decode: func(Relayed, time.Time) ([]diagnosis.Alert, []string, error) {
				return []diagnosis.Alert{alertOn("ServiceErrorRateHigh", "order-service")}, []string{"attachment 2 has no labels"}, nil
			},
		})
		start := time.Now()
		bt.relay()
		wait(tGroupWait + time.Second)
		if posts := bt.slack.posts(tIncidents); len(posts) != 1 {
			t.Fatalf("%d cards, want the card of the alerts that could be read while Slack hangs on the explanation", len(posts))
		}
		if took := time.Since(start); took > tGroupWait+2*time.Second {
			t.Errorf("the card came after %v, want GROUP_WAIT", took)
		}
	})
}
