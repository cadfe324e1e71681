package commands

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/commands/picture"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
)

// maxReportDays bounds /diag report's period.
const maxReportDays = 90

// noRecord is the answer when nightowl keeps no record.
var errNoRecord = UsageError{Msg: "nightowl keeps no record here, so it has no report or timeline to show."}

// diagReport answers /diag report [7d|30d] [team].
func (h *Handler) diagReport(ctx context.Context, args []string) (Reply, error) {
	days, team := 7, ""
	for _, a := range args {
		n, ok := strings.CutSuffix(strings.ToLower(a), "d")
		if v, err := strconv.Atoi(n); ok && err == nil {
			if v < 1 || v > maxReportDays {
				return Reply{}, usage("Try /diag report 7d or /diag report 30d.", "A report covers 1 to %d days, not %s.", maxReportDays, a)
			}
			days = v
			continue
		}
		if team != "" {
			return Reply{}, usage("Try /diag report 7d payments.", "/diag report takes a period and one team, not %q.", strings.Join(args, " "))
		}
		team = a
	}
	to := h.d.Now()
	return h.Report(ctx, to.AddDate(0, 0, -days), to, team)
}

// Report is the on-call report of [from, to) for team ("" for all): its
// figures in words, its charts, and the fixes of its noisy rules as a
// Markdown file. The weekly report is this reply too.
func (h *Handler) Report(ctx context.Context, from, to time.Time, team string) (Reply, error) {
	if h.d.Record == nil {
		return Reply{}, errNoRecord
	}
	r, err := oncall.Build(ctx, h.d.Record, oncall.Options{From: from, To: to, Team: team, Loc: h.d.Loc, OnCall: h.d.OnCall, TeamOf: h.teamOf})
	if err != nil {
		return Reply{}, fmt.Errorf("report: %w", err)
	}
	name := func(id string) string { return h.d.Names(ctx, id) }
	reply := ReportReply(r, h.d.Loc, name)
	charts, err := ReportCharts(r, h.d.Loc)
	if err != nil {
		return Reply{}, err
	}
	if len(charts) > 0 {
		p := charts[0]
		reply.Picture = &Picture{Name: p.Name, Title: p.Title, Alt: p.Alt, PNG: p.Data}
		reply.Files = append(reply.Files, charts[1:]...)
	}
	if len(r.Noisy) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "# Noisy alerts: %s\n", r.Period(h.d.Loc))
		oncall.WriteNoisy(&b, r)
		reply.Files = append(reply.Files, File{Name: "noisy-alerts.md", Title: "Noisy alerts and their fixes", Data: []byte(b.String())})
	}
	return reply, nil
}

// teamOf is the graph's owner of a node.
func (h *Handler) teamOf(node string) string {
	if h.d.Graph == nil {
		return ""
	}
	n, ok := h.d.Graph.Graph().Node(node)
	if !ok {
		return ""
	}
	return n.Team
}

// ReportReply says the report's figures in words.
func ReportReply(r oncall.Report, loc *time.Location, name func(string) string) Reply {
	head := []Line{
		line(bold("Pages: "), textf("%d", r.Pages), text(" · "+r.Trend())),
		line(bold("MTTD "), text(r.MTTD.Fmt()), bold(" · MTTA "), text(r.MTTA.Fmt()), bold(" · MTTR "), text(r.MTTR.Fmt())),
		line(bold("Dedup: "), textf("%.1f alert notifications a page (%d in all)", r.Dedup, r.Notifications)),
		line(bold("Auto-resolved: "), text(r.AutoResolved.String()), bold(" · False positives: "), textf("%s, %d unanswered", r.FalsePositive, r.Unanswered)),
	}
	night := line(bold("Night pages (22:00–07:00): "), textf("%d", r.NightPages))
	var who []string
	for _, p := range r.NightByPerson {
		if p.Rate.Of > 0 {
			who = append(who, fmt.Sprintf("%s %d", name(p.Name), p.Rate.Of))
		}
	}
	if len(who) > 0 {
		night = append(night, text(" — "+strings.Join(who, ", ")))
	}
	head = append(head, night)
	blocks := []Block{{Heading: "On-call health: " + r.Period(loc), Lines: head}}
	if len(r.Rules) > 0 {
		var lines []Line
		for i, s := range r.Rules {
			if i == 5 {
				break
			}
			lines = append(lines, line(code(s.Rule), textf(" — %s · %d pages, %d unactioned, %d not actionable", ownerWords(s.Owner), s.Pages, s.Unactioned, s.NotActionable)))
		}
		blocks = append(blocks, Block{Heading: "Alert rules that paged most for nothing", Lines: lines})
	}
	if len(r.Noisy) > 0 {
		var lines []Line
		for _, n := range r.Noisy {
			lines = append(lines, line(code(n.Rule), textf(" — %s: %d of %d pages unactioned. ", ownerWords(n.Owner), n.Unactioned, n.Pages), text(n.Fix.Why)))
		}
		lines = append(lines, line(Span{Text: "The fix of each, ready to paste, is in noisy-alerts.md below.", Style: Italic}))
		blocks = append(blocks, Block{Heading: "Noisy alerts are bugs", Lines: lines})
	}
	blocks = append(blocks, Block{Context: true, Lines: []Line{line(text(
		"A page is a card posted while its alerts fired. MTTD: first alert → card; MTTA: card → Acknowledge; MTTR: first alert → resolved. " +
			"Auto-resolved: fixed by an approved runbook with no escalation or question. False positives: answered \"not actionable\"."))}})
	summary := fmt.Sprintf("On-call health %s: %d pages, MTTA %s, MTTR %s, %d at night", r.Period(loc), r.Pages, r.MTTA.Fmt(), r.MTTR.Fmt(), r.NightPages)
	return Reply{Public: true, Summary: summary, Blocks: blocks}
}

