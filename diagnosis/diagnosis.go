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
	// NotInGraph lists alerted services the graph does not know (none when
	// there is no graph at all: NoGraph says so once).
	NotInGraph []string `json:"not_in_graph,omitempty"`
	// NoGraph is true when there was no service graph: the incident was
	// grouped by time and shared labels, and no graph signal spoke.
	NoGraph bool `json:"no_graph,omitempty"`
	// Alerts counts the storm: notifications, distinct alerts, firing, pages.
	Alerts AlertCounts `json:"alerts"`
	// History lists similar past incidents, most similar first.
	History []HistoryMatch `json:"history,omitempty"`
	// Metrics says whether metric evidence was gathered, or why not.
	Metrics string `json:"metrics,omitempty"`
	// GeneratedAt is when the diagnosis was made.
	GeneratedAt time.Time `json:"generated_at"`
	// Unsure is true when the top candidate's confidence is below SureAt:
	// the card then shows the top three side by side, each with its Check.
	Unsure bool `json:"unsure"`
	// NoneOfThese is the probability that no candidate is the root cause
	// (the alerts are noise, or the cause is something nightowl cannot see).
	NoneOfThese float64 `json:"none_of_these"`
	// NoneScore is the log-posterior of "none of these" before calibration.
	NoneScore float64 `json:"none_score"`
	// Explanation is the smallest set of candidates that explains the
	// incident: one root, or two independent ones, best first.
	Explanation []string `json:"explanation,omitempty"`
	// Changes lists recent rollouts, restarts and scaling seen on
	// candidates before the first alert (needs PROMETHEUS_URL).
	Changes []ChangeEvent `json:"changes,omitempty"`
}

// SureAt is the confidence below which a diagnosis says it is not sure.
const SureAt = 0.6

// UnseenAt is the NoneOfThese from which a diagnosis says the cause may be
// something nightowl cannot see.
const UnseenAt = 0.2

// ChangeEvent is one change to a workload seen in kube-state-metrics.
type ChangeEvent struct {
	Service string `json:"service"`
	// Kind is "rollout", "restart" or "scale".
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
	// Text is the sentence the card shows ("order-service rolled out 4 min
	// before the first alert").
	Text string `json:"text"`
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
	// Signals holds each signal's score in [0,1] (0.5: no opinion; above:
	// for it), the logistic of its Terms; names are SignalNames.
	Signals map[string]float64 `json:"signals,omitempty"`
	// Terms holds each signal's log-likelihood ratio, what the model adds
	// up into Score.
	Terms map[string]float64 `json:"terms,omitempty"`
	// InGraph is false for services the graph does not know.
	InGraph bool `json:"in_graph"`
	// Score is the candidate's log-posterior before calibration: the
	// confidences are a softmax of the scores (NoneScore included) at the
	// engine's temperature. For calibration and scripts.
	Score float64 `json:"score"`
	// Check is the one thing a person can do to confirm or rule out this
	// candidate: a query, a /graph, a command, a log to read.
	Check string `json:"check,omitempty"`
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
	// Confirmed says what confirmed RootCause (see Past.Confirmed); a
	// match without one has no RootCause.
	Confirmed string `json:"confirmed,omitempty"`
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
