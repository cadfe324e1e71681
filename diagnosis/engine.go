package diagnosis

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// EngineConfig wires the Engine. Only Graph matters for a first diagnosis;
// Metrics and History add evidence when they are there.
type EngineConfig struct {
	// Graph is the service graph: a *graph.Graph, or the *graph.Current a
	// refresh swaps; each diagnosis reads it once. Nil: the empty graph.
	Graph GraphSource
	// Resolver names the node an alert is about (default: the default
	// rules); each diagnosis uses its rules over the graph it read.
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
	// Params overrides the model's parameters (default DefaultParams) and
	// Temperature its calibration: for fitting and evaluation, not for
	// everyday use.
	Params      *Params
	Temperature float64
	// Disable names signals (see SignalNames) the engine leaves out: for
	// ablation studies, not for everyday use.
	Disable []string
	Now     func() time.Time
	Logger  *slog.Logger
}

// Engine names an incident's likely root causes with the model of model.go:
// each candidate's log-posterior from the alerts, the graph, their words,
// metrics, changes and history, each signal leaving a sentence of evidence,
// turned into calibrated confidences.
type Engine struct {
	cfg    EngineConfig
	log    *slog.Logger
	params Params
	off    map[string]bool
	// metricFinder and changeFinder gather evidence from Prometheus.
	metricFinder func(ctx context.Context, subjects []Subject, start time.Time) (map[string]Finding, string)
	changeFinder func(ctx context.Context, subjects []Subject, start time.Time) (map[string]Finding, []ChangeEvent, string)
}

// NewEngine returns an Engine.
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.Resolver == nil {
		cfg.Resolver, _ = NewResolver(graphOf(cfg.Graph), nil)
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
	e := &Engine{cfg: cfg, log: cfg.Logger.With("component", "engine"), params: DefaultParams(), off: map[string]bool{}}
	if cfg.Params != nil {
		e.params = *cfg.Params
	}
	if cfg.Temperature > 0 {
		e.params.Temperature = cfg.Temperature
	}
	for _, k := range cfg.Disable {
		e.off[k] = true
	}
	e.metricFinder, e.changeFinder = e.metricFindings, e.changeFindings
	return e
}

var _ Diagnoser = (*Engine)(nil)

const (
	pairsOf     = 6    // the best single roots considered for pairs
	shownAtMost = 12   // candidates a diagnosis lists
	shownWithin = 12.0 // log-posterior below the best beyond which a candidate is not listed
	gatherFor   = 12   // candidates metric and change evidence is gathered for
)

