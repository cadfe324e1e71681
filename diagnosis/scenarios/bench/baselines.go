package bench

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Ranker ranks the root-cause candidates of a case, best first: a baseline.
type Ranker func(c Case) []string

// Rank judges a ranker on every case, in the cases' order.
func Rank(cases []Case, r Ranker, workers int) []Result {
	out := make([]Result, len(cases))
	parallel(len(cases), workers, func(i int) { out[i] = judgeRanking(cases[i], r(cases[i])) })
	return out
}

// AlertingNodes lists the distinct nodes the case's alerts are about (graph
// nodes, or the names given to services the graph lacks), in order of
// first alert; alerts about nothing (business KPIs) are left out.
func AlertingNodes(c Case) []string {
	var out []string
	for _, a := range c.Incident.Alerts {
		if n := a.NodeOrService(); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// RandomAlerting scores, for each case, naming its alerting nodes in a
// uniformly random order: the exact expected top-1, top-3 and reciprocal
// rank, not a sample. With m alerting nodes of which h are right answers,
// P(top-1) = h/m, P(top-3) = 1 − C(m−h,3)/C(m,3), and E[1/rank] sums 1/r
// times the chance that the first right answer is at rank r.
func RandomAlerting(cases []Case) []Result {
	out := make([]Result, len(cases))
	for i, c := range cases {
		res := judgeRanking(c, nil)
		nodes := AlertingNodes(c)
		m, h := len(nodes), 0
		for _, n := range nodes {
			if c.Right(n) {
				h++
			}
		}
		if h > 0 {
			atLeast := func(r int) float64 { return choose(m-r+1, h) / choose(m, h) } // P(first right rank ≥ r)
			res.Hit1 = float64(h) / float64(m)
			res.Hit3 = 1 - choose(m-h, 3)/choose(m, 3)
			if m < 3 {
				res.Hit3 = 1
			}
			for r := 1; r <= m-h+1; r++ {
				res.RR += (atLeast(r) - atLeast(r+1)) / float64(r)
			}
		}
		out[i] = res
	}
	return out
}

// choose is the binomial coefficient C(n, k) as a float; 0 when k > n.
func choose(n, k int) float64 {
	if k < 0 || n < 0 || k > n {
		return 0
	}
	c := 1.0
	for i := 1; i <= k; i++ {
		c *= float64(n-k+i) / float64(i)
	}
	return c
}

// Deepest ranks the alerting nodes furthest down the dependency chain
// first: fewest other alerting nodes among its dependencies (transitively,
// in the case's graph), then the lowest layer (graph.KindLayer: nodes and
// datastores below applications below edge), then the most alerting nodes
// depending on it, then by name. Nodes the graph lacks have no dependencies
// and the application layer.
func Deepest(c Case) []string {
	nodes := AlertingNodes(c)
	type key struct {
		deps, users int
		layer       graph.Layer
	}
	keys := map[string]key{}
	for _, n := range nodes {
		var k key
		for _, x := range nodes {
			if x == n {
				continue
			}
			if c.Graph.DependsTransitively(n, x) {
				k.deps++
			}
			if c.Graph.DependsTransitively(x, n) {
				k.users++
			}
		}
		k.layer = c.Graph.Layer(n)
		keys[n] = k
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		a, b := keys[nodes[i]], keys[nodes[j]]
		switch {
		case a.deps != b.deps:
			return a.deps < b.deps
		case a.layer != b.layer:
			return a.layer < b.layer
		case a.users != b.users:
			return a.users > b.users
		}
		return nodes[i] < nodes[j]
	})
	return nodes
}

// Earliest ranks the alerting nodes by their earliest alert (first seen),
// then by name.
func Earliest(c Case) []string {
	first := map[string]time.Time{}
	for _, a := range c.Incident.Alerts {
		n := a.NodeOrService()
		if n == "" {
			continue
		}
		at := a.FirstSeen
		if at.IsZero() || a.StartsAt.Before(at) {
			at = a.StartsAt
		}
		if t, ok := first[n]; !ok || at.Before(t) {
			first[n] = at
		}
	}
	nodes := AlertingNodes(c)
	sort.SliceStable(nodes, func(i, j int) bool {
		if a, b := first[nodes[i]], first[nodes[j]]; !a.Equal(b) {
			return a.Before(b)
		}
		return nodes[i] < nodes[j]
	})
	return nodes
}

// Seed is the design article's algorithm (SeedBaseline) on the case.
func Seed(c Case) []string { return SeedBaseline(c.Graph, c.Alerts) }

// PageRankConfig tunes PersonalizedPageRank.
type PageRankConfig struct {
	// Damping is the chance the walker follows an edge rather than
	// restarting at an alerting node.
	Damping float64
	// Iterations bounds the power iteration; it stops earlier once the L1
	// change is below Tolerance.
	Iterations int
	Tolerance  float64
	// QuietDependency is the weight of an edge to a dependency with no
	// alert (1 for one with alerts); Backward the weight of an edge back to
	// a caller, which keeps the walk from draining into healthy leaves.
	QuietDependency, Backward float64
}

// DefaultPageRank is the configuration of the PageRank baseline: damping
// 0.85, at most 100 iterations, tolerance 1e-10, quiet dependencies weighted
// 0.25 and backward edges 0.1.
var DefaultPageRank = PageRankConfig{Damping: 0.85, Iterations: 100, Tolerance: 1e-10, QuietDependency: 0.25, Backward: 0.1}

// PageRank is the personalised-PageRank baseline, as in MicroRCA-style
// root-cause analysis: a random walk from the alerting nodes towards their
// dependencies (AlertWeights as the restart distribution), ranking every
// node, alerting or not, by its stationary probability.
func PageRank(c Case) []string {
	return Ranked(PersonalizedPageRank(c.Graph, AlertWeights(c.Incident), DefaultPageRank))
}

// AlertWeights weighs each alerting node by its alerts' severities
// (critical 3, warning 2, info or none 1), resolved alerts counting half.
func AlertWeights(in diagnosis.Incident) map[string]float64 {
	w := map[string]float64{}
	for _, a := range in.Alerts {
		n := a.NodeOrService()
		if n == "" {
			continue
		}
		x := 1.0
		switch a.Severity() {
		case diagnosis.SeverityCritical:
			x = 3
		case diagnosis.SeverityWarning:
			x = 2
		}
		if a.Status == diagnosis.Resolved {
			x /= 2
		}
		w[n] += x
	}
	return w
}

// PersonalizedPageRank runs a random walk with restart on the dependency
// graph. From node u the walker moves, with probability Damping, along one
// of u's edges chosen in proportion to its weight: to a dependency (1 when
// it alerts, QuietDependency when not) or back to a caller (Backward);
// otherwise, and always from a node without edges, it restarts at an
// alerting node chosen in proportion to restart. Nodes in restart that the
// graph lacks are isolated nodes. It returns each node's stationary
// probability.
func PersonalizedPageRank(g *graph.Graph, restart map[string]float64, cfg PageRankConfig) map[string]float64 {
	names := g.Names()
	for n := range restart {
		if !g.Has(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	type edge struct {
		to int
		w  float64
	}
	out := make([][]edge, len(names))
	total := make([]float64, len(names))
	for i, n := range names {
		if !g.Has(n) {
			continue
		}
		for _, d := range g.DependsOn(n) {
			w := cfg.QuietDependency
			if restart[d] > 0 {
				w = 1
			}
			out[i] = append(out[i], edge{index[d], w})
		}
		for _, u := range g.Dependents(n) {
			out[i] = append(out[i], edge{index[u], cfg.Backward})
		}
		for _, e := range out[i] {
			total[i] += e.w
		}
	}
	p := make([]float64, len(names))
	sum := 0.0
	for n, w := range restart {
		if w > 0 {
			p[index[n]] += w
			sum += w
		}
	}
	if sum == 0 {
		return map[string]float64{}
	}
	for i := range p {
		p[i] /= sum
	}
	x := slices.Clone(p)
	next := make([]float64, len(names))
	for it := 0; it < cfg.Iterations; it++ {
		clear(next)
		lost := 0.0 // mass that restarts
		for i, xi := range x {
			if total[i] == 0 {
				lost += xi
				continue
			}
			lost += (1 - cfg.Damping) * xi
			for _, e := range out[i] {
				next[e.to] += cfg.Damping * xi * e.w / total[i]
			}
		}
		diff := 0.0
		for i := range next {
			next[i] += lost * p[i]
			diff += math.Abs(next[i] - x[i])
		}
		x, next = next, x
		if diff < cfg.Tolerance {
			break
		}
	}
	scores := make(map[string]float64, len(names))
	for i, n := range names {
		scores[n] = x[i]
	}
	return scores
}

// Ranked orders nodes by score, highest first, then by name; nodes scoring
// zero are left out.
func Ranked(scores map[string]float64) []string {
	var out []string
	for n, s := range scores {
		if s > 0 {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := scores[out[i]], scores[out[j]]; a != b {
			return a > b
		}
		return out[i] < out[j]
	})
	return out
}
