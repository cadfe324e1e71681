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
	h = h.pin()
	// "cause X" says what the cause was: a correction, never a question
	// for a model.
	if name, ok := correctionIn(q.Text); ok {
		r, err := h.correct(ctx, q.Incident, name, q.User)
		return r, diagnosis.Usage{}, err
	}
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
		answer, usage, err := h.d.Explainer.Answer(ctx, diagnosis.Question{Incident: in.ID, Context: h.incidentContext(in, d), History: q.History, Text: q.Text}, Tools(), call)
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
	word         = regexp.MustCompile(`[a-z0-9][a-z0-9._-]*`)
	wantsRunbook = regexp.MustCompile(`\b(runbook|fix|remediat|what (should|do) (i|we)|how (do|can) (i|we)|mitigat|playbook)`)
)

// intent answers the common questions without a model.
func (h *Handler) intent(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis, question string) (Reply, error) {
	q := strings.ToLower(question)
	service := h.serviceIn(q)
	switch {
	case service != "" && wantsMetric.MatchString(q) && (wantsPicture.MatchString(q) || strings.Contains(q, "show")):
		if h.d.Metrics != nil {
			return h.graphQuery(ctx, Request{Incident: in.ID}, h.metricQuery(service, q))
		}
		return public(h.serviceAlertsAnswer(in, service)), nil
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
		return public(h.whyAnswer(d, q)), nil
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
	for _, w := range word.FindAllString(q, -1) {
		if n, ok := h.g.Lookup(w); ok && len(w) > len(best) {
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

func (h *Handler) whyAnswer(d diagnosis.Diagnosis, question string) []Block {
	top, ok := d.Top()
	if !ok {
		return []Block{{Lines: []Line{line(text("There is nothing to diagnose yet."))}}}
	}
	lines := []Line{line(textf("I think it is %s (%.0f%%) because:", top.Service, top.Confidence*100))}
	for _, e := range top.Evidence {
		lines = append(lines, line(text("• "+e)))
	}
	blocks := []Block{{Lines: lines}}
	// The asker's own suspect ("why the database?") gets its own answer;
	// otherwise the runner-up does.
	suspect := h.suspectIn(d, question)
	if suspect == top.Service {
		return blocks
	}
	for i, c := range d.Candidates {
		if i == 0 || (suspect != "" && c.Service != suspect) {
			continue
		}
		l := line(textf("%s is candidate %d at %.0f%%", c.Service, i+1, c.Confidence*100))
		if suspect != "" {
			l = line(textf("You asked about %s", c.Service), text(kindOf(h.g.Kind(c.Service))), textf(": it is candidate %d at %.0f%%", i+1, c.Confidence*100))
		}
		if why := lessThan(top, c); why != "" {
			l = append(l, text("; it has less going for it: "+why+"."))
		} else {
			l = append(l, text(" and close: check both."))
		}
		more := []Line{l}
		for j, e := range c.Evidence {
			if j == 2 {
				break
			}
			more = append(more, line(text("• "+e)))
		}
		return append(blocks, Block{Lines: more})
	}
	if suspect != "" {
		blocks = append(blocks, Block{Lines: []Line{line(textf("You asked about %s: it has no alert in this incident and nothing points at it, so it is not a candidate.", suspect))}})
	}
	return blocks
}

// lessThan says, in words, where the top candidate beats another.
func lessThan(top, c diagnosis.Candidate) string {
	var why []string
	for k, v := range top.Terms {
		if len(c.Alerts) == 0 && alertSignals[k] {
			continue // said once below, not as four half-truths
		}
		if w := signalWords[k]; w != "" && v > c.Terms[k]+0.5 {
			why = append(why, w)
		}
	}
	sort.Strings(why)
	if len(c.Alerts) == 0 {
		why = append([]string{"it has no alert of its own"}, why...)
	}
	return strings.Join(why, ", ")
}

// alertSignals are read from a candidate's own alerts.
var alertSignals = map[string]bool{"label": true, "role": true, "timing": true, "recovered": true}

func kindOf(kind string) string {
	if kind == "" || kind == "unknown" || kind == "service" {
		return ""
	}
	return " (" + kind + ")"
}

// kindWords map what people call a layer onto node kinds.
var kindWords = []struct {
	re    *regexp.Regexp
	kinds []string
}{
	{regexp.MustCompile(`\b(database|db|postgres|mysql|sql|rds)\b`), []string{"database"}},
	{regexp.MustCompile(`\b(cache|redis|memcached)\b`), []string{"cache"}},
	{regexp.MustCompile(`\b(queue|kafka|rabbit|broker)\b`), []string{"queue"}},
	{regexp.MustCompile(`\bdns\b`), []string{"dns"}},
	{regexp.MustCompile(`\b(network|node|host|disk)\b`), []string{"node", "storage"}},
}

// suspectIn finds the service a question suspects: one it names, or the
// best-ranked candidate of a kind it names ("the database").
func (h *Handler) suspectIn(d diagnosis.Diagnosis, question string) string {
	q := strings.ToLower(question)
	if s := h.serviceIn(q); s != "" {
		return s
	}
	for _, kw := range kindWords {
		if !kw.re.MatchString(q) {
			continue
		}
		for _, c := range d.Candidates {
			if slices.Contains(kw.kinds, h.g.Kind(c.Service)) {
				return c.Service
			}
		}
		for _, n := range h.g.Names() {
			if slices.Contains(kw.kinds, h.g.Kind(n)) && slices.Contains(d.AffectedServices, n) {
				return n
			}
		}
	}
	return ""
}

// signalWords say, for each of the engine's signals (diagnosis.SignalNames;
// Candidate.Signals holds log-likelihood ratios), what a candidate that
// scores lower on it (Candidate.Terms, by half a nat or more) lacks.
var signalWords = map[string]string{
	"graph": "it explains fewer of the failing services", "silent": "it has no alert of its own",
	"role": "its alerts are symptoms", "label": "none of its alerts marks it as a likely cause",
	"layer": "it sits higher in the stack", "timing": "it failed later",
	"signature": "the error messages do not point at it", "named": "no alert names it in a label",
	"mention": "other alerts do not name it", "recovered": "it recovered while others still fail",
	"metrics": "its metrics do not lead the errors", "changes": "nothing changed on it before the storm",
	"history": "it was not the confirmed cause of similar incidents",
}

// serviceAlertsAnswer lists one service's alerts when there is no
// Prometheus to chart its metrics.
func (h *Handler) serviceAlertsAnswer(in diagnosis.Incident, service string) []Block {
	var lines []Line
	for _, a := range in.Alerts {
		if a.NodeOrService() != service {
			continue
		}
		state := "firing"
		if a.Status == diagnosis.Resolved {
			state = "resolved"
		}
		l := fmt.Sprintf("• %s (%s, %s since %s UTC)", a.Name(), a.Labels[diagnosis.LabelSeverity], state, a.StartsAt.UTC().Format("15:04:05"))
		if s := a.Summary(); s != "" {
			l += ": " + strings.Join(strings.Fields(s), " ")
		}
		lines = append(lines, line(text(l)))
	}
	if len(lines) == 0 {
		return []Block{{Lines: []Line{line(textf("%s has no alerts in this incident.", service))}}}
	}
	head := line(textf("%s's alerts in this incident:", service))
	foot := line(italic("No PROMETHEUS_URL is configured, so there is no chart; with one, this answer is a chart of its error rate."))
	return []Block{{Lines: append(append([]Line{head}, lines...), foot)}}
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

// changeAnswer is the incident's last hour: what started and resolved,
// who acknowledged or escalated, which runbooks ran. When nothing happened
// in the last hour, it is the incident's whole timeline.
func (h *Handler) changeAnswer(in diagnosis.Incident) []Block {
	now := h.d.Now()
	type ev struct {
		at   time.Time
		what string
	}
	var evs []ev
	add := func(at time.Time, format string, args ...any) {
		if !at.IsZero() {
			evs = append(evs, ev{at, at.UTC().Format("15:04:05") + " " + fmt.Sprintf(format, args...)})
		}
	}
	for _, a := range in.Alerts {
		add(a.StartsAt, "%s started on %s", a.Name(), a.NodeOrService())
		if a.Status == diagnosis.Resolved {
			add(a.EndsAt, "%s resolved on %s", a.Name(), a.NodeOrService())
		}
	}
	add(in.Ack.At, "acknowledged by %s", h.d.Names(context.Background(), in.Ack.By))
	add(in.Escalation.At, "escalated by %s", h.d.Names(context.Background(), in.Escalation.By))
	if h.d.Runbooks != nil {
		for _, r := range h.d.Runbooks.ForIncident(in.ID) {
			add(r.RequestedAt, "%s requested by %s (%s)", r.Runbook, h.d.Names(context.Background(), r.RequestedBy), r.State)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	if len(evs) == 0 {
		return []Block{{Lines: []Line{line(text("Nothing has happened in this incident yet."))}}}
	}
	var head Line
	recent := slices.DeleteFunc(slices.Clone(evs), func(e ev) bool { return e.at.Before(now.Add(-time.Hour)) })
	if len(recent) > 0 {
		head = line(textf("In the last hour (UTC), %d changes; the first failure was at %s:", len(recent), in.StartedAt().UTC().Format("15:04:05")))
		evs = recent
	} else {
		head = line(textf("Nothing changed in the last hour. The incident's timeline (UTC), from %s:", in.StartedAt().UTC().Format("2006-01-02 15:04:05")))
	}
	lines := []Line{head}
	for i, e := range evs {
		if i == 15 {
			lines = append(lines, line(textf("… and %d more", len(evs)-15)))
			break
		}
		lines = append(lines, line(text("• "+e.what)))
	}
	lines = append(lines, line(italic("nightowl sees alerts, not deploys: check the deploy log of the first service that failed.")))
	return []Block{{Lines: lines}}
}

func (h *Handler) historyAnswer(d diagnosis.Diagnosis) []Block {
	if len(d.History) == 0 {
		return []Block{{Lines: []Line{line(text("Not that I know of: no past incident is similar enough (50% alike on alert names and services)."))}}}
	}
	lines := []Line{line(textf("Yes, %d similar incidents:", len(d.History)))}
	for _, m := range d.History {
		l := fmt.Sprintf("• %s (%s, %.0f%% alike): %s", m.Incident, m.When.UTC().Format("2006-01-02"), m.Similarity*100, causeWords(m))
		if m.Runbook != "" {
			l += fmt.Sprintf(", %s %s", m.Runbook, m.Outcome)
		}
		if m.Resolved > 0 {
			l += ", resolved in " + diagnosis.Roughly(m.Resolved)
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
