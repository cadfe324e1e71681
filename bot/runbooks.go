package bot

import (
	"context"
	"errors"
	"fmt"
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

// runView is what the bot remembers of a request to render its message.
type runView struct {
	tasks    []runbooks.TaskResult
	checking bool
	lastEdit time.Time
	dirty    bool
	request  runbooks.Request
	runbook  runbooks.Runbook
}

// runbookState is the bot's side of runbooks: the thread messages of
// requests, throttled progress, and the dry runs seen per incident.
type runbookState struct {
	mu      sync.Mutex
	views   map[string]*runView         // request ID → view
	dryRuns map[string]*runbooks.Result // incident|runbook → last check run
	updates chan runbooks.Update        // from the service's goroutines to runUpdates
	latest  map[string]runbooks.Request // incident → its latest request, for the card
	posted  map[string]diagnosis.Thread // request ID → its message
}

func newRunbookState() *runbookState {
	return &runbookState{views: map[string]*runView{}, dryRuns: map[string]*runbooks.Result{},
		updates: make(chan runbooks.Update, 1024), latest: map[string]runbooks.Request{},
		posted: map[string]diagnosis.Thread{}}
}

// RunbookUpdate is the runbooks.Notifier: it hands the update to the bot's
// runbook goroutine and never blocks a run for long.
func (b *Bot) RunbookUpdate(ctx context.Context, u runbooks.Update) {
	select {
	case b.rb.updates <- u:
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		b.log.Warn("runbook update dropped: the bot is not keeping up", "request", u.Request.ID, "kind", u.Kind)
	}
}

var _ runbooks.Notifier = (*Bot)(nil)

// runUpdates turns runbook updates into thread messages, in order, editing
// progress at most every progressEvery.
func (b *Bot) runUpdates(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-b.rb.updates:
			b.onRunbookUpdate(ctx, u)
		case <-tick.C:
			b.flushProgress(ctx)
		}
	}
}

func (b *Bot) onRunbookUpdate(ctx context.Context, u runbooks.Update) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	r := u.Request
	if r.Incident != "" && u.Kind != runbooks.UpdateDryRun {
		b.rb.mu.Lock()
		b.rb.latest[r.Incident] = r
		b.rb.mu.Unlock()
	}
	switch u.Kind {
	case runbooks.UpdateDryRun:
		if u.DryRun == nil || r.Thread.IsZero() {
			return
		}
		b.rb.mu.Lock()
		b.rb.dryRuns[r.Incident+"|"+r.Runbook] = u.DryRun
		b.rb.mu.Unlock()
		m := renderDryRun(u.Runbook, *u.DryRun, r.Incident)
		m.Channel, m.ThreadTS = r.Thread.Channel, r.Thread.TS
		if _, err := b.slack.Post(ctx, m); err != nil {
			b.log.Error("post dry run", keyIncident, r.Incident, "err", err)
		}
		return
	case runbooks.UpdateInterrupted:
		if r.Thread.Channel != "" {
			text := fmt.Sprintf("⚠️ %s (%s) was interrupted: nightowl stopped while it ran, so its outcome is unknown. Check the system before running it again.", r.ID, r.Runbook)
			m := Message{Channel: r.Thread.Channel, ThreadTS: r.Thread.TS, Text: escape(text), Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(escape(text)), nil, nil)}}
			if _, err := b.slack.Post(ctx, m); err != nil {
				b.log.Error("post interruption", "request", r.ID, "err", err)
			}
		}
	}
	v := b.view(u)
	switch u.Kind {
	case runbooks.UpdateTask:
		v.tasks = append(v.tasks, *u.Task)
		v.checking = u.Check
		v.dirty = true
		if time.Since(v.lastEdit) >= progressEvery {
			b.editRequest(ctx, v)
		}
		return
	case runbooks.UpdateStarted:
		v.tasks, v.checking = nil, u.Runbook.DryRun
	}
	b.editRequest(ctx, v)
	if u.Kind == runbooks.UpdateFinished {
		b.postRunSummary(ctx, v)
	}
	if u.Kind != runbooks.UpdateApproved {
		b.refreshCard(ctx, r.Incident)
	}
}

