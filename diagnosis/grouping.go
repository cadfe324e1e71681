package diagnosis

import (
	"slices"
	"time"
)

// The grouping rule (docs/grouping.md). An incident is bounded by the service
// graph and by time, not by a namespace: a cascade crosses namespaces (the
// gateway in edge, the shop in shop-prod). A namespace tells apart two
// deployments of the same node, so it is recorded per node, not per incident.
//
// An alert about node N, whose labels place N in namespace S, joins an open
// incident I whose cluster and environment do not conflict with its own and
// whose alerts started within MaxGap of it when
//
//	(a) I holds N and S is one of the namespaces I holds N in (the same
//	    deployment), or S is unknown, or I never learnt where N runs; or
//	(b) I does not hold N and the graph relates N to a node of I.
//
// When I holds N only in other namespaces, the alert is about another
// deployment of N and does not join through N. Alerts on services the graph
// does not know, and alerts that name no service, join by clues instead
// (matchByClues): shared label values and names in their text, within
// unattributedGap (a strong clue, a name or one application, within
// MaxGap). The graph cannot speak for an incident that holds no node
// it knows (its first alerts named no service, or services it does not
// know): an alert the graph knows joins such an incident by clues when it
// relates to no other, and merges it into the incident it joins when they
// share a clue and the card of the former is not out yet. An incident of
// alerts that name no service and live in no namespace stays open, card or
// not, to the next alert that relates to no other within unattributedGap.
//
// Without a service graph (SERVICE_GRAPH unset, an empty graph) the rule is
// the same: every node is one the graph does not know, so rule (b) never
// applies and alerts group by rule (a) and by clues, by time and labels.

// unattributedGap is how close in time an alert the graph cannot place must
// be to an incident to join it by clues.
const unattributedGap = 10 * time.Minute

// alertFacts is what grouping needs to know about one new alert.
type alertFacts struct {
	node  string
	known bool   // the graph has node
	ns    string // the namespace its labels place node in; "" when they do not say
	// own is the namespace the alert itself lives in: ns, or the namespace
	// label of an alert that is not an exporter's ("" for an exporter's).
	own     string
	cluster string
	env     string
	start   time.Time
}

// factsOf reads what grouping needs from an alert about node.
func (g *Grouper) factsOf(a Alert, node string, now time.Time) alertFacts {
	f := alertFacts{node: node, cluster: a.Labels[LabelCluster], env: environmentOf(a.Labels), start: a.StartsAt}
	if f.start.IsZero() {
		f.start = now
	}
	f.known = node != "" && g.graph.Has(node)
	f.ns = g.deploymentNamespace(a.Labels, node)
	f.own = ownNamespace(a.Labels, f.ns)
	return f
}

// match finds the open incident a new alert belongs to. When the graph
// relates it to several, the ones whose card is not out yet merge into one
// (the storm reached nightowl in an order that split it); two incidents
// whose cards are both out stay apart.
func (g *Grouper) match(a Alert, f alertFacts) *tracked {
	var found, graphless []*tracked
	for _, t := range g.order {
		switch {
		case !g.admits(t, f, g.cfg.MaxGap):
		case g.joinsByGraph(t, f):
			found = append(found, t)
		case f.known && t.near == nil && !t.published && t.inc.SplitFrom.IsZero():
			graphless = append(graphless, t)
		}
	}
	if len(found) == 0 {
		return g.matchByClues(a, f)
	}
	// The target: the oldest incident with a card, else one holding the same
	// node, else the oldest.
	target := found[0]
	for _, t := range found {
		if t.published {
			target = t
			break
		}
		if _, held := t.nodes[f.node]; held {
			if _, targetHeld := target.nodes[f.node]; !targetHeld {
				target = t
			}
		}
	}
	for _, t := range found {
		if t != target && !t.published && unknownOrEqual(t.cluster, target.cluster) && unknownOrEqual(t.env, target.env) {
			g.merge(target, t)
		}
	}
	// Incidents the graph cannot speak for, which this alert would have
	// joined by its clues had it come first.
	var words []string
	for _, t := range graphless {
		if !g.admits(t, f, unattributedGap) || !unknownOrEqual(t.cluster, target.cluster) || !unknownOrEqual(t.env, target.env) {
			continue
		}
		if words == nil { // read once, and only when needed
			words = textWords(annotationText(a.Annotations), []string{})
		}
		if g.clueScore(t, a, f, words) > 0 {
			g.merge(target, t)
		}
	}
	return target
}

