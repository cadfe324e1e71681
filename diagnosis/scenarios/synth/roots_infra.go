package synth

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// node: a Kubernetes worker node fails; its pods' services suffer, whatever
// their place in the graph.
func (g *gen) node(t0 time.Duration, avoid func(string) bool) (fault, bool) {
	t := g.t
	workloads := func(w string) []string { return t.hosted[w] }
	root, ok := g.choose(g.candidates(func(n string) bool {
		if avoid(n) {
			return true
		}
		for _, w := range workloads(n) {
			if avoid(w) {
				return true
			}
		}
		return false
	}, func(m *meta) float64 {
		if m.role != roleWorker {
			return 0
		}
		if k := len(workloads(m.name)); k >= 2 {
			return float64(k)
		}
		return 0
	}))
	if !ok {
		return fault{}, false
	}
	first := g.rule(causeNode, "")
	if _, ok := g.rootAlert(rules{tune: []rule{first}, test: []rule{first}}, "", t0, spec{subject: root, role: RoleCause}); !ok {
		return fault{}, false
	}
	for k := g.r.IntN(3); k > 0; k-- {
		g.rootAlert(causeNode, "", t0+dur(g.r, 0, 3*time.Minute), spec{subject: root, role: RoleCause})
	}
	if chance(g.r, 0.3) {
		if r, ok := g.precursor(precursorNode, first.mode); ok {
			g.emit(spec{rule: r, subject: root, at: t0 - dur(g.r, 30*time.Minute, 6*time.Hour), role: RolePrecursor})
		}
	}
	var hits []hit
	for _, w := range workloads(root) {
		m := t.m(w)
		var on []pod
		for _, p := range m.pods {
			if p.node == root {
				on = append(on, p)
			}
		}
		h := hit{node: w, via: root, hop: 1, at: t0 + dur(g.r, 20*time.Second, 90*time.Second)}
		hits = append(hits, h)
		if len(on) == len(m.pods) {
			// Every replica was there: the workload is down until rescheduled.
			if m.role == roleStore {
				if !g.fire(downStore.only(m.tech), "", h.at, spec{subject: w, role: RoleSymptom}) {
					g.fire(symptomPod, "", h.at, spec{subject: w, role: RoleSymptom})
				}
			} else {
				g.symptomAlerts(h, g.phrase(textNode, ""), "", root, "node:"+root)
			}
			up := g.cascade([]hit{h}, 0.8, 0.6, 8)
			g.symptoms(up, nil, 0.8)
			hits = append(hits, up...)
		} else if chance(g.r, 0.6*float64(len(on))/float64(len(m.pods))) && m.role != roleStore {
			g.fire(symptomErrors, "", h.at, spec{subject: w, text: g.phrase(textNode, ""), pod: &on[0], dep: root, role: RoleSymptom, tags: []string{"node:" + root}})
		}
		for i := range on {
			if chance(g.r, 0.55) {
				g.fire(symptomPod, "", t0, spec{subject: w, style: pick(g.r, []string{stPod, stKsmPod}), pod: &on[i], role: RoleSymptom})
			}
		}
	}
	if chance(g.r, 0.35) {
		for _, ds := range []string{"kube-proxy", "aws-node", "node-exporter", "fluent-bit", "ebs-csi-node"}[:1+g.r.IntN(3)] {
			g.fire(symptomInfra, "", t0, spec{style: stKsmDeploy, name: ds, role: RoleInfra})
		}
	}
	f := fault{typ: Node, root: root, hits: hits, answers: []string{t.m(root).ip}}
	f.title = fmt.Sprintf("Worker node %s fails", root)
	f.note = fmt.Sprintf("Worker node %s (%s) failed; it hosted pods of %d workloads.", root, t.m(root).ip, len(workloads(root)))
	if !t.inEngine(root) {
		f.note += " Nodes are not in the graph file."
	}
	f.evidence = fmt.Sprintf("%d node alerts naming it; pods of %d workloads on it alerting", g.on(root), g.distinctAlerting(workloads(root)))
	return f, true
}

