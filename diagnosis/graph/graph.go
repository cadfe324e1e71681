// Package graph owns the service dependency graph: loading it from YAML or JSON,
// the built-in example, and the traversals diagnosis and grouping ask of it.
package graph

import (
	_ "embed"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed example.yaml
var exampleYAML []byte

// Node is one vertex of the graph: a service, datastore, queue, DNS, ingress,
// Kubernetes node or external provider.
type Node struct {
	Name      string   `yaml:"-" json:"name"`
	Kind      string   `yaml:"kind" json:"kind,omitempty"`
	Team      string   `yaml:"team" json:"team,omitempty"`
	DependsOn []string `yaml:"depends_on" json:"depends_on,omitempty"`
	Runbooks  []string `yaml:"runbooks" json:"runbooks,omitempty"`
	Aliases   []string `yaml:"aliases" json:"aliases,omitempty"`
}

// Layer places a node kind in the stack: infrastructure fails first and
// explains the most, business metrics fail last.
type Layer int

// Layers, from the bottom of the stack up.
const (
	LayerInfrastructure Layer = iota
	LayerPlatform
	LayerApplication
	LayerEdge
	LayerBusiness
)

func (l Layer) String() string {
	return [...]string{"infrastructure", "platform", "application", "edge", "business"}[l]
}

// KindLayer maps a node kind onto its layer; unknown kinds are application.
func KindLayer(kind string) Layer {
	switch strings.ToLower(kind) {
	case "database", "db", "datastore", "cache", "queue", "broker", "search", "storage", "disk",
		"dns", "network", "node", "host", "vm", "external", "provider", "cloud":
		return LayerInfrastructure
	case "platform", "cluster", "mesh", "kubernetes", "loadbalancer":
		return LayerPlatform
	case "ingress", "gateway", "edge", "cdn":
		return LayerEdge
	case "business", "slo", "journey":
		return LayerBusiness
	}
	return LayerApplication
}

// Graph is an immutable dependency graph: "A depends_on B" means A calls B, so
// when B fails, A suffers. Safe for concurrent use.
type Graph struct {
	nodes    []Node
	index    map[string]int
	aliases  map[string]int
	deps     [][]int
	users    [][]int
	reach    []bitset // reach[i]: every node i depends on, transitively
	rel      []bitset // rel[i]: every node Related to i, i included
	warnings []string
	ignore   Ignore // what the file hides from discovery
}

type file struct {
	Services map[string]*Node `yaml:"services"`
	Ignore   []string         `yaml:"ignore"`
}

// Load reads a graph from a YAML or JSON file.
func Load(path string) (*Graph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read service graph: %w", err)
	}
	g, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("service graph %s: %w", path, err)
	}
	return g, nil
}

// Parse decodes a graph from YAML or JSON (JSON is YAML).
func Parse(data []byte) (*Graph, error) {
	var f file
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(f.Services) == 0 && len(f.Ignore) == 0 {
		return nil, fmt.Errorf("no services: expected a top-level \"services:\" map")
	}
	ignore, err := ParseIgnore(f.Ignore)
	if err != nil {
		return nil, err
	}
	nodes := make([]Node, 0, len(f.Services))
	for name, n := range f.Services {
		var node Node
		if n != nil {
			node = *n
		}
		node.Name = name
		nodes = append(nodes, node)
	}
	g, err := New(nodes)
	if err != nil {
		return nil, err
	}
	g.ignore = ignore
	return g, nil
}

// Ignored is what the graph file hides from discovery (its `ignore:` list).
func (g *Graph) Ignored() Ignore { return g.ignore }

// Example is the built-in Black Friday shop graph.
func Example() *Graph {
	g, err := Parse(exampleYAML)
	if err != nil {
		panic("embedded example graph: " + err.Error())
	}
	return g
}

