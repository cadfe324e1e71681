package synth

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// The true estate: nodes, their names and addresses, and who calls whom.

func (b *topoBuilder) build(n int) {
	t := b.t
	workers := clamp(n/12, 2, 40)
	externals := clamp(2+n/60, 2, 8)
	infra := 5
	if n >= 40 {
		infra = 7
	}
	fixed := infra + 2 + externals + workers // + auth hub + shared database
	edges := 1 + boolInt(n > 200)
	gateways := 1 + boolInt(n > 150)
	rest := max(n-fixed-edges-gateways, 6)
	stores := max(2, int(math.Round(float64(rest)*0.25)))
	apps := rest - stores

	b.workers(workers)
	b.infra(n >= 40)
	b.externals(externals)
	nss := b.namespaces(apps)
	b.apps(nss, apps)
	b.stores(nss, stores-1)
	b.edge(edges, gateways)
	b.wire()
	b.place()
	var nodes []graph.Node
	for _, name := range t.order {
		m := t.meta[name]
		nodes = append(nodes, graph.Node{Name: name, Kind: m.kind, Team: m.team, DependsOn: slices.Sorted(slices.Values(b.deps[name])), Aliases: m.aliases})
	}
	g, err := graph.New(nodes)
	if err != nil {
		panic("synth: true graph: " + err.Error())
	}
	t.True = g
}

func (b *topoBuilder) workers(n int) {
	r, s := b.r, &b.t.style
	octet := pick(r, []int{0, 1, 20, 42, 64})
	pool := pick(r, []string{"default", "general", "apps", "workers"})
	vmss := 10000000 + r.IntN(89999999)
	gke := randString(r, hexAlphabet, 8)
	ips := map[string]bool{}
	for i := 0; len(b.t.workers) < n && i < 10*n; i++ {
		var name, ip string
		var aliases []string
		switch s.cloud {
		case "aws":
			c, d := 1+r.IntN(6), 2+r.IntN(252)
			ip = fmt.Sprintf("10.%d.%d.%d", octet, c, d)
			name = fmt.Sprintf("ip-10-%d-%d-%d.%s.compute.internal", octet, c, d, s.region)
			aliases = []string{ip, "i-0" + randString(r, hexAlphabet, 16)}
		case "gcp":
			ip = fmt.Sprintf("10.128.0.%d", 2+r.IntN(252))
			name = fmt.Sprintf("gke-%s-%s-%s-%s", b.t.Cluster, pool, gke, randString(r, "abcdefghijklmnopqrstuvwxyz0123456789", 4))
			aliases = []string{ip}
		default:
			ip = fmt.Sprintf("10.224.0.%d", 4+r.IntN(250))
			name = fmt.Sprintf("aks-%s-%08d-vmss%06d", pool, vmss, len(b.t.workers))
			aliases = []string{ip}
		}
		if b.names[name] || ips[ip] {
			continue
		}
		ips[ip] = true
		m := b.add(&meta{name: name, kind: "node", role: roleWorker, team: "platform", ip: ip, aliases: aliases})
		b.t.workers = append(b.t.workers, m.name)
	}
}

func (b *topoBuilder) infra(full bool) {
	r := b.r
	add := func(pool []infra, kind, role string) *meta {
		x := pool[r.IntN(len(pool))]
		return b.add(&meta{name: x.name, kind: kind, role: role, team: "platform", host: x.host, aliases: slices.Clone(x.aliases), managed: role != roleCoreDNS && role != roleProxy})
	}
	dns := add(coreDNSes, "dns", roleCoreDNS)
	dns.ns = "kube-system"
	b.t.resolver = dns.host
	add(upstreamDNSes, "dns", roleUpstream)
	p := add(proxies, "proxy", roleProxy)
	p.ns = strings.Split(p.host+".x.x", ".")[1]
	add(ntps, "ntp", roleNTP)
	add(cas, "ca", roleCA)
	if full {
		add(loadBalancers, "loadbalancer", roleLB)
		add(storages, "storage", roleStorage)
	}
}

func (b *topoBuilder) externals(n int) {
	r := b.r
	for _, i := range r.Perm(len(providers))[:n] {
		p := providers[i]
		b.add(&meta{name: p.name, kind: "external", role: roleExternal, tech: p.category, host: p.host, managed: true, prov: &providers[i], aliases: uniq([]string{p.label, p.host}, p.name), team: "platform"})
	}
}

