package diagnosis

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// What the model learns from an incident's labels and words besides each
// alert's subject: the names alerts carry in callee and placement labels,
// error signatures that point at a kind of node or name the failing thing,
// and mentions of other nodes; and how much an alert's words let a
// candidate explain it.

// learn reads what the alerts name besides their subjects: callee and
// placement labels, error signatures and mentions in their text.
func (v *rcaView) learn(r *Resolver) {
	for _, node := range v.order {
		for _, a := range v.alerting[node].alerts {
			for _, n := range r.Named(a.Alert, node) {
				if k := hostKey(n.Node); k != "" && !n.InGraph {
					if canon, ok := v.ipNames[k]; ok {
						n.Node = canon
					} else {
						v.ipNames[k] = n.Node
					}
				}
				if n.Node == node {
					continue
				}
				if !n.InGraph && v.alerting[n.Node] == nil {
					if _, ok := v.virtual[n.Node]; !ok {
						v.virtual[n.Node] = n.Kind
					}
				}
				v.link(node, n.Node)
				// An alert that reports its own subject broken (a pool
				// exhausted, a crash) blames the subject, not what it calls.
				if r := roleOf(a.Alert); n.Callee && r != roleCause && r != roleCrash {
					h := v.named[n.Node]
					if h == nil {
						h = &hits{}
						v.named[n.Node] = h
					}
					h.add(a.Fingerprint, node, fmt.Sprintf("%s=%s on %s", n.Label, n.Value, a.Name()))
				}
			}
		}
	}
	v.readText(r)
	v.placeHosts()
}

// readText finds error signatures and mentions of other nodes in the
// alerts' summaries and descriptions.
func (v *rcaView) readText(r *Resolver) {
	read := map[string]textRead{}   // storms repeat their messages: read each once
	strangers := map[string]*hits{} // hosts nightowl cannot place, named in errors
	var public []deferredHit        // failed lookups of names outside the cluster
	var unplaced []deferredHit      // shared infrastructure's words with no node of its kind yet
	var clusterDNS []string         // where failed lookups of cluster names point
	for _, node := range v.order {
		for _, a := range v.alerting[node].alerts {
			text := alertText(a)
			if text == "" {
				continue
			}
			t, ok := read[text]
			if !ok {
				t = readMessage(text, v.on(sigSignature))
				read[text] = t
			}
			if t.erred && !v.namesUnknown(r, t.hosts) {
				v.erred[node] = true // an error that names nothing nightowl does not know
			}
			for _, m := range t.sigs {
				if m.sig.self {
					if !v.namesAnother(r, t.words, node) {
						v.signatureHit(node, node, a, m)
					}
					continue
				}
				targets := v.suspectsOfKind(node, m.sig)
				if m.sig.behind {
					targets = v.servedBy(targets)
				}
				if m.sig.path {
					for _, target := range targets {
						v.signatureHit(node, target, a, m)
					}
					continue
				}
				if len(targets) == 0 && m.who != "" {
					targets = v.culprit(r, m.who, m.sig.kinds[0])
				}
				if len(targets) == 0 {
					targets = v.unknownHost(r, m.hosts, m.sig.kinds[0])
				}
				if len(targets) == 0 && m.sig.shared && !m.sig.victims {
					// Another message may yet name the shared thing (the
					// time server, the issuer): decide when all are read.
					unplaced = append(unplaced, deferredHit{node, a, m, nil})
					continue
				}
				if len(targets) == 0 && !m.sig.victims && !m.sig.byTech {
					targets = []string{node} // its own error: a cause it reports itself
				}
				if m.sig.victims && clusterLookup(text) {
					targets = v.clusterDNS(targets, m.sig.kinds)
					clusterDNS = append(clusterDNS, targets...)
				} else if m.sig.victims {
					public = append(public, deferredHit{node, a, m, targets})
					continue
				}
				for _, target := range targets {
					v.signatureHit(node, target, a, m)
				}
			}
			if t.erred && len(t.sigs) == 0 {
				for _, h := range t.hosts {
					v.stranger(strangers, r, h, node, a)
				}
			}
			if t.shared {
				continue // a message about shared infrastructure names its victims, not the culprit
			}
			for _, w := range t.words {
				n, ok := v.lookup(r, w)
				if !ok || n == node {
					continue
				}
				v.pointsAt(node, n)
				h := v.mention[n]
				if h == nil {
					h = &hits{}
					v.mention[n] = h
				}
				h.addNamed(a.Fingerprint, node, strings.Join(strings.Fields(a.Summary()), " "), specificName(w))
				v.link(node, n)
			}
		}
	}
	v.placeStrangers(r, strangers)
	v.publicLookups(public, clusterDNS)
	v.sharedWords(unplaced)
}

