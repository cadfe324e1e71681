package diagnosis

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// EngineConfig wires the Engine. Only Graph matters for a first diagnosis;
// Metrics and History add evidence when they are there.
type EngineConfig struct {
	Graph *graph.Graph
	// Resolver names the node an alert is about (default: the default rules).
	Resolver *Resolver
	// Runbooks maps alert names to runbooks when nothing closer says which.
	Runbooks RunbookIndex
	// Metrics answers PromQL range queries; nil means no metric evidence.
	Metrics Metrics
	// Queries are the PromQL templates (default: DefaultQueries).
	Queries Queries
	// MetricsDeadline bounds all metric queries of one diagnosis. Default 3s.
	MetricsDeadline time.Duration
	// History recalls past incidents; nil means none.
	History History
	// Weights overrides signal weights (see DefaultWeights), Temperature the
	// softmax temperature: for tuning on a corpus, not for everyday use.
	Weights     map[string]float64
	Temperature float64
	// Disable names signals (see SignalNames) the engine leaves out: for
	// ablation studies, not for everyday use.
	Disable []string
	Now     func() time.Time
	Logger  *slog.Logger
}

// Engine ranks an incident's root-cause candidates from independent signals,
// each of which leaves a sentence of evidence, and turns the combined score
// into a calibrated confidence.
type Engine struct {
	cfg EngineConfig
	log *slog.Logger
}

// NewEngine returns an Engine.
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.Graph == nil {
		cfg.Graph, _ = graph.New(nil)
	}
	if cfg.Resolver == nil {
		cfg.Resolver, _ = NewResolver(cfg.Graph, nil)
	}
	if cfg.Queries.Errors == "" {
		cfg.Queries = DefaultQueries()
	}
	if cfg.MetricsDeadline <= 0 {
		cfg.MetricsDeadline = 3 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := DefaultWeights()
	for k, v := range cfg.Weights {
		w[k] = v
	}
	for _, k := range cfg.Disable {
		w[k] = 0
	}
	cfg.Weights = w
	if cfg.Temperature <= 0 {
		cfg.Temperature = temperature
	}
	return &Engine{cfg: cfg, log: cfg.Logger.With("component", "engine")}
}

var _ Diagnoser = (*Engine)(nil)

// candidate is one possible root cause while it is being scored.
type candidate struct {
	node     string
	alerts   []AlertState
	silent   bool // no alert of its own: a shared dependency
	signals  map[string]float64
	evidence []string
	score    float64
}

func (c *candidate) say(signal string, v float64, format string, args ...any) {
	c.signals[signal] = v
	if format != "" {
		c.evidence = append(c.evidence, fmt.Sprintf(format, args...))
	}
}

// Diagnose ranks the incident's candidates. It never fails: a missing graph,
// Prometheus or history only weakens the evidence, and says so.
func (e *Engine) Diagnose(ctx context.Context, in Incident) Diagnosis {
	d := Diagnosis{Incident: in.ID, GeneratedAt: e.cfg.Now()}
	byNode, resolutions := e.byNode(in, &d)
	if len(byNode) == 0 {
		d.Summary = "no alerts"
		d.Candidates = []Candidate{}
		return d
	}
	start := onset(byNode)
	cands := e.candidates(byNode)
	text := e.readText(cands, byNode)
	for _, n := range textCandidates(text, cands) {
		cands = append(cands, &candidate{node: n, silent: true, signals: map[string]float64{}})
	}
	crowd := e.crowdOf(byNode)
	for _, c := range cands {
		e.scoreStatic(c, byNode, start, resolutions, crowd)
		if f, ok := text[c.node]; ok {
			if f.signature > 0 {
				c.say("signature", f.signature, "")
			}
			if f.mention > 0 {
				c.say("mention", f.mention, "")
			}
			c.evidence = append(c.evidence, f.evidence...)
		}
	}
	e.total(cands)
	sortCandidates(cands)

	matches, err := e.recall(ctx, in, byNode)
	if err != nil {
		e.log.Warn("history unavailable", "incident", in.ID, "err", err)
	}
	d.History = matches[:min(historyShown, len(matches))]
	for _, c := range cands {
		if v, why := historySignal(c.node, matches); v > 0 {
			c.say("history", v, "%s", why)
		}
	}
	e.total(cands)
	sortCandidates(cands)

	findings, status := e.gatherMetrics(ctx, cands, byNode, start)
	d.Metrics = status
	for _, c := range cands {
		if f, ok := findings[c.node]; ok {
			c.say("metrics", f.score, "")
			c.evidence = append(c.evidence, f.evidence...)
		}
	}
	e.total(cands)
	sortCandidates(cands)
	calibrate(cands, e.cfg.Temperature)

	for _, c := range cands {
		d.Candidates = append(d.Candidates, c.public(e.cfg.Graph))
	}
	top := cands[0]
	d.ImpactRadius = e.cfg.Graph.Upstream(top.node)
	d.RecommendedRunbook, d.RunbookReason = e.runbook(top, matches)
	d.Summary = summary(top, d)
	return d
}