func (b *topoBuilder) namespaces(apps int) []theme {
	k := clamp(apps/8, 1, len(themes))
	if apps >= 8 {
		k = max(k, 2)
	}
	var out []theme
	for _, i := range b.r.Perm(len(themes))[:k] {
		out = append(out, themes[i])
	}
	return out
}

func (b *topoBuilder) apps(nss []theme, n int) {
	r := b.r
	for i := 0; i < n; i++ {
		th := nss[i%len(nss)]
		var name, noun string
		for try := 0; try < 12 && (name == "" || b.names[name]); try++ {
			noun, name = pick(r, th.nouns), ""
			if s := pick(r, appSuffixes); s != "" {
				name = "-" + s
			}
			name = noun + name
		}
		if b.names[name] {
			name = th.ns + "-" + name
		}
		m := b.add(&meta{name: name, kind: "service", role: roleApp, ns: th.ns, team: pick(r, th.teams), domain: camel(noun)})
		m.host = m.name + "." + th.ns + ".svc.cluster.local"
	}
	// Tiers: a quarter of each namespace's services are entry points, the
	// rest sit one to three tiers below.
	for _, th := range nss {
		var in []*meta
		for _, name := range b.t.order {
			if m := b.t.meta[name]; m.role == roleApp && m.ns == th.ns {
				in = append(in, m)
			}
		}
		entries := max(1, (len(in)+3)/4)
		for i, m := range in {
			if i >= entries {
				m.tier = pickWeighted(r, []int{1, 2, 3}, []float64{0.45, 0.35, 0.2})
			}
		}
	}
}

func (b *topoBuilder) stores(nss []theme, n int) {
	r := b.r
	shared := b.add(&meta{name: pick(r, sharedDBs), kind: "database", role: roleStore, tech: "postgres", ns: "platform", team: "platform", domain: "Core"})
	b.storeHost(shared)
	var techs []string
	if n >= 4 && chance(r, 0.7) {
		techs = append(techs, "kafka")
	}
	if n >= 5 && chance(r, 0.5) {
		techs = append(techs, "rabbitmq")
	}
	if n >= 5 && chance(r, 0.5) {
		techs = append(techs, "elasticsearch")
	}
	for len(techs) < n {
		techs = append(techs, pick(r, []string{"postgres", "postgres", "mysql", "redis", "redis"}))
	}
	for i, tech := range techs {
		th := nss[i%len(nss)]
		st := storeTechs[tech]
		noun := pick(r, th.nouns)
		name := strings.NewReplacer("{noun}", noun, "{ns}", th.ns).Replace(pick(r, st.names))
		m := b.add(&meta{name: name, kind: st.kind, role: roleStore, tech: tech, ns: th.ns, team: pick(r, th.teams), domain: camel(noun)})
		b.storeHost(m)
	}
}

// storeHost decides whether a datastore is managed (RDS, ElastiCache, MSK,
// OpenSearch Service) or a StatefulSet, and the address clients use.
func (b *topoBuilder) storeHost(m *meta) {
	r, s := b.r, b.t.style
	p := map[string]float64{"postgres": 0.5, "mysql": 0.5, "redis": 0.35, "kafka": 0.4, "elasticsearch": 0.4, "rabbitmq": 0.2}[m.tech]
	if s.cloud != "aws" {
		p /= 2
	}
	m.managed = chance(r, p)
	m.sts = !m.managed
	h := randString(r, "abcdefghijklmnopqrstuvwxyz0123456789", 12)
	switch {
	case !m.managed:
		m.host = m.name + "." + m.ns + ".svc.cluster.local"
	case m.tech == "postgres" || m.tech == "mysql":
		m.host = fmt.Sprintf("%s.%s.%s.rds.amazonaws.com", m.name, h, s.region)
	case m.tech == "redis":
		m.host = fmt.Sprintf("%s.%s.ng.0001.cache.amazonaws.com", m.name, h[:6])
	case m.tech == "kafka":
		m.host = fmt.Sprintf("b-1.%s.%s.c3.kafka.%s.amazonaws.com", m.name, h[:6], s.region)
	case m.tech == "elasticsearch":
		m.host = fmt.Sprintf("vpc-%s-%s.%s.es.amazonaws.com", m.name, h, s.region)
	default:
		m.host = fmt.Sprintf("%s.mq.%s.amazonaws.com", m.name, s.region)
	}
	if m.managed {
		m.aliases = append(m.aliases, m.host)
	}
}

