package diagnosis

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// RunbookBrief is what triage needs to know of the recommended runbook.
type RunbookBrief struct {
	ID, Title string
	Risk      string
	DryRun    bool
	Timeout   time.Duration
}

// RulesTriage writes the triage from the diagnosis alone: the same fields a
// model would fill, so the card never waits on, or breaks because of, a
// model. It is deterministic: the same diagnosis gives the same words.
func RulesTriage(in Incident, d Diagnosis, g *graph.Graph, rb *RunbookBrief) Triage {
	t := Triage{Source: "rules"}
	top, ok := d.Top()
	if !ok {
		t.OneLineSummary = "No alerts to diagnose."
		t.WhatIsHappening = "The incident has no alerts left."
		t.ImmediateAction = "Nothing to do."
		t.Steps = []string{"Check that alerts still reach the alerts channel."}
		t.DoNotDo = "Do not close the incident before its alerts resolve."
		t.EstimatedResolution = "unknown"
		t.EscalateIf = "alerts arrive that nobody can place."
		return t
	}
	cause := top.Service
	if len(top.Alerts) > 0 {
		cause = top.Alerts[0] + " on " + top.Service
	}
	t.OneLineSummary = Truncate(fmt.Sprintf("%s is the likely cause of %d alerts across %d services (%.0f%%)",
		cause, d.Alerts.Distinct, len(d.AffectedServices), top.Confidence*100), 150)
	suspects := d.Candidates[:min(3, len(d.Candidates))]
	if d.Unsure {
		t.OneLineSummary = Truncate(fmt.Sprintf("Not sure what causes %d alerts across %d services: %s",
			d.Alerts.Distinct, len(d.AffectedServices), candidateWords(suspects)), 150)
	}

	kind := ""
	if n, ok := g.Node(top.Service); ok && n.Kind != "" {
		kind = " (" + n.Kind + ")"
	}
	var what strings.Builder
	switch {
	case d.Unsure:
		fmt.Fprintf(&what, "nightowl is not sure of the cause: %s", candidateWords(suspects))
		if d.NoneOfThese >= UnseenAt {
			fmt.Fprintf(&what, ", or something nightowl cannot see (%.0f%%)", d.NoneOfThese*100)
		}
	default:
		fmt.Fprintf(&what, "%s%s is failing", top.Service, kind)
		if len(top.Evidence) > 0 {
			fmt.Fprintf(&what, ": %s", top.Evidence[0])
		}
	}
	what.WriteString(".")
	if len(d.Explanation) == 2 {
		fmt.Fprintf(&what, " Two independent failures: %s and %s.", d.Explanation[0], d.Explanation[1])
	}
	var dependents []string
	for _, s := range d.ImpactRadius {
		if slices.Contains(d.AffectedServices, s) {
			dependents = append(dependents, s)
		}
	}
	if len(dependents) > 0 && !d.Unsure {
		fmt.Fprintf(&what, " %s depend on it and fail with it.", listShort(dependents, 4))
	}
	if !d.Unsure && len(d.Candidates) > 1 && d.Candidates[1].Confidence >= 0.15 {
		fmt.Fprintf(&what, " Also possible: %s (%.0f%%).", d.Candidates[1].Service, d.Candidates[1].Confidence*100)
	}
	t.WhatIsHappening = Truncate(what.String(), 600)

	switch {
	case d.Unsure && len(suspects) == 1:
		t.ImmediateAction = fmt.Sprintf("Run the check below before approving any runbook: nightowl is not sure it is %s.", top.Service)
	case d.Unsure:
		t.ImmediateAction = fmt.Sprintf("Run the %s below before approving any runbook: nightowl is not sure which of %s it is.",
			checksWord(len(suspects)), serviceWords(suspects))
	case rb != nil && rb.DryRun:
		t.ImmediateAction = fmt.Sprintf("Read the dry run of %s in the thread, then press Approve %s on the card (%s).", rb.ID, rb.ID, rb.Title)
	case rb != nil:
		t.ImmediateAction = fmt.Sprintf("Check %s yourself, then press Approve %s on the card (%s).", top.Service, rb.ID, rb.Title)
	default:
		t.ImmediateAction = fmt.Sprintf("Look at %s first: %s.", top.Service, strings.Join(top.Alerts[:min(2, len(top.Alerts))], ", "))
	}

	if d.Unsure {
		for _, c := range suspects {
			t.Steps = append(t.Steps, fmt.Sprintf("Check %s (%.0f%%): %s.", c.Service, c.Confidence*100, checkOf(c)))
		}
	} else {
		t.Steps = append(t.Steps, fmt.Sprintf("Confirm on %s: %s.", top.Service, checkOf(top)))
	}
	switch {
	case len(d.Changes) > 0:
		t.Steps = append(t.Steps, fmt.Sprintf("Look at what changed just before: %s.", strings.TrimSuffix(d.Changes[0].Text, ".")))
	case !d.Unsure:
		t.Steps = append(t.Steps, fmt.Sprintf("Check what changed on %s in the last hour: deploys, config, traffic.", top.Service))
	}
	if d.Unsure {
		t.Steps = append(t.Steps, "When a check confirms one, say `@nightowl cause <service>` in this thread, then fix that one.")
	}
	if rb != nil && !d.Unsure {
		t.Steps = append(t.Steps, fmt.Sprintf("Run %s through Approve on the card; its progress and result land in this thread.", rb.ID))
	}
	t.Steps = append(t.Steps, "Watch the card: it turns resolved when every alert resolves.")

	t.DoNotDo = "Do not restart every alerting service at once: the dependents fail because of the root cause, and restarts add load."
	if len(top.Alerts) == 0 {
		t.DoNotDo = fmt.Sprintf("Do not chase the symptoms on %s: %s has no alert of its own but everything that calls it fails.", listShort(d.AffectedServices, 3), top.Service)
	}

	t.EstimatedResolution = estimate(d, rb)
	t.EscalateIf = "the alerts keep firing 15 minutes after the fix"
	if n, ok := g.Node(top.Service); ok && n.Team != "" {
		t.EscalateIf += fmt.Sprintf(", or the fix needs %s's owners (team %s)", top.Service, n.Team)
	}
	if d.Unsure || top.Confidence < 0.5 {
		t.EscalateIf += "; the cause is uncertain, so escalate early"
	}
	t.EscalateIf += "."
	return t
}

