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
	for _, want := range []string{"order-service"} {
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
