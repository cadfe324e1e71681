package diagnosis

import (
	"strings"
)

// An alert is about one node (the Resolver's answer) but may name others:
// the provider an integration calls, the database a client fails to reach,
// the Kubernetes node a pod runs on. Those names are edges the graph file
// may lack, and evidence that the named thing is involved.

// calleeLabels name something the alert's subject calls: the alert is
// evidence against it, and an edge from the subject to it.
var calleeLabels = []string{
	"provider", "upstream", "upstream_service", "upstream_cluster", "destination_service",
	"destination_workload", "destination_service_name", "peer_service", "server_address",
	"database", "db", "dbinstance_identifier", "db_instance", "cache", "redis_instance",
	"load_balancer", "loadbalancer", "target_group", "backend", "envoy_cluster_name",
	"exported_service", "dependency", "remote_service", "proxy", "resolver",
}

// placementLabels say where the subject runs: an edge, not an accusation.
var placementLabels = []string{"node", "node_name", "kubernetes_node", "nodename", "host", "hostname"}

// nodeKindLabels: a value here that the graph does not know is a
// Kubernetes node or host nightowl may still name.
var nodeKindLabels = map[string]bool{"node": true, "node_name": true, "kubernetes_node": true, "nodename": true}

// named is a node an alert names besides its subject.
type named struct {
	Node    string
	Label   string
	Value   string
	Callee  bool // named as something the subject calls (evidence), not only where it runs
	InGraph bool
	Kind    string // for names the graph does not know: "node", "external" or ""
}

// Named lists the nodes an alert names in its labels besides subject.
func (r *Resolver) Named(a Alert, subject string) []named {
	var out []named
	seen := map[string]bool{subject: true}
	add := func(label string, callee bool) {
		v := strings.TrimSpace(a.Labels[label])
		if v == "" || isExporter(v) {
			return
		}
		n, ok := r.nameOf(label, v)
		switch {
		case ok:
		case nodeKindLabels[label]:
			n = strings.ToLower(v)
		case label == "provider":
			n = strings.ToLower(v)
		default:
			return
		}
		if seen[n] {
			return
		}
		seen[n] = true
		kind := ""
		if !ok {
			kind = "external"
			if nodeKindLabels[label] {
				kind = "node"
			}
		}
		out = append(out, named{Node: n, Label: label, Value: v, Callee: callee, InGraph: ok, Kind: kind})
	}
	for _, l := range calleeLabels {
		add(l, true)
	}
	for _, l := range placementLabels {
		add(l, false)
	}
	return out
}

// nameOf resolves one label value to a graph node the way Resolve does.
func (r *Resolver) nameOf(label, v string) (string, bool) {
	rule := Rule{Label: label}
	if label == "host" || label == "hostname" || label == "server_address" {
		rule.Label = "instance" // host names and addresses: try the host and its short name
	}
	cands := rule.candidates(v)
	for _, c := range cands {
		if n, ok := r.lookup(c); ok {
			return n, true
		}
	}
	if n, ok := r.lookupSpelled(v); ok {
		return n, true
	}
	if n, ok := r.lookupParts(cands[len(cands)-1]); ok {
		return n, true
	}
	return "", false
}
