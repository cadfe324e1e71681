package runbooks

import (
	"slices"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// State is where a run request stands.
type State string

// Request states. A request is open while pending, queued or running.
const (
	StatePending     State = "pending" // waiting for approvals
	StateQueued      State = "queued"  // approved, waiting for a free runner
	StateRunning     State = "running" // check run and real run
	StateSucceeded   State = "succeeded"
	StateFailed      State = "failed"
	StateCancelled   State = "cancelled"
	StateTimedOut    State = "timed_out"
	StateRejected    State = "rejected"
	StateInterrupted State = "interrupted" // the bot died while it ran
)

// Open reports whether the request can still run.
func (s State) Open() bool { return s == StatePending || s == StateQueued || s == StateRunning }

// Request is one ask to run a runbook for an incident, and everything that
// happened to it.
type Request struct {
	ID          string            `json:"id"`
	Incident    string            `json:"incident"`
	Thread      diagnosis.Thread  `json:"thread"`
	Runbook     string            `json:"runbook"`
	Vars        map[string]any    `json:"vars"`
	RequestedBy string            `json:"requested_by"`
	RequestedAt time.Time         `json:"requested_at"`
	Approvals   []Decision        `json:"approvals,omitempty"`
	State       State             `json:"state"`
	Check       *Result           `json:"check,omitempty"` // the check-mode run before the real one
	Result      *Result           `json:"result,omitempty"`
	Verified    string            `json:"verified,omitempty"`
	EndedBy     string            `json:"ended_by,omitempty"` // who cancelled or rejected
	Message     diagnosis.Thread  `json:"message,omitzero"`   // the request's message in the thread
	Extra       map[string]string `json:"extra,omitempty"`
}

// Decision is one person's approval.
type Decision struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// ApprovedBy reports whether user has approved already.
func (r Request) ApprovedBy(user string) bool {
	return slices.ContainsFunc(r.Approvals, func(d Decision) bool { return d.By == user })
}

// counting is the number of approvals that count: with the two-person rule,
// not the requester's own.
func (r Request) counting(rb Runbook) int {
	n := 0
	for _, d := range r.Approvals {
		if rb.Approvals.TwoPerson && d.By == r.RequestedBy {
			continue
		}
		n++
	}
	return n
}

// Clone copies a request so another goroutine may read it.
func (r Request) Clone() Request {
	c := r
	c.Approvals = slices.Clone(r.Approvals)
	c.Vars = make(map[string]any, len(r.Vars))
	for k, v := range r.Vars {
		c.Vars[k] = v
	}
	if r.Check != nil {
		ch := *r.Check
		ch.Tasks = slices.Clone(ch.Tasks)
		c.Check = &ch
	}
	if r.Result != nil {
		res := *r.Result
		res.Tasks = slices.Clone(res.Tasks)
		c.Result = &res
	}
	return c
}

// Event kinds of the run audit log.
const (
	AuditRequested   = "requested"
	AuditApproved    = "approved"
	AuditRefused     = "refused"
	AuditRejected    = "rejected"
	AuditQueued      = "queued"
	AuditDryRun      = "dry_run"
	AuditCheckDone   = "check_finished"
	AuditStarted     = "started"
	AuditTask        = "task"
	AuditFinished    = "finished"
	AuditCancelled   = "cancel_requested"
	AuditVerified    = "verified"
	AuditInterrupted = "interrupted"
)

// AuditEvent is one line of a run's append-only record.
type AuditEvent struct {
	Request  string    `json:"request"`
	Incident string    `json:"incident"`
	Runbook  string    `json:"runbook"`
	Kind     string    `json:"kind"`
	Actor    string    `json:"actor,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	At       time.Time `json:"at"`
}
