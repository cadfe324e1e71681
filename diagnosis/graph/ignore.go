package graph

import (
	"fmt"
	"path"
	"strings"
)

// Ignore hides what discovery shows but a team does not want in its graph:
// the graph file's `ignore:` list. Each entry is a node ("prometheus") or
// an edge ("checkout -> audit-log"); `*` matches any run of characters
// ("* -> jaeger-*", "canary-*"). An ignored node is left out of the
// discovery with every edge it has; an ignored edge is left out alone. A
// name matches a discovered node's name or one of its aliases. What the
// file itself declares is never hidden.
type Ignore struct {
	nodes []string
	edges [][2]string
}

// ParseIgnore reads the entries of an `ignore:` list.
func ParseIgnore(entries []string) (Ignore, error) {
	var ig Ignore
	for i, e := range entries {
		from, to, isEdge := strings.Cut(e, "->")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		parts := []string{from}
		if isEdge {
			parts = append(parts, to)
		}
		for _, p := range parts {
			if p == "" {
				return Ignore{}, fmt.Errorf("ignore entry %d (%q): want a node such as prometheus, or an edge such as \"checkout -> audit-log\"", i+1, e)
			}
			if _, err := path.Match(p, ""); err != nil {
				return Ignore{}, fmt.Errorf("ignore entry %d (%q): %q is not a pattern: %w", i+1, e, p, err)
			}
		}
		if isEdge {
			ig.edges = append(ig.edges, [2]string{from, to})
		} else {
			ig.nodes = append(ig.nodes, from)
		}
	}
	return ig, nil
}

// Empty reports whether nothing is ignored.
func (ig Ignore) Empty() bool { return len(ig.nodes) == 0 && len(ig.edges) == 0 }

// Node reports whether a node known by any of names is ignored.
func (ig Ignore) Node(names ...string) bool {
	for _, p := range ig.nodes {
		if matchAny(p, names) {
			return true
		}
	}
	return false
}

// Edge reports whether the edge from a node known by any of from to a
// node known by any of to is ignored, by itself or through its ends.
func (ig Ignore) Edge(from, to []string) bool {
	if ig.Node(from...) || ig.Node(to...) {
		return true
	}
	for _, e := range ig.edges {
		if matchAny(e[0], from) && matchAny(e[1], to) {
			return true
		}
	}
	return false
}

func matchAny(pattern string, names []string) bool {
	for _, n := range names {
		if ok, _ := path.Match(pattern, n); ok {
			return true
		}
	}
	return false
}

// Without is the discovery with what ig hides left out: its nodes (and
// their edges), its edges, and the names of both in every DependsOn.
func (d Discovery) Without(ig Ignore) Discovery {
	if ig.Empty() {
		return d
	}
	names := map[string][]string{}
	out := Discovery{Warnings: d.Warnings}
	for _, n := range d.Nodes {
		all := append([]string{n.Name}, n.Aliases...)
		names[n.Name] = all
		if !ig.Node(all...) {
			out.Nodes = append(out.Nodes, n)
		}
	}
	namesOf := func(n string) []string {
		if all, ok := names[n]; ok {
			return all
		}
		return []string{n}
	}
	for _, e := range d.Edges {
		if !ig.Edge(namesOf(e.From), namesOf(e.To)) {
			out.Edges = append(out.Edges, e)
		}
	}
	for i, n := range out.Nodes {
		var deps []string
		for _, to := range n.DependsOn {
			if !ig.Edge(namesOf(n.Name), namesOf(to)) {
				deps = append(deps, to)
			}
		}
		n.DependsOn = deps
		out.Nodes[i] = n
	}
	return out
}
