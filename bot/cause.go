package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Corrections keeps what people say an incident's root cause was; the
// store implements it.
type Corrections interface {
	CorrectCause(ctx context.Context, c diagnosis.Correction) error
	Correction(ctx context.Context, incident string) (c diagnosis.Correction, ok bool, err error)
}

// causeOptionsShown bounds the menu a 👎 offers.
const causeOptionsShown = 10

// corrected records the correction of a root cause that an answer kept
// (commands.Reply.Corrected) and redraws the incident's card, before the
// answer is delivered.
func (b *Bot) corrected(ctx context.Context, r commands.Reply) {
	c := r.Corrected
	if c == nil {
		return
	}
	b.record(ctx, c.Incident, diagnosis.EventKind("cause_corrected"), c.By, c.RootCause)
	b.log.Info("root cause corrected", keyIncident, c.Incident, keyUser, c.By, "root_cause", c.RootCause)
	b.refreshCard(ctx, c.Incident)
}

// cardCorrection is an incident's latest correction, for its card.
func (b *Bot) cardCorrection(ctx context.Context, id string) (diagnosis.Correction, bool) {
	if b.deps.Corrections == nil {
		return diagnosis.Correction{}, false
	}
	sctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	c, ok, err := b.deps.Corrections.Correction(sctx, id)
	if err != nil {
		b.log.Warn("cause correction", keyIncident, id, "err", err)
	}
	return c, ok && err == nil
}

// clickThread is the thread a click belongs to: the clicked message's
// thread, or the clicked card, which starts the incident's thread.
func clickThread(cb slack.InteractionCallback) string {
	if cb.Container.ThreadTs != "" {
		return cb.Container.ThreadTs
	}
	return cb.Container.MessageTs
}

// askForCause answers a 👎, only to the voter and in the incident's
// thread: what was the cause?
func (b *Bot) askForCause(ctx context.Context, cb slack.InteractionCallback, id, wrong string) {
	_, d, _ := b.diagnoses.Find(ctx, id)
	m := wrongCauseMessage(id, wrong, d)
	m.ThreadTS = clickThread(cb)
	if err := b.slack.Ephemeral(ctx, cb.Channel.ID, cb.User.ID, m); err != nil {
		b.log.Warn("ask for the cause", keyIncident, id, keyUser, cb.User.ID, "err", err)
	}
}

// wrongCauseMessage asks what the cause was instead of wrong: a menu of
// the other candidates (ActionCausePick), and the mention that names any
// service.
func wrongCauseMessage(id, wrong string, d diagnosis.Diagnosis) Message {
	opts := causeOptions(id, wrong, d)
	text := fmt.Sprintf("Thanks, noted: %s is not the cause of %s. What was? ", codeName(wrong), escape(id))
	var menu *slack.Accessory
	if len(opts) > 0 {
		text += "Pick it here, or say `@nightowl cause &lt;service&gt;` in this thread; nightowl learns it for similar incidents."
		menu = slack.NewAccessory(slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("The cause was…"), ActionCausePick, opts...))
	} else {
		text += "Say `@nightowl cause &lt;service&gt;` in this thread; nightowl learns it for similar incidents."
	}
	return Message{Text: text, Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, menu)}}
}

// causeOptions are the other candidates, best first, then the other
// affected services, as menu options whose value is "INC-…|service".
func causeOptions(id, wrong string, d diagnosis.Diagnosis) []*slack.OptionBlockObject {
	var (
		out  []*slack.OptionBlockObject
		seen = map[string]bool{wrong: true}
	)
	add := func(service, label string) {
		value := id + "|" + service
		if seen[service] || len(out) == causeOptionsShown || len(value) > maxOptionValue || strings.ContainsAny(service, " \t\n") {
			return
		}
		seen[service] = true
		out = append(out, slack.NewOptionBlockObject(value, plainText(truncate(label, maxOptionText)), nil))
	}
	for _, c := range d.Candidates {
		add(c.Service, fmt.Sprintf("%s (%.0f%%)", c.Service, c.Confidence*100))
	}
	for _, s := range d.AffectedServices {
		add(s, s)
	}
	return out
}

// onCausePick records the cause picked in a 👎's menu. It goes through the
// same words as `/diag INC-… cause <service>`, so the service is checked
// and the answer lands in the incident's thread the same way.
func (b *Bot) onCausePick(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	id, cause := ParseActionValue(act.SelectedOption.Value)
	if id == "" || cause == "" {
		b.log.Warn("cause pick without a value", keyUser, cb.User.ID, "value", act.SelectedOption.Value)
		return
	}
	if b.commander == nil {
		b.replyClick(ctx, cb, "Corrections are not wired up here.")
		return
	}
	thread := clickThread(cb)
	if in, ok := b.live.Incident(id); ok && !in.Thread.IsZero() {
		thread = in.Thread.TS // the menu is on an ephemeral message, which may not say its thread
	}
	req := commands.Request{Command: "/diag", Text: id + " cause " + cause, User: cb.User.ID, Channel: cb.Channel.ID, Incident: id}
	b.answer(ctx, req, func(m Message, public bool) error {
		if !public {
			return b.slack.Ephemeral(ctx, cb.Channel.ID, cb.User.ID, Message{Text: m.Text, Blocks: m.Blocks, ThreadTS: thread})
		}
		m.Channel, m.ThreadTS = cb.Channel.ID, thread
		_, err := b.slack.Post(ctx, m)
		return err
	}, cb.Channel.ID, thread)
}