// sharedWords places the words of shared infrastructure that found no node
// of its kind while the messages were read: at the one another message
// named (pool.ntp.org, an issuer), else on the service that logged them, as
// a cause it reports itself. The order the messages are read in does not
// decide.
func (v *rcaView) sharedWords(unplaced []deferredHit) {
	for _, h := range unplaced {
		targets := v.suspectsOfKind(h.node, h.m.sig)
		if len(targets) == 0 {
			targets = []string{h.node}
		}
		for _, target := range targets {
			v.signatureHit(h.node, target, h.a, h.m)
		}
	}
}

// deferredHit is a message whose target waits until every message is read:
// a failed lookup of a name outside the cluster and the resolvers it
// points at, or shared infrastructure's words that named no node yet.
type deferredHit struct {
	node    string
	a       AlertState
	m       sigMatch
	targets []string
}

// runs reports whether a node's name or kind says it runs one of the
// technologies.
func runs(tech []string, name, kind string) bool {
	name, kind = strings.ToLower(name), strings.ToLower(kind)
	for _, t := range tech {
		if strings.Contains(name, t) || strings.Contains(kind, t) {
			return true
		}
	}
	return false
}

// ranBy reports whether node n, of the given kind, runs the technology of
// a byTech signature: its name or kind says it, and its kind, when the
// graph gives one of another family, does not say otherwise (auth-db is a
// database, not the identity provider).
func ranBy(sig signature, n, kind string) bool {
	if !runs(sig.tech, n, kind) {
		return false
	}
	k := strings.ToLower(kind)
	return k == "" || graph.KindLayer(k) == graph.LayerApplication || slices.Contains(sig.kinds, k) || runs(sig.tech, "", k)
}

// namesAnother reports whether any of a message's words names a node
// other than node: a defect reported there may be that node's.
func (v *rcaView) namesAnother(r *Resolver, words []string, node string) bool {
	for _, w := range words {
		if n, ok := v.lookup(r, w); ok && n != node {
			return true
		}
	}
	return false
}

// signatureHit records that alert a on node carries a message of
// signature m that points at target (node itself for its own trouble).
func (v *rcaView) signatureHit(node, target string, a AlertState, m sigMatch) {
	v.pointsAt(node, target)
	h := v.sig[target]
	if h == nil {
		h = &hits{}
		v.sig[target] = h
		v.sigWhat[target] = m.sig.what + " (" + strings.TrimSpace(m.text) + ")"
	}
	h.add(a.Fingerprint, node, "")
	v.link(node, target)
}

// specificName: a host name (a dot), a compound name (a dash) or one with
// digits names one thing; a bare word (kafka, redis, emqx) may name the
// technology a client alert is about rather than the node.
func specificName(w string) bool {
	return strings.ContainsAny(w, ".-_:0123456789")
}

// genericMention is what a bare-word mention counts for, against a
// specific one.
const genericMention = 0.3

// textRead is what one message says, read once per storm.
type textRead struct {
	sigs   []sigMatch
	words  []string // words that may name nodes, outside the signatures' matches
	hosts  []string // host names anywhere in it
	erred  bool     // it quotes an error of some kind
	shared bool     // a signature of shared infrastructure matched
}

type sigMatch struct {
	sig   signature
	text  string   // what matched
	who   string   // the failing thing the message names, if it does
	hosts []string // else, for shared infrastructure, the hosts it names
}

