package runbooks

import (
	"context"
	"fmt"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Run takes back the requests open when nightowl last stopped, expires
// requests as they go stale, and serves until ctx ends. Then it stops
// taking runs, lets running ones finish for StopGrace, interrupts the
// rest, and returns once every run has ended and said so.
func (s *Service) Run(ctx context.Context) error {
	defer s.drain()
	if err := s.takeBack(ctx); err != nil {
		return err
	}
	every := min(max(s.cfg.RequestTTL/10, 100*time.Millisecond), 15*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		s.sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// takeBack loads open requests: pending ones wait on (until they expire);
// one that was queued or running when nightowl stopped is interrupted and
// said so: nothing starts by itself after a restart.
func (s *Service) takeBack(ctx context.Context) error {
	open, err := s.audit.OpenRequests(ctx)
	if err != nil {
		return fmt.Errorf("load open run requests: %w", err)
	}
	for _, r := range open {
		s.mu.Lock()
		_, known := s.requests[r.ID] // opened by this process before Run began
		s.mu.Unlock()
		if known {
			continue
		}
		rb := s.runbookOf(r)
		switch r.State {
		case StatePending:
			if r.ExpiresAt.IsZero() {
				r.ExpiresAt = r.RequestedAt.Add(s.cfg.RequestTTL)
			}
			if r.Digest == "" {
				r.Digest = Digest(r.Runbook, r.Vars)
			}
			e := s.add(r)
			if rb.DryRun && r.DryRun == nil {
				s.startDryRun(e, rb)
			}
		case StateQueued, StateRunning:
			note := "interrupted: nightowl stopped before a runner was free, so nothing ran."
			if r.State == StateRunning {
				note = "interrupted: nightowl stopped while it ran, so its outcome is unknown; check the system before running it again."
			}
			r.State, r.Note = StateInterrupted, note
			s.add(r)
			if err := s.commit(ctx, r, s.event(r, AuditInterrupted, "", note)); err != nil {
				s.log.Error("record interrupted run", "request", r.ID, "err", err)
			}
			s.tell(ctx, Update{Kind: UpdateInterrupted, Request: r.Clone(), Runbook: rb, Note: note})
		}
	}
	return nil
}

// sweep expires pending requests past their time or whose incident is over.
func (s *Service) sweep(ctx context.Context) {
	now := s.cfg.Now()
	s.mu.Lock()
	var pending []*entry
	for _, e := range s.requests {
		if e.req.State == StatePending {
			pending = append(pending, e)
		}
	}
	s.mu.Unlock()
	for _, e := range pending {
		if why := s.staleness(s.snapshot(e), now); why != "" {
			s.expire(ctx, e, why)
		}
	}
}

// staleness says why a pending request can no longer be approved, "" if it can.
func (s *Service) staleness(r Request, now time.Time) string {
	switch {
	case !now.Before(r.ExpiresAt):
		return fmt.Sprintf("nobody approved it within %s", diagnosis.Compact(s.cfg.RequestTTL))
	case r.Incident != "" && s.cfg.IncidentOpen != nil && !s.cfg.IncidentOpen(r.Incident):
		return r.Incident + " is resolved"
	}
	return ""
}

// drain stops taking runs, gives running ones StopGrace, interrupts the
// rest and waits until every goroutine has ended.
func (s *Service) drain() {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.stopping = true
	running := 0
	for _, e := range s.requests {
		if e.req.State == StateRunning || e.req.State == StateQueued {
			running++
		}
	}
	s.mu.Unlock()
	close(s.draining) // queued runs end without starting
	s.stopWork(errShutdown)
	if running > 0 {
		s.log.Info("shutting down: letting runs finish", "runs", running, "grace", s.cfg.StopGrace)
	}
	done := make(chan struct{})
	go func() { s.runWG.Wait(); close(done) }()
	grace := time.NewTimer(s.cfg.StopGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.log.Warn("shutdown grace over: interrupting runs", "grace", s.cfg.StopGrace)
		s.stopRuns(errShutdown)
		<-done
	}
	s.stopRuns(errShutdown)
	s.workWG.Wait()
}
