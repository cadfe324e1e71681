package runbooks

import (
	"context"
	"fmt"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// change applies f to a copy of the request, writes the copy and the
// events f returns to the record, and only then makes it the request's
// state: what is not on the record did not happen. f refuses by returning
// a sentence, which changes nothing.
func (s *Service) change(ctx context.Context, e *entry, f func(r *Request) ([]AuditEvent, string)) (Request, string, error) {
	e.step.Lock()
	defer e.step.Unlock()
	next := s.snapshot(e)
	events, refusal := f(&next)
	if refusal != "" {
		return s.snapshot(e), refusal, nil
	}
	if err := s.commit(ctx, next, events...); err != nil {
		return s.snapshot(e), "", err
	}
	s.mu.Lock()
	// What changes outside transitions stays as it is now.
	next.Progress, next.Checking = e.req.Progress, e.req.Checking
	if next.Message.IsZero() {
		next.Message = e.req.Message
	}
	if next.DryRun == nil {
		next.DryRun = e.req.DryRun
	}
	e.req = next
	out := next.Clone()
	s.mu.Unlock()
	return out, "", nil
}

// expire ends a pending request that can no longer be approved. An
// expiry that cannot be written still holds in memory: refusing is the
// safe direction.
func (s *Service) expire(ctx context.Context, e *entry, why string) {
	note := "expired: " + why + "."
	r, refusal, err := s.change(ctx, e, func(r *Request) ([]AuditEvent, string) {
		if r.State != StatePending {
			return nil, "not pending"
		}
		r.State, r.Note = StateExpired, note
		return []AuditEvent{s.event(*r, AuditExpired, "", why)}, ""
	})
	if refusal != "" {
		return
	}
	if err != nil {
		s.log.Error("record expiry", "request", r.ID, "err", err)
		s.mu.Lock()
		if e.req.State == StatePending {
			e.req.State, e.req.Note = StateExpired, note
		}
		r = e.req.Clone()
		s.mu.Unlock()
	}
	s.mu.Lock()
	if e.dryCancel != nil {
		e.dryCancel()
	}
	s.mu.Unlock()
	s.log.Info("run request expired", "request", r.ID, "runbook", r.Runbook, "incident", r.Incident, "why", why)
	s.tell(ctx, Update{Kind: UpdateExpired, Request: r, Runbook: s.runbookOf(r)})
}

// commit writes a request and its events, even when ctx has ended: what
// happened must be on the record.
func (s *Service) commit(ctx context.Context, r Request, events ...AuditEvent) error {
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := s.audit.Commit(ctx, r, events...); err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrNotRecorded, r.ID, r.State, err)
	}
	return nil
}

// record appends a line that changes no request; a failure is logged.
func (s *Service) record(ctx context.Context, r Request, kind, actor, detail string) {
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := s.audit.AppendAudit(ctx, s.event(r, kind, actor, detail)); err != nil {
		s.log.Error("append run audit", "request", r.ID, "kind", kind, "err", err)
	}
}

func (s *Service) event(r Request, kind, actor, detail string) AuditEvent {
	return AuditEvent{Request: r.ID, Incident: r.Incident, Runbook: r.Runbook, Kind: kind, Actor: actor, Detail: detail, At: s.cfg.Now()}
}

// tell passes an update on; never call it with a lock held.
func (s *Service) tell(ctx context.Context, u Update) {
	s.notify.RunbookUpdate(context.WithoutCancel(ctx), u)
}
