package commands

import (
	"context"
	"errors"
	"strings"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// ErrNoModel means no model is configured (LLM_PROVIDER=none).
var ErrNoModel = errors.New("no model is configured")

// Model names the model that writes triage and answers, "" for none.
func (h *Handler) Model() string {
	if h.d.Explainer == nil {
		return ""
	}
	return h.d.Explainer.Model()
}

// RulesTriage is the card's triage from the diagnosis and the runbook
// catalog alone: immediate, deterministic, never waits on a model.
func (h *Handler) RulesTriage(in diagnosis.Incident, d diagnosis.Diagnosis) diagnosis.Triage {
	h = h.pin()
	var brief *diagnosis.RunbookBrief
	if rb, ok := h.catalogRunbook(d.RecommendedRunbook); ok {
		brief = &diagnosis.RunbookBrief{ID: rb.ID, Title: rb.Title, Risk: string(rb.Risk), DryRun: rb.DryRun, Timeout: rb.Timeout}
	}
	return diagnosis.RulesTriage(in, d, h.g, brief)
}

// ModelTriage asks the model for the card's triage, with the rules' triage
// as the fallback it returns (with the reason) when the model fails.
func (h *Handler) ModelTriage(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis) (diagnosis.Triage, diagnosis.Usage, error) {
	h = h.pin()
	rules := h.RulesTriage(in, d)
	if h.d.Explainer == nil {
		return rules, diagnosis.Usage{}, ErrNoModel
	}
	t, u, err := h.d.Explainer.Triage(ctx, in.ID, h.incidentContext(in, d), rules)
	if err != nil {
		return rules, u, err
	}
	return t, u, nil
}

// TriageKey is what a triage was written for: a new root cause or runbook
// calls for a new one, more alerts of the same failure do not.
func TriageKey(d diagnosis.Diagnosis) string {
	top, _ := d.Top()
	return strings.Join([]string{top.Service, d.RecommendedRunbook}, "|")
}

// catalogRunbook looks a runbook up in the catalog, if there is one.
func (h *Handler) catalogRunbook(id string) (runbooks.Runbook, bool) {
	if id == "" || h.d.Runbooks == nil {
		return runbooks.Runbook{}, false
	}
	return h.d.Runbooks.Catalog().Get(id)
}
