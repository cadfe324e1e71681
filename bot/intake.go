package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// relayedMsg is an alert-channel message, and once recorded its alerts,
// waiting for the intake goroutine; source is the bot (B…) that posted it.
type relayedMsg struct {
	channel, ts, source string
	msg                 Relayed
	received            time.Time
	alerts              []diagnosis.Alert
}

// onMessage takes message events: trusted bot posts in the alerts channel go
// to intake; everything else is dropped with its reason at debug level.
func (b *Bot) onMessage(ctx context.Context, ev slackevents.EventsAPIEvent) {
	me, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || me.Message == nil {
		return
	}
	if me.ThreadTimeStamp != "" && me.ThreadTimeStamp != me.TimeStamp {
		b.onThreadReply(ctx, me) // maybe people talking in an incident's thread
		return
	}
	if why := b.untrusted(me); why != "" {
		b.log.Debug("message ignored", keyChannel, me.Channel, keyTS, me.TimeStamp, "why", why)
		if src := b.refusedSource(me); src != "" {
			b.obs.AlertReceived(src, false)
		}
		return
	}
	source := me.Message.BotID
	if source == "" {
		source = me.BotID
	}
	m := relayedMsg{channel: me.Channel, ts: me.TimeStamp, source: source, received: b.deps.Now(), msg: Relayed{Text: me.Message.Text}}
	for _, a := range me.Message.Attachments {
		m.msg.Attachments = append(m.msg.Attachments, RelayedAttachment{
			Title: a.Title, TitleLink: a.TitleLink, Text: a.Text, Fallback: a.Fallback, Pretext: a.Pretext, Color: a.Color,
		})
	}
	b.accept(ctx, m)
}

// accept reads an alert message and commits its alerts to the record
// before its envelope is acked (the connection acks when dispatch
// returns), then hands them to intake to group. A message on record is
// never taken twice, whether Slack redelivers it or the history read after
// a reconnect finds it again; one that could not be recorded is grouped
// all the same: the page matters more than the record.
func (b *Bot) accept(ctx context.Context, m relayedMsg) {
	alerts, problems, err := b.deps.Decode(m.msg, m.received)
	if errors.Is(err, ErrNotAlert) {
		b.log.Debug("message ignored", keyChannel, m.channel, keyTS, m.ts, "why", "not an alert")
		return
	}
	if err != nil {
		problems = append(problems, err.Error())
	}
	alerts = b.ownResolutions(ctx, m, alerts)
	rctx, cancel := diagnosis.Detached(ctx)
	err = b.deps.Records.RecordAlerts(rctx, m.channel, m.ts, m.source, m.received, alerts)
	cancel()
	switch {
	case errors.Is(err, ErrSeen):
		b.log.Debug("repeated message skipped", keyChannel, m.channel, keyTS, m.ts)
		return
	case err != nil:
		b.log.Error("record alerts; grouping them all the same", keyChannel, m.channel, keyTS, m.ts, "err", err)
	}
	if len(problems) > 0 {
		b.log.Warn("alert message partly unreadable", keyChannel, m.channel, keyTS, m.ts, "alerts", len(alerts), "problems", problems)
		b.explainUnreadableLater(m, len(alerts), problems)
	}
	if len(alerts) == 0 {
		return
	}
	for range alerts {
		b.obs.AlertReceived(m.source, true)
	}
	m.alerts = alerts
	select {
	case b.intake <- m:
	case <-ctx.Done():
	}
}

// ErrSeen says a message is already on record (Records.RecordAlerts).
var ErrSeen = errors.New("message already on record")

// untrusted says why a message is not an alert to read, or "" if it is.
func (b *Bot) untrusted(me *slackevents.MessageEvent) string {
	msg := me.Message
	switch {
	case me.Channel != b.cfg.AlertsChannel:
		return "not the alerts channel"
	case me.SubType == "message_changed" || me.SubType == "message_deleted" || msg.Hidden:
		return "an edit or deletion"
	case me.ThreadTimeStamp != "" && me.ThreadTimeStamp != me.TimeStamp:
		return "a thread reply"
	case msg.BotID == "" && me.BotID == "":
		return "a human message"
	case msg.BotID == b.self.BotID || (msg.User != "" && msg.User == b.self.UserID):
		return "nightowl's own message"
	}
	if b.cfg.AnySource {
		return ""
	}
	appID := ""
	if msg.BotProfile != nil {
		appID = msg.BotProfile.AppID
	}
	if slices.Contains(b.cfg.AlertSources, msg.BotID) || (appID != "" && slices.Contains(b.cfg.AlertSources, appID)) {
		return ""
	}
	return fmt.Sprintf("bot %s (app %s) is not in ALERT_SOURCES", msg.BotID, appID)
}