// Diagnose ranks the incident's root-cause candidates. It never fails: a
// missing graph, Prometheus or history only weakens the evidence, and says so;
// a defect while reading one incident leaves it without candidates, says so
// in the summary and logs the stack.
func (e *Engine) Diagnose(ctx context.Context, in Incident) (d Diagnosis) {
	defer func() {
		// A defect in reading one incident must not take the bot down with
		// every other incident: the card goes out without a diagnosis and
		// says so, and the log keeps what broke.
		if p := recover(); p != nil {
			e.log.Error("diagnosis failed", "incident", in.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			d = Diagnosis{Incident: in.ID, GeneratedAt: e.cfg.Now(), Candidates: []Candidate{}, Unsure: true,
				Summary: "no diagnosis: nightowl failed to read this incident (the error is in its log); the alerts below are complete",
				Alerts:  AlertCounts{Received: in.Received, Distinct: len(in.Alerts)}}
		}
	}()
	return e.diagnose(ctx, in)
}

func (e *Engine) diagnose(ctx context.Context, in Incident) Diagnosis {
	g := graphOf(e.cfg.Graph) // read once: a refresh may swap it meanwhile
	r := e.cfg.Resolver.For(g)
	d := Diagnosis{Incident: in.ID, GeneratedAt: e.cfg.Now(), NoGraph: g.Len() == 0}
	byNode, resolutions := e.byNode(in, &d, r)
	if len(byNode) == 0 {
		d.Summary = "no alerts"
		d.Candidates = []Candidate{}
		return d
	}
	v := newView(g, e.params, e.off, byNode, e.cfg.Now())
	v.learn(r)
	v.watch(r)
	cands := v.candidates()
	for _, c := range cands {
		if c.obs != nil {
			for _, a := range c.obs.alerts {
				if why := resolutions[a.Fingerprint].Evidence(a.Alert); why != "" {
					c.evidence = append(c.evidence, evidenceLine{0.05, why})
					break
				}
			}
		}
		v.reach(c)
		v.scoreGraph(c)
		v.scoreOwn(c)
		v.scoreText(c)
	}
	rank(cands)

	if v.on(sigHistory) {
		matches, err := e.recall(ctx, in, byNode)
		if err != nil {
			e.log.Warn("history unavailable", "incident", in.ID, "err", err)
		}
		d.History = matches[:min(historyShown, len(matches))]
		for _, c := range cands {
			if s, why := historySignal(c.node, matches); s > 0 {
				c.add(sigHistory, e.params.History*s, "%s", why)
			}
		}
		rank(cands)
	}
	if e.cfg.Metrics != nil && (v.on(sigMetrics) || v.on(sigChanges)) {
		d.Metrics, d.Changes = e.gatherEvidence(ctx, v, cands)
		rank(cands)
	}

	explanation := e.pairs(v, cands)
	rank(cands)
	cut := len(cands)
	for i, c := range cands {
		if i >= shownAtMost || c.score < cands[0].score-shownWithin {
			cut = i
			break
		}
	}
	cands = cands[:cut]

	T := e.params.Temperature
	scores := make([]float64, 0, len(cands)+1)
	for _, c := range cands {
		scores = append(scores, c.score/T)
	}
	none := v.unseen()
	z := logSumExp(append(scores, none/T)...)
	d.NoneScore = round3(none)
	d.NoneOfThese = round3(math.Exp(none/T - z))
	for _, c := range cands {
		d.Candidates = append(d.Candidates, e.public(v, c, math.Exp(c.score/T-z)))
	}
	d.Explanation = explanation
	top := cands[0]
	d.Unsure = d.Candidates[0].Confidence < SureAt
	d.ImpactRadius = g.Upstream(top.node)
	var alerts []AlertState
	if top.obs != nil {
		alerts = top.obs.alerts
	}
	d.RecommendedRunbook, d.RunbookReason = e.runbookFor(g, top.node, alerts, d.History)
	d.Summary = summaryOf(top.node, alerts, d)
	return d
}

// rank orders candidates by score, best first, names breaking ties.
func rank(cands []*rcaCand) {
	for _, c := range cands {
		c.single = c.total()
		if c.partner == "" {
			c.score = c.single
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].node < cands[j].node
	})
}

