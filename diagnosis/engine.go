package diagnosis

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// EngineConfig wires the Engine; only Graph matters for a first diagnosis.
type EngineConfig struct {
	Graph *graph.Graph
	// Resolve names the node an alert is about (default: LabelResolver).
	Resolve func(Alert) string
	// Runbooks maps alert names to runbooks when nothing closer says which.
	Runbooks RunbookIndex
	Now      func() time.Time
}

// Engine ranks an incident's root-cause candidates from independent signals,
// each of which leaves a sentence of evidence.
type Engine struct {
	cfg EngineConfig
}

// NewEngine returns an Engine.
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.Graph == nil {
		cfg.Graph, _ = graph.New(nil)
	}
	if cfg.Resolve == nil {
		cfg.Resolve = LabelResolver(cfg.Graph)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Engine{cfg: cfg}
}

var _ Diagnoser = (*Engine)(nil)

// scrapeTolerance absorbs scrape intervals and `for:` clauses: failures that
// start this close together count as simultaneous.
const scrapeTolerance = 90 * time.Second

// Signal weights: how strongly each signal, scored in [0,1], speaks for a candidate.
var weights = map[string]float64{
	"label":    3.0, // the alert rule says it is a root-cause candidate
	"coverage": 2.5, // share of the other affected services that depend on it
	"healthy":  1.5, // its own dependencies are quiet
	"layer":    1.0, // infrastructure explains more than applications
	"severity": 0.5,
	"time":     0.7, // among the first to fail
}

type candidate struct {
	node     string
	alerts   []AlertState
	silent   bool // no alert of its own: a shared dependency
	signals  map[string]float64
	evidence []string
	score    float64
}

// Diagnose ranks the incident's candidates. It never fails: missing inputs
// only weaken the evidence.
func (e *Engine) Diagnose(ctx context.Context, in Incident) Diagnosis {
	d := Diagnosis{Incident: in.ID, GeneratedAt: e.cfg.Now()}
	byNode := map[string][]AlertState{}
	for _, a := range in.Alerts {
		node := a.Node
		if node == "" {
			node = e.cfg.Resolve(a.Alert)
		}
		if node == "" {
			node = "(unknown service)"
		}
		byNode[node] = append(byNode[node], a)
		d.Alerts.Distinct += max(a.Count, 1)
		if a.Status == Firing {
			d.Alerts.Firing++
		} else {
			d.Alerts.Resolved++
		}
	}
	d.Alerts.Received = in.Received
	if d.Alerts.Received < len(in.Alerts) {
		d.Alerts.Received = len(in.Alerts)
	}
	if !in.Thread.IsZero() {
		d.Alerts.Pages = 1
	}
	for n := range byNode {
		d.AffectedServices = append(d.AffectedServices, n)
		if !e.cfg.Graph.Has(n) {
			d.NotInGraph = append(d.NotInGraph, n)
		}
	}
	sort.Strings(d.AffectedServices)
	sort.Strings(d.NotInGraph)
	if len(byNode) == 0 {
		d.Summary = "no alerts"
		return d
	}
	cands := e.rank(byNode, in.StartedAt())
	for _, c := range cands {
		d.Candidates = append(d.Candidates, c.public(e.cfg.Graph))
	}
	top := cands[0]
	d.ImpactRadius = e.cfg.Graph.Upstream(top.node)
	d.RecommendedRunbook, d.RunbookReason = e.runbook(top)
	d.Summary = summary(top, d)
	return d
}

func (e *Engine) rank(byNode map[string][]AlertState, start time.Time) []*candidate {
	affected := make([]string, 0, len(byNode))
	for n := range byNode {
		affected = append(affected, n)
	}
	sort.Strings(affected)
	var cands []*candidate
	for _, n := range affected {
		cands = append(cands, &candidate{node: n, alerts: byNode[n]})
	}
	cands = append(cands, e.silentDependencies(byNode, affected)...)
	for _, c := range cands {
		e.score(c, byNode, affected, start)
	}
	temperature := 1.0
	total := 0.0
	for _, c := range cands {
		total += math.Exp(c.score / temperature)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].node < cands[j].node
	})
	for _, c := range cands {
		c.signals["confidence"] = math.Exp(c.score/temperature) / total
	}
	return cands
}