func readMessage(text string, withSignatures bool) textRead {
	var t textRead
	text = kubeObject.ReplaceAllString(text, " ") // pods.metrics.k8s.io is no host
	lower := strings.ToLower(text)
	t.erred = errorText.MatchString(text)
	for _, sig := range signatures {
		if !withSignatures {
			break
		}
		m := sig.matches(lower, text)
		if m == "" {
			continue
		}
		sm := sigMatch{sig: sig, text: m}
		if sig.who != nil {
			if w := sig.who.FindStringSubmatch(text); w != nil {
				for _, g := range w[1:] {
					if g != "" {
						sm.who = g
						break
					}
				}
			}
		}
		if sm.who == "" && sig.shared && !sig.victims && !sig.path {
			sm.hosts = hostsIn(text)
		}
		t.sigs = append(t.sigs, sm)
		t.shared = t.shared || sig.shared && !sig.path
		text = sig.re.ReplaceAllString(text, " ") // a name inside a DNS error is not the culprit
	}
	text = failoverTarget.ReplaceAllString(text, " ") // where the traffic went is the healthy peer
	t.words = nodeWord.FindAllString(text, -1)
	t.hosts = hostsIn(text)
	return t
}

// namesUnknown reports whether any of the hosts is one nightowl cannot
// place: it may be another name of anything.
func (v *rcaView) namesUnknown(r *Resolver, hosts []string) bool {
	for _, h := range hosts {
		if _, ok := v.lookup(r, h); !ok {
			return true
		}
	}
	return false
}

// unknownHost: a message about shared infrastructure the graph does not
// know names its victims (services nightowl knows) and, often, the
// infrastructure itself: the first host it names that nightowl does not
// know.
func (v *rcaView) unknownHost(r *Resolver, hosts []string, kind string) []string {
	for _, h := range hosts {
		if _, ok := v.lookup(r, h); ok {
			continue
		}
		if net.ParseIP(strings.Split(h, ":")[0]) != nil {
			continue // an address without a name: a pod or a peer, seldom the culprit
		}
		return v.culprit(r, h, kind)
	}
	return nil
}

// culprit is the node a message names as the failing thing: a graph node or
// alias, or else a name nightowl learns, of the message's kind.
func (v *rcaView) culprit(r *Resolver, who, kind string) []string {
	who = strings.ToLower(strings.TrimRight(who, ".:"))
	if h, _, err := net.SplitHostPort(who); err == nil {
		who = h
	}
	if n, ok := v.lookup(r, who); ok {
		return []string{n}
	}
	if first, rest, ok := strings.Cut(who, "."); ok && net.ParseIP(who) == nil {
		if n, ok := v.lookup(r, first); ok {
			return []string{n}
		}
		if strings.ContainsAny(first, "-0123456789") || kubeService(rest) && len(first) >= 3 && !genericWords[first] {
			// A host's own name: cert-manager.cert-manager.svc is
			// cert-manager, nfs01.storage.internal nfs01, and a Kubernetes
			// service's is its first label (vault.vault.svc is vault).
			who = first
		}
	}
	if who == "" {
		return nil
	}
	if _, ok := v.virtual[who]; !ok {
		v.virtual[who] = kind
		v.spoken[who] = true
	}
	return []string{who}
}

func (v *rcaView) pointsAt(from, to string) {
	if v.words[from] == nil {
		v.words[from] = map[string]bool{}
	}
	v.words[from][to] = true
}

// worded is how much a candidate can explain the alerts on n given what
// their words say: when n's error messages point at other nodes or at n
// itself (its own code, its own permissions), and at nothing on the way
// down to the candidate, the candidate explains it poorly (a DNS failure
// shows up as DNS errors, not as a database's; a panic is not a timeout).
func (v *rcaView) worded(c *rcaCand, n string) float64 {
	t := v.words[n]
	if t[c.node] || !v.on(sigSignature) {
		return 1
	}
	if len(t) == 0 {
		// Shared infrastructure speaks through its users' errors: an
		// error message that does not name it speaks against it.
		if v.erred[n] && sharedKind(v.kind(c.node)) {
			return v.p.Elsewhere
		}
		return 1
	}
	for x := range t {
		if x == n {
			continue // its own code, its own permissions: nothing below it says so
		}
		if v.g.DependsTransitively(x, c.node) || slices.Contains(v.vusers[c.node], x) {
			return 1
		}
	}
	return v.p.Elsewhere
}

