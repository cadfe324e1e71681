package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Votes keeps people's 👍 and 👎 on diagnoses; the store implements it.
type Votes interface {
	Vote(ctx context.Context, incident, user string, vote int, rootCause string, at time.Time) error
	Votes(ctx context.Context, incident string) (up, down int, err error)
}

// cardVotes counts the 👍 and 👎 on an incident's diagnosis.
func (b *Bot) cardVotes(ctx context.Context, id string) (up, down int) {
	if b.deps.Votes == nil {
		return 0, 0
	}
	sctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	up, down, err := b.deps.Votes.Votes(sctx, id)
	if err != nil {
		b.log.Warn("votes", keyIncident, id, "err", err)
	}
	return up, down
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
	sctx, cancel := diagnosis.Detached(ctx)
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
	if err != nil || strings.Trim(frac, "0123456789") != "" { // "-5" is no fraction
		return b.deps.Now()
	}
	return time.Unix(s, us*int64(time.Microsecond/time.Nanosecond)).UTC()
}

// votedCandidate finds the candidate a vote button names by its
// candidateRef among the incident's candidates (a card drawn before votes
// carried references names the service itself).
func (b *Bot) votedCandidate(ctx context.Context, id, ref string) (string, bool) {
	_, d, ok := b.diagnoses.Find(ctx, id)
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