// New builds a graph. A dependency on an undeclared node adds it (kind
// "unknown") and a warning, so a partial graph still works.
func New(nodes []Node) (*Graph, error) {
	g := &Graph{index: map[string]int{}, aliases: map[string]int{}}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	for _, n := range nodes {
		n.Name = strings.TrimSpace(n.Name)
		if n.Name == "" {
			return nil, fmt.Errorf("a service has an empty name")
		}
		// Names are compared trimmed everywhere: " db" in depends_on is db.
		n.DependsOn, n.Aliases = trimmed(n.DependsOn), trimmed(n.Aliases)
		if slices.Contains(n.DependsOn, "") || slices.Contains(n.Aliases, "") {
			return nil, fmt.Errorf("service %q names an empty dependency or alias", n.Name)
		}
		if _, dup := g.index[n.Name]; dup {
			return nil, fmt.Errorf("service %q is declared twice", n.Name)
		}
		g.index[n.Name] = len(g.nodes)
		g.nodes = append(g.nodes, n)
	}
	for i := 0; i < len(g.nodes); i++ { // grows while undeclared dependencies are added
		for _, d := range g.nodes[i].DependsOn {
			if _, ok := g.index[d]; !ok {
				g.warnings = append(g.warnings, fmt.Sprintf("%s depends on %s, which is not declared", g.nodes[i].Name, d))
				g.index[d] = len(g.nodes)
				g.nodes = append(g.nodes, Node{Name: d, Kind: "unknown"})
			}
		}
	}
	for i, n := range g.nodes {
		for _, a := range n.Aliases {
			if j, ok := g.index[a]; ok && j != i {
				return nil, fmt.Errorf("alias %q of %s is the name of another service", a, n.Name)
			}
			if j, ok := g.aliases[a]; ok && j != i {
				return nil, fmt.Errorf("alias %q belongs to both %s and %s", a, g.nodes[j].Name, n.Name)
			}
			g.aliases[a] = i
		}
	}
	g.deps = make([][]int, len(g.nodes))
	g.users = make([][]int, len(g.nodes))
	for i, n := range g.nodes {
		for _, d := range n.DependsOn {
			j := g.index[d]
			if j == i || slices.Contains(g.deps[i], j) {
				continue
			}
			g.deps[i] = append(g.deps[i], j)
			g.users[j] = append(g.users[j], i)
		}
	}
	g.reach = make([]bitset, len(g.nodes))
	for i := range g.nodes {
		g.reach[i] = g.walk(i, g.deps)
	}
	g.rel = make([]bitset, len(g.nodes))
	for i := range g.nodes {
		r := g.walk(i, g.users)
		r.or(g.reach[i])
		r.set(i)
		for _, d := range g.deps[i] {
			for _, sib := range g.users[d] {
				r.set(sib)
			}
		}
		g.rel[i] = r
	}
	return g, nil
}

// trimmed is a copy of names with the spaces around each cut off.
func trimmed(names []string) []string {
	if names == nil {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.TrimSpace(n)
	}
	return out
}

// walk returns every node reachable from start along next, start excluded.
func (g *Graph) walk(start int, next [][]int) bitset {
	seen := newBitset(len(g.nodes))
	var stack []int
	push := func(from int) {
		for _, m := range next[from] {
			if !seen.has(m) { // each node goes on the stack once: a dense graph stays cheap
				seen.set(m)
				stack = append(stack, m)
			}
		}
	}
	push(start)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		push(n)
	}
	return seen
}

// Equal reports whether o has the same nodes as g, each with the same
// kind, team, dependencies, runbooks and aliases.
func (g *Graph) Equal(o *Graph) bool {
	if g == o {
		return true
	}
	if g == nil || o == nil || len(g.nodes) != len(o.nodes) {
		return false
	}
	for i, n := range g.nodes {
		j, ok := o.index[n.Name]
		if !ok {
			return false
		}
		m := o.nodes[j]
		if n.Kind != m.Kind || n.Team != m.Team || !slices.Equal(n.Runbooks, m.Runbooks) || !slices.Equal(n.Aliases, m.Aliases) ||
			!slices.Equal(g.DependsOn(n.Name), o.DependsOn(m.Name)) || i != j {
			return false
		}
	}
	return true
}

// Warnings lists what New tolerated but a human should fix.
func (g *Graph) Warnings() []string { return slices.Clone(g.warnings) }

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.nodes) }

// Names lists every node, sorted.
func (g *Graph) Names() []string {
	out := make([]string, len(g.nodes))
	for i, n := range g.nodes {
		out[i] = n.Name
	}
	sort.Strings(out)
	return out
}

// Lookup resolves a name or alias to the node's name.
func (g *Graph) Lookup(nameOrAlias string) (string, bool) {
	if i, ok := g.index[nameOrAlias]; ok {
		return g.nodes[i].Name, true
	}
	if i, ok := g.aliases[nameOrAlias]; ok {
		return g.nodes[i].Name, true
	}
	return "", false
}

// Has reports whether name is a node (aliases excluded).
func (g *Graph) Has(name string) bool {
	_, ok := g.index[name]
	return ok
}

