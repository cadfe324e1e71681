package runbooks

import (
	"context"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// startLocked moves an approved request to the queue and starts its run as
// soon as a slot is free. Call with s.mu held.
func (s *Service) startLocked(r *Request) {
	rb := s.runbookOf(*r)
	r.State = StateQueued
	ctx := s.ctxOr(context.Background())
	s.save(ctx, *r)
	s.record(ctx, *r, AuditQueued, "", fmt.Sprintf("approved by %s", approvers(*r)))
	runCtx, cancel := context.WithCancel(ctx)
	s.cancels[r.ID] = cancel
	queued := r.Clone()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		select {
		case s.slots <- struct{}{}:
		default:
			s.notify.RunbookUpdate(runCtx, Update{Kind: UpdateQueued, Request: queued, Runbook: rb})
			select {
			case s.slots <- struct{}{}:
			case <-runCtx.Done():
				s.finish(ctx, r.ID, rb, Result{Outcome: OutcomeCancelled, Started: s.cfg.Now(), Ended: s.cfg.Now(), ExitCode: -1}, false)
				return
			}
		}
		defer func() { <-s.slots }()
		s.execute(ctx, runCtx, r.ID, rb)
	}()
}

func approvers(r Request) string {
	s := ""
	for i, d := range r.Approvals {
		if i > 0 {
			s += ", "
		}
		s += d.By
	}
	return s
}

// execute runs the check run (when the runbook asks) and the real run.
func (s *Service) execute(ctx, runCtx context.Context, id string, rb Runbook) {
	s.mu.Lock()
	r := s.requests[id]
	r.State = StateRunning
	s.save(ctx, *r)
	job, _ := s.Job(*r, rb.DryRun)
	s.record(ctx, *r, AuditStarted, "", fmt.Sprintf("check=%v timeout=%s", job.Check, rb.Timeout))
	started := r.Clone()
	s.mu.Unlock()
	s.notify.RunbookUpdate(ctx, Update{Kind: UpdateStarted, Request: started, Runbook: rb})

	if rb.DryRun {
		res, ok := s.runJob(ctx, runCtx, id, rb, job, true)
		s.mu.Lock()
		s.requests[id].Check = &res
		s.record(ctx, *s.requests[id], AuditCheckDone, "", summary(res))
		s.mu.Unlock()
		if !ok || res.Outcome != OutcomeSucceeded {
			s.finish(ctx, id, rb, res, true)
			return
		}
	}
	job.Check = false
	res, _ := s.runJob(ctx, runCtx, id, rb, job, false)
	s.finish(ctx, id, rb, res, false)
}

// runJob runs one job and records each finished task. ok is false when the
// job could not start at all (the Result then says why).
func (s *Service) runJob(ctx, runCtx context.Context, id string, rb Runbook, job Job, check bool) (Result, bool) {
	progress := func(t TaskResult) {
		s.mu.Lock()
		r := *s.requests[id]
		s.mu.Unlock()
		mode := ""
		if check {
			mode = "check: "
		}
		s.record(ctx, r, AuditTask, "", fmt.Sprintf("%s%s %s on %s: %s", mode, t.Status, t.Task, t.Host, t.Msg))
		task := t
		s.notify.RunbookUpdate(ctx, Update{Kind: UpdateTask, Request: r.Clone(), Runbook: rb, Task: &task, Check: check})
	}
	res, err := s.runner.Run(runCtx, job, progress)
	if err != nil {
		now := s.cfg.Now()
		s.log.Error("run could not start", "request", id, "runbook", rb.ID, "err", err)
		return Result{Outcome: OutcomeFailed, ExitCode: -1, Output: err.Error(), Started: now, Ended: now}, false
	}
	return res, true
}

// finish records how a request ended and tells the thread. A runbook that
// fixed its incident teaches the history.
func (s *Service) finish(ctx context.Context, id string, rb Runbook, res Result, duringCheck bool) {
	s.mu.Lock()
	r := s.requests[id]
	switch res.Outcome {
	case OutcomeSucceeded:
		r.State = StateSucceeded
	case OutcomeCancelled:
		r.State = StateCancelled
	case OutcomeTimedOut:
		r.State = StateTimedOut
	default:
		r.State = StateFailed
	}
	if duringCheck {
		r.Check = &res
	} else {
		r.Result = &res
	}
	delete(s.cancels, id)
	detail := summary(res)
	if duringCheck {
		detail = "stopped after the check run: " + detail
	}
	s.save(ctx, *r)
	s.record(ctx, *r, AuditFinished, r.EndedBy, detail)
	s.mu.Unlock()
	s.log.Info("run finished", "request", id, "runbook", rb.ID, "state", r.State, "changed", res.Changed, "failed", res.Failed)

	if !duringCheck && res.Outcome == OutcomeSucceeded && rb.Verify != nil {
		s.verify(ctx, id, rb)
	}
	outcome := map[State]string{StateSucceeded: "fixed", StateFailed: "failed"}[r.State]
	if outcome != "" && r.Incident != "" {
		wctx, cancel := detached(ctx)
		if err := s.audit.SaveOutcome(wctx, r.Incident, rb.ID, outcome, s.cfg.Now()); err != nil {
			s.log.Error("save outcome", "request", id, "err", err)
		}
		cancel()
	}
	s.mu.Lock()
	done := r.Clone()
	s.mu.Unlock()
	s.notify.RunbookUpdate(ctx, Update{Kind: UpdateFinished, Request: done, Runbook: rb})
}

