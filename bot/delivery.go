package bot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Delivery: what nightowl does when Slack does not take a message.
//
// A card is the page, so a card is posted until it is posted: a failed
// post hands the incident back to the Grouper (diagnosis.Live.Undelivered)
// to be published again after a jittered backoff, with its latest state;
// it is marked published, and on-call paged, only when Slack answers ok.
// An incident that resolved meanwhile is posted resolved, without a page.
//
// Card updates and thread replies are retried the same way from the
// outbox, with fewer attempts: an update re-renders the incident's latest
// state when it runs, so the updates of one card coalesce into one retry;
// replies are retried one by one. An error that retrying cannot fix
// (Slack's "channel_not_found", "invalid_blocks" …) is not retried, but for
// a card, which is tried until it lands (someone may invite the bot).
//
// slack-go itself waits out 429s (WebAPI); what reaches here is what it
// gave up on.

// Backoff between attempts: from retryFirst doubling to retryMax, each
// wait jittered by ±50%; updates and replies give up after retryAttempts
// (about half an hour).
const (
	retryFirst    = 2 * time.Second
	retryMax      = 5 * time.Minute
	retryAttempts = 12
)

// backoff is the wait before attempt n+1 after n failures.
func backoff(n int) time.Duration {
	d := retryFirst
	for i := 1; i < n && d < retryMax; i++ {
		d *= 2
	}
	d = min(d, retryMax)
	return d/2 + rand.N(d) // uniform in [d/2, 3d/2)
}

// classify sorts a failed call by what Slack said. answered: Slack
// answered (a status, an error, a rate limit), so the call did not take
// effect; a call without an answer (a timeout, a lost connection) may
// have. retry: trying again may help (Slack down, slow or unreachable),
// unlike a request Slack refuses for what it is.
func classify(err error) (answered, retry bool) {
	var (
		sc slack.StatusCodeError
		rl *slack.RateLimitedError
		se slack.SlackErrorResponse
	)
	switch {
	case errors.As(err, &rl):
		return true, true
	case errors.As(err, &sc):
		return true, sc.Code >= 500 || sc.Code == 429 || sc.Code == 408
	case errors.As(err, &se):
		switch se.Err {
		case "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "team_added_to_org":
			return true, true
		}
		return true, false
	}
	return false, true
}

// retryable says whether trying again may help (classify).
func retryable(err error) bool {
	_, retry := classify(err)
	return retry
}

// outbox holds the card updates and thread replies waiting to be tried
// again, and how often each incident's card failed in a row.
type outbox struct {
	mu    sync.Mutex
	items map[string]*retryItem
	cards map[string]int // incident → failed card posts in a row
	// unsure: incidents whose last card post failed in a way that may
	// have landed (a timeout, a lost connection): look before posting.
	unsure map[string]bool
	seq    int
	wake   chan struct{}
}

type retryItem struct {
	key, what, incident string
	due                 time.Time
	tries               int // failures so far
	do                  func(context.Context) error
}

func newOutbox() *outbox {
	return &outbox{items: map[string]*retryItem{}, cards: map[string]int{}, unsure: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// cardFailed counts a failed card post and returns the failures in a row;
// unsure says the post may have landed all the same.
func (o *outbox) cardFailed(id string, unsure bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cards[id]++
	o.unsure[id] = unsure
	return o.cards[id]
}

// cardUnsure reports whether the incident's last card post may have landed.
func (o *outbox) cardUnsure(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.unsure[id]
}

// cardAttempts is how often an incident's card failed to post so far.
func (o *outbox) cardAttempts(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cards[id]
}

// cardPosted forgets an incident's failures: its card landed.
func (o *outbox) cardPosted(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.cards, id)
	delete(o.unsure, id)
}

// pending counts what waits to be tried again.
func (o *outbox) pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.items)
}

// later keeps do to be tried again after a backoff. Under an existing key
// it replaces the waiting work but keeps its place and count: the updates
// of one card coalesce. A zero key is a fresh one.
func (o *outbox) later(now time.Time, key, incident, what string, do func(context.Context) error) {
	o.mu.Lock()
	if key == "" {
		o.seq++
		key = fmt.Sprintf("once:%d", o.seq)
	}
	if it, ok := o.items[key]; ok {
		it.do = do
	} else {
		o.items[key] = &retryItem{key: key, what: what, incident: incident, due: now.Add(backoff(1)), tries: 1, do: do}
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// drop forgets a waiting retry: what it would do has been done.
func (o *outbox) drop(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.items, key)
}

// takeDue removes and returns the items due by now, oldest first, and
// when the next one is due.
func (o *outbox) takeDue(now time.Time) ([]*retryItem, time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var (
		due  []*retryItem
		next time.Time
	)
	for k, it := range o.items {
		if !it.due.After(now) {
			due = append(due, it)
			delete(o.items, k)
		} else if next.IsZero() || it.due.Before(next) {
			next = it.due
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].due.Before(due[j].due) })
	return due, next
}