// clusterLocal reports whether a host name's tail is a cluster's or a
// private zone's: svc, <ns>.svc, svc.cluster.local, *.internal.
func clusterLocal(rest string) bool {
	return rest == "svc" || strings.HasPrefix(rest, "svc.") || strings.Contains(rest, ".svc") ||
		strings.HasSuffix(rest, ".local") || strings.HasSuffix(rest, ".internal")
}

// kubeService reports whether a host name's tail is a Kubernetes
// service's: <ns>.svc, <ns>.svc.cluster.local.
func kubeService(tail string) bool {
	_, zone, ok := strings.Cut(tail, ".")
	return ok && (zone == "svc" || strings.HasPrefix(zone, "svc."))
}

// lookup finds the node a word of text names: a graph node or alias, or a
// name learned from alert labels.
func (v *rcaView) lookup(r *Resolver, w string) (string, bool) {
	w = strings.ToLower(strings.TrimRight(w, ".:"))
	if genericWords[w] {
		return "", false // "api error AccessDenied" names no service called api
	}
	if n, ok := r.lookup(w); ok {
		return n, true
	}
	// A cluster-local or internal host name names its first label:
	// billing.payments.svc.cluster.local is billing.
	if first, rest, ok := strings.Cut(w, "."); ok && len(first) >= 3 && !genericWords[first] && clusterLocal(rest) {
		if n, ok := r.lookup(first); ok {
			return n, true
		}
	}
	// A public host name names its domain: id.okta.com is okta,
	// api-m.paypal.com paypal.
	if labels := strings.Split(w, "."); len(labels) >= 3 && !clusterLocal(strings.Join(labels[1:], ".")) {
		if d := labels[len(labels)-2]; len(d) >= 3 && !genericWords[d] {
			if n, ok := r.lookup(d); ok {
				return n, true
			}
		}
	}
	if _, ok := v.virtual[w]; ok {
		return w, true
	}
	if _, ok := v.alerting[w]; ok {
		return w, true
	}
	if n, ok := v.ipNames[w]; ok {
		return n, true
	}
	return "", false
}

// suspectsOfKind lists the nodes of the signature's kinds that node
// depends on, transitively; else those learned from alert labels
// (Kubernetes nodes the graph does not know); else, for shared
// infrastructure, every node of the kind in the graph. None: the message
// is about node itself.
func (v *rcaView) suspectsOfKind(node string, sig signature) []string {
	of := func(names []string) []string {
		var out, meant []string
		for _, n := range names {
			if n == node || sig.byTech && !ranBy(sig, n, v.kind(n)) {
				continue
			}
			if sig.byTech || slices.Contains(sig.kinds, strings.ToLower(v.kind(n))) {
				out = append(out, n)
				if runs(sig.tech, n, v.kind(n)) {
					meant = append(meant, n)
				}
			}
		}
		if len(meant) > 0 {
			return meant // RabbitMQ's words are about the RabbitMQ, not the Kafka beside it
		}
		return out
	}
	if out := of(v.g.Downstream(node)); len(out) > 0 {
		return out
	}
	if out := of(mapKeys(v.virtual)); len(out) > 0 {
		return out
	}
	if !v.g.Has(node) {
		// The graph file does not list node, so nor what it calls: the
		// nodes of the kind its fellow victims call are the likeliest.
		var near []string
		for _, n := range v.order {
			if n != node {
				near = append(near, v.g.Downstream(n)...)
			}
		}
		slices.Sort(near)
		if out := of(slices.Compact(near)); len(out) > 0 {
			return out
		}
	}
	if sig.shared {
		return of(v.g.Names())
	}
	return nil
}
