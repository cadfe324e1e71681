package oncall

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Chart is a picture of the report, beside its Markdown.
type Chart struct {
	Title, File string
}

// Fmt shows a duration stat as "3m (p90 10m)", or "–" with no sample.
func (s Stat) Fmt() string {
	if s.N == 0 {
		return "–"
	}
	return shortDuration(s.Median) + " (p90 " + shortDuration(s.P90) + ")"
}

// Trend compares pages per week with the period before: "7.0 a week, up
// 40% from 5.0".
func (r Report) Trend() string {
	now, before := r.PagesPerWeek(), r.PreviousPerWeek()
	s := fmt.Sprintf("%.1f a week", now)
	switch {
	case before == 0 && now == 0:
		return s
	case before == 0:
		return s + ", none the period before"
	case now == before:
		return s + ", as many as the period before"
	}
	change := 100 * (now - before) / before
	dir := "up"
	if change < 0 {
		dir = "down"
	}
	return fmt.Sprintf("%s, %s %.0f%% from %.1f", s, dir, math.Abs(change), before)
}

// Period says what the report covers: "2026-02-23 → 2026-03-02 (Europe/Berlin), team storage".
func (r Report) Period(loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	s := r.From.In(loc).Format("2006-01-02 15:04") + " → " + r.To.In(loc).Format("2006-01-02 15:04") + " (" + r.TZ + ")"
	s = strings.ReplaceAll(s, " 00:00", "")
	if r.Team != "" {
		s += ", team " + r.Team
	}
	return s
}

// WriteMarkdown writes the report as Markdown, with its charts (files
// beside it) and every noisy rule's fix. name shows a user ID.
func WriteMarkdown(w io.Writer, r Report, loc *time.Location, name func(string) string, charts []Chart) error {
	if name == nil {
		name = func(s string) string { return s }
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# On-call health: %s\n\n", r.Period(loc))
	b.WriteString("| Figure | Value |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, mdCell(v)) }
	row("Pages", fmt.Sprintf("%d (%s)", r.Pages, r.Trend()))
	row("Incidents opened", fmt.Sprint(r.Incidents))
	row("Time to detect (MTTD)", r.MTTD.Fmt())
	row("Time to acknowledge (MTTA)", r.MTTA.Fmt())
	row("Time to resolve (MTTR)", r.MTTR.Fmt())
	row("Alert notifications per page", fmt.Sprintf("%.1f (%d notifications)", r.Dedup, r.Notifications))
	row("Auto-resolved by a runbook", r.AutoResolved.String())
	row("False positives (answered not actionable)", fmt.Sprintf("%s, %d pages unanswered", r.FalsePositive, r.Unanswered))
	row("Night pages (22:00–07:00)", fmt.Sprint(r.NightPages))
	for _, c := range charts {
		fmt.Fprintf(&b, "\n![%s](%s)\n", c.Title, c.File)
	}
	if len(r.NightByPerson) > 0 {
		b.WriteString("\n## Night pages by person\n\n| Person | Night pages | All pages |\n|---|---:|---:|\n")
		for _, p := range r.NightByPerson {
			fmt.Fprintf(&b, "| %s | %d | %d |\n", mdCell(name(p.Name)), p.Rate.Of, p.Rate.Total)
		}
	}
	if len(r.Rules) > 0 {
		b.WriteString("\n## Alert rules that paged\n\n| Rule | Owner | Pages | Unactioned | Not actionable |\n|---|---|---:|---:|---:|\n")
		for _, s := range r.Rules {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d |\n", mdCell(s.Rule), mdCell(orDash(s.Owner)), s.Pages, s.Unactioned, s.NotActionable)
		}
	}
	if len(r.ByTeam) > 0 {
		b.WriteString("\n## False positives by team\n\n| Team | Not actionable |\n|---|---|\n")
		for _, t := range r.ByTeam {
			fmt.Fprintf(&b, "| %s | %s |\n", mdCell(t.Name), t.Rate)
		}
	}
	WriteNoisy(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteNoisy writes the noisy rules, each with its owner and its fix, as
// Markdown ready to paste.
func WriteNoisy(b *strings.Builder, r Report) {
	if len(r.Noisy) == 0 {
		b.WriteString("\n## Noisy alerts\n\nNo rule paged twice in a week for nothing. 🦉\n")
		return
	}
	b.WriteString("\n## Noisy alerts are bugs\n\nEach rule below paged at least twice in one week with nobody acting " +
		"(no acknowledgement, no runbook) or with the page answered \"not actionable\". Its owner should fix it:\n")
	for _, n := range r.Noisy {
		fmt.Fprintf(b, "\n### %s — owner: %s\n\n", n.Rule, orDash(n.Owner))
		fmt.Fprintf(b, "%d of its %d pages unactioned (%s), first in the week of %s. %s\n\n",
			n.Unactioned, n.Pages, strings.Join(n.Incidents, ", "), n.Week.Format("2006-01-02"), n.Fix.Why)
		fmt.Fprintf(b, "```yaml\n%s```\n", n.Fix.YAML)
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
