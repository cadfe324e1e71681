package diagnosis

import (
	"fmt"
	"maps"
	"math"
	"net"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// The root-cause model. A failing node explains alerts on itself and, with
// a probability that decays per hop, on what depends on it (a noisy-OR over
// the dependency graph); anything else alerts only by chance (the leak).
// Quiet callers count against a candidate; so do a root that alerted after
// everything it would explain, and a root that recovered while its
// dependents still fail. The role of a candidate's own alerts, its layer,
// error messages and labels that point at it, metric anomalies, recent
// changes and confirmed history are likelihood ratios on top. Candidates
// are every alerting node, every node up to Params.Hops below them, and
// what alerts name in their labels and text; a second independent root is
// considered with a prior penalty; "none of these" keeps its own mass.
// Scores are log-posteriors relative to "everything is noise".

// rcaNode is an alerting node as the model sees it.
type rcaNode struct {
	name      string
	alerts    []AlertState
	first     time.Time
	role      role
	roleAlert string
	weight    float64   // how much its alerting counts: less for alerts long older than the storm
	firing    bool      // any alert still fires
	resolved  time.Time // when its last alert resolved, when none fires
	label     int       // +1: an alert says root_cause_candidate="true"; -1: only "false"
	labelled  string    // the alert that says so
	layer     graph.Layer
	layerFrom string // the alert whose layer label placed it, if any
}

// hits are the alerts that point at one candidate in one way.
type hits struct {
	alerts map[string]bool // fingerprints
	from   map[string]bool // nodes whose alerts point: true when one names it specifically
	sample string
}

func (h *hits) add(fp, from, sample string) { h.addNamed(fp, from, sample, true) }

// addNamed records a pointer; specific is false for a bare word that may
// name the technology rather than the node ("redis connection timeouts").
func (h *hits) addNamed(fp, from, sample string, specific bool) {
	if h.alerts == nil {
		h.alerts, h.from, h.sample = map[string]bool{}, map[string]bool{}, sample
	}
	h.alerts[fp] = true
	if from != "" {
		h.from[from] = h.from[from] || specific
	}
}

// rcaView is an incident as the model sees it.
type rcaView struct {
	g        *graph.Graph
	p        Params
	off      map[string]bool
	alerting map[string]*rcaNode
	order    []string  // alerting nodes, sorted
	start    time.Time // the storm's onset
	now      time.Time
	// vusers are edges learned from alerts: vusers[x] depends on x.
	vusers  map[string][]string
	virtual map[string]string // names the graph does not know → kind
	spoken  map[string]bool   // of those, hosts only error messages name
	ipNames map[string]string // a host's address → the name nightowl uses for it
	named   map[string]*hits
	sig     map[string]*hits
	sigWhat map[string]string
	mention map[string]*hits
	// words[n]: what the text of n's alerts points at (signatures, mentions).
	words    map[string]map[string]bool
	erred    map[string]bool     // nodes whose alerts quote an error message
	observed map[string]string   // alerting node → the proxy that measured its every alert
	users    map[string][]string // cache of graph dependents
}

func (v *rcaView) on(signal string) bool { return !v.off[signal] }

// dependents lists what depends on x: the graph's callers and the edges
// learned from alerts.
func (v *rcaView) dependents(x string) []string {
	if u, ok := v.users[x]; ok {
		return u
	}
	u := v.g.Dependents(x)
	for _, w := range v.vusers[x] {
		if !slices.Contains(u, w) {
			u = append(u, w)
		}
	}
	v.users[x] = u
	return u
}

// link records that from depends on to, learned from an alert.
func (v *rcaView) link(from, to string) {
	if from == "" || to == "" || from == to || v.g.DependsTransitively(from, to) || v.g.DependsTransitively(to, from) || slices.Contains(v.vusers[to], from) {
		return
	}
	v.vusers[to] = append(v.vusers[to], from)
	delete(v.users, to)
}

func (v *rcaView) kind(n string) string {
	if k, ok := v.virtual[n]; ok {
		return k
	}
	return v.g.Kind(n)
}

func (v *rcaView) layer(n string) graph.Layer {
	if k, ok := v.virtual[n]; ok {
		return graph.KindLayer(k)
	}
	return v.g.Layer(n)
}

// newView reads the incident's alerts, grouped by node.
func newView(g *graph.Graph, p Params, off map[string]bool, byNode map[string][]AlertState, now time.Time) *rcaView {
	v := &rcaView{g: g, p: p, off: off, now: now, alerting: map[string]*rcaNode{}, vusers: map[string][]string{},
		virtual: map[string]string{}, spoken: map[string]bool{}, named: map[string]*hits{}, sig: map[string]*hits{}, sigWhat: map[string]string{},
		mention: map[string]*hits{}, users: map[string][]string{}, ipNames: map[string]string{}, words: map[string]map[string]bool{}, erred: map[string]bool{},
		observed: map[string]string{}}
	byNode = v.sameHosts(byNode)
	v.start = onset(byNode)
	for name, alerts := range byNode {
		n := &rcaNode{name: name, alerts: alerts, layer: g.Layer(name), role: roleNeutral}
		best := math.Inf(-1)
		recent := latestStart(alerts)
		for _, a := range alerts {
			if !a.StartsAt.IsZero() && (n.first.IsZero() || a.StartsAt.Before(n.first)) {
				n.first = a.StartsAt
			}
			if a.Status == Firing {
				n.firing = true
			} else if end := a.EndsAt; end.After(n.resolved) {
				n.resolved = end
			}
			r := roleOf(a.Alert)
			if !v.start.IsZero() && v.start.Sub(a.StartsAt) > longRunning && recent.Sub(a.StartsAt) > longRunning {
				continue // an old warning of a node that alerts in the storm too says little about the storm
			}
			if s := p.Role[r]; s > best || (s == best && a.Name() < n.roleAlert) {
				best, n.role, n.roleAlert = s, r, a.Name()
			}
			switch a.Labels[LabelRootCauseCandidate] {
			case "true", "True", "TRUE", "1":
				if n.label <= 0 {
					n.label, n.labelled = 1, a.Name()
				}
			case "false", "False", "FALSE", "0":
				if n.label == 0 {
					n.label, n.labelled = -1, a.Name()
				}
			}
			if l, ok := labelLayer(a.Labels[LabelLayer]); ok && l < n.layer {
				n.layer, n.layerFrom = l, a.Name()
			}
		}
		if n.firing {
			n.resolved = time.Time{}
		}
		n.weight = 1
		if !v.start.IsZero() && !latestStart(alerts).IsZero() && v.start.Sub(latestStart(alerts)) > longRunning {
			n.weight = 0.3 // only long-running warnings: weak evidence of this storm
		}
		if !g.Has(name) {
			v.virtual[name] = ""
			for _, a := range alerts {
				if k := familyKind(a.Alert); k != "" {
					v.virtual[name] = k
					break
				}
			}
		}
		v.alerting[name] = n
		v.order = append(v.order, name)
	}
	sort.Strings(v.order)
	return v
}

func latestStart(alerts []AlertState) time.Time {
	var t time.Time
	for _, a := range alerts {
		if a.StartsAt.After(t) {
			t = a.StartsAt
		}
	}
	return t
}

// sameHosts merges nodes the graph does not know that name one host in two
// ways, by address and by a cloud host name that spells the address
// (10.20.5.196 and ip-10-20-5-196.eu-central-1.compute.internal), and
// remembers the address of every such host.
func (v *rcaView) sameHosts(byNode map[string][]AlertState) map[string][]AlertState {
	names := map[string]string{} // address → the name form, when one is known
	for n := range byNode {
		if k := hostKey(n); k != "" && !v.g.Has(n) && (names[k] == "" || n != k) {
			if names[k] == "" || names[k] == k {
				names[k] = n
			}
		}
	}
	out := maps.Clone(byNode)
	for n, alerts := range byNode {
		k := hostKey(n)
		if k == "" || v.g.Has(n) || names[k] == n {
			continue
		}
		to := names[k]
		for _, a := range alerts {
			a.Node = to
			out[to] = append(out[to], a)
		}
		delete(out, n)
	}
	for k, n := range names {
		v.ipNames[k] = n
	}
	return out
}

// hostKey is the IPv4 address a host name stands for: the address itself,
// or the address a cloud host name spells (ip-10-20-5-196.…); "" otherwise.
func hostKey(name string) string {
	if ip := net.ParseIP(name); ip != nil && ip.To4() != nil {
		return ip.String()
	}
	m := cloudHost.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	return m[1] + "." + m[2] + "." + m[3] + "." + m[4]
}

var cloudHost = regexp.MustCompile(`^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(\.|$)`)

// longRunning: an alert this much older than the storm is probably not part of it.
const longRunning = 2 * time.Hour

// rcaCand is one root-cause hypothesis while it is scored.
type rcaCand struct {
	node     string
	obs      *rcaNode           // nil: no alert of its own
	explains map[string]float64 // alerting node → P(it alerts | this fails); itself included
	dist     map[string]int     // alerting or quiet node → hops up from this one
	quiet    map[string]float64 // quiet node within reach → P(it would alert)
	shifted  map[string]string  // alerting node → the balancer that moved the load onto it
	routes   map[string]bool    // alerting nodes this proxy measured, explained as its own alerts
	fine     []string           // this proxy's routes to services that stay quiet
	quietLLR float64
	terms    map[string]float64 // signal → log-likelihood ratio
	evidence []evidenceLine
	single   float64 // log-posterior as the only root
	score    float64 // with the best partner, if a pair explains more
	partner  string
}

type evidenceLine struct {
	weight float64
	text   string
}

func (c *rcaCand) add(signal string, llr float64, format string, args ...any) {
	if llr == 0 && format == "" {
		return
	}
	c.terms[signal] += llr
	if format != "" {
		c.evidence = append(c.evidence, evidenceLine{llr, fmt.Sprintf(format, args...)})
	}
}

// candidates: every alerting node; every graph node up to Hops below them;
// names learned from alerts.
func (v *rcaView) candidates() []*rcaCand {
	set := map[string]bool{}
	for _, n := range v.order {
		set[n] = true
	}
	if v.on(sigSilent) {
		frontier := slices.Clone(v.order)
		for hop := 0; hop < v.p.Hops && len(frontier) > 0; hop++ {
			var next []string
			for _, n := range frontier {
				for _, d := range v.g.DependsOn(n) {
					if !set[d] {
						set[d] = true
						next = append(next, d)
					}
				}
			}
			frontier = next
		}
	}
	for n := range v.virtual {
		set[n] = true
	}
	for _, o := range v.observed {
		set[o] = true // a proxy that measured the alerts it routes
	}
	for _, m := range []map[string]*hits{v.named, v.sig, v.mention} {
		for n := range m {
			set[n] = true
		}
	}
	out := make([]*rcaCand, 0, len(set))
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for n := range set {
			if !yield(n) {
				return
			}
		}
	}) {
		out = append(out, &rcaCand{node: n, obs: v.alerting[n], terms: map[string]float64{}})
	}
	return out
}

