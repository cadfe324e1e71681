package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// retire handles an incident that left memory while still firing (nobody
// heard from it for INCIDENT_STALE_AFTER, or MAX_INCIDENTS was reached): it
// is saved as it was and marked retired, so a restart does not take it
// back; its thread says so; what the bot kept about it goes. A later alert
// opens a new card.
func (b *Bot) retire(ctx context.Context, u diagnosis.Update) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	in := u.Incident
	b.save(ctx, in)
	rctx, rcancel := diagnosis.Detached(ctx)
	err := b.deps.Incidents.RetireIncident(rctx, in.ID, b.deps.Now(), u.Note)
	rcancel()
	if err != nil {
		b.log.Error("mark incident retired; it may be taken back after a restart", keyIncident, in.ID, "err", err)
	}
	b.record(ctx, in.ID, diagnosis.EventRetired, "", u.Note)
	b.diagnoses.Forget(in.ID)
	b.triage.forget(in.ID)
	b.forgetVerified(in)
	b.log.Info("incident retired while firing", keyIncident, in.ID, "why", u.Note, "alerts", in.AlertCount())
	if in.Thread.IsZero() {
		return
	}
	text := fmt.Sprintf("💤 nightowl stopped following %s: %s. It stays on the record (`/diag %s`); an alert that fires from now on opens a new card.",
		in.ID, escape(truncate(u.Note, maxNoteText)), in.ID)
	m := Message{Channel: in.Thread.Channel, ThreadTS: in.Thread.TS, Text: truncate(text, maxNoteText),
		Blocks: []slack.Block{slack.NewContextBlock("", mrkdwn(truncate(text, maxSectionText)))}}
	if _, err := b.slack.Post(ctx, m); err != nil {
		b.log.Error("post retirement note", keyIncident, in.ID, "err", err)
	}
}

// linkSummarised marks in the alert log the alerts an incident summarises
// rather than holds one by one (MaxAlerts): the log is where they are
// kept, and after a restart it tells the incident their states again.
func (b *Bot) linkSummarised(ctx context.Context, alerts []diagnosis.Alert, outs []diagnosis.Outcome) {
	var byIncident map[string][]string
	for i, out := range outs {
		if !out.Summarised || i >= len(alerts) {
			continue
		}
		if byIncident == nil {
			byIncident = map[string][]string{}
		}
		byIncident[out.Incident] = append(byIncident[out.Incident], alerts[i].Fingerprint)
	}
	for id, fps := range byIncident {
		lctx, cancel := diagnosis.Detached(ctx)
		err := b.deps.Records.LinkAlerts(lctx, id, fps)
		cancel()
		if err != nil {
			b.log.Error("link summarised alerts to their incident", keyIncident, id, "alerts", len(fps), "err", err)
		}
	}
}
