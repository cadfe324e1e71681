package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
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

// Triager writes the card's triage; commands.Handler is one.
type Triager interface {
	// Model names the model, "" when there is none.
	Model() string
	RulesTriage(in diagnosis.Incident, d diagnosis.Diagnosis) diagnosis.Triage
	ModelTriage(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis) (diagnosis.Triage, diagnosis.Usage, error)
}

// Conversations keeps what was said in incident threads; the store implements it.
type Conversations interface {
	AppendTurn(ctx context.Context, t diagnosis.Turn, u diagnosis.Usage) error
	Turns(ctx context.Context, incident string, limit int) ([]diagnosis.Turn, error)
	SetConversation(ctx context.Context, incident string, on bool, by string, at time.Time) error
	Conversation(ctx context.Context, incident string) (bool, error)
}

// Costs keeps every model call and the latest model triage; the store implements it.
type Costs interface {
	RecordModelCall(ctx context.Context, incident, purpose string, u diagnosis.Usage, callErr error, at time.Time) error
	ModelUsage(ctx context.Context, incident string) (diagnosis.Usage, error)
	SaveTriage(ctx context.Context, incident, key string, t diagnosis.Triage, at time.Time) error
	Triage(ctx context.Context, incident string) (key string, t diagnosis.Triage, err error)
}

// Votes keeps people's 👍 and 👎 on diagnoses; the store implements it.
type Votes interface {
	Vote(ctx context.Context, incident, user string, vote int, rootCause string, at time.Time) error
	Votes(ctx context.Context, incident string) (up, down int, err error)
}

// UseTalk plugs in the follow-up answerer and the triage writer; call
// before Run. Either may be nil.
func (b *Bot) UseTalk(a Answerer, t Triager) {
	b.answerer, b.triager = a, t
}

// triageTimeout bounds a model's triage, retries included.
const triageTimeout = 90 * time.Second

// turnsRemembered is how much of a thread's conversation a model sees.
const turnsRemembered = 12

// triageState is each incident's model triage: what it was written for,
// whether one is being written, and why the rules' one shows instead.
type triageState struct {
	mu   sync.Mutex
	byID map[string]*modelTriage
}

type modelTriage struct {
	key     string           // commands.TriageKey of the diagnosis it was written for
	t       diagnosis.Triage // zero until the model wrote one
	usage   diagnosis.Usage
	failed  string // why the model's triage is missing, "" when it is not
	pending bool
	loaded  bool // the store was asked
}

func newTriageState() *triageState { return &triageState{byID: map[string]*modelTriage{}} }

// of returns an incident's state, made on first use; call with mu held.
func (s *triageState) of(id string) *modelTriage {
	st := s.byID[id]
	if st == nil {
		st = &modelTriage{}
		s.byID[id] = st
	}
	return st
}

// forget drops a settled incident's triage (the store keeps it).
func (s *triageState) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// cardTriage is the triage to show on a card and the small print under it.
func (b *Bot) cardTriage(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis) (*diagnosis.Triage, string) {
	if b.triager == nil || in.Status == diagnosis.Resolved {
		return nil, "" // a resolved incident needs no instructions
	}
	rules := b.triager.RulesTriage(in, d)
	model := b.triager.Model()
	if model == "" {
		return &rules, "Triage by nightowl's rules"
	}
	key := commands.TriageKey(d)
	b.triage.mu.Lock()
	st := b.triage.of(in.ID)
	needLoad := !st.loaded && b.deps.Costs != nil
	st.loaded = true
	b.triage.mu.Unlock()
	if needLoad {
		sctx, cancel := detached(ctx)
		k, t, err := b.deps.Costs.Triage(sctx, in.ID)
		cancel()
		b.triage.mu.Lock()
		if err == nil && st.key == "" {
			st.key, st.t = k, t
		}
		b.triage.mu.Unlock()
	}
	b.triage.mu.Lock()
	defer b.triage.mu.Unlock()
	switch {
	case st.key == key && st.t.Source != "":
		t := st.t
		return &t, ""
	case st.key == key && st.pending:
		return &rules, fmt.Sprintf("Triage by nightowl's rules; %s is writing its own", model)
	case st.key == key && st.failed != "":
		return &rules, fmt.Sprintf("Triage by nightowl's rules (%s)", st.failed)
	}
	return &rules, "Triage by nightowl's rules"
}

