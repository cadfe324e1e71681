package picture

import (
	"slices"
)

// layered is the proper layered graph the layout works on: the real nodes
// 0..n-1 of a graph, then the dummy nodes that cut long edges, each vertex on
// one layer and every link joining adjacent layers.
type layered struct {
	n      int       // real vertices; those from n on are dummies
	layer  []int     // layer of each vertex, 0 on top
	order  [][]int   // vertices of each layer, left to right
	up     [][]int   // neighbours of each vertex on the layer above
	down   [][]int   // neighbours of each vertex on the layer below
	chains []chain   // one per edge of the graph
	pos    []int     // index of each vertex within its layer, kept in step with order
	bary   []float64 // barycenters, reused across sweeps
}

// chain is one edge of the graph routed through the layers.
type chain struct {
	from, to int   // caller and callee, real vertices
	reversed bool  // the edge closed a cycle: the callee sits above the caller
	path     []int // vertices from the upper end to the lower end, dummies between
}

// acyclic returns the graph's edges as (upper, lower, reversed) triples with
// the back edges of a depth-first search, taken in spec order, reversed.
func acyclic(g *graph) [][3]int {
	succ := make([][]int, g.n)
	for _, e := range g.edges {
		succ[e[0]] = append(succ[e[0]], e[1])
	}
	const (
		unseen = iota
		open
		done
	)
	state := make([]int, g.n)
	back := make(map[[2]int]bool)
	type frame struct{ v, next int }
	for root := range g.n {
		if state[root] != unseen {
			continue
		}
		stack := []frame{{v: root}}
		state[root] = open
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(succ[top.v]) {
				state[top.v] = done
				stack = stack[:len(stack)-1]
				continue
			}
			w := succ[top.v][top.next]
			top.next++
			switch state[w] {
			case open:
				back[[2]int{top.v, w}] = true
			case unseen:
				state[w] = open
				stack = append(stack, frame{v: w})
			}
		}
	}
	out := make([][3]int, 0, len(g.edges))
	for _, e := range g.edges {
		if back[e] {
			out = append(out, [3]int{e[1], e[0], 1})
		} else {
			out = append(out, [3]int{e[0], e[1], 0})
		}
	}
	return out
}

// longestPathLayers puts every vertex one layer above the deepest vertex it
// points to, so that sinks share the bottom layer. dag must be acyclic.
func longestPathLayers(n int, dag [][3]int) []int {
	succ := make([][]int, n)
	for _, e := range dag {
		succ[e[0]] = append(succ[e[0]], e[1])
	}
	height := make([]int, n)
	done := make([]bool, n)
	var visit func(v int) int
	visit = func(v int) int {
		if done[v] {
			return height[v]
		}
		h := 0
		for _, w := range succ[v] {
			h = max(h, visit(w)+1)
		}
		height[v], done[v] = h, true
		return h
	}
	top := 0
	for v := range n {
		top = max(top, visit(v))
	}
	layer := make([]int, n)
	for v := range n {
		layer[v] = top - height[v]
	}
	return layer
}

// newLayered builds the proper layered graph for a layering of g's vertices:
// dummies for long edges, and the initial order (spec order, then dummies in
// edge order).
func newLayered(n int, dag [][3]int, layer []int) *layered {
	depth := 0
	for _, l := range layer {
		depth = max(depth, l+1)
	}
	L := &layered{n: n, layer: slices.Clone(layer), order: make([][]int, depth)}
	for v := range n {
		L.order[layer[v]] = append(L.order[layer[v]], v)
	}
	L.up = make([][]int, n)
	L.down = make([][]int, n)
	link := func(a, b int) {
		L.down[a] = append(L.down[a], b)
		L.up[b] = append(L.up[b], a)
	}
	for _, e := range dag {
		c := chain{from: e[0], to: e[1], reversed: e[2] == 1, path: []int{e[0]}}
		if c.reversed {
			c.from, c.to = e[1], e[0]
		}
		prev := e[0]
		for l := layer[e[0]] + 1; l < layer[e[1]]; l++ {
			d := len(L.layer)
			L.layer = append(L.layer, l)
			L.up = append(L.up, nil)
			L.down = append(L.down, nil)
			L.order[l] = append(L.order[l], d)
			link(prev, d)
			c.path = append(c.path, d)
			prev = d
		}
		link(prev, e[1])
		c.path = append(c.path, e[1])
		L.chains = append(L.chains, c)
	}
	L.pos = make([]int, len(L.layer))
	L.bary = make([]float64, len(L.layer))
	L.renumber()
	return L
}

