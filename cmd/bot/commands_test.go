package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/golden"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

func TestDiagnoseNamesOrderServiceForTheBlackFridayStorm(t *testing.T) {
	var out, errs strings.Builder
	env := envOf(map[string]string{"SERVICE_GRAPH": exampleGraphFile(t)})
	code := Main(t.Context(), []string{"diagnose", "-"}, env, strings.NewReader(string(scenarios.BlackFriday)), &out, &errs)
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
	golden.AssertJSON(t, filepath.Join("testdata", "diagnose-black-friday.json"), withoutGeneratedAt(t, out.String()))

	out.Reset()
	code = Main(t.Context(), []string{"diagnose", "--format", "text", "-"}, env, strings.NewReader(string(scenarios.BlackFriday)), &out, &errs)
	if code != 0 || !strings.HasPrefix(out.String(), "DatabaseConnectionPoolExhausted on order-service") || !strings.Contains(out.String(), "1. order-service") {
		t.Errorf("text format (exit %d):\n%s", code, out.String())
	}
	golden.Assert(t, filepath.Join("testdata", "diagnose-black-friday.txt"), []byte(out.String()))
}

var generatedAt = regexp.MustCompile(`"generated_at": "([^"]*)"`)

// withoutGeneratedAt checks that the diagnosis says when it was made (just
// now) and puts a placeholder there: the only time in `bot diagnose`'s JSON
// that is not the file's own.
func withoutGeneratedAt(t *testing.T, out string) []byte {
	t.Helper()
	found := generatedAt.FindAllStringSubmatch(out, -1)
	if len(found) != 1 {
		t.Fatalf("the JSON has %d generated_at keys, want 1:\n%s", len(found), out)
	}
	at, err := time.Parse(time.RFC3339Nano, found[0][1])
	if err != nil || time.Since(at).Abs() > time.Minute {
		t.Errorf("generated_at is %q (%v), want the time of the run", found[0][1], err)
	}
	return []byte(generatedAt.ReplaceAllLiteralString(out, `"generated_at": "(the time of the run)"`))
}

func TestDiagnoseRejectsJunkInOneSentence(t *testing.T) {
	var out, errs strings.Builder
	code := Main(t.Context(), []string{"diagnose", "-"}, envOf(nil), strings.NewReader("{not json"), &out, &errs)
	if code != 1 || strings.Count(strings.TrimSpace(errs.String()), "\n") != 0 || out.Len() != 0 {
		t.Errorf("exit %d stderr %q stdout %q: want exit 1 and one line", code, errs.String(), out.String())
	}
}