func (b *Bot) view(u runbooks.Update) *runView {
	b.rb.mu.Lock()
	defer b.rb.mu.Unlock()
	v, ok := b.rb.views[u.Request.ID]
	if !ok {
		v = &runView{}
		b.rb.views[u.Request.ID] = v
	}
	v.request, v.runbook = u.Request, u.Runbook
	return v
}

// editRequest posts the request's message once, then edits it.
func (b *Bot) editRequest(ctx context.Context, v *runView) {
	r := v.request
	if r.Thread.Channel == "" {
		return
	}
	b.rb.mu.Lock()
	dry := b.rb.dryRuns[r.Incident+"|"+r.Runbook]
	at, posted := b.rb.posted[r.ID]
	b.rb.mu.Unlock()
	if !posted && !r.Message.IsZero() {
		at, posted = r.Message, true
	}
	m := renderRequest(requestView{Request: r, Runbook: v.runbook, Tasks: v.tasks, DryRun: dry, Checking: v.checking,
		Names: func(id string) string { return b.name(ctx, id) }})
	v.lastEdit, v.dirty = time.Now(), false
	if posted {
		if err := b.slack.Update(ctx, at.Channel, at.TS, m); err != nil {
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
	msg := diagnosis.Thread{Channel: r.Thread.Channel, TS: ts}
	b.rb.mu.Lock()
	b.rb.posted[r.ID] = msg
	b.rb.mu.Unlock()
	if b.deps.Runbooks != nil {
		b.deps.Runbooks.SetMessage(r.ID, msg)
	}
}

// flushProgress edits the messages of running requests whose progress has
// waited progressEvery.
func (b *Bot) flushProgress(ctx context.Context) {
	b.rb.mu.Lock()
	var due []*runView
	for _, v := range b.rb.views {
		if v.dirty && time.Since(v.lastEdit) >= progressEvery {
			due = append(due, v)
		}
	}
	b.rb.mu.Unlock()
	for _, v := range due {
		b.editRequest(ctx, v)
	}
}

// postRunSummary answers in the thread when a run ends, so people hear of it.
func (b *Bot) postRunSummary(ctx context.Context, v *runView) {
	r := v.request
	if r.Thread.Channel == "" {
		return
	}
	icon, state := requestState(r)
	text := fmt.Sprintf("%s %s (%s) %s.", icon, r.Runbook, r.ID, state)
	if res := finalResult(r); res != nil {
		text = fmt.Sprintf("%s %s (%s) %s: %d changed, %d failed in %s.", icon, r.Runbook, r.ID, state, res.Changed, res.Failed,
			res.Ended.Sub(res.Started).Round(100*time.Millisecond))
	}
	m := Message{Channel: r.Thread.Channel, ThreadTS: r.Thread.TS, Text: escape(text), Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(escape(text)), nil, nil)}}
	if _, err := b.slack.Post(ctx, m); err != nil {
		b.log.Error("post run summary", "request", r.ID, "err", err)
	}
}

// latestRun is the incident's latest run request, for the card.
func (b *Bot) latestRun(incident string) (runbooks.Request, bool) {
	b.rb.mu.Lock()
	defer b.rb.mu.Unlock()
	r, ok := b.rb.latest[incident]
	return r, ok
}

// dryRun starts the check run of the card's recommended runbook.
func (b *Bot) dryRun(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis) {
	if b.deps.Runbooks == nil || d.RecommendedRunbook == "" {
		return
	}
	top, _ := d.Top()
	b.deps.Runbooks.DryRun(ctx, runbooks.Open{Incident: in.ID, Thread: in.Thread, Runbook: d.RecommendedRunbook,
		RootCause: top.Service, Namespace: in.NamespaceOf(top.Service)})
}

// onRunbookApprove: the card's Approve opens the incident's request for
// the recommended runbook (or finds the open one), then records the click
// as an approval, which only approvers can give.
func (b *Bot) onRunbookApprove(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	if b.deps.Runbooks == nil {
		b.onRunbookPending(ctx, cb, act)
		return
	}
	in, ok := b.liveIncident(ctx, cb, act)
	if !ok {
		return
	}
	_, rb := ParseActionValue(act.Value)
	req, err := b.openRequest(ctx, in, rb, nil, cb.User.ID)
	if err != nil {
		b.replyClick(ctx, cb, escape(err.Error()))
		return
	}
	b.approve(ctx, cb, req.ID)
}

