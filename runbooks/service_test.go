package runbooks_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/runbooks"
)

// Why this file is long: the approval flow's tests (open, approve,
// reject, cancel, expire, shut down, keep the record) share the in-memory
// audit, fake runner and harness at the top; each test reads alone.

// memAudit records like the store, in memory; fail makes every write fail.
type memAudit struct {
	mu       sync.Mutex
	requests map[string]runbooks.Request
	events   []runbooks.AuditEvent
	outcomes map[string]string
	fail     bool
}

func newMemAudit() *memAudit {
	return &memAudit{requests: map[string]runbooks.Request{}, outcomes: map[string]string{}}
}

var errDiskFull = errors.New("disk full")

func (m *memAudit) Commit(_ context.Context, r runbooks.Request, events ...runbooks.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errDiskFull
	}
	m.requests[r.ID] = r.Clone()
	m.events = append(m.events, events...)
	return nil
}

func (m *memAudit) AppendAudit(_ context.Context, e runbooks.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errDiskFull
	}
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

func (m *memAudit) outcome(incident string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.outcomes[incident]
}

func (m *memAudit) setFail(fail bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = fail
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

func (m *memAudit) stored(id string) runbooks.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests[id]
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

// realRuns counts the jobs that were not check runs.
func (f *fakeRunner) realRuns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, j := range f.jobs {
		if !j.Check {
			n++
		}
	}
	return n
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

// setup says how a harness's service is configured.
type setup struct {
	dry       bool
	required  int
	twoPerson bool
	maxRuns   int
	runner    *fakeRunner
	audit     *memAudit
	cfg       runbooks.Config // TTL, grace, clock, IncidentOpen
}

// harness runs a Service over a one-runbook catalog.
type harness struct {
	svc    *runbooks.Service
	audit  *memAudit
	runner *fakeRunner
	mu     sync.Mutex
	notes  []runbooks.Update // every update, in order
	stop   func()            // ends Run and waits for it
}

func mustService(t *testing.T, s setup) *harness {
	t.Helper()
	if s.required == 0 {
		s.required = 1
	}
	if s.runner == nil {
		s.runner = &fakeRunner{}
	}
	if s.audit == nil {
		s.audit = newMemAudit()
	}
	dir := t.TempDir()
	doc := strings.NewReplacer("%DRY%", map[bool]string{true: "true", false: "false"}[s.dry], "%REQ%", string(rune('0'+s.required)),
		"%TWO%", map[bool]string{true: "true", false: "false"}[s.twoPerson]).Replace(demoRunbook)
	if err := os.WriteFile(filepath.Join(dir, "demo.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := runbooks.LoadCatalog(dir, runbooks.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{audit: s.audit, runner: s.runner}
	policy := runbooks.NewPolicy([]string{"U0APPROVER", "U0OTHER", "S0LEADS"}, fakeDirectory{"S0LEADS": {"U0LEAD"}}, nil)
	cfg := s.cfg
	cfg.MaxRuns, cfg.PlaybooksDir = s.maxRuns, dir
	h.svc = runbooks.NewService(cfg, cat, policy, s.runner, s.audit,
		runbooks.NotifierFunc(func(_ context.Context, u runbooks.Update) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.notes = append(h.notes, u)
		}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.svc.Run(ctx) }()
	h.stop = sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(h.stop)
	return h
}

// waitFor polls a condition for up to 3s.
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
	r, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: by, RootCause: "order-service"})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return r
}

func (h *harness) approve(t *testing.T, r runbooks.Request, by string) string {
	t.Helper()
	_, msg, _ := h.svc.Approve(t.Context(), r.ID, r.Digest, by)
	return msg
}

func (h *harness) state(id string) runbooks.State {
	r, _ := h.svc.Get(id)
	return r.State
}

func (h *harness) stateOpen(id string) bool { return h.state(id).Open() }

// waitNote waits for an update of kind about request id.
func (h *harness) waitNote(t *testing.T, id string, kind runbooks.UpdateKind) runbooks.Update {
	t.Helper()
	var found runbooks.Update
	waitFor(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, u := range h.notes {
			if u.Request.ID == id && u.Kind == kind {
				found = u
				return true
			}
		}
		return false
	})
	return found
}

