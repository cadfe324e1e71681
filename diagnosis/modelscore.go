package diagnosis

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// The model's terms: what each candidate's place in the graph, its own
// alerts, their timing and the words of others say for or against it, as
// log-likelihood ratios (see model.go for the model, params.go for the
// numbers).

// scoreGraph is the noisy-OR term of a single root.
func (v *rcaView) scoreGraph(c *rcaCand) {
	if !v.on(sigGraph) {
		return
	}
	var explained, took, routed []string
	total, moved, own := 0.0, 0.0, 0.0
	for _, n := range v.order {
		p, ok := c.explains[n]
		if !ok {
			continue
		}
		switch {
		case c.shifted[n] != "":
			moved += v.explainLLR(n, p)
			took = append(took, n)
		case c.routes[n]:
			own += v.explainLLR(n, p)
			routed = append(routed, n)
		case n != c.node:
			explained = append(explained, n)
			fallthrough
		default:
			total += v.explainLLR(n, p)
		}
	}
	if len(routed) > 0 {
		c.add(sigGraph, own, "it measured the errors on its routes to %s itself", listShort(routed, 4))
	}
	if len(c.fine) > 0 {
		c.add(sigGraph, -v.p.Quiet*math.Log1p(float64(len(c.fine))), "but its routes to %s are fine", listShort(c.fine, 4))
	}
	if len(took) > 0 {
		c.add(sigGraph, moved, "%s, which took its load when it failed over, alerted: %s", listShort(balancersOf(c, took), 2), listShort(took, 4))
	}
	others := len(v.order)
	if c.obs != nil {
		others--
	}
	switch {
	case len(explained) > 0:
		c.add(sigGraph, total, "%d of %d other affected services depend on it: %s", len(explained), others, listShort(byDistance(explained, c.dist), 4))
	default:
		c.add(sigGraph, total, "")
	}
	if c.obs == nil {
		c.add(sigGraph, math.Log(1-v.selfAlert(c.node)), "no alert of its own")
	}
	if !v.g.Has(c.node) && v.g.Len() > 0 {
		c.add(sigGraph, 0, "the graph file does not list it")
	}
	var quiet []string
	for n := range c.quiet {
		if c.dist[n] == 1 {
			quiet = append(quiet, n)
		}
	}
	sort.Strings(quiet)
	c.quietLLR = v.quietLLR(c)
	if len(quiet) > 0 && c.quietLLR < -0.5 {
		c.add(sigGraph, c.quietLLR, "but %s of its callers %s quiet: %s", countWord(len(quiet)), isAre(len(quiet)), listShort(quiet, 4))
	} else {
		c.add(sigGraph, c.quietLLR, "")
	}
	if len(explained) > 0 && len(c.quiet) == 0 && c.obs != nil {
		var deps []string
		for _, d := range v.g.DependsOn(c.node) {
			if v.alerting[d] == nil {
				deps = append(deps, d)
			}
		}
		if len(deps) > 0 && len(deps) == len(v.g.DependsOn(c.node)) {
			c.evidence = append(c.evidence, evidenceLine{0.1, "its dependencies are quiet: " + listShort(deps, 4)})
		}
	}
}

// quietLLR: quiet callers count against a candidate, but failures reach
// only some callers of a busy node, so each further quiet caller counts for
// less: the penalty grows with the logarithm of their number, per hop.
func (v *rcaView) quietLLR(c *rcaCand) float64 {
	var near, far int
	for n := range c.quiet {
		if c.dist[n] == 1 {
			near++
		} else {
			far++
		}
	}
	// A quiet caller two hops up is less surprising, by the decay per hop.
	return -v.p.Quiet * (math.Log1p(float64(near)) + v.p.Decay*math.Log1p(float64(far)))
}

// unseen is the log-posterior of "none of these": a cause nightowl cannot
// see, silent and unknown to the graph, that may sit below any alerting
// node (each explained with probability Params.Unseen).
func (v *rcaView) unseen() float64 {
	s := v.p.None
	for _, n := range v.order {
		s += v.explainLLR(n, v.p.Unseen)
	}
	return s
}

