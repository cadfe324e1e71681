package diagnosis

import (
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Hosts in error messages that nightowl cannot place by name: the address
// of infrastructure the graph knows by another name (found by who calls
// it), and the cluster DNS that a failed lookup of a cluster name points
// at.

// stranger notes that node's error message names host, which nightowl
// cannot place: not a node, alias or name learned from labels, and not a
// bare address.
func (v *rcaView) stranger(strangers map[string]*hits, r *Resolver, host, node string, a AlertState) {
	host = strings.ToLower(strings.TrimRight(host, ".:"))
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if _, ok := v.lookup(r, host); ok || net.ParseIP(host) != nil {
		return
	}
	h := strangers[host]
	if h == nil {
		h = &hits{}
		strangers[host] = h
	}
	h.add(a.Fingerprint, node, quoting(alertText(a), host))
}

// quoting is the part of a message that names host: from a little before
// it, so a card's evidence shows the error that quotes it.
// Hosts are found as written, in lower case (hostsIn), so the host is
// sought in the text as it is.
func quoting(text, host string) string {
	text = strings.Join(strings.Fields(text), " ")
	i := strings.Index(text, host)
	if i <= 40 {
		return text
	}
	start := i - 40
	for start < i && !utf8.RuneStart(text[start]) {
		start++
	}
	if sp := strings.IndexByte(text[start:i], ' '); sp >= 0 {
		start += sp + 1
	}
	return "…" + text[start:]
}

// placeStrangers: the errors of services name a host nightowl does not
// know. A public host is a third party's (a payment or maps API): the
// errors name it, by its provider's name, whether or not the graph file
// has it. Otherwise, when place finds the node it most likely is, they
// mention that node; a host nobody can place stays unknown.
func (v *rcaView) placeStrangers(r *Resolver, strangers map[string]*hits) {
	for _, host := range slices.Sorted(maps.Keys(strangers)) {
		h := strangers[host]
		n, ok := v.thirdParty(r, host, h.from)
		if !ok {
			if n, ok = v.place(h.from, ""); !ok {
				continue
			}
		}
		for from := range h.from {
			v.pointsAt(from, n)
			v.link(from, n)
		}
		if m := v.mention[n]; m != nil {
			maps.Copy(m.alerts, h.alerts)
			for f := range h.from {
				m.from[f] = true
			}
			continue
		}
		v.mention[n] = h
	}
}

// lookedUp finds the name a resolver error was about ("lookup NAME on
// 10.96.0.10:53", "lookup NAME: no such host").
var lookedUp = regexp.MustCompile(`(?i)\blookup ([a-z0-9][a-z0-9.-]*[a-z0-9])\.?(?: on |: )`)

// clusterLookup: the failed lookup was of a cluster's own name
// (svc.cluster.local): only the cluster's DNS answers those, never the
// resolver it forwards the rest to. text is the whole message: the name
// is the one after "lookup", else every host it names (getaddrinfo
// EAI_AGAIN NAME) when all of them are the cluster's.
func clusterLookup(text string) bool {
	own := func(name string) bool {
		if h, _, err := net.SplitHostPort(name); err == nil {
			name = h
		}
		_, rest, ok := strings.Cut(strings.ToLower(strings.TrimRight(name, ".")), ".")
		return ok && clusterLocal(rest) && !strings.HasSuffix(rest, ".internal")
	}
	if m := lookedUp.FindStringSubmatch(text); m != nil {
		return own(m[1])
	}
	hosts := hostsIn(text)
	for _, h := range hosts {
		if !own(h) {
			return false
		}
	}
	return len(hosts) > 0
}

// clusterDNS: a cluster's names are answered by the cluster's DNS, the
// first resolver of the chain. From the suspects (resolvers the service
// reaches in the graph, which may be only the upstream when its edge to
// the cluster DNS is missing) it climbs to the resolvers of the same kind
// that forward to them, and keeps the nearest.
//
// A graph file often leaves the cluster's DNS out and lists only the
// resolver it forwards to (Route 53's, the VPC's, an Unbound): that
// upstream never sees a cluster name, so it is not the suspect. Then the
// suspect is the cluster's DNS the file lacks, by the name nearly every
// cluster runs it under: coredns.
func (v *rcaView) clusterDNS(suspects []string, kinds []string) []string {
	all := slices.Clone(suspects)
	for _, t := range suspects {
		for _, u := range v.g.Upstream(t) {
			if !slices.Contains(all, u) && slices.Contains(kinds, strings.ToLower(v.kind(u))) {
				all = append(all, u)
			}
		}
	}
	near := v.nearest(all)
	for _, t := range near {
		if !upstreamResolver(t) || v.forwards(t, kinds) {
			return near
		}
	}
	if _, known := v.virtual[clusterDNSName]; !known && v.alerting[clusterDNSName] == nil && !v.g.Has(clusterDNSName) {
		v.virtual[clusterDNSName] = "dns"
	}
	return []string{clusterDNSName}
}

// clusterDNSName is the name Kubernetes distributions give the cluster's
// DNS deployment (its Service is kube-dns).
const clusterDNSName = "coredns"

// upstreamResolver: a DNS node whose name says it is a resolver a cluster
// forwards to (a cloud's VPC resolver, Route 53 Resolver, Unbound, BIND,
// dnsmasq, an appliance), not the cluster's own DNS.
func upstreamResolver(name string) bool {
	name = strings.ToLower(name)
	for _, w := range []string{"coredns", "kube-dns", "cluster-dns", "nodelocal", "node-local"} {
		if strings.Contains(name, w) {
			return false
		}
	}
	for _, w := range []string{"resolver", "upstream", "route53", "unbound", "vpc", "forwarder", "bind", "dnsmasq", "infoblox", "azure-dns", "cloud-dns"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// forwards reports whether a DNS node forwards to another in the graph:
// then it is the first of a chain, the cluster's.
func (v *rcaView) forwards(n string, kinds []string) bool {
	for _, d := range v.g.DependsOn(n) {
		if slices.Contains(kinds, strings.ToLower(v.kind(d))) {
			return true
		}
	}
	return false
}

// nearest keeps of the suspects those no other suspect depends on: the
// first of a chain (the cluster's DNS, not the upstream it forwards to).
func (v *rcaView) nearest(suspects []string) []string {
	var out []string
	for _, t := range suspects {
		upstream := false
		for _, u := range suspects {
			if u != t && v.g.DependsTransitively(u, t) {
				upstream = true
				break
			}
		}
		if !upstream {
			out = append(out, t)
		}
	}
	return out
}

// placeHosts: a host the errors name and nightowl cannot place is most
// likely the address of infrastructure the graph knows by another name
// (see place). Then it is that node, and what points at the host points at
// it.
func (v *rcaView) placeHosts() {
	for _, host := range slices.Sorted(maps.Keys(v.spoken)) {
		from := map[string]bool{}
		for _, m := range []map[string]*hits{v.sig, v.mention, v.named} {
			if h := m[host]; h != nil {
				maps.Copy(from, h.from)
			}
		}
		if n, ok := v.place(from, v.virtual[host]); ok {
			v.rename(host, n)
		}
	}
}

// place finds the node a host that the errors of the services in from name
// most likely is: the one quiet infrastructure or platform node (of kind,
// when known) that most of them (at least two, and two thirds) call
// directly, and which a third of its callers at least name so — not
// whatever every service uses (DNS, a cluster's nodes); between two that
// as many of them call, the one fewer others call.
func (v *rcaView) place(from map[string]bool, kind string) (string, bool) {
	if len(from) < 2 {
		return "", false
	}
	count := map[string]int{}
	for f := range from {
		for _, d := range v.g.DependsOn(f) {
			if v.alerting[d] == nil && v.g.Layer(d) <= graph.LayerPlatform && (kind == "" || strings.EqualFold(v.g.Kind(d), kind)) {
				count[d]++
			}
		}
	}
	best, n, share, tie := "", 0, 0.0, false
	for _, d := range slices.Sorted(maps.Keys(count)) {
		c, callers := count[d], len(v.g.Dependents(d))
		if 3*c < callers {
			continue
		}
		sh := float64(c) / float64(callers)
		switch {
		case c > n || c == n && sh > share:
			best, n, share, tie = d, c, sh, false
		case c == n && sh == share:
			tie = true
		}
	}
	if best == "" || tie || n < 2 || 3*n < 2*len(from) {
		return "", false
	}
	return best, true
}

// rename makes what the view learned about the name from to be about the
// node to.
func (v *rcaView) rename(from, to string) {
	for _, m := range []map[string]*hits{v.sig, v.mention, v.named} {
		h := m[from]
		if h == nil {
			continue
		}
		delete(m, from)
		if into := m[to]; into != nil {
			maps.Copy(into.alerts, h.alerts)
			for f, specific := range h.from {
				into.from[f] = into.from[f] || specific
			}
			continue
		}
		m[to] = h
	}
	if w, ok := v.sigWhat[from]; ok {
		if v.sigWhat[to] == "" {
			v.sigWhat[to] = w
		}
		delete(v.sigWhat, from)
	}
	for _, targets := range v.words {
		if targets[from] {
			delete(targets, from)
			targets[to] = true
		}
	}
	users := v.vusers[from]
	delete(v.vusers, from)
	delete(v.users, from)
	for _, u := range users {
		v.link(u, to)
	}
	for ip, n := range v.ipNames {
		if n == from {
			v.ipNames[ip] = to
		}
	}
	delete(v.virtual, from)
	delete(v.spoken, from)
}

// thirdParty names the third party behind a public host the services'
// errors quote: the graph's external node of that provider's name, in
// another spelling if need be (api.postmarkapp.com is postmark), or, when
// the graph has none and the services call no third party it knows, a
// provider of its own that the graph file lacks.
func (v *rcaView) thirdParty(r *Resolver, host string, from map[string]bool) (string, bool) {
	name, ok := providerName(host)
	if !ok {
		return "", false
	}
	if n, known, ambiguous := r.thirdParty(name); known || ambiguous {
		return n, known
	}
	// A provider the graph file lacks that the incident already knows by
	// another spelling (a status page's statuspage="google-maps").
	var like []string
	for _, x := range slices.Sorted(maps.Keys(v.virtual)) {
		if thirdPartyKind(v.virtual[x]) && spelledAlike(name, x) {
			like = append(like, x)
		}
	}
	switch {
	case len(like) == 1:
		return like[0], true
	case len(like) > 1:
		return "", false
	}
	for f := range from {
		for _, d := range v.g.DependsOn(f) {
			if thirdPartyKind(v.g.Kind(d)) {
				return "", false // it may be that one, by a name the file does not give
			}
		}
		for x, users := range v.vusers {
			if thirdPartyKind(v.kind(x)) && slices.Contains(users, f) {
				return "", false // an alert's label names the third party it calls
			}
		}
	}
	if _, seen := v.virtual[name]; !seen && v.alerting[name] == nil {
		v.virtual[name] = "external"
	}
	return name, true
}

// publicLookups: a failed lookup of a public name may be the cluster's DNS
// or the resolver it forwards to; but when lookups of the cluster's own
// names fail in the same storm, every lookup goes through the cluster's
// DNS and that is where the public ones fail too (an upstream resolver
// never sees a cluster name). Alone, they point where the graph says.
func (v *rcaView) publicLookups(public []deferredHit, clusterDNS []string) {
	slices.Sort(clusterDNS)
	clusterDNS = slices.Compact(clusterDNS)
	for _, h := range public {
		targets := h.targets
		if len(clusterDNS) > 0 && v.behind(targets, clusterDNS) {
			targets = clusterDNS
		}
		for _, target := range targets {
			v.signatureHit(h.node, target, h.a, h.m)
		}
	}
}

// behind reports whether every target is a resolver the cluster's DNS
// forwards to (by the graph, or by its name when the graph does not say),
// or the cluster's DNS itself.
func (v *rcaView) behind(targets, clusterDNS []string) bool {
	for _, t := range targets {
		if slices.Contains(clusterDNS, t) {
			continue
		}
		forwarded := upstreamResolver(t)
		for _, c := range clusterDNS {
			forwarded = forwarded || v.g.DependsTransitively(c, t)
		}
		if !forwarded {
			return false
		}
	}
	return true
}