// Node returns a copy of the named node.
func (g *Graph) Node(name string) (Node, bool) {
	i, ok := g.index[name]
	if !ok {
		return Node{}, false
	}
	n := g.nodes[i]
	n.DependsOn = slices.Clone(n.DependsOn)
	n.Runbooks = slices.Clone(n.Runbooks)
	n.Aliases = slices.Clone(n.Aliases)
	return n, true
}

// Kind is the named node's kind ("" for unknown nodes).
func (g *Graph) Kind(name string) string {
	if i, ok := g.index[name]; ok {
		return g.nodes[i].Kind
	}
	return ""
}

// Layer is the named node's layer (application for unknown nodes).
func (g *Graph) Layer(name string) Layer {
	if i, ok := g.index[name]; ok {
		return KindLayer(g.nodes[i].Kind)
	}
	return LayerApplication
}

// DependsOn lists what name calls directly.
func (g *Graph) DependsOn(name string) []string { return g.names(g.deps, name) }

// Dependents lists what calls name directly.
func (g *Graph) Dependents(name string) []string { return g.names(g.users, name) }

func (g *Graph) names(adj [][]int, name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(adj[i]))
	for _, j := range adj[i] {
		out = append(out, g.nodes[j].Name)
	}
	sort.Strings(out)
	return out
}

// Downstream lists everything name depends on, transitively.
func (g *Graph) Downstream(name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	return g.members(g.reach[i])
}

// Upstream lists everything that depends on name, transitively: its impact radius.
func (g *Graph) Upstream(name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	return g.members(g.walk(i, g.users))
}

// DependsTransitively reports whether a calls b, directly or through others.
func (g *Graph) DependsTransitively(a, b string) bool {
	i, ok1 := g.index[a]
	j, ok2 := g.index[b]
	return ok1 && ok2 && g.reach[i].has(j)
}

// Related reports whether a failure of one node plausibly belongs with a failure
// of the other: the same node, one depends on the other (transitively), or both
// call the same node directly.
func (g *Graph) Related(a, b string) bool {
	if a == b {
		return true
	}
	i, ok1 := g.index[a]
	j, ok2 := g.index[b]
	return ok1 && ok2 && g.rel[i].has(j)
}

// Around lists the nodes within hops of name, following calls both ways
// (what it calls and what calls it), name included and at most limit of
// them, sorted. Nearer nodes come first when the limit bites; among nodes
// at the same distance, the search visits each node's dependencies, then
// its dependents, in name order. An unknown name has no surroundings.
func (g *Graph) Around(name string, hops, limit int) []string {
	start, ok := g.index[name]
	if !ok || limit < 1 {
		return nil
	}
	seen := newBitset(len(g.nodes))
	seen.set(start)
	kept, frontier := 1, []int{start}
	for hop := 0; hop < hops && len(frontier) > 0; hop++ {
		var next []int
		for _, n := range frontier {
			for _, m := range append(g.byName(g.deps[n]), g.byName(g.users[n])...) {
				if !seen.has(m) && kept < limit {
					seen.set(m)
					kept++
					next = append(next, m)
				}
			}
		}
		frontier = next
	}
	return g.members(seen)
}

// byName is a copy of nodes sorted by name.
func (g *Graph) byName(nodes []int) []int {
	out := slices.Clone(nodes)
	slices.SortFunc(out, func(a, b int) int { return strings.Compare(g.nodes[a].Name, g.nodes[b].Name) })
	return out
}

// Neighbourhood is the set of nodes Related to any of names.
type Neighbourhood struct {
	g    *Graph
	bits bitset
}

// NewNeighbourhood returns an empty neighbourhood.
func (g *Graph) NewNeighbourhood() *Neighbourhood {
	return &Neighbourhood{g: g, bits: newBitset(len(g.nodes))}
}

// Add widens the neighbourhood by everything Related to name.
func (n *Neighbourhood) Add(name string) {
	if i, ok := n.g.index[name]; ok {
		n.bits.or(n.g.rel[i])
	}
}

// Contains reports whether name is Related to a node added so far.
func (n *Neighbourhood) Contains(name string) bool {
	i, ok := n.g.index[name]
	return ok && n.bits.has(i)
}

func (g *Graph) members(b bitset) []string {
	var out []string
	for i := range g.nodes {
		if b.has(i) {
			out = append(out, g.nodes[i].Name)
		}
	}
	sort.Strings(out)
	return out
}

type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (uint(i) % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(uint(i)%64)) != 0 }

func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}
