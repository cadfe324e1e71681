package diagnosis

import (
	"net"
	"slices"
	"strings"
)

// Clues place what the service graph cannot (docs/grouping.md): alerts on
// services it does not know, alerts that name no service, and incidents
// that hold no node it knows.

// matchByClues places what the graph cannot: an alert on a service the
// graph does not know, or one that names no service, among the incidents
// near it in time; an alert the graph knows, among the incidents near it
// that hold no node the graph knows and whose card is not out yet. The
// incident that shares most clues wins, the newest on a tie. With nothing
// shared, an alert that names no service and lives in no namespace of its
// own joins the newest incident near it, and an alert on a node joins the
// newest such graphless incident whose alerts live in no namespace of
// their own: nothing speaks against either.
func (g *Grouper) matchByClues(a Alert, f alertFacts) *tracked {
	var (
		best, fallback *tracked
		bestScore      int
		words          []string
	)
	for i := len(g.order) - 1; i >= 0; i-- {
		t := g.order[i]
		if !g.admits(t, f, g.cfg.MaxGap) {
			continue
		}
		// Within unattributedGap any clue will do; up to MaxGap only a
		// strong one (a name, or a member of the same application).
		near := g.admits(t, f, unattributedGap)
		graphless := t.near == nil && !t.published
		// An incident of alerts that name no service and live in no
		// namespace (an SLO burn, a business KPI, a synthetic journey,
		// often the first to fire) is about whatever fails next: it stays
		// open to it for unattributedGap, card or not, instead of paging
		// twice for one storm.
		anonymous := len(t.nodes) == 0 && !t.placed
		if f.known && !graphless && !anonymous {
			continue
		}
		if near && fallback == nil && (f.node == "" && f.own == "" || f.node != "" && (graphless && !t.placed || anonymous)) {
			fallback = t
		}
		if words == nil { // read once, and only when needed
			words = textWords(annotationText(a.Annotations), []string{})
		}
		if s := g.clueScore(t, a, f, words); s > bestScore && (near || s >= strongClue) {
			best, bestScore = t, s
		}
	}
	if best == nil {
		return fallback
	}
	g.log.Debug("alert joins by clues", "incident", best.inc.ID, "alert", a.Name(), "node", f.node, "score", bestScore)
	return best
}

// clueScore counts what an alert shares with an incident: each clue of
// clueKeys one, a name in either's text two.
func (g *Grouper) clueScore(t *tracked, a Alert, f alertFacts, words []string) int {
	g.indexClues(t)
	score := 0
	for _, k := range clueKeys(a.Labels, f.own, nil) {
		if t.clues.values[k] {
			score++
		}
	}
	if f.node != "" && t.clues.words[strings.ToLower(f.node)] {
		score += 2 // an incident alert's text names this alert's service
	} else if g.sameApplication(t, f) {
		score += 2
	}
	for _, w := range words {
		if _, held := t.nodes[w]; held {
			score += 2 // this alert's text names a node of the incident
			break
		}
		if n, ok := g.graph.Lookup(w); ok {
			if _, held := t.nodes[n]; held {
				score += 2
				break
			}
		}
	}
	return score
}

// strongClue is the clue score that joins an incident up to MaxGap away,
// not only within unattributedGap: a name in text, a member of the same
// application.
const strongClue = 2

// sameApplication reports whether the alert's service and one of the
// incident's, in the same namespace, are parts of one application by
// Kubernetes naming: kyverno and kyverno-admission-controller, argocd-server
// and argocd-repo-server, orders and orders-db share their first part.
func (g *Grouper) sameApplication(t *tracked, f alertFacts) bool {
	app := appName(f.node)
	if app == "" || f.own == "" {
		return false
	}
	for n, nss := range t.nodes {
		if n != f.node && appName(n) == app && slices.Contains(nss, f.own) {
			return true
		}
	}
	return false
}

// appName is the first part of a workload's name, when it can name an
// application (not api, web, data …).
func appName(node string) string {
	first, _, _ := strings.Cut(strings.ToLower(node), "-")
	if len(first) < 3 || genericWords[first] {
		return ""
	}
	return first
}