// admits reports whether an incident is open to an alert at all: it fires,
// its cluster and environment do not conflict, and its alerts started
// within gap of the alert.
// An incident a person split a node off (Split) is not open to that
// node's alerts any more.
func (g *Grouper) admits(t *tracked, f alertFacts, gap time.Duration) bool {
	if _, off := t.splitOff[f.node]; off && f.node != "" {
		return false
	}
	return t.inc.Status == Firing && unknownOrEqual(t.cluster, f.cluster) && unknownOrEqual(t.env, f.env) &&
		!f.start.Before(t.firstAt.Add(-gap)) && !f.start.After(t.lastAt.Add(gap))
}

// unknownOrEqual: an unknown value agrees with anything, a known one with
// itself only.
func unknownOrEqual(a, b string) bool { return a == "" || b == "" || a == b }

// joinsByGraph is rules (a) and (b).
func (g *Grouper) joinsByGraph(t *tracked, f alertFacts) bool {
	if f.node == "" {
		return false
	}
	// A node the graph knows is Related to itself: an incident whose
	// neighbourhood lacks it neither holds it nor relates to it.
	if f.known && (t.near == nil || !t.near.Contains(f.node)) {
		return false
	}
	if nss, held := t.nodes[f.node]; held {
		return f.ns == "" || len(nss) == 0 || slices.Contains(nss, f.ns)
	}
	return f.known
}

// note records what an incident now holds after taking an alert: the node
// and the namespace the alert placed it in, its cluster and environment,
// and the namespace tally its Scope shows.
func (g *Grouper) note(t *tracked, a Alert, f alertFacts) {
	g.noteNode(t, f.node, f.ns)
	if t.cluster == "" {
		t.cluster = f.cluster
	}
	if t.env == "" {
		t.env = f.env
	}
	t.placed = t.placed || f.own != ""
	g.tally(t, a.Labels[LabelNamespace], 1)
}

// noteNode records that the incident has alerts on node, in namespace ns
// when the alert said so.
func (g *Grouper) noteNode(t *tracked, node, ns string) {
	if node == "" {
		return
	}
	nss, held := t.nodes[node]
	if !held {
		t.nodes[node] = nil
		g.neighbour(t, node)
	}
	if ns != "" && !slices.Contains(nss, ns) {
		t.nodes[node] = append(nss, ns)
	}
}

// neighbour widens the incident's neighbourhood by node, when the graph
// knows it.
func (g *Grouper) neighbour(t *tracked, node string) {
	if !g.graph.Has(node) {
		return
	}
	if t.near == nil {
		t.near = g.graph.NewNeighbourhood()
	}
	t.near.Add(node)
}

// tally counts an incident's alerts per namespace; its Scope shows its
// cluster and the namespace most of its alerts carry (the first such on a
// tie), for display and as a runbook's default namespace.
func (g *Grouper) tally(t *tracked, ns string, n int) {
	t.inc.Scope.Cluster = t.cluster
	if ns == "" {
		return
	}
	if t.namespaces == nil {
		t.namespaces = map[string]int{}
	}
	t.namespaces[ns] += n
	if cur := t.inc.Scope.Namespace; cur == "" || t.namespaces[ns] > t.namespaces[cur] {
		t.inc.Scope.Namespace = ns
	}
}
