package runbooks_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/runbooks"
)

// memAudit records like the store, in memory.
type memAudit struct {
	mu       sync.Mutex
	requests map[string]runbooks.Request
	events   []runbooks.AuditEvent
	outcomes map[string]string
}

func newMemAudit() *memAudit {
	return &memAudit{requests: map[string]runbooks.Request{}, outcomes: map[string]string{}}
}

func (m *memAudit) SaveRequest(_ context.Context, r runbooks.Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[r.ID] = r.Clone()
	return nil
}

func (m *memAudit) AppendAudit(_ context.Context, e runbooks.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

func (m *memAudit) OpenRequests(context.Context) ([]runbooks.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []runbooks.Request
	for _, r := range m.requests {
		if r.State.Open() {
			out = append(out, r.Clone())
		}
	}
	return out, nil
}

func (m *memAudit) SaveOutcome(_ context.Context, incident, runbook, outcome string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outcomes[incident] = runbook + ":" + outcome
	return nil
}

func (m *memAudit) kinds() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, e := range m.events {
		out = append(out, e.Kind)
	}
	return out
}

// fakeRunner counts jobs and can block until released.
type fakeRunner struct {
	mu      sync.Mutex
	jobs    []runbooks.Job
	release chan struct{} // nil: finish at once
	outcome map[bool]string
	started chan runbooks.Job
}

func (f *fakeRunner) Run(ctx context.Context, job runbooks.Job, progress func(runbooks.TaskResult)) (runbooks.Result, error) {
	f.mu.Lock()
	f.jobs = append(f.jobs, job)
	f.mu.Unlock()
	if f.started != nil {
		f.started <- job
	}
	res := runbooks.Result{Outcome: runbooks.OutcomeSucceeded, Started: time.Now()}
	if o, ok := f.outcome[job.Check]; ok {
		res.Outcome = o
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			res.Outcome = runbooks.OutcomeCancelled
		}
	}
	t := runbooks.TaskResult{Task: "touch", Host: "localhost", Status: runbooks.TaskChanged}
	progress(t)
	res.Tasks, res.Changed, res.Ended = []runbooks.TaskResult{t}, 1, time.Now()
	return res, nil
}

func (f *fakeRunner) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jobs)
}

type fakeDirectory map[string][]string

func (d fakeDirectory) GroupMembers(_ context.Context, g string) ([]string, error) { return d[g], nil }

const demoRunbook = `id: RB-DEMO-001
title: Touch a file
playbook: demo.yml
dry_run: %DRY%
approvals: {required: %REQ%, two_person: %TWO%}
parameters:
  - {name: service, type: service, from: root_cause, required: true}
  - {name: lines, type: integer, min: 1, max: 5, default: "1"}
`

// harness runs a Service over a one-runbook catalog.
type harness struct {
	svc    *runbooks.Service
	audit  *memAudit
	runner *fakeRunner
	notes  chan runbooks.Update
}

