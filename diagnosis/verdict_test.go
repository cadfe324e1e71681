package diagnosis_test

import (
	"cmp"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func TestHistoryIgnoresDiagnosesPeopleDisputed(t *testing.T) {
	start := mkTime()
	g, err := graph.Parse([]byte(twinDBs))
	if err != nil {
		t.Fatal(err)
	}
	const said = "the same pattern was fixed by RB-DB-009 once before"
	for _, tc := range []struct {
		verdict  string
		supports bool
	}{
		{"", true},
		{diagnosis.VerdictConfirmed, true},
		{diagnosis.VerdictDisputed, false},
	} {
		name := map[bool]string{true: "supports", false: "does not support"}[tc.supports]
		t.Run("a past incident with verdict "+cmp.Or(tc.verdict, "none")+" "+name+" its root cause", func(t *testing.T) {
			past := diagnosis.HistoryFunc(func(context.Context, int) ([]diagnosis.Past, error) {
				return []diagnosis.Past{{
					Incident: "INC-BEFORE", When: start.Add(-24 * time.Hour), RootCause: "billing-db",
					AlertNames: []string{"PostgresSlowQueries", "ServiceErrorRateHigh"}, Services: []string{"api", "billing-db", "users-db"},
					Runbook: "RB-DB-009", Outcome: "fixed", TimeToResolve: 20 * time.Minute, Verdict: tc.verdict,
				}}, nil
			})
			e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, History: past, Now: func() time.Time { return start }})
			d := e.Diagnose(t.Context(), twinIncident(start))

			if len(d.History) != 1 || d.History[0].Incident != "INC-BEFORE" || d.History[0].Verdict != tc.verdict {
				t.Fatalf("history %+v, want INC-BEFORE with verdict %q", d.History, tc.verdict)
			}
			billing, users := candidate(t, d, "billing-db"), candidate(t, d, "users-db")
			score, scored := billing.Signals["history"]
			evidence := strings.Join(billing.Evidence, "; ")
			if tc.supports {
				if !scored || score != d.History[0].Similarity {
					t.Errorf("history signal %v (set %v), want the match's similarity %v", score, scored, d.History[0].Similarity)
				}
				if !strings.Contains(evidence, said) {
					t.Errorf("evidence %q, want %q", evidence, said)
				}
				if billing.Confidence <= users.Confidence {
					t.Errorf("billing-db %.3f, users-db %.3f: history should set the twins apart", billing.Confidence, users.Confidence)
				}
			} else {
				if scored {
					t.Errorf("history signal %v on a diagnosis people disputed", score)
				}
				if strings.Contains(evidence, "same pattern") {
					t.Errorf("evidence %q cites a diagnosis people disputed", evidence)
				}
				if billing.Confidence != users.Confidence {
					t.Errorf("billing-db %.3f, users-db %.3f: without history the twins should tie", billing.Confidence, users.Confidence)
				}
			}
			// The runbook fixed the incident whatever the diagnosis said: it is
			// still recommended.
			if d.RecommendedRunbook != "RB-DB-009" {
				t.Errorf("runbook %q (%s), want RB-DB-009, which fixed the same pattern", d.RecommendedRunbook, d.RunbookReason)
			}
		})
	}
}

func candidate(tb testing.TB, d diagnosis.Diagnosis, service string) diagnosis.Candidate {
	tb.Helper()
	for _, c := range d.Candidates {
		if c.Service == service {
			return c
		}
	}
	tb.Fatalf("no candidate %s among %+v", service, d.Candidates)
	return diagnosis.Candidate{}
}
