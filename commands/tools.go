package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Tools are what a model may ask nightowl to look up while answering. They
// read; none of them runs, approves or changes anything.
func Tools() []diagnosis.Tool {
	obj := func(props map[string]any, required ...string) map[string]any {
		m := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			m["required"] = required
		}
		return m
	}
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	return []diagnosis.Tool{
		{Name: "get_diagnosis", Description: "The incident's ranked root-cause candidates with their evidence.", Parameters: obj(map[string]any{})},
		{Name: "list_alerts", Description: "The incident's alerts: name, service, severity, status, start, summary. Optionally only one service's.", Parameters: obj(map[string]any{"service": str("only this service (optional)")})},
		{Name: "get_alert", Description: "Every label and annotation of the incident's alerts with this name.", Parameters: obj(map[string]any{"name": str("the alert name")}, "name")},
		{Name: "query_prometheus", Description: "Run a PromQL range query over the last hours and get each series' minimum, maximum and last value.", Parameters: obj(map[string]any{"promql": str("a PromQL expression"), "range": str("how far back: 30m, 3h, 1d (default 1h)")}, "promql")},
		{Name: "lookup_history", Description: "Past incidents similar to this one: root cause, runbook, outcome, time to resolve.", Parameters: obj(map[string]any{})},
		{Name: "describe_runbook", Description: "What a runbook does, its parameters, risk and who may approve it.", Parameters: obj(map[string]any{"id": str("the runbook ID, e.g. RB-DB-001")}, "id")},
		{Name: "graph_picture", Description: "Draw a service's neighbourhood in the dependency graph; the picture is shown in the thread.", Parameters: obj(map[string]any{"service": str("the service")}, "service")},
	}
}

// callTool runs one tool call for the model, on this incident only.
func (h *Handler) callTool(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis, c diagnosis.ToolCall) diagnosis.ToolResult {
	in = h.forModel(in)
	var args map[string]string
	if len(c.Arguments) > 0 {
		var raw map[string]any
		if err := json.Unmarshal(c.Arguments, &raw); err != nil {
			return diagnosis.ToolResult{Content: "error: the arguments are not a JSON object"}
		}
		args = map[string]string{}
		for k, v := range raw {
			args[k] = fmt.Sprint(v)
		}
	}
	switch c.Name {
	case "get_diagnosis":
		return diagnosis.ToolResult{Content: diagnosisText(d)}
	case "list_alerts":
		return diagnosis.ToolResult{Content: alertsText(in, args["service"])}
	case "get_alert":
		return diagnosis.ToolResult{Content: alertDetail(in, args["name"])}
	case "lookup_history":
		return diagnosis.ToolResult{Content: blocksText(h.historyAnswer(d))}
	case "describe_runbook":
		r, err := h.runbookShow(args["id"])
		if err != nil {
			return diagnosis.ToolResult{Content: "error: " + err.Error()}
		}
		return diagnosis.ToolResult{Content: r.String()}
	case "graph_picture":
		r, err := h.graphService(ctx, args["service"], in.ID)
		if err != nil {
			return diagnosis.ToolResult{Content: "error: " + err.Error()}
		}
		res := diagnosis.ToolResult{Content: r.String() + "\n(The picture is shown to the people in the thread.)"}
		if r.Picture != nil {
			res.Attachment = &diagnosis.Attachment{Name: r.Picture.Name, Title: r.Picture.Title, Alt: r.Picture.Alt, PNG: r.Picture.PNG}
		}
		return res
	case "query_prometheus":
		return diagnosis.ToolResult{Content: h.queryText(ctx, args["promql"], args["range"])}
	}
	return diagnosis.ToolResult{Content: fmt.Sprintf("error: there is no tool %q; the tools are get_diagnosis, list_alerts, get_alert, query_prometheus, lookup_history, describe_runbook, graph_picture", c.Name)}
}

// queryText runs a PromQL query and summarises each series for a model.
func (h *Handler) queryText(ctx context.Context, promql, span string) string {
	if h.d.Metrics == nil {
		return "error: no Prometheus is configured"
	}
	if strings.TrimSpace(promql) == "" {
		return "error: promql is empty"
	}
	if err := h.allowPromQL(promql); err != nil {
		return "error: " + err.Error()
	}
	d := time.Hour
	if span != "" {
		if v, ok := parseRange(span); ok && v <= maxRange {
			d = v
		}
	}
	end := h.d.Now()
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	series, err := h.d.Metrics.QueryRange(qctx, promql, diagnosis.Range{Start: end.Add(-d), End: end, Step: max(d/120, 15*time.Second)})
	if err != nil {
		return "error: " + err.Error()
	}
	if len(series) == 0 {
		return "no data for that query over the last " + diagnosis.Roughly(d)
	}
	var b strings.Builder
	for i, s := range series {
		if i == 20 {
			fmt.Fprintf(&b, "… and %d more series\n", len(series)-20)
			break
		}
		lo, hi, last := s.Points[0].V, s.Points[0].V, s.Points[len(s.Points)-1].V
		for _, p := range s.Points {
			lo, hi = min(lo, p.V), max(hi, p.V)
		}
		fmt.Fprintf(&b, "%s: min %.4g, max %.4g, last %.4g (%d points over %s)\n", seriesName(h.seriesForModel(s)), lo, hi, last, len(s.Points), diagnosis.Roughly(d))
	}
	return b.String()
}