func TestSomeoneNotAnApproverIsRefusedAndNothingRuns(t *testing.T) {
	h := mustService(t, setup{})
	r := h.open(t, "U0STRANGER")
	if msg := h.approve(t, r, "U0STRANGER"); !strings.Contains(msg, "You cannot approve this run") {
		t.Fatalf("msg %q, want a refusal", msg)
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
	h := mustService(t, setup{runner: runner})
	r := h.open(t, "U0REQUESTER")
	var wg sync.WaitGroup
	for _, u := range []string{"U0APPROVER", "U0APPROVER", "U0OTHER", "U0LEAD"} { // a double click, and two more approvers at once
		wg.Go(func() { _, _, _ = h.svc.Approve(context.Background(), r.ID, r.Digest, u) })
	}
	wg.Wait()
	waitFor(t, func() bool { return h.runner.count() == 1 })
	close(runner.release)
	waitFor(t, func() bool { return h.state(r.ID) == runbooks.StateSucceeded })
	if n := runner.count(); n != 1 {
		t.Errorf("%d runs, want exactly 1", n)
	}
	waitFor(t, func() bool { return h.audit.outcome("INC-1") == "RB-DEMO-001:fixed" }) // the history learns what fixed the incident
}

func TestApprovalsCountDistinctApprovers(t *testing.T) {
	h := mustService(t, setup{required: 2})
	r := h.open(t, "U0REQUESTER")
	if msg := h.approve(t, r, "U0APPROVER"); !strings.Contains(msg, "needs 1 more") {
		t.Fatalf("first approval: %q", msg)
	}
	if msg := h.approve(t, r, "U0APPROVER"); !strings.Contains(msg, "approved this run already") {
		t.Fatalf("the same approver again: %q", msg)
	}
	if h.runner.count() != 0 {
		t.Fatal("one approver clicking twice started a run that needs two")
	}
	if msg := h.approve(t, r, "U0LEAD"); msg != "" {
		t.Fatalf("second approver: %q", msg)
	}
	waitFor(t, func() bool { return h.state(r.ID) == runbooks.StateSucceeded })
}

func TestTheTwoPersonRule(t *testing.T) {
	cases := []struct {
		name      string
		requester string
		approvers []string // in order; the last one must start the run
		wantFirst string   // what the first approval says
	}{
		{"an approver's request needs one other approver", "U0APPROVER", []string{"U0LEAD"}, ""},
		{"a request typed by someone who may not approve needs two approvers", "U0STRANGER", []string{"U0APPROVER", "U0LEAD"}, "needs 1 more"},
		{"the card's own request needs two approvers", runbooks.Recommender, []string{"U0APPROVER", "U0OTHER"}, "needs 1 more"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := mustService(t, setup{twoPerson: true})
			var r runbooks.Request
			if tc.requester == runbooks.Recommender {
				var err error
				r, err = h.svc.Recommend(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", RootCause: "order-service"})
				if err != nil {
					t.Fatal(err)
				}
			} else {
				r = h.open(t, tc.requester)
			}
			for i, u := range tc.approvers {
				msg := h.approve(t, r, u)
				last := i == len(tc.approvers)-1
				if !last && !strings.Contains(msg, tc.wantFirst) {
					t.Fatalf("approval by %s: %q, want %q", u, msg, tc.wantFirst)
				}
				if !last && h.runner.count() != 0 {
					t.Fatalf("ran after %d approval(s)", i+1)
				}
				if last && msg != "" {
					t.Fatalf("last approval by %s: %q", u, msg)
				}
			}
			waitFor(t, func() bool { return h.state(r.ID) == runbooks.StateSucceeded })
		})
	}
}

func TestTheRequestersOwnApprovalNeverCountsUnderTheTwoPersonRule(t *testing.T) {
	h := mustService(t, setup{twoPerson: true})
	r := h.open(t, "U0APPROVER")
	if msg := h.approve(t, r, "U0APPROVER"); !strings.Contains(msg, "does not count") {
		t.Fatalf("msg %q: the requester's own approval must not count", msg)
	}
	if got, _ := h.svc.Get(r.ID); len(got.Approvals) != 0 || h.runner.count() != 0 {
		t.Fatalf("approvals %v, %d runs", got.Approvals, h.runner.count())
	}
	if msg := h.approve(t, r, "U0LEAD"); msg != "" { // a member of the approver group
		t.Fatalf("msg %q", msg)
	}
	waitFor(t, func() bool { return h.state(r.ID) == runbooks.StateSucceeded })
}

func TestAClickWhoseDigestDoesNotMatchChangesNothing(t *testing.T) {
	h := mustService(t, setup{})
	r := h.open(t, "U0REQUESTER")
	other, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: "U0REQUESTER", RootCause: "payment-service"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest == other.Digest {
		t.Fatalf("two requests with different parameters share digest %s", r.Digest)
	}
	for _, act := range []func() (runbooks.Request, string, error){
		func() (runbooks.Request, string, error) {
			return h.svc.Approve(t.Context(), r.ID, other.Digest, "U0APPROVER")
		},
		func() (runbooks.Request, string, error) {
			return h.svc.Reject(t.Context(), r.ID, other.Digest, "U0APPROVER")
		},
	} {
		if _, msg, _ := act(); !strings.Contains(msg, "does not match") {
			t.Errorf("msg %q, want a refusal", msg)
		}
	}
	if h.state(r.ID) != runbooks.StatePending || h.runner.count() != 0 {
		t.Errorf("state %s, %d runs: a mismatched click must change nothing", h.state(r.ID), h.runner.count())
	}
}

// clock is a settable time for expiry tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestStaleRequestsExpireAndAStaleClickRunsNothing(t *testing.T) {
	cases := []struct {
		name string
		age  time.Duration
		open bool // the incident is still open
		want string
	}{
		{"a request nobody approved within the TTL", 31 * time.Minute, true, "nobody approved it within 30m"},
		{"a request whose incident resolved", time.Minute, false, "INC-1 is resolved"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{now: time.Now()}
			var mu sync.Mutex
			incidentOpen := true
			h := mustService(t, setup{cfg: runbooks.Config{RequestTTL: 30 * time.Minute, Now: c.Now,
				IncidentOpen: func(string) bool { mu.Lock(); defer mu.Unlock(); return incidentOpen }}})
			r := h.open(t, "U0REQUESTER")
			c.Add(tc.age)
			mu.Lock()
			incidentOpen = tc.open
			mu.Unlock()
			msg := h.approve(t, r, "U0APPROVER")
			if !strings.Contains(msg, "expired") || !strings.Contains(msg, tc.want) {
				t.Errorf("msg %q, want it expired because %s", msg, tc.want)
			}
			if h.state(r.ID) != runbooks.StateExpired || h.runner.count() != 0 {
				t.Errorf("state %s, %d runs", h.state(r.ID), h.runner.count())
			}
			if got, _ := h.svc.Get(r.ID); len(got.Approvals) != 0 {
				t.Errorf("a stale click was recorded as an approval: %v", got.Approvals)
			}
			if !slices.Contains(h.audit.kinds(), runbooks.AuditExpired) || slices.Contains(h.audit.kinds(), runbooks.AuditApproved) {
				t.Errorf("record %v", h.audit.kinds())
			}
		})
	}
}

