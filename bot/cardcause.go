package bot

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Bounds on what the card's cause section shows, whatever the engine
// writes, so a card stays within Block Kit's limits (3,000 characters a
// text, 2,000 a field, 10 fields a section, 50 blocks).
const (
	suspectsShown     = 3   // candidates side by side when unsure
	suspectEvidence   = 2   // evidence lines of each of them
	maxEvidenceLine   = 300 // runes of one evidence line in a field
	maxCheckText      = 400 // runes of one check
	changesShown      = 3
	maxChangeText     = 200 // runes of one change
	maxCorrectionName = 80  // runes of who corrected the cause
)

// causeSection says what nightowl thinks the cause is. First what people
// said (a correction) and whether two independent failures explain the
// incident; then, when sure, the likely root cause, its evidence and the
// check that confirms it; when unsure, that it is not sure, and the top
// three side by side, each with its confidence and its check.
func causeSection(v cardView) slack.Block {
	d := v.Diagnosis
	top, ok := d.Top()
	if !ok {
		return nil
	}
	var lead []string
	if c := v.Correction; c != nil {
		lead = append(lead, fmt.Sprintf("✏️ *%s says the root cause was* %s", plainName(v.CorrectedBy, maxCorrectionName), codeName(c.RootCause)))
	}
	if len(d.Explanation) == 2 {
		lead = append(lead, fmt.Sprintf("*Two independent failures:* %s and %s", codeName(d.Explanation[0]), codeName(d.Explanation[1])))
	}
	if d.Unsure {
		return unsureSection(lead, d, v.Incident.Status == diagnosis.Resolved)
	}

	var b strings.Builder
	for _, l := range lead {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "*Likely root cause:* %s", codeName(top.Service))
	if len(top.Alerts) > 0 {
		fmt.Fprintf(&b, " — %s", codeName(top.Alerts[0]))
	}
	fmt.Fprintf(&b, "\n*Confidence:* %s %.0f%%", confidenceBadge(top.Confidence), top.Confidence*100)
	for _, e := range top.Evidence {
		b.WriteString("\n• " + truncate(escape(e), maxEvidenceLine))
	}
	// The check comes last but must survive the cut: the evidence gives way.
	check := ""
	if top.Check != "" {
		check = "\n*To confirm:* " + truncate(escape(oneLine(top.Check)), maxCheckText)
	}
	body := truncate(b.String(), maxSectionText-slackLen(check))
	return slack.NewSectionBlock(mrkdwn(body+check), nil, nil, slack.SectionBlockOptionBlockID("card-cause"))
}

// unsureSection says plainly that nightowl is not sure and shows the top
// candidates side by side, one field each.
func unsureSection(lead []string, d diagnosis.Diagnosis, resolved bool) slack.Block {
	suspects := d.Candidates[:min(suspectsShown, len(d.Candidates), maxFields)]
	var b strings.Builder
	for _, l := range lead {
		b.WriteString(l + "\n")
	}
	b.WriteString("🤔 *nightowl is not sure of the root cause.* ")
	switch len(suspects) {
	case 1:
		b.WriteString("It may be this one")
	default:
		fmt.Fprintf(&b, "It is likely one of these %d", len(suspects))
	}
	if d.NoneOfThese >= diagnosis.UnseenAt {
		fmt.Fprintf(&b, ", or something nightowl cannot see (%.0f%%)", d.NoneOfThese*100)
	}
	if resolved {
		b.WriteString(".")
	} else {
		b.WriteString(": run the checks before any runbook.")
	}

	fields := make([]*slack.TextBlockObject, 0, len(suspects))
	for i, c := range suspects {
		var f strings.Builder
		fmt.Fprintf(&f, "*%d.* %s %s %.0f%%", i+1, codeName(c.Service), confidenceBadge(c.Confidence), c.Confidence*100)
		if len(c.Alerts) > 0 {
			f.WriteString("\n" + codeName(c.Alerts[0]))
		} else {
			f.WriteString("\n_no alert of its own_")
		}
		for j, e := range c.Evidence {
			if j == suspectEvidence {
				break
			}
			f.WriteString("\n• " + truncate(escape(oneLine(e)), maxEvidenceLine))
		}
		check := ""
		if c.Check != "" {
			check = "\n*Check:* " + truncate(escape(oneLine(c.Check)), maxCheckText)
		}
		body := truncate(f.String(), maxFieldText-slackLen(check))
		fields = append(fields, mrkdwn(body+check))
	}
	return slack.NewSectionBlock(mrkdwn(truncate(b.String(), maxSectionText)), fields, nil, slack.SectionBlockOptionBlockID("card-cause"))
}

// changesBlock lists the rollouts, restarts and scaling seen before the
// first alert, at most changesShown; nil when there were none.
func changesBlock(id string, d diagnosis.Diagnosis) slack.Block {
	if len(d.Changes) == 0 {
		return nil
	}
	lines := []string{"*Changed before the first alert:*"}
	for i, c := range d.Changes {
		if i == changesShown {
			lines = append(lines, fmt.Sprintf("… and %d more (`/diag %s`)", len(d.Changes)-changesShown, escape(id)))
			break
		}
		lines = append(lines, "🔄 "+truncate(escape(oneLine(c.Text)), maxChangeText))
	}
	return slack.NewContextBlock("card-changes", mrkdwn(truncate(strings.Join(lines, "\n"), maxSectionText)))
}

// othersBlock names the candidates the cause section does not show.
func othersBlock(d diagnosis.Diagnosis) slack.Block {
	from := 1
	if d.Unsure {
		from = suspectsShown
	}
	if len(d.Candidates) <= from {
		return nil
	}
	var others []string
	for _, c := range d.Candidates[from:min(from+3, len(d.Candidates))] {
		others = append(others, fmt.Sprintf("%s %.0f%%", codeName(c.Service), c.Confidence*100))
	}
	return slack.NewContextBlock("card-others", mrkdwn(truncate("Also considered: "+strings.Join(others, ", "), maxSectionText)))
}
