package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// publishTimeout bounds one update's Slack calls, rate-limit waits included.
const publishTimeout = 30 * time.Second

// publish is the Grouper's sink: one card per incident, one thread reply per
// burst, the card updated in place, never reposted.
func (b *Bot) publish(ctx context.Context, u diagnosis.Update) {
	// An update in flight finishes even when the bot is stopping: a card that
	// Slack took but nightowl never recorded would be posted twice.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	in := u.Incident
	log := b.log.With(keyIncident, in.ID, "update", u.Kind)
	switch u.Kind {
	case diagnosis.Settled:
		b.persist(ctx, in)
		b.record(ctx, in.ID, diagnosis.EventResolved, "", "resolved before its card was due; nobody paged")
		log.Info("incident settled before its card")
		return
	}
	if in.Thread.IsZero() { // a new incident, or one whose card could not be posted yet
		b.openCard(ctx, u)
		return
	}
	unlock := b.cards.lock(in.ID)
	d := b.diagnose(ctx, in)
	unlock()
	reply := renderBurst(u)
	if u.Kind == diagnosis.IncidentResolved {
		reply = renderClosing(in, d, b.deps.Now(), b.name(ctx, in.Ack.By), b.name(ctx, in.Resolution.By))
	}
	if len(u.Changes) > 0 || !u.Unlisted.IsZero() || u.Kind == diagnosis.IncidentResolved {
		reply.Channel, reply.ThreadTS = in.Thread.Channel, in.Thread.TS
		b.postReply(ctx, in.ID, "thread reply", reply)
	}
	if u.Kind == diagnosis.IncidentResolved {
		b.askVerdict(ctx, in)
	}
	b.refreshCard(ctx, in.ID)
	b.persist(ctx, in)
	if u.Kind != diagnosis.IncidentResolved {
		ver := b.verification(ctx, in) // answered from memory: refreshCard asked
		shown := offered(d, ver)
		b.modelTriage(in, shown) // a new root cause or runbook calls for new words
		if ver.ok {
			b.dryRun(ctx, in, shown) // the recommendation may have changed with the burst
		}
	}
	switch u.Kind {
	case diagnosis.IncidentResolved:
		b.obs.IncidentResolved()
		detail := fmt.Sprintf("after %s", diagnosis.Elapsed(in.Duration(b.deps.Now())))
		if !in.Resolution.IsZero() {
			detail = fmt.Sprintf("by hand after %s; %d alerts still fired", diagnosis.Elapsed(in.Duration(b.deps.Now())), in.StillFiring())
		}
		b.record(ctx, in.ID, diagnosis.EventResolved, in.Resolution.By, detail)
		b.settle(ctx, in.ID)
		b.queuePage(ctx, PageEvent{Incident: in.ID, Action: PageResolve, At: b.deps.Now()})
	case diagnosis.Reopened:
		b.record(ctx, in.ID, diagnosis.EventReopened, "", fmt.Sprintf("%d changes", len(u.Changes)))
	default:
		b.record(ctx, in.ID, diagnosis.EventCardUpdated, "", fmt.Sprintf("%d changes, %d repeats", len(u.Changes), u.Repeats))
	}
}

