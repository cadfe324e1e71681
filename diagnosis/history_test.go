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

// TestHistoryLearnsOnlyConfirmedCauses: a past incident supports its root
// cause only when a person, a fix or votes confirmed it; its runbook counts
// whatever the diagnosis said.
func TestHistoryLearnsOnlyConfirmedCauses(t *testing.T) {
	start := mkTime()
	g, err := graph.Parse([]byte(twinDBs))
	if err != nil {
		t.Fatal(err)
	}
	const fixed = "the same pattern was fixed by RB-DB-009 once before"
	for _, tc := range []struct {
		name      string
		confirmed string
		verdict   string
		says      string // "" when the past incident must not support billing-db
	}{
		{"a cause nothing confirmed supports nothing", "", "", ""},
		{"a cause nothing confirmed supports nothing, whatever the verdict says", "", diagnosis.VerdictConfirmed, ""},
		{"a person's correction supports its cause", diagnosis.ConfirmedByCorrection, "",
			fixed + " (confirmed by a person's correction)"},
		{"a person's correction supports its cause even when people voted the diagnosis down", diagnosis.ConfirmedByCorrection, diagnosis.VerdictDisputed,
			fixed + " (confirmed by a person's correction)"},
		{"the runbook that fixed it supports its target", diagnosis.ConfirmedByRunbook, "",
			fixed + " (confirmed by the runbook that fixed it)"},
		{"👍 votes support the diagnosed cause", diagnosis.ConfirmedByVotes, diagnosis.VerdictConfirmed,
			fixed + " (confirmed by people's 👍)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			past := diagnosis.HistoryFunc(func(context.Context, int) ([]diagnosis.Past, error) {
				return []diagnosis.Past{{
					Incident: "INC-BEFORE", When: start.Add(-24 * time.Hour), RootCause: "billing-db", Confirmed: tc.confirmed,
					AlertNames: []string{"PostgresSlowQueries", "ServiceErrorRateHigh"}, Services: []string{"api", "billing-db", "users-db"},
					Runbook: "RB-DB-009", Outcome: "fixed", TimeToResolve: 20 * time.Minute, Verdict: tc.verdict,
				}}, nil
			})
			e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, History: past, Now: func() time.Time { return start }})
			d := e.Diagnose(t.Context(), twinIncident(start))

			if len(d.History) != 1 || d.History[0].Incident != "INC-BEFORE" || d.History[0].Verdict != tc.verdict {
				t.Fatalf("history %+v, want INC-BEFORE with verdict %q", d.History, tc.verdict)
			}
			m := d.History[0]
			if tc.says == "" && (m.RootCause != "" || m.Confirmed != "") {
				t.Errorf("history shows root cause %q (confirmed %q): an unconfirmed cause is a guess", m.RootCause, m.Confirmed)
			}
			if tc.says != "" && (m.RootCause != "billing-db" || m.Confirmed != tc.confirmed) {
				t.Errorf("history shows root cause %q confirmed by %q, want billing-db by %q", m.RootCause, m.Confirmed, tc.confirmed)
			}
			billing, users := candidate(t, d, "billing-db"), candidate(t, d, "users-db")
			score, scored := billing.Signals["history"]
			evidence := strings.Join(billing.Evidence, "; ")
			if tc.says != "" {
				if !scored || score <= 0 {
					t.Errorf("history signal %v (set %v), want it to speak", score, scored)
				}
				if !strings.Contains(evidence, tc.says) {
					t.Errorf("evidence %q, want %q", evidence, tc.says)
				}
				if billing.Confidence <= users.Confidence {
					t.Errorf("billing-db %.3f, users-db %.3f: history should set the twins apart", billing.Confidence, users.Confidence)
				}
			} else {
				if scored && score != 0 {
					t.Errorf("history signal %v for an unconfirmed cause", score)
				}
				if strings.Contains(evidence, "same pattern") {
					t.Errorf("evidence %q cites an unconfirmed cause", evidence)
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

func TestPastOfRemembersOnlyAConfirmedCause(t *testing.T) {
	start := mkTime()
	in := twinIncident(start)
	in.Status, in.ResolvedAt = diagnosis.Resolved, start.Add(30*time.Minute)
	d := diagnosis.Diagnosis{Candidates: []diagnosis.Candidate{{Service: "billing-db", Confidence: 0.7}}, AffectedServices: []string{"api", "billing-db", "users-db"}}
	for _, tc := range []struct {
		name          string
		c             diagnosis.Confirmations
		cause, reason string
	}{
		{"nothing confirmed", diagnosis.Confirmations{}, "", ""},
		{"people voted the diagnosis down", diagnosis.Confirmations{Verdict: diagnosis.VerdictDisputed}, "", ""},
		{"people voted the diagnosis right", diagnosis.Confirmations{Verdict: diagnosis.VerdictConfirmed}, "billing-db", diagnosis.ConfirmedByVotes},
		{"a runbook fixed another service", diagnosis.Confirmations{Fixed: "users-db", Verdict: diagnosis.VerdictConfirmed}, "users-db", diagnosis.ConfirmedByRunbook},
		{"a person corrected it", diagnosis.Confirmations{Correction: "api", Fixed: "users-db", Verdict: diagnosis.VerdictConfirmed}, "api", diagnosis.ConfirmedByCorrection},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := diagnosis.PastOf(in, d, "RB-DB-009", "fixed", tc.c)
			if p.RootCause != tc.cause || p.Confirmed != tc.reason {
				t.Errorf("root cause %q confirmed by %q, want %q by %q", p.RootCause, p.Confirmed, tc.cause, cmp.Or(tc.reason, `""`))
			}
			if p.Runbook != "RB-DB-009" || p.TimeToResolve != 30*time.Minute || len(p.AlertNames) != 2 {
				t.Errorf("past %+v lost what it remembers besides the cause", p)
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
