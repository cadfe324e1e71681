package slackemu

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Socket Mode envelope types.
const (
	kindEvents      = "events_api"
	kindSlash       = "slash_commands"
	kindInteractive = "interactive"
)

// envelope is one delivery attempt. A redelivery is a new envelope with the same payload.
type envelope struct {
	id              string
	kind            string
	payload         json.RawMessage
	acceptsResponse bool
	attempt         int
	reason          string
	eventID         string

	queued     time.Time
	sent       time.Time
	deadline   time.Time
	acked      bool
	ackedAfter time.Duration
	ackPayload json.RawMessage
	timedOut   bool
	abandoned  bool          // a slash command or click nobody took in time
	ackCh      chan struct{} // closed on the first ack
}

// frame is the envelope as written on the socket.
func (e *envelope) frame() []byte {
	return marshal(struct {
		EnvelopeID             string          `json:"envelope_id"`
		Type                   string          `json:"type"`
		Payload                json.RawMessage `json:"payload"`
		AcceptsResponsePayload bool            `json:"accepts_response_payload"`
		RetryAttempt           int             `json:"retry_attempt"`
		RetryReason            string          `json:"retry_reason"`
	}{e.id, e.kind, e.payload, e.acceptsResponse, e.attempt, e.reason})
}

// delivery is the Socket Mode side of the server. Guarded by Server.mu, except kick.
type delivery struct {
	queue    []*envelope   // waiting for a connection, oldest first
	queued   chan struct{} // closed and replaced when the queue grows
	byID     map[string]*envelope
	all      []*envelope // every envelope ever created, for Envelopes
	inflight []*envelope // sent, neither acked nor timed out
	retries  []retry
	conns    []*conn
	peak     int           // most connections open at once
	kick     chan struct{} // wakes the scheduler; buffered 1
}

type retry struct {
	at  time.Time
	env *envelope
}

func (d *delivery) init() {
	d.queued = make(chan struct{})
	d.byID = map[string]*envelope{}
	d.kick = make(chan struct{}, 1)
}

func (d *delivery) allConns() []*conn { return slices.Clone(d.conns) }

// EnvelopeRecord is what the server knows about one envelope it delivered or queued.
type EnvelopeRecord struct {
	ID           string
	Type         string // events_api, slash_commands or interactive
	EventID      string // events_api only; the same across redeliveries
	Sent         time.Time
	AckedAfter   time.Duration // from Sent to the ack
	Acked        bool
	TimedOut     bool // not acked within AckTimeout
	RetryAttempt int
}

// Envelopes lists every envelope so far, in the order they were created.
func (s *Server) Envelopes() []EnvelopeRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]EnvelopeRecord, 0, len(s.del.all))
	for _, e := range s.del.all {
		out = append(out, EnvelopeRecord{
			ID: e.id, Type: e.kind, EventID: e.eventID, Sent: e.sent,
			AckedAfter: e.ackedAfter, Acked: e.acked, TimedOut: e.timedOut, RetryAttempt: e.attempt,
		})
	}
	return out
}

func newEnvelope(kind string, payload json.RawMessage, acceptsResponse bool, eventID string) *envelope {
	return &envelope{
		id: newEnvelopeID(), kind: kind, payload: payload, acceptsResponse: acceptsResponse,
		eventID: eventID, ackCh: make(chan struct{}),
	}
}

// enqueueLocked queues e for the next connection that asks for work.
func (s *Server) enqueueLocked(e *envelope) {
	e.queued = time.Now()
	s.del.queue = append(s.del.queue, e)
	s.del.byID[e.id] = e
	s.del.all = append(s.del.all, e)
	close(s.del.queued)
	s.del.queued = make(chan struct{})
	s.notifyLocked()
}

// requeueLocked puts back an envelope whose write failed, ahead of the others.
func (s *Server) requeueLocked(e *envelope) {
	e.sent, e.deadline = time.Time{}, time.Time{}
	s.del.inflight = slices.DeleteFunc(s.del.inflight, func(x *envelope) bool { return x == e })
	s.del.queue = slices.Insert(s.del.queue, 0, e)
	close(s.del.queued)
	s.del.queued = make(chan struct{})
}