// silentDependencies finds nodes with no alert of their own that at least two
// affected nodes call, and on which every one of their direct callers fails.
func (e *Engine) silentDependencies(byNode map[string][]AlertState, affected []string) []*candidate {
	seen := map[string]bool{}
	var out []*candidate
	for _, n := range affected {
		for _, dep := range e.cfg.Graph.DependsOn(n) {
			if seen[dep] || byNode[dep] != nil {
				continue
			}
			seen[dep] = true
			users := e.cfg.Graph.Dependents(dep)
			failing := 0
			for _, u := range users {
				if byNode[u] != nil {
					failing++
				}
			}
			if failing >= 2 && failing == len(users) {
				out = append(out, &candidate{node: dep, silent: true})
			}
		}
	}
	return out
}

func (e *Engine) score(c *candidate, byNode map[string][]AlertState, affected []string, start time.Time) {
	g := e.cfg.Graph
	c.signals = map[string]float64{}
	say := func(signal string, v float64, format string, args ...any) {
		c.signals[signal] = v
		c.score += weights[signal] * v
		if format != "" {
			c.evidence = append(c.evidence, fmt.Sprintf(format, args...))
		}
	}
	if c.silent {
		c.evidence = append(c.evidence, fmt.Sprintf("no alert of its own, but every service that calls it is failing (%s)", strings.Join(g.Dependents(c.node), ", ")))
	}
	if a, ok := firstWith(c.alerts, func(a AlertState) bool { return a.RootCauseCandidate() }); ok {
		say("label", 1, "its alert %s (%s) is marked as a root-cause candidate", a.Name(), a.Severity())
	}
	// Graph position: who depends on it, and whether what it depends on is quiet.
	others := len(affected) - 1
	if c.silent {
		others = len(affected)
	}
	if others > 0 && g.Has(c.node) {
		var explained []string
		for _, u := range g.Upstream(c.node) {
			if byNode[u] != nil {
				explained = append(explained, u)
			}
		}
		if len(explained) > 0 {
			say("coverage", float64(len(explained))/float64(others), "%d of %d other affected services depend on it: %s", len(explained), others, listShort(explained, 4))
		} else {
			say("coverage", 0, "")
		}
	}
	if g.Has(c.node) {
		deps := g.Downstream(c.node)
		var sick []string
		for _, d := range deps {
			if byNode[d] != nil {
				sick = append(sick, d)
			}
		}
		switch {
		case len(deps) == 0:
			say("healthy", 1, "")
		case len(sick) == 0:
			say("healthy", 1, "its dependencies are quiet: %s", listShort(deps, 4))
		default:
			say("healthy", 1-float64(len(sick))/float64(len(deps)), "it depends on failing %s", listShort(sick, 3))
		}
	} else {
		c.evidence = append(c.evidence, "not in graph: its place in the dependency graph is unknown")
	}
	layer := g.Layer(c.node)
	for _, a := range c.alerts {
		if l, ok := labelLayer(a.Labels[LabelLayer]); ok && l < layer {
			layer = l
		}
	}
	layerScore := map[graph.Layer]float64{graph.LayerInfrastructure: 1, graph.LayerPlatform: 0.8, graph.LayerApplication: 0.5, graph.LayerEdge: 0.3, graph.LayerBusiness: 0.1}[layer]
	if layer <= graph.LayerPlatform {
		say("layer", layerScore, "%s layer: failures there cascade upward", layer)
	} else {
		say("layer", layerScore, "")
	}
	if len(c.alerts) > 0 {
		worst := SeverityNone
		for _, a := range c.alerts {
			worst = max(worst, a.Severity())
		}
		say("severity", float64(worst)/float64(SeverityCritical), "")
		first := c.alerts[0].StartsAt
		for _, a := range c.alerts {
			if !a.StartsAt.IsZero() && a.StartsAt.Before(first) {
				first = a.StartsAt
			}
		}
		lag := first.Sub(start)
		v := 1.0
		if lag > scrapeTolerance {
			v = math.Max(0, 1-float64(lag-scrapeTolerance)/float64(10*time.Minute))
		}
		if lag <= scrapeTolerance {
			say("time", v, "it failed within %s of the first alert", roundDuration(scrapeTolerance))
		} else {
			say("time", v, "its first alert came %s after the storm began", roundDuration(lag))
		}
	}
}

