package commands

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Ask is a follow-up question in an incident's thread.
type Ask struct {
	Incident string
	User     string
	Text     string
	History  []diagnosis.Turn
}

// Answer answers a follow-up question about an incident. With a model it
// answers in its own words, looking things up through read-only tools;
// without one (or when the model fails) a small intent matcher answers the
// common questions from the same tools. Usage is the model's cost, if any.
func (h *Handler) Answer(ctx context.Context, q Ask) (Reply, diagnosis.Usage, error) {
	in, d, err := h.findIncident(ctx, q.Incident)
	if err != nil {
		return Reply{}, diagnosis.Usage{}, err
	}
	if h.d.Explainer != nil {
		var pictures []*diagnosis.Attachment
		call := func(ctx context.Context, c diagnosis.ToolCall) diagnosis.ToolResult {
			res := h.callTool(ctx, in, d, c)
			if res.Attachment != nil {
				pictures = append(pictures, res.Attachment)
			}
			h.log.Info("tool call", "incident", in.ID, "tool", c.Name)
			return res
		}
		answer, usage, err := h.d.Explainer.Answer(ctx, diagnosis.Question{Incident: in.ID, Context: IncidentContext(in, d), History: q.History, Text: q.Text}, Tools(), call)
		if err == nil && strings.TrimSpace(answer) != "" {
			r := Reply{Public: true, Summary: firstLine(answer), Blocks: []Block{{Lines: textLines(answer)}}}
			if len(pictures) > 0 {
				p := pictures[len(pictures)-1]
				r.Picture = &Picture{Name: p.Name, Title: p.Title, Alt: p.Alt, PNG: p.PNG}
			}
			return r, usage, nil
		}
		h.log.Warn("the model did not answer; the intent matcher does", "incident", in.ID, "err", err)
		r, ierr := h.intent(ctx, in, d, q.Text)
		if ierr == nil {
			r.Blocks = append(r.Blocks, Block{Context: true, Lines: []Line{line(text("(The model did not answer; this is nightowl's own answer.)"))}})
		}
		return r, usage, ierr
	}
	r, err := h.intent(ctx, in, d, q.Text)
	return r, diagnosis.Usage{}, err
}

var (
	wantsPicture = regexp.MustCompile(`\b(graph|picture|draw|diagram|map|neighbou?rhood|chart|plot|show me)\b`)
	wantsMetric  = regexp.MustCompile(`\b(errors?|error rate|5xx|latency|saturation|pool|cpu|memory|load)\b`)
	wantsWhy     = regexp.MustCompile(`\b(why|cause|root|sure|think|believe|explain|reason|evidence|confiden)`)
	wantsImpact  = regexp.MustCompile(`\b(affected|impact|blast|who|which services|customers|users|radius|what else)\b`)
	wantsChange  = regexp.MustCompile(`\b(chang|deploy|new|last hour|since|timeline|when did|started)`)
	wantsHistory = regexp.MustCompile(`\b(before|history|again|similar|seen|happened|last time|previous)`)
	wantsRunbook = regexp.MustCompile(`\b(runbook|fix|remediat|what (should|do) (i|we)|how (do|can) (i|we)|mitigat|playbook)`)
)

// intent answers the common questions without a model.
func (h *Handler) intent(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis, question string) (Reply, error) {
	q := strings.ToLower(question)
	service := h.serviceIn(q)
	switch {
	case wantsPicture.MatchString(q) && service != "" && wantsMetric.MatchString(q) && h.d.Metrics != nil:
		return h.graphQuery(ctx, Request{Incident: in.ID}, h.metricQuery(service, q))
	case wantsPicture.MatchString(q) && (service != "" || strings.Contains(q, "graph")):
		if service == "" {
			top, _ := d.Top()
			service = top.Service
		}
		return h.graphService(ctx, service, in.ID)
	case wantsHistory.MatchString(q):
		return public(h.historyAnswer(d)), nil
	case wantsChange.MatchString(q):
		return public(h.changeAnswer(in)), nil
	case wantsRunbook.MatchString(q):
		return public(h.runbookAnswer(d)), nil
	case wantsImpact.MatchString(q):
		return public(h.impactAnswer(in, d)), nil
	case wantsWhy.MatchString(q):
		return public(h.whyAnswer(d)), nil
	}
	return Reply{Public: true, Summary: "Questions I can answer", Blocks: []Block{{Lines: []Line{
		line(text("I can answer, about this incident: "), italic("why do you think it's the database?"), text(", "), italic("what is affected?"),
			text(", "), italic("what changed in the last hour?"), text(", "), italic("has this happened before?"), text(", "),
			italic("show me order-service errors"), text(", "), italic("graph of checkout"), text(", "), italic("which runbook?")),
	}}}}, nil
}

