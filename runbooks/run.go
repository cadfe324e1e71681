package runbooks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// start runs an approved request (already queued on the record) as soon as
// a run slot is free. Run slots are for approved runs only.
func (s *Service) start(e *entry, rb Runbook) {
	ctx, cancel := context.WithCancelCause(s.runs)
	s.mu.Lock()
	if s.stopping { // approved as the shutdown began: it ends here, not started
		s.mu.Unlock()
		cancel(errShutdown)
		s.end(ctx, e, rb, nil, false)
		return
	}
	e.cancel = cancel
	s.runWG.Add(1) // under mu: drain, which sets stopping under mu, waits for it
	s.mu.Unlock()
	go func() {
		defer s.runWG.Done()
		defer cancel(nil)
		s.run(ctx, e, rb)
	}()
}

// run waits for a slot, records the start, then runs the check run (when
// the runbook asks for one) and the real run.
func (s *Service) run(ctx context.Context, e *entry, rb Runbook) {
	select {
	case s.runSlots <- struct{}{}:
	case <-ctx.Done():
		s.end(ctx, e, rb, nil, false)
		return
	case <-s.draining:
		s.end(withCause(ctx, errShutdown), e, rb, nil, false)
		return
	}
	held := true
	release := func() {
		if held {
			<-s.runSlots
			held = false
		}
	}
	defer release()
	select {
	case <-s.draining:
		s.end(withCause(ctx, errShutdown), e, rb, nil, false)
		return
	default:
	}
	job := s.job(s.snapshot(e), rb, rb.DryRun)
	_, _, err := s.change(ctx, e, func(r *Request) ([]AuditEvent, string) {
		r.State = StateRunning
		return []AuditEvent{s.event(*r, AuditStarted, "", fmt.Sprintf("check=%v timeout=%s", job.Check, rb.Timeout))}, ""
	})
	if err != nil { // nothing runs that is not on the record
		s.log.Error("run start not recorded: nothing runs", "request", job.RunID, "runbook", rb.ID, "err", err)
		r := s.snapshot(e)
		s.tell(ctx, Update{Kind: UpdateNotRecorded, Request: r, Runbook: rb,
			Note: fmt.Sprintf("%s (%s) did not start: nightowl could not write its start to its record, so nothing ran.", rb.ID, r.ID)})
		s.endNotRecorded(ctx, e, rb)
		return
	}
	s.setProgress(e, nil, rb.DryRun)
	s.tell(ctx, Update{Kind: UpdateStarted, Request: s.snapshot(e), Runbook: rb})

	if rb.DryRun {
		res, ok := s.runJob(ctx, e, rb, job, true)
		if _, _, err := s.change(ctx, e, func(r *Request) ([]AuditEvent, string) {
			r.Check = &res
			return []AuditEvent{s.event(*r, AuditCheckDone, "", summary(res))}, ""
		}); err != nil {
			s.log.Error("record check run", "request", job.RunID, "err", err)
		}
		if !ok || res.Outcome != OutcomeSucceeded {
			release()
			s.end(ctx, e, rb, &res, true)
			return
		}
		s.setProgress(e, nil, false)
	}
	job.Check = false
	res, _ := s.runJob(ctx, e, rb, job, false)
	release()
	s.end(ctx, e, rb, &res, false)
}

// withCause is ctx ended with cause, for a run that ends before its own
// context does.
func withCause(ctx context.Context, cause error) context.Context {
	c, cancel := context.WithCancelCause(ctx)
	cancel(cause)
	return c
}

func (s *Service) setProgress(e *entry, tasks []TaskResult, checking bool) {
	s.mu.Lock()
	e.req.Progress, e.req.Checking = tasks, checking
	s.mu.Unlock()
}

// runJob runs one job and records each finished task. ok is false when the
// job could not start at all (the Result then says why).
func (s *Service) runJob(ctx context.Context, e *entry, rb Runbook, job Job, check bool) (Result, bool) {
	progress := func(t TaskResult) {
		s.mu.Lock()
		e.req.Progress = append(e.req.Progress, t)
		e.req.Checking = check
		r := e.req.Clone()
		s.mu.Unlock()
		mode := ""
		if check {
			mode = "check: "
		}
		s.record(ctx, r, AuditTask, "", fmt.Sprintf("%s%s %s on %s: %s", mode, t.Status, t.Task, t.Host, t.Msg))
		task := t
		s.tell(ctx, Update{Kind: UpdateTask, Request: r, Runbook: rb, Task: &task, Check: check})
	}
	res, err := s.runner.Run(ctx, job, progress)
	if err != nil {
		now := s.cfg.Now()
		s.log.Error("run could not start", "request", job.RunID, "runbook", rb.ID, "err", err)
		return Result{Outcome: OutcomeFailed, ExitCode: -1, Output: err.Error(), Started: now, Ended: now}, false
	}
	return res, true
}

