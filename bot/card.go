package bot

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// cardView is everything a card shows.
type cardView struct {
	Incident  diagnosis.Incident
	Diagnosis diagnosis.Diagnosis
	// Page is the mention that pages on-call: set on the card's first post
	// only; updates name the paged party without mentioning anyone.
	Page      string
	PagedName string
	AckName   string
	EscName   string
	Now       time.Time
	// Run is the incident's latest runbook request, if any.
	Run   *runbooks.Request
	RunBy string
	// Triage is the plain-words triage (nil: none); TriageNote says whose
	// it is when not the model's, Costs what the model has cost so far.
	Triage     *diagnosis.Triage
	TriageNote string
	Costs      diagnosis.Usage
	// Feedback shows the 👍/👎 buttons; Up and Down count the votes.
	Feedback bool
	Up, Down int
	// Correction is what a person said the root cause was (nil: nobody),
	// CorrectedBy their name.
	Correction  *diagnosis.Correction
	CorrectedBy string
	// Unverified is true when Alertmanager does not know the incident's
	// alerts (see Bot.verified): the card offers no runbook. VerifyNote
	// says why, in plain words.
	Unverified bool
	VerifyNote string
	// Silencing offers the Silence menu; Silence is the silence that
	// holds now (nil: none), SilencedBy who made it.
	Silencing  bool
	Silence    *SilenceRecord
	SilencedBy string
	// Links are where to look further (the alert's query, Alertmanager,
	// Grafana).
	Links []cardLinkItem
	// Others are the other open incidents, which the "Merge into…" menu
	// offers; MergedInto, set on a card merged away, names where it went.
	Others     []diagnosis.Incident
	MergedInto string
	// SplitName names who split the incident off another (SplitFrom).
	SplitName string
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// mention renders the Slack mention for a user (U…/W…) or user group (S…).
func mention(id string) string {
	if strings.HasPrefix(id, "S") {
		return "<!subteam^" + id + ">"
	}
	return "<@" + id + ">"
}

func confidenceBadge(c float64) string {
	switch {
	case c >= 0.8:
		return "🟢"
	case c >= 0.5:
		return "🟡"
	}
	return "🔴"
}

// cardHeadline is the one-line summary on the card and in notifications,
// unescaped; its names are cut to maxName.
func cardHeadline(d diagnosis.Diagnosis) string {
	top, ok := d.Top()
	if !ok {
		return "incident"
	}
	service := truncate(oneLine(top.Service), maxName)
	if len(top.Alerts) == 0 {
		return service + " (no alert of its own)"
	}
	return truncate(oneLine(top.Alerts[0]), maxName) + " on " + service
}

func renderCard(v cardView) Message {
	if v.Unverified || !runbookIDRe.MatchString(v.Diagnosis.RecommendedRunbook) {
		// Nothing to offer for alerts nobody vouched for, nor for a runbook
		// label that cannot be an ID (the buttons carry the ID).
		v.Diagnosis.RecommendedRunbook = ""
	}
	in, d := v.Incident, v.Diagnosis
	icon := "🔴"
	if in.Status == diagnosis.Resolved {
		icon = "✅"
	}
	state := ""
	if in.Status == diagnosis.Resolved {
		state = " · resolved"
	}
	if v.MergedInto != "" {
		state = " · merged"
	}
	headline := cardHeadline(d)
	// Escaped first, then cut: an entity must not push the header past its limit.
	header := truncate(escape(fmt.Sprintf("%s %s · %s%s", icon, in.ID, headline, state)), maxHeaderText)
	blocks := []slack.Block{slack.NewHeaderBlock(plainText(header), slack.HeaderBlockOptionBlockID("card-header"))}

	if cause := causeSection(v); cause != nil {
		blocks = append(blocks, cause)
	}
	if changes := changesBlock(in.ID, d); changes != nil {
		blocks = append(blocks, changes)
	}

	if t := v.Triage; t != nil {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(renderTriage(*t), maxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("card-triage")))
	}

	affected := make([]string, 0, len(d.AffectedServices))
	for _, s := range d.AffectedServices {
		affected = append(affected, codeName(s))
	}
	runbook := "_none recommended_"
	switch {
	case v.Unverified:
		runbook = "_none until the alerts are verified_"
	case d.RecommendedRunbook != "":
		runbook = codeName(d.RecommendedRunbook)
	}
	pages := max(d.Alerts.Pages, 1)
	fields := []*slack.TextBlockObject{
		mrkdwn(fmt.Sprintf("*Alerts*\n%d alerts → %d page (%d notifications)", d.Alerts.Distinct, pages, d.Alerts.Received)),
		mrkdwn(truncate(fmt.Sprintf("*Affected (%d)*\n%s", len(affected), strings.Join(affected, " ")), maxFieldText)),
		mrkdwn("*Recommended runbook*\n" + runbook),
		mrkdwn(fmt.Sprintf("*Status*\n%d firing, %d resolved", d.Alerts.Firing, d.Alerts.Resolved)),
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil, slack.SectionBlockOptionBlockID("card-facts")))

	if others := othersBlock(d); others != nil {
		blocks = append(blocks, others)
	}

	if strings.Contains(d.Metrics, "unavailable") && in.Status != diagnosis.Resolved {
		// Whoever is paged must know the diagnosis was made without them.
		text := "⚠️ *Diagnosed without Prometheus:* " + escape(truncate(oneLine(d.Metrics), maxNoteText)) + "."
		blocks = append(blocks, slack.NewContextBlock("card-metrics", mrkdwn(text)))
	}
	if d.NoGraph {
		// Whoever is paged must know what held this card's alerts together.
		blocks = append(blocks, slack.NewContextBlock("card-graph", mrkdwn("ℹ️ no service graph: grouped by time and labels")))
	}
	if v.Unverified {
		note := cmp.Or(v.VerifyNote, "the alerts could not be verified")
		text := "⚠️ *Unverified:* " + escape(truncate(oneLine(note), maxNoteText)) + ". No runbook is offered until Alertmanager vouches for every alert."
		blocks = append(blocks, slack.NewContextBlock("card-verify", mrkdwn(text)))
	}
	blocks = append(blocks, slack.NewContextBlock("card-context", mrkdwn(truncate(contextLine(v), maxSectionText))))
	if s := linksLine(v.Links); s != "" {
		blocks = append(blocks, slack.NewContextBlock("card-links", mrkdwn(s)))
	}
	if s := talkLine(v); s != "" {
		blocks = append(blocks, slack.NewContextBlock("card-talk", mrkdwn(truncate(s, maxSectionText))))
	}
	if act := cardActions(v); act != nil {
		blocks = append(blocks, act)
	}
	text := fmt.Sprintf("%s %s%s: %s (%d alerts → 1 page)", icon, in.ID, state, headline, d.Alerts.Distinct)
	return Message{Text: truncate(escape(text), maxFallbackText), Blocks: blocks}
}

