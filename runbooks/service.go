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
	// Commit saves a request's new state and appends the events that led
	// to it, in one transaction: both are on the record, or neither.
	Commit(ctx context.Context, r Request, events ...AuditEvent) error
	// AppendAudit adds a line that changes no request (a refusal, a task).
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
	UpdateInterrupted UpdateKind = "interrupted" // found open at start: nightowl stopped before or while it ran
	UpdateExpired     UpdateKind = "expired"
	UpdateDryRun      UpdateKind = "dry_run" // the request's check run before anyone decided
	UpdateVerified    UpdateKind = "verified"
	// UpdateNotRecorded: a decision could not be written to the record, so
	// it did not happen; Note says so in one sentence.
	UpdateNotRecorded UpdateKind = "not_recorded"
)

// Update is news about a request for the people in its thread. Request is
// the request as it stood; Service.Get has its latest state.
type Update struct {
	Kind    UpdateKind
	Request Request
	Runbook Runbook
	// Task is the finished task, for UpdateTask; Check says it belongs to
	// the check-mode run.
	Task  *TaskResult
	Check bool
	// Note is one sentence for the thread (UpdateNotRecorded).
	Note string
}

// Notifier tells people about requests; the bot's queue of runbook
// updates (bot.RunbookUpdates) implements it. It is called from the
// goroutine that changed the request, never with a lock held, and must
// not block for long.
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
	// MaxRuns bounds approved runs at once (default 2); more wait, queued.
	// Dry runs have as many slots of their own, so a storm of dry runs
	// never delays an approved run.
	MaxRuns int
	// RequestTTL is how long a request may wait for approval (default 30m).
	RequestTTL time.Duration
	// StopGrace (RUNBOOK_STOP_GRACE) is how long runs may go on when told
	// to stop: on shutdown, to finish; once interrupted (Cancel, a timeout,
	// or shutdown's grace over), to run their always/rescue sections before
	// their process group is killed (Job.StopGrace). Default 60s; a
	// shutdown takes at most twice that. InterruptGrace overrides the
	// second window (default StopGrace).
	StopGrace, InterruptGrace time.Duration
	// IsService says whether a name is a service of the graph (for
	// parameters of type service).
	IsService func(string) bool
	// IncidentOpen says whether an incident is still open; its requests
	// expire when it is not. Nil counts every incident open.
	IncidentOpen func(id string) bool
	Verify       Verifier
	Now          func() time.Time
	Logger       *slog.Logger
}

// Errors of Open and Recommend; other errors are parameter problems, meant
// for the requester.
var (
	ErrUnknownRunbook = errors.New("no such runbook")
	ErrStopping       = errors.New("nightowl is shutting down and opens no run requests")
	// ErrNotRecorded: the store could not write, so nothing happened.
	ErrNotRecorded = errors.New("could not write to the record")
)

// errShutdown and errCancelled are why a run's context ends.
var (
	errShutdown  = errors.New("nightowl is shutting down")
	errCancelled = errors.New("cancelled by an approver")
)

// Service runs the approval flow: requests, approvals and refusals, dry
// runs, runs, cancellations, expiry, and their audit record. It alone
// holds the state of runs; Run owns its goroutines.
type Service struct {
	cfg     Config
	catalog *Catalog
	policy  *Policy
	runner  Runner
	audit   Audit
	notify  Notifier
	log     *slog.Logger

	runSlots, drySlots chan struct{}
	// runs is the context of approved runs, ended when a shutdown's grace
	// is over; work is that of dry runs and verification, ended as soon as
	// a shutdown begins; draining closes then too.
	runs, work         context.Context
	stopRuns, stopWork context.CancelCauseFunc
	draining           chan struct{}
	runWG, workWG      sync.WaitGroup
	recommending       sync.Mutex // one card request decision at a time

	// mu guards requests, each entry's req and cancel functions, and
	// stopping. It is never held across a store write, a Slack call or a
	// notification.
	mu       sync.Mutex
	stopping bool
	requests map[string]*entry
}

// entry is one request and what runs it.
type entry struct {
	// step serialises the request's state changes, the store write
	// included; taken before mu, never while holding it.
	step      sync.Mutex
	req       Request
	cancel    context.CancelCauseFunc // its run, once approved
	dryCancel context.CancelFunc      // its dry run
}