// modelTriage asks the model for the card's triage in the background, once
// per root cause and runbook, then updates the card. The card never waits.
func (b *Bot) modelTriage(in diagnosis.Incident, d diagnosis.Diagnosis) {
	if b.triager == nil || b.triager.Model() == "" || in.Status == diagnosis.Resolved {
		return
	}
	key := commands.TriageKey(d)
	b.triage.mu.Lock()
	st := b.triage.of(in.ID)
	if st.key == key && (st.pending || st.t.Source != "" || st.failed != "") {
		b.triage.mu.Unlock()
		return
	}
	st.key, st.t, st.failed, st.pending = key, diagnosis.Triage{}, "", true
	b.triage.mu.Unlock()

	b.background(func(ctx context.Context) {
		tctx, cancel := context.WithTimeout(ctx, triageTimeout)
		t, u, err := b.triager.ModelTriage(tctx, in, d)
		cancel()
		log := b.log.With(keyIncident, in.ID, "model", u.Model, "tokens", u.Tokens(), "calls", u.Calls, "took", u.Latency.Round(time.Millisecond))
		b.recordCost(ctx, in.ID, "triage", u, err)
		b.triage.mu.Lock()
		if st.key != key { // a newer diagnosis asked for another triage meanwhile
			b.triage.mu.Unlock()
			return
		}
		st.pending = false
		st.usage = st.usage.Add(u)
		if err != nil {
			st.failed = "the model did not help: " + oneSentence(err)
			log.Warn("model triage failed; the rules' triage stays on the card", "err", err)
		} else {
			st.t = t
			log.Info("model triage written")
		}
		b.triage.mu.Unlock()
		if err == nil && b.deps.Costs != nil {
			sctx, cancel := detached(ctx)
			if err := b.deps.Costs.SaveTriage(sctx, in.ID, key, t, b.deps.Now()); err != nil {
				b.log.Error("save triage", keyIncident, in.ID, "err", err)
			}
			cancel()
		}
		if ctx.Err() == nil {
			b.refreshCard(ctx, in.ID)
		}
	})
}

// recordCost keeps a model call on the record.
func (b *Bot) recordCost(ctx context.Context, incident, purpose string, u diagnosis.Usage, callErr error) {
	if b.deps.Costs == nil || (u.Calls == 0 && callErr == nil) {
		return
	}
	sctx, cancel := detached(ctx)
	defer cancel()
	if err := b.deps.Costs.RecordModelCall(sctx, incident, purpose, u, callErr, b.deps.Now()); err != nil {
		b.log.Error("record model call", keyIncident, incident, "err", err)
	}
}

// cardCosts is what the model has cost an incident so far, for the footer.
func (b *Bot) cardCosts(ctx context.Context, id string) diagnosis.Usage {
	if b.deps.Costs == nil {
		return diagnosis.Usage{}
	}
	sctx, cancel := detached(ctx)
	defer cancel()
	u, err := b.deps.Costs.ModelUsage(sctx, id)
	if err != nil {
		b.log.Warn("model usage", keyIncident, id, "err", err)
	}
	return u
}

// cardVotes counts the 👍 and 👎 on an incident's diagnosis.
func (b *Bot) cardVotes(ctx context.Context, id string) (up, down int) {
	if b.deps.Votes == nil {
		return 0, 0
	}
	sctx, cancel := detached(ctx)
	defer cancel()
	up, down, err := b.deps.Votes.Votes(sctx, id)
	if err != nil {
		b.log.Warn("votes", keyIncident, id, "err", err)
	}
	return up, down
}

// oneSentence shortens an error to its first sentence for a card.
func oneSentence(err error) string {
	s := err.Error()
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i]
	}
	return truncate(strings.TrimSuffix(s, "."), 160)
}

// question is a message in an incident's thread addressed to nightowl.
type question struct {
	channel, thread, user, text string
	incident                    string
}

var (
	anyMention = regexp.MustCompile(`<@[A-Z0-9]+(\|[^>]*)?>`)
	modeSwitch = regexp.MustCompile(`(?i)^\s*(conversation|conversation mode|chat|talk)\s+(on|off)\s*[.!]?\s*$`)
)

// onQuestion answers a mention that is not a command.
func (b *Bot) onQuestion(ctx context.Context, me *slackevents.AppMentionEvent, incident, thread, text string) {
	q := question{channel: me.Channel, thread: thread, user: me.User, text: text, incident: incident}
	b.spawn(ctx, func(ctx context.Context) { b.ask(ctx, q) })
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
	case msg.BotID != "" || me.BotID != "" || msg.User == "" || msg.User == b.self.userID:
		return
	case b.self.userID != "" && strings.Contains(msg.Text, "<@"+b.self.userID):
		return
	}
	id := b.incidentOfThread(ctx, me.Channel, me.ThreadTimeStamp)
	if id == "" {
		return
	}
	on, err := b.deps.Conversations.Conversation(ctx, id)
	if err != nil {
		b.log.Warn("conversation mode", keyIncident, id, "err", err)
		return
	}
	if !on {
		return
	}
	q := question{channel: me.Channel, thread: me.ThreadTimeStamp, user: msg.User, text: msg.Text, incident: id}
	b.spawn(ctx, func(ctx context.Context) { b.ask(ctx, q) })
}

