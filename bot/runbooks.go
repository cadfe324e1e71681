package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// progressEvery bounds how often a run's message is edited while it runs:
// chat.update is Tier 3, and people cannot read faster anyway.
const progressEvery = 3 * time.Second

// drainUpdates bounds how long a stopping bot keeps telling threads what
// happened to runs after the runbook service has stopped.
const drainUpdates = 20 * time.Second

// RunbookUpdates carries the runbook service's news to the bot: cmd/bot
// builds it first and hands it to both (it is the service's Notifier),
// so neither needs the other to exist. The bot's runbook goroutine reads
// it in order, and outlives the service's shutdown so that every thread
// hears how its run ended.
type RunbookUpdates struct {
	ch  chan runbooks.Update
	log *slog.Logger
}

var _ runbooks.Notifier = (*RunbookUpdates)(nil)

// NewRunbookUpdates makes the queue, room for 1,024 updates.
func NewRunbookUpdates(logger *slog.Logger) *RunbookUpdates {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RunbookUpdates{ch: make(chan runbooks.Update, 1024), log: logger.With("component", "bot")}
}

// RunbookUpdate queues an update for the bot; it never blocks a run for
// long: an update the bot cannot take within 5 s is dropped, and logged.
func (q *RunbookUpdates) RunbookUpdate(_ context.Context, u runbooks.Update) {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case q.ch <- u:
	case <-t.C:
		q.log.Warn("runbook update dropped: the bot is not keeping up", "request", u.Request.ID, "kind", u.Kind)
	}
}

// runbookState is the bot's side of runbooks: the service's updates, in
// order, and when each request's message was last edited. What a request
// is and how it stands lives in runbooks.Service alone.
type runbookState struct {
	updates <-chan runbooks.Update // from the service to runUpdates
	mu      sync.Mutex
	edits   map[string]*edit // request ID → its message's throttle
}

type edit struct {
	last  time.Time
	dirty bool // progress arrived since the last edit
}

func newRunbookState(q *RunbookUpdates) *runbookState {
	return &runbookState{updates: q.ch, edits: map[string]*edit{}}
}

// runUpdates turns runbook updates into thread messages, in order, editing
// progress at most every progressEvery. When ctx ends it still delivers
// what is queued (for up to drainUpdates): a shutdown's last words.
func (b *Bot) runUpdates(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			b.drainRunbookUpdates(ctx)
			return nil
		case u := <-b.rb.updates:
			b.onRunbookUpdate(ctx, u)
		case <-tick.C:
			b.flushProgress(ctx, false)
		}
	}
}

func (b *Bot) drainRunbookUpdates(ctx context.Context) {
	deadline := time.Now().Add(drainUpdates)
	for time.Now().Before(deadline) {
		select {
		case u := <-b.rb.updates:
			b.onRunbookUpdate(ctx, u)
			continue
		default:
		}
		break
	}
	b.flushProgress(ctx, true)
}

func (b *Bot) onRunbookUpdate(ctx context.Context, u runbooks.Update) {
	if b.deps.Runbooks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	r := u.Request
	if cur, ok := b.deps.Runbooks.Get(r.ID); ok {
		r = cur // render the latest state, whatever order updates came in
	}
	switch u.Kind {
	case runbooks.UpdateTask:
		if b.markDirty(r.ID) {
			b.editRequest(ctx, r, u.Runbook)
		}
		return
	case runbooks.UpdateNotRecorded:
		b.postInThread(ctx, r, "⚠️ "+escape(u.Note))
		return
	}
	b.editRequest(ctx, r, u.Runbook)
	switch u.Kind {
	case runbooks.UpdateFinished, runbooks.UpdateInterrupted:
		b.postRunSummary(ctx, r)
	case runbooks.UpdateApproved, runbooks.UpdateDryRun, runbooks.UpdateVerified:
		return // the card does not change
	}
	b.refreshCard(ctx, r.Incident)
	if u.Kind == runbooks.UpdateExpired && r.Source == runbooks.SourceCard && b.incidentOpen(r.Incident) &&
		!strings.Contains(r.Note, "superseded") {
		// The card keeps offering its recommendation, with a fresh dry run;
		// not from this goroutine, which drains the updates it would send.
		incident := r.Incident
		b.background(func(ctx context.Context) { b.recommendAgain(ctx, incident) })
	}
}

// markDirty notes progress on a request's message and says whether it is
// due for an edit.
func (b *Bot) markDirty(id string) bool {
	b.rb.mu.Lock()
	defer b.rb.mu.Unlock()
	e := b.rb.edits[id]
	if e == nil {
		e = &edit{}
		b.rb.edits[id] = e
	}
	e.dirty = true
	return time.Since(e.last) >= progressEvery
}