// spread is P(a node d hops above a failing one alerts because of it).
func (v *rcaView) spread(d int) float64 {
	return v.p.Spread * math.Pow(v.p.Decay, float64(d-1))
}

// selfAlert is P(a failing node alerts on its own), by how often its kind
// is watched.
func (v *rcaView) selfAlert(n string) float64 {
	if unwatched(v.kind(n)) {
		return v.p.SelfAlertUnwatched
	}
	return v.p.SelfAlert
}

// unwatched kinds seldom have alerts of their own: failures there show up
// on the services that use them.
func unwatched(kind string) bool {
	switch strings.ToLower(kind) {
	case "dns", "loadbalancer", "lb", "proxy", "egress", "storage", "disk", "volume", "nfs", "efs",
		"external", "provider", "cloud", "ntp", "time", "ca", "cert", "certificate", "pki", "network", "cdn":
		return true
	}
	return false
}

// timely is how much a candidate can explain an alert on n given when they
// fired: a symptom cannot come before its cause, so an alert that predates
// both the storm and the candidate is something else (noise), unless the
// candidate fired as early.
func (v *rcaView) timely(c *rcaCand, n string) float64 {
	if !v.on(sigTiming) || v.start.IsZero() {
		return 1
	}
	tn := v.alerting[n].first
	if tn.IsZero() || v.start.Sub(tn) <= scrapeTolerance {
		return 1
	}
	if c.obs != nil && !c.obs.first.IsZero() && c.obs.first.Sub(tn) <= scrapeTolerance {
		return 1
	}
	return predated
}

