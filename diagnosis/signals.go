package diagnosis

import (
	"slices"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Signals the model weighs; EngineConfig.Disable takes these names.
const (
	sigGraph     = "graph"     // the noisy-OR over the graph: what it explains, who stays quiet
	sigSilent    = "silent"    // candidates with no alert of their own, below the alerting ones
	sigRole      = "role"      // what its own alerts report: a cause or a symptom
	sigLabel     = "label"     // root_cause_candidate on its alert
	sigLayer     = "layer"     // the layer prior
	sigTiming    = "timing"    // precursors, and failing after its dependents
	sigSignature = "signature" // error messages that point at its kind
	sigNamed     = "named"     // other alerts name it in a label
	sigMention   = "mention"   // other alerts name it in their text
	sigRecovered = "recovered" // recovered while dependents fail, or fails after its dependencies recovered
	sigMetrics   = "metrics"
	sigChanges   = "changes"
	sigHistory   = "history"
	sigPairs     = "pairs" // two independent roots
)

var rcaSignals = []string{sigChanges, sigGraph, sigHistory, sigLabel, sigLayer, sigMention, sigMetrics, sigNamed,
	sigPairs, sigRecovered, sigRole, sigSignature, sigSilent, sigTiming}

// SignalNames lists the signals the model weighs, sorted; EngineConfig.Disable
// takes these names.
func SignalNames() []string { return slices.Clone(rcaSignals) }

// scrapeTolerance absorbs scrape intervals and `for:` clauses: failures that
// start this close together count as simultaneous.
const scrapeTolerance = 90 * time.Second

// labelLayer reads the layer an alert's own label claims for its subject.
func labelLayer(s string) (graph.Layer, bool) {
	switch strings.ToLower(s) {
	case "infrastructure", "infra", "database", "network", "storage":
		return graph.LayerInfrastructure, true
	case "platform":
		return graph.LayerPlatform, true
	case "application", "app", "service":
		return graph.LayerApplication, true
	case "business":
		return graph.LayerBusiness, true
	}
	return 0, false
}