// end records how a request's run ended (res is nil when it never
// started) and tells the thread. A runbook that fixed its incident teaches
// the history; a successful run is then verified.
func (s *Service) end(ctx context.Context, e *entry, rb Runbook, res *Result, duringCheck bool) {
	// Why the run's context ended decides how a stopped run is told,
	// whatever the Runner made of the stop (its cleanup may fail a task).
	cause := context.Cause(ctx)
	shutdown, cancelled := errors.Is(cause, errShutdown), errors.Is(cause, errCancelled)
	var state State
	note := ""
	switch {
	case res == nil && shutdown:
		state, note = StateInterrupted, "interrupted by shutdown: nightowl stopped before a runner was free, so nothing ran."
	case res == nil:
		state, note = StateCancelled, "cancelled before it started: nothing ran."
	case res.Outcome == OutcomeSucceeded:
		state = StateSucceeded
	case shutdown:
		state, note = StateInterrupted, "interrupted by shutdown: nightowl stopped while it ran and interrupted ansible-playbook; check the system before running it again."
	case cancelled || res.Outcome == OutcomeCancelled:
		state = StateCancelled
	case res.Outcome == OutcomeTimedOut:
		state = StateTimedOut
	case res.Outcome == OutcomeInterrupted:
		state, note = StateInterrupted, "ansible-playbook was interrupted; check the system before running it again."
	default:
		state = StateFailed
	}
	detail := "not started"
	if res != nil {
		detail = summary(*res)
		if duringCheck {
			detail = "stopped after the check run: " + detail
		}
	}
	if note != "" {
		detail += "; " + note
	}
	r, _, err := s.change(ctx, e, func(r *Request) ([]AuditEvent, string) {
		r.State, r.Note = state, note
		if res != nil && duringCheck {
			r.Check = res
		} else if res != nil {
			r.Result = res
		}
		return []AuditEvent{s.event(*r, AuditFinished, r.EndedBy, detail)}, ""
	})
	if err != nil { // the thread must still hear how it ended
		s.log.Error("record run outcome", "request", r.ID, "err", err)
		s.mu.Lock()
		e.req.State, e.req.Note = state, note
		if res != nil && duringCheck {
			e.req.Check = res
		} else if res != nil {
			e.req.Result = res
		}
		r = e.req.Clone()
		s.mu.Unlock()
	}
	s.mu.Lock()
	e.req.Checking = false
	s.mu.Unlock()
	s.log.Info("run finished", "request", r.ID, "runbook", rb.ID, "state", r.State, "note", note)
	if outcome := map[State]string{StateSucceeded: "fixed", StateFailed: "failed"}[r.State]; outcome != "" && r.Incident != "" && res != nil {
		wctx, cancel := diagnosis.Detached(ctx)
		if err := s.audit.SaveOutcome(wctx, r.Incident, rb.ID, outcome, s.cfg.Now()); err != nil {
			s.log.Error("save outcome", "request", r.ID, "err", err)
		}
		cancel()
	}
	s.tell(ctx, Update{Kind: UpdateFinished, Request: r, Runbook: rb})
	if r.State == StateSucceeded && !duringCheck && rb.Verify != nil {
		s.workWG.Add(1)
		go func() {
			defer s.workWG.Done()
			s.verify(s.work, e, rb)
		}()
	}
}

// endNotRecorded ends a run whose start could not be written: nothing ran.
func (s *Service) endNotRecorded(ctx context.Context, e *entry, rb Runbook) {
	now := s.cfg.Now()
	res := Result{Outcome: OutcomeFailed, ExitCode: -1, Started: now, Ended: now,
		Output: "nightowl could not write the run's start to its record, so it did not start"}
	s.end(ctx, e, rb, &res, false)
}

// verify polls the runbook's PromQL check until it holds or its time is up.
func (s *Service) verify(ctx context.Context, e *entry, rb Runbook) {
	r := s.snapshot(e)
	verdict := "not checked: " + rb.Verify.Description
	query, err := fillQuery(rb.Verify.PromQL, r.Vars)
	if err != nil {
		verdict = "not verified: " + err.Error()
	} else if query != "" && s.cfg.Verify != nil {
		deadline := s.cfg.Now().Add(rb.Verify.Within)
		verdict = fmt.Sprintf("not verified within %s", diagnosis.Precise(rb.Verify.Within))
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
	r, _, err = s.change(ctx, e, func(r *Request) ([]AuditEvent, string) {
		r.Verified = verdict
		return []AuditEvent{s.event(*r, AuditVerified, "", verdict)}, ""
	})
	if err != nil {
		s.log.Error("record verification", "request", r.ID, "err", err)
		return
	}
	s.tell(ctx, Update{Kind: UpdateVerified, Request: r, Runbook: rb})
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
