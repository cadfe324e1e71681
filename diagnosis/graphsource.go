package diagnosis

import "github.com/nightowl-sre/nightowl/diagnosis/graph"

// GraphSource hands out the service graph in effect: a *graph.Graph that
// never changes, or the *graph.Current that a refresh swaps. Each
// diagnosis and each grouping decision reads it once and keeps to what it
// read, so a swap never mixes two versions within one.
type GraphSource interface {
	Graph() *graph.Graph
}

// GraphFunc adapts a function to GraphSource.
type GraphFunc func() *graph.Graph

// Graph calls f.
func (f GraphFunc) Graph() *graph.Graph { return f() }

var (
	_ GraphSource = (*graph.Graph)(nil)
	_ GraphSource = (*graph.Current)(nil)
)

// noGraph is the empty graph, shared: a graph never changes.
var noGraph, _ = graph.New(nil)

// graphOf reads src once; no source, or no graph, is the empty graph.
func graphOf(src GraphSource) *graph.Graph {
	if src == nil {
		return noGraph
	}
	if g := src.Graph(); g != nil {
		return g
	}
	return noGraph
}
