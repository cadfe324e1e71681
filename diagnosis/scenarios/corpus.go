package scenarios

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// The corpus: graphs/<topology>.yaml, and <topology>/<NN>-<slug>.yaml per
// incident (the format is described in corpus/README.md).
//
//go:embed corpus
var corpusFS embed.FS

// IncidentLabel marks, in a scenario file, the alerts of a second incident
// that overlaps the first; the loader moves them to Incidents[1] and removes
// the label.
const IncidentLabel = "corpus_incident"

// Metric types a MetricSpec can have.
const (
	Gauge   = "gauge"
	Counter = "counter"
)

// Scenario is one incident of the corpus (or two overlapping ones) with the
// root cause a perfect diagnosis names.
type Scenario struct {
	// Name is "<topology>/<file name without .yaml>".
	Name, Title, Topology, Notes string
	// Graph is the topology's service graph (shared by its scenarios; read-only).
	Graph *graph.Graph
	// Start is when the fault began; alert and metric offsets count from it.
	Start time.Time
	// Incidents holds one incident, or two when an unrelated one overlaps it.
	Incidents []Expected
	// Metrics are synthetic Prometheus series around the incident.
	Metrics []MetricSpec
}

// Expected is one incident and what its diagnosis should say.
type Expected struct {
	// Label is "" for the first incident and "b" for the overlapping one.
	Label string
	// RootCause is the graph node a perfect diagnosis ranks first, or the
	// service label of alerts from a service missing from the graph.
	RootCause string
	// Acceptable are other answers that are also right (rare).
	Acceptable []string
	// RootType classifies the root cause ("saturation", "node", … as
	// diagnosis/scenarios/synth generates them); "" for hand-written incidents.
	RootType string
	// Alerts are the incident's alerts sorted by StartsAt. An alert with an
	// EndsAt is Resolved (it resolved during the storm), any other is Firing.
	Alerts []diagnosis.Alert
}

// MetricSpec is one synthetic series: a piecewise-linear shape through
// Points, read as the value of a gauge or the per-second rate of a counter.
type MetricSpec struct {
	Name   string
	Labels map[string]string
	Type   string // Gauge or Counter
	Points []MetricPoint
	// Noise is the relative amplitude of deterministic noise, 0 ≤ Noise < 1.
	Noise float64
}

// MetricPoint is a value at an offset from the scenario's Start.
type MetricPoint struct {
	At    time.Duration
	Value float64
}

// Corpus loads every scenario of the embedded corpus, sorted by Name.
func Corpus() ([]Scenario, error) {
	sub, err := fs.Sub(corpusFS, "corpus")
	if err != nil {
		return nil, fmt.Errorf("scenario corpus: %w", err)
	}
	out, err := parse(sub)
	if err != nil {
		return nil, fmt.Errorf("scenario corpus: %w", err)
	}
	return out, nil
}

// AllAlerts returns the alerts of every incident, sorted by StartsAt.
func (s Scenario) AllAlerts() []diagnosis.Alert {
	var out []diagnosis.Alert
	for _, in := range s.Incidents {
		out = append(out, in.Alerts...)
	}
	slices.SortStableFunc(out, func(a, b diagnosis.Alert) int { return a.StartsAt.Compare(b.StartsAt) })
	return out
}

// BlackFridayScenario is the Black Friday storm as a scenario: its graph,
// its 31 alerts and its root cause, order-service.
func BlackFridayScenario() (Scenario, error) {
	g, err := graph.Parse(BlackFridayGraph)
	if err != nil {
		return Scenario{}, fmt.Errorf("black friday graph: %w", err)
	}
	var payload struct {
		Alerts []diagnosis.Alert `json:"alerts"`
	}
	if err := json.Unmarshal(BlackFriday, &payload); err != nil {
		return Scenario{}, fmt.Errorf("black friday storm: %w", err)
	}
	alerts := payload.Alerts
	slices.SortStableFunc(alerts, func(a, b diagnosis.Alert) int { return a.StartsAt.Compare(b.StartsAt) })
	for i := range alerts {
		if alerts[i].Fingerprint == "" {
			alerts[i].Fingerprint = diagnosis.Fingerprint(alerts[i].Labels)
		}
		alerts[i].Status, alerts[i].EndsAt = diagnosis.Firing, time.Time{}
	}
	return Scenario{Name: "black-friday/storm", Title: "Black Friday", Topology: "black-friday", Graph: g,
		Start: alerts[0].StartsAt, Incidents: []Expected{{RootCause: "order-service", Alerts: alerts}}}, nil
}

// Handwritten is every scenario written by hand: the corpus, the held-out
// set and the Black Friday storm.
func Handwritten() ([]Scenario, error) {
	corpus, err := Corpus()
	if err != nil {
		return nil, err
	}
	holdout, err := Holdout()
	if err != nil {
		return nil, err
	}
	bf, err := BlackFridayScenario()
	if err != nil {
		return nil, err
	}
	return append(append(corpus, holdout...), bf), nil
}
