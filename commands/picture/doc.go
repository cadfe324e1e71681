// Package picture draws the PNGs nightowl's commands answer with: a service's
// neighbourhood in the dependency graph and a line chart of a metric.
//
// It knows nothing of Slack or Prometheus: callers hand it plain values
// (GraphSpec, ChartSpec) and get PNG bytes back. The same spec always gives
// the same bytes, so pictures can be cached, compared and kept as golden files.
// Fonts come from Go modules (the Liberation fonts that gonum.org/v1/plot
// embeds), so nothing is read from the machine or the network.
//
// # Graph layout
//
// DrawGraph lays the graph out itself with a layered (Sugiyama-style) method,
// the drawing style people expect for call graphs: callers on top, what they
// depend on below, databases and queues at the bottom.
//
//  1. Cycles are broken by reversing the back edges a depth-first search finds;
//     reversed edges are still drawn from caller to callee, dashed.
//  2. Layers come from longest paths in the dependency direction: a node sits
//     one layer above the deepest thing it calls, so every sink (a database, a
//     queue) lands on the bottom layer. Layers wider than the canvas allows are
//     wrapped into several rows; edges spanning more than one layer get dummy
//     nodes so that every segment joins adjacent layers and never runs through
//     a box.
//  3. Crossings are reduced by barycenter sweeps (down and up, each layer
//     ordered by the mean position of its neighbours in the layer just fixed),
//     refined by swapping adjacent nodes while that removes crossings; the best
//     order seen is kept.
//  4. Coordinates are assigned layer by layer: each node wants the mean x of its
//     neighbours, and the nearest placement that keeps the order and the gaps is
//     solved exactly as an isotonic regression (pool adjacent violators).
//
// No maintained pure-Go graph layout library fits. github.com/goccy/go-graphviz
// binds Graphviz itself (through cgo in old releases, as a bundled WebAssembly
// build of the C code run by wazero since v0.2): a large, opaque dependency for
// a dozen boxes. gonum.org/v1/gonum/graph/layout offers only force-directed and
// Isomap layouts, which ignore edge direction, so callers would not sit above
// callees. github.com/nikolaydubina/go-graph-layout describes itself as a work
// in progress, with its Brandes–Köpf and dot layering unfinished. The method
// above is a few hundred lines, deterministic, and tested here.
//
// Drawing goes through gonum.org/v1/plot's vg canvas (vgimg), which
// anti-aliases lines and text; the line chart is a gonum plot.
package picture