// openCard posts a new incident's card, which pages on-call, then lists the
// first burst in its thread.
func (b *Bot) openCard(ctx context.Context, u diagnosis.Update) {
	in := u.Incident
	if b.outbox.cardAttempts(in.ID) == 0 { // not a card tried again
		b.obs.IncidentOpened()
	}
	b.record(ctx, in.ID, diagnosis.EventOpened, "", fmt.Sprintf("%d alerts", len(in.Alerts)))
	ver := b.verification(ctx, in) // before the lock: Alertmanager may be slow
	unlock := b.cards.lock(in.ID)
	d := b.diagnose(ctx, in)
	shown := offered(d, ver)
	v := cardView{Incident: in, Diagnosis: shown, Now: b.deps.Now(), Feedback: b.deps.Votes != nil, Unverified: !ver.ok, VerifyNote: ver.note,
		Silencing: b.deps.Silencer != nil, Links: b.alertLinks(in), Others: b.mergeChoices(in.ID)}
	v.SplitName = b.name(ctx, in.SplitFrom.By)
	resolved := in.Status == diagnosis.Resolved // it ended while its card could not be posted: nobody is woken for it
	if b.cfg.OnCall != "" && !resolved {
		v.Page = mention(b.cfg.OnCall)
	}
	v.Triage, v.TriageNote = b.cardTriage(ctx, in, shown)
	if b.triager != nil && b.triager.Model() != "" {
		v.TriageNote = fmt.Sprintf("Triage by nightowl's rules; %s is writing its own", b.triager.Model())
	}
	card := renderCard(v)
	card.Channel = b.cfg.IncidentsChannel
	// A post that timed out may have landed: look before posting again,
	// or on-call is paged twice.
	var (
		ts  string
		err error
	)
	found := b.outbox.cardUnsure(in.ID)
	if found {
		ts = b.findCard(ctx, in)
		found = ts != ""
	}
	if !found {
		ts, err = b.slack.Post(ctx, card)
		b.obs.CardPosted(b.deps.Now().Sub(in.OpenedAt), err)
	}
	if err != nil {
		unlock()
		b.cardNotTaken(ctx, u, err)
		return
	}
	b.outbox.cardPosted(in.ID)
	in, _ = b.live.Annotate(in.ID, func(i *diagnosis.Incident) {
		i.Thread = diagnosis.Thread{Channel: b.cfg.IncidentsChannel, TS: ts}
	})
	unlock()
	if v.Page != "" { // a card found after a timeout paged when it landed
		b.obs.PageSent(b.notified(ctx)) // a group's members are asked of Slack: not under the card lock
		b.esc.paged(in.ID, b.deps.Now())
		b.queuePage(ctx, b.triggerEvent(in, shown))
	}
	b.persist(ctx, in)
	if resolved {
		b.record(ctx, in.ID, diagnosis.EventCardPosted, "", fmt.Sprintf("%s/%s, resolved meanwhile: nobody paged", b.cfg.IncidentsChannel, ts))
		b.log.Info("incident card posted resolved, without a page", keyIncident, in.ID, keyTS, ts, "alerts", len(in.Alerts))
	} else {
		b.record(ctx, in.ID, diagnosis.EventCardPosted, "", fmt.Sprintf("%s/%s paged %s", b.cfg.IncidentsChannel, ts, b.cfg.OnCall))
		b.log.Info("incident card posted", keyIncident, in.ID, keyTS, ts, "alerts", len(in.Alerts), "root_cause", cardHeadline(d), "verified", ver.ok)
		b.modelTriage(in, shown)
	}

	reply := renderBurst(u)
	reply.Channel, reply.ThreadTS = in.Thread.Channel, in.Thread.TS
	b.postReply(ctx, in.ID, "first thread reply", reply)
	if !in.SplitFrom.IsZero() {
		b.splitNotes(ctx, in)
	}
	if resolved {
		b.obs.IncidentResolved()
		b.record(ctx, in.ID, diagnosis.EventResolved, "", fmt.Sprintf("after %s", diagnosis.Elapsed(in.Duration(b.deps.Now()))))
		b.settle(ctx, in.ID)
		return
	}
	if found {
		b.log.Warn("an incident card whose post timed out had landed: kept, not posted again", keyIncident, in.ID, keyTS, ts)
		b.refreshCard(ctx, in.ID) // it shows the state of its first attempt
	}
	if ver.ok {
		b.dryRun(ctx, in, shown)
	}
}

// settle records that a resolved incident ended; the store keeps a runbook's
// "fixed" or "failed" over this "resolved".
func (b *Bot) settle(ctx context.Context, id string) {
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := b.deps.Incidents.SaveOutcome(ctx, id, "", "resolved", b.deps.Now()); err != nil {
		b.log.Error("save outcome", keyIncident, id, "err", err)
	}
}

// persist saves the latest state of an incident (save).
func (b *Bot) persist(ctx context.Context, in diagnosis.Incident) { b.save(ctx, in) }

// diagnose runs the engine, which keeps the result as the incident's
// latest for button-driven refreshes, and saves it. Call with the
// incident's card lock held.
func (b *Bot) diagnose(ctx context.Context, in diagnosis.Incident) diagnosis.Diagnosis {
	start := time.Now() // wall time even under a fake Now: the metric is real latency
	d := b.diagnoses.Diagnose(ctx, in)
	b.obs.Diagnosed(time.Since(start))
	sctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := b.deps.Incidents.SaveDiagnosis(sctx, d); err != nil {
		b.log.Error("save diagnosis", keyIncident, in.ID, "err", err)
	}
	return d
}