func TestTheSweeperExpiresRequestsAndClosingAnIncidentExpiresItsOwn(t *testing.T) {
	c := &clock{now: time.Now()}
	h := mustService(t, setup{cfg: runbooks.Config{RequestTTL: time.Second, Now: c.Now}})
	old := h.open(t, "U0REQUESTER")
	c.Add(2 * time.Second)
	h.waitNote(t, old.ID, runbooks.UpdateExpired)

	fresh := h.open(t, "U0REQUESTER")
	h.svc.CloseIncident(t.Context(), "INC-1", "INC-1 is resolved")
	if u := h.waitNote(t, fresh.ID, runbooks.UpdateExpired); !strings.Contains(u.Request.Note, "INC-1 is resolved") {
		t.Errorf("note %q", u.Request.Note)
	}
}

func TestNothingRunsWhenTheApprovalCannotBeRecorded(t *testing.T) {
	audit := newMemAudit()
	h := mustService(t, setup{audit: audit})
	r := h.open(t, "U0REQUESTER")
	audit.setFail(true)
	_, msg, err := h.svc.Approve(t.Context(), r.ID, r.Digest, "U0APPROVER")
	if !errors.Is(err, runbooks.ErrNotRecorded) || !strings.Contains(msg, "nothing ran") {
		t.Fatalf("msg %q err %v", msg, err)
	}
	u := h.waitNote(t, r.ID, runbooks.UpdateNotRecorded)
	if !strings.Contains(u.Note, "nothing ran") {
		t.Errorf("the thread is told %q", u.Note)
	}
	time.Sleep(50 * time.Millisecond)
	if h.runner.count() != 0 || h.state(r.ID) != runbooks.StatePending {
		t.Fatalf("%d runs, state %s: nothing may run that is not on the record", h.runner.count(), h.state(r.ID))
	}
	if got, _ := h.svc.Get(r.ID); len(got.Approvals) != 0 {
		t.Errorf("an approval not on the record counts: %v", got.Approvals)
	}
	audit.setFail(false) // the disk has room again: the same click works
	if msg := h.approve(t, r, "U0APPROVER"); msg != "" {
		t.Fatal(msg)
	}
	waitFor(t, func() bool { return h.state(r.ID) == runbooks.StateSucceeded })
	if st := audit.stored(r.ID); st.State != runbooks.StateSucceeded {
		t.Errorf("the record says %s", st.State)
	}
}

