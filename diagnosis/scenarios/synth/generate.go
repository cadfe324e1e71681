package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// Root types: what failed.
const (
	Saturation  = "saturation"
	BadDeploy   = "bad-deploy"
	Node        = "node"
	DNS         = "dns"
	External    = "external"
	Silent      = "silent"
	SharedInfra = "shared-infra"
	TwoRoots    = "two-roots"
)

// RootTypes lists the root types in the order Generate cycles through them.
func RootTypes() []string {
	return []string{Saturation, BadDeploy, Node, DNS, External, Silent, SharedInfra, TwoRoots}
}

// perTopology is how many consecutive incidents share one estate: one of
// each root type.
const perTopology = 8

// Incident is one generated incident with its ground truth.
type Incident struct {
	// Scenario is the incident as the corpus has them: the engine's
	// (degraded) graph, the start, and one Expected with the alerts sorted
	// by StartsAt, RootCause and Acceptable.
	Scenario scenarios.Scenario
	RootType string
	// Roots are the true root causes (two for two-roots), RootTypes the
	// type of each.
	Roots, RootTypes []string
	// Note says what happened, what evidence it left and what makes it hard.
	Note string
	// Evidence holds one sentence per root: what it left in the alerts.
	Evidence []string
	// Topology is the estate, true graph included.
	Topology *Topology
	// Subjects[i] is the true node Alerts()[i] is about ("" for none),
	// Roles[i] its role (RoleCause, RoleSymptom, …).
	Subjects, Roles []string
	tags            [][]string
}

// Expected is the incident's one expected diagnosis.
func (in Incident) Expected() scenarios.Expected { return in.Scenario.Incidents[0] }

// Alerts are the incident's alerts, sorted by StartsAt.
func (in Incident) Alerts() []diagnosis.Alert { return in.Scenario.Incidents[0].Alerts }

// Generate returns n incidents drawn from seed, with alert names and error
// texts from the given half only. Every run of eight consecutive incidents
// shares one estate and holds each root type once, so every type is an
// eighth of the incidents; the estates do not depend on the half. The same
// seed gives the same incidents.
func Generate(seed int64, n int, half Half) []Incident {
	out := make([]Incident, 0, n)
	var topo *Topology
	var order []string
	for i := 0; i < n; i++ {
		if i%perTopology == 0 {
			tr := rand.New(rand.NewPCG(uint64(seed), uint64(i/perTopology)<<1))
			topo = newTopology(tr, i/perTopology)
			order = RootTypes()
			tr.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		}
		out = append(out, generate(seed, i, half, topo, order[i%perTopology]))
	}
	return out
}

func generate(seed int64, index int, half Half, topo *Topology, typ string) Incident {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(index)<<1|1))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(364*24*60)) * time.Minute)
	var why error
	for attempt := 0; attempt < 200; attempt++ {
		g := &gen{r: r, half: half, t: topo, start: start, seen: map[string]bool{}}
		in, ok := g.incident(typ, index)
		if !ok {
			continue
		}
		if why = in.Check(); why == nil {
			return in
		}
	}
	panic(fmt.Sprintf("synth: no identifiable %s incident in %s after 200 draws (seed %d, incident %d): %v", typ, topo.Name, seed, index, why))
}

// gen draws one incident.
type gen struct {
	r       *rand.Rand
	half    Half
	t       *Topology
	start   time.Time
	version string
	out     []emitted
	seen    map[string]bool
	hard    []string // what makes it hard, for the note
}

// hit is a node a failure reached: through via, hop steps from the root, at
// onset (from the scenario's start).
type hit struct {
	node, via string
	hop       int
	at        time.Duration
}

func (g *gen) incident(typ string, index int) (Incident, bool) {
	var faults []fault
	switch typ {
	case TwoRoots:
		types := []string{Saturation, BadDeploy, External, Node, Silent}
		f1, ok := g.fault(pick(g.r, types), 0, nil)
		if !ok {
			return Incident{}, false
		}
		reached := map[string]bool{f1.root: true}
		for _, h := range f1.hits {
			reached[h.node] = true
		}
		avoid := func(c string) bool {
			return reached[c] || g.t.True.DependsTransitively(c, f1.root) || g.t.True.DependsTransitively(f1.root, c)
		}
		f2, ok := g.fault(pick(g.r, types), dur(g.r, time.Minute, 12*time.Minute), avoid)
		if !ok || f2.root == f1.root {
			return Incident{}, false
		}
		for _, h := range f2.hits {
			if reached[h.node] {
				return Incident{}, false
			}
		}
		faults = []fault{f1, f2}
	default:
		f, ok := g.fault(typ, 0, nil)
		if !ok {
			return Incident{}, false
		}
		faults = []fault{f}
	}
	g.noise(faults)
	return g.finish(typ, index, faults), true
}

