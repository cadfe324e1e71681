package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Topology is one generated estate: the true dependency graph cascades run
// on, and the degraded graph file an engine is given.
type Topology struct {
	Name    string
	Cluster string
	// True is the estate as it is; Engine is its graph file: some edges
	// missing (Missing), some infrastructure absent altogether (Absent).
	True, Engine *graph.Graph
	// Missing are true edges between nodes the engine graph has that its
	// file leaves out: 10–20% of those edges.
	Missing []Edge
	// Edges counts the true edges between nodes the engine graph has.
	Edges int
	// Absent are true nodes the engine graph does not have at all.
	Absent []string

	meta     map[string]*meta
	order    []string // every node, in creation order
	weight   map[Edge]float64
	workers  []string
	hosted   map[string][]string // worker → the workloads with a pod on it (not DNS or proxy)
	resolver string              // the cluster DNS address pods use
	style    style
}

// Edge is a dependency: From calls To.
type Edge struct{ From, To string }

// style is how an organisation labels and scrapes: conventions its alerts share.
type style struct {
	release       string // kube-prometheus-stack Helm release name ("" for bare names)
	nodeByName    bool   // node-exporter's instance is the node name, not ip:9100
	orgLabels     bool   // rules carry layer, impact_type, root_cause_candidate
	teamLabels    bool
	clusterLabel  bool
	ksmPod, ksmIP string
	region, cloud string
}

// Node roles.
const (
	roleIngress  = "ingress"
	roleGateway  = "gateway"
	roleAuth     = "auth"
	roleApp      = "app"
	roleStore    = "store"
	roleExternal = "external"
	roleCoreDNS  = "coredns"
	roleUpstream = "upstream-dns"
	roleProxy    = "proxy"
	roleLB       = "loadbalancer"
	roleStorage  = "storage"
	roleNTP      = "ntp"
	roleCA       = "ca"
	roleWorker   = "worker"
)

// meta is what the generator knows of a node beyond the graph.
type meta struct {
	name, kind, role, ns, team string
	tech                       string // datastore technology; provider category
	host                       string // the address its clients use
	managed                    bool   // runs outside the cluster (RDS, a provider)
	sts                        bool   // a StatefulSet
	pods                       []pod
	prov                       *provider
	domain                     string // CamelCase word for organisation rule names
	tier                       int
	aliases                    []string
	ip                         string // worker nodes
	consumes                   string // the queue it consumes, if any
}

type pod struct{ name, node, ip string }

func (t *Topology) m(name string) *meta { return t.meta[name] }

// byRole lists the nodes of a role, in creation order.
func (t *Topology) byRole(roles ...string) []string {
	var out []string
	for _, n := range t.order {
		if slices.Contains(roles, t.meta[n].role) {
			out = append(out, n)
		}
	}
	return out
}

// inEngine reports whether the engine graph has the node.
func (t *Topology) inEngine(name string) bool { return t.Engine.Has(name) }

type topoBuilder struct {
	r     *rand.Rand
	t     *Topology
	deps  map[string][]string
	names map[string]bool
}

// newTopology builds a random estate of 20–500 nodes.
func newTopology(r *rand.Rand, index int) *Topology {
	n := int(math.Round(math.Exp(math.Log(20) + r.Float64()*(math.Log(500)-math.Log(20)))))
	t := &Topology{
		Name:    fmt.Sprintf("%s-%03d", pick(r, orgs), index),
		Cluster: pick(r, clusters),
		meta:    map[string]*meta{},
		weight:  map[Edge]float64{},
	}
	b := &topoBuilder{r: r, t: t, deps: map[string][]string{}, names: map[string]bool{}}
	b.style()
	b.build(n)
	b.degrade()
	return t
}

func (b *topoBuilder) style() {
	r, s := b.r, &b.t.style
	s.release = pick(r, []string{"kube-prometheus-stack", "kube-prometheus-stack", "prometheus", "kps", ""})
	s.nodeByName = chance(r, 0.35)
	s.orgLabels = chance(r, 0.4)
	s.teamLabels = chance(r, 0.5)
	s.clusterLabel = chance(r, 0.3)
	s.ksmPod = b.t.exporter("kube-state-metrics") + "-" + rsHash(r) + "-" + podSuffix(r)
	s.ksmIP = fmt.Sprintf("10.%d.%d.%d:8080", pick(r, []int{0, 20, 42}), 1+r.IntN(3), 2+r.IntN(250))
	switch x := r.Float64(); {
	case x < 0.6:
		s.cloud, s.region = "aws", pick(r, awsRegions)
	case x < 0.85:
		s.cloud, s.region = "gcp", "europe-west1"
	default:
		s.cloud, s.region = "azure", "westeurope"
	}
}

