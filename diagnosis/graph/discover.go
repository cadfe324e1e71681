package graph

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
)

// Discovery turns series Prometheus already holds into nodes and edges.
// It is pure: diagnosis/prom runs the queries, this file reads their
// results, one Family at a time.
//
// Names are normalised to what alerts use: a workload is named by its
// Kubernetes workload name exactly as the mesh or kube-state-metrics
// reports it (a Deployment, StatefulSet, DaemonSet or Job name; nothing is
// stripped and no namespace is added, so the same name in two namespaces
// is one node, with a warning). A Kubernetes Service name becomes an alias
// of the workload behind it when exactly one workload is behind it and no
// node has that name. A worker node is named by its Kubernetes node name;
// node-exporter's instance (and its host without the port) is an alias. A
// service an exporter describes is named by its series' `service` label,
// else its `job` label: the labels an alert on that series carries.

// Sample is one series of an instant query: its labels and its value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Family names one kind of series discovery reads.
type Family string

// The families, each one query's worth of series.
const (
	FamilyIstio       Family = "istio"                 // istio_requests_total
	FamilyLinkerd     Family = "linkerd"               // request_total{direction="outbound"}
	FamilyTraces      Family = "traces"                // traces_service_graph_request_total
	FamilyPods        Family = "kube_pod_info"         // pod → node
	FamilyPodOwners   Family = "kube_pod_owner"        // pod → workload or ReplicaSet
	FamilyReplicaSets Family = "kube_replicaset_owner" // ReplicaSet → Deployment
	FamilyNodeNames   Family = "node_uname_info"       // node-exporter instance → node name
	FamilyExporters   Family = "exporters"             // pg_up, redis_up …, with __name__
)

// Families lists every family discovery reads.
func Families() []Family {
	return []Family{FamilyIstio, FamilyLinkerd, FamilyTraces, FamilyPods, FamilyPodOwners,
		FamilyReplicaSets, FamilyNodeNames, FamilyExporters}
}

// Input is the series of each family; a family that is absent has none.
type Input map[Family][]Sample

// Source says what showed an edge.
type Source string

// The sources of edges.
const (
	SourceFile       Source = "file"
	SourceIstio      Source = "mesh-istio"
	SourceLinkerd    Source = "mesh-linkerd"
	SourceTraces     Source = "traces"
	SourceKubernetes Source = "kubernetes"
)

// Edge is one dependency and what showed it: From depends on To. Rate is
// requests per second over the window for meshes and traces (bytes per
// second for an Istio TCP call), the number of
// From's pods on the node for kubernetes, and 0 for the file.
type Edge struct {
	From, To string
	Source   Source
	Rate     float64
}

// Discovery is a graph discovered from metrics.
type Discovery struct {
	Nodes    []Node // sorted by name, each with its DependsOn and Aliases sorted
	Edges    []Edge // sorted by From, To, Source
	Warnings []string
}

// exporterKinds gives the kind of the service an up-style exporter series
// describes.
var exporterKinds = map[string]string{
	"pg_up":                           "database",
	"mysql_up":                        "database",
	"mongodb_up":                      "database",
	"redis_up":                        "cache",
	"memcached_up":                    "cache",
	"kafka_brokers":                   "queue",
	"rabbitmq_up":                     "queue",
	"elasticsearch_cluster_health_up": "search",
}