func contextLine(v cardView) string {
	in := v.Incident
	var parts []string
	switch {
	case v.Page != "":
		parts = append(parts, "🔔 Paging "+v.Page)
	case v.PagedName != "":
		parts = append(parts, "🔔 Paged "+plainName(v.PagedName, maxPersonName))
	}
	if s := in.Scope.String(); s != "" {
		parts = append(parts, codeName(s))
	}
	started := in.StartedAt()
	parts = append(parts, "started "+slackDate(started))
	if in.Status == diagnosis.Resolved {
		parts = append(parts, "resolved after "+diagnosis.Elapsed(in.Duration(v.Now)))
	}
	if in.Reopened > 0 {
		parts = append(parts, fmt.Sprintf("🔁 re-fired %d×", in.Reopened))
	}
	if !in.Ack.IsZero() {
		parts = append(parts, fmt.Sprintf("✅ Acknowledged by %s at %s", plainName(v.AckName, maxPersonName), slackTime(in.Ack.At)))
	}
	if !in.Escalation.IsZero() {
		parts = append(parts, fmt.Sprintf("⬆️ Escalated by %s at %s", plainName(v.EscName, maxPersonName), slackTime(in.Escalation.At)))
	}
	if !in.Resolution.IsZero() {
		parts = append(parts, fmt.Sprintf("☑️ Resolved by %s at %s", mention(in.Resolution.By), slackTime(in.Resolution.At)))
	}
	if v.MergedInto != "" {
		parts = append(parts, "↪️ Merged into "+v.MergedInto)
	}
	if l := splitLine(in, v.SplitName); l != "" {
		parts = append(parts, l)
	}
	if s := v.Silence; s != nil {
		parts = append(parts, silenceLine(*s, v.SilencedBy))
	}
	if r := v.Run; r != nil {
		icon, state := requestState(*r)
		parts = append(parts, fmt.Sprintf("%s %s %s (requested by %s)", icon, plainName(r.Runbook, maxName), state, plainName(v.RunBy, maxPersonName)))
	}
	return strings.Join(parts, " · ")
}

