package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// diag answers /diag, /diag INC-…, /diag <service>.
func (h *Handler) diag(ctx context.Context, r Request, args []string) (Reply, error) {
	switch {
	case len(args) == 0 && r.Incident != "":
		return h.diagIncident(ctx, r.Incident)
	case len(args) == 0:
		return h.diagList(), nil
	case len(args) > 1:
		return Reply{}, usage("Try /diag, /diag INC-…, or /diag <service>.", "/diag takes one incident or service, not %q.", strings.Join(args, " "))
	case isIncidentID(args[0]):
		return h.diagIncident(ctx, args[0])
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
		lines = append(lines, line(id, text(fmt.Sprintf(" — %s · %d alerts · open %s%s", cause, len(in.Alerts), ago(h.d.Now().Sub(in.StartedAt())), ack))))
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
		head = append(head, line(link("the card", url), textf(" · started %s UTC, %s ago", in.StartedAt().UTC().Format("15:04:05"), ago(h.d.Now().Sub(in.StartedAt())))))
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
		blocks = append(blocks, Block{Lines: lines})
	}
	var facts []Line
	facts = append(facts, line(bold("Affected: "), text(strings.Join(d.AffectedServices, ", "))))
	if len(d.NotInGraph) > 0 {
		facts = append(facts, line(bold("Not in graph: "), text(strings.Join(d.NotInGraph, ", "))))
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
			l := line(code(m.Incident), textf(" %.0f%% alike · root cause %s", m.Similarity*100, m.RootCause))
			if m.Runbook != "" {
				l = append(l, textf(" · %s %s", m.Runbook, m.Outcome))
			}
			if m.Resolved > 0 {
				l = append(l, textf(" · resolved in %s", ago(m.Resolved)))
			}
			hl = append(hl, l)
		}
		blocks = append(blocks, Block{Heading: "Seen before", Lines: hl})
	}
	return Reply{Summary: in.ID + ": " + d.Summary, Blocks: blocks}, nil
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
	node, _ := h.d.Graph.Node(svc)
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
	blocks = append(blocks, Block{Heading: "It calls", Lines: health(h.d.Graph.DependsOn(svc))})
	blocks = append(blocks, Block{Heading: "Called by", Lines: health(h.d.Graph.Dependents(svc))})
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

// ago says how long, the way people say it.
func ago(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours())/24)
}
