package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"
)

// Merge folds a discovery into the graph of a file (nil for none). A
// discovered node whose name or one of whose aliases names a file node,
// or is one of its aliases, is that node. The file wins: a file node keeps
// its kind (discovery's kind only fills an empty or "unknown" one), team,
// runbooks and aliases, and gains the discovered aliases (and the
// discovered name) that name no other node. Discovered edges are added to
// the file's. Merge returns every edge of the result with what showed it:
// the file's edges as SourceFile, an edge both showed once per source.
// What the file's `ignore:` list names is left out of the discovery first.
func Merge(file *Graph, d Discovery) (*Graph, []Edge, error) {
	if file != nil {
		d = d.Without(file.Ignored())
	}
	nodes := map[string]*Node{}
	taken := map[string]string{} // name or alias → node
	var order []string
	add := func(n Node) {
		nodes[n.Name] = &n
		order = append(order, n.Name)
		taken[n.Name] = n.Name
		for _, a := range n.Aliases {
			taken[a] = n.Name
		}
	}
	var edges []Edge
	if file != nil {
		for _, name := range file.Names() {
			n, _ := file.Node(name)
			n.DependsOn = file.DependsOn(name) // trimmed and deduplicated
			add(n)
			for _, to := range n.DependsOn {
				edges = append(edges, Edge{From: name, To: to, Source: SourceFile})
			}
		}
	}
	// Each discovered node is a file node, or a new one.
	same := map[string]string{}
	for _, dn := range d.Nodes {
		if to, ok := taken[dn.Name]; ok && file != nil {
			same[dn.Name] = to
			continue
		}
		for _, a := range dn.Aliases {
			if to, ok := taken[a]; ok && file != nil {
				same[dn.Name] = to
				break
			}
		}
		if _, ok := same[dn.Name]; ok {
			continue
		}
		same[dn.Name] = dn.Name
		add(Node{Name: dn.Name, Kind: dn.Kind})
	}
	for _, dn := range d.Nodes {
		n := nodes[same[dn.Name]]
		if n.Kind == "" || n.Kind == "unknown" {
			n.Kind = dn.Kind
		}
		for _, a := range append([]string{dn.Name}, dn.Aliases...) {
			if owner, ok := taken[a]; (!ok || owner == n.Name) && a != n.Name && !slices.Contains(n.Aliases, a) {
				n.Aliases = append(n.Aliases, a)
				taken[a] = n.Name
			}
		}
	}
	for _, e := range d.Edges {
		from, to := same[e.From], same[e.To]
		if from == "" || to == "" || from == to {
			continue
		}
		n := nodes[from]
		if !slices.Contains(n.DependsOn, to) {
			n.DependsOn = append(n.DependsOn, to)
		}
		edges = append(edges, Edge{From: from, To: to, Source: e.Source, Rate: e.Rate})
	}
	list := make([]Node, 0, len(order))
	for _, name := range order {
		list = append(list, *nodes[name])
	}
	g, err := New(list)
	if err != nil {
		return nil, nil, fmt.Errorf("merge discovered graph: %w", err)
	}
	if file != nil {
		g.ignore = file.ignore
	}
	slices.SortStableFunc(edges, func(a, b Edge) int {
		return cmpJoin(compare(a.From, b.From), compare(a.To, b.To), compare(string(a.Source), string(b.Source)))
	})
	return g, edges, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fileNode is a Node as the graph file spells it.
type fileNode struct {
	Kind      string   `yaml:"kind,omitempty" json:"kind,omitempty"`
	Team      string   `yaml:"team,omitempty" json:"team,omitempty"`
	DependsOn []string `yaml:"depends_on,omitempty" json:"depends_on,omitempty"`
	Runbooks  []string `yaml:"runbooks,omitempty" json:"runbooks,omitempty"`
	Aliases   []string `yaml:"aliases,omitempty" json:"aliases,omitempty"`
}

// Encode writes nodes in the graph file format (what Parse reads):
// format "yaml", one flow-style line per service, or "json".
func Encode(nodes []Node, format string) ([]byte, error) {
	sorted := slices.Clone(nodes)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	switch format {
	case "json":
		services := make(map[string]fileNode, len(sorted))
		for _, n := range sorted {
			services[n.Name] = fileNode{n.Kind, n.Team, n.DependsOn, n.Runbooks, n.Aliases}
		}
		out, err := json.MarshalIndent(map[string]any{"services": services}, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode graph: %w", err)
		}
		return append(out, '\n'), nil
	case "yaml":
		services := &yaml.Node{Kind: yaml.MappingNode}
		for _, n := range sorted {
			var v yaml.Node
			if err := v.Encode(fileNode{n.Kind, n.Team, n.DependsOn, n.Runbooks, n.Aliases}); err != nil {
				return nil, fmt.Errorf("encode service %s: %w", n.Name, err)
			}
			v.Style = yaml.FlowStyle
			services.Content = append(services.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: n.Name}, &v)
		}
		root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "services"}, services}}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(root); err != nil {
			return nil, fmt.Errorf("encode graph: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("encode graph: %w", err)
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("encode graph: format %q is neither yaml nor json", format)
}