// exporter is the Service name kube-prometheus-stack gives an exporter.
func (t *Topology) exporter(what string) string {
	switch {
	case t.style.release == "":
		return what
	case what == "node-exporter":
		return t.style.release + "-prometheus-node-exporter"
	}
	return t.style.release + "-" + what
}

func (b *topoBuilder) add(m *meta) *meta {
	base := m.name
	for i := 2; b.names[m.name]; i++ {
		m.name = fmt.Sprintf("%s-%d", base, i)
	}
	b.names[m.name] = true
	b.t.meta[m.name] = m
	b.t.order = append(b.t.order, m.name)
	return m
}

// dep adds the true edge from → to with a weight: how much of from's
// traffic needs to (1 hot path, 0.6 warm, 0.2 a rarely used path).
func (b *topoBuilder) dep(from, to string, w float64) {
	if from == to || slices.Contains(b.deps[from], to) {
		return
	}
	b.deps[from] = append(b.deps[from], to)
	b.t.weight[Edge{from, to}] = w
}

func (b *topoBuilder) weight() float64 {
	switch x := b.r.Float64(); {
	case x < 0.55:
		return 1
	case x < 0.85:
		return 0.6
	}
	return 0.2
}

// degrade writes the graph file an engine is given: some infrastructure
// absent, 10–20% of the remaining edges missing, fewer aliases.
func (b *topoBuilder) degrade() {
	absent := b.absent()
	missing := b.missing(absent)
	b.file(absent, missing)
}

// absent picks the nodes the graph file leaves out: worker nodes, the
// upstream resolver, NTP and other shared infrastructure often, providers
// and a service or two added since the file was last updated sometimes.
func (b *topoBuilder) absent() map[string]bool {
	r, t := b.r, b.t
	absent := map[string]bool{}
	drop := func(role string, p float64) {
		if chance(r, p) {
			for _, n := range t.byRole(role) {
				absent[n] = true
			}
		}
	}
	drop(roleWorker, 0.7)
	drop(roleUpstream, 0.5)
	drop(roleNTP, 0.5)
	drop(roleCA, 0.3)
	drop(roleProxy, 0.3)
	drop(roleStorage, 0.2)
	drop(roleLB, 0.2)
	drop(roleCoreDNS, 0.15)
	for _, e := range t.byRole(roleExternal) {
		if chance(r, 0.15) {
			absent[e] = true
		}
	}
	if apps := t.byRole(roleApp); len(apps) > 10 && chance(r, 0.25) {
		for k := 1 + r.IntN(2); k > 0; k-- {
			absent[pick(r, apps)] = true // services added since the file was last updated
		}
	}
	return absent
}

// missing picks 11–19% (at least 10%, at most 20%) of the true edges
// between nodes the file has, infrastructure edges twice as likely.
func (b *topoBuilder) missing(absent map[string]bool) map[Edge]bool {
	r, t := b.r, b.t
	var edges []Edge
	var weights []float64
	for _, from := range t.order {
		if absent[from] {
			continue
		}
		for _, to := range b.deps[from] {
			if absent[to] {
				continue
			}
			edges = append(edges, Edge{from, to})
			w := 1.0
			switch t.m(to).role {
			case roleCoreDNS, roleNTP, roleCA, roleWorker, roleUpstream, roleProxy:
				w = 2 // people forget to draw infrastructure
			}
			weights = append(weights, w)
		}
	}
	t.Edges = len(edges)
	k := int(math.Round((0.11 + 0.08*r.Float64()) * float64(len(edges))))
	k = clamp(k, int(math.Ceil(0.1*float64(len(edges)))), int(math.Floor(0.2*float64(len(edges)))))
	missing := map[Edge]bool{}
	for len(missing) < k {
		i := weightedIndex(r, weights)
		missing[edges[i]] = true
		weights[i] = 0
	}
	return missing
}

// file writes the engine's graph: the nodes not absent, their edges not
// missing, and about 60% of their aliases.
func (b *topoBuilder) file(absent map[string]bool, missing map[Edge]bool) {
	r, t := b.r, b.t
	var nodes []graph.Node
	for _, name := range t.order {
		if absent[name] {
			t.Absent = append(t.Absent, name)
			continue
		}
		m := t.m(name)
		n := graph.Node{Name: name, Kind: m.kind, Team: m.team}
		for _, to := range b.deps[name] {
			e := Edge{name, to}
			if absent[to] {
				continue
			}
			if missing[e] {
				t.Missing = append(t.Missing, e)
				continue
			}
			n.DependsOn = append(n.DependsOn, to)
		}
		slices.Sort(n.DependsOn)
		for _, a := range m.aliases {
			if chance(r, 0.6) {
				n.Aliases = append(n.Aliases, a)
			}
		}
		nodes = append(nodes, n)
	}
	g, err := graph.New(nodes)
	if err != nil {
		panic("synth: engine graph: " + err.Error())
	}
	t.Engine = g
}