func (L *layered) renumber() {
	for _, row := range L.order {
		for i, v := range row {
			L.pos[v] = i
		}
	}
}

// crossings counts the crossings between every pair of adjacent layers.
func (L *layered) crossings() int {
	total := 0
	for l := 0; l+1 < len(L.order); l++ {
		total += L.crossingsBelow(l)
	}
	return total
}

// crossingsBelow counts crossings between layer l and layer l+1 by counting
// inversions of the lower ends when links are sorted by their upper ends
// (a Fenwick tree over the lower layer's positions).
func (L *layered) crossingsBelow(l int) int {
	width := len(L.order[l+1])
	tree := make([]int, width+1)
	total, seen := 0, 0
	var lower []int
	for _, v := range L.order[l] {
		lower = lower[:0]
		for _, w := range L.down[v] {
			lower = append(lower, L.pos[w])
		}
		slices.Sort(lower)
		for _, p := range lower {
			// links already seen whose lower end is right of p cross this one
			le := 0
			for i := p + 1; i > 0; i -= i & -i {
				le += tree[i]
			}
			total += seen - le
		}
		for _, p := range lower {
			for i := p + 1; i <= width; i += i & -i {
				tree[i]++
			}
			seen++
		}
	}
	return total
}

// reduceCrossings reorders the layers by barycenter sweeps and adjacent swaps
// and keeps the best order found. Sweeps go on past a tie (say, no crossings
// from the start) because a later order of equal crossings has its dummies
// nearer their ends, which straightens long edges.
func (L *layered) reduceCrossings() int {
	best := L.crossings()
	saved := cloneOrder(L.order)
	stale := 0
	for iter := 0; iter < 24 && stale < 4; iter++ {
		if iter%2 == 0 {
			for l := 1; l < len(L.order); l++ {
				L.sortByBarycenter(l, L.up)
			}
		} else {
			for l := len(L.order) - 2; l >= 0; l-- {
				L.sortByBarycenter(l, L.down)
			}
		}
		L.transpose()
		c := L.crossings()
		if c < best {
			stale = 0
		} else {
			stale++
		}
		if c <= best {
			best = c
			saved = cloneOrder(L.order)
		}
	}
	L.order = saved
	L.renumber()
	return best
}

func cloneOrder(order [][]int) [][]int {
	out := make([][]int, len(order))
	for i, row := range order {
		out[i] = slices.Clone(row)
	}
	return out
}

// sortByBarycenter orders layer l by the mean position of each vertex's
// neighbours in the adjacent layer; a vertex without any keeps its place.
func (L *layered) sortByBarycenter(l int, nbrs [][]int) {
	row := L.order[l]
	for _, v := range row {
		if len(nbrs[v]) == 0 {
			L.bary[v] = float64(L.pos[v])
			continue
		}
		sum := 0
		for _, w := range nbrs[v] {
			sum += L.pos[w]
		}
		L.bary[v] = float64(sum) / float64(len(nbrs[v]))
	}
	slices.SortStableFunc(row, func(a, b int) int {
		switch ba, bb := L.bary[a], L.bary[b]; {
		case ba < bb:
			return -1
		case ba > bb:
			return 1
		}
		return L.pos[a] - L.pos[b]
	})
	for i, v := range row {
		L.pos[v] = i
	}
}

// transpose swaps adjacent vertices while that lowers the crossings with both
// neighbouring layers.
func (L *layered) transpose() {
	for round := 0; round < 4; round++ {
		improved := false
		for _, row := range L.order {
			for i := 0; i+1 < len(row); i++ {
				u, v := row[i], row[i+1]
				if L.pairCrossings(v, u) < L.pairCrossings(u, v) {
					row[i], row[i+1] = v, u
					L.pos[u], L.pos[v] = i+1, i
					improved = true
				}
			}
		}
		if !improved {
			return
		}
	}
}

// pairCrossings counts the crossings among the links of u and v, with u placed
// just left of v.
func (L *layered) pairCrossings(u, v int) int {
	c := 0
	for _, nbrs := range [2][][]int{L.up, L.down} {
		for _, a := range nbrs[u] {
			for _, b := range nbrs[v] {
				if L.pos[a] > L.pos[b] {
					c++
				}
			}
		}
	}
	return c
}