func mustService(t *testing.T, dry bool, required int, twoPerson bool, runner *fakeRunner, audit *memAudit, maxRuns int) *harness {
	t.Helper()
	dir := t.TempDir()
	doc := strings.NewReplacer("%DRY%", map[bool]string{true: "true", false: "false"}[dry], "%REQ%", string(rune('0'+required)),
		"%TWO%", map[bool]string{true: "true", false: "false"}[twoPerson]).Replace(demoRunbook)
	if err := os.WriteFile(filepath.Join(dir, "demo.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := runbooks.LoadCatalog(dir, runbooks.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if audit == nil {
		audit = newMemAudit()
	}
	h := &harness{audit: audit, runner: runner, notes: make(chan runbooks.Update, 100)}
	policy := runbooks.NewPolicy([]string{"U0APPROVER", "U0OTHER", "S0LEADS"}, fakeDirectory{"S0LEADS": {"U0LEAD"}}, nil)
	h.svc = runbooks.NewService(runbooks.Config{MaxRuns: maxRuns, PlaybooksDir: dir}, cat, policy, runner, audit,
		runbooks.NotifierFunc(func(_ context.Context, u runbooks.Update) { h.notes <- u }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// waitFor polls a condition for up to 5s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) open(t *testing.T, by string) runbooks.Request {
	t.Helper()
	r, created, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: by, RootCause: "order-service"})
	if err != nil || !created {
		t.Fatalf("open: %v created=%v", err, created)
	}
	return r
}

func (h *harness) state(id string) runbooks.State {
	r, _ := h.svc.Get(id)
	return r.State
}

func TestSomeoneNotAnApproverIsRefusedAndNothingRuns(t *testing.T) {
	h := mustService(t, false, 1, false, &fakeRunner{}, nil, 2)
	r := h.open(t, "U0STRANGER")
	_, msg, err := h.svc.Approve(t.Context(), r.ID, "U0STRANGER")
	if err != nil || !strings.Contains(msg, "You cannot approve this run") {
		t.Fatalf("msg %q err %v, want a refusal", msg, err)
	}
	if h.runner.count() != 0 || h.state(r.ID) != runbooks.StatePending {
		t.Errorf("ran %d jobs, state %s: a refusal must change nothing", h.runner.count(), h.state(r.ID))
	}
	if !slices.Contains(h.audit.kinds(), runbooks.AuditRefused) {
		t.Errorf("the refusal is not on the record: %v", h.audit.kinds())
	}
}

func TestApprovalStartsExactlyOneRunWhateverTheClicks(t *testing.T) {
	runner := &fakeRunner{release: make(chan struct{})}
	h := mustService(t, false, 1, false, runner, nil, 2)
	r := h.open(t, "U0REQUESTER")
	var wg sync.WaitGroup
	for _, u := range []string{"U0APPROVER", "U0APPROVER", "U0OTHER", "U0LEAD"} { // a double click, and two more approvers at once
		wg.Go(func() { _, _, _ = h.svc.Approve(context.Background(), r.ID, u) })
	}
	wg.Wait()
	waitFor(t, func() bool { return h.runner.count() == 1 })
	close(runner.release)
	waitFor(t, func() bool { return h.state(r.ID) == runbooks.StateSucceeded })
	if n := runner.count(); n != 1 {
		t.Errorf("%d runs, want exactly 1", n)
	}
	if got := h.audit.outcomes["INC-1"]; got != "RB-DEMO-001:fixed" {
		t.Errorf("outcome %q: the history must learn what fixed the incident", got)
	}
}

func TestTheTwoPersonRuleNeedsAnotherApprover(t *testing.T) {
	h := mustService(t, false, 1, true, &fakeRunner{}, nil, 2)
	r := h.open(t, "U0APPROVER")
	_, msg, _ := h.svc.Approve(t.Context(), r.ID, "U0APPROVER")
	if !strings.Contains(msg, "does not count") || h.runner.count() != 0 {
		t.Fatalf("msg %q, %d runs: the requester's own approval must not count", msg, h.runner.count())
	}
	if _, msg, _ := h.svc.Approve(t.Context(), r.ID, "U0LEAD"); msg != "" { // a member of the approver group
		t.Fatalf("msg %q", msg)
	}
	waitFor(t, func() bool { return h.state(r.ID) == runbooks.StateSucceeded })
}

func TestACheckRunComesFirstAndAFailingOneStopsTheRealRun(t *testing.T) {
	cases := []struct {
		name      string
		outcome   map[bool]string
		wantJobs  []bool // Check flags in order
		wantState runbooks.State
	}{
		{"a clean check is followed by the real run", nil, []bool{true, false}, runbooks.StateSucceeded},
		{"a failing check stops before anything changes", map[bool]string{true: runbooks.OutcomeFailed}, []bool{true}, runbooks.StateFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runner := &fakeRunner{outcome: tc.outcome}
			h := mustService(t, true, 1, false, runner, nil, 2)
			r := h.open(t, "U0REQUESTER")
			if _, msg, _ := h.svc.Approve(t.Context(), r.ID, "U0APPROVER"); msg != "" {
				t.Fatal(msg)
			}
			waitFor(t, func() bool { return !h.stateOpen(r.ID) })
			var checks []bool
			for _, j := range runner.jobs {
				checks = append(checks, j.Check)
			}
			if !slices.Equal(checks, tc.wantJobs) || h.state(r.ID) != tc.wantState {
				t.Errorf("jobs %v state %s, want %v and %s", checks, h.state(r.ID), tc.wantJobs, tc.wantState)
			}
		})
	}
}