// predated is what an alert that came before its supposed cause is still
// worth as its symptom.
const predated = 0.1

// faded is how much a recovered candidate still explains a failure that
// goes on: fully for a grace of Params.Recovered after it recovered, then
// halving every Params.Recovered.
func (v *rcaView) faded(c *rcaCand, n string) float64 {
	o := c.obs
	if o == nil || o.firing || o.resolved.IsZero() || v.p.Recovered <= 0 || !v.on(sigRecovered) {
		return 1
	}
	u := v.alerting[n]
	if !u.firing {
		return 1
	}
	late := v.now.Sub(o.resolved) - v.p.Recovered
	if late <= 0 {
		return 1
	}
	return math.Exp2(-float64(late) / float64(v.p.Recovered))
}

// reach walks up from the candidate: who depends on it, how far.
func (v *rcaView) reach(c *rcaCand) {
	c.explains, c.quiet, c.dist, c.shifted = map[string]float64{}, map[string]float64{}, map[string]int{}, map[string]string{}
	c.routes, c.fine = map[string]bool{}, nil
	if c.obs != nil {
		c.explains[c.node] = v.selfAlert(c.node)
	}
	seen := map[string]bool{c.node: true}
	frontier := []string{c.node}
	for d := 1; d <= v.p.Hops+1 && len(frontier) > 0; d++ {
		var next []string
		for _, n := range frontier {
			for _, u := range v.dependents(n) {
				if seen[u] {
					continue
				}
				seen[u] = true
				next = append(next, u)
				c.dist[u] = d
				if _, ok := v.alerting[u]; ok {
					c.explains[u] = v.spread(d) * v.faded(c, u) * v.timely(c, u) * v.worded(c, u)
				} else if d <= 2 && v.g.Has(u) && v.layer(u) < graph.LayerBusiness && !v.failsOver(u, c.node) {
					c.quiet[u] = v.spread(d)
				}
			}
		}
		frontier = next
	}
	v.failover(c)
	v.measured(c)
	if v.on(sigGraph) && v.p.Missing > 0 {
		v.unknownEdges(c)
	}
}

// explainLLR is what explaining alerting node n with probability p is worth
// against calling it noise.
func (v *rcaView) explainLLR(n string, p float64) float64 {
	if p <= 0 {
		return 0
	}
	l := v.p.Leak
	return v.alerting[n].weight * (math.Log(l+(1-l)*p) - math.Log(l))
}

// independent reports whether neither of two candidates explains the other.
func independent(a, b *rcaCand) bool {
	_, ab := a.dist[b.node]
	_, ba := b.dist[a.node]
	return !ab && !ba
}

func countWord(n int) string {
	if n == 1 {
		return "1"
	}
	return fmt.Sprint(n)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func failWord(n int) string {
	if n == 1 {
		return "fails"
	}
	return "fail"
}

// logSumExp is log(Σ exp(x)).
func logSumExp(xs ...float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, x := range xs {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}