func (b *topoBuilder) edge(ingresses, gateways int) {
	r := b.r
	for i := 0; i < ingresses; i++ {
		b.add(&meta{name: pick(r, ingressNames), kind: "ingress", role: roleIngress, ns: "ingress", team: "platform"})
	}
	for i := 0; i < gateways; i++ {
		g := b.add(&meta{name: pick(r, gatewayNames), kind: "gateway", role: roleGateway, ns: "edge", team: "platform", domain: "Gateway"})
		g.host = g.name + ".edge.svc.cluster.local"
	}
	a := b.add(&meta{name: pick(r, authNames), kind: "service", role: roleAuth, ns: "identity", team: "identity", domain: "Auth"})
	a.host = a.name + ".identity.svc.cluster.local"
}

// wire adds the true dependencies.
func (b *topoBuilder) wire() {
	r, t := b.r, b.t
	apps := t.byRole(roleApp)
	gws, ings := t.byRole(roleGateway), t.byRole(roleIngress)
	auth := t.byRole(roleAuth)[0]
	for i, in := range ings {
		for j, gw := range gws {
			if i == 0 || j == len(gws)-1 {
				b.dep(in, gw, 1)
			}
		}
	}
	for _, a := range apps {
		m := t.m(a)
		if m.tier == 0 {
			gw := gws[r.IntN(len(gws))]
			b.dep(gw, a, 1)
			if len(ings) > 1 && chance(r, 0.3) {
				b.dep(ings[1], a, 1)
			}
			if chance(r, 0.8) {
				b.dep(a, auth, 1)
			}
		} else if chance(r, 0.2) {
			b.dep(a, auth, 0.6)
		}
	}
	for _, gw := range gws {
		b.dep(gw, auth, 1)
	}
	// Services call services of a lower tier, mostly in their namespace.
	for _, a := range apps {
		m := t.m(a)
		var same, other []string
		for _, x := range apps {
			if t.m(x).tier > m.tier {
				if t.m(x).ns == m.ns {
					same = append(same, x)
				} else {
					other = append(other, x)
				}
			}
		}
		for k := 1 + r.IntN(3); k > 0; k-- {
			pool := same
			if len(pool) == 0 || (len(other) > 0 && chance(r, 0.15)) {
				pool = other
			}
			if len(pool) > 0 {
				b.dep(a, pick(r, pool), b.weight())
			}
		}
	}
	b.wireStores(apps)
	b.wireExternals(apps)
	b.wireInfra(apps)
}

func (b *topoBuilder) wireStores(apps []string) {
	r, t := b.r, b.t
	var shared string
	byNS := map[string][]string{}
	var queues []string
	for _, s := range t.byRole(roleStore) {
		m := t.m(s)
		switch {
		case shared == "":
			shared = s
		case m.tech == "kafka" || m.tech == "rabbitmq":
			queues = append(queues, s)
		default:
			byNS[m.ns] = append(byNS[m.ns], s)
		}
	}
	for _, a := range apps {
		m := t.m(a)
		own := byNS[m.ns]
		if len(own) > 0 && chance(r, 0.8) {
			b.dep(a, pick(r, own), 1)
			if len(own) > 1 && chance(r, 0.35) {
				b.dep(a, pick(r, own), b.weight())
			}
		}
		if chance(r, 0.12) || (len(own) == 0 && chance(r, 0.5)) {
			b.dep(a, shared, b.weight())
		}
		for _, q := range queues {
			switch x := r.Float64(); {
			case x < 0.2:
				b.dep(a, q, 1) // producer
			case x < 0.32:
				b.dep(a, q, 1) // consumer
				m.consumes = q
			}
		}
	}
	// A store nobody calls still has its one client.
	for _, s := range t.byRole(roleStore) {
		if len(b.users(s)) == 0 {
			b.dep(pick(r, apps), s, 1)
		}
	}
}

func (b *topoBuilder) users(name string) []string {
	var out []string
	for _, from := range b.t.order {
		if slices.Contains(b.deps[from], name) {
			out = append(out, from)
		}
	}
	return out
}

func (b *topoBuilder) wireExternals(apps []string) {
	r, t := b.r, b.t
	for _, e := range t.byRole(roleExternal) {
		var fit []string
		for _, a := range apps {
			if slices.Contains(providerThemes[t.m(e).tech], t.m(a).ns) {
				fit = append(fit, a)
			}
		}
		if len(fit) == 0 {
			fit = apps
		}
		for k := 1 + r.IntN(3); k > 0; k-- {
			b.dep(pick(r, fit), e, pickWeighted(r, []float64{1, 0.6}, []float64{0.7, 0.3}))
		}
	}
}