// pairs gives each of the best candidates the mass of the best pair of
// independent roots it belongs to, and returns the best explanation: one
// root, or two.
func (e *Engine) pairs(v *rcaView, cands []*rcaCand) []string {
	best := []string{cands[0].node}
	if !v.on(sigPairs) || len(cands) < 2 {
		return best
	}
	bestScore := cands[0].single
	top := cands[:min(pairsOf, len(cands))]
	for i, a := range top {
		for _, b := range top[i+1:] {
			if !independent(a, b) || a.obs == nil && b.obs == nil {
				continue
			}
			s := v.pairScore(a, b)
			for _, c := range []*rcaCand{a, b} {
				other := b.node
				if c == b {
					other = a.node
				}
				if with := logSumExp(c.single, s); with > c.score {
					c.score, c.partner = with, other
				}
			}
			if s > bestScore {
				bestScore = s
				if a.single >= b.single {
					best = []string{a.node, b.node}
				} else {
					best = []string{b.node, a.node}
				}
			}
		}
	}
	for _, c := range top {
		if c.partner != "" && len(best) == 2 && (c.node == best[0] || c.node == best[1]) {
			c.evidence = append(c.evidence, evidenceLine{0.2, fmt.Sprintf("with %s, a second independent failure, it explains the incident best", c.partner)})
		}
	}
	return best
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// public turns a scored candidate into what the card and scripts see.
func (e *Engine) public(v *rcaView, c *rcaCand, confidence float64) Candidate {
	out := Candidate{
		Service:    c.node,
		Confidence: round3(confidence),
		Score:      round3(c.score),
		Signals:    map[string]float64{},
		InGraph:    v.g.Has(c.node),
		Alerts:     []string{},
		Evidence:   []string{},
		Check:      checkFor(v, c),
	}
	if c.obs != nil {
		out.Alerts = alertNames(c.obs.alerts)
	}
	lines := c.evidence
	sort.SliceStable(lines, func(i, j int) bool {
		// what speaks for it first, strongest first; then what speaks against it
		a, b := lines[i].weight, lines[j].weight
		if (a >= 0) != (b >= 0) {
			return a >= 0
		}
		return math.Abs(a) > math.Abs(b)
	})
	for _, l := range lines {
		out.Evidence = append(out.Evidence, l.text)
	}
	out.Terms = map[string]float64{}
	for k, x := range c.terms {
		if x != 0 {
			out.Terms[k] = round3(x)
			out.Signals[k] = round3(1 / (1 + math.Exp(-x)))
		}
	}
	return out
}

// runbookFor: the runbook its root-cause alert names, then any alert of it,
// then the graph's, then what fixed similar incidents, then the catalog.
func (e *Engine) runbookFor(g *graph.Graph, node string, alerts []AlertState, matches []HistoryMatch) (string, string) {
	for _, a := range alerts {
		if rb := a.Labels[LabelRunbook]; rb != "" && a.RootCauseCandidate() {
			return rb, fmt.Sprintf("runbook label of %s", a.Name())
		}
	}
	for _, name := range alertNames(alerts) {
		for _, a := range alerts {
			if rb := a.Labels[LabelRunbook]; rb != "" && a.Name() == name {
				return rb, fmt.Sprintf("runbook label of %s", a.Name())
			}
		}
	}
	if n, ok := g.Node(node); ok && len(n.Runbooks) > 0 {
		return n.Runbooks[0], fmt.Sprintf("first runbook of %s in the service graph", node)
	}
	if rb, n := bestFix(matches); rb != "" {
		return rb, fmt.Sprintf("fixed %s similar incidents", timesWord(n))
	}
	if e.cfg.Runbooks != nil {
		for _, name := range alertNames(alerts) {
			if rb, ok := e.cfg.Runbooks.RunbookFor(name, node); ok {
				return rb, fmt.Sprintf("catalog entry for %s", name)
			}
		}
	}
	return "", ""
}

func summaryOf(node string, alerts []AlertState, d Diagnosis) string {
	cause := node + " (no alert of its own)"
	if len(alerts) > 0 {
		cause = alertNames(alerts)[0] + " on " + node
	}
	return fmt.Sprintf("%s: %d alerts across %d services", cause, d.Alerts.Distinct, len(d.AffectedServices))
}

// byNode resolves every alert to its node with r and counts the storm.
func (e *Engine) byNode(in Incident, d *Diagnosis, r *Resolver) (map[string][]AlertState, map[string]Resolution) {
	g := r.Graph()
	byNode := map[string][]AlertState{}
	resolutions := map[string]Resolution{}
	for _, a := range in.Alerts {
		res := r.Resolve(a.Alert)
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
	// The alerts the incident summarises count, and name the services
	// they are on, but are not read one by one (GrouperConfig.MaxAlerts).
	d.Alerts.Distinct += in.More.Alerts
	d.Alerts.Firing += in.More.Firing
	d.Alerts.Resolved += in.More.Alerts - in.More.Firing
	d.Alerts.Received = max(in.Received, in.AlertCount())
	if !in.Thread.IsZero() || in.Status == Firing {
		// Its card pages once: when posted while it fires. One that ended
		// before its card paged nobody.
		d.Alerts.Pages = 1
	}
	mergeUnknownPrefixes(byNode, g)
	for n := range byNode {
		d.AffectedServices = append(d.AffectedServices, n)
		if !d.NoGraph && !g.Has(n) {
			d.NotInGraph = append(d.NotInGraph, n)
		}
	}
	for n := range in.More.Nodes {
		if _, seen := byNode[n]; !seen && n != TallyOther && g.Has(n) {
			d.AffectedServices = append(d.AffectedServices, n)
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

// listShort names the first n items and counts the rest: "a, b and 3 more".
func listShort(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

func namespaceOf(alerts []AlertState) string {
	for _, a := range alerts {
		if ns := a.Labels[LabelNamespace]; ns != "" {
			return ns
		}
	}
	return ""
}
