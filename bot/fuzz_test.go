package bot

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// latecomer answers commands with a Handler made once the bot's
// incidents exist.
type latecomer struct{ h *commands.Handler }

func (l *latecomer) Handle(ctx context.Context, r commands.Request) (commands.Reply, error) {
	return l.h.Handle(ctx, r)
}

var (
	fuzzCatalogOnce sync.Once
	fuzzCatalog     *runbooks.Catalog
)

// mentionToken is how Slack text mentions: <@U…>, <!here>, <!channel>,
// <!subteam^S…>, <#C…> (links, <https://…|…>, are not mentions).
var mentionToken = regexp.MustCompile(`<[@!#][^>]*>?`)

// mustMentionOnly fails if any message sent to Slack mentions anyone
// (or @channel, @here, @everyone) other than allowed.
func mustMentionOnly(t *testing.T, calls []call, allowed ...string) {
	t.Helper()
	for _, c := range calls {
		raw, _ := json.Marshal(c.Msg.Blocks)
		for _, s := range []string{c.Msg.Text, htmlUnescaper.Replace(string(raw))} {
			for _, m := range mentionToken.FindAllString(s, -1) {
				ok := strings.HasPrefix(m, "<!date^") // a time in the reader's zone mentions nobody
				for _, a := range allowed {
					ok = ok || m == a
				}
				if !ok {
					t.Errorf("%s to %s says %s:\n%s", c.Method, c.Channel, m, s)
				}
			}
		}
	}
}

// mustParseValuesBack checks the action value parsers on every value of a
// payload (they split, and join back to the value), and that action_ts
// reads as its own second or as now.
func mustParseValuesBack(t *testing.T, b *Bot, cb slack.InteractionCallback) {
	t.Helper()
	for _, act := range cb.ActionCallback.BlockActions {
		for _, v := range []string{act.Value, act.SelectedOption.Value} {
			id, rest := ParseActionValue(v)
			if joined := id + "|" + rest; joined != v && !(id == v && rest == "") {
				t.Errorf("ParseActionValue(%q) = %q, %q", v, id, rest)
			}
			if id, digest, ok := ParseRequestValue(v); ok && (requestValue(runbooks.Request{ID: id, Digest: digest}) != v || !strings.HasPrefix(id, "RUN-")) {
				t.Errorf("ParseRequestValue(%q) = %q, %q", v, id, digest)
			}
		}
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		b.deps.Now = func() time.Time { return now }
		sec, _, _ := strings.Cut(act.ActionTs, ".")
		if at, s := b.clickedAt(act), sec; !at.Equal(now) && strconv.FormatInt(at.Unix(), 10) != strings.TrimLeft(s, "+0") {
			t.Errorf("action_ts %q reads as %v", act.ActionTs, at)
		}
	}
}

