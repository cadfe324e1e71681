package diagnosis

import (
	"slices"
	"strings"
)

// Explanations along paths the graph file does not draw: the load a
// balancer that fails over moves from a failed backend onto the others
// (it stays quiet, they take the load), and the calls of a node the file
// does not know.

// failsOver reports whether u is a load balancer with a backend that
// node's failure does not reach: it sends the traffic there and stays
// quiet, so its silence says nothing against node.
func (v *rcaView) failsOver(u, node string) bool {
	switch strings.ToLower(v.kind(u)) {
	case "loadbalancer", "lb":
	default:
		return false
	}
	for _, b := range v.g.DependsOn(u) {
		if b != node && !v.g.DependsTransitively(b, node) {
			return true
		}
	}
	return false
}

// failover: a balancer above the candidate that fails over moves the
// failed side's traffic onto its other backends. Their alerts are that
// load, explained as a caller's would be from as far as the balancer is.
func (v *rcaView) failover(c *rcaCand) {
	if !v.on(sigGraph) {
		return
	}
	var balancers []string
	for u, d := range c.dist {
		if d <= v.p.Hops && v.failsOver(u, c.node) {
			balancers = append(balancers, u)
		}
	}
	slices.Sort(balancers)
	for _, u := range balancers {
		d := c.dist[u]
		for _, b := range v.g.DependsOn(u) {
			if _, ok := v.alerting[b]; !ok || b == c.node || v.g.DependsTransitively(b, c.node) {
				continue
			}
			if p := v.spread(d) * v.timely(c, b); p > c.explains[b] {
				c.explains[b], c.dist[b] = p, d+1
				c.shifted[b] = u
			}
		}
	}
}

// balancersOf names the balancers that moved load onto the nodes took.
func balancersOf(c *rcaCand, took []string) []string {
	var out []string
	for _, n := range took {
		if u := c.shifted[n]; !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// unknownEdges: a node the graph does not know may be called by any
// alerting node, and may call any: with probability Params.Missing.
func (v *rcaView) unknownEdges(c *rcaCand) {
	known := v.g.Has(c.node) || v.virtual[c.node] != ""
	for _, n := range v.order {
		if n == c.node {
			continue
		}
		if known && v.g.Has(n) {
			continue
		}
		if p := v.p.Missing * v.spread(1) * v.timely(c, n); p > c.explains[n] {
			c.explains[n] = p
			if _, ok := c.dist[n]; !ok {
				c.dist[n] = 1
			}
		}
	}
}

// servedBy lists what the balancers route to, each balancer itself when the
// graph lists nothing behind it.
func (v *rcaView) servedBy(balancers []string) []string {
	var out []string
	for _, b := range balancers {
		servers := v.g.DependsOn(b)
		if len(servers) == 0 {
			servers = []string{b}
		}
		for _, s := range servers {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
