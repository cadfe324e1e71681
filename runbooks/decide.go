package runbooks

import (
	"context"
	"fmt"
	"strings"
)

// Approve records user's approval of request id, whose buttons carry
// digest. The policy comes first: a stale request, a digest that no longer
// matches, someone who may not approve or a requester approving their own
// two-person run change nothing but the refusal on the record, and the
// answer says why in one sentence. Once enough distinct approvers agree,
// the approval and the queued state are committed together and only then
// does the run start, exactly once. msg is "" when the run started.
func (s *Service) Approve(ctx context.Context, id, digest, user string) (req Request, msg string, err error) {
	e, ok := s.entry(id)
	if !ok {
		return Request{}, fmt.Sprintf("Run request %s is not open here; nothing was approved.", id), nil
	}
	r := s.snapshot(e)
	rb := s.runbookOf(r)
	if why := s.refusal(ctx, e, r, digest, user, "approve"); why != "" {
		return r, why, nil
	}
	if ok, why := s.policy.MayApprove(ctx, user, rb); !ok {
		s.record(ctx, r, AuditRefused, user, why)
		s.log.Info("approval refused", "request", id, "runbook", rb.ID, "user", user, "why", why)
		return r, "You cannot approve this run: " + why + ".", nil
	}
	if rb.Approvals.TwoPerson && user == r.RequestedBy {
		s.record(ctx, r, AuditRefused, user, "the requester's own approval does not count (two_person)")
		return r, fmt.Sprintf("You requested %s, so your approval does not count: another approver must approve it.", r.ID), nil
	}
	requesterApproves := s.mayApprove(ctx, r.RequestedBy, rb) // asks Slack about groups: before any lock
	now := s.cfg.Now()
	next, refusal, err := s.change(ctx, e, func(n *Request) ([]AuditEvent, string) {
		switch {
		case s.isStopping():
			return nil, "nightowl is shutting down, so nothing was approved: approve again once it is back."
		case n.State != StatePending:
			return nil, notPending(*n)
		case s.staleness(*n, now) != "":
			return nil, fmt.Sprintf("%s expired (%s); nothing was approved.", n.ID, s.staleness(*n, now))
		case n.ApprovedBy(user):
			return nil, "You have approved this run already."
		}
		n.Approvals = append(n.Approvals, Decision{By: user, At: now})
		n.Needed = ApprovalsNeeded(*n, rb, requesterApproves)
		events := []AuditEvent{s.event(*n, AuditApproved, user, "digest "+digest)}
		if n.Needed > 0 {
			return events, ""
		}
		if busy := s.busyWith(*n); busy != "" {
			return nil, busy
		}
		n.State = StateQueued
		return append(events, s.event(*n, AuditQueued, "", "approved by "+approvers(*n))), ""
	})
	switch {
	case err != nil:
		s.log.Error("approval not recorded: nothing runs", "request", id, "runbook", rb.ID, "user", user, "err", err)
		s.tell(ctx, Update{Kind: UpdateNotRecorded, Request: next, Runbook: rb,
			Note: fmt.Sprintf("%s (%s) did not start: nightowl could not write an approval to its record, so nothing was approved and nothing ran.", next.Runbook, next.ID)})
		return next, "nightowl could not write your approval to its record, so nothing was approved and nothing ran.", err
	case refusal != "":
		return next, refusal, nil
	case next.State == StateQueued:
		s.log.Info("run approved", "request", id, "runbook", rb.ID, "user", user, "approvers", approvers(next))
		s.tell(ctx, Update{Kind: UpdateQueued, Request: next, Runbook: rb})
		s.start(e, rb)
		return next, "", nil
	}
	s.tell(ctx, Update{Kind: UpdateApproved, Request: next, Runbook: rb})
	return next, fmt.Sprintf("Approval recorded; %s needs %d more from other approvers.", next.ID, next.Needed), nil
}

// refusal answers a click that must change nothing before the policy is
// even asked: a button that does not match the request, or a request that
// went stale (expired now, if it had not been yet).
func (s *Service) refusal(ctx context.Context, e *entry, r Request, digest, user, verb string) string {
	if digest != r.Digest {
		s.record(ctx, r, AuditRefused, user, fmt.Sprintf("%s with digest %q, the request's is %q", verb, digest, r.Digest))
		return fmt.Sprintf("That button does not match %s's parameters, so nothing was done: look at the request in the thread again.", r.ID)
	}
	if r.State != StatePending {
		return ""
	}
	if why := s.staleness(r, s.cfg.Now()); why != "" {
		s.expire(ctx, e, why)
		return fmt.Sprintf("%s expired (%s); nothing was done.", r.ID, why)
	}
	return ""
}