// refreshCard re-renders an incident's card from the live state; it never
// mentions anyone (the page happened when the card was posted). An update
// Slack does not take waits in the outbox, where the updates of one card
// coalesce: the retry renders the state of its own time.
func (b *Bot) refreshCard(ctx context.Context, id string) {
	key := "update:" + id
	err := b.updateCard(ctx, id)
	switch {
	case err == nil:
		b.outbox.drop(key) // a waiting retry has nothing left to do
	case retryable(err):
		b.log.Warn("update incident card; will try again", keyIncident, id, "err", err)
		b.outbox.later(b.deps.Now(), key, id, "card update", func(ctx context.Context) error { return b.updateCard(ctx, id) })
	default:
		b.log.Error("update incident card", keyIncident, id, "err", err)
	}
}

// updateCard renders an incident's card and replaces it in Slack; nil when
// there is no card to update.
func (b *Bot) updateCard(ctx context.Context, id string) error {
	live, ok := b.live.Incident(id)
	if !ok {
		return nil
	}
	ver := verdict{ok: true} // a resolved card offers no runbook anyway
	if live.Status != diagnosis.Resolved && !live.Thread.IsZero() {
		ver = b.verification(ctx, live) // before the lock: Alertmanager may be slow
	}
	defer b.cards.lock(id)() // a card being posted holds it until its thread is known
	in, ok := b.live.Incident(id)
	if !ok || in.Thread.IsZero() {
		return nil
	}
	if live.Thread.IsZero() && in.Status != diagnosis.Resolved {
		ver = b.verification(ctx, in) // the card landed while this click waited
	}
	d, ok := b.diagnoses.Latest(id)
	if !ok {
		d = b.diagnose(ctx, in)
	}
	if in.Status == diagnosis.Resolved {
		b.diagnoses.Forget(id)
		b.triage.forget(id)
		b.forgetVerified(in)
		ver = verdict{ok: true}
	}
	shown := offered(d, ver)
	v := cardView{Incident: in, Diagnosis: shown, Now: b.deps.Now(), Feedback: b.deps.Votes != nil, Unverified: !ver.ok, VerifyNote: ver.note,
		Silencing: b.deps.Silencer != nil, Links: b.alertLinks(in), Others: b.mergeChoices(id)}
	if s, ok := b.cardSilence(ctx, id); ok {
		v.Silence, v.SilencedBy = &s, b.name(ctx, s.CreatedBy)
	}
	if b.cfg.OnCall != "" {
		v.PagedName = "@" + b.name(ctx, b.cfg.OnCall)
	}
	v.Triage, v.TriageNote = b.cardTriage(ctx, in, shown)
	v.Costs = b.cardCosts(ctx, id)
	v.Up, v.Down = b.cardVotes(ctx, id)
	if c, ok := b.cardCorrection(ctx, id); ok {
		v.Correction, v.CorrectedBy = &c, b.name(ctx, c.By)
	}
	v.AckName, v.EscName, v.SplitName = b.name(ctx, in.Ack.By), b.name(ctx, in.Escalation.By), b.name(ctx, in.SplitFrom.By)
	if r, ok := b.latestRun(id); ok {
		v.Run = &r
		v.RunBy = b.name(ctx, r.RequestedBy)
	}
	return b.slack.Update(ctx, in.Thread.Channel, in.Thread.TS, renderCard(v))
}

// name shows a user (or group) by name, without mentioning them.
func (b *Bot) name(ctx context.Context, id string) string { return b.people.DisplayName(ctx, id) }

// members lists a user group's members; WebAPI has it, a Slack that has
// not counts a group page as one notification.
type members interface {
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// notified is how many people a page of OnCall reached: one user, or the
// members of a user group (S…), asked of Slack once per page.
func (b *Bot) notified(ctx context.Context) int {
	if !strings.HasPrefix(b.cfg.OnCall, "S") {
		return 1
	}
	g, ok := b.slack.(members)
	if !ok {
		return 1
	}
	ids, err := g.GroupMembers(ctx, b.cfg.OnCall)
	if err != nil {
		b.log.Debug("on-call group members unknown; the page counts as one", "group", b.cfg.OnCall, "err", err)
		return 1
	}
	return len(ids)
}