// NewService wires the flow; Run starts it and owns what it starts.
func NewService(cfg Config, catalog *Catalog, policy *Policy, runner Runner, audit Audit, notify Notifier) *Service {
	if cfg.MaxRuns <= 0 {
		cfg.MaxRuns = 2
	}
	if cfg.RequestTTL <= 0 {
		cfg.RequestTTL = 30 * time.Minute
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 60 * time.Second
	}
	if cfg.InterruptGrace <= 0 {
		cfg.InterruptGrace = cfg.StopGrace
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
	s := &Service{
		cfg: cfg, catalog: catalog, policy: policy, runner: runner, audit: audit, notify: notify,
		log:      cfg.Logger.With("component", "runbooks"),
		runSlots: make(chan struct{}, cfg.MaxRuns), drySlots: make(chan struct{}, cfg.MaxRuns),
		draining: make(chan struct{}), requests: map[string]*entry{},
	}
	s.runs, s.stopRuns = context.WithCancelCause(context.Background())
	s.work, s.stopWork = context.WithCancelCause(context.Background())
	return s
}

// Catalog is the runbook catalog the service runs.
func (s *Service) Catalog() *Catalog { return s.catalog }

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

// Open opens a new request with exactly these parameters, as its own
// message with its own dry run and buttons; it never returns another
// request. Anyone may ask; only approvers decide. Parameter problems come
// back as an error meant for the requester.
func (s *Service) Open(ctx context.Context, o Open) (Request, error) {
	return s.open(ctx, o, SourcePerson)
}

// Recommend makes sure the card's recommendation is on offer as the card's
// own request, opened by nightowl with the card's parameters: the card
// request with exactly these parameters if one is open or was decided
// (succeeded, rejected), else a new one with its own dry run. A pending
// card request with other parameters or another runbook is expired as
// superseded, so the card's buttons never approve what it no longer shows.
func (s *Service) Recommend(ctx context.Context, o Open) (Request, error) {
	rb, ok := s.catalog.Get(o.Runbook)
	if !ok {
		return Request{}, fmt.Errorf("%w: %s", ErrUnknownRunbook, o.Runbook)
	}
	vars, err := rb.Vars(o.Inputs, s.varsContext(o, Recommender, ""))
	if err != nil {
		return Request{}, err
	}
	digest := Digest(rb.ID, vars)
	s.recommending.Lock()
	defer s.recommending.Unlock()
	var (
		same  *Request
		stale []*entry
	)
	s.mu.Lock()
	for _, e := range s.requests {
		r := e.req
		if o.Incident == "" || r.Incident != o.Incident || r.Source != SourceCard {
			continue
		}
		switch {
		case r.Runbook == rb.ID && r.Digest == digest && (r.State.Open() || r.State == StateSucceeded || r.State == StateRejected):
			c := r.Clone()
			same = &c
		case r.State == StatePending:
			stale = append(stale, e)
		}
	}
	s.mu.Unlock()
	if same != nil {
		return *same, nil
	}
	for _, e := range stale {
		s.expire(ctx, e, fmt.Sprintf("superseded: the card now recommends %s with other parameters", rb.ID))
	}
	return s.open(ctx, o, SourceCard)
}

func (s *Service) varsContext(o Open, by, id string) Context {
	return Context{Incident: o.Incident, RootCause: o.RootCause, Namespace: o.Namespace, RequestedBy: by, RunID: id, IsService: s.cfg.IsService}
}

func (s *Service) open(ctx context.Context, o Open, source string) (Request, error) {
	rb, ok := s.catalog.Get(o.Runbook)
	if !ok {
		return Request{}, fmt.Errorf("%w: %s", ErrUnknownRunbook, o.Runbook)
	}
	if s.isStopping() {
		return Request{}, ErrStopping
	}
	by := o.By
	if source == SourceCard {
		by = Recommender
	}
	id := newID("RUN-")
	vars, err := rb.Vars(o.Inputs, s.varsContext(o, by, id))
	if err != nil {
		return Request{}, err
	}
	now := s.cfg.Now()
	r := Request{ID: id, Incident: o.Incident, Thread: o.Thread, Runbook: rb.ID, Vars: vars, RequestedBy: by, RequestedAt: now,
		Source: source, Digest: Digest(rb.ID, vars), ExpiresAt: now.Add(s.cfg.RequestTTL), State: StatePending}
	r.Needed = ApprovalsNeeded(r, rb, s.mayApprove(ctx, by, rb))
	if err := s.commit(ctx, r, s.event(r, AuditRequested, by, fmt.Sprintf("%s: vars %s", source, formatVars(vars)))); err != nil {
		return Request{}, err
	}
	e := s.add(r)
	s.log.Info("run requested", "request", id, "runbook", rb.ID, "incident", o.Incident, "user", by, "source", source, "digest", r.Digest)
	s.tell(ctx, Update{Kind: UpdateOpened, Request: r.Clone(), Runbook: rb})
	if rb.DryRun {
		s.startDryRun(e, rb)
	}
	return r.Clone(), nil
}

// mayApprove is the policy's answer without the reason; nightowl itself
// never approves.
func (s *Service) mayApprove(ctx context.Context, user string, rb Runbook) bool {
	if user == Recommender || user == "" {
		return false
	}
	ok, _ := s.policy.MayApprove(ctx, user, rb)
	return ok
}

// CloseIncident expires the incident's pending requests: an approval
// after the incident ended would run against a world nobody looked at.
func (s *Service) CloseIncident(ctx context.Context, incident, why string) {
	if incident == "" {
		return
	}
	s.mu.Lock()
	var pending []*entry
	for _, e := range s.requests {
		if e.req.Incident == incident && e.req.State == StatePending {
			pending = append(pending, e)
		}
	}
	s.mu.Unlock()
	for _, e := range pending {
		s.expire(ctx, e, why)
	}
}

// Get returns a request.
func (s *Service) Get(id string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.requests[id]
	if !ok {
		return Request{}, false
	}
	return e.req.Clone(), true
}

// ForIncident lists an incident's requests, newest first.
func (s *Service) ForIncident(incident string) []Request {
	s.mu.Lock()
	var out []Request
	for _, e := range s.requests {
		if e.req.Incident == incident {
			out = append(out, e.req.Clone())
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].RequestedAt.Equal(out[j].RequestedAt) {
			return out[i].ID > out[j].ID
		}
		return out[i].RequestedAt.After(out[j].RequestedAt)
	})
	return out
}

