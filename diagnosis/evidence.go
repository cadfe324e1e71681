package diagnosis

// Evidence gathered from outside the alerts (Prometheus metrics, workload
// changes) reaches the engine as one Finding per candidate. The gatherers
// see candidates as Subjects, so they need nothing of the engine's
// internals.

// Subject is a root-cause candidate as an evidence gatherer sees it.
type Subject struct {
	// Node is the graph node, or the name nightowl uses for a service or
	// piece of infrastructure the graph does not know.
	Node string
	// Kind is the node's kind in the graph ("database", "node", …), "" when unknown.
	Kind string
	// Namespace is the namespace of its alerts, "" when it has none.
	Namespace string
	// Labels are the labels of its most telling alert; nil when it has none.
	Labels map[string]string
	// Dependents are alerting nodes that depend on it, direct callers first.
	Dependents []Dependent
}

// Dependent is an alerting node that depends on a Subject.
type Dependent struct {
	Node, Namespace string
}

// Finding is what one source of evidence says about one candidate.
type Finding struct {
	// Score says how strongly the evidence speaks for (up to +1) or
	// against (down to −1) the candidate; 0 is no opinion.
	Score float64
	// Evidence are the sentences the card shows, one per observation.
	Evidence []string
}