// byDistance orders names by hops from the candidate, then by name.
func byDistance(names []string, dist map[string]int) []string {
	out := slices.Clone(names)
	sort.SliceStable(out, func(i, j int) bool {
		if dist[out[i]] != dist[out[j]] {
			return dist[out[i]] < dist[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// scoreOwn scores what the candidate's own alerts and place say.
func (v *rcaView) scoreOwn(c *rcaCand) {
	layer := v.layer(c.node)
	if o := c.obs; o != nil {
		layer = o.layer
		if v.on(sigRole) {
			switch llr := v.p.Role[o.role]; {
			case o.role == roleCause:
				c.add(sigRole, llr, "its alert %s reports a cause, not a symptom", o.roleAlert)
			case llr < 0:
				c.add(sigRole, llr, "its alerts report symptoms (%s), not a cause", o.roleAlert)
			default:
				c.add(sigRole, llr, "")
			}
		}
		if v.on(sigLabel) {
			switch o.label {
			case 1:
				c.add(sigLabel, v.p.Label, "its alert %s is marked as a root-cause candidate", o.labelled)
			case -1:
				c.add(sigLabel, -v.p.Label/4, "")
			}
		}
		if v.on(sigTiming) {
			v.scoreTiming(c)
		}
		if v.on(sigRecovered) {
			v.sayRecovered(c)
		}
	}
	if c.obs == nil && len(c.routes) > 0 && v.on(sigRole) {
		// A proxy's alerts are the ones it measured on its routes.
		best, alert := math.Inf(-1), ""
		for _, n := range slices.Sorted(maps.Keys(c.routes)) {
			if o := v.alerting[n]; v.p.Role[o.role] > best {
				best, alert = v.p.Role[o.role], o.roleAlert
			}
		}
		if best < 0 {
			c.add(sigRole, best, "what it measured reports symptoms (%s), not a cause", alert)
		} else {
			c.add(sigRole, best, "")
		}
	}
	if v.on(sigLayer) {
		llr := v.p.Layer[layer]
		switch {
		case c.obs != nil && c.obs.layerFrom != "" && layer <= graph.LayerPlatform:
			c.add(sigLayer, llr, "its alert %s is labelled %s layer: failures there cascade upward", c.obs.layerFrom, layer)
		case layer <= graph.LayerPlatform:
			c.add(sigLayer, llr, "%s layer: failures there cascade upward", layer)
		default:
			c.add(sigLayer, llr, "")
		}
	}
}

// scoreTiming: a cause fails before what depends on it, allowing for `for:`
// clauses; a warning well before the storm speaks for its node.
func (v *rcaView) scoreTiming(c *rcaCand) {
	o := c.obs
	if o.first.IsZero() || v.start.IsZero() {
		return
	}
	lead := v.start.Sub(o.first)
	if lead > scrapeTolerance {
		// A warning before the storm speaks for a node that can have
		// caused it: one that reports the node itself degrading (near a
		// limit, crashing, broken), within hours of the storm. A workload
		// not ready or a batch job that failed is often waiting on
		// something else: no precursor.
		if a, ok := earliest(o.alerts); ok && len(c.explains) > 1 && lead <= precursorWindow && precursorRole(roleOf(a.Alert)) {
			c.add(sigTiming, v.p.Precursor, "its alert %s fired %s before the storm began", a.Name(), Compact(lead))
		}
		return
	}
	before, n := 0, 0
	for u := range c.explains {
		if u == c.node {
			continue
		}
		n++
		if f := v.alerting[u].first; !f.IsZero() && o.first.Sub(f) > scrapeTolerance {
			before++
		}
	}
	if n == 0 {
		if lead >= -scrapeTolerance {
			c.add(sigTiming, 0, "it was among the first to fail")
		}
		return
	}
	frac := float64(before) / float64(n)
	switch {
	case before == 0:
		c.add(sigTiming, 0, "it failed before the services that depend on it")
	case buildsUp(o.alerts):
		// A lag, a queue or a usage crosses its threshold only once it
		// has built up, after what it starves has begun to fail: that
		// its callers alerted first says nothing against it.
	default:
		c.add(sigTiming, -v.p.Order*frac, "%d of %d services that depend on it alerted before it", before, n)
	}
}

// buildsUp reports whether every alert measures a quantity that builds up
// (saturation, a backlog), none a failure that shows at once.
func buildsUp(alerts []AlertState) bool {
	for _, a := range alerts {
		if r := roleOf(a.Alert); r != roleSaturation && r != roleBacklog {
			return false
		}
	}
	return len(alerts) > 0
}

// precursorRole reports whether an alert of the role, well before a
// storm, can announce its node's failure.
func precursorRole(r role) bool {
	return r == roleSaturation || r == roleCrash || r == roleCause
}

// precursorWindow bounds how long before a storm a warning counts as its
// precursor.
const precursorWindow = 6 * time.Hour

func earliest(alerts []AlertState) (AlertState, bool) {
	var out AlertState
	for _, a := range alerts {
		if !a.StartsAt.IsZero() && (out.StartsAt.IsZero() || a.StartsAt.Before(out.StartsAt)) {
			out = a
		}
	}
	return out, !out.StartsAt.IsZero()
}

// sayRecovered explains why a candidate that recovered explains less.
func (v *rcaView) sayRecovered(c *rcaCand) {
	o := c.obs
	if o.firing || o.resolved.IsZero() {
		return
	}
	var still []string
	for u := range c.dist {
		if a := v.alerting[u]; a != nil && a.firing && v.faded(c, u) < 0.5 {
			still = append(still, u)
		}
	}
	if len(still) > 0 {
		sort.Strings(still)
		c.evidence = append(c.evidence, evidenceLine{-1, fmt.Sprintf("but it recovered %s ago while %s still %s", Compact(v.now.Sub(o.resolved)), listShort(still, 3), failWord(len(still)))})
	}
}

// scoreText: error messages, labels and words elsewhere that point at it.
func (v *rcaView) scoreText(c *rcaCand) {
	// Each service whose words point at it counts, unless the candidate
	// calls that service (a caller named in its callee's words is
	// context, not the cause). Services in one storm say the same thing
	// for the same reason: each further one adds less (the first counts 1,
	// two 1.6, five 2.6).
	strength := func(from map[string]bool) float64 {
		n := 0.0
		for f, specific := range from {
			if f == c.node || !v.g.DependsTransitively(c.node, f) {
				if specific {
					n++
				} else {
					n += genericMention
				}
			}
		}
		return math.Log1p(n) / math.Ln2
	}
	if h := v.sig[c.node]; h != nil && v.on(sigSignature) {
		if h.from[c.node] && len(h.from) == 1 {
			c.add(sigSignature, v.p.Signature/2, "its own error message points at %s", v.sigWhat[c.node])
		} else {
			c.add(sigSignature, v.p.Signature*strength(h.from), "%s on %s point at %s", Plural(len(h.alerts), "alert's message", "alerts' messages"), listShort(setList(h.from), 3), v.sigWhat[c.node])
		}
	}
	// A name points along a path: words that name X speak as much for
	// whatever X depends on as for X (errors from X may come from below
	// it), so the evidence goes to X and to the nodes below it alike.
	// Shared infrastructure (DNS, a CA, a proxy, time, a load balancer)
	// is the exception: its failures speak in its own words (signatures),
	// so a message that names X and reads like none of them is not about
	// what X resolves names or gets certificates through.
	shared := sharedKind(v.kind(c.node))
	through := func(m map[string]*hits) (from map[string]bool, via string, sample string, alerts int) {
		from = map[string]bool{}
		for _, x := range slices.Sorted(maps.Keys(m)) {
			if x != c.node && (shared || !v.g.DependsTransitively(x, c.node) && !slices.Contains(v.vusers[c.node], x)) {
				continue
			}
			h := m[x]
			for f, specific := range h.from {
				from[f] = from[f] || specific
			}
			alerts += len(h.alerts)
			if sample == "" || x == c.node {
				via, sample = x, h.sample
			}
		}
		if h := m[c.node]; h != nil {
			return h.from, c.node, h.sample, len(h.alerts) // named itself: that is what counts
		}
		return from, via, sample, alerts
	}
	// A service whose alerts name the candidate both in a label and in
	// their words says one thing twice: it counts once, in whichever of
	// the two weighs more; the other adds only the services it alone has.
	type naming struct {
		signal string
		from   map[string]bool
		weight float64
		line   func() (string, []any)
	}
	var names []naming
	if from, via, sample, _ := through(v.named); len(from) > 0 && v.on(sigNamed) {
		if via == c.node {
			names = append(names, naming{sigNamed, from, v.p.Named, func() (string, []any) {
				return "alerts on %s name it (%s)", []any{listShort(setList(from), 3), sample}
			}})
		} else {
			names = append(names, naming{sigNamed, from, v.p.Through * v.p.Named, func() (string, []any) {
				return "alerts on %s name %s, which depends on it (%s)", []any{listShort(setList(from), 3), via, sample}
			}})
		}
	}
	if from, via, sample, n := through(v.mention); len(from) > 0 && v.on(sigMention) {
		if via == c.node {
			names = append(names, naming{sigMention, from, v.p.Mention, func() (string, []any) {
				return "%s on %s name it (%q)", []any{Plural(n, "alert", "alerts"), listShort(setList(from), 3), truncateWords(sample, 80)}
			}})
		} else {
			names = append(names, naming{sigMention, from, v.p.Through * v.p.Mention, func() (string, []any) {
				return "%s on %s name %s, which depends on it (%q)", []any{Plural(n, "alert", "alerts"), listShort(setList(from), 3), via, truncateWords(sample, 80)}
			}})
		}
	}
	slices.SortStableFunc(names, func(a, b naming) int { return cmp.Compare(b.weight, a.weight) })
	counted := map[string]bool{}
	for _, nm := range names {
		before := strength(counted)
		for f, specific := range nm.from {
			counted[f] = counted[f] || specific
		}
		format, args := nm.line()
		c.add(nm.signal, nm.weight*(strength(counted)-before), format, args...)
	}
}

func setList(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *rcaCand) total() float64 {
	s := 0.0
	for _, k := range rcaSignals { // a fixed order: ties stay ties
		s += c.terms[k]
	}
	return s
}

// pairScore is the log-posterior of a and b as two independent roots.
func (v *rcaView) pairScore(a, b *rcaCand) float64 {
	s := v.p.Pair
	if v.on(sigGraph) {
		for _, n := range v.order {
			pa, pb := a.explains[n], b.explains[n]
			if pa == 0 && pb == 0 {
				continue
			}
			s += v.explainLLR(n, 1-(1-pa)*(1-pb))
		}
		for _, c := range []*rcaCand{a, b} {
			if c.obs == nil {
				s += math.Log(1 - v.selfAlert(c.node))
			}
		}
		s += a.quietLLR + b.quietLLR
	}
	for _, k := range rcaSignals {
		if k != sigGraph {
			s += a.terms[k] + b.terms[k]
		}
	}
	return s
}
