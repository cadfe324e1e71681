package picture

import (
	"errors"
	"fmt"
)

// State is the alert state of a node, which picks its fill colour.
type State string

// The states a node can be in; anything else is drawn as StateUnknown.
const (
	StateOK       State = "ok"
	StateFiring   State = "firing"
	StateResolved State = "resolved"
	StateUnknown  State = "unknown"
)

// Node is one box of the graph picture.
type Node struct {
	Name     string
	Kind     string // service, database, cache, queue, dns, ingress, node, external, … (shown small under the name)
	State    State
	Root     bool // the diagnosed root cause: drawn with a thick border and a "root cause" tag
	Focus    bool // the node the picture is about: outlined
	InRadius bool // in the root cause's impact radius: tinted
}

// Edge says that From depends on (calls) To; it is drawn as an arrow from From
// down to To.
type Edge struct{ From, To string }

// GraphSpec is what DrawGraph draws.
type GraphSpec struct {
	Title  string
	Nodes  []Node
	Edges  []Edge
	Legend bool
}

// Rect is an axis-aligned rectangle in pixels, Y growing downwards.
type Rect struct{ X, Y, W, H int }

// Layout is where DrawGraph put things, for tests and for callers that want to
// link regions of the picture.
type Layout struct {
	Width, Height int
	Layers        [][]string      // node names per layer, top (callers) to bottom (dependencies)
	Boxes         map[string]Rect // where each node's box is drawn
	Crossings     int             // edge crossings after reduction
}

// Errors DrawGraph returns, wrapped with the offending names.
var (
	ErrNoNodes       = errors.New("graph has no nodes")
	ErrDuplicateNode = errors.New("duplicate node")
	ErrUnknownNode   = errors.New("edge to unknown node")
	ErrEmptyName     = errors.New("node without a name")
)

// DrawGraph lays the graph out (see the package documentation) and draws it as
// a PNG. It fails on an empty spec, a nameless or duplicated node, and an edge
// that names a node the spec does not have. Self-loops are ignored and repeated
// edges are drawn once.
func DrawGraph(spec GraphSpec) (png []byte, layout Layout, err error) {
	g, err := newGraph(spec)
	if err != nil {
		return nil, Layout{}, fmt.Errorf("draw graph: %w", err)
	}
	d := layoutGraph(g, spec, true)
	png, err = renderGraph(spec, d)
	if err != nil {
		return nil, Layout{}, fmt.Errorf("draw graph: %w", err)
	}
	return png, d.public(spec), nil
}

// graph is a validated GraphSpec by index: nodes in spec order, edges deduplicated.
type graph struct {
	n     int
	index map[string]int
	edges [][2]int // caller, callee; no self-loops, no repeats, in spec order
}

func newGraph(spec GraphSpec) (*graph, error) {
	if len(spec.Nodes) == 0 {
		return nil, ErrNoNodes
	}
	g := &graph{n: len(spec.Nodes), index: make(map[string]int, len(spec.Nodes))}
	for i, nd := range spec.Nodes {
		if nd.Name == "" {
			return nil, fmt.Errorf("node %d: %w", i, ErrEmptyName)
		}
		if _, dup := g.index[nd.Name]; dup {
			return nil, fmt.Errorf("%w %q", ErrDuplicateNode, nd.Name)
		}
		g.index[nd.Name] = i
	}
	seen := make(map[[2]int]bool, len(spec.Edges))
	for _, e := range spec.Edges {
		from, ok := g.index[e.From]
		if !ok {
			return nil, fmt.Errorf("%w %q (edge %s → %s)", ErrUnknownNode, e.From, e.From, e.To)
		}
		to, ok := g.index[e.To]
		if !ok {
			return nil, fmt.Errorf("%w %q (edge %s → %s)", ErrUnknownNode, e.To, e.From, e.To)
		}
		k := [2]int{from, to}
		if from == to || seen[k] {
			continue
		}
		seen[k] = true
		g.edges = append(g.edges, k)
	}
	return g, nil
}
