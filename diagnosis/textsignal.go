package diagnosis

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Alerts say more in their words than in their labels: "lookup
// api.stripe.com: i/o timeout" on three services is DNS, "Stripe API calls
// failing" on payment-service is Stripe. Two signals read the summaries and
// descriptions: error signatures that point at a kind of dependency, and
// mentions of another node by name or alias.

// signature is an error message pattern that points at a kind of node.
type signature struct {
	what  string
	kinds []string
	re    *regexp.Regexp
}

var signatures = []signature{
	{"DNS resolution", []string{"dns"}, regexp.MustCompile(`(?i)(\blookup \S+?(: |\s)(i/o timeout|no such host|server misbehaving|timeout)|no such host|could not translate host ?name|temporary failure in name resolution|name resolution failed|dns (lookup|resolution|query) (failed|timed out|timeout)|\bservfail\b|\bnxdomain\b)`)},
	{"TLS certificates", []string{"cert", "certificate", "pki", "issuer"}, regexp.MustCompile(`(?i)(x509:|certificate (has )?expired|certificate verify failed|tls: bad certificate|unknown certificate authority)`)},
	{"storage", []string{"storage", "disk", "volume", "nfs", "efs"}, regexp.MustCompile(`(?i)(no space left on device|read-only file ?system|stale (nfs )?file handle|i/o (wait|stall)|input/output error|burst credits?|\bD state\b|hung task|\b(read|write) errors?\b)`)},
	{"a Redis replica that refuses writes", []string{"cache", "redis"}, regexp.MustCompile(`(?i)(READONLY You can't write|CLUSTERDOWN|NOREPLICAS|MISCONF Redis|LOADING Redis)`)},
}

// nodeWord finds words that may name a node: host names, dashed names.
var nodeWord = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]`)

// alertText is what people wrote about an alert.
func alertText(a AlertState) string {
	var parts []string
	for _, k := range []string{"summary", "description", "message"} {
		if v := a.Annotations[k]; v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " \n ")
}

// textFinding is what the alerts' words say about one candidate.
type textFinding struct {
	signature, mention float64
	evidence           []string
}

// readText scores candidates by error signatures and mentions in the text
// of the alerts on other nodes.
func (e *Engine) readText(cands []*candidate, byNode map[string][]AlertState) map[string]textFinding {
	type hit struct {
		alerts map[string]bool // fingerprints
		sample string
	}
	sigHits := map[string]*hit{} // candidate → alerts whose signature points at it
	mentionHits := map[string]*hit{}
	total := 0
	record := func(m map[string]*hit, node, fp, sample string) {
		h := m[node]
		if h == nil {
			h = &hit{alerts: map[string]bool{}, sample: sample}
			m[node] = h
		}
		h.alerts[fp] = true
	}
	// Nodes in name order, so the quoted sample is the same every time.
	for _, node := range slices.Sorted(maps.Keys(byNode)) {
		for _, a := range byNode[node] {
			text := alertText(a)
			if text == "" {
				continue
			}
			total++
			for _, sig := range signatures {
				m := sig.re.FindString(text)
				if m == "" {
					continue
				}
				for _, dep := range e.suspectsOfKind(node, sig.kinds) {
					record(sigHits, dep, a.Fingerprint, sig.what+" ("+strings.TrimSpace(m)+")")
				}
				text = sig.re.ReplaceAllString(text, " ") // a name inside a DNS error is not the culprit
			}
			for _, w := range nodeWord.FindAllString(text, -1) {
				n, ok := e.cfg.Resolver.lookup(strings.ToLower(w))
				if !ok || n == node {
					continue
				}
				record(mentionHits, n, a.Fingerprint, strings.Join(strings.Fields(a.Summary()), " "))
			}
		}
	}
	if total == 0 {
		return nil
	}
	out := map[string]textFinding{}
	for node, h := range sigHits {
		f := out[node]
		f.signature = min(1, float64(len(h.alerts))/2) // an error message is strong evidence: two say it all
		f.evidence = append(f.evidence, fmt.Sprintf("%s on other services point at %s", plural(len(h.alerts), "alert's message", "alerts' messages"), h.sample))
		out[node] = f
	}
	for node, h := range mentionHits {
		f := out[node]
		f.mention = min(1, 3*float64(len(h.alerts))/float64(total))
		f.evidence = append(f.evidence, fmt.Sprintf("%s on other services name it (%q)", plural(len(h.alerts), "alert", "alerts"), truncateWords(h.sample, 80)))
		out[node] = f
	}
	return out
}

// suspectsOfKind lists the nodes of the given kinds that node depends on,
// transitively; when it depends on none, every node of those kinds.
func (e *Engine) suspectsOfKind(node string, kinds []string) []string {
	of := func(names []string) []string {
		var out []string
		for _, n := range names {
			if nd, ok := e.cfg.Graph.Node(n); ok && slices.Contains(kinds, strings.ToLower(nd.Kind)) {
				out = append(out, n)
			}
		}
		return out
	}
	if out := of(e.cfg.Graph.Downstream(node)); len(out) > 0 {
		return out
	}
	return of(e.cfg.Graph.Names())
}

// textCandidates are nodes the text implicates that are not candidates yet
// (a provider no alert is about): they become candidates.
func textCandidates(found map[string]textFinding, cands []*candidate) []string {
	var out []string
	for node := range found {
		if !slices.ContainsFunc(cands, func(c *candidate) bool { return c.node == node }) {
			out = append(out, node)
		}
	}
	sort.Strings(out)
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func truncateWords(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}
