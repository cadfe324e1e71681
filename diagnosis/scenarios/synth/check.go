package synth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Check reports the first identifiability rule the incident breaks, or nil:
// the generator only keeps incidents a competent SRE could solve from the
// alerts and the degraded graph (see the package documentation).
func (in Incident) Check() error {
	t := in.Topology
	if len(in.Roots) == 0 || len(in.Alerts()) == 0 {
		return fmt.Errorf("no roots or no alerts")
	}
	if in.RootType == TwoRoots {
		if len(in.Roots) != 2 {
			return fmt.Errorf("two-roots with %d roots", len(in.Roots))
		}
		a, b := in.Roots[0], in.Roots[1]
		if a == b || t.True.DependsTransitively(a, b) || t.True.DependsTransitively(b, a) {
			return fmt.Errorf("the two roots %s and %s are related", a, b)
		}
	}
	for i, root := range in.Roots {
		if !t.True.Has(root) {
			return fmt.Errorf("root %s is not a node of the true graph", root)
		}
		if err := in.checkRoot(root, in.RootTypes[i]); err != nil {
			return fmt.Errorf("%s root %s: %w", in.RootTypes[i], root, err)
		}
	}
	return nil
}

func (in Incident) checkRoot(root, typ string) error {
	t := in.Topology
	named := in.naming(root) > 0
	if !t.inEngine(root) && !named && typ != DNS {
		return fmt.Errorf("absent from the graph file and named by no alert")
	}
	switch typ {
	case Saturation:
		if in.count(func(i int) bool { return in.Subjects[i] == root && in.Roles[i] == RoleCause }) == 0 {
			return fmt.Errorf("no cause alert on it")
		}
		if in.dependentsAlerting(root) == 0 {
			return fmt.Errorf("no alerting dependent")
		}
	case BadDeploy:
		if in.on(root) == 0 {
			return fmt.Errorf("no alert on it")
		}
		if in.dependentsAlerting(root) == 0 {
			return fmt.Errorf("no alerting caller")
		}
	case Node:
		if in.count(func(i int) bool { return in.Subjects[i] == root && in.Roles[i] == RoleCause }) == 0 {
			return fmt.Errorf("no node alert names it")
		}
		var hosted []string
		for _, n := range t.hosted[root] {
			if in.on(n) > 0 {
				hosted = append(hosted, n)
			}
		}
		if len(hosted) < 2 {
			return fmt.Errorf("pods of %d workloads on it alert, want 2", len(hosted))
		}
	case DNS:
		if n := in.taggedSubjects("text:dns"); n < 3 {
			return fmt.Errorf("DNS failure text on %d services, want 3", n)
		}
		coredns := t.byRole(roleCoreDNS)[0]
		if !t.inEngine(coredns) && !t.inEngine(root) && in.naming(coredns) == 0 && !named {
			return fmt.Errorf("neither cluster DNS nor the resolver is in the graph file or named by an alert")
		}
	case External:
		if !named {
			return fmt.Errorf("no alert names the provider")
		}
		if in.dependentsAlerting(root) == 0 {
			return fmt.Errorf("no alerting caller")
		}
	case Silent:
		if in.on(root) > 0 {
			return fmt.Errorf("it has %d alerts of its own", in.on(root))
		}
		if named {
			return nil
		}
		b, share := in.branches(root), in.share(root)
		if b < 2 || share < 0.5 {
			return fmt.Errorf("%d alerting branches below it (%.0f%% of its callers) and no alert names it", b, 100*share)
		}
		// No other quiet node may explain the storm as well: a shared
		// dependency every service calls (DNS, auth) has many healthy callers.
		for _, y := range t.Engine.Names() {
			if y != root && in.on(y) == 0 && in.branches(y) >= b && in.share(y) >= share {
				return fmt.Errorf("quiet %s explains the storm as well (%d branches, %.0f%% of its callers)", y, in.branches(y), 100*in.share(y))
			}
		}
	case SharedInfra:
		role := t.m(root).role
		if n := in.taggedSubjects("text:" + role); n < 2 {
			return fmt.Errorf("%s failure text on %d services, want 2", role, n)
		}
	}
	return nil
}

func (in Incident) count(f func(i int) bool) int {
	n := 0
	for i := range in.Subjects {
		if f(i) {
			n++
		}
	}
	return n
}

// on counts alerts about the node.
func (in Incident) on(node string) int {
	return in.count(func(i int) bool { return in.Subjects[i] == node })
}