func ownerWords(owner string) string {
	if owner == "" {
		return "no owner"
	}
	return "owner " + owner
}

// Files of the report's charts.
const (
	ChartPagesFile = "report-pages-per-day.png"
	ChartNightFile = "report-night-pages.png"
	ChartTrendFile = "report-mtta-mttr.png"
)

// ReportCharts draws pages per day, night pages per day and the MTTA and
// MTTR trend (per day over two weeks or less, per week beyond).
func ReportCharts(r oncall.Report, loc *time.Location) ([]File, error) {
	if loc == nil {
		loc = time.UTC
	}
	var pages, night []picture.Point
	for _, d := range r.Days {
		at := d.Date.Add(12 * time.Hour)
		pages = append(pages, picture.Point{T: at, V: float64(d.Pages)})
		night = append(night, picture.Point{T: at, V: float64(d.Night)})
	}
	var mtta, mttr []picture.Point
	unit := "per day"
	if len(r.Days) <= 14 {
		for _, d := range r.Days {
			at := d.Date.Add(12 * time.Hour)
			mtta, mttr = append(mtta, picture.Point{T: at, V: minutes(d.MTTA)}), append(mttr, picture.Point{T: at, V: minutes(d.MTTR)})
		}
	} else {
		unit = "per week"
		for _, w := range r.WeekStats {
			at := w.From
			mtta, mttr = append(mtta, picture.Point{T: at, V: minutes(w.MTTA)}), append(mttr, picture.Point{T: at, V: minutes(w.MTTR)})
		}
	}
	period := r.Period(loc)
	specs := []struct {
		file, title, y, alt string
		series              []picture.Series
	}{
		{ChartPagesFile, "Pages per day, " + period, "pages", fmt.Sprintf("%d pages in all", r.Pages),
			[]picture.Series{{Name: "pages", Points: pages}}},
		{ChartNightFile, "Night pages (22:00–07:00) per day, " + period, "night pages", fmt.Sprintf("%d night pages", r.NightPages),
			[]picture.Series{{Name: "night pages", Points: night}}},
		{ChartTrendFile, "MTTA and MTTR, median " + unit + " (minutes), " + period, "minutes", "MTTA " + r.MTTA.Fmt() + ", MTTR " + r.MTTR.Fmt(),
			[]picture.Series{{Name: "MTTA", Points: mtta}, {Name: "MTTR", Points: mttr}}},
	}
	var out []File
	for _, s := range specs {
		png, err := picture.DrawChart(picture.ChartSpec{Title: s.title, YLabel: s.y, Width: 900, Height: 420, Series: s.series})
		if err != nil {
			return nil, fmt.Errorf("report chart %s: %w", s.file, err)
		}
		out = append(out, File{Name: s.file, Title: s.title, Alt: s.alt, Data: png})
	}
	return out, nil
}

// minutes is a stat's median in minutes, NaN (a gap) with no sample.
func minutes(s oncall.Stat) float64 {
	if s.N == 0 {
		return math.NaN()
	}
	return s.Median.Minutes()
}

// diagTimeline answers /diag timeline INC-… (or, in an incident's
// thread, /diag timeline) with the incident's postmortem draft.
func (h *Handler) diagTimeline(ctx context.Context, r Request, args []string) (Reply, error) {
	id := r.Incident
	switch {
	case len(args) == 1 && isIncidentID(args[0]):
		id = strings.ToUpper(args[0])
	case len(args) > 0 || id == "":
		return Reply{}, usage("Try /diag timeline INC-4F2A.", "Say which incident: /diag timeline INC-….")
	}
	if h.d.Record == nil {
		return Reply{}, errNoRecord
	}
	t, err := h.d.Record.Timeline(ctx, id)
	if errors.Is(err, oncall.ErrUnknown) {
		return Reply{}, usage("", "No incident %s on the record.", id)
	}
	if err != nil {
		return Reply{}, fmt.Errorf("timeline of %s: %w", id, err)
	}
	md := oncall.Postmortem(t, h.d.Loc, func(u string) string { return h.d.Names(ctx, u) })
	l := t.Lifecycle
	var lines []Line
	if !l.Card.IsZero() {
		lines = append(lines, line(bold("Detected "), text(diagnosis.Elapsed(l.Card.Sub(l.FirstAlert))+" after the first alert")))
	}
	if !l.Ack.IsZero() {
		lines = append(lines, line(bold("Acknowledged "), text(diagnosis.Elapsed(l.Ack.At.Sub(l.Card))+" after the card by "+h.d.Names(ctx, l.Ack.By))))
	}
	if !l.Resolved.IsZero() {
		lines = append(lines, line(bold("Resolved "), text(diagnosis.Elapsed(l.Resolved.Sub(l.FirstAlert))+" after the first alert")))
	}
	lines = append(lines, line(textf("%d lines of timeline; the draft is in %s-postmortem.md below.", len(t.Entries), id)))
	title := "Postmortem draft for " + id
	if url := h.d.Link(t.Incident.Thread); url != "" {
		lines = append(lines, line(link("the card", url)))
	}
	return Reply{Public: true, Summary: title, Blocks: []Block{{Heading: title, Lines: lines}},
		Files: []File{{Name: id + "-postmortem.md", Title: title, Data: []byte(md)}}}, nil
}