func (h *harness) stateOpen(id string) bool { return h.state(id).Open() }

func TestCancelStopsARunningRun(t *testing.T) {
	runner := &fakeRunner{release: make(chan struct{}), started: make(chan runbooks.Job, 1)}
	h := mustService(t, false, 1, false, runner, nil, 2)
	r := h.open(t, "U0REQUESTER")
	h.svc.Approve(t.Context(), r.ID, "U0APPROVER")
	<-runner.started
	if _, msg, _ := h.svc.Cancel(t.Context(), r.ID, "U0STRANGER"); !strings.Contains(msg, "Only an approver or the requester") {
		t.Errorf("a stranger could cancel: %q", msg)
	}
	if _, msg, _ := h.svc.Cancel(t.Context(), r.ID, "U0REQUESTER"); msg != "" {
		t.Fatal(msg)
	}
	waitFor(t, func() bool { return h.state(r.ID) == runbooks.StateCancelled })
}

func TestRunsBeyondTheLimitWaitTheirTurn(t *testing.T) {
	runner := &fakeRunner{release: make(chan struct{}), started: make(chan runbooks.Job, 2)}
	h := mustService(t, false, 1, false, runner, nil, 1)
	first := h.open(t, "U0REQUESTER")
	second, _, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-2", Runbook: "RB-DEMO-001", By: "U0REQUESTER", RootCause: "x"})
	if err != nil {
		t.Fatal(err)
	}
	h.svc.Approve(t.Context(), first.ID, "U0APPROVER")
	<-runner.started
	if _, msg, _ := h.svc.Approve(t.Context(), second.ID, "U0APPROVER"); msg != "" {
		t.Fatal(msg)
	}
	waitFor(t, func() bool { return h.state(second.ID) == runbooks.StateQueued })
	if runner.count() != 1 {
		t.Fatalf("%d runs at once with a limit of 1", runner.count())
	}
	runner.release <- struct{}{}
	<-runner.started
	runner.release <- struct{}{}
	waitFor(t, func() bool { return h.state(second.ID) == runbooks.StateSucceeded })
}

func TestARunInFlightWhenTheBotDiedIsMarkedInterrupted(t *testing.T) {
	audit := newMemAudit()
	audit.requests["RUN-OLD"] = runbooks.Request{ID: "RUN-OLD", Incident: "INC-9", Runbook: "RB-DEMO-001", State: runbooks.StateRunning, Vars: map[string]any{}}
	h := mustService(t, false, 1, false, &fakeRunner{}, audit, 2)
	waitFor(t, func() bool { return h.state("RUN-OLD") == runbooks.StateInterrupted })
	for {
		u := <-h.notes
		if u.Kind == runbooks.UpdateInterrupted && u.Request.ID == "RUN-OLD" {
			break
		}
	}
	if !slices.Contains(audit.kinds(), runbooks.AuditInterrupted) {
		t.Errorf("the interruption is not on the record: %v", audit.kinds())
	}
}

func TestParametersOutOfRangeAreRefusedWhenTheRequestOpens(t *testing.T) {
	h := mustService(t, false, 1, false, &fakeRunner{}, nil, 2)
	_, _, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: "U1", RootCause: "order-service", Inputs: map[string]string{"lines": "9"}})
	if err == nil || !strings.Contains(err.Error(), "lines must be between 1 and 5, not 9") {
		t.Errorf("err %v", err)
	}
	_, _, err = h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: "U1", RootCause: "order-service", Inputs: map[string]string{"service": "x; rm -rf /"}})
	if err == nil || !strings.Contains(err.Error(), "must be a service name") {
		t.Errorf("err %v", err)
	}
}
