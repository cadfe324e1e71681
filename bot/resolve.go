package bot

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// What people do to an incident by hand from its card: Resolve it, or
// merge it into another open incident. The Grouper's rules learn nothing
// from either; the record keeps both, with who and when.

// maxMergeChoices bounds the "Merge into…" menu (Slack allows 100 options).
const maxMergeChoices = 25

// resolveButton resolves the incident by hand, after a confirmation.
func resolveButton(in diagnosis.Incident) slack.BlockElement {
	text := fmt.Sprintf("%s is marked resolved for everyone now. Alerts of it that still fire are not silenced; a new alert opens a new incident and pages again.", in.ID)
	c := confirm(fmt.Sprintf("Resolve %s?", in.ID), text, "Resolve", "Not now")
	return slack.NewButtonBlockElement(ActionResolve, in.ID, plainText("Resolve")).WithConfirm(c)
}

// mergeMenu offers the other open incidents with a card, newest first; nil
// when there are none. The choices are those open when the card was last
// rendered: a newer incident's card lists the older ones.
func mergeMenu(id string, others []diagnosis.Incident) slack.BlockElement {
	var opts []*slack.OptionBlockObject
	for _, o := range others {
		if len(opts) == maxMergeChoices {
			break
		}
		label := o.ID
		if nodes := o.Nodes(); len(nodes) > 0 {
			label += " · " + strings.Join(nodes, ", ")
		}
		opts = append(opts, slack.NewOptionBlockObject(buttonValue(id, o.ID), plainText(truncate(label, maxOptionText)), nil))
	}
	if len(opts) == 0 {
		return nil
	}
	return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("↪️ Merge into…"), ActionMerge, opts...)
}

// mergeChoices are the incidents a card's "Merge into…" menu offers.
func (b *Bot) mergeChoices(id string) []diagnosis.Incident {
	var out []diagnosis.Incident
	for _, o := range b.index.Open() {
		if o.ID != id && o.Status == diagnosis.Firing && !o.Thread.IsZero() {
			out = append(out, o)
		}
	}
	return out
}

// onResolve resolves an incident by hand: the Grouper publishes its
// resolution as it would its alerts' (publish.go), which updates the card,
// closes the thread, asks whether the page was actionable, records who
// resolved it and resolves the page in PagerDuty.
func (b *Bot) onResolve(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	in, ok := b.liveIncident(ctx, cb, act)
	if !ok {
		return
	}
	if in.Status == diagnosis.Resolved {
		who := "its alerts"
		if !in.Resolution.IsZero() {
			who = b.name(ctx, in.Resolution.By)
		}
		b.replyClick(ctx, cb, fmt.Sprintf("%s was already resolved by %s.", in.ID, escape(who)))
		return
	}
	if _, ok := b.live.Resolve(in.ID, diagnosis.Mark{By: cb.User.ID, At: b.deps.Now()}); !ok {
		b.replyClick(ctx, cb, fmt.Sprintf("%s cannot be resolved now: it is resolved already or its card is not out yet.", in.ID))
		return
	}
	b.log.Info("incident resolved by hand", keyIncident, in.ID, keyUser, cb.User.ID, "still_firing", in.StillFiring())
}

// onMerge merges the card's incident into the one picked in its menu
// (mergeIncidents).
func (b *Bot) onMerge(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	from, into := ParseActionValue(cmp.Or(act.SelectedOption.Value, act.Value))
	act.Value = from
	if _, ok := b.liveIncident(ctx, cb, act); !ok {
		return
	}
	if err := b.mergeIncidents(ctx, cb.User.ID, from, into); err != nil {
		b.replyClick(ctx, cb, escape(err.Error()))
	}
}