// openRequest opens (or finds) a request for a runbook in an incident.
func (b *Bot) openRequest(ctx context.Context, in diagnosis.Incident, runbook string, inputs map[string]string, user string) (runbooks.Request, error) {
	b.cardsMu.Lock()
	d := b.last[in.ID]
	b.cardsMu.Unlock()
	top, _ := d.Top()
	req, _, err := b.deps.Runbooks.Open(ctx, runbooks.Open{Incident: in.ID, Thread: in.Thread, Runbook: runbook,
		Inputs: inputs, By: user, RootCause: top.Service, Namespace: in.NamespaceOf(top.Service)})
	switch {
	case errors.Is(err, runbooks.ErrUnknownRunbook):
		return req, fmt.Errorf("runbook %s is not in the catalog", runbook)
	case err != nil:
		return req, fmt.Errorf("%s cannot run with these parameters: %w", runbook, err)
	}
	return req, nil
}

func (b *Bot) approve(ctx context.Context, cb slack.InteractionCallback, id string) {
	_, msg, err := b.deps.Runbooks.Approve(ctx, id, cb.User.ID)
	switch {
	case err != nil:
		b.log.Error("approve run", "request", id, keyUser, cb.User.ID, "err", err)
		b.replyClick(ctx, cb, "nightowl could not record your approval; it is logged.")
	case msg != "":
		b.replyClick(ctx, cb, escape(msg))
	}
}

func (b *Bot) onRequestApprove(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	if b.deps.Runbooks != nil {
		b.approve(ctx, cb, act.Value)
	}
}

func (b *Bot) onRequestReject(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	if b.deps.Runbooks == nil {
		return
	}
	if _, msg, err := b.deps.Runbooks.Reject(ctx, act.Value, cb.User.ID); err == nil && msg != "" {
		b.replyClick(ctx, cb, escape(msg))
	}
}

func (b *Bot) onRunCancel(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	if b.deps.Runbooks == nil {
		return
	}
	if _, msg, err := b.deps.Runbooks.Cancel(ctx, act.Value, cb.User.ID); err == nil && msg != "" {
		b.replyClick(ctx, cb, escape(msg))
	}
}

// onRunbookManual shows the exact command an engineer would run by hand.
func (b *Bot) onRunbookManual(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	if b.deps.Runbooks == nil || b.deps.Command == nil {
		b.onRunbookPending(ctx, cb, act)
		return
	}
	in, ok := b.liveIncident(ctx, cb, act)
	if !ok {
		return
	}
	_, id := ParseActionValue(act.Value)
	rb, ok := b.deps.Runbooks.Catalog().Get(id)
	if !ok {
		b.replyClick(ctx, cb, fmt.Sprintf("Runbook %s is not in the catalog.", escape(id)))
		return
	}
	b.cardsMu.Lock()
	d := b.last[in.ID]
	b.cardsMu.Unlock()
	top, _ := d.Top()
	vars, err := rb.Vars(nil, runbooks.Context{Incident: in.ID, RootCause: top.Service, Namespace: in.NamespaceOf(top.Service), RequestedBy: cb.User.ID, RunID: "manual"})
	if err != nil {
		b.replyClick(ctx, cb, escape(fmt.Sprintf("%s needs parameters first: %v", id, err)))
		return
	}
	job, _ := b.deps.Runbooks.Job(runbooks.Request{ID: "manual", Runbook: id, Vars: vars}, false)
	check := job
	check.Check = true
	text := fmt.Sprintf("*%s* — %s\nCheck first (changes nothing):\n```%s```\nThen run it:\n```%s```\nRisk: %s. The Approve button runs the same playbook with the same variables and keeps it on the record.",
		escape(rb.ID), escape(rb.Title), escapeCode(b.deps.Command(check)), escapeCode(b.deps.Command(job)), rb.Risk)
	b.replyClick(ctx, cb, text)
}

func escapeCode(s string) string { return escape(strings.ReplaceAll(s, "```", "ˋˋˋ")) }
