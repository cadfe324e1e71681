package runbooks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
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
	StateInterrupted State = "interrupted" // nightowl stopped (or died) before or while it ran
	StateExpired     State = "expired"     // nobody approved it in time, or its incident resolved
)

// Open reports whether the request can still run.
func (s State) Open() bool { return s == StatePending || s == StateQueued || s == StateRunning }

// Words says where a request stands, for people: the one place this
// wording lives (the thread message, the card, the click replies).
func (s State) Words() string {
	switch s {
	case StatePending:
		return "waiting for approval"
	case StateQueued:
		return "approved, waiting for a free runner"
	case StateRunning:
		return "running"
	case StateSucceeded:
		return "succeeded"
	case StateFailed:
		return "failed"
	case StateCancelled:
		return "cancelled"
	case StateTimedOut:
		return "timed out"
	case StateRejected:
		return "rejected"
	case StateInterrupted:
		return "interrupted"
	case StateExpired:
		return "expired"
	}
	return string(s)
}

// Sources of requests.
const (
	// SourceCard is the card's own request: the recommendation the card
	// shows, with the card's parameters, opened by nightowl.
	SourceCard = "card"
	// SourcePerson is a request someone typed (/runbook run, a mention).
	SourcePerson = "person"
)

// Recommender is who opens the card's requests.
const Recommender = "nightowl"

// Request is one ask to run a runbook with exact parameters for an
// incident, and everything that happened to it.
type Request struct {
	ID          string           `json:"id"`
	Incident    string           `json:"incident"`
	Thread      diagnosis.Thread `json:"thread"`
	Runbook     string           `json:"runbook"`
	Vars        map[string]any   `json:"vars"`
	RequestedBy string           `json:"requested_by"`
	RequestedAt time.Time        `json:"requested_at"`
	// Source is SourceCard or SourcePerson.
	Source string `json:"source,omitempty"`
	// Digest names the runbook and the parameters (see Digest): every
	// button of the request carries it, and a click whose digest differs
	// is refused.
	Digest string `json:"digest,omitempty"`
	// ExpiresAt is when a pending request can no longer be approved.
	ExpiresAt time.Time  `json:"expires_at,omitzero"`
	Approvals []Decision `json:"approvals,omitempty"`
	// Needed is how many more approvals it needs, as of the last decision.
	Needed int   `json:"needed,omitempty"`
	State  State `json:"state"`
	// DryRun is the check run with these parameters before anyone decided.
	DryRun   *Result           `json:"dry_run,omitempty"`
	Check    *Result           `json:"check,omitempty"` // the check-mode run just before the real one
	Result   *Result           `json:"result,omitempty"`
	Verified string            `json:"verified,omitempty"`
	EndedBy  string            `json:"ended_by,omitempty"` // who cancelled or rejected
	Note     string            `json:"note,omitempty"`     // why it ended, when the state does not say
	Message  diagnosis.Thread  `json:"message,omitzero"`   // the request's message in the thread
	Extra    map[string]string `json:"extra,omitempty"`
	// Progress are the finished tasks of the run in flight and Checking
	// says they belong to its check run; neither is kept on the record.
	Progress []TaskResult `json:"-"`
	Checking bool         `json:"-"`
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

// Clone copies a request so another goroutine may read it.
func (r Request) Clone() Request {
	c := r
	c.Approvals = slices.Clone(r.Approvals)
	c.Progress = slices.Clone(r.Progress)
	c.Vars = make(map[string]any, len(r.Vars))
	for k, v := range r.Vars {
		c.Vars[k] = v
	}
	for _, p := range []**Result{&c.DryRun, &c.Check, &c.Result} {
		if *p != nil {
			res := **p
			res.Tasks = slices.Clone(res.Tasks)
			*p = &res
		}
	}
	if r.Extra != nil {
		c.Extra = make(map[string]string, len(r.Extra))
		for k, v := range r.Extra {
			c.Extra[k] = v
		}
	}
	return c
}

// bookkeeping are the variables that name a request rather than say what
// it does; a digest leaves them out.
var bookkeeping = []string{VarRunID, VarRequestedBy}

// Digest names a runbook with its parameters in 12 hex digits: the same
// runbook with the same parameters for the same incident has the same
// digest, whoever asked. It is short enough for any button value.
func Digest(runbook string, vars map[string]any) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		if !slices.Contains(bookkeeping, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(runbook))
	for _, k := range keys {
		v, err := json.Marshal(vars[k])
		if err != nil { // parameters are strings, numbers and booleans
			v = []byte("?")
		}
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(v)
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
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
	AuditExpired     = "expired"
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