// mergeIncidents merges one incident into another for a person, from the
// card's menu or /diag INC-… merge INC-…: the alerts move, the card says
// where they went, both threads say so, both records keep it, and the
// merged incident's page is resolved. Nobody is paged. The error, when it
// was not merged, is the one sentence to show that person (not escaped).
func (b *Bot) mergeIncidents(ctx context.Context, user, from, into string) error {
	was, now, err := b.live.Merge(from, into)
	if err != nil {
		return fmt.Errorf("%s was not merged into %s: %w.", from, into, err)
	}
	at := b.deps.Now()
	who := escape(b.name(ctx, user))
	b.record(ctx, from, diagnosis.EventMerged, user, "into "+into)
	b.record(ctx, into, diagnosis.EventMerged, user, from+" merged in")
	b.log.Info("incident merged by hand", keyIncident, into, "merged", from, keyUser, user, "alerts", len(was.Alerts))

	closed := was
	closed.Status, closed.ResolvedAt = diagnosis.Resolved, at
	b.save(ctx, closed)
	b.save(ctx, now)
	b.queuePage(ctx, PageEvent{Incident: from, Action: PageResolve, At: at})

	where := b.linked(now)
	b.mergedCard(ctx, closed, where)
	b.threadNote(ctx, was, fmt.Sprintf("↪️ %s merged %s into %s: its alerts are followed there from now on.", who, from, where))
	n := len(was.Alerts) + was.More.Alerts
	b.threadNote(ctx, now, fmt.Sprintf("↪️ %s merged %s into %s: %s %s here.", who, b.linked(was), into,
		plural(n, "alert", "alerts"), map[bool]string{true: "moves", false: "move"}[n == 1]))
	b.diagnoses.Forget(into) // its alerts changed: diagnosed anew
	b.refreshCard(ctx, into)
	return nil
}

// linked is an incident's ID as a link to its card, when it has one.
func (b *Bot) linked(in diagnosis.Incident) string {
	if link := b.cardLink(in); link != "" {
		return fmt.Sprintf("<%s|%s>", link, in.ID)
	}
	return in.ID
}

// mergedCard renders the last card of an incident merged away: resolved,
// saying where its alerts went.
func (b *Bot) mergedCard(ctx context.Context, in diagnosis.Incident, where string) {
	defer b.cards.lock(in.ID)()
	d, ok := b.diagnoses.Latest(in.ID)
	if !ok {
		d = b.diagnoses.Diagnose(ctx, in)
	}
	b.diagnoses.Forget(in.ID)
	b.triage.forget(in.ID)
	b.forgetVerified(in)
	v := cardView{Incident: in, Diagnosis: d, Now: b.deps.Now(), MergedInto: where, Links: b.alertLinks(in)}
	if b.cfg.OnCall != "" {
		v.PagedName = "@" + b.name(ctx, b.cfg.OnCall)
	}
	v.AckName, v.EscName = b.name(ctx, in.Ack.By), b.name(ctx, in.Escalation.By)
	if err := b.slack.Update(ctx, in.Thread.Channel, in.Thread.TS, renderCard(v)); err != nil {
		b.log.Error("update merged incident's card", keyIncident, in.ID, "err", err)
	}
}

// threadNote posts one line in an incident's thread.
func (b *Bot) threadNote(ctx context.Context, in diagnosis.Incident, text string) {
	m := Message{Channel: in.Thread.Channel, ThreadTS: in.Thread.TS, Text: truncate(text, maxFallbackText),
		Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(text, maxSectionText)), nil, nil)}}
	b.postReply(ctx, in.ID, "thread note", m)
}

// renderClosing is the thread reply that closes a resolved incident.
func renderClosing(in diagnosis.Incident, d diagnosis.Diagnosis, now time.Time, ackName, resolverName string) Message {
	text := fmt.Sprintf("✅ %s resolved after %s. %d alerts, %d notifications, 1 page.",
		in.ID, diagnosis.Elapsed(in.Duration(now)), d.Alerts.Distinct, d.Alerts.Received)
	if !in.Resolution.IsZero() {
		text = fmt.Sprintf("✅ %s resolved by %s after %s. %d alerts, %d notifications, 1 page.",
			in.ID, truncate(resolverName, maxPersonName), diagnosis.Elapsed(in.Duration(now)), d.Alerts.Distinct, d.Alerts.Received)
	}
	if !in.Ack.IsZero() {
		text += fmt.Sprintf(" Acknowledged by %s %s after the start.", truncate(ackName, maxPersonName), diagnosis.Elapsed(in.Ack.At.Sub(in.StartedAt())))
	}
	if n := in.StillFiring(); !in.Resolution.IsZero() && n > 0 {
		text += fmt.Sprintf(" %s still %s; a new alert will open a new incident.", plural(n, "alert", "alerts"), map[bool]string{true: "fires", false: "fire"}[n == 1])
	}
	return Message{Text: truncate(escape(text), maxFallbackText), Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(escape(text), maxSectionText)), nil, nil)}}
}

// plural counts in words (diagnosis.Plural).
var plural = diagnosis.Plural
