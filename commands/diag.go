package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// diag answers /diag, /diag INC-…, /diag <service>.
func (h *Handler) diag(ctx context.Context, r Request, args []string) (Reply, error) {
	if len(args) > 0 {
		switch strings.ToLower(args[0]) {
		case "report":
			return h.diagReport(ctx, args[1:])
		case "timeline":
			return h.diagTimeline(ctx, r, args[1:])
		}
	}
	switch {
	case len(args) == 0 && r.Incident != "":
		return h.diagIncident(ctx, r.Incident)
	case len(args) == 0:
		return h.diagList(), nil
	case len(args) > 1 && isIncidentID(args[0]) && isRegroup(args[1]):
		return h.regroup(ctx, r, args)
	case len(args) > 1 && isIncidentID(args[0]):
		if name, ok := correctionIn(strings.Join(args[1:], " ")); ok {
			return h.correct(ctx, args[0], name, r.User)
		}
	case len(args) > 1:
		name, ok := correctionIn(strings.Join(args, " "))
		switch {
		case ok && r.Incident != "":
			return h.correct(ctx, r.Incident, name, r.User)
		case ok:
			return Reply{}, usage("", "Say which incident: /diag INC-… cause %s, or mention me in the incident's thread.", name)
		}
	case isIncidentID(args[0]):
		return h.diagIncident(ctx, args[0])
	}
	if len(args) > 1 {
		return Reply{}, usage("Try /diag, /diag INC-…, /diag <service>, /diag INC-… cause <service>, /diag INC-… merge INC-…, or /diag INC-… split <service>.", "/diag takes one incident or service, not %q.", strings.Join(args, " "))
	}
	return h.diagService(args[0])
}

func (h *Handler) diagList() Reply {
	var lines []Line
	for _, in := range h.d.Incidents.Open() {
		if in.Status != diagnosis.Firing {
			continue
		}
		_, d, _ := h.d.Incidents.Find(context.Background(), in.ID)
		id := code(in.ID)
		if url := h.d.Link(in.Thread); url != "" {
			id = link(in.ID, url)
		}
		cause := "diagnosing…"
		if top, ok := d.Top(); ok {
			cause = fmt.Sprintf("%s (%.0f%%)", top.Service, top.Confidence*100)
		}
		ack := ""
		if !in.Ack.IsZero() {
			ack = " · acknowledged"
		}
		lines = append(lines, line(id, text(fmt.Sprintf(" — %s · %d alerts · open %s%s", cause, len(in.Alerts), diagnosis.Roughly(h.d.Now().Sub(in.StartedAt())), ack))))
	}
	if len(lines) == 0 {
		return Reply{Summary: "No open incidents.", Blocks: []Block{{Lines: []Line{line(text("No open incidents. 🦉"))}}}}
	}
	return Reply{Summary: fmt.Sprintf("%d open incidents", len(lines)), Blocks: []Block{{Heading: "Open incidents, newest first", Lines: lines}}}
}

func (h *Handler) diagIncident(ctx context.Context, id string) (Reply, error) {
	in, d, err := h.findIncident(ctx, id)
	if err != nil {
		return Reply{}, err
	}
	state := "open"
	if in.Status == diagnosis.Resolved {
		state = "resolved"
	}
	head := []Line{line(bold(in.ID), text(" · "+state+" · "+d.Summary))}
	if url := h.d.Link(in.Thread); url != "" {
		head = append(head, line(link("the card", url), textf(" · started %s UTC, %s ago", in.StartedAt().UTC().Format("15:04:05"), diagnosis.Roughly(h.d.Now().Sub(in.StartedAt())))))
	}
	if len(d.Explanation) == 2 {
		head = append(head, line(bold("Two independent failures: "), code(d.Explanation[0]), text(" and "), code(d.Explanation[1])))
	}
	if d.Unsure && len(d.Candidates) > 0 {
		head = append(head, line(italic(unsureWords(d))))
	}
	blocks := []Block{{Lines: head}}
	for i, c := range d.Candidates {
		if i == 3 {
			break
		}
		lines := []Line{line(bold(fmt.Sprintf("%d. %s", i+1, c.Service)), textf(" — %.0f%%", c.Confidence*100), alertsSpan(c))}
		for _, e := range c.Evidence {
			lines = append(lines, line(text("• "+e)))
		}
		if c.Check != "" {
			lines = append(lines, line(bold("To confirm: "), text(c.Check)))
		}
		blocks = append(blocks, Block{Lines: lines})
	}
	if cl := changeLines(d.Changes, 5); len(cl) > 0 {
		blocks = append(blocks, Block{Heading: "Changes before the first alert", Lines: cl})
	}
	var facts []Line
	facts = append(facts, line(bold("Affected: "), text(strings.Join(d.AffectedServices, ", "))))
	if len(d.NotInGraph) > 0 {
		facts = append(facts, line(bold("Not in graph: "), text(strings.Join(d.NotInGraph, ", "))))
	}
	if d.NoGraph {
		facts = append(facts, line(bold("No service graph: "), text("grouped by time and labels")))
	}
	facts = append(facts, line(bold("Alerts: "), textf("%d distinct, %d firing, %d resolved, %d notifications", d.Alerts.Distinct, d.Alerts.Firing, d.Alerts.Resolved, d.Alerts.Received)))
	if d.RecommendedRunbook != "" {
		facts = append(facts, line(bold("Runbook: "), code(d.RecommendedRunbook), text(" — "+d.RunbookReason)))
	}
	if d.Metrics != "" {
		facts = append(facts, line(bold("Metrics: "), text(d.Metrics)))
	}
	blocks = append(blocks, Block{Lines: facts})
	if len(d.History) > 0 {
		var hl []Line
		for _, m := range d.History {
			l := line(code(m.Incident), textf(" %.0f%% alike · %s", m.Similarity*100, causeWords(m)))
			if m.Runbook != "" {
				l = append(l, textf(" · %s %s", m.Runbook, m.Outcome))
			}
			if m.Resolved > 0 {
				l = append(l, textf(" · resolved in %s", diagnosis.Roughly(m.Resolved)))
			}
			hl = append(hl, l)
		}
		blocks = append(blocks, Block{Heading: "Seen before", Lines: hl})
	}
	return Reply{Summary: in.ID + ": " + d.Summary, Blocks: blocks}, nil
}