// renderTriage is the triage in a few lines: what to do first, the steps,
// what not to do, when to escalate.
func renderTriage(t diagnosis.Triage) string {
	var b strings.Builder
	if t.Source != "rules" && t.WhatIsHappening != "" {
		b.WriteString(escape(t.WhatIsHappening) + "\n")
	}
	fmt.Fprintf(&b, "*Do now:* %s", escape(t.ImmediateAction))
	for i, s := range t.Steps {
		if i == 6 {
			break
		}
		fmt.Fprintf(&b, "\n%d. %s", i+1, escape(s))
	}
	if t.DoNotDo != "" {
		fmt.Fprintf(&b, "\n*Don't:* %s", escape(t.DoNotDo))
	}
	var tail []string
	if t.EscalateIf != "" {
		tail = append(tail, "*Escalate if:* "+escape(t.EscalateIf))
	}
	if t.EstimatedResolution != "" {
		tail = append(tail, "*Expect:* "+escape(t.EstimatedResolution))
	}
	if len(tail) > 0 {
		b.WriteString("\n" + strings.Join(tail, " · "))
	}
	return b.String()
}

// talkLine is the small print about words and verdicts: whose triage it
// is, what the model cost, and the votes.
func talkLine(v cardView) string {
	var parts []string
	switch {
	case v.Triage != nil && v.Triage.Source != "rules" && v.Triage.Source != "":
		parts = append(parts, "🤖 Triage by "+plainName(v.Triage.Source, maxName))
	case v.TriageNote != "":
		parts = append(parts, plainName(v.TriageNote, maxNoteText))
	}
	if u := v.Costs; u.Calls > 0 {
		parts = append(parts, fmt.Sprintf("model use so far: %s tokens in %s, %s", thousands(u.Tokens()), plural(u.Calls, "call", "calls"), diagnosis.Latency(u.Latency)))
	}
	if v.Up+v.Down > 0 {
		parts = append(parts, fmt.Sprintf("👍 %d · 👎 %d", v.Up, v.Down))
	}
	return strings.Join(parts, " · ")
}

func cardActions(v cardView) slack.Block {
	id := v.Incident.ID
	var els []slack.BlockElement
	if v.Incident.Status == diagnosis.Resolved {
		if els = voteButtons(v); len(els) == 0 {
			return nil
		}
		return slack.NewActionBlock("card-actions", els...)
	}
	// The card's buttons approve the card's own request, the
	// recommendation it shows with the card's parameters, and nothing else:
	// they name that request and its digest, and appear only while it waits.
	if r := v.Run; r != nil && r.Source == runbooks.SourceCard && r.State == runbooks.StatePending &&
		r.Runbook == v.Diagnosis.RecommendedRunbook && !v.Unverified {
		rb := runbooks.Runbook{ID: r.Runbook}
		els = append(els, approveButton(ActionRunbookApprove, *r, rb, "Approve "+r.Runbook, v.RunBy), commandButton(*r))
	}
	if v.Incident.Escalation.IsZero() {
		els = append(els, slack.NewButtonBlockElement(ActionEscalate, id, plainText("Escalate")).WithStyle(slack.StyleDanger))
	}
	if v.Incident.Ack.IsZero() {
		els = append(els, slack.NewButtonBlockElement(ActionAck, id, plainText("Acknowledge")))
	}
	if v.Silencing && v.Silence == nil {
		els = append(els, silenceMenu(id))
	}
	els = append(els, resolveButton(v.Incident))
	if m := mergeMenu(id, v.Others); m != nil {
		els = append(els, m)
	}
	if m := splitMenu(v.Incident); m != nil {
		els = append(els, m)
	}
	els = append(els, voteButtons(v)...)
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock("card-actions", els...)
}

// voteButtons ask whether the likely root cause is right. Their value names
// the candidate by a digest (candidateRef), not by its name.
func voteButtons(v cardView) []slack.BlockElement {
	top, ok := v.Diagnosis.Top()
	if !v.Feedback || !ok {
		return nil
	}
	value := buttonValue(v.Incident.ID, candidateRef(top.Service))
	return []slack.BlockElement{
		slack.NewButtonBlockElement(ActionVoteUp, value, plainText("👍 Right cause")),
		slack.NewButtonBlockElement(ActionVoteDown, value, plainText("👎 Wrong cause")),
	}
}