func (e *Engine) runbook(top *candidate) (string, string) {
	for _, a := range top.alerts {
		if rb := a.Labels[LabelRunbook]; rb != "" && a.RootCauseCandidate() {
			return rb, fmt.Sprintf("runbook label of %s", a.Name())
		}
	}
	for _, a := range top.alerts {
		if rb := a.Labels[LabelRunbook]; rb != "" {
			return rb, fmt.Sprintf("runbook label of %s", a.Name())
		}
	}
	if n, ok := e.cfg.Graph.Node(top.node); ok && len(n.Runbooks) > 0 {
		return n.Runbooks[0], fmt.Sprintf("first runbook of %s in the service graph", top.node)
	}
	if e.cfg.Runbooks != nil {
		for _, a := range top.alerts {
			if rb, ok := e.cfg.Runbooks.RunbookFor(a.Name(), top.node); ok {
				return rb, fmt.Sprintf("catalog entry for %s", a.Name())
			}
		}
	}
	return "", ""
}

func (c *candidate) public(g *graph.Graph) Candidate {
	out := Candidate{
		Service:    c.node,
		Confidence: math.Round(c.signals["confidence"]*1000) / 1000,
		Evidence:   c.evidence,
		Signals:    map[string]float64{},
		InGraph:    g.Has(c.node),
	}
	for k, v := range c.signals {
		if k != "confidence" {
			out.Signals[k] = math.Round(v*1000) / 1000
		}
	}
	out.Alerts = alertNames(c.alerts)
	return out
}

// alertNames lists distinct alert names, root-cause candidates and the most
// severe first.
func alertNames(alerts []AlertState) []string {
	alerts = slices.Clone(alerts)
	sort.SliceStable(alerts, func(i, j int) bool {
		if a, b := alerts[i].RootCauseCandidate(), alerts[j].RootCauseCandidate(); a != b {
			return a
		}
		return alerts[i].Severity() > alerts[j].Severity()
	})
	names := []string{}
	for _, a := range alerts {
		if !slices.Contains(names, a.Name()) {
			names = append(names, a.Name())
		}
	}
	return names
}

func summary(top *candidate, d Diagnosis) string {
	cause := top.node + " (no alert of its own)"
	if len(top.alerts) > 0 {
		cause = alertNames(top.alerts)[0] + " on " + top.node
	}
	return fmt.Sprintf("%s: %d alerts across %d services", cause, d.Alerts.Distinct, len(d.AffectedServices))
}

func firstWith(alerts []AlertState, f func(AlertState) bool) (AlertState, bool) {
	for _, a := range alerts {
		if f(a) {
			return a, true
		}
	}
	return AlertState{}, false
}

func labelLayer(s string) (graph.Layer, bool) {
	switch strings.ToLower(s) {
	case "infrastructure", "infra", "database", "network", "storage":
		return graph.LayerInfrastructure, true
	case "platform":
		return graph.LayerPlatform, true
	case "application", "app", "service":
		return graph.LayerApplication, true
	case "business":
		return graph.LayerBusiness, true
	}
	return 0, false
}

func listShort(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return strings.TrimSuffix(d.Round(time.Second).String(), "m0s") + map[bool]string{true: "m", false: ""}[d.Round(time.Second)%time.Minute == 0]
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}