// byNode resolves every alert to its node and counts the storm.
func (e *Engine) byNode(in Incident, d *Diagnosis) (map[string][]AlertState, map[string]Resolution) {
	byNode := map[string][]AlertState{}
	resolutions := map[string]Resolution{}
	for _, a := range in.Alerts {
		res := e.cfg.Resolver.Resolve(a.Alert)
		a.Node = res.Node
		resolutions[a.Fingerprint] = res
		d.Alerts.Distinct += max(a.Count, 1)
		if res.Node == "" { // a symptom that names no service: counted, never a candidate
			d.Alerts.Unattributed++
		} else {
			byNode[res.Node] = append(byNode[res.Node], a)
		}
		if a.Status == Firing {
			d.Alerts.Firing++
		} else {
			d.Alerts.Resolved++
		}
	}
	d.Alerts.Received = max(in.Received, len(in.Alerts))
	if !in.Thread.IsZero() {
		d.Alerts.Pages = 1
	}
	mergeUnknownPrefixes(byNode, e.cfg.Graph)
	for n := range byNode {
		d.AffectedServices = append(d.AffectedServices, n)
		if !e.cfg.Graph.Has(n) {
			d.NotInGraph = append(d.NotInGraph, n)
		}
	}
	sort.Strings(d.AffectedServices)
	sort.Strings(d.NotInGraph)
	return byNode, resolutions
}

// mergeUnknownPrefixes folds services the graph does not know into a
// shorter unknown name they extend (kyverno-admission-controller into
// kyverno): the same unlisted system seen through different labels.
func mergeUnknownPrefixes(byNode map[string][]AlertState, g *graph.Graph) {
	for n := range byNode {
		if g.Has(n) {
			continue
		}
		for m := range byNode {
			if m != n && !g.Has(m) && strings.HasPrefix(n, m+"-") {
				for _, a := range byNode[n] {
					a.Node = m
					byNode[m] = append(byNode[m], a)
				}
				delete(byNode, n)
				break
			}
		}
	}
}

// candidates are the alerted nodes plus silent shared dependencies.
func (e *Engine) candidates(byNode map[string][]AlertState) []*candidate {
	affected := make([]string, 0, len(byNode))
	for n := range byNode {
		affected = append(affected, n)
	}
	sort.Strings(affected)
	cands := make([]*candidate, 0, len(affected)+2)
	for _, n := range affected {
		cands = append(cands, &candidate{node: n, alerts: byNode[n], signals: map[string]float64{}})
	}
	for _, n := range e.silentDependencies(byNode, affected) {
		cands = append(cands, &candidate{node: n, silent: true, signals: map[string]float64{}})
	}
	return cands
}

// silentDependencies finds nodes with no alert of their own on which every
// direct caller fails, at least two of them.
func (e *Engine) silentDependencies(byNode map[string][]AlertState, affected []string) []string {
	seen := map[string]bool{}
	var out []string
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
			if failing == len(users) && failing >= 2 {
				out = append(out, dep)
			}
		}
	}
	return out
}

