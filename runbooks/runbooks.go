// Package runbooks owns runbooks as programs: the catalog, who may approve
// a run, and the life of each run request from request to audit record.
package runbooks

import (
	"context"
	"embed"
	"time"
)

// Risk says how careful approvers should be.
type Risk string

// Risk levels.
const (
	RiskLow    Risk = "low"
	RiskMedium Risk = "medium"
	RiskHigh   Risk = "high"
)

// Job is one ansible-playbook invocation.
type Job struct {
	// RunID identifies the run in logs and the audit record.
	RunID string
	// Runbook is the runbook ID the job belongs to.
	Runbook string
	// Playbook is the playbook file's path.
	Playbook string
	// Vars are the validated parameters, passed as one --extra-vars JSON
	// argument: never through a shell, never through the environment.
	Vars map[string]any
	// Check runs in check mode with --diff: nothing changes.
	Check bool
	// Timeout bounds the whole run; the process group is killed after it.
	Timeout time.Duration
	// StopGrace is how long the Runner lets ansible-playbook wind down
	// after it interrupts it (the context ended: a Cancel, or a shutdown
	// whose grace ran out) before it kills the process group; zero means
	// the Runner's own default.
	StopGrace time.Duration
}

// Task statuses, as Ansible reports them per host.
const (
	TaskOK          = "ok"
	TaskChanged     = "changed"
	TaskFailed      = "failed"
	TaskSkipped     = "skipped"
	TaskUnreachable = "unreachable"
)

// TaskResult is one task's outcome on one host.
type TaskResult struct {
	Play   string `json:"play,omitempty"`
	Task   string `json:"task"`
	Host   string `json:"host"`
	Status string `json:"status"`
	// Msg is the module's message, redacted and shortened.
	Msg string `json:"msg,omitempty"`
	// Diff is what the task changes (or would change in check mode), redacted.
	Diff string `json:"diff,omitempty"`
}

// Run outcomes.
const (
	OutcomeSucceeded   = "succeeded"
	OutcomeFailed      = "failed"
	OutcomeCancelled   = "cancelled"
	OutcomeTimedOut    = "timed_out"
	OutcomeInterrupted = "interrupted"
)

// Result is how a job ended.
type Result struct {
	Outcome string       `json:"outcome"`
	Tasks   []TaskResult `json:"tasks"`
	// Counts over Tasks.
	OK, Changed, Failed, Skipped, Unreachable int
	// ExitCode is ansible-playbook's exit status (-1 when killed).
	ExitCode int `json:"exit_code"`
	// Output is the tail of the run's output, redacted.
	Output  string    `json:"output,omitempty"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
}

// Runner runs playbooks; the playbooks package implements it with go-ansible.
// progress is called once per finished task, from the Runner's goroutine.
// A run that fails, times out or is cancelled returns a Result saying so and
// a nil error; the error is for runs that could not start.
type Runner interface {
	Run(ctx context.Context, job Job, progress func(TaskResult)) (Result, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, job Job, progress func(TaskResult)) (Result, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, job Job, progress func(TaskResult)) (Result, error) {
	return f(ctx, job, progress)
}

// Shipped is the catalog nightowl ships (RB-DB-001 … RB-DEMO-001), for the
// demo and for installing a starting catalog.
//
//go:embed *.yaml
var Shipped embed.FS