// editRequest posts the request's message once, then edits it.
func (b *Bot) editRequest(ctx context.Context, r runbooks.Request, rb runbooks.Runbook) {
	if r.Thread.Channel == "" {
		return
	}
	if rb.ID == "" {
		rb, _ = b.deps.Runbooks.Catalog().Get(r.Runbook)
	}
	m := renderRequest(requestView{Request: r, Runbook: rb, Names: func(id string) string { return b.name(ctx, id) }})
	b.rb.mu.Lock()
	if r.State.Open() {
		e := b.rb.edits[r.ID]
		if e == nil {
			e = &edit{}
			b.rb.edits[r.ID] = e
		}
		e.last, e.dirty = time.Now(), false
	} else {
		delete(b.rb.edits, r.ID)
	}
	b.rb.mu.Unlock()
	if !r.Message.IsZero() {
		if err := b.slack.Update(ctx, r.Message.Channel, r.Message.TS, m); err != nil {
			b.log.Error("update run request message", "request", r.ID, "err", err)
		}
		return
	}
	m.Channel, m.ThreadTS = r.Thread.Channel, r.Thread.TS
	ts, err := b.slack.Post(ctx, m)
	if err != nil {
		b.log.Error("post run request message", "request", r.ID, "err", err)
		return
	}
	b.deps.Runbooks.SetMessage(ctx, r.ID, diagnosis.Thread{Channel: r.Thread.Channel, TS: ts})
}

// flushProgress edits the messages of running requests whose progress has
// waited progressEvery (all of them when all is set).
func (b *Bot) flushProgress(ctx context.Context, all bool) {
	b.rb.mu.Lock()
	var due []string
	for id, e := range b.rb.edits {
		if e.dirty && (all || time.Since(e.last) >= progressEvery) {
			due = append(due, id)
		}
	}
	b.rb.mu.Unlock()
	for _, id := range due {
		if r, ok := b.deps.Runbooks.Get(id); ok {
			b.editRequest(ctx, r, runbooks.Runbook{})
		}
	}
}

// postRunSummary answers in the thread when a run ends, so people hear of it.
func (b *Bot) postRunSummary(ctx context.Context, r runbooks.Request) {
	icon, state := requestState(r)
	text := fmt.Sprintf("%s %s (%s) %s.", icon, r.Runbook, r.ID, state)
	if res := finalResult(r); res != nil {
		text = fmt.Sprintf("%s %s (%s) %s: %d changed, %d failed in %s.", icon, r.Runbook, r.ID, state, res.Changed, res.Failed,
			diagnosis.Precise(res.Ended.Sub(res.Started)))
	}
	if r.Note != "" {
		text = fmt.Sprintf("%s %s (%s) %s", icon, r.Runbook, r.ID, r.Note)
	}
	b.postInThread(ctx, r, escape(text))
}

// postInThread posts one sentence (already escaped) in a request's thread.
func (b *Bot) postInThread(ctx context.Context, r runbooks.Request, text string) {
	if r.Thread.Channel == "" {
		return
	}
	text = truncate(text, maxSectionText)
	m := Message{Channel: r.Thread.Channel, ThreadTS: r.Thread.TS, Text: text, Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}}
	if _, err := b.slack.Post(ctx, m); err != nil {
		b.log.Error("post in run request thread", "request", r.ID, "err", err)
	}
}

// incidentOpen reports whether an incident is live and not resolved.
func (b *Bot) incidentOpen(id string) bool {
	in, ok := b.live.Incident(id)
	return ok && in.Status != diagnosis.Resolved
}

// latestRun is the request the incident's card shows: its own, else the
// incident's latest.
func (b *Bot) latestRun(incident string) (runbooks.Request, bool) {
	if b.deps.Runbooks == nil {
		return runbooks.Request{}, false
	}
	return b.deps.Runbooks.CardRequest(incident)
}

// dryRun offers the card's recommended runbook as the card's own request,
// with the card's parameters and its own dry run; the card's buttons
// approve that request and nothing else. Incidents Alertmanager does not
// know get none.
func (b *Bot) dryRun(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis) {
	if b.deps.Runbooks == nil || d.RecommendedRunbook == "" || in.Thread.IsZero() || in.Status == diagnosis.Resolved {
		return
	}
	if !b.verified(ctx, in) {
		return
	}
	top, _ := d.Top()
	_, err := b.deps.Runbooks.Recommend(ctx, runbooks.Open{Incident: in.ID, Thread: in.Thread, Runbook: d.RecommendedRunbook,
		RootCause: top.Service, Namespace: in.NamespaceOf(top.Service)})
	if err != nil {
		b.log.Warn("the card's runbook cannot be offered", keyIncident, in.ID, "runbook", d.RecommendedRunbook, "err", err)
	}
}

// recommendAgain offers the card's recommendation again once its request
// expired while the incident goes on.
func (b *Bot) recommendAgain(ctx context.Context, incident string) {
	in, ok := b.live.Incident(incident)
	if !ok {
		return
	}
	if d, ok := b.diagnoses.Latest(incident); ok {
		b.dryRun(ctx, in, d)
	}
}

