package oncall

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Timeline is an incident's whole record, for its postmortem.
type Timeline struct {
	Incident  diagnosis.Incident
	Diagnosis diagnosis.Diagnosis // the latest; zero when none was saved
	Lifecycle Lifecycle
	Entries   []Entry // in time order
}

// Section says what part of the story an entry tells.
type Section string

// Sections of a timeline.
const (
	SectionAlert     Section = "alert"
	SectionCard      Section = "card"
	SectionPeople    Section = "people"    // acks, escalations, verdicts, votes, corrections
	SectionDiagnosis Section = "diagnosis" // what nightowl concluded, and each change
	SectionQuestion  Section = "question"  // what was asked and answered in the thread
	SectionRunbook   Section = "runbook"   // requests, approvals, runs
	SectionResolved  Section = "resolved"
)

// Entry is one line of a timeline.
type Entry struct {
	At      time.Time
	Section Section
	// Actor is a user ID, "nightowl", or "" for what simply happened.
	Actor string
	Text  string
}

// Sort puts entries in time order, keeping the record's order on a tie.
func (t *Timeline) Sort() {
	slices.SortStableFunc(t.Entries, func(a, b Entry) int { return a.At.Compare(b.At) })
}

// Postmortem renders the timeline as a Markdown postmortem draft: the key
// times, the alerts, the timeline, what nightowl concluded, and the
// headings a postmortem needs, left for people to fill. name shows a user
// ID (nil shows it as it is); times are in loc.
func Postmortem(t Timeline, loc *time.Location, name func(string) string) string {
	if loc == nil {
		loc = time.UTC
	}
	if name == nil {
		name = func(s string) string { return s }
	}
	who := func(id string) string {
		switch id {
		case "", "nightowl":
			return cmp.Or(id, "—")
		}
		return "@" + name(id)
	}
	in, l := t.Incident, t.Lifecycle
	at := func(tm time.Time) string { return tm.In(loc).Format("2006-01-02 15:04:05") }
	since := func(from, to time.Time) string {
		if from.IsZero() || to.IsZero() {
			return ""
		}
		return " (+" + shortDuration(to.Sub(from)) + ")"
	}
	var b strings.Builder
	title := in.ID
	if d := t.Diagnosis.Summary; d != "" {
		title += ": " + d
	}
	fmt.Fprintf(&b, "# Postmortem draft — %s\n\n", mdLine(title))
	fmt.Fprintf(&b, "_Drafted by nightowl from the incident's record. Times are %s. Fill in the sections in italics._\n\n", loc)
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, mdCell(v)) }
	row("First alert", at(l.FirstAlert))
	if !l.Card.IsZero() {
		paged := "no one paged"
		if l.Paged {
			paged = "paged on-call"
			if l.PagedWho != "" {
				paged = "paged " + who(l.PagedWho)
			}
		}
		row("Card posted (detected)", at(l.Card)+since(l.FirstAlert, l.Card)+", "+paged)
	}
	if !l.Ack.IsZero() {
		row("Acknowledged", at(l.Ack.At)+since(l.Card, l.Ack.At)+" by "+who(l.Ack.By))
	}
	if !l.Escalation.IsZero() {
		row("Escalated", at(l.Escalation.At)+" by "+who(l.Escalation.By))
	}
	if !l.Resolved.IsZero() {
		row("Resolved", at(l.Resolved)+since(l.FirstAlert, l.Resolved))
	} else {
		row("Resolved", "not yet")
	}
	if top, ok := t.Diagnosis.Top(); ok {
		row("Root cause (nightowl)", fmt.Sprintf("%s, %.0f%% confident", top.Service, 100*top.Confidence))
	}
	for _, r := range l.Runs {
		v := fmt.Sprintf("%s %s, requested by %s", r.Runbook, r.State, who(r.RequestedBy))
		if r.Approved() {
			var by []string
			for _, a := range r.ApprovedBy {
				by = append(by, who(a))
			}
			v += ", approved by " + strings.Join(by, ", ")
		}
		row("Runbook", v)
	}
	if v := l.Verdict; v != nil {
		word := VerdictActionable
		if !v.Actionable {
			word = VerdictNotActionable
		}
		row("Page was", word+" ("+who(v.By)+")")
	}
	row("Alert notifications", fmt.Sprint(l.Notifications))

	b.WriteString("\n## Summary\n\n_What happened and who was affected, in two or three sentences._\n\n")
	b.WriteString("## Impact\n\n_What users saw, for how long, and how many of them._\n\n")

	b.WriteString("## Alerts\n\n| Alert | Service | Severity | Started | Ended | Notifications |\n|---|---|---|---|---|---:|\n")
	for _, a := range in.Alerts {
		end := "still firing"
		if a.Status == diagnosis.Resolved && !a.EndsAt.IsZero() {
			end = at(a.EndsAt)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", mdCell(a.Name()), mdCell(a.NodeOrService()), mdCell(a.Severity().String()),
			at(a.StartsAt), end, a.Received)
	}
	if n := in.More.Alerts; n > 0 {
		fmt.Fprintf(&b, "\n_and %d more alerts, summarised: the alert log holds each._\n", n)
	}

	fmt.Fprintf(&b, "\n## Timeline (%s)\n\n| Time | Who | What |\n|---|---|---|\n", loc)
	for _, e := range t.Entries {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", e.At.In(loc).Format("01-02 15:04:05"), mdCell(who(e.Actor)), mdCell(string(e.Section)+": "+e.Text))
	}

	if len(t.Diagnosis.Candidates) > 0 {
		b.WriteString("\n## What nightowl concluded\n\n")
		for i, c := range t.Diagnosis.Candidates {
			if i == 3 {
				break
			}
			fmt.Fprintf(&b, "%d. **%s**, %.0f%%\n", i+1, mdLine(c.Service), 100*c.Confidence)
			for j, e := range c.Evidence {
				if j == 4 {
					break
				}
				fmt.Fprintf(&b, "   - %s\n", mdLine(e))
			}
		}
	}
	if qs := entriesOf(t.Entries, SectionQuestion); len(qs) > 0 {
		b.WriteString("\n## Questions asked in the thread\n\n")
		for _, e := range qs {
			fmt.Fprintf(&b, "- %s %s: %s\n", e.At.In(loc).Format("15:04"), who(e.Actor), mdLine(e.Text))
		}
	}
	b.WriteString("\n## Root cause\n\n_Confirm or correct nightowl's conclusion; say why it happened, not only what._\n\n")
	b.WriteString("## What went well\n\n_…_\n\n## What went wrong\n\n_…_\n\n")
	b.WriteString("## Action items\n\n| Action | Owner | Due |\n|---|---|---|\n| _…_ | | |\n")
	return b.String()
}

func entriesOf(es []Entry, s Section) []Entry {
	var out []Entry
	for _, e := range es {
		if e.Section == s {
			out = append(out, e)
		}
	}
	return out
}

// mdLine keeps text on one line.
func mdLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// mdCell keeps text on one line and inside its table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(mdLine(s), "|", `\|`)
}
