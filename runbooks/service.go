package runbooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Audit keeps every request and step on the record; the store implements it.
type Audit interface {
	SaveRequest(ctx context.Context, r Request) error
	AppendAudit(ctx context.Context, e AuditEvent) error
	OpenRequests(ctx context.Context) ([]Request, error)
	SaveOutcome(ctx context.Context, incident, runbook, outcome string, at time.Time) error
}

// UpdateKind says what happened to a request.
type UpdateKind string

// Kinds of updates the Notifier hears about.
const (
	UpdateOpened      UpdateKind = "opened"
	UpdateApproved    UpdateKind = "approved" // an approval that is not yet enough
	UpdateQueued      UpdateKind = "queued"
	UpdateStarted     UpdateKind = "started"
	UpdateTask        UpdateKind = "task"
	UpdateFinished    UpdateKind = "finished"
	UpdateRejected    UpdateKind = "rejected"
	UpdateInterrupted UpdateKind = "interrupted"
	UpdateDryRun      UpdateKind = "dry_run" // a check run before anyone decided
)

// Update is news about a request for the people in its thread.
type Update struct {
	Kind    UpdateKind
	Request Request
	Runbook Runbook
	// Task is the finished task, for UpdateTask.
	Task *TaskResult
	// Check says the task belongs to the check-mode run.
	Check bool
	// DryRun is the result of a check run before the decision.
	DryRun *Result
}

// Notifier tells people about requests; the bot implements it. It must not
// block for long: it is called from run goroutines.
type Notifier interface {
	RunbookUpdate(ctx context.Context, u Update)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, u Update)

// RunbookUpdate calls f.
func (f NotifierFunc) RunbookUpdate(ctx context.Context, u Update) { f(ctx, u) }

// Verifier checks a PromQL expression: true when it returns a result.
type Verifier func(ctx context.Context, promql string) (bool, error)

// Config tunes the Service.
type Config struct {
	// PlaybooksDir is where runbooks' playbook files are.
	PlaybooksDir string
	// MaxRuns bounds runs at once (default 2); more wait, queued.
	MaxRuns int
	// IsService says whether a name is a service of the graph (for
	// parameters of type service).
	IsService func(string) bool
	Verify    Verifier
	Now       func() time.Time
	Logger    *slog.Logger
}

// Service runs the approval flow: requests, approvals and refusals, dry
// runs, runs, cancellations, and their audit record. Run owns its goroutines.
type Service struct {
	cfg     Config
	catalog *Catalog
	policy  *Policy
	runner  Runner
	audit   Audit
	notify  Notifier
	log     *slog.Logger
	slots   chan struct{}

	mu       sync.Mutex
	ctx      context.Context // set by Run
	wg       sync.WaitGroup
	requests map[string]*Request
	cancels  map[string]context.CancelFunc
	dryRuns  map[string]bool // incident|runbook checked already
}

