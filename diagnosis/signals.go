package diagnosis

import (
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// DefaultWeights say how strongly each signal, scored in [0,1], speaks for
// a candidate. They and the temperature were fitted on the scenario corpus
// (calibration_test.go reports accuracy and calibration).
func DefaultWeights() map[string]float64 {
	return maps.Clone(weights)
}

var weights = map[string]float64{
	"coverage":  3.0, // share of the other affected services that depend on it
	"healthy":   2.0, // its own dependencies are quiet
	"layer":     1.0, // infrastructure explains more than applications
	"cause":     3.0, // its own alert reports a cause (exhausted, full, down), not a symptom
	"time":      2.0, // among the first to fail, within scrape tolerance
	"severity":  0.5,
	"label":     0.5, // the alert rule says it is a root-cause candidate (rules are often wrong)
	"signature": 5.0, // error messages elsewhere point at its kind (DNS, TLS, storage, Redis)
	"shared":    2.5, // a silent dependency whose independent callers all fail
	"backlog":   1.0, // it consumes a queue whose backlog grows
	"mention":   0.5, // alerts on other services name it
	"crowd":     0,   // the same alert fires on its peers too (kept for evidence; it did not help on the corpus)
	"metrics":   3.0, // its saturation is anomalous and leads its dependents' errors
	"history":   1.5, // similar incidents had this root cause
}

// SignalNames lists the signals the engine weighs, sorted; EngineConfig.Disable
// takes these names.
func SignalNames() []string { return slices.Sorted(maps.Keys(weights)) }

// temperature of the softmax that turns scores into confidences.
const temperature = 1.0

// scrapeTolerance absorbs scrape intervals and `for:` clauses: failures that
// start this close together count as simultaneous.
const scrapeTolerance = 90 * time.Second

// scoreStatic scores what the alerts and the graph say, before metrics and
// history are consulted.
func (e *Engine) scoreStatic(c *candidate, byNode map[string][]AlertState, start time.Time, res map[string]Resolution, crowd map[string]map[string]int) {
	g := e.cfg.Graph
	if c.silent {
		callers := g.Dependents(c.node)
		failing := 0
		for _, u := range callers {
			if byNode[u] != nil {
				failing++
			}
		}
		if failing == len(callers) && failing > 0 {
			// Callers that call each other may all fail because of one of
			// them; only independent ones make the shared dependency likely.
			c.say("shared", math.Min(1, float64(len(e.independent(callers)))/2), "no alert of its own, but every service that calls it is failing (%s)", listShort(callers, 4))
		}
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
	e.scoreBacklog(c, byNode)
	e.scoreCrowd(c, crowd)
	if len(c.alerts) == 0 {
		return
	}
	worst, cause, causeName := SeverityNone, 0.0, ""
	for _, a := range c.alerts {
		worst = max(worst, a.Severity())
		if s := causeScore(a.Name()); s > cause {
			cause, causeName = s, a.Name()
		}
	}
	c.say("severity", float64(worst)/float64(SeverityCritical), "")
	if cause >= 1 {
		c.say("cause", cause, "its alert %s reports a cause, not a symptom", causeName)
	} else {
		c.say("cause", cause, "")
	}
	first := c.alerts[0].StartsAt
	for _, a := range c.alerts {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(first) {
			first = a.StartsAt
		}
	}
	// Alert times are a weak clue: `for:` clauses and scrape delays make the
	// root cause's alert late as often as not. Early is good; late costs
	// little until it is very late.
	switch lag := first.Sub(start); {
	case lag < -onsetGap:
		c.say("time", 0.3, "its alert was already firing %s before the storm (perhaps unrelated)", roundDuration(-lag))
	case lag <= scrapeTolerance:
		c.say("time", 1, "it was among the first to fail (within %s of the storm's start)", roundDuration(scrapeTolerance))
	default:
		c.say("time", math.Max(0.2, 1-float64(lag-scrapeTolerance)/float64(30*time.Minute)), "its first alert came %s after the storm began", roundDuration(lag))
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
	from := ""
	for _, a := range c.alerts {
		if l, ok := labelLayer(a.Labels[LabelLayer]); ok && l < layer {
			layer, from = l, a.Name()
		}
	}
	score := map[graph.Layer]float64{graph.LayerInfrastructure: 1, graph.LayerPlatform: 0.8, graph.LayerApplication: 0.5, graph.LayerEdge: 0.3, graph.LayerBusiness: 0.1}[layer]
	switch {
	case layer <= graph.LayerPlatform && from != "":
		c.say("layer", score, "its alert %s is labelled %s layer: failures there cascade upward", from, layer)
	case layer <= graph.LayerPlatform:
		c.say("layer", score, "%s layer: failures there cascade upward", layer)
	default:
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

// Alert names say whether an alert reports a cause (a pool exhausted, a
// disk full, a process killed) or a symptom (errors, latency, a burning
// SLO). The first pattern that matches decides.
var alertRoles = []struct {
	re    *regexp.Regexp
	score float64
}{
	{backlog, 0},
	{regexp.MustCompile(`(?i)(exhaust|outofspace|diskfull|fillingup|spacelow|oomkill|outofmemory|crashloop|down$|unavailable|unhealthy|notready|offline|quorum|noleader|expir|readonly|corrupt|deadlock|saturat|evict|throttl|pressure|burstcredit|lockwait|flood)`), 1},
	{regexp.MustCompile(`(?i)(errorrate|errors|error$|latency|successrate|conversion|burnrate|errorbudget|budget|slo|probe|synthetic|5xx|timeout|belowbaseline|decline|drop|stale|failures|failing|availability|journey|replicasmismatch|hpamaxed|maxedout)`), 0},
	{regexp.MustCompile(`(?i)(cpu|memory|disk|iops|connections|pool|replication|lag|slowquer|restart|queue|full)`), 0.6},
}

// backlog alerts (a queue growing, a consumer lagging) are the consumer's
// fault far more often than the queue's.
var backlog = regexp.MustCompile(`(?i)(consumerlag|oldestmessage|messageage|toomanymessages|unackmessages|backlog|queuedepth|queuesize|lag(high)?$)`)

// causeScore: 1 for an alert that names a cause, 0 for a symptom, in
// between for a resource warning or an unknown name. Names repeat across
// storms, so the answers are remembered.
func causeScore(alertname string) float64 {
	if v, ok := causeMemo.Load(alertname); ok {
		return v.(float64)
	}
	score := 0.3
	for _, r := range alertRoles {
		if r.re.MatchString(alertname) {
			score = r.score
			break
		}
	}
	causeMemo.Store(alertname, score)
	return score
}

var causeMemo sync.Map // alert name → float64

// isBacklog reports whether an alert name reports a growing backlog.
func isBacklog(alertname string) bool {
	if v, ok := backlogMemo.Load(alertname); ok {
		return v.(bool)
	}
	b := backlog.MatchString(alertname)
	backlogMemo.Store(alertname, b)
	return b
}

var backlogMemo sync.Map // alert name → bool

// scoreBacklog: a candidate that consumes a queue whose backlog grows is
// likelier the cause than the queue.
func (e *Engine) scoreBacklog(c *candidate, byNode map[string][]AlertState) {
	for _, dep := range e.cfg.Graph.DependsOn(c.node) {
		for _, a := range byNode[dep] {
			if isBacklog(a.Name()) {
				c.say("backlog", 1, "it consumes %s, whose backlog grows (%s)", dep, a.Name())
				return
			}
		}
	}
}

// scoreCrowd: the same alert on several peers at once (three nodes with a
// high load) points at something they share, not at any one of them.
func (e *Engine) scoreCrowd(c *candidate, crowd map[string]map[string]int) {
	if len(c.alerts) == 0 {
		return
	}
	kind := e.cfg.Graph.Kind(c.node)
	seen := map[string]bool{}
	for _, a := range c.alerts {
		name := a.Name()
		if seen[name] || causeScore(name) == 0 { // symptoms spread in every cascade
			continue
		}
		seen[name] = true
		if peers := crowd[name][kind] - 1; peers >= 2 {
			c.say("crowd", math.Min(1, float64(peers)/3), "the same %s fires on %d other %s at once: something they share is likelier", name, peers, kindWord(kind))
			return
		}
	}
}

// crowdOf counts, per alert name and node kind, the nodes that carry it.
func (e *Engine) crowdOf(byNode map[string][]AlertState) map[string]map[string]int {
	out := map[string]map[string]int{}
	for node, alerts := range byNode {
		kind := e.cfg.Graph.Kind(node)
		seen := map[string]bool{}
		for _, a := range alerts {
			name := a.Name()
			if seen[name] {
				continue
			}
			seen[name] = true
			if out[name] == nil {
				out[name] = map[string]int{}
			}
			out[name][kind]++
		}
	}
	return out
}

func kindWord(kind string) string {
	if kind == "" {
		return "nodes like it"
	}
	return kind + "s"
}
