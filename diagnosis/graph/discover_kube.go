package graph

// owner is a Kubernetes owner reference as kube-state-metrics reports it.
type owner struct{ kind, name string }

// kubernetes reads kube-state-metrics: each pod's node (kube_pod_info),
// its owner (kube_pod_owner, else kube_pod_info's created_by) and the
// Deployment owning a ReplicaSet (kube_replicaset_owner). The workload a
// pod belongs to depends on the node it runs on, weighted by its number of
// pods there. A pod owned by a Node (a static pod) or by nothing adds no
// edge; a ReplicaSet no Deployment owns is the workload itself.
func (b *builder) kubernetes(pods, podOwners, replicaSets []Sample) {
	rsOwner := map[string]owner{} // namespace/replicaset
	for _, s := range replicaSets {
		l := s.Labels
		if o := (owner{l["owner_kind"], l["owner_name"]}); !unknown(o.name) && o.kind != "<none>" {
			rsOwner[l["namespace"]+"/"+l["replicaset"]] = o
		}
	}
	podOwner := map[string]owner{} // namespace/pod
	for _, s := range podOwners {
		l := s.Labels
		if o := (owner{l["owner_kind"], l["owner_name"]}); !unknown(o.name) && o.kind != "<none>" {
			podOwner[l["namespace"]+"/"+l["pod"]] = o
		}
	}
	type placement struct{ workload, node string }
	count := map[placement]float64{}
	for _, s := range pods {
		l := s.Labels
		node := first(l, "node")
		if node == "" {
			continue // pending
		}
		b.node(node, "node")
		ns := l["namespace"]
		o, ok := podOwner[ns+"/"+l["pod"]]
		if !ok {
			o = owner{l["created_by_kind"], l["created_by_name"]}
		}
		if o.kind == "ReplicaSet" {
			if d, ok := rsOwner[ns+"/"+o.name]; ok {
				o = d
			}
		}
		if unknown(o.name) || o.kind == "<none>" || o.kind == "" || o.kind == "Node" {
			continue
		}
		count[placement{o.name, node}]++
		b.workload(o.name, ns, "service")
	}
	for p, n := range count {
		b.edge(p.workload, p.node, SourceKubernetes, n)
	}
}
