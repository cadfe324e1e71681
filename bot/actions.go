package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Action IDs of the card's buttons and menus, all of nightowl's in this one
// file; the router (socket.go) maps each to its handler.
const (
	ActionRunbookApprove = "runbook_approve"
	ActionRunbookManual  = "runbook_manual"
	ActionEscalate       = "incident_escalate"
	ActionAck            = "incident_ack"
	// ActionVoteUp and ActionVoteDown are the 👍 Right cause and 👎 Wrong
	// cause buttons; ActionCausePick is the menu of other causes a 👎 offers.
	ActionVoteUp    = "diagnosis_vote_up"
	ActionVoteDown  = "diagnosis_vote_down"
	ActionCausePick = "diagnosis_cause_pick"
	// ActionPageActionable and ActionPageNotActionable answer "Was this
	// page actionable?" in a resolved incident's thread (verdict.go).
	ActionPageActionable    = "page_actionable"
	ActionPageNotActionable = "page_not_actionable"
	// ActionSilence is the card's Silence menu (1 h, 4 h, until Monday),
	// ActionSilenceExpire the Expire silence button in the thread.
	ActionSilence       = "incident_silence"
	ActionSilenceExpire = "silence_expire"
	// ActionResolve is the card's Resolve button (with a confirm dialog),
	// ActionMerge its "Merge into…" menu of the other open incidents
	// (resolve.go).
	ActionResolve = "incident_resolve"
	ActionMerge   = "incident_merge"
	// ActionSplit is the card's "Split…" menu of its services (split.go).
	ActionSplit = "incident_split"
)

// Action IDs of the buttons on a run request's message in the thread.
const (
	ActionRequestApprove = "request_approve"
	ActionRequestReject  = "request_reject"
	ActionRunCancel      = "run_cancel"
)

// ParseActionValue splits a button value "INC-…|RB-…" into incident and runbook.
func ParseActionValue(v string) (incident, runbook string) {
	incident, runbook, _ = strings.Cut(v, "|")
	return incident, runbook
}

// liveIncident finds the incident a button is about, or tells the clicker why not.
func (b *Bot) liveIncident(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) (diagnosis.Incident, bool) {
	id, _ := ParseActionValue(act.Value)
	in, ok := b.live.Incident(id)
	if ok && in.Thread.IsZero() && cb.Container.MessageTs != "" {
		// The click beat the card's own bookkeeping: the clicked card is the thread.
		in.Thread = diagnosis.Thread{Channel: cb.Container.ChannelID, TS: cb.Container.MessageTs}
	}
	if !ok {
		b.replyClick(ctx, cb, fmt.Sprintf("%s is closed; nothing to do.", escape(id)))
		b.log.Info("button for a closed incident", keyIncident, id, keyUser, cb.User.ID, "action_id", act.ActionID)
		return in, false
	}
	return in, true
}

// onAck records who acknowledged the incident and shows it on the card.
func (b *Bot) onAck(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	in, ok := b.liveIncident(ctx, cb, act)
	if !ok {
		return
	}
	first := false
	in, _ = b.live.Annotate(in.ID, func(i *diagnosis.Incident) {
		if i.Ack.IsZero() {
			i.Ack = diagnosis.Mark{By: cb.User.ID, At: b.deps.Now()}
			first = true
		}
	})
	if !first {
		b.replyClick(ctx, cb, fmt.Sprintf("%s was already acknowledged by %s at %s.",
			in.ID, escape(b.name(ctx, in.Ack.By)), slackTime(in.Ack.At)))
		return
	}
	b.save(ctx, in)
	b.record(ctx, in.ID, diagnosis.EventAcked, cb.User.ID, "")
	b.queuePage(ctx, PageEvent{Incident: in.ID, Action: PageAcknowledge, At: in.Ack.At})
	b.log.Info("incident acknowledged", keyIncident, in.ID, keyUser, cb.User.ID)
	b.refreshCard(ctx, in.ID)
}

// onEscalate pages ESCALATION once, in the incident's thread.
func (b *Bot) onEscalate(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	in, ok := b.liveIncident(ctx, cb, act)
	if !ok {
		return
	}
	if b.cfg.Escalation == "" {
		b.replyClick(ctx, cb, "Nobody to escalate to: set ESCALATION to a user (U…) or user group (S…).")
		b.log.Warn("escalate clicked without ESCALATION", keyIncident, in.ID, keyUser, cb.User.ID)
		return
	}
	first := false
	in, _ = b.live.Annotate(in.ID, func(i *diagnosis.Incident) {
		if i.Escalation.IsZero() {
			i.Escalation = diagnosis.Mark{By: cb.User.ID, At: b.deps.Now()}
			first = true
		}
	})
	if !first {
		b.replyClick(ctx, cb, fmt.Sprintf("%s was already escalated by %s at %s.",
			in.ID, escape(b.name(ctx, in.Escalation.By)), slackTime(in.Escalation.At)))
		return
	}
	text := fmt.Sprintf("⬆️ %s escalated %s: paging %s.", escape(b.name(ctx, cb.User.ID)), in.ID, mention(b.cfg.Escalation))
	msg := Message{Channel: in.Thread.Channel, ThreadTS: in.Thread.TS, Text: text,
		Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}}
	if _, err := b.slack.Post(ctx, msg); err != nil {
		b.log.Error("post escalation", keyIncident, in.ID, "err", err)
	}
	b.save(ctx, in)
	b.record(ctx, in.ID, diagnosis.EventEscalated, cb.User.ID, b.cfg.Escalation)
	b.log.Info("incident escalated", keyIncident, in.ID, keyUser, cb.User.ID, "to", b.cfg.Escalation)
	b.refreshCard(ctx, in.ID)
}

// onRunbookPending answers runbook buttons until runbooks are wired in.
func (b *Bot) onRunbookPending(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	_, rb := ParseActionValue(act.Value)
	b.replyClick(ctx, cb, fmt.Sprintf("Runbook %s cannot be run from Slack here: no runbook catalog is configured.", escape(rb)))
}