// ExporterMetrics lists the up-style exporter metrics FamilyExporters
// reads, sorted. Their samples carry the metric's name in __name__.
func ExporterMetrics() []string {
	out := make([]string, 0, len(exporterKinds))
	for m := range exporterKinds {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Discover builds the graph the families show; it never fails, and says
// what it could not reconcile in Warnings.
func Discover(in Input) Discovery {
	b := &builder{
		nodes:    map[string]*found{},
		edges:    map[edgeKey]float64{},
		services: map[string]map[string]bool{},
		ns:       map[string]map[string]bool{},
	}
	b.istio(in[FamilyIstio])
	b.linkerd(in[FamilyLinkerd])
	b.traces(in[FamilyTraces])
	b.kubernetes(in[FamilyPods], in[FamilyPodOwners], in[FamilyReplicaSets])
	b.nodeNames(in[FamilyNodeNames])
	b.exporters(in[FamilyExporters])
	return b.result()
}

type found struct {
	kind    string
	aliases map[string]bool
}

type edgeKey struct {
	from, to string
	src      Source
}

// lateKind is a kind decided once every edge is known.
type lateKind struct {
	name, kind   string
	unlessCaller bool // not when the node calls anything
}

type builder struct {
	nodes    map[string]*found
	edges    map[edgeKey]float64
	services map[string]map[string]bool // Kubernetes Service → workloads behind it
	ns       map[string]map[string]bool // workload → namespaces
	late     []lateKind
	warnings []string
}

// kindRank orders kinds by how much they say: an infrastructure kind from
// an exporter or traces beats "external", which beats "service".
func kindRank(kind string) int {
	switch kind {
	case "":
		return 0
	case "service":
		return 1
	case "external":
		return 2
	}
	return 3
}

// node adds name (when new) and raises its kind to kind if that says more.
func (b *builder) node(name, kind string) *found {
	f, ok := b.nodes[name]
	if !ok {
		f = &found{aliases: map[string]bool{}}
		b.nodes[name] = f
	}
	if r, cur := kindRank(kind), kindRank(f.kind); r > cur || (r == cur && kind < f.kind) {
		f.kind = kind
	}
	return f
}

// workload adds a Kubernetes workload, noting its namespace.
func (b *builder) workload(name, namespace, kind string) {
	b.node(name, kind)
	if namespace == "" {
		return
	}
	if b.ns[name] == nil {
		b.ns[name] = map[string]bool{}
	}
	b.ns[name][namespace] = true
}

// service notes that Kubernetes Service svc sends to workload.
func (b *builder) service(svc, workload string) {
	if unknown(svc) || svc == workload {
		return
	}
	if b.services[svc] == nil {
		b.services[svc] = map[string]bool{}
	}
	b.services[svc][workload] = true
}

func (b *builder) edge(from, to string, src Source, rate float64) {
	if from == "" || to == "" || from == to {
		return
	}
	b.edges[edgeKey{from, to, src}] += rate
}

func unknown(name string) bool { return name == "" || name == "unknown" }

func first(l map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := l[k]; !unknown(v) {
			return v
		}
	}
	return ""
}

// istio reads istio_requests_total by source and destination workload.
// Both proxies of a call report it, so when the samples keep the reporter
// label an edge's rate is the larger of the two reports: each request
// counts once (diagnosis/prom takes that maximum in PromQL already). A destination
// outside the mesh (a ServiceEntry host) is an external node named by
// destination_service_name; a caller outside the mesh adds no edge.
func (b *builder) istio(samples []Sample) {
	rates := map[[2]string]map[string]float64{}
	for _, s := range samples {
		l := s.Labels
		to := first(l, "destination_workload")
		if to != "" {
			b.workload(to, l["destination_workload_namespace"], "service")
			b.service(l["destination_service_name"], to)
		} else {
			to = first(l, "destination_service_name")
			if to == "" || to == "PassthroughCluster" || to == "BlackHoleCluster" || to == "InboundPassthroughClusterIpv4" {
				continue
			}
			b.node(to, "external")
		}
		from := first(l, "source_workload")
		if from == "" {
			continue
		}
		b.workload(from, l["source_workload_namespace"], "service")
		k := [2]string{from, to}
		if rates[k] == nil {
			rates[k] = map[string]float64{}
		}
		rates[k][l["reporter"]] += s.Value
	}
	for k, by := range rates {
		most := 0.0
		for _, r := range by {
			most = max(most, r)
		}
		b.edge(k[0], k[1], SourceIstio, most)
	}
}

// linkerd reads the proxies' outbound request_total (or response_total)
// by source and destination workload; the outbound side alone reports
// each request once. A destination outside the mesh has no dst_ workload
// and adds nothing.
func (b *builder) linkerd(samples []Sample) {
	for _, s := range samples {
		l := s.Labels
		if d := l["direction"]; d != "" && d != "outbound" {
			continue
		}
		to := first(l, "dst_deployment", "dst_statefulset", "dst_daemonset")
		if to == "" {
			continue
		}
		b.workload(to, l["dst_namespace"], "service")
		b.service(l["dst_service"], to)
		from := first(l, "deployment", "statefulset", "daemonset")
		if from == "" {
			continue
		}
		b.workload(from, l["namespace"], "service")
		b.edge(from, to, SourceLinkerd, s.Value)
	}
}

// traces reads a trace service graph (Tempo's metrics generator or the
// OpenTelemetry Collector's servicegraph connector) by client, server and
// connection_type. A database server is a database; a messaging_system
// server that calls nothing is a queue (one that calls something is the
// consuming service); a virtual_node end (an uninstrumented peer, or the
// "user" who started a trace) that is no client of a database, and no end
// of a plain or messaging edge, is external.
func (b *builder) traces(samples []Sample) {
	virtual, instrumented := map[string]bool{}, map[string]bool{}
	for _, s := range samples {
		l := s.Labels
		client, server := first(l, "client"), first(l, "server")
		if client == "" || server == "" {
			continue
		}
		b.node(client, "service")
		b.node(server, "service")
		b.edge(client, server, SourceTraces, s.Value)
		switch l["connection_type"] {
		case "database":
			b.late = append(b.late, lateKind{name: server, kind: "database"})
			instrumented[client] = true
		case "messaging_system":
			b.late = append(b.late, lateKind{name: server, kind: "queue", unlessCaller: true})
			instrumented[client], instrumented[server] = true, true
		case "virtual_node":
			virtual[client], virtual[server] = true, true
		default:
			instrumented[client], instrumented[server] = true, true
		}
	}
	for name := range virtual {
		if !instrumented[name] {
			b.late = append(b.late, lateKind{name: name, kind: "external"})
		}
	}
}

// nodeNames reads node_uname_info: each nodename is a node, and the
// node-exporter instance that reported it an alias.
func (b *builder) nodeNames(samples []Sample) {
	for _, s := range samples {
		name := first(s.Labels, "nodename")
		if name == "" {
			continue
		}
		f := b.node(name, "node")
		inst := s.Labels["instance"]
		if inst == "" || inst == name {
			continue
		}
		f.aliases[inst] = true
		if host, _, err := net.SplitHostPort(inst); err == nil && host != name {
			f.aliases[host] = true
		}
	}
}

// exporters reads up-style exporter series: the service each describes
// (its service label, else its job) takes the metric's kind.
func (b *builder) exporters(samples []Sample) {
	for _, s := range samples {
		kind := exporterKinds[s.Labels["__name__"]]
		name := first(s.Labels, "service", "job")
		if kind == "" || name == "" {
			continue
		}
		b.late = append(b.late, lateKind{name: name, kind: kind})
	}
}

// result settles kinds and aliases and lists nodes and edges in order.
func (b *builder) result() Discovery {
	calls := map[string]bool{}
	deps := map[string]map[string]bool{}
	var d Discovery
	for k, rate := range b.edges {
		calls[k.from] = true
		if deps[k.from] == nil {
			deps[k.from] = map[string]bool{}
		}
		deps[k.from][k.to] = true
		d.Edges = append(d.Edges, Edge{From: k.from, To: k.to, Source: k.src, Rate: rate})
	}
	for _, l := range b.late {
		if !(l.unlessCaller && calls[l.name]) {
			b.node(l.name, l.kind)
		}
	}
	b.serviceAliases()
	b.dropClashingAliases()
	for w, set := range b.ns {
		if len(set) > 1 {
			b.warnings = append(b.warnings, fmt.Sprintf("workload %s runs in namespaces %s: discovery names workloads without their namespace, so they are one node",
				w, strings.Join(sortedKeys(set), ", ")))
		}
	}
	for name, f := range b.nodes {
		kind := f.kind
		if kind == "" {
			kind = "service"
		}
		d.Nodes = append(d.Nodes, Node{Name: name, Kind: kind, DependsOn: sortedKeys(deps[name]), Aliases: sortedKeys(f.aliases)})
	}
	slices.SortFunc(d.Nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.Edges, func(a, b Edge) int {
		return cmpJoin(strings.Compare(a.From, b.From), strings.Compare(a.To, b.To), strings.Compare(string(a.Source), string(b.Source)))
	})
	sort.Strings(b.warnings)
	d.Warnings = b.warnings
	return d
}

// serviceAliases makes each Kubernetes Service in front of exactly one
// workload an alias of it.
func (b *builder) serviceAliases() {
	for svc, workloads := range b.services {
		if len(workloads) != 1 {
			continue
		}
		for w := range workloads {
			b.nodes[w].aliases[svc] = true
		}
	}
}

// dropClashingAliases removes an alias that names a node or belongs to two.
func (b *builder) dropClashingAliases() {
	owners := map[string][]string{}
	for name, f := range b.nodes {
		for a := range f.aliases {
			owners[a] = append(owners[a], name)
		}
	}
	for a, names := range owners {
		_, isNode := b.nodes[a]
		if !isNode && len(names) == 1 {
			continue
		}
		for _, n := range names {
			delete(b.nodes[n].aliases, a)
		}
		if !isNode {
			sort.Strings(names)
			b.warnings = append(b.warnings, fmt.Sprintf("%s names %s: left out as an alias", a, strings.Join(names, " and ")))
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func cmpJoin(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}
