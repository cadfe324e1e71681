package diagnosis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func TestRulesTriageFillsEveryFieldFromTheDiagnosis(t *testing.T) {
	g := graph.Example()
	in := incidentOf(blackFriday(t))
	d := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g}).Diagnose(t.Context(), in)
	d.Unsure = false // a sure diagnosis: the unsure triage has its own test
	rb := &diagnosis.RunbookBrief{ID: "RB-DB-001", Title: "Raise the pool", DryRun: true, Timeout: 15 * time.Minute}
	tr := diagnosis.RulesTriage(in, d, g, rb)
	if tr.Source != "rules" || len(tr.Steps) < 3 {
		t.Fatalf("triage %+v", tr)
	}
	for name, v := range map[string]string{"one_line_summary": tr.OneLineSummary, "what_is_happening": tr.WhatIsHappening,
		"immediate_action": tr.ImmediateAction, "do_not_do": tr.DoNotDo, "estimated_resolution_time": tr.EstimatedResolution, "escalate_if": tr.EscalateIf} {
		if strings.TrimSpace(v) == "" {
			t.Errorf("%s is empty", name)
		}
	}
	top, _ := d.Top() // the triage names whatever the engine ranks first
	for _, want := range []string{top.Service} {
		if !strings.Contains(tr.OneLineSummary, want) || !strings.Contains(tr.WhatIsHappening, want) {
			t.Errorf("the triage does not name %s: %+v", want, tr)
		}
	}
	if !strings.Contains(tr.ImmediateAction, "dry run of RB-DB-001") || !strings.Contains(tr.ImmediateAction, "Approve RB-DB-001") {
		t.Errorf("immediate action %q", tr.ImmediateAction)
	}
	if len([]rune(tr.OneLineSummary)) > 150 {
		t.Errorf("summary too long: %d runes", len([]rune(tr.OneLineSummary)))
	}
	if again := diagnosis.RulesTriage(in, d, g, rb); again.WhatIsHappening != tr.WhatIsHappening {
		t.Errorf("the rules triage is not deterministic")
	}
}

// unsureDiagnosis is a diagnosis that cannot decide between three causes.
func unsureDiagnosis() diagnosis.Diagnosis {
	return diagnosis.Diagnosis{
		Unsure: true, NoneOfThese: 0.25, RecommendedRunbook: "RB-DB-001",
		AffectedServices: []string{"checkout-service", "order-service", "payment-service"},
		Alerts:           diagnosis.AlertCounts{Distinct: 12, Firing: 12, Received: 20, Pages: 1},
		Candidates: []diagnosis.Candidate{
			{Service: "order-service", Confidence: 0.41, Alerts: []string{"DatabaseConnectionPoolExhausted"}, Evidence: []string{"its alert reports a cause"},
				Check: "`kubectl rollout history` and order-service's logs since 23:47 UTC"},
			{Service: "postgres-rds", Confidence: 0.22, Check: "postgres-rds's connections, locks and slow queries since 23:47 UTC (`/graph postgres-rds`)"},
			{Service: "kafka", Confidence: 0.08},
			{Service: "payment-service", Confidence: 0.04, Check: "payment-service is fourth: never a step"},
		},
	}
}

func TestRulesTriageWhenUnsureSaysToRunTheChecksNotTheRunbook(t *testing.T) {
	g := graph.Example()
	in := incidentOf(blackFriday(t))
	rb := &diagnosis.RunbookBrief{ID: "RB-DB-001", Title: "Raise the pool", DryRun: true, Timeout: 15 * time.Minute}
	d := unsureDiagnosis()
	tr := diagnosis.RulesTriage(in, d, g, rb)

	if !strings.Contains(tr.ImmediateAction, "Run the 3 checks below before approving any runbook") || strings.Contains(tr.ImmediateAction, "Approve RB-DB-001") {
		t.Errorf("do now %q, want the three checks, not the top candidate's runbook", tr.ImmediateAction)
	}
	steps := strings.Join(tr.Steps, "\n")
	for _, want := range []string{
		"Check order-service (41%): `kubectl rollout history` and order-service's logs since 23:47 UTC.",
		"Check postgres-rds (22%): postgres-rds's connections, locks and slow queries since 23:47 UTC (`/graph postgres-rds`).",
		"Check kafka (8%): its saturation and errors (/graph kafka).",
		"@nightowl cause <service>",
	} {
		if !strings.Contains(steps, want) {
			t.Errorf("steps lack %q:\n%s", want, steps)
		}
	}
	if strings.Contains(steps, "payment-service") || strings.Contains(steps, "through Approve") {
		t.Errorf("steps go beyond the three checks:\n%s", steps)
	}
	for _, want := range []string{"not sure", "order-service (41%), postgres-rds (22%) or kafka (8%)", "something nightowl cannot see (25%)"} {
		if !strings.Contains(tr.WhatIsHappening, want) {
			t.Errorf("what is happening %q lacks %q", tr.WhatIsHappening, want)
		}
	}
	if !strings.HasPrefix(tr.OneLineSummary, "Not sure") || !strings.Contains(tr.EscalateIf, "escalate early") {
		t.Errorf("summary %q, escalate if %q", tr.OneLineSummary, tr.EscalateIf)
	}

	// Sure of it, the same diagnosis says to approve, after its own check.
	d.Unsure, d.NoneOfThese, d.Candidates[0].Confidence = false, 0.05, 0.83
	tr = diagnosis.RulesTriage(in, d, g, rb)
	if !strings.Contains(tr.ImmediateAction, "Approve RB-DB-001") {
		t.Errorf("sure: do now %q, want the runbook", tr.ImmediateAction)
	}
	if want := "Confirm on order-service: `kubectl rollout history` and order-service's logs since 23:47 UTC."; tr.Steps[0] != want {
		t.Errorf("sure: first step %q, want %q", tr.Steps[0], want)
	}
	if strings.Contains(tr.WhatIsHappening, "not sure") || strings.Contains(tr.WhatIsHappening, "cannot see") {
		t.Errorf("sure: what is happening %q", tr.WhatIsHappening)
	}
}

func TestRulesTriageNamesTwoRootsAndTheChangeBeforeTheAlerts(t *testing.T) {
	g := graph.Example()
	in := incidentOf(blackFriday(t))
	d := unsureDiagnosis()
	d.Unsure, d.Candidates[0].Confidence = false, 0.7
	d.Explanation = []string{"order-service", "kafka"}
	d.Changes = []diagnosis.ChangeEvent{{Service: "order-service", Kind: "rollout", Text: "order-service rolled out 4 min before the first alert"}}
	tr := diagnosis.RulesTriage(in, d, g, nil)
	if !strings.Contains(tr.WhatIsHappening, "Two independent failures: order-service and kafka.") {
		t.Errorf("what is happening %q does not name both roots", tr.WhatIsHappening)
	}
	if steps := strings.Join(tr.Steps, "\n"); !strings.Contains(steps, "Look at what changed just before: order-service rolled out 4 min before the first alert.") {
		t.Errorf("steps do not point at the change:\n%s", steps)
	}
}