// busyWith refuses a second concurrent run of a runbook on an incident.
func (s *Service) busyWith(r Request) string {
	if r.Incident == "" {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.requests {
		o := e.req
		if o.ID != r.ID && o.Incident == r.Incident && o.Runbook == r.Runbook && (o.State == StateQueued || o.State == StateRunning) {
			return fmt.Sprintf("%s is already %s for %s as %s, so nothing was approved: approve again once it has ended.", r.Runbook, o.State.Words(), r.Incident, o.ID)
		}
	}
	return ""
}

func notPending(r Request) string {
	if r.State == StateExpired && r.Note != "" {
		return fmt.Sprintf("%s %s; nothing was done.", r.ID, strings.TrimSuffix(r.Note, "."))
	}
	return fmt.Sprintf("%s is %s; nothing was done.", r.ID, r.State.Words())
}

// Reject closes a pending request without running it: approvers may, and
// the requester may withdraw their own.
func (s *Service) Reject(ctx context.Context, id, digest, user string) (Request, string, error) {
	e, ok := s.entry(id)
	if !ok {
		return Request{}, fmt.Sprintf("%s is not waiting for a decision.", id), nil
	}
	r := s.snapshot(e)
	rb := s.runbookOf(r)
	if why := s.refusal(ctx, e, r, digest, user, "reject"); why != "" {
		return r, why, nil
	}
	if r.State != StatePending {
		return r, notPending(r), nil
	}
	if !s.mayApprove(ctx, user, rb) && user != r.RequestedBy {
		s.record(ctx, r, AuditRefused, user, "tried to reject without being an approver or the requester")
		return r, "Only an approver or the requester can reject this run.", nil
	}
	next, refusal, err := s.change(ctx, e, func(n *Request) ([]AuditEvent, string) {
		if n.State != StatePending {
			return nil, notPending(*n)
		}
		n.State, n.EndedBy = StateRejected, user
		return []AuditEvent{s.event(*n, AuditRejected, user, "")}, ""
	})
	switch {
	case err != nil:
		s.log.Error("rejection not recorded", "request", id, "user", user, "err", err)
		return next, "nightowl could not write your rejection to its record; the request is unchanged.", err
	case refusal != "":
		return next, refusal, nil
	}
	s.mu.Lock()
	if e.dryCancel != nil {
		e.dryCancel()
	}
	s.mu.Unlock()
	s.tell(ctx, Update{Kind: UpdateRejected, Request: next, Runbook: rb})
	return next, "", nil
}

// Cancel stops a queued or running run. Only approvers may: the requester
// too, but only when they are one. Ansible is interrupted and given
// Job.StopGrace before its process group is killed.
func (s *Service) Cancel(ctx context.Context, id, digest, user string) (Request, string, error) {
	e, ok := s.entry(id)
	if !ok {
		return Request{}, fmt.Sprintf("%s is not running.", id), nil
	}
	r := s.snapshot(e)
	rb := s.runbookOf(r)
	if why := s.refusal(ctx, e, r, digest, user, "cancel"); why != "" {
		return r, why, nil
	}
	if r.State != StateRunning && r.State != StateQueued {
		return r, fmt.Sprintf("%s is %s; there is nothing to cancel.", r.ID, r.State.Words()), nil
	}
	if ok, why := s.policy.MayApprove(ctx, user, rb); !ok {
		s.record(ctx, r, AuditRefused, user, "tried to cancel without being an approver: "+why)
		return r, "Only approvers can cancel a run: " + why + ".", nil
	}
	next, refusal, err := s.change(ctx, e, func(n *Request) ([]AuditEvent, string) {
		if n.State != StateRunning && n.State != StateQueued {
			return nil, fmt.Sprintf("%s is %s; there is nothing to cancel.", n.ID, n.State.Words())
		}
		n.EndedBy = user
		return []AuditEvent{s.event(*n, AuditCancelled, user, "")}, ""
	})
	if refusal != "" {
		return next, refusal, nil
	}
	if err != nil { // stopping is the safe direction: stop it anyway
		s.log.Error("cancel not recorded; cancelling anyway", "request", id, "user", user, "err", err)
		s.mu.Lock()
		e.req.EndedBy = user
		s.mu.Unlock()
	}
	s.mu.Lock()
	if e.cancel != nil {
		e.cancel(errCancelled)
	}
	s.mu.Unlock()
	s.log.Info("run cancelled", "request", id, "runbook", rb.ID, "user", user)
	return s.snapshot(e), "", nil
}

func approvers(r Request) string {
	by := make([]string, 0, len(r.Approvals))
	for _, d := range r.Approvals {
		by = append(by, d.By)
	}
	return strings.Join(by, ", ")
}
