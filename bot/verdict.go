package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
)

// askVerdict asks, in a resolved incident's thread, whether its page was
// worth waking for: the answers make the false-positive rate of its alert
// rules and teams (/diag report).
func (b *Bot) askVerdict(ctx context.Context, in diagnosis.Incident) {
	if in.Thread.IsZero() {
		return
	}
	m := renderVerdict(in.ID, "")
	m.Channel, m.ThreadTS = in.Thread.Channel, in.Thread.TS
	b.postReply(ctx, in.ID, "actionable question", m)
}

// renderVerdict is the question with its Yes and No buttons; answered,
// when set, says who answered what (the buttons stay: a later answer
// replaces it).
func renderVerdict(id, answered string) Message {
	text := "*Was this page actionable?* Your answer counts toward the false-positive rate of its alert rules in `/diag report`."
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil),
		slack.NewActionBlock("page-verdict",
			slack.NewButtonBlockElement(ActionPageActionable, buttonValue(id), plainText("Yes, someone had to act")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement(ActionPageNotActionable, buttonValue(id), plainText("No, it paged for nothing")))}
	if answered != "" {
		blocks = append(blocks, slack.NewContextBlock("page-verdict-answer", mrkdwn(answered)))
	}
	return Message{Text: "Was this page actionable? (" + id + ")", Blocks: blocks}
}

// onVerdict keeps someone's answer to "Was this page actionable?" on the
// incident's record (the latest answer counts) and shows it under the
// question.
func (b *Bot) onVerdict(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	id, _ := ParseActionValue(act.Value)
	if !strings.HasPrefix(id, "INC-") {
		b.log.Warn("actionable answer without an incident", keyUser, cb.User.ID, "value", act.Value)
		return
	}
	word := oncall.VerdictActionable
	if act.ActionID == ActionPageNotActionable {
		word = oncall.VerdictNotActionable
	}
	b.record(ctx, id, oncall.EventVerdict, cb.User.ID, word)
	b.log.Info("page verdict", keyIncident, id, keyUser, cb.User.ID, "verdict", word)
	answered := fmt.Sprintf("%s answered: %s, at %s UTC.", escape(b.name(ctx, cb.User.ID)), word, b.clickedAt(act).UTC().Format("15:04"))
	if err := b.slack.Update(ctx, cb.Container.ChannelID, cb.Container.MessageTs, renderVerdict(id, answered)); err != nil {
		b.log.Warn("show the actionable answer", keyIncident, id, "err", err)
		b.replyClick(ctx, cb, "Noted: "+answered)
	}
}