// CardRequest is the request an incident's card shows: its own latest
// request (the recommendation), else the incident's latest request.
func (s *Service) CardRequest(incident string) (Request, bool) {
	all := s.ForIncident(incident)
	for _, r := range all {
		if r.Source == SourceCard {
			return r, true
		}
	}
	if len(all) > 0 {
		return all[0], true
	}
	return Request{}, false
}

// SetMessage remembers where a request's message is, so updates edit it.
func (s *Service) SetMessage(ctx context.Context, id string, m diagnosis.Thread) {
	e, ok := s.entry(id)
	if !ok {
		return
	}
	_, _, err := s.change(ctx, e, func(r *Request) ([]AuditEvent, string) {
		r.Message = m
		return nil, ""
	})
	if err != nil {
		s.log.Error("save run request message", "request", id, "err", err)
		s.mu.Lock()
		e.req.Message = m // edits still find it; the record catches up on the next change
		s.mu.Unlock()
	}
}

// Job is the ansible-playbook invocation of a request: what its dry run,
// its check run and its run execute, and what "Show command" shows.
func (s *Service) Job(r Request, check bool) (Job, bool) {
	rb, ok := s.catalog.Get(r.Runbook)
	if !ok {
		return Job{}, false
	}
	return s.job(r, rb, check), true
}

func (s *Service) job(r Request, rb Runbook, check bool) Job {
	return Job{RunID: r.ID, Runbook: rb.ID, Playbook: filepath.Join(s.cfg.PlaybooksDir, rb.Playbook), Vars: r.Vars, Check: check,
		Timeout: rb.Timeout, StopGrace: s.cfg.InterruptGrace}
}

func (s *Service) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

func (s *Service) add(r Request) *entry {
	e := &entry{req: r}
	s.mu.Lock()
	s.requests[r.ID] = e
	s.mu.Unlock()
	return e
}

func (s *Service) entry(id string) (*entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.requests[id]
	return e, ok
}

func (s *Service) snapshot(e *entry) Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return e.req.Clone()
}

func newID(prefix string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return prefix + strings.ToUpper(hex.EncodeToString(b[:]))
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

// Secret reports whether a variable name suggests a secret value
// (diagnosis.SecretWords).
func Secret(name string) bool { return diagnosis.SecretName(name) }

// SecretWords are the words of secret-looking names, for adapters that
// build their own patterns around them.
const SecretWords = diagnosis.SecretWords

// Truncate shortens s to at most n characters, marking the cut with "…"
// (diagnosis.Truncate), for the adapters of runbooks.
func Truncate(s string, n int) string { return diagnosis.Truncate(s, n) }