// renderBurst is the thread reply for one burst: what changed, one line per alert.
func renderBurst(u diagnosis.Update) Message {
	var news, resolvedN, refired int
	for _, c := range u.Changes {
		n := max(c.Alert.Count, 1)
		switch c.Kind {
		case diagnosis.ChangeNew:
			news += n
		case diagnosis.ChangeCount:
			if d := n - c.Was; d > 0 {
				news += d
			} else {
				resolvedN -= d
			}
		case diagnosis.ChangeResolved:
			resolvedN += n
		case diagnosis.ChangeRefired:
			refired += n
		}
	}
	// Changes beyond what an update lists are counted, not listed.
	news += u.Unlisted.New
	resolvedN += u.Unlisted.Resolved
	refired += u.Unlisted.Refired
	unlisted := u.Unlisted.New + u.Unlisted.Resolved + u.Unlisted.Refired
	var head []string
	if news > 0 {
		head = append(head, plural(news, "new alert", "new alerts"))
	}
	if resolvedN > 0 {
		head = append(head, fmt.Sprintf("%d resolved", resolvedN))
	}
	if refired > 0 {
		head = append(head, fmt.Sprintf("%d fired again", refired))
	}
	if u.Repeats > 0 {
		head = append(head, plural(u.Repeats, "repeat notification", "repeat notifications")+" absorbed")
	}
	title := strings.Join(head, " · ")
	switch u.Kind {
	case diagnosis.Opened:
		title = fmt.Sprintf("%s grouped into %s", plural(news, "alert", "alerts"), u.Incident.ID)
	case diagnosis.Reopened:
		title = fmt.Sprintf("🔁 %s fired again and reopened the incident — no new page · %s", u.Incident.ID, title)
	}
	lines := make([]string, 0, len(u.Changes))
	distinct := distinguishing(u.Changes)
	for i, c := range u.Changes {
		lines = append(lines, alertLine(c, distinct[i]))
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn("*"+escape(title)+"*"), nil, nil)}
	blocks = append(blocks, lineSections(lines, unlisted, maxBlocks-2)...)
	return Message{Text: escape(fmt.Sprintf("%s: %s", u.Incident.ID, title)), Blocks: blocks}
}

// distinguishing finds, for alerts that share a name and service within a
// batch, the labels that tell them apart ("instance=redis-cache-1").
func distinguishing(changes []diagnosis.Change) []string {
	out := make([]string, len(changes))
	groups := map[string][]int{}
	for i, c := range changes {
		k := c.Alert.Name() + "\x00" + c.Alert.NodeOrService()
		groups[k] = append(groups[k], i)
	}
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		var differ []string
		for name, v := range changes[idx[0]].Alert.Labels {
			for _, j := range idx[1:] {
				if changes[j].Alert.Labels[name] != v {
					differ = append(differ, name)
					break
				}
			}
		}
		sort.Strings(differ)
		differ = differ[:min(2, len(differ))]
		for _, j := range idx {
			var kv []string
			for _, name := range differ {
				kv = append(kv, name+"="+changes[j].Alert.Labels[name])
			}
			out[j] = strings.Join(kv, " ")
		}
	}
	return out
}

func alertLine(c diagnosis.Change, distinct string) string {
	a := c.Alert
	icon := map[diagnosis.ChangeKind]string{diagnosis.ChangeNew: "🔴", diagnosis.ChangeCount: "🔴", diagnosis.ChangeResolved: "✅", diagnosis.ChangeRefired: "🔁"}[c.Kind]
	parts := []string{a.Name()}
	if s := a.NodeOrService(); s != "" {
		parts = append(parts, s)
	}
	if sev := a.Labels[diagnosis.LabelSeverity]; sev != "" {
		parts = append(parts, sev)
	}
	line := icon + " " + strings.Join(parts, " · ")
	if distinct != "" {
		line += " (" + distinct + ")"
	}
	switch {
	case c.Kind == diagnosis.ChangeCount:
		line += fmt.Sprintf(" ×%d (was ×%d)", a.Count, c.Was)
	case a.Count > 1:
		line += fmt.Sprintf(" ×%d", a.Count)
	}
	if c.Kind == diagnosis.ChangeRefired {
		line += fmt.Sprintf(" (flap %d)", a.Flaps)
	}
	if s := a.Annotations["summary"]; s != "" {
		line += " — " + strings.Join(strings.Fields(s), " ")
	}
	return escape(truncate(line, maxAlertLine))
}

// lineSections packs lines into plain-text sections within Slack's limits,
// counting what does not fit, and the unlisted lines it was never given.
func lineSections(lines []string, unlisted, maxSections int) []slack.Block {
	var (
		blocks []slack.Block
		cur    strings.Builder
	)
	flush := func() {
		if cur.Len() > 0 {
			blocks = append(blocks, slack.NewSectionBlock(plainText(cur.String()), nil, nil))
			cur.Reset()
		}
	}
	shown := 0
	for _, l := range lines {
		if shown == maxListedLines || (len(blocks) == maxSections-1 && cur.Len()+len(l)+1 > maxSectionText) {
			break
		}
		if cur.Len()+len(l)+1 > maxSectionText {
			flush()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
		shown++
	}
	flush()
	if rest := len(lines) - shown + unlisted; rest > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(fmt.Sprintf("… and %d more, all recorded (`bot audit`)", rest))))
	}
	return blocks
}