func (g *gen) fault(typ string, t0 time.Duration, avoid func(string) bool) (fault, bool) {
	if avoid == nil {
		avoid = func(string) bool { return false }
	}
	switch typ {
	case Saturation:
		return g.saturation(t0, avoid)
	case BadDeploy:
		return g.badDeploy(t0, avoid)
	case Node:
		return g.node(t0, avoid)
	case DNS:
		return g.dns(t0)
	case External:
		return g.external(t0, avoid)
	case Silent:
		return g.silent(t0, avoid)
	case SharedInfra:
		return g.sharedInfra(t0)
	}
	panic("synth: unknown root type " + typ)
}

// callerRole reports whether a failure spreads to a node of this role when
// something it calls fails.
func callerRole(role string) bool {
	switch role {
	case roleApp, roleAuth, roleGateway, roleIngress, roleLB:
		return true
	}
	return false
}

// callers lists the nodes that call name in the true graph and suffer when
// it fails.
func (g *gen) callers(name string) []string {
	var out []string
	for _, c := range g.t.True.Dependents(name) {
		if callerRole(g.t.m(c).role) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// cascade spreads failures up the true graph: each caller of a failing node
// fails with probability weight(edge) × p0 × decay^(hops so far), a few
// seconds to a minute and a half later. Hits are returned in the order
// reached; at most limit.
func (g *gen) cascade(from []hit, p0, decay float64, limit int) []hit {
	seen := map[string]bool{}
	for _, h := range from {
		seen[h.node] = true
	}
	var out []hit
	frontier := from
	for len(frontier) > 0 && len(out) < limit {
		var next []hit
		for _, h := range frontier {
			for _, c := range g.callers(h.node) {
				if seen[c] || len(out) >= limit {
					continue
				}
				p := g.t.weight[Edge{c, h.node}] * p0 * math.Pow(decay, float64(h.hop))
				if !chance(g.r, p) {
					continue
				}
				seen[c] = true
				nh := hit{node: c, via: h.node, hop: h.hop + 1, at: h.at + dur(g.r, 10*time.Second, 90*time.Second)}
				next = append(next, nh)
				out = append(out, nh)
			}
		}
		frontier = next
	}
	return out
}

// textFunc says what error text a hit's alerts quote: the text, what {host}
// means in it (or ""), the dependency it names, and an evidence tag. An
// empty text quotes nothing.
type textFunc func(h hit) (text, host, dep, tag string)

// symptoms emits the alerts of the nodes a failure reached. Not every hit
// alerts (a service without a rule for it stays quiet while its callers
// fail); direct callers quote text from firstHop, later ones sometimes name
// the dependency they call.
func (g *gen) symptoms(hits []hit, firstHop textFunc, pAlert float64) {
	for _, h := range hits {
		m := g.t.m(h.node)
		switch m.role {
		case roleIngress:
			if chance(g.r, 0.6) {
				g.fire(symptomEdge, "", h.at, spec{subject: h.via, role: RoleSymptom})
			}
			continue
		case roleLB:
			if chance(g.r, 0.5) {
				g.fire(causeLB, "", h.at, spec{subject: h.node, role: RoleInfra})
			}
			continue
		}
		p := pAlert
		if h.hop > 1 {
			p *= 0.85
		}
		if !chance(g.r, p) {
			continue
		}
		var text, host, dep, tag string
		switch {
		case h.hop == 1 && firstHop != nil:
			text, host, dep, tag = firstHop(h)
		case chance(g.r, 0.3):
			text, dep, tag = g.phrase(textUpstream, ""), h.via, "names:"+h.via
		}
		g.symptomAlerts(h, text, host, dep, tag)
	}
}

// symptomAlerts emits one to three symptom alerts on a hit node.
func (g *gen) symptomAlerts(h hit, text, host, dep, tag string) {
	m := g.t.m(h.node)
	via := g.t.m(h.via)
	var tags []string
	if tag != "" {
		tags = []string{tag}
	}
	first := symptomErrors
	if chance(g.r, 0.3) {
		first = symptomLatency
	}
	if via != nil && via.role == roleStore && via.tech != "kafka" && via.tech != "rabbitmq" && chance(g.r, 0.45) {
		first = symptomClient
	}
	if dep == "" {
		dep = h.via
	}
	sev := ""
	if chance(g.r, 0.3) {
		sev = "critical"
	}
	g.fire(first, "", h.at, spec{subject: h.node, sev: sev, text: text, host: host, dep: dep, role: RoleSymptom, tags: tags})
	if chance(g.r, 0.45) {
		second := symptomLatency
		switch {
		case m.consumes != "" && m.consumes == h.via:
			second = symptomQueue
		case first.name == symptomLatency.name:
			second = symptomErrors
		}
		quote := ""
		if chance(g.r, 0.4) {
			quote = text
		}
		var t2 []string
		if quote != "" {
			t2 = tags
		}
		g.fire(second, "", h.at, spec{subject: h.node, text: quote, host: host, dep: dep, role: RoleSymptom, tags: t2})
	}
	if chance(g.r, 0.12) && len(m.pods) > 0 {
		g.fire(symptomPod, "", h.at, spec{subject: h.node, role: RoleSymptom})
	}
}

// fire picks a rule of the vocabulary (preferring mode) that can be about
// the subject and emits it for a condition that began at onset.
func (g *gen) fire(rs rules, mode string, onset time.Duration, s spec) bool {
	all := rs.half(g.half)
	var fit, any []rule
	for _, r := range all {
		if !g.ruleFits(r, s) || (s.style == "" && g.pickStyle(r, s.subject) == "") || (s.style != "" && !slices.Contains(r.styles, s.style)) {
			continue
		}
		any = append(any, r)
		if mode == "" || r.mode == mode {
			fit = append(fit, r)
		}
	}
	if len(fit) == 0 {
		fit = any
	}
	if len(fit) == 0 {
		return false
	}
	s.rule = pick(g.r, fit)
	s.at = g.at(onset, s.rule)
	return g.emit(s)
}

// at is when a given rule fires for a condition that began at onset.
func (g *gen) at(onset time.Duration, r rule) time.Duration {
	return onset + r.forDur + dur(g.r, 0, 75*time.Second)
}

func dur(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

// finish sorts the alerts and writes the scenario, the answer and the note.
func (g *gen) finish(typ string, index int, faults []fault) Incident {
	slices.SortStableFunc(g.out, func(a, b emitted) int { return a.alert.StartsAt.Compare(b.alert.StartsAt) })
	in := Incident{RootType: typ, Topology: g.t}
	var alerts []diagnosis.Alert
	for _, e := range g.out {
		alerts = append(alerts, e.alert)
		in.Subjects = append(in.Subjects, e.subject)
		in.Roles = append(in.Roles, e.role)
		in.tags = append(in.tags, e.tags)
	}
	exp := scenarios.Expected{RootCause: faults[0].root, RootType: typ, Alerts: alerts}
	var notes []string
	for i, f := range faults {
		in.Roots = append(in.Roots, f.root)
		in.RootTypes = append(in.RootTypes, f.typ)
		in.Evidence = append(in.Evidence, f.evidence)
		if i > 0 {
			exp.Acceptable = append(exp.Acceptable, f.root)
		}
		exp.Acceptable = append(exp.Acceptable, f.answers...)
		notes = append(notes, f.note+" Evidence: "+f.evidence+".")
	}
	// An answer is a node of the true graph or a name an alert carries.
	var acceptable []string
	for _, a := range uniq(exp.Acceptable, exp.RootCause) {
		if g.t.True.Has(a) || carriesName(alerts, a) {
			acceptable = append(acceptable, a)
		}
	}
	exp.Acceptable = acceptable
	if typ == TwoRoots {
		notes = append(notes, "Two independent roots: either is right at rank 1.")
	}
	if len(g.hard) > 0 {
		notes = append(notes, "Hard: "+strings.Join(g.hard, "; ")+".")
	}
	in.Note = strings.Join(notes, " ")
	in.Scenario = scenarios.Scenario{
		Name:      fmt.Sprintf("synth/%s/%03d-%s", g.t.Name, index, typ),
		Title:     faults[0].title,
		Topology:  g.t.Name,
		Notes:     in.Note,
		Graph:     g.t.Engine,
		Start:     g.start,
		Incidents: []scenarios.Expected{exp},
	}
	return in
}
