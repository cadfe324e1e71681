package diagnosis

import (
	"net"
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
		if !g.admits(t, f, unattributedGap) {
			continue
		}
		graphless := t.near == nil && !t.published
		if f.known && !graphless {
			continue
		}
		if fallback == nil && (f.node == "" && f.own == "" || f.node != "" && graphless && !t.placed) {
			fallback = t
		}
		if words == nil { // read once, and only when needed
			words = textWords(annotationText(a.Annotations), []string{})
		}
		if s := g.clueScore(t, a, f, words); s > bestScore {
			best, bestScore = t, s
		}
	}
	if best == nil {
		return fallback
	}
	g.log.Debug("alert joins by clues", "incident", best.inc.ID, "alert", a.Name(), "node", f.node, "score", bestScore)
	return best
}

// clueScore counts what an alert shares with an incident: each label value
// in clueLabels one, a name in either's text two.
func (g *Grouper) clueScore(t *tracked, a Alert, f alertFacts, words []string) int {
	g.indexClues(t)
	score := 0
	exporter := isExporterJob(a.Labels)
	for _, l := range clueLabels {
		if v := clueValue(a.Labels, l, f.own, exporter); v != "" && t.clues.values[l+"\x00"+v] {
			score++
		}
	}
	if f.node != "" && t.clues.words[strings.ToLower(f.node)] {
		score += 2 // an incident alert's text names this alert's service
	}
	for _, w := range words {
		if _, held := t.nodes[w]; held {
			score += 2 // this alert's text names a node of the incident
			break
		}
		if g.cfg.Graph != nil {
			if n, ok := g.cfg.Graph.Lookup(w); ok {
				if _, held := t.nodes[n]; held {
					score += 2
					break
				}
			}
		}
	}
	return score
}

// clueLabels are the labels whose shared values tie an alert the graph
// cannot place to an incident. The cluster is not among them: it is a
// precondition (every alert of a cluster shares it), not a clue.
var clueLabels = []string{LabelNamespace, "job", "instance", "node"}

// clueValue is the value of label l that counts as a clue: the alert's own
// namespace, an instance without its port, and no job or instance of an
// exporter (they describe the scraper, which many unrelated alerts share).
func clueValue(labels map[string]string, l, own string, exporter bool) string {
	v := labels[l]
	switch {
	case l == LabelNamespace:
		return own
	case v == "":
		return ""
	case (l == "job" || l == "instance") && exporter:
		return ""
	case l == "instance" && !strings.Contains(v, "://"):
		if h, _, err := net.SplitHostPort(v); err == nil {
			return h
		}
	}
	return v
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
	for _, a := range t.inc.Alerts[c.done:] {
		own := ownNamespace(a.Labels, g.deploymentNamespace(a.Labels, a.NodeOrService()))
		exporter := isExporterJob(a.Labels)
		for _, l := range clueLabels {
			if v := clueValue(a.Labels, l, own, exporter); v != "" {
				c.values[l+"\x00"+v] = true
			}
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