func TestDryRunsNeverDelayAnApprovedRun(t *testing.T) {
	runner := &fakeRunner{release: make(chan struct{}), started: make(chan runbooks.Job, 100)}
	h := mustService(t, setup{dry: true, runner: runner, maxRuns: 1})
	var reqs []runbooks.Request
	for range 5 { // each request has its own dry run; they hold the only dry-run slot in turn
		reqs = append(reqs, h.open(t, "U0REQUESTER"))
	}
	if j := <-runner.started; !j.Check {
		t.Fatalf("the first job is not a dry run: %+v", j)
	}
	approved := time.Now()
	if msg := h.approve(t, reqs[4], "U0APPROVER"); msg != "" {
		t.Fatal(msg)
	}
	select {
	case j := <-runner.started:
		if j.RunID != reqs[4].ID {
			t.Fatalf("started %s, want the approved %s", j.RunID, reqs[4].ID)
		}
		t.Logf("approval to start with a dry run running and 4 queued: %s", time.Since(approved).Round(time.Microsecond))
	case <-time.After(time.Second):
		t.Fatal("the approved run waited behind dry runs")
	}
	close(runner.release)
	waitFor(t, func() bool { return h.state(reqs[4].ID) == runbooks.StateSucceeded })
}

func TestEveryRequestHasItsOwnDryRunWithItsOwnParameters(t *testing.T) {
	h := mustService(t, setup{dry: true})
	a := h.open(t, "U0REQUESTER")
	b, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: "U0REQUESTER", RootCause: "payment-service"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []runbooks.Request{a, b} {
		u := h.waitNote(t, r.ID, runbooks.UpdateDryRun)
		if u.Request.DryRun == nil {
			t.Fatalf("%s: no dry run result", r.ID)
		}
	}
	h.runner.mu.Lock()
	defer h.runner.mu.Unlock()
	services := map[string]string{}
	for _, j := range h.runner.jobs {
		services[j.RunID] = j.Vars["service"].(string)
	}
	if services[a.ID] != "order-service" || services[b.ID] != "payment-service" {
		t.Errorf("dry runs ran with %v", services)
	}
}