// verify polls the runbook's PromQL check until it holds or its time is up.
func (s *Service) verify(ctx context.Context, id string, rb Runbook) {
	verdict := "not checked: " + rb.Verify.Description
	s.mu.Lock()
	vars := s.requests[id].Clone().Vars
	s.mu.Unlock()
	query, err := fillQuery(rb.Verify.PromQL, vars)
	if err != nil {
		verdict = "not verified: " + err.Error()
	} else if query != "" && s.cfg.Verify != nil {
		deadline := s.cfg.Now().Add(rb.Verify.Within)
		verdict = fmt.Sprintf("not verified within %s", rb.Verify.Within)
		for {
			ok, err := s.cfg.Verify(ctx, query)
			if err != nil {
				verdict = "not verified: " + err.Error()
				break
			}
			if ok {
				verdict = "verified: " + rb.Verify.Description
				break
			}
			if !s.cfg.Now().Before(deadline) {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(15 * time.Second):
			}
		}
	}
	s.mu.Lock()
	r := s.requests[id]
	r.Verified = verdict
	s.save(ctx, *r)
	s.record(ctx, *r, AuditVerified, "", verdict)
	s.mu.Unlock()
}

// fillQuery puts the run's parameters into a verification query
// ({{.service}}); values are escaped for PromQL strings.
func fillQuery(text string, vars map[string]any) (string, error) {
	t, err := template.New("verify").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("verify query: %w", err)
	}
	esc := map[string]string{}
	for k, v := range vars {
		esc[k] = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(fmt.Sprint(v))
	}
	var b strings.Builder
	if err := t.Execute(&b, esc); err != nil {
		return "", fmt.Errorf("verify query: %w", err)
	}
	return b.String(), nil
}

// DryRun runs a runbook in check mode for an incident before anyone
// decides, once per incident and runbook, and reports what would change.
// It does nothing for runbooks not marked safe to check.
func (s *Service) DryRun(ctx context.Context, o Open) {
	rb, ok := s.catalog.Get(o.Runbook)
	if !ok || !rb.DryRun {
		return
	}
	key := o.Incident + "|" + rb.ID
	s.mu.Lock()
	if s.dryRuns[key] || s.ctx == nil {
		s.mu.Unlock()
		return
	}
	s.dryRuns[key] = true
	base := s.ctx
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		id := newID("DRY-")
		vars, err := rb.Vars(o.Inputs, Context{Incident: o.Incident, RootCause: o.RootCause, Namespace: o.Namespace, RequestedBy: "nightowl", RunID: id, IsService: s.cfg.IsService})
		r := Request{ID: id, Incident: o.Incident, Thread: o.Thread, Runbook: rb.ID, Vars: vars, RequestedBy: "nightowl", RequestedAt: s.cfg.Now(), State: StateRunning}
		if err != nil {
			res := Result{Outcome: OutcomeFailed, Output: "parameters: " + err.Error(), ExitCode: -1}
			s.record(base, r, AuditDryRun, "nightowl", "not run: "+err.Error())
			s.notify.RunbookUpdate(base, Update{Kind: UpdateDryRun, Request: r, Runbook: rb, DryRun: &res})
			return
		}
		select {
		case s.slots <- struct{}{}:
		case <-base.Done():
			return
		}
		defer func() { <-s.slots }()
		job, _ := s.Job(r, true)
		s.record(base, r, AuditDryRun, "nightowl", "check run started")
		res, err := s.runner.Run(base, job, func(TaskResult) {})
		if err != nil {
			res = Result{Outcome: OutcomeFailed, Output: err.Error(), ExitCode: -1}
		}
		r.Check = &res
		r.State = StateSucceeded
		if res.Outcome != OutcomeSucceeded {
			r.State = StateFailed
		}
		s.record(base, r, AuditCheckDone, "nightowl", summary(res))
		s.notify.RunbookUpdate(base, Update{Kind: UpdateDryRun, Request: r, Runbook: rb, DryRun: &res})
	}()
}

// summary is a run's result in one line.
func summary(res Result) string {
	return fmt.Sprintf("%s: %d ok, %d changed, %d failed, %d skipped, exit %d, %s",
		res.Outcome, res.OK, res.Changed, res.Failed, res.Skipped, res.ExitCode, res.Ended.Sub(res.Started).Round(time.Millisecond))
}

// WouldChange lists the tasks a check run reports as changing.
func WouldChange(res Result) []TaskResult {
	var out []TaskResult
	for _, t := range res.Tasks {
		if t.Status == TaskChanged {
			out = append(out, t)
		}
	}
	return out
}