// refusedSource is the bot or app that posted a message untrusted names as
// not in ALERT_SOURCES, "" for any other reason to ignore it (a human, an
// edit, another channel, nightowl itself): only the former is an alert
// message refused.
func (b *Bot) refusedSource(me *slackevents.MessageEvent) string {
	msg := me.Message
	switch {
	case b.cfg.AnySource, me.Channel != b.cfg.AlertsChannel, msg.Hidden:
		return ""
	case me.SubType == "message_changed" || me.SubType == "message_deleted":
		return ""
	case me.ThreadTimeStamp != "" && me.ThreadTimeStamp != me.TimeStamp:
		return ""
	case msg.BotID == b.self.BotID || (msg.User != "" && msg.User == b.self.UserID):
		return ""
	}
	if msg.BotID != "" {
		return msg.BotID
	}
	return me.BotID
}

// runIntake decodes alert messages in the order they arrived and feeds the
// Grouper: order matters, a resolution must never overtake its firing.
func (b *Bot) runIntake(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-b.intake:
			b.group(ctx, m.alerts)
		}
	}
}

// group feeds recorded alerts to their incidents and marks the incidents
// they changed; those are saved soon after (runSaver), so that a restart
// finds every alert that has no card yet in its incident.
func (b *Bot) group(ctx context.Context, alerts []diagnosis.Alert) {
	outs := b.live.Add(alerts...)
	b.linkSummarised(ctx, alerts, outs)
	var touched []string
	for i, out := range outs {
		switch {
		case out.Ignored != "":
			b.log.Info("alert not grouped", "alertname", alerts[i].Name(), "fingerprint", alerts[i].Fingerprint, "why", out.Ignored)
		case !out.Repeat:
			b.log.Debug("alert grouped", "alertname", alerts[i].Name(), keyIncident, out.Incident)
			if !slices.Contains(touched, out.Incident) {
				touched = append(touched, out.Incident)
			}
		}
	}
	b.unsaved.mark(touched...)
}

// saveEvery is how long the membership of the incidents alerts joined may
// wait to be saved, so that one save serves every message of a burst: the
// alerts themselves are on record already, and regroup finds any that a
// crash in between left out.
const saveEvery = 250 * time.Millisecond

// unsavedSet holds the incidents whose alerts changed since they were
// last saved.
type unsavedSet struct {
	mu   sync.Mutex
	ids  map[string]bool
	wake chan struct{}
}

func newUnsavedSet() *unsavedSet {
	return &unsavedSet{ids: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (u *unsavedSet) mark(ids ...string) {
	if len(ids) == 0 {
		return
	}
	u.mu.Lock()
	for _, id := range ids {
		u.ids[id] = true
	}
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

func (u *unsavedSet) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, 0, len(u.ids))
	for id := range u.ids {
		out = append(out, id)
	}
	clear(u.ids)
	return out
}

// runSaver saves the incidents alerts joined, at most every saveEvery,
// until ctx ends (Run saves every open incident then).
func (b *Bot) runSaver(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.unsaved.wake:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(saveEvery):
		}
		for _, id := range b.unsaved.take() {
			b.saveLive(ctx, id)
		}
	}
}

// ownResolutions drops the resolutions of alerts that another source first
// reported firing: one bot in the alerts channel cannot close what another
// opened. When the record cannot say who reported an alert, its resolution
// is dropped too (the safe side) and the error logged.
func (b *Bot) ownResolutions(ctx context.Context, m relayedMsg, alerts []diagnosis.Alert) []diagnosis.Alert {
	var fps []string
	for _, a := range alerts {
		if a.Status == diagnosis.Resolved {
			fps = append(fps, a.Fingerprint)
		}
	}
	if len(fps) == 0 {
		return alerts
	}
	rctx, cancel := diagnosis.Detached(ctx)
	origins, err := b.deps.Records.AlertOrigins(rctx, fps)
	cancel()
	if err != nil {
		b.log.Error("look up who first reported resolved alerts; their resolutions are ignored", keyChannel, m.channel, keyTS, m.ts, "err", err)
	}
	kept := make([]diagnosis.Alert, 0, len(alerts))
	var refused []string
	for _, a := range alerts {
		if a.Status == diagnosis.Resolved {
			origin, known := origins[a.Fingerprint]
			if err != nil || (known && origin != "" && origin != m.source) {
				refused = append(refused, a.Fingerprint)
				continue
			}
		}
		kept = append(kept, a)
	}
	if len(refused) > 0 {
		b.log.Warn("resolutions of alerts another source reported ignored", keyChannel, m.channel, keyTS, m.ts,
			"source", m.source, "alerts", len(refused), "fingerprints", refused[:min(len(refused), 5)])
	}
	return kept
}

// explainUnreadable answers in the alert message's thread, in one sentence,
// what could not be read: the humans watching the channel must know.
func (b *Bot) explainUnreadable(ctx context.Context, m relayedMsg, read int, problems []string) {
	text := fmt.Sprintf("⚠️ nightowl could not read part of this message (%d alerts read): %s", read, escape(strings.Join(problems, "; ")))
	msg := Message{Channel: m.channel, ThreadTS: m.ts, Text: truncate(text, 300),
		Blocks: []slack.Block{slack.NewContextBlock("", mrkdwn(truncate(text, maxSectionText)))}}
	if _, err := b.slack.Post(ctx, msg); err != nil {
		b.log.Warn("explain unreadable alert", keyChannel, m.channel, keyTS, m.ts, "err", err)
	}
}