// incidentOfThread finds the incident whose card starts a thread.
func (b *Bot) incidentOfThread(ctx context.Context, channel, ts string) string {
	for _, in := range b.grouper.Live() {
		if in.Thread.Channel == channel && in.Thread.TS == ts {
			return in.ID
		}
	}
	if b.deps.Archive == nil {
		return ""
	}
	in, err := b.deps.Archive.IncidentByThread(ctx, channel, ts)
	if err != nil {
		return ""
	}
	return in.ID
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
		sctx, cancel := detached(ctx)
		h, err := c.Turns(sctx, q.incident, turnsRemembered)
		cancel()
		if err != nil {
			log.Warn("conversation history", "err", err)
		}
		history = h
		b.keepTurn(ctx, diagnosis.Turn{Role: "user", Author: q.user, Text: q.text, At: b.deps.Now(), Incident: q.incident}, diagnosis.Usage{})
	}
	reply, usage, err := b.answerer.Answer(ctx, commands.Ask{Incident: q.incident, User: q.user, Text: q.text, History: history})
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
		if err := b.responder.Upload(ctx, up); err != nil {
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
	sctx, cancel := detached(ctx)
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
	sctx, cancel := detached(ctx)
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
	return fmt.Sprintf("🤖 %s · %s tokens%s · %s", escape(u.Model), thousands(u.Tokens()), calls, seconds(u.Latency))
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// onVote keeps a 👍 or 👎 on the card's diagnosis; a person's latest vote counts.
func (b *Bot) onVote(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	id, ref := ParseActionValue(act.Value)
	if b.deps.Votes == nil {
		b.replyClick(ctx, cb, "Votes are not kept here.")
		return
	}
	cause, ok := b.votedCandidate(ctx, id, ref)
	if !ok {
		b.replyClick(ctx, cb, fmt.Sprintf("The likely cause of %s has changed since that card was drawn; vote again on the card as it is now.", escape(id)))
		return
	}
	vote := 1
	if act.ActionID == ActionVoteDown {
		vote = -1
	}
	sctx, cancel := detached(ctx)
	err := b.deps.Votes.Vote(sctx, id, cb.User.ID, vote, cause, b.clickedAt(act))
	cancel()
	if err != nil {
		b.log.Error("keep vote", keyIncident, id, keyUser, cb.User.ID, "err", err)
		b.replyClick(ctx, cb, "Your vote could not be saved; the error is logged.")
		return
	}
	b.record(ctx, id, diagnosis.EventKind("diagnosis_vote"), cb.User.ID, fmt.Sprintf("%+d on %s", vote, cause))
	b.log.Info("diagnosis vote", keyIncident, id, keyUser, cb.User.ID, "vote", vote, "root_cause", cause)
	if vote < 0 {
		b.askForCause(ctx, cb, id, cause)
	} else {
		b.replyClick(ctx, cb, fmt.Sprintf("Thanks, noted: %s is the cause of %s. nightowl weighs similar incidents by it; vote again to change your mind.",
			codeName(cause), escape(id)))
	}
	b.refreshCard(ctx, id)
}

// clickedAt is when Slack says a button was pressed (action_ts): the store
// keeps a person's latest vote by it, so a later click wins however the
// workers interleave. Without one it is now.
func (b *Bot) clickedAt(act *slack.BlockAction) time.Time {
	sec, frac, _ := strings.Cut(act.ActionTs, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s <= 0 {
		return b.deps.Now()
	}
	frac = (frac + "000000")[:6]
	us, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return b.deps.Now()
	}
	return time.Unix(s, us*int64(time.Microsecond/time.Nanosecond)).UTC()
}

// votedCandidate finds the candidate a vote button names by its
// candidateRef among the incident's candidates (a card drawn before votes
// carried references names the service itself).
func (b *Bot) votedCandidate(ctx context.Context, id, ref string) (string, bool) {
	_, d, ok := b.Find(ctx, id)
	if !ok || ref == "" {
		return "", false
	}
	for _, c := range d.Candidates {
		if candidateRef(c.Service) == ref || c.Service == ref {
			return c.Service, true
		}
	}
	return "", false
}
