package bot

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Silences from the card: anyone in the incidents channel may silence an
// incident's alerts in Alertmanager for 1 h, 4 h or until Monday 09:00,
// and expire the silence; who did what is posted in the thread and kept
// on the record.

// Silence is a silence to create in Alertmanager.
type Silence struct {
	Matchers         []SilenceMatcher
	StartsAt, EndsAt time.Time
	CreatedBy        string // a person's name
	Comment          string
}

// Silencer creates and expires Alertmanager silences; deploy/alertmanager's
// Client does, through cmd/bot.
type Silencer interface {
	CreateSilence(ctx context.Context, s Silence) (id string, err error)
	ExpireSilence(ctx context.Context, id string) error
}

// SilenceRecord is a silence made from a card, as audited.
type SilenceRecord struct {
	ID, Incident, CreatedBy string // CreatedBy and ExpiredBy are user IDs
	Matchers                []SilenceMatcher
	StartsAt, EndsAt        time.Time
	CreatedAt               time.Time
	ExpiredBy               string
	ExpiredAt               time.Time
}

// Active reports whether the silence still mutes at now.
func (s SilenceRecord) Active(now time.Time) bool {
	return s.ExpiredAt.IsZero() && now.Before(s.EndsAt)
}

// SilenceAudit keeps the silences made from cards; the store implements
// it (through cmd/bot).
type SilenceAudit interface {
	SaveSilence(ctx context.Context, s SilenceRecord) error
	ExpireSilence(ctx context.Context, id, by string, at time.Time) error
	IncidentSilence(ctx context.Context, incident string) (SilenceRecord, bool, error)
}

// The choices of the card's Silence menu.
const (
	silenceHour   = "1h"
	silence4Hours = "4h"
	silenceMonday = "monday"
)

// silenceEnd is when a silence chosen at now ends: an hour, four, or the
// next Monday 09:00 in loc (a week on, on a Monday past 09:00).
func silenceEnd(choice string, now time.Time, loc *time.Location) (time.Time, bool) {
	switch choice {
	case silenceHour:
		return now.Add(time.Hour), true
	case silence4Hours:
		return now.Add(4 * time.Hour), true
	case silenceMonday:
		t := now.In(loc)
		days := (int(time.Monday) - int(t.Weekday()) + 7) % 7
		end := time.Date(t.Year(), t.Month(), t.Day()+days, 9, 0, 0, 0, loc)
		if !end.After(now) {
			end = time.Date(t.Year(), t.Month(), t.Day()+days+7, 9, 0, 0, 0, loc)
		}
		return end, true
	}
	return time.Time{}, false
}

// slackTime shows a time of day in each reader's own zone, with a UTC
// fallback.
func slackTime(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{time}|%s>", t.Unix(), t.UTC().Format("15:04 UTC"))
}

// slackDate shows a time in each reader's own zone, with a UTC fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// onSilence silences the incident's alerts in Alertmanager for the time
// picked in the card's menu.
func (b *Bot) onSilence(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	value := cmp.Or(act.SelectedOption.Value, act.Value)
	id, choice := ParseActionValue(value)
	act.Value = id
	in, ok := b.liveIncident(ctx, cb, act)
	if !ok {
		return
	}
	if b.deps.Silencer == nil {
		b.replyClick(ctx, cb, "Silences cannot be made from Slack here: set ALERTMANAGER_URL.")
		return
	}
	now := b.deps.Now()
	end, ok := silenceEnd(choice, now, b.cfg.Location)
	if !ok {
		b.replyClick(ctx, cb, fmt.Sprintf("%q is no silence nightowl knows: pick 1 hour, 4 hours or until Monday 09:00.", escape(choice)))
		return
	}
	matchers := incidentMatchers(in)
	if len(matchers) == 0 {
		b.replyClick(ctx, cb, fmt.Sprintf("%s holds no alert by name to silence.", in.ID))
		return
	}
	who := b.name(ctx, cb.User.ID)
	comment := fmt.Sprintf("Silenced from the nightowl card of %s", in.ID)
	if link := b.cardLink(in); link != "" {
		comment += " " + link
	}
	sid, err := b.deps.Silencer.CreateSilence(ctx, Silence{Matchers: matchers, StartsAt: now, EndsAt: end, CreatedBy: who, Comment: comment})
	if err != nil {
		b.log.Error("create silence", keyIncident, in.ID, keyUser, cb.User.ID, "err", err)
		b.replyClick(ctx, cb, "Alertmanager did not take the silence; nothing is silenced. The error is logged.")
		return
	}
	rec := SilenceRecord{ID: sid, Incident: in.ID, CreatedBy: cb.User.ID, Matchers: matchers, StartsAt: now, EndsAt: end, CreatedAt: now}
	b.auditSilence(ctx, func(ctx context.Context, a SilenceAudit) error { return a.SaveSilence(ctx, rec) })
	raw, _ := json.Marshal(matchers)
	b.record(ctx, in.ID, diagnosis.EventKind("silenced"), cb.User.ID, fmt.Sprintf("%s until %s: %s", sid, end.UTC().Format(time.RFC3339), raw))
	b.log.Info("incident silenced", keyIncident, in.ID, keyUser, cb.User.ID, "silence", sid, "until", end)
	text := fmt.Sprintf("🔕 %s silenced %s in Alertmanager until %s: `%s`. Anyone in this channel may expire it.",
		escape(who), plural(len(in.Alerts), "alert", "alerts"), slackDate(end), escape(truncate(matcherText(matchers), maxNoteText)))
	btn := slack.NewButtonBlockElement(ActionSilenceExpire, buttonValue(in.ID, sid), plainText("Expire silence"))
	msg := Message{Channel: in.Thread.Channel, ThreadTS: in.Thread.TS, Text: text, Blocks: []slack.Block{
		slack.NewSectionBlock(mrkdwn(truncate(text, maxSectionText)), nil, nil),
		slack.NewActionBlock("silence-actions", btn),
	}}
	b.postReply(ctx, in.ID, "silence", msg)
	b.refreshCard(ctx, in.ID)
}