// again puts back an item that failed once more, unless a newer one took
// its key meanwhile (that one carries the latest work).
func (o *outbox) again(it *retryItem, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.items[it.key]; ok {
		return
	}
	it.tries++
	it.due = now.Add(backoff(it.tries))
	o.items[it.key] = it
}

// runOutbox tries waiting updates and replies again as they fall due,
// until ctx ends.
func (b *Bot) runOutbox(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, next := b.outbox.takeDue(b.deps.Now())
		for _, it := range due {
			if ctx.Err() != nil {
				return nil
			}
			b.retry(ctx, it)
		}
		if len(due) > 0 {
			continue
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(b.deps.Now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-b.outbox.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
	}
}

// retry tries one waiting item once.
func (b *Bot) retry(ctx context.Context, it *retryItem) {
	cctx, cancel := context.WithTimeout(ctx, publishTimeout)
	err := it.do(cctx)
	cancel()
	log := b.log.With(keyIncident, it.incident, "what", it.what, "attempt", it.tries+1)
	switch {
	case err == nil:
		log.Info("delivered on retry")
	case !retryable(err):
		log.Error("not delivered; Slack refused it for good", "err", err)
	case it.tries+1 >= retryAttempts:
		log.Error("not delivered; giving up", "err", err)
	default:
		log.Warn("not delivered; will try again", "err", err)
		b.outbox.again(it, b.deps.Now())
	}
}

// postReply posts a thread reply, keeping it in the outbox when Slack does
// not take it.
func (b *Bot) postReply(ctx context.Context, incident, what string, m Message) {
	if _, err := b.slack.Post(ctx, m); err != nil {
		if !retryable(err) {
			b.log.Error("post "+what, keyIncident, incident, "err", err)
			return
		}
		b.log.Warn("post "+what+"; will try again", keyIncident, incident, "err", err)
		b.outbox.later(b.deps.Now(), "", incident, what, func(ctx context.Context) error {
			_, err := b.slack.Post(ctx, m)
			return err
		})
	}
}

// cardNotTaken hands an incident whose card Slack did not take back to the
// Grouper, to be posted again after a backoff.
func (b *Bot) cardNotTaken(ctx context.Context, u diagnosis.Update, err error) {
	in := u.Incident
	n := b.outbox.cardFailed(in.ID, mayHaveLanded(err))
	wait := backoff(n)
	if !retryable(err) {
		wait = max(wait, time.Minute) // nothing will change soon: someone must fix the channel
	}
	if !b.live.Undelivered(in.ID, u.Changes, b.deps.Now().Add(wait)) {
		b.log.Error("incident card not posted, and the incident left memory", keyIncident, in.ID, "err", err)
		return
	}
	b.log.Error("incident card not posted; trying again", keyIncident, in.ID, "attempt", n, "retry_in", wait.Round(time.Second).String(), "err", err)
	b.persist(ctx, in)
}

// mayHaveLanded says whether a failed post may have been taken all the
// same: Slack gave no answer nightowl could read (classify).
func mayHaveLanded(err error) bool {
	answered, _ := classify(err)
	return !answered
}

// findCard looks in the incidents channel for the card of an incident
// whose last post may have landed unanswered: its ts, "" when it is not
// there (or history cannot say, and then the card is posted again: a
// duplicate is better than no page).
func (b *Bot) findCard(ctx context.Context, in diagnosis.Incident) string {
	after := ""
	if !in.OpenedAt.IsZero() {
		after = fmt.Sprintf("%d.000000", in.OpenedAt.Add(-time.Minute).Unix())
	}
	msgs, err := b.slack.History(ctx, b.cfg.IncidentsChannel, after)
	if err != nil {
		b.log.Warn("look for a card that may have landed; posting it again", keyIncident, in.ID, "err", err)
		return ""
	}
	for _, m := range msgs {
		mine := (m.BotID != "" && m.BotID == b.self.BotID) || (m.User != "" && m.User == b.self.UserID)
		if mine && (strings.Contains(m.Text, " "+in.ID+":") || strings.Contains(m.Text, " "+in.ID+" ·")) {
			return m.Timestamp
		}
	}
	return ""
}