func TestTheCardsRequestIsTheRecommendationAndNothingElse(t *testing.T) {
	h := mustService(t, setup{})
	card := runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", RootCause: "order-service"}
	first, err := h.svc.Recommend(t.Context(), card)
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: "U0STRANGER", RootCause: "payment-service"})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := h.svc.Recommend(t.Context(), card)
	if again.ID != first.ID || first.Source != runbooks.SourceCard || first.RequestedBy != runbooks.Recommender {
		t.Errorf("the card's request %+v, then %+v", first, again)
	}
	if got, _ := h.svc.CardRequest("INC-1"); got.ID != first.ID {
		t.Errorf("the card shows %s, not its own %s (%s was opened later by someone else)", got.ID, first.ID, other.ID)
	}
	card.RootCause = "payment-service" // the diagnosis moved on
	moved, _ := h.svc.Recommend(t.Context(), card)
	if moved.ID == first.ID || h.state(first.ID) != runbooks.StateExpired {
		t.Errorf("a new recommendation must supersede the old: %s, old %s", moved.ID, h.state(first.ID))
	}
	if h.state(other.ID) != runbooks.StatePending {
		t.Errorf("someone's own request was touched: %s", h.state(other.ID))
	}
}

func TestACheckRunComesFirstAndAFailingOneStopsTheRealRun(t *testing.T) {
	cases := []struct {
		name      string
		outcome   map[bool]string
		wantReal  int
		wantState runbooks.State
	}{
		{"a clean check is followed by the real run", nil, 1, runbooks.StateSucceeded},
		{"a failing check stops before anything changes", map[bool]string{true: runbooks.OutcomeFailed}, 0, runbooks.StateFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runner := &fakeRunner{outcome: tc.outcome}
			h := mustService(t, setup{dry: true, runner: runner})
			r := h.open(t, "U0REQUESTER")
			h.waitNote(t, r.ID, runbooks.UpdateDryRun)
			if msg := h.approve(t, r, "U0APPROVER"); msg != "" {
				t.Fatal(msg)
			}
			waitFor(t, func() bool { return !h.stateOpen(r.ID) })
			got, _ := h.svc.Get(r.ID)
			if runner.realRuns() != tc.wantReal || got.State != tc.wantState || got.Check == nil {
				t.Errorf("%d real runs, state %s, check %v; want %d and %s after a check run", runner.realRuns(), got.State, got.Check, tc.wantReal, tc.wantState)
			}
		})
	}
}

func TestCancelIsForApproversOnly(t *testing.T) {
	runner := &fakeRunner{release: make(chan struct{}), started: make(chan runbooks.Job, 1)}
	h := mustService(t, setup{runner: runner})
	r := h.open(t, "U0REQUESTER")
	h.approve(t, r, "U0APPROVER")
	<-runner.started
	for _, who := range []string{"U0STRANGER", "U0REQUESTER"} { // the requester is no approver
		if _, msg, _ := h.svc.Cancel(t.Context(), r.ID, r.Digest, who); !strings.Contains(msg, "Only approvers can cancel") {
			t.Errorf("%s could cancel: %q", who, msg)
		}
	}
	if _, msg, _ := h.svc.Cancel(t.Context(), r.ID, r.Digest, "U0LEAD"); msg != "" {
		t.Fatal(msg)
	}
	waitFor(t, func() bool { return h.state(r.ID) == runbooks.StateCancelled })
	if got, _ := h.svc.Get(r.ID); got.EndedBy != "U0LEAD" {
		t.Errorf("ended by %q", got.EndedBy)
	}
}

