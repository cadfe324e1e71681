package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// stateRecord is how incidents.alerts stores a diagnosis.AlertState. It is
// the store's own shape, not the domain's JSON: no field is omitted when
// empty, so nil and empty maps stay apart and every field round-trips.
// A field added to AlertState must be added here (TestAlertStateFields).
type stateRecord struct {
	Fingerprint  string            `json:"fingerprint"`
	Status       diagnosis.Status  `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"starts_at"`
	EndsAt       time.Time         `json:"ends_at"`
	GeneratorURL string            `json:"generator_url"`
	Source       diagnosis.Source  `json:"source"`
	Count        int               `json:"count"`
	Node         string            `json:"node"`
	FirstSeen    time.Time         `json:"first_seen"`
	LastSeen     time.Time         `json:"last_seen"`
	Received     int               `json:"received"`
	Flaps        int               `json:"flaps"`
}

// encodeStates renders alert states as JSON, times in UTC; nil stays null.
func encodeStates(states []diagnosis.AlertState) (string, error) {
	var recs []stateRecord
	if states != nil {
		recs = make([]stateRecord, len(states))
	}
	for i, a := range states {
		recs[i] = stateRecord{
			Fingerprint:  a.Fingerprint,
			Status:       a.Status,
			Labels:       a.Labels,
			Annotations:  a.Annotations,
			StartsAt:     a.StartsAt.UTC(),
			EndsAt:       a.EndsAt.UTC(),
			GeneratorURL: a.GeneratorURL,
			Source:       a.Source,
			Count:        a.Count,
			Node:         a.Node,
			FirstSeen:    a.FirstSeen.UTC(),
			LastSeen:     a.LastSeen.UTC(),
			Received:     a.Received,
			Flaps:        a.Flaps,
		}
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return "", fmt.Errorf("encode alert states: %w", err)
	}
	return string(b), nil
}

func decodeStates(b []byte) ([]diagnosis.AlertState, error) {
	var recs []stateRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, fmt.Errorf("decode alert states: %w", err)
	}
	if recs == nil {
		return nil, nil
	}
	states := make([]diagnosis.AlertState, len(recs))
	for i, r := range recs {
		states[i] = diagnosis.AlertState{
			Alert: diagnosis.Alert{
				Fingerprint:  r.Fingerprint,
				Status:       r.Status,
				Labels:       r.Labels,
				Annotations:  r.Annotations,
				StartsAt:     r.StartsAt.UTC(),
				EndsAt:       r.EndsAt.UTC(),
				GeneratorURL: r.GeneratorURL,
				Source:       r.Source,
				Count:        r.Count,
			},
			Node:      r.Node,
			FirstSeen: r.FirstSeen.UTC(),
			LastSeen:  r.LastSeen.UTC(),
			Received:  r.Received,
			Flaps:     r.Flaps,
		}
	}
	return states, nil
}