func italic(s string) Span { return Span{Text: s, Style: Italic} }

func public(blocks []Block) Reply {
	summary := ""
	if len(blocks) > 0 && len(blocks[0].Lines) > 0 {
		for _, s := range blocks[0].Lines[0] {
			summary += s.Text
		}
	}
	return Reply{Public: true, Summary: summary, Blocks: blocks}
}

// serviceIn finds a service (or alias) named in the question.
func (h *Handler) serviceIn(q string) string {
	best := ""
	for _, w := range regexp.MustCompile(`[a-z0-9][a-z0-9._-]*`).FindAllString(q, -1) {
		if n, ok := h.d.Graph.Lookup(w); ok && len(w) > len(best) {
			best = n
		}
	}
	return best
}

// metricQuery picks the PromQL for "show me X errors/latency/saturation".
func (h *Handler) metricQuery(service, q string) string {
	s := strings.ReplaceAll(service, `"`, `\"`)
	switch {
	case strings.Contains(q, "latency"):
		return fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="%s"}[5m]))) 3h`, s)
	case strings.Contains(q, "pool") || strings.Contains(q, "saturation"):
		return fmt.Sprintf(`max(db_pool_connections_in_use{service="%s"} / db_pool_connections_max{service="%s"}) 3h`, s, s)
	case strings.Contains(q, "cpu") || strings.Contains(q, "load"):
		return fmt.Sprintf(`sum(rate(container_cpu_usage_seconds_total{service="%s"}[5m])) 3h`, s)
	}
	return fmt.Sprintf(`sum(rate(http_requests_total{service="%s",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="%s"}[5m])) 3h`, s, s)
}

func (h *Handler) whyAnswer(d diagnosis.Diagnosis) []Block {
	top, ok := d.Top()
	if !ok {
		return []Block{{Lines: []Line{line(text("There is nothing to diagnose yet."))}}}
	}
	lines := []Line{line(textf("I think it is %s (%.0f%%) because:", top.Service, top.Confidence*100))}
	for _, e := range top.Evidence {
		lines = append(lines, line(text("• "+e)))
	}
	blocks := []Block{{Lines: lines}}
	if len(d.Candidates) > 1 {
		next := d.Candidates[1]
		var missing []string
		for k, v := range top.Signals {
			if v > next.Signals[k]+0.2 {
				missing = append(missing, signalWords[k])
			}
		}
		sort.Strings(missing)
		l := line(textf("The next candidate, %s (%.0f%%), ", next.Service, next.Confidence*100))
		if len(missing) > 0 {
			l = append(l, text("has less going for it: "+strings.Join(slices.DeleteFunc(missing, func(s string) bool { return s == "" }), ", ")+"."))
		} else {
			l = append(l, text("is close; check both."))
		}
		blocks = append(blocks, Block{Lines: []Line{l}})
	}
	return blocks
}

var signalWords = map[string]string{
	"label": "none of its alerts marks it as a likely cause", "coverage": "fewer failing services depend on it",
	"healthy": "its own dependencies are failing too", "layer": "it sits higher in the stack", "cause": "its alerts are symptoms",
	"time": "it failed later", "signature": "the error messages do not point at it", "shared": "it is not a shared dependency",
	"metrics": "its metrics do not lead the errors", "history": "it was not the cause of similar incidents",
	"mention": "other alerts do not name it", "backlog": "no backlog points at it", "severity": "its alerts are less severe",
}

func (h *Handler) impactAnswer(in diagnosis.Incident, d diagnosis.Diagnosis) []Block {
	top, _ := d.Top()
	lines := []Line{
		line(textf("%d alerts on %d services: %s.", d.Alerts.Distinct, len(d.AffectedServices), strings.Join(d.AffectedServices, ", "))),
	}
	if len(d.ImpactRadius) > 0 {
		lines = append(lines, line(textf("Everything that depends on %s: %s.", top.Service, strings.Join(d.ImpactRadius, ", "))))
	}
	byLayer := map[string][]string{}
	for _, a := range in.Firing() {
		if l := a.Labels[diagnosis.LabelLayer]; l == "business" {
			byLayer[l] = append(byLayer[l], a.Name())
		}
	}
	if b := byLayer["business"]; len(b) > 0 {
		lines = append(lines, line(text("Customers feel it: "+strings.Join(uniq(b), ", ")+".")))
	}
	if len(d.NotInGraph) > 0 {
		lines = append(lines, line(text("Not in the service graph: "+strings.Join(d.NotInGraph, ", ")+".")))
	}
	return []Block{{Lines: lines}}
}

// changeAnswer is the incident's last hour: what started and what resolved.
func (h *Handler) changeAnswer(in diagnosis.Incident) []Block {
	now := h.d.Now()
	since := now.Add(-time.Hour)
	type ev struct {
		at   time.Time
		what string
	}
	var evs []ev
	for _, a := range in.Alerts {
		if a.StartsAt.After(since) {
			evs = append(evs, ev{a.StartsAt, fmt.Sprintf("%s started %s on %s", a.StartsAt.UTC().Format("15:04:05"), a.Name(), a.NodeOrService())})
		}
		if !a.EndsAt.IsZero() && a.EndsAt.After(since) {
			evs = append(evs, ev{a.EndsAt, fmt.Sprintf("%s resolved %s on %s", a.EndsAt.UTC().Format("15:04:05"), a.Name(), a.NodeOrService())})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	if len(evs) == 0 {
		return []Block{{Lines: []Line{line(text("Nothing in this incident started or resolved in the last hour."))}}}
	}
	lines := []Line{line(textf("In the last hour (UTC), %d changes in this incident; the first failure was at %s:", len(evs), in.StartedAt().UTC().Format("15:04:05")))}
	for i, e := range evs {
		if i == 15 {
			lines = append(lines, line(textf("… and %d more", len(evs)-15)))
			break
		}
		lines = append(lines, line(text("• "+e.what)))
	}
	lines = append(lines, line(text("nightowl sees alerts, not deploys: check the deploy log of the first service that failed.")))
	return []Block{{Lines: lines}}
}

func (h *Handler) historyAnswer(d diagnosis.Diagnosis) []Block {
	if len(d.History) == 0 {
		return []Block{{Lines: []Line{line(text("Not that I know of: no past incident is similar enough (50% alike on alert names and services)."))}}}
	}
	lines := []Line{line(textf("Yes, %d similar incidents:", len(d.History)))}
	for _, m := range d.History {
		l := fmt.Sprintf("• %s (%s, %.0f%% alike): root cause %s", m.Incident, m.When.UTC().Format("2006-01-02"), m.Similarity*100, orDash(m.RootCause))
		if m.Runbook != "" {
			l += fmt.Sprintf(", %s %s", m.Runbook, m.Outcome)
		}
		if m.Resolved > 0 {
			l += ", resolved in " + ago(m.Resolved)
		}
		lines = append(lines, line(text(l)))
	}
	return []Block{{Lines: lines}}
}

func (h *Handler) runbookAnswer(d diagnosis.Diagnosis) []Block {
	if d.RecommendedRunbook == "" {
		return []Block{{Lines: []Line{line(text("No runbook is recommended for this incident; /runbook list shows them all."))}}}
	}
	lines := []Line{line(textf("%s, from the %s. ", d.RecommendedRunbook, d.RunbookReason), text("Press Approve on the card to run it (an approver must), or Show command to run it by hand."))}
	if h.d.Runbooks != nil {
		if rb, ok := h.d.Runbooks.Catalog().Get(d.RecommendedRunbook); ok {
			lines = append(lines, line(text(rb.Title+": "+strings.TrimSpace(rb.Description))))
		}
	}
	return []Block{{Lines: lines}}
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func textLines(s string) []Line {
	var out []Line
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, line(text(l)))
	}
	return out
}
