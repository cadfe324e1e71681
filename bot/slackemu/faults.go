package slackemu

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Faults Slack really produces, for the tests that check nightowl survives them:
// Web API calls failing (FailCalls, FailUpdates; RateLimit in webapi.go), an
// event delivered again (Redeliver; unacked envelopes are redelivered by
// themselves, see delivery.go), and sockets going away (Disconnect and
// DropConnections in socket.go).

// Failure is how a Web API call fails: Slack's servers in trouble answer an HTTP
// status such as 500 or 503 with {"ok":false,"error":Code}; Slack refusing the
// call answers 200 with its error code ("message_not_found").
type Failure struct {
	Status int    // HTTP status; 0 means 200
	Code   string // Slack's error code; by default the one Slack gives for Status
}

func (f Failure) withDefaults() Failure {
	if f.Status == 0 {
		f.Status = http.StatusOK
	}
	if f.Code == "" {
		switch f.Status {
		case http.StatusOK:
			f.Code = "fatal_error"
		case http.StatusServiceUnavailable:
			f.Code = "service_unavailable"
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			f.Code = "request_timeout"
		default:
			f.Code = "internal_error"
		}
	}
	return f
}

// failing is a fault armed for the next n calls it matches; n < 0 never runs out.
type failing struct {
	n int
	f Failure
}

// take uses up one failure, if any is left.
func (x *failing) take() (Failure, bool) {
	if x == nil || x.n == 0 {
		return Failure{}, false
	}
	if x.n > 0 {
		x.n--
	}
	return x.f, true
}

// faults are the armed failures. Guarded by Server.mu; the maps are made on first use.
type faults struct {
	calls   map[string]*failing // by Web API method
	updates map[string]*failing // chat.update, by channel + " " + ts
	// dropAfterSend cuts the socket that writes the next envelope, right after it;
	// lostAcks are the envelopes it cut off, whose acks never reach Slack.
	dropAfterSend bool
	lostAcks      map[string]bool
}

// DropAfterNextEnvelope cuts the socket that sends the next envelope, just
// after writing it and without a close frame: the app may have read the
// envelope, but its ack is lost, so Slack redelivers it after
// AckTimeout (on the next connection, with retry_attempt set), and the app
// must not act on it twice. DropConnections cuts sockets between envelopes.
func (s *Server) DropAfterNextEnvelope() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.dropAfterSend = true
}

// takeDropAfterSendLocked disarms DropAfterNextEnvelope for env, which a
// socket is about to write: env's acks will be lost, on whatever socket
// they come (slack-go sends an ack it could not write on its next one).
func (s *Server) takeDropAfterSendLocked(env *envelope) bool {
	if !s.faults.dropAfterSend {
		return false
	}
	s.faults.dropAfterSend = false
	if s.faults.lostAcks == nil {
		s.faults.lostAcks = map[string]bool{}
	}
	s.faults.lostAcks[env.id] = true
	return true
}

// FailCalls makes the next n calls of a Web API method answer the HTTP status
// (500, 502, 503 …) with Slack's error body; n < 0 fails every call until
// FailCalls(method, 0, 0). The calls are recorded, with the error code.
func (s *Server) FailCalls(method string, n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.calls == nil {
		s.faults.calls = map[string]*failing{}
	}
	s.faults.calls[method] = &failing{n: n, f: Failure{Status: status}.withDefaults()}
}

// FailUpdates makes the next n chat.update calls of one message fail as f says
// (n < 0: every one, until FailUpdates(channel, ts, 0, …)); updates of other
// messages go through. Failure{Code: "cant_update_message"} is Slack refusing,
// Failure{Status: 500} its servers failing.
func (s *Server) FailUpdates(channel, ts string, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.updates == nil {
		s.faults.updates = map[string]*failing{}
	}
	s.faults.updates[channel+" "+ts] = &failing{n: n, f: f.withDefaults()}
}

// takeFaultLocked answers a call that an armed failure matches, and records it.
func (s *Server) takeFaultLocked(method string, req *apiRequest) (reply, bool) {
	f, failed := s.faults.calls[method].take()
	if !failed && method == "chat.update" {
		ch := s.ws.channel(req.get("channel"))
		if ch != nil {
			f, failed = s.faults.updates[ch.id+" "+req.get("ts")].take()
		}
	}
	if !failed {
		return reply{}, false
	}
	s.recordCallLocked(method, f.Code)
	return jsonReply(f.Status, errorBody(apiErr(f.Code))), true
}

// Redeliver delivers the message event of the message ts in channel again, in a
// new envelope with the same event_id, the next retry_attempt and retry_reason
// (Slack's are "timeout", "http_error", "http_timeout", "too_many_requests",
// "unknown_error"), as Slack does when it did not see the app's ack. The first
// delivery need not have failed: an ack lost on the way looks the same to Slack.
func (s *Server) Redeliver(channel, ts, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.ws.channel(channel)
	if ch == nil {
		return fmt.Errorf("slackemu: redeliver: no channel %q", channel)
	}
	var last *envelope
	for _, e := range s.del.all {
		if e.kind == kindEvents && isMessageEvent(e.payload, ch.id, ts) && (last == nil || e.attempt >= last.attempt) {
			last = e
		}
	}
	if last == nil {
		return fmt.Errorf("slackemu: redeliver: no message event for %s/%s", ch.id, ts)
	}
	e := newEnvelope(last.kind, last.payload, last.acceptsResponse, last.eventID)
	e.attempt, e.reason = last.attempt+1, reason
	s.enqueueLocked(e)
	return nil
}

// MessageEnvelopes lists the envelopes that carried the message event of the
// message ts in channel (its redeliveries included), in the order they were
// created: a test can tell whether the app acked a given alert message.
func (s *Server) MessageEnvelopes(channel, ts string) []EnvelopeRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.ws.channel(channel)
	if ch == nil {
		return nil
	}
	var out []EnvelopeRecord
	for _, e := range s.del.all {
		if e.kind == kindEvents && isMessageEvent(e.payload, ch.id, ts) {
			out = append(out, EnvelopeRecord{
				ID: e.id, Type: e.kind, EventID: e.eventID, Sent: e.sent,
				AckedAfter: e.ackedAfter, Acked: e.acked, TimedOut: e.timedOut, RetryAttempt: e.attempt,
			})
		}
	}
	return out
}

// isMessageEvent says whether an event_callback carries the message event of
// the message ts in channel (not an edit or a deletion of it).
func isMessageEvent(payload json.RawMessage, channel, ts string) bool {
	var cb struct {
		Event struct {
			Type    string `json:"type"`
			Subtype string `json:"subtype"`
			Channel string `json:"channel"`
			TS      string `json:"ts"`
		} `json:"event"`
	}
	if json.Unmarshal(payload, &cb) != nil {
		return false
	}
	ev := cb.Event
	return ev.Type == "message" && ev.Subtype != "message_changed" && ev.Subtype != "message_deleted" &&
		ev.Channel == channel && ev.TS == ts
}