// dns: cluster DNS or its upstream resolver fails.
func (g *gen) dns(t0 time.Duration) (fault, bool) {
	t := g.t
	coredns, up := t.byRole(roleCoreDNS)[0], t.byRole(roleUpstream)[0]
	users := t.byRole(roleApp, roleAuth, roleGateway)
	outside := func(n string) []string {
		var hosts []string
		for _, d := range t.True.DependsOn(n) {
			if dm := t.m(d); dm.host != "" && (dm.role == roleExternal || (dm.role == roleStore && dm.managed)) {
				hosts = append(hosts, dm.host)
			}
		}
		return hosts
	}
	var external []string
	for _, u := range users {
		if len(outside(u)) > 0 {
			external = append(external, u)
		}
	}
	upstream := len(external) >= 3 && chance(g.r, 0.4)
	root, pool := coredns, users
	if upstream {
		root, pool = up, external
	}
	pool = slices.Clone(pool)
	g.r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	k := min(len(pool), 3+g.r.IntN(6))
	if k < 3 {
		return fault{}, false
	}
	var hits []hit
	for i, u := range pool[:k] {
		hosts := outside(u)
		if !upstream {
			for _, d := range t.True.DependsOn(u) {
				if dm := t.m(d); dm.host != "" && dm.role != roleCoreDNS && dm.role != roleUpstream && dm.role != roleWorker && dm.role != roleNTP && dm.role != roleCA {
					hosts = append(hosts, strings.Split(dm.host, ":")[0])
				}
			}
		}
		if len(hosts) == 0 {
			hosts = []string{"kubernetes.default.svc.cluster.local"}
		}
		host := pick(g.r, hosts)
		h := hit{node: u, via: root, hop: 1, at: t0 + dur(g.r, 10*time.Second, 2*time.Minute)}
		hits = append(hits, h)
		if i >= 3 && !chance(g.r, 0.8) {
			continue
		}
		var prov *provider
		for _, d := range t.True.DependsOn(u) {
			if dm := t.m(d); dm.prov != nil && dm.host == host {
				prov = dm.prov
			}
		}
		s := spec{subject: u, text: g.phrase(textDNS, ""), host: host, role: RoleSymptom, tags: []string{"text:dns"}}
		if prov != nil && chance(g.r, 0.5) {
			s.prov = prov
			g.fire(symptomExternal, "", h.at, s)
		} else {
			g.fire(symptomErrors, "", h.at, s)
		}
	}
	more := g.cascade(hits, 0.55, 0.5, 8)
	g.symptoms(more, nil, 0.8)
	hits = append(hits, more...)
	mode, role, p := "local", RoleCause, 0.4
	if upstream {
		mode, role, p = "fwd", RoleInfra, 0.35
	}
	if chance(g.r, p) {
		for k := 1 + g.r.IntN(2); k > 0; k-- {
			g.rootAlert(causeDNS, mode, t0, spec{subject: coredns, role: role})
		}
	} else {
		g.hard = append(g.hard, "DNS has no alert of its own")
	}
	f := fault{typ: DNS, root: root, hits: hits, answers: g.aliasAnswers(root)}
	if upstream {
		f.answers = append(f.answers, coredns)
		f.answers = append(f.answers, g.aliasAnswers(coredns)...)
		f.title = fmt.Sprintf("Upstream resolver %s stops answering; external names fail", root)
		f.note = fmt.Sprintf("The upstream resolver %s failed: names outside the cluster (providers, managed databases) stopped resolving through %s; %s is also an acceptable answer.", root, coredns, coredns)
	} else {
		f.title = fmt.Sprintf("Cluster DNS %s fails", root)
		f.note = fmt.Sprintf("Cluster DNS %s failed; services resolving names through %s fail.", root, t.resolver)
	}
	f.evidence = fmt.Sprintf("DNS failure text on %d services; %d alerts of CoreDNS itself", g.taggedSubjects("text:dns"), g.on(coredns))
	return f, true
}

// sharedInfra: a load balancer, egress proxy, NFS/EFS volume, NTP or
// internal CA fails; only its users show it.
func (g *gen) sharedInfra(t0 time.Duration) (fault, bool) {
	t := g.t
	var kinds []string
	for _, role := range []string{roleLB, roleProxy, roleStorage, roleNTP, roleCA} {
		if ns := t.byRole(role); len(ns) > 0 && (role == roleNTP || len(g.callers(ns[0])) >= 2 || role == roleCA) {
			kinds = append(kinds, role)
		}
	}
	role := pick(g.r, kinds)
	root := t.byRole(role)[0]
	x := &infraFailure{g: g, t0: t0, root: root, role: role, m: t.m(root),
		texts: map[string]phrases{roleLB: textLB, roleProxy: textProxy, roleStorage: textStorage, roleNTP: textNTP, roleCA: textCA}[role]}
	switch role {
	case roleLB, roleProxy, roleStorage:
		x.reach(g.callers(root), x.self, 0.85)
		opt := map[string]rules{roleLB: causeLB, roleProxy: causeProxy, roleStorage: causeStorage}[role]
		if chance(g.r, 0.3) {
			g.rootAlert(opt, "", t0, spec{subject: root, role: RoleCause})
		}
	case roleNTP:
		x.clockSkew()
	case roleCA:
		x.expiredCA()
	}
	if len(x.hits) < 2 {
		return fault{}, false
	}
	more := g.cascade(x.hits, 0.5, 0.5, 8)
	g.symptoms(more, nil, 0.8)
	m := x.m
	f := fault{typ: SharedInfra, root: root, hits: append(x.hits, more...), answers: g.aliasAnswers(root)}
	f.title = fmt.Sprintf("%s (%s) fails; only its users notice", root, m.kind)
	f.note = fmt.Sprintf("Shared %s %s failed; %d services using it report %s errors.", m.kind, root, g.alertingAmong(x.hits), m.kind)
	if !t.inEngine(root) {
		f.note += " It is not in the graph file."
	}
	f.evidence = fmt.Sprintf("%s failure text on %d services; %d alerts naming it", m.kind, g.taggedSubjects("text:"+role), g.naming(root))
	return f, true
}

