package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Answerer answers follow-up questions in incident threads; commands.Handler is one.
type Answerer interface {
	Answer(ctx context.Context, q commands.Ask) (commands.Reply, diagnosis.Usage, error)
}

// Conversations keeps what was said in incident threads; the store implements it.
type Conversations interface {
	AppendTurn(ctx context.Context, t diagnosis.Turn, u diagnosis.Usage) error
	Turns(ctx context.Context, incident string, limit int) ([]diagnosis.Turn, error)
	SetConversation(ctx context.Context, incident string, on bool, by string, at time.Time) error
	Conversation(ctx context.Context, incident string) (bool, error)
}

// turnsRemembered is how much of a thread's conversation a model sees.
const turnsRemembered = 12

// question is a message in an incident's thread addressed to nightowl.
type question struct {
	channel, thread, user, text string
	incident                    string
}

var (
	anyMention = regexp.MustCompile(`<@[A-Z0-9]+(\|[^>]*)?>`)
	modeSwitch = regexp.MustCompile(`(?i)^\s*(conversation|conversation mode|chat|talk)\s+(on|off)\s*[.!]?\s*$`)
)

// onQuestion answers a mention that is not a command, in the answers lane.
func (b *Bot) onQuestion(_ context.Context, me *slackevents.AppMentionEvent, incident, thread, text string) {
	b.spawnQuestion(question{channel: me.Channel, thread: thread, user: me.User, text: text, incident: incident})
}

// spawnQuestion queues a question in the answers lane, where a model may
// take minutes without holding up clicks or commands.
func (b *Bot) spawnQuestion(q question) {
	b.submit(laneAnswers, "question", func(ctx context.Context) { b.ask(ctx, q) },
		func(ctx context.Context) { b.replyIn(ctx, q, busyText) })
}

// onThreadReply answers any human reply in an incident thread that is in
// conversation mode; replies that mention nightowl come as app_mention.
func (b *Bot) onThreadReply(ctx context.Context, me *slackevents.MessageEvent) {
	msg := me.Message
	switch {
	case b.answerer == nil || b.deps.Conversations == nil:
		return
	case me.SubType != "" && me.SubType != "thread_broadcast":
		return
	case msg.BotID != "" || me.BotID != "" || msg.User == "" || msg.User == b.self.UserID:
		return
	case b.self.UserID != "" && strings.Contains(msg.Text, "<@"+b.self.UserID):
		return
	}
	id := b.incidentOfThread(ctx, diagnosis.Thread{Channel: me.Channel, TS: me.ThreadTimeStamp})
	if id == "" {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, lookupBudget)
	on, err := b.deps.Conversations.Conversation(cctx, id)
	cancel()
	if err != nil {
		b.log.Warn("conversation mode", keyIncident, id, "err", err)
		return
	}
	if !on {
		return
	}
	b.spawnQuestion(question{channel: me.Channel, thread: me.ThreadTimeStamp, user: msg.User, text: msg.Text, incident: id})
}

// lookupBudget bounds a look-up the socket loop makes (which incident a
// thread is, whether it is in conversation mode): the store may be slow.
const lookupBudget = 300 * time.Millisecond

// incidentOfThread finds the incident whose card starts a thread, "" when
// none; live incidents are found by map, others in the store within
// lookupBudget.
func (b *Bot) incidentOfThread(ctx context.Context, t diagnosis.Thread) string {
	ctx, cancel := context.WithTimeout(ctx, lookupBudget)
	defer cancel()
	id, _ := b.index.ByThread(ctx, t)
	return id
}

