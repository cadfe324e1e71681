package bot

import (
	"cmp"
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Splitting an incident by hand: people say one service's alerts are a
// separate problem. They move into a new incident with its own card, page
// and diagnosis (diagnosis.Grouper.Split); the record keeps who did it.

// splitMenu offers the incident's services, when it has two or more; nil
// otherwise. Picking one splits its alerts off into a new incident.
func splitMenu(in diagnosis.Incident) slack.BlockElement {
	nodes := in.Nodes()
	if len(nodes) < 2 {
		return nil
	}
	count := map[string]int{}
	for _, a := range in.Alerts {
		count[a.NodeOrService()]++
	}
	var opts []*slack.OptionBlockObject
	for _, n := range nodes {
		value := buttonValue(in.ID, n)
		if len(opts) == maxMergeChoices || len(value) > maxOptionValue {
			continue
		}
		label := fmt.Sprintf("%s (%s)", n, plural(count[n], "alert", "alerts"))
		opts = append(opts, slack.NewOptionBlockObject(value, plainText(truncate(label, maxOptionText)), nil))
	}
	if len(opts) < 2 {
		return nil
	}
	return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("✂️ Split…"), ActionSplit, opts...)
}

// onSplit splits the service picked in the card's menu off its incident
// (splitIncident).
func (b *Bot) onSplit(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	id, service := ParseActionValue(cmp.Or(act.SelectedOption.Value, act.Value))
	act.Value = id
	if _, ok := b.liveIncident(ctx, cb, act); !ok {
		return
	}
	if err := b.splitIncident(ctx, cb.User.ID, id, service); err != nil {
		b.replyClick(ctx, cb, escape(err.Error()))
	}
}

// splitIncident splits one service's alerts off an incident for a person,
// from the card's menu or /diag INC-… split <service>: both records keep
// it now, the old card is diagnosed and drawn anew without those alerts,
// and the new incident's card pages as any new incident's does; once it
// is out, both threads say so with links (splitNotes). The error, when
// nothing was split, is the one sentence to show that person (not escaped).
func (b *Bot) splitIncident(ctx context.Context, user, id, service string) error {
	old, split, err := b.live.Split(id, service, diagnosis.Mark{By: user, At: b.deps.Now()})
	if err != nil {
		return fmt.Errorf("%s was not split off %s: %w.", service, id, err)
	}
	b.record(ctx, id, diagnosis.EventSplit, user, service+" into "+split.ID)
	b.record(ctx, split.ID, diagnosis.EventSplit, user, service+" from "+id)
	b.log.Info("incident split by hand", keyIncident, id, "split", split.ID, "service", service, keyUser, user, "alerts", len(split.Alerts))
	b.save(ctx, old)
	b.diagnoses.Forget(id) // its alerts changed: diagnosed anew
	b.refreshCard(ctx, id)
	return nil
}

// splitNotes says in both threads, once the card of an incident split off
// another is out, who split what off where, with links to both cards.
func (b *Bot) splitNotes(ctx context.Context, in diagnosis.Incident) {
	s := in.SplitFrom
	old, _, ok := b.diagnoses.Find(ctx, s.Incident)
	if !ok {
		old = diagnosis.Incident{ID: s.Incident}
	}
	who, svc := escape(b.name(ctx, s.By)), code(s.Service)
	n := len(in.Alerts) + in.More.Alerts
	b.threadNote(ctx, in, fmt.Sprintf("✂️ %s split %s off %s into %s: a separate problem, diagnosed and paged on its own.",
		who, svc, b.linked(old), in.ID))
	if !old.Thread.IsZero() {
		b.threadNote(ctx, old, fmt.Sprintf("✂️ %s split %s off %s into %s: %s %s there, and %s pages on its own.",
			who, svc, old.ID, b.linked(in), plural(n, "alert", "alerts"), map[bool]string{true: "moves", false: "move"}[n == 1], in.ID))
	}
}

// regrouped carries out the merge or split a command asked for
// (commands.Reply.Regroup) through the very code the card's menus run,
// and returns the answer to give: the command's words, or the one-sentence
// refusal.
func (b *Bot) regrouped(ctx context.Context, r commands.Reply) commands.Reply {
	g := r.Regroup
	if g == nil {
		return r
	}
	var err error
	if g.Split {
		err = b.splitIncident(ctx, g.By, g.Incident, g.Service)
	} else {
		err = b.mergeIncidents(ctx, g.By, g.Incident, g.Into)
	}
	if err == nil {
		return r
	}
	b.log.Info("command refused", "command", "/diag", keyUser, g.By, "why", err.Error())
	why := err.Error()
	return commands.Reply{Summary: why, Blocks: []commands.Block{{Lines: []commands.Line{{{Text: "⚠️ " + why}}}}}}
}

// splitLine is the card's word on where a split-off incident came from.
func splitLine(in diagnosis.Incident, name string) string {
	if in.SplitFrom.IsZero() {
		return ""
	}
	return fmt.Sprintf("✂️ Split off %s by %s", escape(in.SplitFrom.Incident), plainName(name, maxPersonName))
}