// infraFailure is a shared-infrastructure fault being drawn.
type infraFailure struct {
	g          *gen
	t0         time.Duration
	root, role string
	m          *meta
	texts      phrases
	hits       []hit
}

func (x *infraFailure) self(string) string { return x.root }

// reach makes each user fail with probability p, through via(user), its
// alerts quoting the infrastructure's failure most of the time.
func (x *infraFailure) reach(users []string, via func(string) string, p float64) {
	g, t := x.g, x.g.t
	for _, u := range users {
		if !chance(g.r, p) {
			continue
		}
		h := hit{node: u, via: via(u), hop: 1, at: x.t0 + dur(g.r, 10*time.Second, 2*time.Minute)}
		x.hits = append(x.hits, h)
		s := spec{subject: h.node, host: x.m.host, dep: h.via, role: RoleSymptom}
		if chance(g.r, 0.85) {
			s.text, s.tags = g.phrase(x.texts, ""), []string{"text:" + x.role}
		}
		if x.role == roleProxy {
			for _, d := range t.True.DependsOn(u) {
				if dm := t.m(d); dm.prov != nil && chance(g.r, 0.6) {
					s.prov = dm.prov // the provider looks guilty
				}
			}
		}
		if s.prov != nil {
			g.fire(symptomExternal, "", h.at, s)
		} else {
			g.fire(symptomErrors, "", h.at, s)
		}
		if x.role == roleStorage && chance(g.r, 0.4) {
			g.fire(symptomPod, "", h.at, spec{subject: u, role: RoleSymptom})
		}
	}
}

// clockSkew: chrony on a few nodes loses its NTP source; services on them
// reject tokens and certificates, and the nodes may say so.
func (x *infraFailure) clockSkew() {
	g, t := x.g, x.g.t
	drifted := slices.Clone(t.workers)
	g.r.Shuffle(len(drifted), func(i, j int) { drifted[i], drifted[j] = drifted[j], drifted[i] })
	drifted = drifted[:min(len(drifted), 2+g.r.IntN(3))]
	var users []string
	for _, n := range t.byRole(roleApp, roleAuth, roleGateway) {
		for _, p := range t.m(n).pods {
			if slices.Contains(drifted, p.node) && !slices.Contains(users, n) {
				users = append(users, n)
			}
		}
	}
	x.reach(users, x.self, 0.65)
	for _, w := range drifted {
		if chance(g.r, 0.5) {
			g.rootAlert(causeNTP, "", x.t0, spec{subject: w, role: RoleInfra})
		}
	}
}

// expiredCA: the internal CA stops issuing; meshed services' certificates
// expire and their callers' TLS handshakes fail.
func (x *infraFailure) expiredCA() {
	g, t := x.g, x.g.t
	var servers []string
	for _, s := range t.True.Dependents(x.root) {
		if t.m(s).role == roleApp || t.m(s).role == roleGateway {
			servers = append(servers, s)
		}
	}
	seen := map[string]bool{}
	for _, srv := range servers {
		for _, c := range g.callers(srv) {
			if seen[c] || !chance(g.r, 0.7) {
				continue
			}
			seen[c] = true
			x.reach([]string{c}, func(string) string { return srv }, 1)
		}
	}
	if chance(g.r, 0.35) && len(servers) > 0 {
		srv := pick(g.r, servers)
		g.rootAlert(causeCA, "", x.t0-dur(g.r, 0, time.Hour), spec{subject: x.root, cert: srv + "-mtls", certNS: t.m(srv).ns, role: RoleCause})
	}
}
