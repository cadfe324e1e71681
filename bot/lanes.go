package bot

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
)

// Lanes keep slow work from starving quick work. Each kind of work has its
// own bounded queue and workers, and each task its own deadline: a click
// never waits behind a slash command that queries Prometheus, nor either
// behind a model that takes minutes to answer a question. The socket loop
// only ever offers a task: when a lane is full the task is dropped at once
// (logged, counted in Dropped) and the person is told, through the notes
// lane, that nightowl is busy — the loop that acks every envelope, and
// hands alert messages to intake, never waits.
//
// Why drop and not wait: Slack wants every envelope acked within 3 s and
// alert messages share the loop with clicks; a loop blocked on a full
// queue of clicks would delay pages. Why tell the person: a click that
// silently does nothing at 3 AM gets clicked again and again; "busy, try
// again in a minute" is one cheap call, itself bounded (the notes lane).
// Model triage has a queue of its own (triageQueue).

// Lane names, for logs and Dropped.
const (
	laneClicks   = "clicks"
	laneCommands = "commands"
	laneAnswers  = "answers"
	laneNotes    = "notes"
)

// laneSpec sizes one lane.
type laneSpec struct {
	name     string
	workers  int
	queue    int
	deadline time.Duration // for each task
}

// The lanes. Clicks change state and redraw a card: seconds. Commands may
// query Prometheus or draw a picture. Answers may wait for a model through
// several tool calls. Notes are single Slack calls nightowl makes on its
// own (busy answers, unreadable alert messages).
func laneSpecs(workers int) []laneSpec {
	return []laneSpec{
		{name: laneClicks, workers: workers, queue: 256, deadline: 30 * time.Second},
		{name: laneCommands, workers: workers, queue: 1024, deadline: time.Minute},
		{name: laneAnswers, workers: workers, queue: 64, deadline: 3 * time.Minute},
		{name: laneNotes, workers: 2, queue: 256, deadline: 15 * time.Second},
	}
}

// lane is a bounded queue of tasks and the workers that run them.
type lane struct {
	laneSpec
	tasks   chan func(context.Context)
	dropped atomic.Int64
}

func newLane(s laneSpec) *lane {
	return &lane{laneSpec: s, tasks: make(chan func(context.Context), s.queue)}
}

// offer queues a task without waiting; false when the lane is full.
func (l *lane) offer(task func(context.Context)) bool {
	select {
	case l.tasks <- task:
		return true
	default:
		l.dropped.Add(1)
		return false
	}
}

// work runs tasks until ctx ends, each within the lane's deadline.
func (l *lane) work(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case task := <-l.tasks:
			tctx, cancel := context.WithTimeout(ctx, l.deadline)
			task(tctx)
			cancel()
		}
	}
}

// Dropped counts the tasks each lane refused because it was full, since
// the bot started: a metric, also logged with every drop.
func (b *Bot) Dropped() map[string]int64 {
	out := make(map[string]int64, len(b.lanes))
	for name, l := range b.lanes {
		out[name] = l.dropped.Load()
	}
	return out
}

// busyText is what a person is told when their work was dropped.
const busyText = "🦉 nightowl is busy right now and could not take that; please try again in a minute."

// submit offers a task to a lane; when the lane is full it logs, counts
// and offers busy (a note telling the person) to the notes lane instead.
func (b *Bot) submit(name, what string, task, busy func(context.Context)) {
	l := b.lanes[name]
	if l.offer(task) {
		return
	}
	b.log.Warn("lane full: work dropped", "lane", name, "what", what, "dropped", l.dropped.Load(), "lanes", b.laneLoad())
	if busy != nil && name != laneNotes {
		b.submit(laneNotes, "busy answer to "+what, busy, nil)
	}
}

// spawnClick queues a button's handler in the clicks lane.
func (b *Bot) spawnClick(cb slack.InteractionCallback, task func(context.Context)) {
	b.submit(laneClicks, "click", task, func(ctx context.Context) { b.replyClick(ctx, cb, busyText) })
}

// spawnCommand queues a slash command in the commands lane.
func (b *Bot) spawnCommand(cmd slack.SlashCommand, task func(context.Context)) {
	b.submit(laneCommands, "command "+cmd.Command, task, func(ctx context.Context) {
		if err := b.responder.Respond(ctx, cmd.ResponseURL, Message{Text: busyText}, false); err != nil {
			b.log.Warn("busy answer", keyUser, cmd.UserID, "err", err)
		}
	})
}

// explainUnreadableLater says in the thread of an alert message what
// could not be read, from the notes lane: never a Slack call on the
// intake goroutine.
func (b *Bot) explainUnreadableLater(m relayedMsg, read int, problems []string) {
	problems = append([]string(nil), problems...)
	b.submit(laneNotes, "unreadable alert message", func(ctx context.Context) {
		b.explainUnreadable(ctx, m, read, problems)
	}, nil)
}

// laneLoad is a one-line view of the lanes, for logs.
func (b *Bot) laneLoad() string {
	var parts []string
	for _, s := range laneSpecs(b.cfg.Workers) {
		l := b.lanes[s.name]
		parts = append(parts, fmt.Sprintf("%s %d/%d", s.name, len(l.tasks), l.queue))
	}
	return strings.Join(parts, ", ")
}
