package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/commands"
)

// Handlers for the three kinds of envelopes, routed by table: inner event
// type, slash command, and action_id.
type (
	eventHandler  func(ctx context.Context, ev slackevents.EventsAPIEvent)
	slashHandler  func(ctx context.Context, cmd slack.SlashCommand)
	actionHandler func(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction)
)

type routes struct {
	events  map[string]eventHandler
	slash   map[string]slashHandler
	actions map[string]actionHandler
}

// newRoutes is the routing table: every envelope kind, slash command and
// action_id the bot answers (the commands' only when it has them).
func (b *Bot) newRoutes() routes {
	r := routes{
		events: map[string]eventHandler{
			string(slackevents.Message):    b.onMessage,
			string(slackevents.AppMention): b.onMention,
		},
		slash: map[string]slashHandler{},
		actions: map[string]actionHandler{
			ActionAck:            b.onAck,
			ActionEscalate:       b.onEscalate,
			ActionRunbookApprove: b.onRunbookApprove,
			ActionRunbookManual:  b.onRunbookManual,
			ActionRequestApprove: b.onRequestApprove,
			ActionRequestReject:  b.onRequestReject,
			ActionRunCancel:      b.onRunCancel,
			ActionVoteUp:         b.onVote,
			ActionVoteDown:       b.onVote,
			ActionCausePick:      b.onCausePick,

			ActionPageActionable:    b.onVerdict, // verdict.go
			ActionPageNotActionable: b.onVerdict,
			ActionSilence:           b.onSilence,
			ActionSilenceExpire:     b.onExpireSilence,
			ActionResolve:           b.onResolve, // resolve.go
			ActionMerge:             b.onMerge,
			ActionSplit:             b.onSplit, // split.go
		},
	}
	if b.commander != nil {
		for _, name := range commands.Commands {
			r.slash[name] = b.onSlash
		}
	}
	return r
}

// dedupBudget bounds the socket loop's one database call per event.
const dedupBudget = 300 * time.Millisecond

// dispatch routes an envelope before the connection acks it: alert
// messages are recorded at once (the ack tells Slack they are safe),
// commands and clicks go to their lanes (lanes.go), never waiting.
func (b *Bot) dispatch(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		b.log.Debug("socket mode", "state", evt.Type)
		b.catchUpSoon() // what was relayed while nightowl was away (catchup.go)
	case socketmode.EventTypeConnecting, socketmode.EventTypeHello:
		b.log.Debug("socket mode", "state", evt.Type)
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage:
		b.log.Warn("socket mode trouble", "state", evt.Type, "detail", fmt.Sprint(evt.Data))
	case socketmode.EventTypeInvalidAuth:
		b.log.Error("socket mode refused the app token")
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok {
			return
		}
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" && !b.alertMessage(ev) {
			// The socket loop acks every envelope: a database that is slow or
			// locked must not hold it up for long (a redelivery slipping
			// through is deduplicated again by message and fingerprint).
			dctx, cancel := context.WithTimeout(ctx, dedupBudget)
			first, err := b.deps.Records.FirstSeen(dctx, "event:"+cb.EventID, b.deps.Now())
			cancel()
			if err != nil {
				b.log.Warn("event dedup skipped", "event_id", cb.EventID, "err", err)
			}
			if err == nil && !first {
				b.log.Debug("redelivered event skipped", "event_id", cb.EventID, "retry", evt.Request.RetryAttempt)
				return
			}
		}
		if h, ok := b.routes.events[ev.InnerEvent.Type]; ok {
			h(ctx, ev)
		}
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			return
		}
		h, ok := b.routes.slash[cmd.Command]
		if !ok {
			h = b.onUnknownCommand
		}
		b.spawnCommand(cmd, func(ctx context.Context) { h(ctx, cmd) })
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || cb.Type != slack.InteractionTypeBlockActions {
			return
		}
		for _, act := range cb.ActionCallback.BlockActions {
			h, ok := b.routes.actions[act.ActionID]
			if !ok {
				b.log.Warn("button without handler", "action_id", act.ActionID, keyUser, cb.User.ID)
				continue
			}
			b.spawnClick(cb, func(ctx context.Context) { h(ctx, cb, act) })
		}
	}
}

func (b *Bot) onUnknownCommand(ctx context.Context, cmd slack.SlashCommand) {
	b.reply(ctx, cmd.ChannelID, cmd.UserID, fmt.Sprintf("nightowl does not know %s yet.", escape(cmd.Command)))
}

// reply tells one person something, ephemerally; failures are logged.
func (b *Bot) reply(ctx context.Context, channel, user, text string) {
	m := Message{Text: truncate(text, maxSectionText), Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(text, maxSectionText)), nil, nil)}}
	if err := b.slack.Ephemeral(ctx, channel, user, m); err != nil {
		b.log.Warn("ephemeral reply", keyUser, user, keyChannel, channel, "err", err)
	}
}

// replyClick answers a click ephemerally, in the thread of the clicked
// message when it is a thread reply, so the answer is where the button was.
func (b *Bot) replyClick(ctx context.Context, cb slack.InteractionCallback, text string) {
	m := Message{Text: truncate(text, maxSectionText), ThreadTS: cb.Container.ThreadTs,
		Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(text, maxSectionText)), nil, nil)}}
	if err := b.slack.Ephemeral(ctx, cb.Channel.ID, cb.User.ID, m); err != nil {
		b.log.Warn("ephemeral reply", keyUser, cb.User.ID, keyChannel, cb.Channel.ID, "err", err)
	}
}

// alertMessage says whether an event is a message in the alerts channel:
// those are deduplicated by message as they are recorded, in one step,
// rather than by event ID beforehand (a crash between the two would make
// Slack's redelivery look like a repeat).
func (b *Bot) alertMessage(ev slackevents.EventsAPIEvent) bool {
	me, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	return ok && me.Channel == b.cfg.AlertsChannel
}
