package replay

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Chart is a picture the markdown report links: a PNG written beside it.
type Chart struct {
	Title string
	File  string // relative to the report
}

// timeLayout is how the reports show a moment, in their TZ.
const timeLayout = "Mon 2006-01-02 15:04 MST"

// WriteText writes the report for people at a terminal.
func WriteText(w io.Writer, rep Report) error {
	loc := location(rep.TZ)
	var b strings.Builder
	fmt.Fprintf(&b, "nightowl replay of %s → %s (%s), from %s\n", rep.Since.In(loc).Format(timeLayout), rep.Until.In(loc).Format(timeLayout),
		rep.TZ, sourceName(rep.Source))
	fmt.Fprintf(&b, "%d firing intervals, %d notifications replayed\n\n", rep.Alerts, rep.Notifications)
	fmt.Fprintf(&b, "Pages nightowl would have sent:   %d (%d at night, 22:00–07:00)\n", rep.Pages, rep.NightPages)
	fmt.Fprintf(&b, "Notifications Alertmanager sent:  %s\n", amLine(rep))
	fmt.Fprintf(&b, "Incidents:                        %d (%d paged, %d resolved before their card, unpaged)\n\n",
		len(rep.Incidents), rep.Pages, rep.Settled)
	if len(rep.NoisiestRules) > 0 {
		b.WriteString("Noisiest rules (firings, incidents they started):\n")
		for _, r := range rep.NoisiestRules {
			fmt.Fprintf(&b, "  %-40s %6d %6d\n", diagnosis.Truncate(r.Alertname, 40), r.Firings, r.Incidents)
		}
		b.WriteString("\n")
	}
	b.WriteString("Incidents, oldest first:\n")
	for _, in := range rep.Incidents {
		fmt.Fprintf(&b, "  %s  %s  %s · %s · %s · %s%s\n", in.ID, in.FirstAlert.In(loc).Format(timeLayout),
			in.FirstAlertName, plural(in.Alerts, "alert"), plural(len(in.Services), "service"), durationOf(in), pageNote(in, loc))
		if len(in.Candidates) > 0 {
			fmt.Fprintf(&b, "      root cause: %s\n", candidates(in.Candidates))
		}
	}
	if len(rep.Incidents) == 0 {
		b.WriteString("  none\n")
	}
	if len(rep.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the report as Markdown for a proposal, linking charts.
func WriteMarkdown(w io.Writer, rep Report, charts []Chart) error {
	loc := location(rep.TZ)
	var b strings.Builder
	fmt.Fprintf(&b, "# What nightowl would have done: %s to %s\n\n", rep.Since.In(loc).Format(time.DateOnly), rep.Until.In(loc).Format(time.DateOnly))
	fmt.Fprintf(&b, "Replayed from %s: %s → %s (%s). %d firing intervals, %d notifications, through nightowl's own grouping "+
		"(GROUP_WAIT, flap window) and root-cause engine.\n\n", sourceName(rep.Source), rep.Since.In(loc).Format(timeLayout),
		rep.Until.In(loc).Format(timeLayout), rep.TZ, rep.Alerts, rep.Notifications)
	b.WriteString("| | Alertmanager sent | nightowl would have paged |\n|---|---:|---:|\n")
	fmt.Fprintf(&b, "| Whole window | %s | %d |\n", amCount(rep.AlertmanagerNotifications), rep.Pages)
	fmt.Fprintf(&b, "| At night (22:00–07:00) | %s | %d |\n\n", amCount(rep.AlertmanagerNightNotifications), rep.NightPages)
	if len(rep.AlertmanagerByIntegration) > 0 {
		fmt.Fprintf(&b, "Alertmanager's notifications by integration: %s.\n\n", byIntegration(rep.AlertmanagerByIntegration))
	}
	fmt.Fprintf(&b, "%d incidents: %d paged, %d resolved before their card was due (no page).\n\n", len(rep.Incidents), rep.Pages, rep.Settled)
	for _, c := range charts {
		fmt.Fprintf(&b, "![%s](%s)\n\n", c.Title, c.File)
	}
	if len(rep.NoisiestRules) > 0 {
		b.WriteString("## Noisiest rules\n\n| Rule | Firings | Incidents it started |\n|---|---:|---:|\n")
		for _, r := range rep.NoisiestRules {
			fmt.Fprintf(&b, "| `%s` | %d | %d |\n", mdCell(r.Alertname), r.Firings, r.Incidents)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Incidents\n\n")
	if len(rep.Incidents) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| Incident | First alert | Alerts | Services | Duration | Page | Likely root cause (top 3) |\n|---|---|---:|---:|---|---|---|\n")
		for _, in := range rep.Incidents {
			page := "—"
			if in.Paged {
				page = in.PagedAt.In(loc).Format("15:04")
				if in.Night {
					page += " 🌙"
				}
			}
			fmt.Fprintf(&b, "| %s | %s `%s` | %d | %d | %s | %s | %s |\n", in.ID, in.FirstAlert.In(loc).Format(timeLayout),
				mdCell(in.FirstAlertName), in.Alerts, len(in.Services), durationOf(in), page, mdCell(candidates(in.Candidates)))
		}
	}
	if len(rep.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func location(tz string) *time.Location {
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	return time.UTC
}

func sourceName(s string) string {
	if s == "prometheus" {
		return "Prometheus's ALERTS series"
	}
	return "Alertmanager webhook lines"
}

func amLine(rep Report) string {
	if rep.AlertmanagerNotifications == nil {
		return "unknown (no alertmanager_notifications_total)"
	}
	s := amCount(rep.AlertmanagerNotifications)
	if len(rep.AlertmanagerByIntegration) > 0 {
		s += " (" + byIntegration(rep.AlertmanagerByIntegration) + ")"
	}
	return s + "; " + amCount(rep.AlertmanagerNightNotifications) + " at night"
}

func amCount(v *float64) string {
	if v == nil {
		return "unknown"
	}
	return strconv.FormatFloat(*v, 'f', 0, 64)
}

func byIntegration(m map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		name := k
		if name == "" {
			name = "(no integration label)"
		}
		parts = append(parts, fmt.Sprintf("%s %.0f", name, m[k]))
	}
	return strings.Join(parts, ", ")
}

func durationOf(in Incident) string {
	switch in.Outcome {
	case "firing":
		return "still firing"
	case "retired":
		return "left memory while firing"
	}
	return diagnosis.Elapsed(time.Duration(in.DurationSeconds * float64(time.Second)))
}

func pageNote(in Incident, loc *time.Location) string {
	switch {
	case in.Paged && in.Night:
		return " · paged at " + in.PagedAt.In(loc).Format("15:04") + " (night)"
	case in.Paged:
		return " · paged at " + in.PagedAt.In(loc).Format("15:04")
	}
	return " · no page"
}

func candidates(cs []Candidate) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", c.Service, c.Confidence*100))
	}
	return strings.Join(parts, " · ")
}

// mdCell keeps a value from breaking a Markdown table.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