// independent drops the nodes that call another node of the list: their
// failure is explained by it.
func (e *Engine) independent(nodes []string) []string {
	var out []string
	for _, n := range nodes {
		explained := false
		for _, m := range nodes {
			if m != n && e.cfg.Graph.DependsTransitively(n, m) {
				explained = true
				break
			}
		}
		if !explained {
			out = append(out, n)
		}
	}
	return out
}

// onset is when the storm began: the earliest start, ignoring leading alerts
// that fired long before the rest (a long-running warning is not the storm).
func onset(byNode map[string][]AlertState) time.Time {
	var starts []time.Time
	for _, alerts := range byNode {
		for _, a := range alerts {
			if !a.StartsAt.IsZero() {
				starts = append(starts, a.StartsAt)
			}
		}
	}
	if len(starts) == 0 {
		return time.Time{}
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	i := 0
	for i+1 < len(starts) && starts[i+1].Sub(starts[i]) > onsetGap {
		i++
	}
	return starts[i]
}

// onsetGap: a leading alert this far ahead of the next one is not the storm.
const onsetGap = 10 * time.Minute

func sortCandidates(cands []*candidate) {
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].node < cands[j].node
	})
}

// calibrate turns scores into probabilities: a softmax whose temperature was
// fitted on the scenario corpus (see calibration_test.go), so that a
// candidate shown at 80% is right about 80% of the time there.
func calibrate(cands []*candidate, temperature float64) {
	total := 0.0
	for _, c := range cands {
		total += math.Exp(c.score / temperature)
	}
	for _, c := range cands {
		c.signals["confidence"] = math.Exp(c.score/temperature) / total
	}
}

// total weighs each candidate's signals into its score.
func (e *Engine) total(cands []*candidate) {
	for _, c := range cands {
		c.score = 0
		for _, k := range slices.Sorted(maps.Keys(c.signals)) { // a fixed order: ties stay ties
			c.score += e.cfg.Weights[k] * c.signals[k]
		}
	}
}

func (e *Engine) runbook(top *candidate, matches []HistoryMatch) (string, string) {
	for _, a := range top.alerts {
		if rb := a.Labels[LabelRunbook]; rb != "" && a.RootCauseCandidate() {
			return rb, fmt.Sprintf("runbook label of %s", a.Name())
		}
	}
	for _, name := range alertNames(top.alerts) {
		for _, a := range top.alerts {
			if rb := a.Labels[LabelRunbook]; rb != "" && a.Name() == name {
				return rb, fmt.Sprintf("runbook label of %s", a.Name())
			}
		}
	}
	if n, ok := e.cfg.Graph.Node(top.node); ok && len(n.Runbooks) > 0 {
		return n.Runbooks[0], fmt.Sprintf("first runbook of %s in the service graph", top.node)
	}
	if rb, n := bestFix(matches); rb != "" {
		return rb, fmt.Sprintf("fixed %s similar incidents", timesWord(n))
	}
	if e.cfg.Runbooks != nil {
		for _, name := range alertNames(top.alerts) {
			if rb, ok := e.cfg.Runbooks.RunbookFor(name, top.node); ok {
				return rb, fmt.Sprintf("catalog entry for %s", name)
			}
		}
	}
	return "", ""
}

func (c *candidate) public(g *graph.Graph) Candidate {
	out := Candidate{
		Service:    c.node,
		Confidence: round3(c.signals["confidence"]),
		Evidence:   c.evidence,
		Signals:    map[string]float64{},
		InGraph:    g.Has(c.node),
		Alerts:     alertNames(c.alerts),
	}
	if out.Evidence == nil {
		out.Evidence = []string{}
	}
	for k, v := range c.signals {
		if k != "confidence" {
			out.Signals[k] = round3(v)
		}
	}
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

func listShort(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

func roundDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour && d%time.Minute == 0:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}
