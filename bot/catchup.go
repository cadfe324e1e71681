package bot

import (
	"context"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Catching up: what nightowl does about alerts it may have missed.
//
// On start, alerts that were recorded (and acked) but that no saved
// incident holds (the process died between the two) are grouped again:
// regroup. Then, on every (re)connection to Socket Mode, the alerts
// channel's history since the latest message on record is read back and
// taken like live messages (catchUp), so alerts relayed while nightowl was
// down or disconnected are not lost; a message already on record is
// skipped, so reading history twice takes nothing twice.

// regroupWindow bounds how far back regroup looks for alerts no incident
// holds: older ones would make cards for what is long over.
const regroupWindow = 24 * time.Hour

// historyBudget bounds one read of the alerts channel's history.
const historyBudget = 2 * time.Minute

// regroup groups again the alerts on record that no saved incident holds.
func (b *Bot) regroup(ctx context.Context) {
	rctx, cancel := diagnosis.Detached(ctx)
	alerts, err := b.deps.Records.Ungrouped(rctx, b.deps.Now().Add(-regroupWindow))
	cancel()
	if err != nil {
		b.log.Error("find alerts recorded before a restart but never grouped", "err", err)
		return
	}
	if len(alerts) == 0 {
		return
	}
	b.log.Warn("grouping again alerts recorded before a restart that no incident held", "alerts", len(alerts))
	b.group(ctx, alerts)
}

// catchUpSoon asks for the alerts channel's history to be read again.
func (b *Bot) catchUpSoon() {
	select {
	case b.catchup <- struct{}{}:
	default: // one is already due
	}
}

// runCatchUp reads history each time it is asked to, until ctx ends.
func (b *Bot) runCatchUp(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.catchup:
			b.catchUp(ctx)
		}
	}
}

// catchUp reads the alerts channel's messages after the latest on record
// and takes each as if it had just arrived.
func (b *Bot) catchUp(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, historyBudget)
	defer cancel()
	ch := b.cfg.AlertsChannel
	after, err := b.deps.Records.LastMessage(ctx, ch)
	if err != nil {
		b.log.Error("find where the alerts channel's history resumes", keyChannel, ch, "err", err)
		return
	}
	if after == "" {
		return // nothing on record: a new install starts from now
	}
	msgs, err := b.slack.History(ctx, ch, after)
	if err != nil {
		b.log.Error("read the alerts channel's history; alerts relayed meanwhile wait for Alertmanager to repeat them", keyChannel, ch, "after", after, "err", err)
		return
	}
	taken := 0
	for i := range msgs {
		me := historyEvent(ch, &msgs[i])
		if why := b.untrusted(me); why != "" {
			continue
		}
		b.onMessage(ctx, slackevents.EventsAPIEvent{InnerEvent: slackevents.EventsAPIInnerEvent{Type: string(slackevents.Message), Data: me}})
		taken++
	}
	if taken > 0 {
		b.log.Info("alerts channel read back", keyChannel, ch, "after", after, "messages", len(msgs), "alert_messages", taken)
	}
}

// historyEvent is a message read from history in the shape of the event
// that would have carried it.
func historyEvent(channel string, m *slack.Message) *slackevents.MessageEvent {
	return &slackevents.MessageEvent{
		Type: "message", Channel: channel, TimeStamp: m.Timestamp, ThreadTimeStamp: m.ThreadTimestamp,
		SubType: m.SubType, BotID: m.BotID, User: m.User, Message: &m.Msg,
	}
}