// FuzzInteraction feeds arbitrary block_actions payloads, as Socket Mode
// hands them over, to a running bot that has just posted a card with a
// runbook to approve: slack-go's decoding, the action values' parsers,
// and every button's handler. In a payload, $INC, $CARD, $REQ and $VOTE
// stand for the incident's ID, the card's ts, and the values of its
// Approve and 👍 buttons, so that mutations reach past "no such incident".
// Nothing may panic, and nothing the bot sends may mention anyone but the
// on-call and the escalation group it was configured with.
func FuzzInteraction(f *testing.F) {
	press := func(actionID, value string) string {
		return `{"type":"block_actions","user":{"id":"U0MARCUS","name":"marcus"},"channel":{"id":"C0INCIDENTS"},` +
			`"container":{"type":"message","channel_id":"C0INCIDENTS","message_ts":"$CARD"},"trigger_id":"1.2.3",` +
			`"actions":[{"action_id":"` + actionID + `","block_id":"b1","type":"button","value":` + jsonQuote(value) + `,"action_ts":"1600000000.000001"}]}`
	}
	for _, s := range []string{
		press(ActionAck, "$INC"), press(ActionEscalate, "$INC"), press(ActionRunbookApprove, "$REQ"),
		press(ActionRunbookManual, "$REQ"), press(ActionRequestApprove, "$REQ"), press(ActionRequestReject, "$REQ"),
		press(ActionRunCancel, "$REQ"), press(ActionVoteUp, "$VOTE"), press(ActionVoteDown, "$VOTE"),
		press(ActionAck, "<!channel>"), press(ActionVoteUp, "$INC|<!here>"), press(ActionRequestApprove, "RUN-<@U0PRIYA>|x"),
		press(ActionRunbookApprove, "$INC|RB-DB-001"), press("somebody_elses_button", "x"),
		`{"type":"block_actions","user":{"id":"U0PRIYA"},"channel":{"id":"C0INCIDENTS"},"container":{"channel_id":"C0INCIDENTS","message_ts":"$CARD","thread_ts":"$CARD"},` +
			`"actions":[{"action_id":"diagnosis_cause_pick","block_id":"b","type":"static_select","selected_option":{"value":"$INC|postgres-rds"},"action_ts":"1600000000.5"}]}`,
		`{"type":"block_actions","user":{"id":"<!everyone>"},"channel":{"id":"C0INCIDENTS"},` +
			`"actions":[{"action_id":"diagnosis_cause_pick","block_id":"","selected_option":{"value":"$INC|<!channel>"},"action_ts":"-1.x"}]}`,
		`{"type":"block_actions","actions":[{"action_id":"incident_ack","block_id":"b","value":"$INC"},{"action_id":"incident_ack","block_id":"b","value":"$INC"}]}`,
		`{"type":"block_actions","user":{"id":"U0PRIYA"},"channel":{"id":"C0INCIDENTS"},"actions":[{"action_id":"diagnosis_vote_up","block_id":"b","value":"$VOTE","action_ts":"1600000000.-5"}]}`,
		`{"type":"interactive_message","actions":[{"name":"x","value":"$INC"}]}`, `{"type":"block_actions","actions":{}}`,
		`{}`, `null`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var probe slack.InteractionCallback
		if err := json.Unmarshal(data, &probe); err != nil {
			return
		}
		mustParseValuesBack(t, &Bot{}, probe)
		if probe.Type != slack.InteractionTypeBlockActions || len(probe.ActionCallback.BlockActions) == 0 {
			return // the bot ignores it (dispatch)
		}
		fuzzCatalogOnce.Do(func() { fuzzCatalog = demoCatalog(t) })
		synctest.Test(t, func(t *testing.T) {
			words := &latecomer{}
			runner := runbooks.RunnerFunc(func(_ context.Context, _ runbooks.Job, progress func(runbooks.TaskResult)) (runbooks.Result, error) {
				progress(runbooks.TaskResult{Task: "write the line", Host: "localhost", Status: runbooks.TaskChanged})
				return runbooks.Result{Outcome: runbooks.OutcomeSucceeded, Changed: 1}, nil
			})
			bt := mustRunBot(t, botOptions{cfg: Config{Escalation: tLeads}, commands: words,
				runbooks: func(live *diagnosis.Live, updates *RunbookUpdates) *runbooks.Service {
					return runbooks.NewService(runbooks.Config{IncidentOpen: live.IsOpen}, fuzzCatalog,
						runbooks.NewPolicy([]string{tMarcus}, nil, nil), runner, newMemStore(), updates)
				}})
			words.h = commands.New(commands.Deps{Incidents: bt.live, Graph: graph.Example(), Causes: causeKeeper{}})
			bt.relay(alertOn("DatabaseConnectionPoolExhausted", "order-service", "severity", "critical",
				"root_cause_candidate", "true", "runbook", "RB-DEMO-001"))
			card := bt.card(t)
			in := bt.live.Open()[0]
			payload := strings.NewReplacer("$INC", in.ID, "$CARD", card.ts,
				"$REQ", button(t, card, ActionRunbookApprove), "$VOTE", button(t, card, ActionVoteUp)).Replace(string(data))
			var cb slack.InteractionCallback
			if err := json.Unmarshal([]byte(payload), &cb); err != nil {
				return // the stand-ins made it invalid JSON
			}
			mustParseValuesBack(t, &Bot{}, cb)
			before := len(bt.slack.recorded())
			bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb})
			synctest.Wait()
			wait(time.Second) // a run it approved ends
			mustMentionOnly(t, bt.slack.recorded()[before:], mention(tOnCall), mention(tLeads))
		})
	})
}

// causeKeeper keeps corrections nowhere.
type causeKeeper struct{}

func (causeKeeper) CorrectCause(context.Context, string, string, string) error { return nil }

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Found by FuzzInteraction: a sign in action_ts's fraction moved the click
// back in time; what is not a time Slack writes is read as now.
func TestClickedAtReadsOnlySlacksTimestamps(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &Bot{deps: Deps{Now: func() time.Time { return now }}}
	for _, tc := range []struct {
		ts   string
		want time.Time
	}{
		{"1600000000.000001", time.Unix(1600000000, 1000).UTC()},
		{"1600000000.5", time.Unix(1600000000, 5e8).UTC()},
		{"1600000000", time.Unix(1600000000, 0).UTC()},
		{"1600000000.-5", now},
		{"1600000000.+5", now},
		{"-1.000001", now},
		{"", now},
	} {
		if got := b.clickedAt(&slack.BlockAction{ActionTs: tc.ts}); !got.Equal(tc.want) {
			t.Errorf("action_ts %q reads as %v, want %v", tc.ts, got, tc.want)
		}
	}
}