// ask answers one question in its thread and keeps both on the record.
func (b *Bot) ask(ctx context.Context, q question) {
	q.text = strings.TrimSpace(anyMention.ReplaceAllString(q.text, ""))
	log := b.log.With(keyUser, q.user, keyChannel, q.channel, keyTS, q.thread)
	if q.incident == "" {
		b.replyIn(ctx, q, "I answer questions in an incident's thread: ask me there, or use /diag to see the open incidents.")
		log.Info("question outside an incident thread")
		return
	}
	log = log.With(keyIncident, q.incident)
	if m := modeSwitch.FindStringSubmatch(q.text); m != nil {
		b.switchConversation(ctx, q, strings.EqualFold(m[2], "on"))
		return
	}
	if b.answerer == nil {
		b.replyIn(ctx, q, "Questions are not wired up here; try /diag "+q.incident+".")
		return
	}
	if q.text == "" {
		q.text = "help"
	}
	var history []diagnosis.Turn
	if c := b.deps.Conversations; c != nil {
		sctx, cancel := diagnosis.Detached(ctx)
		h, err := c.Turns(sctx, q.incident, turnsRemembered)
		cancel()
		if err != nil {
			log.Warn("conversation history", "err", err)
		}
		history = h
		b.keepTurn(ctx, diagnosis.Turn{Role: "user", Author: q.user, Text: q.text, At: b.deps.Now(), Incident: q.incident}, diagnosis.Usage{})
	}
	reply, usage, err := b.answerer.Answer(ctx, commands.Ask{Incident: q.incident, User: q.user, Text: q.text, History: history})
	if err == nil {
		b.corrected(ctx, reply)
	}
	b.recordCost(ctx, q.incident, "answer", usage, err)
	var ue commands.UsageError
	switch {
	case errors.As(err, &ue):
		b.replyIn(ctx, q, escape(ue.Error()))
		log.Info("question refused", "why", ue.Msg)
		return
	case err != nil:
		log.Error("answer question", "err", err)
		b.postIn(ctx, q, Message{Text: "I could not answer that; the error is logged."})
		return
	}
	m := renderReply(reply)
	if usage.Calls > 0 {
		m.Blocks = append(m.Blocks, slack.NewContextBlock("answer-cost", mrkdwn(costLine(usage))))
	}
	b.postIn(ctx, q, m)
	if p := reply.Picture; p != nil {
		up := Upload{Channel: q.channel, ThreadTS: q.thread, Name: p.Name, Title: p.Title, Alt: p.Alt, Data: p.PNG}
		if err := b.slack.Upload(ctx, up); err != nil {
			log.Error("upload picture", "err", err)
			b.replyIn(ctx, q, "The picture could not be uploaded: "+escape(oneSentence(err))+".")
		}
	}
	b.keepTurn(ctx, diagnosis.Turn{Role: "assistant", Author: usage.Model, Text: reply.String(), At: b.deps.Now(), Incident: q.incident}, usage)
	log.Info("question answered", "model", usage.Model, "tokens", usage.Tokens(), "took", usage.Latency.Round(time.Millisecond))
}

// switchConversation turns conversation mode of an incident's thread on or off.
func (b *Bot) switchConversation(ctx context.Context, q question, on bool) {
	if b.deps.Conversations == nil || b.answerer == nil {
		b.replyIn(ctx, q, "Conversation mode needs questions wired up; mention me with each question instead.")
		return
	}
	sctx, cancel := diagnosis.Detached(ctx)
	err := b.deps.Conversations.SetConversation(sctx, q.incident, on, q.user, b.deps.Now())
	cancel()
	if err != nil {
		b.log.Error("set conversation mode", keyIncident, q.incident, "err", err)
		b.replyIn(ctx, q, "Conversation mode could not be saved; the error is logged.")
		return
	}
	state, text := "off", "💬 Conversation mode is off: mention me to ask something."
	if on {
		state = "on"
		text = "💬 Conversation mode is on: I will answer every reply in this thread. Say `@nightowl conversation off` to stop."
	}
	b.record(ctx, q.incident, diagnosis.EventKind("conversation_"+state), q.user, "")
	b.log.Info("conversation mode", keyIncident, q.incident, keyUser, q.user, "state", state)
	b.postIn(ctx, q, Message{Text: text})
}

func (b *Bot) keepTurn(ctx context.Context, t diagnosis.Turn, u diagnosis.Usage) {
	if b.deps.Conversations == nil {
		return
	}
	sctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := b.deps.Conversations.AppendTurn(sctx, t, u); err != nil {
		b.log.Error("keep conversation turn", keyIncident, t.Incident, "err", err)
	}
}

// postIn posts in the question's thread, for everyone.
func (b *Bot) postIn(ctx context.Context, q question, m Message) {
	m.Channel, m.ThreadTS = q.channel, q.thread
	if len(m.Blocks) == 0 {
		m.Blocks = []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(m.Text, maxSectionText)), nil, nil)}
	}
	m.Text = truncate(m.Text, maxSectionText)
	if _, err := b.slack.Post(ctx, m); err != nil {
		b.log.Error("post answer", keyIncident, q.incident, "err", err)
	}
}

// replyIn tells the asker something only they see, in the thread.
func (b *Bot) replyIn(ctx context.Context, q question, text string) {
	m := Message{Text: truncate(text, maxSectionText), ThreadTS: q.thread,
		Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(text, maxSectionText)), nil, nil)}}
	if err := b.slack.Ephemeral(ctx, q.channel, q.user, m); err != nil {
		b.log.Warn("ephemeral reply", keyUser, q.user, "err", err)
	}
}

// costLine is the small print under what a model wrote.
func costLine(u diagnosis.Usage) string {
	calls := ""
	if u.Calls > 1 {
		calls = fmt.Sprintf(" · %d calls", u.Calls)
	}
	return fmt.Sprintf("🤖 %s · %s tokens%s · %s", escape(u.Model), thousands(u.Tokens()), calls, diagnosis.Latency(u.Latency))
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