// checkOf is what confirms or rules out a candidate: the engine's check,
// else its saturation and errors.
func checkOf(c Candidate) string {
	if c.Check != "" {
		return strings.TrimSuffix(c.Check, ".")
	}
	return fmt.Sprintf("its saturation and errors (/graph %s)", c.Service)
}

// candidateWords lists candidates with their confidence: "a (40%), b (30%) or c (10%)".
func candidateWords(cs []Candidate) string {
	words := make([]string, len(cs))
	for i, c := range cs {
		words[i] = fmt.Sprintf("%s (%.0f%%)", c.Service, c.Confidence*100)
	}
	return orList(words)
}

// serviceWords lists candidates by name: "a, b or c".
func serviceWords(cs []Candidate) string {
	words := make([]string, len(cs))
	for i, c := range cs {
		words[i] = c.Service
	}
	return orList(words)
}

func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func checksWord(n int) string {
	switch n {
	case 1:
		return "check"
	case 2:
		return "two checks"
	}
	return fmt.Sprintf("%d checks", n)
}

// estimate guesses time to resolve from similar incidents, else the runbook.
func estimate(d Diagnosis, rb *RunbookBrief) string {
	var took []time.Duration
	for _, m := range d.History {
		if m.Resolved > 0 {
			took = append(took, m.Resolved)
		}
	}
	if len(took) > 0 {
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		return fmt.Sprintf("about %s (similar incidents took %s to %s)", Compact(took[len(took)/2]), Compact(took[0]), Compact(took[len(took)-1]))
	}
	if rb != nil {
		return fmt.Sprintf("15 to 30 minutes with %s (it may run up to %s)", rb.ID, Compact(rb.Timeout))
	}
	return "30 to 60 minutes"
}
