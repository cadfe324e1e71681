package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

func TestDiagnoseNamesOrderServiceForTheBlackFridayStorm(t *testing.T) {
	var out, errs strings.Builder
	code := Main(t.Context(), []string{"diagnose", "-"}, envOf(nil), strings.NewReader(string(scenarios.BlackFriday)), &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var d diagnosis.Diagnosis
	if err := json.Unmarshal([]byte(out.String()), &d); err != nil {
		t.Fatalf("output is not the JSON diagnosis: %v\n%s", err, out.String())
	}
	top, ok := d.Top()
	if !ok || top.Service != "order-service" || len(top.Evidence) == 0 || d.RecommendedRunbook != "RB-DB-001" {
		t.Errorf("top %+v runbook %q: want order-service with evidence and RB-DB-001", top, d.RecommendedRunbook)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(out.String()), &raw)
	for _, key := range []string{"candidates", "affected_services", "recommended_runbook"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("JSON lacks the documented key %q", key)
		}
	}

	out.Reset()
	code = Main(t.Context(), []string{"diagnose", "--format", "text", "-"}, envOf(nil), strings.NewReader(string(scenarios.BlackFriday)), &out, &errs)
	if code != 0 || !strings.HasPrefix(out.String(), "DatabaseConnectionPoolExhausted on order-service") || !strings.Contains(out.String(), "1. order-service") {
		t.Errorf("text format (exit %d):\n%s", code, out.String())
	}
}

func TestDiagnoseRejectsJunkInOneSentence(t *testing.T) {
	var out, errs strings.Builder
	code := Main(t.Context(), []string{"diagnose", "-"}, envOf(nil), strings.NewReader("{not json"), &out, &errs)
	if code != 1 || strings.Count(strings.TrimSpace(errs.String()), "\n") != 0 || out.Len() != 0 {
		t.Errorf("exit %d stderr %q stdout %q: want exit 1 and one line", code, errs.String(), out.String())
	}
}

// TestDemoReplaysTheStormIntoOneResolvedCard runs `bot demo` as a user would.
func TestDemoReplaysTheStormIntoOneResolvedCard(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 12s")
	}
	var out, errs strings.Builder
	if code := Main(t.Context(), []string{"demo"}, envOf(nil), nil, &out, &errs); code != 0 {
		t.Fatalf("demo exited %d: %s", code, errs.String())
	}
	transcript := out.String()
	if strings.TrimSpace(errs.String()) != "" {
		t.Errorf("the demo logged problems:\n%s", errs.String())
	}
	checks := []struct{ what, pattern string }{
		{"one card that names the root cause, resolved", `✅ INC-[0-9A-F]+ · DatabaseConnectionPoolExhausted on order-service · resolved`},
		{"the storm counted on the card", `31 alerts → 1 page`},
		{"the acknowledgement on the card", `Acknowledged by priya`},
		{"the first burst in the thread", `alerts grouped into INC-`},
		{"a closing reply with the duration", `resolved after \d+m \d+s\. 31 alerts`},
		{"the summary line", `Summary: 31 alerts → 1 card .*pages: 1\.`},
		{"the triage on the firing card", `\*Do now:\* .*RB-DB-001`},
		{"an answer to a follow-up question", `You asked about postgres-rds \(database\): it is candidate`},
		{"a picture in the thread", `\[file: graph-order-service\.png\]`},
		{"the refused approval, shown to dana only", `only visible to @dana\)\n\s+You cannot approve this run`},
		{"the approved run's result", `RB-DEMO-001 \(RUN-[0-9A-F]+\) succeeded`},
		{"who approved", `\*Approved by:\* marcus`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.pattern).MatchString(transcript) {
			t.Errorf("transcript lacks %s (/%s/):\n%s", c.what, c.pattern, transcript)
		}
	}
	scen, _ := diagnosisAlerts(t)
	for name := range scen {
		if !strings.Contains(transcript, name) {
			t.Errorf("alert %s is not in the thread", name)
		}
	}
}

func diagnosisAlerts(t *testing.T) (map[string]bool, int) {
	var msg struct{ Alerts []diagnosis.Alert }
	if err := json.Unmarshal(scenarios.BlackFriday, &msg); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, a := range msg.Alerts {
		names[a.Name()] = true
	}
	return names, len(msg.Alerts)
}