// closeRuns expires the run requests of an incident that resolved.
func (b *Bot) closeRuns(ctx context.Context, u diagnosis.Update) {
	if b.deps.Runbooks != nil && (u.Kind == diagnosis.IncidentResolved || u.Kind == diagnosis.Settled) {
		b.deps.Runbooks.CloseIncident(ctx, u.Incident.ID, u.Incident.ID+" is resolved")
	}
}

// clicked parses a request button's value, or tells the clicker it names
// no request.
func (b *Bot) clicked(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) (id, digest string, ok bool) {
	if b.deps.Runbooks == nil {
		b.onRunbookPending(ctx, cb, act)
		return "", "", false
	}
	id, digest, ok = ParseRequestValue(act.Value)
	if !ok {
		b.replyClick(ctx, cb, "That button names no run request (it may come from an older nightowl): use the request's own message in the incident's thread. Nothing was done.")
		b.log.Info("runbook button without a request", keyUser, cb.User.ID, "action_id", act.ActionID)
	}
	return id, digest, ok
}

// answerClick tells the clicker, in one sentence, why their click changed
// nothing (or what it still needs); err is logged.
func (b *Bot) answerClick(ctx context.Context, cb slack.InteractionCallback, what, id, msg string, err error) {
	if err != nil {
		b.log.Error(what+" not done", "request", id, keyUser, cb.User.ID, "err", err)
	}
	if msg != "" {
		b.replyClick(ctx, cb, truncate(escape(msg), maxSectionText))
	}
}

// onRunbookApprove is the card's Approve: it approves the card's own
// request, named with its digest by the button, and nothing else.
func (b *Bot) onRunbookApprove(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	b.onRequestApprove(ctx, cb, act)
}

func (b *Bot) onRequestApprove(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	id, digest, ok := b.clicked(ctx, cb, act)
	if !ok {
		return
	}
	// Whoever asked for it, nothing runs for alerts Alertmanager does not hold.
	if r, found := b.deps.Runbooks.Get(id); found {
		if in, live := b.live.Incident(r.Incident); live && !b.verified(ctx, in) {
			b.answerClick(ctx, cb, "approval", id, fmt.Sprintf("Nothing was approved: Alertmanager does not hold the alerts of %s, so nightowl runs no runbook for it.", r.Incident), nil)
			b.log.Warn("approval refused: unverified incident", keyIncident, r.Incident, "request", id, keyUser, cb.User.ID)
			return
		}
	}
	_, msg, err := b.deps.Runbooks.Approve(ctx, id, digest, cb.User.ID)
	b.answerClick(ctx, cb, "approval", id, msg, err)
}

func (b *Bot) onRequestReject(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	id, digest, ok := b.clicked(ctx, cb, act)
	if !ok {
		return
	}
	_, msg, err := b.deps.Runbooks.Reject(ctx, id, digest, cb.User.ID)
	b.answerClick(ctx, cb, "rejection", id, msg, err)
}

func (b *Bot) onRunCancel(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	id, digest, ok := b.clicked(ctx, cb, act)
	if !ok {
		return
	}
	_, msg, err := b.deps.Runbooks.Cancel(ctx, id, digest, cb.User.ID)
	b.answerClick(ctx, cb, "cancel", id, msg, err)
}

// onRunbookManual ("Show command") shows the exact commands the request
// runs: its check run, then its run, with its own variables.
func (b *Bot) onRunbookManual(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	id, digest, ok := b.clicked(ctx, cb, act)
	if !ok {
		return
	}
	r, found := b.deps.Runbooks.Get(id)
	rb, inCatalog := b.deps.Runbooks.Catalog().Get(r.Runbook)
	switch {
	case !found || !inCatalog:
		b.replyClick(ctx, cb, fmt.Sprintf("Run request %s is not known here.", escape(id)))
		return
	case r.Digest != digest:
		b.replyClick(ctx, cb, fmt.Sprintf("That button does not match %s's parameters; look at the request in the thread again.", escape(id)))
		return
	case b.deps.Command == nil:
		b.onRunbookPending(ctx, cb, act)
		return
	}
	job, _ := b.deps.Runbooks.Job(r, false)
	check := job
	check.Check = true
	text := fmt.Sprintf("*%s* — %s · run %s\nCheck first (changes nothing):\n```%s```\nThen run it:\n```%s```\nRisk: %s. Approving %s runs exactly these commands, with these variables, and keeps them on the record.",
		escape(rb.ID), escape(truncate(rb.Title, 150)), code(r.ID), escapeCode(truncate(b.deps.Command(check), commandTextMax)),
		escapeCode(truncate(b.deps.Command(job), commandTextMax)), rb.Risk, escape(r.ID))
	b.replyClick(ctx, cb, truncate(text, maxSectionText))
}

func escapeCode(s string) string { return escape(strings.ReplaceAll(s, "```", "ˋˋˋ")) }
