package bot

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Escalation without a button: a card nobody acknowledges within
// Config.EscalateAfter pages Config.Escalation in its thread, once. The
// escalation is saved with the incident before the page goes out, so a
// restart never pages for it again.

// escalationRetry is how long an escalation whose record could not be
// saved waits before it is tried again.
const escalationRetry = 30 * time.Second

// escalations knows when each card paged on-call, and wakes the loop
// that escalates when a new card is posted.
type escalations struct {
	mu     sync.Mutex
	posted map[string]time.Time // incident → when its card paged
	retry  map[string]time.Time // incident → not before (its record failed)
	wake   chan struct{}
}

func newEscalations() *escalations {
	return &escalations{posted: map[string]time.Time{}, retry: map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

// paged notes that an incident's card paged on-call at at.
func (e *escalations) paged(id string, at time.Time) {
	e.mu.Lock()
	e.posted[id] = at
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// due is when an incident escalates: EscalateAfter after its card paged,
// or after it opened when the card paged before a restart (sooner rather
// than later: the page is what matters).
func (e *escalations) due(in diagnosis.Incident, after time.Duration) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	at, ok := e.posted[in.ID]
	if !ok {
		at = in.OpenedAt
	}
	return later(at.Add(after), e.retry[in.ID])
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// keep forgets the incidents not in ids.
func (e *escalations) keep(ids map[string]bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id := range e.posted {
		if !ids[id] {
			delete(e.posted, id)
		}
	}
	for id := range e.retry {
		if !ids[id] {
			delete(e.retry, id)
		}
	}
}

// awaitsAck reports whether an incident's card paged and still waits for
// someone: firing, posted, neither acknowledged nor escalated.
func awaitsAck(in diagnosis.Incident) bool {
	return in.Status == diagnosis.Firing && !in.Thread.IsZero() && in.Ack.IsZero() && in.Escalation.IsZero()
}

// runEscalation escalates each card that waits for an acknowledgement
// past EscalateAfter; it sleeps until the next one is due or a new card
// pages. Without EscalateAfter or Escalation it returns at once.
func (b *Bot) runEscalation(ctx context.Context) error {
	after := b.cfg.EscalateAfter
	if after <= 0 || b.cfg.Escalation == "" {
		return nil
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := b.deps.Now()
		var next time.Time
		waiting := map[string]bool{}
		for _, in := range b.index.Open() {
			if !awaitsAck(in) {
				continue
			}
			waiting[in.ID] = true
			due := b.esc.due(in, after)
			if !due.After(now) {
				b.autoEscalate(ctx, in.ID, after)
				continue
			}
			if next.IsZero() || due.Before(next) {
				next = due
			}
		}
		b.esc.keep(waiting)
		wait := time.Hour // a restored incident needs no wake-up: it is listed above
		if !next.IsZero() {
			wait = next.Sub(now)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-b.esc.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// autoEscalate pages ESCALATION for an incident nobody acknowledged: the
// escalation goes on the record first, then the page in the thread.
func (b *Bot) autoEscalate(ctx context.Context, id string, after time.Duration) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	by := cmp.Or(b.self.UserID, "nightowl")
	first := false
	in, _ := b.live.Annotate(id, func(i *diagnosis.Incident) {
		if awaitsAck(*i) {
			i.Escalation = diagnosis.Mark{By: by, At: b.deps.Now()}
			first = true
		}
	})
	if !first {
		return
	}
	if err := b.saveChecked(ctx, id); err != nil {
		// Without the record a restart would page again: take the mark
		// back and try later.
		b.live.Annotate(id, func(i *diagnosis.Incident) {
			if i.Escalation.By == by {
				i.Escalation = diagnosis.Mark{}
			}
		})
		b.esc.mu.Lock()
		b.esc.retry[id] = b.deps.Now().Add(escalationRetry)
		b.esc.mu.Unlock()
		b.log.Error("escalation not recorded; not paging yet", keyIncident, id, "err", err)
		return
	}
	text := fmt.Sprintf("⬆️ Nobody acknowledged %s within %s: paging %s.", in.ID, diagnosis.Elapsed(after), mention(b.cfg.Escalation))
	msg := Message{Channel: in.Thread.Channel, ThreadTS: in.Thread.TS, Text: text,
		Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}}
	b.postReply(ctx, in.ID, "escalation", msg)
	b.record(ctx, in.ID, diagnosis.EventEscalated, "", fmt.Sprintf("%s, not acknowledged within %s", b.cfg.Escalation, diagnosis.Elapsed(after)))
	b.log.Info("incident escalated: not acknowledged in time", keyIncident, in.ID, "to", b.cfg.Escalation, "after", after)
	b.refreshCard(ctx, in.ID)
}

// saveChecked saves an incident's live state and says whether the store
// took it.
func (b *Bot) saveChecked(ctx context.Context, id string) error {
	defer b.saving.lock(id)()
	in, ok := b.live.Incident(id)
	if !ok {
		return fmt.Errorf("save %s: not in memory", id)
	}
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := b.deps.Incidents.SaveIncident(ctx, in); err != nil {
		return fmt.Errorf("save %s: %w", id, err)
	}
	return nil
}