// onExpireSilence ends a silence made from the card.
func (b *Bot) onExpireSilence(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) {
	id, sid := ParseActionValue(act.Value)
	if b.deps.Silencer == nil || sid == "" {
		b.replyClick(ctx, cb, "Silences cannot be expired from Slack here: set ALERTMANAGER_URL.")
		return
	}
	if err := b.deps.Silencer.ExpireSilence(ctx, sid); err != nil {
		b.log.Error("expire silence", keyIncident, id, keyUser, cb.User.ID, "silence", sid, "err", err)
		b.replyClick(ctx, cb, "Alertmanager did not expire the silence; it still holds. The error is logged.")
		return
	}
	now := b.deps.Now()
	b.auditSilence(ctx, func(ctx context.Context, a SilenceAudit) error { return a.ExpireSilence(ctx, sid, cb.User.ID, now) })
	b.record(ctx, id, diagnosis.EventKind("silence_expired"), cb.User.ID, sid)
	b.log.Info("silence expired", keyIncident, id, keyUser, cb.User.ID, "silence", sid)
	text := fmt.Sprintf("🔔 %s expired the silence of %s at %s: its alerts notify again.", escape(b.name(ctx, cb.User.ID)), escape(id), slackDate(now))
	thread := cmp.Or(cb.Container.ThreadTs, cb.Container.MessageTs)
	if in, ok := b.live.Incident(id); ok && !in.Thread.IsZero() {
		thread = in.Thread.TS
	}
	b.postReply(ctx, id, "silence expired", Message{Channel: cb.Channel.ID, ThreadTS: thread, Text: text,
		Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}})
	b.refreshCard(ctx, id)
}

// auditSilence keeps a silence on the record; failures are logged.
func (b *Bot) auditSilence(ctx context.Context, f func(context.Context, SilenceAudit) error) {
	if b.deps.SilenceAudit == nil {
		return
	}
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := f(ctx, b.deps.SilenceAudit); err != nil {
		b.log.Error("audit silence", "err", err)
	}
}

// cardSilence is the incident's silence the card shows, if one holds now.
func (b *Bot) cardSilence(ctx context.Context, id string) (SilenceRecord, bool) {
	if b.deps.SilenceAudit == nil {
		return SilenceRecord{}, false
	}
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	s, ok, err := b.deps.SilenceAudit.IncidentSilence(ctx, id)
	if err != nil {
		b.log.Warn("silence of incident", keyIncident, id, "err", err)
		return SilenceRecord{}, false
	}
	return s, ok && s.Active(b.deps.Now())
}

// silenceMenu is the card's Silence menu.
func silenceMenu(id string) slack.BlockElement {
	opt := func(choice, label string) *slack.OptionBlockObject {
		return slack.NewOptionBlockObject(buttonValue(id, choice), plainText(label), nil)
	}
	return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("🔕 Silence…"), ActionSilence,
		opt(silenceHour, "Silence 1 hour"), opt(silence4Hours, "Silence 4 hours"), opt(silenceMonday, "Silence until Monday 09:00"))
}

// silenceLine is the card's word on a silence that holds.
func silenceLine(s SilenceRecord, by string) string {
	return fmt.Sprintf("🔕 Silenced by %s until %s", plainName(by, maxPersonName), slackDate(s.EndsAt))
}