// unsureWords says plainly that nightowl is not sure, and what to do.
func unsureWords(d diagnosis.Diagnosis) string {
	n := min(3, len(d.Candidates))
	s := "nightowl is not sure of the root cause"
	switch n {
	case 1:
		s += ": run the check below to confirm or rule it out"
	default:
		s += fmt.Sprintf(": run the checks of these %d to confirm or rule each out", n)
	}
	if d.NoneOfThese >= diagnosis.UnseenAt {
		s += fmt.Sprintf("; it may be something nightowl cannot see (%.0f%%)", d.NoneOfThese*100)
	}
	return s + "."
}

// changeLines lists recent changes, at most n, then how many more.
func changeLines(changes []diagnosis.ChangeEvent, n int) []Line {
	var out []Line
	for i, c := range changes {
		if i == n {
			out = append(out, line(textf("… and %d more", len(changes)-n)))
			break
		}
		out = append(out, line(text("• "+c.Text)))
	}
	return out
}

// causeWords is a past incident's root cause and what confirmed it.
func causeWords(m diagnosis.HistoryMatch) string {
	if m.RootCause == "" {
		return "root cause not confirmed"
	}
	if by := diagnosis.ConfirmedWords(m.Confirmed); by != "" {
		return fmt.Sprintf("root cause %s (confirmed by %s)", m.RootCause, by)
	}
	return "root cause " + m.RootCause
}

func alertsSpan(c diagnosis.Candidate) Span {
	if len(c.Alerts) == 0 {
		return text(" · no alert of its own")
	}
	names := c.Alerts
	if len(names) > 3 {
		names = append(names[:3:3], fmt.Sprintf("+%d", len(c.Alerts)-3))
	}
	return text(" · " + strings.Join(names, ", "))
}

// diagService: a service's open alerts, the health of what it calls and
// what calls it, and its incident.
func (h *Handler) diagService(name string) (Reply, error) {
	svc, err := h.lookupService(name)
	if err != nil {
		return Reply{}, err
	}
	firing := map[string]int{} // node → firing alerts
	var mine []diagnosis.AlertState
	inc, inIncident := h.incidentOf(svc)
	for _, in := range h.d.Incidents.Open() {
		for _, a := range in.Firing() {
			firing[a.NodeOrService()]++
			if a.NodeOrService() == svc {
				mine = append(mine, a)
			}
		}
	}
	node, _ := h.g.Node(svc)
	blocks := []Block{{Lines: []Line{line(bold(svc), textf(" · %s · team %s", orDash(node.Kind), orDash(node.Team)))}}}
	var al []Line
	for _, a := range mine {
		al = append(al, line(textf("🔴 %s", a.Name()), text(" · "+a.Labels[diagnosis.LabelSeverity]), text(" — "+a.Summary())))
	}
	if len(al) == 0 {
		al = []Line{line(text("No open alerts on it."))}
	}
	blocks = append(blocks, Block{Heading: "Open alerts", Lines: al})
	health := func(names []string) []Line {
		if len(names) == 0 {
			return []Line{line(text("none"))}
		}
		var out []Line
		for _, n := range names {
			if c := firing[n]; c > 0 {
				out = append(out, line(textf("🔴 %s — %d alerts", n, c)))
			} else {
				out = append(out, line(textf("✅ %s", n)))
			}
		}
		return out
	}
	blocks = append(blocks, Block{Heading: "It calls", Lines: health(h.g.DependsOn(svc))})
	blocks = append(blocks, Block{Heading: "Called by", Lines: health(h.g.Dependents(svc))})
	if inIncident {
		l := line(text("Part of "), code(inc.ID))
		if url := h.d.Link(inc.Thread); url != "" {
			l = line(text("Part of "), link(inc.ID, url))
		}
		blocks = append(blocks, Block{Lines: []Line{l}})
	}
	return Reply{Summary: fmt.Sprintf("%s: %d open alerts", svc, len(mine)), Blocks: blocks}, nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
