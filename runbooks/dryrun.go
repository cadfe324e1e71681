package runbooks

import "context"

// startDryRun runs a pending request in check mode with its own
// parameters, so what it would change is in its message before anyone
// decides. Dry runs have their own slots: a storm of them never delays an
// approved run. One that is no longer needed (the request was decided or
// expired, nightowl is stopping) is skipped or stopped.
func (s *Service) startDryRun(e *entry, rb Runbook) {
	ctx, cancel := context.WithCancel(s.work)
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		cancel()
		return
	}
	e.dryCancel = cancel
	s.workWG.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.workWG.Done()
		defer cancel()
		select {
		case s.drySlots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-s.drySlots }()
		r := s.snapshot(e)
		if r.State != StatePending || ctx.Err() != nil {
			return
		}
		s.record(ctx, r, AuditDryRun, Recommender, "check run with the request's parameters started")
		res, err := s.runner.Run(ctx, s.job(r, rb, true), func(TaskResult) {})
		if err != nil {
			now := s.cfg.Now()
			res = Result{Outcome: OutcomeFailed, Output: err.Error(), ExitCode: -1, Started: now, Ended: now}
		}
		if ctx.Err() != nil {
			return // decided, expired or stopping: nobody reads it
		}
		r, _, err = s.change(ctx, e, func(r *Request) ([]AuditEvent, string) {
			r.DryRun = &res
			return []AuditEvent{s.event(*r, AuditCheckDone, Recommender, "dry run: "+summary(res))}, ""
		})
		if err != nil { // what it would change is worth showing anyway
			s.log.Error("record dry run", "request", r.ID, "err", err)
			s.mu.Lock()
			e.req.DryRun = &res
			r = e.req.Clone()
			s.mu.Unlock()
		}
		s.log.Info("dry run finished", "request", r.ID, "runbook", rb.ID, "outcome", res.Outcome, "would_change", len(WouldChange(res)))
		s.tell(ctx, Update{Kind: UpdateDryRun, Request: r, Runbook: rb})
	}()
}
