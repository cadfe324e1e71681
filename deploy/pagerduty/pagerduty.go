// Package pagerduty sends alert events to PagerDuty's Events API v2
// (trigger, acknowledge, resolve), retrying what PagerDuty asks to be
// retried and giving up on what it refuses.
package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// The three event actions of an alert.
const (
	Trigger     = "trigger"
	Acknowledge = "acknowledge"
	Resolve     = "resolve"
)

// Limits of the Events API v2 (developer.pagerduty.com, "Send an Alert Event").
const (
	keyLen      = 32
	maxDedupKey = 255
	maxSummary  = 1024
)

// Event is one alert event. RoutingKey is filled in by the Client.
type Event struct {
	RoutingKey string   `json:"routing_key"`
	Action     string   `json:"event_action"`
	DedupKey   string   `json:"dedup_key"`
	Payload    *Payload `json:"payload,omitempty"` // trigger only
	Client     string   `json:"client,omitempty"`
	ClientURL  string   `json:"client_url,omitempty"`
	Links      []Link   `json:"links,omitempty"`
}

// Payload describes what triggered: required are Summary, Source and
// Severity (critical, error, warning or info).
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"` // RFC 3339
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Link is a link shown on the PagerDuty incident.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Config says where to send events and how hard to try.
type Config struct {
	RoutingKey string
	URL        string // default DefaultURL
	HTTPClient *http.Client
	// Attempts bounds the tries of one event (default 5); Backoff is the
	// first wait between two, doubled each time (default 1s).
	Attempts int
	Backoff  time.Duration
}

// Client sends events to one PagerDuty integration.
type Client struct {
	key, url string
	http     *http.Client
	attempts int
	backoff  time.Duration
}

// New checks cfg; it never dials.
func New(cfg Config) (*Client, error) {
	if len(cfg.RoutingKey) != keyLen {
		return nil, fmt.Errorf("pagerduty: the routing key has %d characters, want %d", len(cfg.RoutingKey), keyLen)
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pagerduty: URL %q: want http(s)://host/path", cfg.URL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	return &Client{key: cfg.RoutingKey, url: cfg.URL, http: cfg.HTTPClient, attempts: cfg.Attempts, backoff: cfg.Backoff}, nil
}

// RefusedError is PagerDuty refusing an event for good (400): sending it
// again cannot help.
type RefusedError struct {
	Status  int
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("pagerduty refused the event: %d %s", e.Status, e.Message)
}

// Permanent says that trying again cannot help.
func (e *RefusedError) Permanent() bool { return true }

// Send sends one event, trying again on 429, 5xx and network errors with a
// doubling backoff, Attempts times at most or until ctx ends. A request
// under way when ctx ends is read to its answer (within the HTTP client's
// timeout): PagerDuty may have taken it, and the caller must know. A
// refusal is a *RefusedError.
func (c *Client) Send(ctx context.Context, e Event) error {
	e.RoutingKey = c.key
	if err := check(&e); err != nil {
		return err
	}
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("pagerduty %s %s: %w", e.Action, e.DedupKey, err)
	}
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		if attempt > 1 && ctx.Err() != nil {
			return fmt.Errorf("pagerduty %s %s: %w", e.Action, e.DedupKey, ctx.Err())
		}
		err := c.post(ctx, body)
		var refused *RefusedError
		if err == nil || errors.As(err, &refused) || attempt == c.attempts {
			if err != nil {
				return fmt.Errorf("pagerduty %s %s: %w", e.Action, e.DedupKey, err)
			}
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pagerduty %s %s: %w (after %v)", e.Action, e.DedupKey, ctx.Err(), err)
		case <-t.C:
		}
		wait *= 2
	}
}

func (c *Client) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("%s", resp.Status)
	}
	var r struct {
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	msg := strings.TrimSpace(string(answer))
	if json.Unmarshal(answer, &r) == nil && r.Message != "" {
		msg = strings.Join(append([]string{r.Message}, r.Errors...), ": ")
	}
	return &RefusedError{Status: resp.StatusCode, Message: msg}
}

// check refuses what PagerDuty would and cuts what it would not take whole.
func check(e *Event) error {
	switch e.Action {
	case Trigger, Acknowledge, Resolve:
	default:
		return &RefusedError{Status: 0, Message: fmt.Sprintf("event_action %q is not trigger, acknowledge or resolve", e.Action)}
	}
	if e.DedupKey == "" || len(e.DedupKey) > maxDedupKey {
		return &RefusedError{Message: fmt.Sprintf("dedup_key of %d characters: want 1 to %d", len(e.DedupKey), maxDedupKey)}
	}
	if e.Action != Trigger {
		e.Payload, e.Links = nil, nil
		return nil
	}
	p := e.Payload
	if p == nil || p.Summary == "" || p.Source == "" {
		return &RefusedError{Message: "a trigger needs payload.summary and payload.source"}
	}
	switch p.Severity {
	case "critical", "error", "warning", "info":
	default:
		return &RefusedError{Message: fmt.Sprintf("payload.severity %q is not critical, error, warning or info", p.Severity)}
	}
	p.Summary = cut(p.Summary, maxSummary)
	return nil
}

// cut shortens s to at most n bytes on a rune boundary, with an ellipsis.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
