package diagnosis

import (
	"context"
	"time"
)

// Diagnosis is the engine's verdict on an incident. Its JSON form is a stable
// interface for scripts (docs/diagnose-json.md): fields are only ever added.
type Diagnosis struct {
	Incident string `json:"incident,omitempty"`
	// Summary is one line: the likely cause and the size of the storm.
	Summary string `json:"summary"`
	// Candidates are possible root causes, best first.
	Candidates []Candidate `json:"candidates"`
	// AffectedServices are the nodes with alerts, sorted.
	AffectedServices []string `json:"affected_services"`
	// RecommendedRunbook is the runbook ID to run first, if any.
	RecommendedRunbook string `json:"recommended_runbook,omitempty"`
	// RunbookReason says where the recommendation came from.
	RunbookReason string `json:"runbook_reason,omitempty"`
	// ImpactRadius lists everything upstream of the top candidate.
	ImpactRadius []string `json:"impact_radius,omitempty"`
	// NotInGraph lists alerted services the graph does not know.
	NotInGraph []string `json:"not_in_graph,omitempty"`
	// Alerts counts the storm: notifications, distinct alerts, firing, pages.
	Alerts AlertCounts `json:"alerts"`
	// History lists similar past incidents, most similar first.
	History []HistoryMatch `json:"history,omitempty"`
	// Metrics says whether metric evidence was gathered, or why not.
	Metrics string `json:"metrics,omitempty"`
	// GeneratedAt is when the diagnosis was made.
	GeneratedAt time.Time `json:"generated_at"`
}

// Candidate is one possible root cause.
type Candidate struct {
	Service string `json:"service"`
	// Confidence is the estimated probability, in [0,1], that this is the root cause.
	Confidence float64 `json:"confidence"`
	// Alerts names the alerts on this service, most telling first.
	Alerts []string `json:"alerts"`
	// Evidence lists short sentences, one per signal that spoke.
	Evidence []string `json:"evidence"`
	// Signals holds each signal's score in [0,1], for calibration and scripts.
	Signals map[string]float64 `json:"signals,omitempty"`
	// InGraph is false for services the graph does not know.
	InGraph bool `json:"in_graph"`
}

// AlertCounts sizes an incident's storm.
type AlertCounts struct {
	// Received counts notifications, repeats included.
	Received int `json:"received"`
	// Distinct counts alerts by fingerprint (default-template groups count their members).
	Distinct int `json:"distinct"`
	Firing   int `json:"firing"`
	Resolved int `json:"resolved"`
	// Pages is how many times a human was paged for it: 1 per incident.
	Pages int `json:"pages"`
	// Unattributed counts alerts that name no service (business metrics,
	// synthetic checks): symptoms, never candidates.
	Unattributed int `json:"unattributed,omitempty"`
}

// HistoryMatch is a past incident that looks like this one.
type HistoryMatch struct {
	Incident   string        `json:"incident"`
	Similarity float64       `json:"similarity"`
	RootCause  string        `json:"root_cause,omitempty"`
	Runbook    string        `json:"runbook,omitempty"`
	Outcome    string        `json:"outcome,omitempty"`
	Resolved   time.Duration `json:"time_to_resolve,omitempty"`
	When       time.Time     `json:"when"`
	Verdict    string        `json:"verdict,omitempty"` // "confirmed", "disputed" or "" (see Past.Verdict)
}

// Top returns the best candidate, if there is one.
func (d Diagnosis) Top() (Candidate, bool) {
	if len(d.Candidates) == 0 {
		return Candidate{}, false
	}
	return d.Candidates[0], true
}

// Diagnoser diagnoses an incident; the Engine is one.
type Diagnoser interface {
	Diagnose(ctx context.Context, in Incident) Diagnosis
}

// RunbookIndex maps alert names to runbook IDs (the runbook catalog).
type RunbookIndex interface {
	RunbookFor(alertname, service string) (id string, ok bool)
}