// clueKeys appends an alert's clues as "kind\x00value": its own namespace
// (ownNamespace), its job, and the host it runs on, which is its node
// label or its instance's host (port removed), so node=ip-10-0-1-5 and
// instance=ip-10-0-1-5:8080 are one clue. An exporter's job and instance
// describe the scraper, which many unrelated alerts share, and do not
// count; but the instance of node-exporter or the kubelet is the node it
// runs on, so it does. The cluster is not a clue: it is a precondition
// (every alert of a cluster shares it). Hosts compare case-insensitively.
func clueKeys(labels map[string]string, own string, out []string) []string {
	if own != "" {
		out = append(out, LabelNamespace+"\x00"+own)
	}
	exporter := isExporterJob(labels)
	if v := labels["job"]; v != "" && !exporter {
		out = append(out, "job\x00"+v)
	}
	hosts := 0
	if v := strings.ToLower(labels["node"]); v != "" {
		out = append(out, "host\x00"+v)
		hosts++
	}
	if h := instanceHost(labels["instance"]); h != "" && (!exporter || nodeExporter(labels)) {
		if hosts == 0 || out[len(out)-1] != "host\x00"+h {
			out = append(out, "host\x00"+h)
		}
	}
	return out
}

// instanceHost is an instance label's host, lower case, its port removed;
// a URL (a blackbox probe's target) is kept whole.
func instanceHost(v string) string {
	v = strings.ToLower(v)
	if v == "" || strings.Contains(v, "://") {
		return v
	}
	if h, _, err := net.SplitHostPort(v); err == nil {
		return h
	}
	return v
}

// nodeExporter reports whether an alert is scraped from an exporter whose
// instance is the Kubernetes node it runs on: node-exporter or the kubelet
// (cAdvisor included).
func nodeExporter(labels map[string]string) bool {
	for _, l := range []string{"job", LabelService, "container"} {
		v := strings.ToLower(labels[l])
		if strings.Contains(v, "node-exporter") || strings.Contains(v, "kubelet") || strings.Contains(v, "cadvisor") {
			return true
		}
	}
	return false
}

// isExporterJob reports whether an alert's job or service is a scraper
// (kube-state-metrics, node-exporter, the kubelet, blackbox…) rather than
// its subject.
func isExporterJob(labels map[string]string) bool {
	for _, v := range []string{labels["job"], labels[LabelService]} {
		if v == "" {
			continue
		}
		v = strings.ToLower(v)
		for _, e := range []string{"exporter", "kube-state-metrics", "kubelet", "cadvisor", "blackbox", "prometheus", "apiserver"} {
			if strings.Contains(v, e) {
				return true
			}
		}
	}
	return false
}

// incidentClues indexes an incident's label values and the words of its
// alerts' text, lazily: only alerts the graph cannot place read it.
type incidentClues struct {
	done   int // how many of the incident's alerts are indexed
	values map[string]bool
	words  map[string]bool
}

// indexClues brings an incident's clue index up to date with its alerts.
// Alerts are appended between updates; take re-sorts them and resets the
// index, which is then rebuilt here on demand.
func (g *Grouper) indexClues(t *tracked) {
	c := &t.clues
	if c.done == len(t.inc.Alerts) {
		return
	}
	if c.values == nil {
		c.values, c.words = map[string]bool{}, map[string]bool{}
	}
	var keys []string
	for _, a := range t.inc.Alerts[c.done:] {
		own := ownNamespace(a.Labels, g.deploymentNamespace(a.Labels, a.NodeOrService()))
		keys = clueKeys(a.Labels, own, keys[:0])
		for _, k := range keys {
			c.values[k] = true
		}
		for _, w := range textWords(annotationText(a.Annotations), nil) {
			c.words[w] = true
		}
	}
	c.done = len(t.inc.Alerts)
}

// annotationText is what an alert says in words: its summary and description.
func annotationText(annotations map[string]string) string {
	return annotations["summary"] + "\n" + annotations["description"] + "\n" + annotations["message"]
}

// textWords appends the lower-case words of s that could name a service:
// runs of letters, digits, '-' and '_', three characters or longer. A host
// name splits at its dots, so shop-db.abc.rds.amazonaws.com names shop-db.
func textWords(s string, out []string) []string {
	s = strings.ToLower(s)
	start := -1
	for i := 0; i <= len(s); i++ {
		inWord := i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9' || s[i] == '-' || s[i] == '_')
		switch {
		case inWord && start < 0:
			start = i
		case !inWord && start >= 0:
			if w := strings.Trim(s[start:i], "-_"); len(w) >= 3 {
				out = append(out, w)
			}
			start = -1
		}
	}
	return out
}