// nextFrameLocked gives c its next control frame or envelope, or the channel that
// signals new work. A draining connection (sent a disconnect) takes no envelopes.
// An envelope counts as sent from here: its ack may arrive before the write returns.
func (s *Server) nextFrameLocked(c *conn) (control []byte, env *envelope, wait <-chan struct{}) {
	if len(c.control) > 0 {
		control, c.control = c.control[0], c.control[1:]
		return control, nil, nil
	}
	if c.draining {
		return nil, nil, nil
	}
	for len(s.del.queue) > 0 {
		env, s.del.queue = s.del.queue[0], s.del.queue[1:]
		if !env.abandoned {
			s.markSentLocked(env)
			return nil, env, nil
		}
	}
	return nil, nil, s.del.queued
}

// markSentLocked starts e's ack clock.
func (s *Server) markSentLocked(e *envelope) {
	e.sent = time.Now()
	e.deadline = e.sent.Add(s.cfg.AckTimeout)
	s.del.inflight = append(s.del.inflight, e)
	select {
	case s.del.kick <- struct{}{}:
	default:
	}
	s.log.Debug("envelope sent", keyEnvelope, e.id, keyType, e.kind, keyRetry, e.attempt)
	s.notifyLocked()
}

// ackLocked records the app's ack of envelope id. A late ack is recorded, but the
// redelivery already scheduled by the timeout still happens, as on Slack.
func (s *Server) ackLocked(id string, payload json.RawMessage) {
	e, ok := s.del.byID[id]
	if !ok || e.sent.IsZero() {
		s.log.Warn("ack for unknown envelope", keyEnvelope, id)
		return
	}
	if e.acked {
		s.log.Warn("envelope acked twice", keyEnvelope, id)
		return
	}
	e.acked = true
	e.ackedAfter = time.Since(e.sent)
	if len(payload) > 0 && string(payload) != "null" {
		e.ackPayload = payload
	}
	s.del.inflight = slices.DeleteFunc(s.del.inflight, func(x *envelope) bool { return x == e })
	close(e.ackCh)
	s.notifyLocked()
}

// abandonLocked drops an envelope nobody took or acked in time (slash commands and clicks).
func (s *Server) abandonLocked(e *envelope) {
	e.abandoned = true
	s.del.queue = slices.DeleteFunc(s.del.queue, func(x *envelope) bool { return x == e })
}

// runScheduler times out unacked envelopes and queues their redeliveries.
func (s *Server) runScheduler(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		s.mu.Lock()
		next := s.expireLocked(time.Now())
		s.mu.Unlock()
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-s.del.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// expireLocked handles every deadline due at now and returns the next one (zero if none).
func (s *Server) expireLocked(now time.Time) time.Time {
	var next time.Time
	soonest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	changed := false
	s.del.inflight = slices.DeleteFunc(s.del.inflight, func(e *envelope) bool {
		if now.Before(e.deadline) {
			soonest(e.deadline)
			return false
		}
		e.timedOut, changed = true, true
		s.log.Info("envelope not acked in time", keyEnvelope, e.id, keyType, e.kind, keyRetry, e.attempt)
		if e.kind == kindEvents && e.attempt < len(s.cfg.RetryDelays) {
			at := now.Add(s.cfg.RetryDelays[e.attempt])
			s.del.retries = append(s.del.retries, retry{at: at, env: e})
			soonest(at)
		}
		return true
	})
	s.del.retries = slices.DeleteFunc(s.del.retries, func(r retry) bool {
		if now.Before(r.at) {
			soonest(r.at)
			return false
		}
		e := newEnvelope(r.env.kind, r.env.payload, r.env.acceptsResponse, r.env.eventID)
		e.attempt, e.reason = r.env.attempt+1, "timeout"
		s.enqueueLocked(e)
		return true
	})
	if changed {
		s.notifyLocked()
	}
	return next
}

// deliverAndWait queues e and waits for its ack, at most AckTimeout (slash commands and
// clicks: Slack shows the user an error when the app does not ack in time).
func (s *Server) deliverAndWait(ctx context.Context, e *envelope) (ackPayload json.RawMessage, ackedAfter time.Duration, err error) {
	timer := time.NewTimer(s.cfg.AckTimeout)
	defer timer.Stop()
	select {
	case <-e.ackCh:
		s.mu.Lock()
		defer s.mu.Unlock()
		return e.ackPayload, e.ackedAfter, nil
	case <-timer.C:
		err = ErrNoAck
	case <-ctx.Done():
		err = ctx.Err()
	case <-s.ctx.Done():
		err = ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.acked { // raced with the timeout: the ack wins
		return e.ackPayload, e.ackedAfter, nil
	}
	s.abandonLocked(e)
	return nil, 0, err
}
