package graph

import (
	"sync"
	"sync/atomic"
	"time"
)

// Snapshot is one version of the graph in effect: the graph, what showed
// each of its edges, and how fresh each source is. A Snapshot never
// changes once stored; a refresh stores a new one.
type Snapshot struct {
	Graph *Graph
	// Edges lists every edge with what showed it (Merge's list). Nil for a
	// graph read from a file alone: each of its edges is the file's.
	Edges []Edge
	// Version counts the graphs Current has held, from 1.
	Version uint64
	// FileRead is when the graph file was read; zero without one.
	FileRead time.Time
	// Discovered is when the discovery this graph holds was read from
	// Prometheus; zero when it holds none.
	Discovered time.Time
	// Discovering says discovery is configured (GRAPH_DISCOVERY), so a
	// snapshot without a discovery is one whose discovery failed.
	Discovering bool
	// Failed is the last refresh that failed, after the last one that
	// worked: when and why. The graph is then the last good one.
	Failed Failure
}

// Failure is a refresh that failed; zero when none did.
type Failure struct {
	At  time.Time
	Err string
}

// Sources lists what showed the edge from → to, file first: SourceFile
// for every edge of a snapshot without provenance, nothing for an edge
// the graph does not have.
func (s *Snapshot) Sources(from, to string) []Source {
	if s.Edges == nil {
		if s.Graph != nil && contains(s.Graph.DependsOn(from), to) {
			return []Source{SourceFile}
		}
		return nil
	}
	var out []Source
	for _, e := range s.Edges {
		if e.From == from && e.To == to {
			out = append(out, e.Source)
		}
	}
	return out
}

// ReadAt is when the snapshot last heard from src: the file's read for
// SourceFile, the discovery's for the others.
func (s *Snapshot) ReadAt(src Source) time.Time {
	if src == SourceFile {
		return s.FileRead
	}
	return s.Discovered
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// Graph returns g itself: a graph that never changes is its own source
// for the consumers that read the graph in effect once per operation.
func (g *Graph) Graph() *Graph { return g }

// Current holds the graph in effect and lets a refresh swap it while
// grouping, diagnosis and commands read it. Readers take one Snapshot (or
// Graph) per operation and keep to it, so a swap never mixes two versions
// within one diagnosis or one grouping decision. Safe for concurrent use.
type Current struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[Snapshot]
}

// NewCurrent holds s as version 1; a nil s.Graph is the empty graph.
func NewCurrent(s Snapshot) *Current {
	c := &Current{}
	c.store(s, 1)
	return c
}

// Load returns the snapshot in effect; never nil.
func (c *Current) Load() *Snapshot { return c.snap.Load() }

// Graph returns the graph in effect; never nil.
func (c *Current) Graph() *Graph { return c.Load().Graph }

// Store makes s the snapshot in effect: the next version when its graph
// differs from the one in effect, else the same graph, kept, with s's
// times and sources, so that readers see no change. A failure it carries
// is kept; a refresh that worked stores none.
func (c *Current) Store(s Snapshot) *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.Load()
	if s.Graph != nil && s.Graph.Equal(was.Graph) {
		s.Graph = was.Graph
		return c.store(s, was.Version)
	}
	return c.store(s, was.Version+1)
}

// Fail records a refresh that failed at at: the graph in effect stays,
// and the snapshot says when and why.
func (c *Current) Fail(at time.Time, err error) *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := *c.Load()
	s.Failed = Failure{At: at, Err: err.Error()}
	return c.store(s, s.Version) // the same graph: the same version
}

func (c *Current) store(s Snapshot, version uint64) *Snapshot {
	if s.Graph == nil {
		s.Graph, _ = New(nil)
	}
	s.Version = version
	c.snap.Store(&s)
	return &s
}
