package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/runbooks"
)

func demoRunbook() runbooks.Runbook {
	return runbooks.Runbook{ID: "RB-DB-001", Title: "Raise a service's database connection pool", Risk: runbooks.RiskMedium, DryRun: true,
		Approvals: runbooks.Approvals{Required: 1}, Timeout: 15 * time.Minute}
}

func demoRequest(state runbooks.State) runbooks.Request {
	vars := map[string]any{"service": "order-service", "namespace": "production", "pool_multiplier": "1.5", "max_pool": 50,
		"incident_id": "INC-4F2A", "runbook_id": "RB-DB-001", "run_id": "RUN-0A1B2C", "requested_by": runbooks.Recommender}
	return runbooks.Request{ID: "RUN-0A1B2C", Incident: "INC-4F2A", Runbook: "RB-DB-001", Vars: vars, Source: runbooks.SourceCard,
		RequestedBy: runbooks.Recommender, RequestedAt: at, ExpiresAt: at.Add(30 * time.Minute), Digest: runbooks.Digest("RB-DB-001", vars),
		State: state, Needed: 1}
}

func names(id string) string { return map[string]string{"U1": "priya", "U2": "marcus"}[id] }

func TestRequestMessageGolden(t *testing.T) {
	wouldChange := &runbooks.Result{Outcome: runbooks.OutcomeSucceeded, Started: at, Ended: at.Add(4 * time.Second), Tasks: []runbooks.TaskResult{
		{Task: "Read the Deployment", Host: "localhost", Status: runbooks.TaskOK},
		{Task: "Raise DB_POOL_SIZE", Host: "localhost", Status: runbooks.TaskChanged, Msg: "DB_POOL_SIZE 20 → 30 <!channel>"},
	}}
	cases := []struct {
		name string
		req  func() runbooks.Request
	}{
		{"request-card-pending", func() runbooks.Request {
			r := demoRequest(runbooks.StatePending)
			r.DryRun = wouldChange
			return r
		}},
		{"request-person-two-person-pending", func() runbooks.Request {
			r := demoRequest(runbooks.StatePending)
			r.Source, r.RequestedBy, r.Needed = runbooks.SourcePerson, "U1", 2
			r.Approvals = []runbooks.Decision{{By: "U2", At: at}}
			return r
		}},
		{"request-running", func() runbooks.Request {
			r := demoRequest(runbooks.StateRunning)
			r.Approvals = []runbooks.Decision{{By: "U2", At: at}}
			r.Progress, r.Checking = wouldChange.Tasks, true
			return r
		}},
		{"request-expired", func() runbooks.Request {
			r := demoRequest(runbooks.StateExpired)
			r.Note = "expired: INC-4F2A is resolved."
			return r
		}},
		{"request-interrupted-by-shutdown", func() runbooks.Request {
			r := demoRequest(runbooks.StateInterrupted)
			r.Approvals = []runbooks.Decision{{By: "U2", At: at}}
			r.Note = "interrupted by shutdown: nightowl stopped while it ran and interrupted ansible-playbook; check the system before running it again."
			r.Result = &runbooks.Result{Outcome: runbooks.OutcomeCancelled, ExitCode: -1, Started: at, Ended: at.Add(61 * time.Second)}
			return r
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rb := demoRunbook()
			if strings.Contains(tc.name, "two-person") {
				rb.Approvals.TwoPerson = true
			}
			mustGolden(t, tc.name, renderRequest(requestView{Request: tc.req(), Runbook: rb, Names: names}))
		})
	}
}

func TestTheCardsButtonsApproveItsOwnRequestOnly(t *testing.T) {
	in := blackFridayIncident(t)
	d := diagnose(t, in)
	own := demoRequest(runbooks.StatePending)
	mustGolden(t, "card-with-its-request", renderCard(cardView{Incident: in, Diagnosis: d, PagedName: "@oncall", Now: at, Run: &own, RunBy: "nightowl"}))

	someones := demoRequest(runbooks.StatePending)
	someones.Source, someones.RequestedBy = runbooks.SourcePerson, "U1"
	running := demoRequest(runbooks.StateRunning)
	for name, v := range map[string]cardView{
		"no request yet":                    {Incident: in, Diagnosis: d, Now: at},
		"someone else's request":            {Incident: in, Diagnosis: d, Now: at, Run: &someones},
		"the card's request is running":     {Incident: in, Diagnosis: d, Now: at, Run: &running},
		"alerts Alertmanager does not know": {Incident: in, Diagnosis: d, Now: at, Run: &own, Unverified: true},
	} {
		raw, _ := json.Marshal(renderCard(v).Blocks)
		if strings.Contains(string(raw), ActionRunbookApprove) {
			t.Errorf("%s: the card offers Approve", name)
		}
	}
}

// TestRunbookButtonsStayWithinSlacksLimits builds every runbook message
// from the longest runbook and parameters a catalog allows.
func TestRunbookButtonsStayWithinSlacksLimits(t *testing.T) {
	long := strings.Repeat("x", 200)
	rb := runbooks.Runbook{ID: "RB-" + strings.Repeat("A", 57) + "-001", // the longest ID a card offers Title: strings.Repeat("T<&>", 500), Risk: runbooks.RiskHigh,
		Approvals: runbooks.Approvals{Required: 2, TwoPerson: true}}
	vars := map[string]any{"run_id": "RUN-0A1B2C"}
	for i := range 40 {
		vars[strings.Repeat("p", 40)+string(rune('a'+i%26))+string(rune('a'+i/26))] = long + "<@U1>&"
	}
	var rendered []Message
	for _, st := range []runbooks.State{runbooks.StatePending, runbooks.StateRunning, runbooks.StateFailed} {
		r := runbooks.Request{ID: "RUN-0A1B2C", Incident: "INC-" + long, Runbook: rb.ID, Vars: vars, Source: runbooks.SourceCard,
			RequestedBy: runbooks.Recommender, Digest: runbooks.Digest(rb.ID, vars), State: st, ExpiresAt: at, Note: long + long,
			Progress: []runbooks.TaskResult{{Task: long + long, Msg: long + long, Status: runbooks.TaskChanged}},
			Result:   &runbooks.Result{Output: strings.Repeat(long+"\n", 100)}}
		rendered = append(rendered, renderRequest(requestView{Request: r, Runbook: rb}))
		if st == runbooks.StatePending {
			in := blackFridayIncident(t)
			d := diagnose(t, in)
			d.RecommendedRunbook = rb.ID
			card := renderCard(cardView{Incident: in, Diagnosis: d, Now: at, Run: &r})
			if raw, _ := json.Marshal(card.Blocks); !strings.Contains(string(raw), ActionRunbookApprove) {
				t.Fatal("the card does not offer its request")
			}
			rendered = append(rendered, card)
		}
	}
	for i, m := range rendered {
		raw, _ := json.Marshal(m.Blocks)
		if err := slackemu.Validate(raw); err != nil {
			t.Errorf("message %d: Slack would refuse it: %v", i, err)
		}
		var blocks []map[string]any
		_ = json.Unmarshal(raw, &blocks)
		for _, b := range blocks {
			els, _ := b["elements"].([]any)
			for _, e := range els {
				el, _ := e.(map[string]any)
				if el["type"] != "button" {
					continue
				}
				value, _ := el["value"].(string)
				label := el["text"].(map[string]any)["text"].(string)
				if len(value) > runbookValueMax || slackLen(label) > maxButtonText {
					t.Errorf("message %d: button %q value %d chars, label %d", i, el["action_id"], len(value), slackLen(label))
				}
			}
		}
	}
}