func TestRunsBeyondTheLimitWaitTheirTurn(t *testing.T) {
	runner := &fakeRunner{release: make(chan struct{}), started: make(chan runbooks.Job, 2)}
	h := mustService(t, setup{runner: runner, maxRuns: 1})
	first := h.open(t, "U0REQUESTER")
	second, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-2", Runbook: "RB-DEMO-001", By: "U0REQUESTER", RootCause: "x"})
	if err != nil {
		t.Fatal(err)
	}
	h.approve(t, first, "U0APPROVER")
	<-runner.started
	if msg := h.approve(t, second, "U0APPROVER"); msg != "" {
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

func TestAShutdownLetsRunsFinishWithinTheGraceThenInterruptsThem(t *testing.T) {
	cases := []struct {
		name      string
		finishes  bool // the run ends by itself during the grace
		wantState runbooks.State
	}{
		{"a run that ends within the grace ends as it would have", true, runbooks.StateSucceeded},
		{"a run still going when the grace is over is interrupted, and said so", false, runbooks.StateInterrupted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runner := &fakeRunner{release: make(chan struct{}), started: make(chan runbooks.Job, 1)}
			h := mustService(t, setup{runner: runner, cfg: runbooks.Config{StopGrace: 300 * time.Millisecond}})
			r := h.open(t, "U0REQUESTER")
			h.approve(t, r, "U0APPROVER")
			job := <-runner.started
			if job.StopGrace <= 0 {
				t.Errorf("the job has no StopGrace for the runner: %+v", job)
			}
			stopped := make(chan struct{})
			go func() { h.stop(); close(stopped) }()
			if tc.finishes {
				time.Sleep(50 * time.Millisecond)
				close(runner.release)
			}
			select {
			case <-stopped:
			case <-time.After(3 * time.Second):
				t.Fatal("Run did not return")
			}
			got, _ := h.svc.Get(r.ID)
			if got.State != tc.wantState || h.audit.stored(r.ID).State != tc.wantState {
				t.Fatalf("state %s (record %s), want %s", got.State, h.audit.stored(r.ID).State, tc.wantState)
			}
			if tc.wantState == runbooks.StateInterrupted && !strings.Contains(got.Note, "interrupted by shutdown") {
				t.Errorf("note %q", got.Note)
			}
			h.waitNote(t, r.ID, runbooks.UpdateFinished)
			if _, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: "U0X", RootCause: "x"}); !errors.Is(err, runbooks.ErrStopping) {
				t.Errorf("a stopped service opened a request: %v", err)
			}
		})
	}
}

func TestRunsInFlightWhenTheBotDiedAreMarkedInterruptedAndNothingRestarts(t *testing.T) {
	audit := newMemAudit()
	audit.requests["RUN-OLD"] = runbooks.Request{ID: "RUN-OLD", Incident: "INC-9", Runbook: "RB-DEMO-001", State: runbooks.StateRunning, Vars: map[string]any{}}
	audit.requests["RUN-WAIT"] = runbooks.Request{ID: "RUN-WAIT", Incident: "INC-9", Runbook: "RB-DEMO-001", State: runbooks.StateQueued, Vars: map[string]any{}}
	h := mustService(t, setup{audit: audit})
	for id, want := range map[string]string{"RUN-OLD": "outcome is unknown", "RUN-WAIT": "nothing ran"} {
		u := h.waitNote(t, id, runbooks.UpdateInterrupted)
		if h.state(id) != runbooks.StateInterrupted || !strings.Contains(u.Note, want) {
			t.Errorf("%s: state %s, note %q", id, h.state(id), u.Note)
		}
	}
	if h.runner.count() != 0 {
		t.Errorf("a restart started %d runs", h.runner.count())
	}
	if !slices.Contains(audit.kinds(), runbooks.AuditInterrupted) {
		t.Errorf("the interruption is not on the record: %v", audit.kinds())
	}
}

func TestParametersOutOfRangeAreRefusedWhenTheRequestOpens(t *testing.T) {
	h := mustService(t, setup{})
	_, err := h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: "U1", RootCause: "order-service", Inputs: map[string]string{"lines": "9"}})
	if err == nil || !strings.Contains(err.Error(), "lines must be between 1 and 5, not 9") {
		t.Errorf("err %v", err)
	}
	_, err = h.svc.Open(t.Context(), runbooks.Open{Incident: "INC-1", Runbook: "RB-DEMO-001", By: "U1", RootCause: "order-service", Inputs: map[string]string{"service": "x; rm -rf /"}})
	if err == nil || !strings.Contains(err.Error(), "must be a service name") {
		t.Errorf("err %v", err)
	}
}