// incidentContext is the incident's facts as text for a model: alerts,
// diagnosis, evidence, history, runbook. It is data, not instructions.
func (h *Handler) incidentContext(in diagnosis.Incident, d diagnosis.Diagnosis) string {
	in = h.forModel(in)
	var b strings.Builder
	fmt.Fprintf(&b, "Incident %s, %s, first failure %s UTC, %d alerts (%d firing) across %d services.\n",
		in.ID, in.Status, in.StartedAt().UTC().Format(time.RFC3339), d.Alerts.Distinct, d.Alerts.Firing, len(d.AffectedServices))
	b.WriteString(diagnosisText(d))
	b.WriteString("Alerts:\n")
	b.WriteString(alertsText(in, ""))
	if len(d.History) > 0 {
		b.WriteString("Similar past incidents:\n")
		for _, m := range d.History {
			fmt.Fprintf(&b, "- %s: %s, runbook %s (%s), %.0f%% alike\n", m.Incident, causeWords(m), m.Runbook, m.Outcome, m.Similarity*100)
		}
	}
	if rb, ok := h.catalogRunbook(d.RecommendedRunbook); ok {
		fmt.Fprintf(&b, "Runbook %s: %s. %s Risk: %s. Playbook %s. It runs only after a person clicks Approve on the card.\n",
			rb.ID, rb.Title, strings.Join(strings.Fields(rb.Description), " "), rb.Risk, rb.Playbook)
	}
	return b.String()
}

// withheld stands for a node named after a withheld label.
const withheld = "[withheld]"

// forModel is the incident as a model may read it: the labels and
// annotations Deps.Withhold names are left out whole, whatever their values
// hold (spaces, quotes, commas), and a node named by one shows as withheld.
func (h *Handler) forModel(in diagnosis.Incident) diagnosis.Incident {
	alerts := make([]diagnosis.AlertState, len(in.Alerts))
	for i, a := range in.Alerts {
		for name, v := range a.Labels {
			if h.d.Withhold(name) && a.Node == v {
				a.Node = withheld
			}
		}
		a.Labels, a.Annotations = h.visible(a.Labels), h.visible(a.Annotations)
		alerts[i] = a
	}
	in.Alerts = alerts
	return in
}

// visible copies m without the names Deps.Withhold names.
func (h *Handler) visible(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !h.d.Withhold(k) {
			out[k] = v
		}
	}
	return out
}

// seriesForModel is a series without the labels Deps.Withhold names.
func (h *Handler) seriesForModel(s diagnosis.Series) diagnosis.Series {
	s.Labels = h.visible(s.Labels)
	return s
}

func diagnosisText(d diagnosis.Diagnosis) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Diagnosis: %s\n", d.Summary)
	if d.Unsure && len(d.Candidates) > 0 {
		fmt.Fprintf(&b, "Unsure: %s\n", unsureWords(d))
	}
	if len(d.Explanation) == 2 {
		fmt.Fprintf(&b, "Two independent failures: %s and %s.\n", d.Explanation[0], d.Explanation[1])
	}
	for i, c := range d.Candidates {
		if i == 4 {
			break
		}
		fmt.Fprintf(&b, "%d. %s (%.0f%%): %s\n", i+1, c.Service, c.Confidence*100, strings.Join(c.Evidence, "; "))
		if c.Check != "" {
			fmt.Fprintf(&b, "   To confirm or rule it out: %s\n", c.Check)
		}
	}
	for i, c := range d.Changes {
		if i == 5 {
			break
		}
		fmt.Fprintf(&b, "Change before the first alert: %s\n", c.Text)
	}
	if d.RecommendedRunbook != "" {
		fmt.Fprintf(&b, "Recommended runbook: %s (%s). Only people can run it, with the Approve button on the card.\n", d.RecommendedRunbook, d.RunbookReason)
	}
	if d.Metrics != "" {
		fmt.Fprintf(&b, "Metrics: %s\n", d.Metrics)
	}
	return b.String()
}

func alertsText(in diagnosis.Incident, service string) string {
	alerts := append([]diagnosis.AlertState(nil), in.Alerts...)
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].StartsAt.Before(alerts[j].StartsAt) })
	var b strings.Builder
	n := 0
	for _, a := range alerts {
		if service != "" && a.NodeOrService() != service {
			continue
		}
		if n == 40 {
			fmt.Fprintf(&b, "… and more\n")
			break
		}
		n++
		fmt.Fprintf(&b, "- %s on %s, %s, %s since %s UTC: %s\n", a.Name(), a.NodeOrService(), a.Labels[diagnosis.LabelSeverity], a.Status, a.StartsAt.UTC().Format("15:04:05"), a.Summary())
	}
	if n == 0 {
		return "no such alerts\n"
	}
	return b.String()
}

func alertDetail(in diagnosis.Incident, name string) string {
	var b strings.Builder
	for _, a := range in.Alerts {
		if !strings.EqualFold(a.Name(), name) {
			continue
		}
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "%s (%s):\n", a.Name(), a.Status)
		for _, k := range keys {
			fmt.Fprintf(&b, "  label %s=%s\n", k, a.Labels[k])
		}
		for k, v := range a.Annotations {
			fmt.Fprintf(&b, "  annotation %s=%s\n", k, v)
		}
	}
	if b.Len() == 0 {
		return fmt.Sprintf("no alert named %q in this incident", name)
	}
	return b.String()
}

func blocksText(blocks []Block) string { return Reply{Blocks: blocks}.String() }