// NewService wires the flow; Run starts it.
func NewService(cfg Config, catalog *Catalog, policy *Policy, runner Runner, audit Audit, notify Notifier) *Service {
	if cfg.MaxRuns <= 0 {
		cfg.MaxRuns = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if notify == nil {
		notify = NotifierFunc(func(context.Context, Update) {})
	}
	return &Service{
		cfg: cfg, catalog: catalog, policy: policy, runner: runner, audit: audit, notify: notify,
		log: cfg.Logger.With("component", "runbooks"), slots: make(chan struct{}, cfg.MaxRuns),
		requests: map[string]*Request{}, cancels: map[string]context.CancelFunc{}, dryRuns: map[string]bool{},
	}
}

// Catalog is the runbook catalog the service runs.
func (s *Service) Catalog() *Catalog { return s.catalog }

// Run takes back open requests (runs in flight when the bot died are
// interrupted, and said so), then serves until ctx ends, when it cancels
// the runs it owns and waits for them.
func (s *Service) Run(ctx context.Context) error {
	open, err := s.audit.OpenRequests(ctx)
	if err != nil {
		return fmt.Errorf("load open run requests: %w", err)
	}
	s.mu.Lock()
	s.ctx = ctx
	var queued []*Request
	for i := range open {
		r := open[i]
		if _, known := s.requests[r.ID]; known {
			continue // opened by this process before Run began
		}
		s.requests[r.ID] = &r
		switch r.State {
		case StateRunning:
			r.State = StateInterrupted
			s.requests[r.ID] = &r
			s.save(ctx, r)
			s.record(ctx, r, AuditInterrupted, "", "nightowl stopped while the run was in flight; its outcome is unknown")
			s.mu.Unlock()
			s.notify.RunbookUpdate(ctx, Update{Kind: UpdateInterrupted, Request: r.Clone(), Runbook: s.runbookOf(r)})
			s.mu.Lock()
		case StateQueued:
			queued = append(queued, s.requests[r.ID])
		}
	}
	for _, r := range queued {
		s.startLocked(r)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	for _, cancel := range s.cancels {
		cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Service) runbookOf(r Request) Runbook {
	rb, _ := s.catalog.Get(r.Runbook)
	return rb
}

// Open is what a request is opened with.
type Open struct {
	Incident  string
	Thread    diagnosis.Thread
	Runbook   string
	Inputs    map[string]string
	By        string
	RootCause string
	Namespace string
}

// ErrUnknownRunbook means the catalog has no such runbook.
var ErrUnknownRunbook = errors.New("no such runbook")

// Open opens a request, or returns the incident's open request for the
// same runbook (created is then false). Parameter problems come back as an
// error meant for the requester.
func (s *Service) Open(ctx context.Context, o Open) (req Request, created bool, err error) {
	rb, ok := s.catalog.Get(o.Runbook)
	if !ok {
		return Request{}, false, fmt.Errorf("%w: %s", ErrUnknownRunbook, o.Runbook)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.requests {
		if r.Incident == o.Incident && r.Runbook == o.Runbook && r.State.Open() && o.Incident != "" {
			return r.Clone(), false, nil
		}
	}
	id := newID("RUN-")
	vars, err := rb.Vars(o.Inputs, Context{Incident: o.Incident, RootCause: o.RootCause, Namespace: o.Namespace,
		RequestedBy: o.By, RunID: id, IsService: s.cfg.IsService})
	if err != nil {
		return Request{}, false, err
	}
	r := &Request{ID: id, Incident: o.Incident, Thread: o.Thread, Runbook: rb.ID, Vars: vars,
		RequestedBy: o.By, RequestedAt: s.cfg.Now(), State: StatePending}
	s.requests[id] = r
	s.save(ctx, *r)
	s.record(ctx, *r, AuditRequested, o.By, fmt.Sprintf("vars %s", formatVars(vars)))
	s.log.Info("run requested", "request", id, "runbook", rb.ID, "incident", o.Incident, "user", o.By)
	out := r.Clone()
	go s.notify.RunbookUpdate(context.WithoutCancel(ctx), Update{Kind: UpdateOpened, Request: out, Runbook: rb})
	return out, true, nil
}

// Approve records user's approval. The answer is one sentence for the user
// when the click changes nothing (refused, already approved, already
// running); once enough approvals count, the run starts, exactly once.
func (s *Service) Approve(ctx context.Context, id, user string) (Request, string, error) {
	s.mu.Lock()
	r, ok := s.requests[id]
	if !ok {
		s.mu.Unlock()
		return Request{}, fmt.Sprintf("run request %s is not open.", id), nil
	}
	rb := s.runbookOf(*r)
	s.mu.Unlock()
	// Ask Slack about groups without holding the lock.
	if ok, why := s.policy.MayApprove(ctx, user, rb); !ok {
		s.mu.Lock()
		s.record(ctx, *r, AuditRefused, user, why)
		out := r.Clone()
		s.mu.Unlock()
		s.log.Info("approval refused", "request", id, "runbook", rb.ID, "user", user, "why", why)
		return out, "You cannot approve this run: " + why + ".", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.State != StatePending:
		return r.Clone(), fmt.Sprintf("%s is already %s.", r.ID, stateWords(r.State)), nil
	case r.ApprovedBy(user):
		return r.Clone(), "You have approved this run already.", nil
	}
	r.Approvals = append(r.Approvals, Decision{By: user, At: s.cfg.Now()})
	s.record(ctx, *r, AuditApproved, user, "")
	need := rb.Approvals.Required - r.counting(rb)
	if need > 0 {
		s.save(ctx, *r)
		msg := fmt.Sprintf("Approval recorded; %s needs %d more.", r.ID, need)
		if rb.Approvals.TwoPerson && user == r.RequestedBy {
			msg = fmt.Sprintf("You requested %s, so your approval does not count: another approver must approve.", r.ID)
		}
		out := r.Clone()
		go s.notify.RunbookUpdate(context.WithoutCancel(ctx), Update{Kind: UpdateApproved, Request: out, Runbook: rb})
		return out, msg, nil
	}
	s.startLocked(r)
	return r.Clone(), "", nil
}

// Reject closes a pending request without running it.
func (s *Service) Reject(ctx context.Context, id, user string) (Request, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok || r.State != StatePending {
		return Request{}, fmt.Sprintf("%s is not waiting for a decision.", id), nil
	}
	rb := s.runbookOf(*r)
	s.mu.Unlock()
	mayApprove, _ := s.policy.MayApprove(ctx, user, rb)
	s.mu.Lock()
	if !mayApprove && user != r.RequestedBy {
		s.record(ctx, *r, AuditRefused, user, "tried to reject without being an approver or the requester")
		return r.Clone(), "Only an approver or the requester can reject this run.", nil
	}
	if r.State != StatePending {
		return r.Clone(), fmt.Sprintf("%s is already %s.", r.ID, stateWords(r.State)), nil
	}
	r.State, r.EndedBy = StateRejected, user
	s.save(ctx, *r)
	s.record(ctx, *r, AuditRejected, user, "")
	out := r.Clone()
	go s.notify.RunbookUpdate(context.WithoutCancel(ctx), Update{Kind: UpdateRejected, Request: out, Runbook: rb})
	return out, "", nil
}

// Cancel stops a queued or running run: the whole process group is killed.
func (s *Service) Cancel(ctx context.Context, id, user string) (Request, string, error) {
	s.mu.Lock()
	r, ok := s.requests[id]
	if !ok || (r.State != StateRunning && r.State != StateQueued) {
		s.mu.Unlock()
		return Request{}, fmt.Sprintf("%s is not running.", id), nil
	}
	rb := s.runbookOf(*r)
	s.mu.Unlock()
	mayApprove, _ := s.policy.MayApprove(ctx, user, rb)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !mayApprove && user != r.RequestedBy {
		s.record(ctx, *r, AuditRefused, user, "tried to cancel without being an approver or the requester")
		return r.Clone(), "Only an approver or the requester can cancel this run.", nil
	}
	r.EndedBy = user
	s.record(ctx, *r, AuditCancelled, user, "")
	if cancel, ok := s.cancels[r.ID]; ok {
		cancel()
	}
	return r.Clone(), "", nil
}

// Get returns a request.
func (s *Service) Get(id string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok {
		return Request{}, false
	}
	return r.Clone(), true
}

// ForIncident lists an incident's requests, newest first.
func (s *Service) ForIncident(incident string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Incident == incident {
			out = append(out, r.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RequestedAt.After(out[j].RequestedAt) })
	return out
}

// SetMessage remembers where a request's message is, so updates edit it.
func (s *Service) SetMessage(id string, m diagnosis.Thread) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.requests[id]; ok {
		r.Message = m
		s.save(s.ctxOr(context.Background()), *r)
	}
}

func (s *Service) ctxOr(ctx context.Context) context.Context {
	if s.ctx != nil {
		return s.ctx
	}
	return ctx
}

// Job is the ansible-playbook invocation of a request, for "Show command".
func (s *Service) Job(r Request, check bool) (Job, bool) {
	rb, ok := s.catalog.Get(r.Runbook)
	if !ok {
		return Job{}, false
	}
	return Job{RunID: r.ID, Runbook: rb.ID, Playbook: filepath.Join(s.cfg.PlaybooksDir, rb.Playbook), Vars: r.Vars, Check: check, Timeout: rb.Timeout}, true
}

func (s *Service) save(ctx context.Context, r Request) {
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := s.audit.SaveRequest(ctx, r); err != nil {
		s.log.Error("save run request", "request", r.ID, "err", err)
	}
}

func (s *Service) record(ctx context.Context, r Request, kind, actor, detail string) {
	ctx, cancel := detached(ctx)
	defer cancel()
	e := AuditEvent{Request: r.ID, Incident: r.Incident, Runbook: r.Runbook, Kind: kind, Actor: actor, Detail: detail, At: s.cfg.Now()}
	if err := s.audit.AppendAudit(ctx, e); err != nil {
		s.log.Error("append run audit", "request", r.ID, "kind", kind, "err", err)
	}
}

// detached keeps writes to the record going when the caller's context ends.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

func newID(prefix string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return prefix + strings.ToUpper(hex.EncodeToString(b[:]))
}

func stateWords(s State) string {
	switch s {
	case StateQueued:
		return "approved and waiting for a free runner"
	case StateRunning:
		return "running"
	case StateTimedOut:
		return "timed out"
	}
	return string(s)
}

// formatVars renders vars for the record, secrets hidden.
func formatVars(vars map[string]any) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := fmt.Sprint(vars[k])
		if Secret(k) {
			v = "[redacted]"
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

// Secret reports whether a variable name suggests a secret value.
func Secret(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"password", "passwd", "token", "secret", "api_key", "apikey", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
