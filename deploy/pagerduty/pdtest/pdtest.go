// Package pdtest is a PagerDuty Events API v2 endpoint for tests: it checks
// each request against the documented schema, answers as PagerDuty does,
// and records the events it accepted.
package pdtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Event is an accepted event, as read from the wire.
type Event struct {
	RoutingKey string `json:"routing_key"`
	Action     string `json:"event_action"`
	DedupKey   string `json:"dedup_key"`
	Payload    *struct {
		Summary       string         `json:"summary"`
		Source        string         `json:"source"`
		Severity      string         `json:"severity"`
		Timestamp     string         `json:"timestamp"`
		Component     string         `json:"component"`
		CustomDetails map[string]any `json:"custom_details"`
	} `json:"payload"`
	Links []struct {
		Href string `json:"href"`
		Text string `json:"text"`
	} `json:"links"`
}

// Server is the endpoint; URL is where to send events.
type Server struct {
	URL string

	mu       sync.Mutex
	accepted []Event
	refused  []string // why each refused request was refused
	fail     []int    // statuses to answer the next requests with
	requests int
	changed  chan struct{}
}

// MustStart serves the endpoint until the test ends.
func MustStart(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL + "/v2/enqueue"
	return s
}

// FailNext answers the next requests with these statuses, in turn (429,
// 500 …), before it accepts again.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, statuses...)
}

// Accepted lists the events accepted, in order.
func (s *Server) Accepted() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.accepted...)
}

// Actions lists "action dedup_key" of the accepted events, in order.
func (s *Server) Actions() []string {
	var out []string
	for _, e := range s.Accepted() {
		out = append(out, e.Action+" "+e.DedupKey)
	}
	return out
}

// Refused lists why requests were refused with a 400.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

// Requests counts every request, refused and failed ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

var hexKey = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	defer func() {
		close(s.changed)
		s.changed = make(chan struct{})
	}()
	if len(s.fail) > 0 {
		status := s.fail[0]
		s.fail = s.fail[1:]
		http.Error(w, `{"status":"throttle","message":"try again"}`, status)
		return
	}
	refuse := func(why string) {
		s.refused = append(s.refused, why)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":"invalid event","message":"Event object is invalid","errors":[%q]}`, why)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
		refuse(fmt.Sprintf("%s %s: want POST /v2/enqueue", r.Method, r.URL.Path))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		refuse("Content-Type " + ct + ": want application/json")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 512<<10+1))
	if len(body) > 512<<10 {
		refuse("payload larger than 512 KB")
		return
	}
	if why := invalid(body); why != "" {
		refuse(why)
		return
	}
	var e Event
	_ = json.Unmarshal(body, &e)
	s.accepted = append(s.accepted, e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"status":"success","message":"Event processed","dedup_key":%q}`, e.DedupKey)
}

// invalid says why an event breaks the Events API v2 schema, "" when it does not.
func invalid(body []byte) string {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return "not a JSON object: " + err.Error()
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return "fields of the wrong type: " + err.Error()
	}
	switch {
	case !hexKey.MatchString(e.RoutingKey):
		return "routing_key is not 32 characters"
	case e.Action != "trigger" && e.Action != "acknowledge" && e.Action != "resolve":
		return fmt.Sprintf("event_action %q", e.Action)
	case e.DedupKey == "" && e.Action != "trigger":
		return "an " + e.Action + " without a dedup_key"
	case utf8.RuneCountInString(e.DedupKey) > 255:
		return "dedup_key longer than 255 characters"
	}
	if e.Action != "trigger" {
		return ""
	}
	p := e.Payload
	switch {
	case p == nil:
		return "a trigger without a payload"
	case p.Summary == "" || utf8.RuneCountInString(p.Summary) > 1024:
		return fmt.Sprintf("payload.summary of %d characters: want 1 to 1024", utf8.RuneCountInString(p.Summary))
	case p.Source == "":
		return "payload.source is empty"
	case p.Severity != "critical" && p.Severity != "error" && p.Severity != "warning" && p.Severity != "info":
		return fmt.Sprintf("payload.severity %q", p.Severity)
	}
	if p.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
			return "payload.timestamp is not RFC 3339: " + p.Timestamp
		}
	}
	for _, l := range e.Links {
		if l.Href == "" {
			return "a link without href"
		}
	}
	return ""
}

// Changed is closed at the next request.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}