func (in Incident) taggedSubjects(tag string) int {
	var subjects []string
	for i, tags := range in.tags {
		if slices.Contains(tags, tag) && !slices.Contains(subjects, in.Subjects[i]) {
			subjects = append(subjects, in.Subjects[i])
		}
	}
	return len(subjects)
}

// dependentsAlerting counts alerting nodes that depend on node in the true graph.
func (in Incident) dependentsAlerting(node string) int {
	var out []string
	for _, s := range in.Subjects {
		if s != "" && s != node && !slices.Contains(out, s) && in.Topology.True.DependsTransitively(s, node) {
			out = append(out, s)
		}
	}
	return len(out)
}

// branches counts the direct dependents of node in the engine graph that
// alert, or have a direct dependent that alerts: distinct paths from the
// storm down to it.
func (in Incident) branches(node string) int {
	g := in.Topology.Engine
	if !g.Has(node) {
		return 0
	}
	alerting := map[string]bool{}
	for _, s := range in.Subjects {
		if s != "" {
			alerting[s] = true
		}
	}
	n := 0
	for _, d := range g.Dependents(node) {
		ok := alerting[d]
		for _, up := range g.Dependents(d) {
			ok = ok || alerting[up]
		}
		if ok {
			n++
		}
	}
	return n
}

// share is the fraction of node's direct dependents in the engine graph
// that are alerting branches.
func (in Incident) share(node string) float64 {
	n := len(in.Topology.Engine.Dependents(node))
	if n == 0 {
		return 0
	}
	return float64(in.branches(node)) / float64(n)
}

// naming counts alerts that carry the node's name, address or an alias in a
// label value or annotation.
func (in Incident) naming(node string) int {
	m := in.Topology.m(node)
	n := 0
	for _, a := range in.Alerts() {
		if alertCarries(a, m) {
			n++
		}
	}
	return n
}

// names are the strings that name a node in alerts: its name, aliases,
// address (without port) and IP.
func (m *meta) names() []string {
	out := append([]string{m.name, m.ip}, m.aliases...)
	if m.host != "" {
		out = append(out, strings.Split(m.host, ":")[0])
	}
	return uniq(out, "")
}

func alertCarries(a diagnosis.Alert, m *meta) bool {
	for _, name := range m.names() {
		if alertNames(a, name) {
			return true
		}
	}
	return false
}

// alertNames reports whether the alert carries name in a label value or an
// annotation.
func alertNames(a diagnosis.Alert, name string) bool {
	for _, v := range a.Labels {
		if containsWord(v, name) {
			return true
		}
	}
	for _, v := range a.Annotations {
		if containsWord(v, name) {
			return true
		}
	}
	return false
}

func carriesName(alerts []diagnosis.Alert, name string) bool {
	for _, a := range alerts {
		if alertNames(a, name) {
			return true
		}
	}
	return false
}

// containsWord reports whether needle occurs in s not embedded in a longer
// word (letters and digits on either side).
func containsWord(s, needle string) bool {
	if len(needle) < 3 {
		return false
	}
	for i := 0; ; {
		j := strings.Index(s[i:], needle)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isAlnum(s[j-1])
		after := j+len(needle) == len(s) || !isAlnum(s[j+len(needle)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Counters the builders use for notes while an incident is drawn.

func (g *gen) on(node string) int {
	n := 0
	for _, e := range g.out {
		if e.subject == node {
			n++
		}
	}
	return n
}

func (g *gen) tagged(tag string) int {
	n := 0
	for _, e := range g.out {
		if slices.Contains(e.tags, tag) {
			n++
		}
	}
	return n
}

func (g *gen) taggedSubjects(tag string) int {
	var subjects []string
	for _, e := range g.out {
		if slices.Contains(e.tags, tag) && !slices.Contains(subjects, e.subject) {
			subjects = append(subjects, e.subject)
		}
	}
	return len(subjects)
}

func (g *gen) alertingAmong(hits []hit) int {
	n := 0
	for _, h := range hits {
		if g.on(h.node) > 0 {
			n++
		}
	}
	return n
}

func (g *gen) distinctAlerting(nodes []string) int {
	n := 0
	for _, x := range nodes {
		if g.on(x) > 0 {
			n++
		}
	}
	return n
}

func (g *gen) naming(node string) int {
	m := g.t.m(node)
	n := 0
	for _, e := range g.out {
		if alertCarries(e.alert, m) {
			n++
		}
	}
	return n
}

func (g *gen) branches(node string) int {
	in := Incident{Topology: g.t}
	for _, e := range g.out {
		in.Subjects = append(in.Subjects, e.subject)
	}
	return in.branches(node)
}
