package diagnosis

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Signal weights: how strongly each signal, scored in [0,1], speaks for a
// candidate. They and the temperature were fitted on the scenario corpus
// (calibration_test.go reports accuracy and calibration).
var weights = map[string]float64{
	"label":    2.0, // the alert rule says it is a root-cause candidate
	"coverage": 3.0, // share of the other affected services that depend on it
	"healthy":  1.5, // its own dependencies are quiet
	"layer":    1.0, // infrastructure explains more than applications
	"severity": 0.5,
	"time":     1.0, // among the first to fail, within scrape tolerance
	"metrics":  3.0, // its saturation is anomalous and leads its dependents' errors
	"history":  1.5, // similar incidents had this root cause
}

// temperature of the softmax that turns scores into confidences.
const temperature = 1.0

// scrapeTolerance absorbs scrape intervals and `for:` clauses: failures that
// start this close together count as simultaneous.
const scrapeTolerance = 90 * time.Second

// scoreStatic scores what the alerts and the graph say, before metrics and
// history are consulted.
func (e *Engine) scoreStatic(c *candidate, byNode map[string][]AlertState, start time.Time, res map[string]Resolution) {
	g := e.cfg.Graph
	if c.silent {
		c.evidence = append(c.evidence, fmt.Sprintf("no alert of its own, but every service that calls it is failing (%s)", listShort(g.Dependents(c.node), 4)))
	}
	for _, a := range c.alerts {
		if why := res[a.Fingerprint].Evidence(a.Alert); why != "" {
			c.evidence = append(c.evidence, why)
			break
		}
	}
	if a, ok := firstWith(c.alerts, func(a AlertState) bool { return a.RootCauseCandidate() }); ok {
		c.say("label", 1, "its alert %s (%s) is marked as a root-cause candidate", a.Name(), a.Severity())
	}
	e.scoreGraph(c, byNode)
	e.scoreLayer(c)
	if len(c.alerts) == 0 {
		return
	}
	worst := SeverityNone
	for _, a := range c.alerts {
		worst = max(worst, a.Severity())
	}
	c.say("severity", float64(worst)/float64(SeverityCritical), "")
	first := c.alerts[0].StartsAt
	for _, a := range c.alerts {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(first) {
			first = a.StartsAt
		}
	}
	switch lag := first.Sub(start); {
	case lag <= scrapeTolerance:
		c.say("time", 1, "it failed within %s of the first alert", roundDuration(scrapeTolerance))
	default:
		c.say("time", math.Max(0, 1-float64(lag-scrapeTolerance)/float64(10*time.Minute)), "its first alert came %s after the storm began", roundDuration(lag))
	}
}

// scoreGraph: the node whose dependents fail while its own dependencies are
// quiet explains the most.
func (e *Engine) scoreGraph(c *candidate, byNode map[string][]AlertState) {
	g := e.cfg.Graph
	if !g.Has(c.node) {
		c.evidence = append(c.evidence, "not in graph: its place in the dependency graph is unknown")
		return
	}
	others := len(byNode)
	if !c.silent {
		others--
	}
	if others > 0 {
		var explained []string
		for _, u := range g.Upstream(c.node) {
			if byNode[u] != nil {
				explained = append(explained, u)
			}
		}
		if len(explained) > 0 {
			c.say("coverage", float64(len(explained))/float64(others), "%d of %d other affected services depend on it: %s", len(explained), others, listShort(explained, 4))
		} else {
			c.say("coverage", 0, "")
		}
	}
	deps := g.Downstream(c.node)
	var sick []string
	for _, d := range deps {
		if byNode[d] != nil {
			sick = append(sick, d)
		}
	}
	switch {
	case len(deps) == 0:
		c.say("healthy", 1, "")
	case len(sick) == 0:
		c.say("healthy", 1, "its dependencies are quiet: %s", listShort(deps, 4))
	default:
		c.say("healthy", 1-float64(len(sick))/float64(len(deps)), "it depends on failing %s", listShort(sick, 3))
	}
}

func (e *Engine) scoreLayer(c *candidate) {
	layer := e.cfg.Graph.Layer(c.node)
	for _, a := range c.alerts {
		if l, ok := labelLayer(a.Labels[LabelLayer]); ok && l < layer {
			layer = l
		}
	}
	score := map[graph.Layer]float64{graph.LayerInfrastructure: 1, graph.LayerPlatform: 0.8, graph.LayerApplication: 0.5, graph.LayerEdge: 0.3, graph.LayerBusiness: 0.1}[layer]
	if layer <= graph.LayerPlatform {
		c.say("layer", score, "%s layer: failures there cascade upward", layer)
	} else {
		c.say("layer", score, "")
	}
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