func (b *topoBuilder) wireInfra(apps []string) {
	r, t := b.r, b.t
	dns := t.byRole(roleCoreDNS)[0]
	up := t.byRole(roleUpstream)[0]
	proxy := t.byRole(roleProxy)[0]
	b.dep(dns, up, 1)
	b.dep(proxy, dns, 1)
	for _, a := range append(slices.Clone(apps), append(t.byRole(roleGateway), t.byRole(roleAuth)...)...) {
		b.dep(a, dns, 1)
		for _, d := range b.deps[a] {
			if t.m(d).role == roleExternal {
				b.dep(a, proxy, 1)
			}
		}
	}
	// Meshed namespaces get their workload certificates from the internal CA.
	ca := t.byRole(roleCA)[0]
	var nss []string
	for _, a := range apps {
		if !slices.Contains(nss, t.m(a).ns) {
			nss = append(nss, t.m(a).ns)
		}
	}
	meshed := nss[:1+r.IntN(min(3, len(nss)))]
	for _, a := range apps {
		if slices.Contains(meshed, t.m(a).ns) {
			b.dep(a, ca, 0.6)
		}
	}
	for _, g := range t.byRole(roleGateway) {
		b.dep(g, ca, 0.6)
	}
	for _, w := range t.workers {
		b.dep(w, t.byRole(roleNTP)[0], 1)
	}
	if lbs := t.byRole(roleLB); len(lbs) > 0 {
		// A service in another VPC or behind a legacy LB: some callers reach it through the LB.
		var targets []string
		for _, a := range apps {
			if t.m(a).tier >= 1 {
				targets = append(targets, a)
			}
		}
		if len(targets) > 0 {
			target := pick(r, targets)
			b.dep(lbs[0], target, 1)
			var callers []string
			for _, a := range apps {
				if t.m(a).tier < t.m(target).tier {
					callers = append(callers, a)
				}
			}
			r.Shuffle(len(callers), func(i, j int) { callers[i], callers[j] = callers[j], callers[i] })
			for _, c := range callers[:min(len(callers), 2+r.IntN(3))] {
				b.dep(c, lbs[0], 1)
			}
		}
	}
	if sts := t.byRole(roleStorage); len(sts) > 0 {
		var fit []string
		for _, a := range apps {
			if containsAny(a, "media", "upload", "asset", "report", "export", "pdf", "file", "thumbnail", "transcode", "image", "label", "manifest") {
				fit = append(fit, a)
			}
		}
		for len(fit) < 2 {
			fit = append(fit, pick(r, apps))
		}
		for _, a := range fit[:min(len(fit), 2+r.IntN(3))] {
			b.dep(a, sts[0], 1)
		}
	}
}

// place schedules the pods of every in-cluster workload on worker nodes.
func (b *topoBuilder) place() {
	r, t := b.r, b.t
	t.hosted = map[string][]string{}
	for _, name := range t.order {
		m := t.m(name)
		var replicas int
		switch {
		case m.role == roleApp || m.role == roleGateway || m.role == roleAuth:
			replicas = pickWeighted(r, []int{1, 2, 3, 4}, []float64{0.15, 0.35, 0.35, 0.15})
		case m.role == roleStore && m.sts:
			replicas = pickWeighted(r, []int{1, 2, 3}, []float64{0.35, 0.25, 0.4})
		case m.role == roleCoreDNS || m.role == roleProxy:
			replicas = 2
			m.sts = false
		default:
			continue
		}
		hash := rsHash(r)
		for i := 0; i < replicas; i++ {
			w := t.workers[r.IntN(len(t.workers))]
			p := pod{node: w, ip: podIP(r, t.m(w).ip)}
			if m.sts {
				p.name = fmt.Sprintf("%s-%d", name, i)
			} else {
				p.name = name + "-" + hash + "-" + podSuffix(r)
			}
			m.pods = append(m.pods, p)
			b.dep(name, w, 1)
			if m.role != roleCoreDNS && m.role != roleProxy && !slices.Contains(t.hosted[w], name) {
				t.hosted[w] = append(t.hosted[w], name)
			}
		}
	}
}
