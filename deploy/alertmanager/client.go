package alertmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Client reads the alerts an Alertmanager holds through its API v2 (GET
// /api/v2/alerts: firing alerts, silenced and inhibited ones included), so
// that nightowl can check that an alert relayed into Slack is one
// Alertmanager sent. Answers are kept for TTL, so a card's checks and a
// burst's cost one request; a failure is kept as long, so an Alertmanager
// that is down costs one timeout per TTL, not one per card.
type Client struct {
	base     string // Alertmanager's base URL, without /api/v2
	endpoint string
	http     *http.Client
	ttl      time.Duration
	now      func() time.Time
	sem      chan struct{} // one request at a time; the others wait for its answer

	at   time.Time
	held []HeldAlert
	err  error
}

// ClientConfig says where Alertmanager is and how long its answers hold.
type ClientConfig struct {
	// URL is Alertmanager's base URL (its --web.external-url, or the address
	// it listens on), without /api/v2.
	URL string
	// HTTPClient is optional; the default gives up after Timeout.
	HTTPClient *http.Client
	// Timeout bounds one request with the default HTTPClient; default 2s.
	Timeout time.Duration
	// TTL is how long an answer is reused; default 5s.
	TTL time.Duration
	Now func() time.Time // optional
}

// HeldAlert is an alert Alertmanager holds: its fingerprint and labels.
type HeldAlert struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
}

// maxAlertsBody bounds the answer read from Alertmanager.
const maxAlertsBody = 64 << 20

// NewClient checks cfg; it never dials.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(cfg.URL), "/"))
	if err != nil {
		return nil, fmt.Errorf("alertmanager URL: %w", redact(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alertmanager URL %q: want http(s)://host[:port]", u.Redacted())
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{base: u.String(), endpoint: u.String() + "/api/v2/alerts", http: cfg.HTTPClient, ttl: cfg.TTL, now: cfg.Now, sem: make(chan struct{}, 1)}, nil
}

// Alerts returns the alerts Alertmanager holds, from the last answer when
// it is younger than the TTL and was given no earlier than since (since may
// be zero). A failure younger than the TTL is returned whatever since says:
// asking again so soon would only wait for the same timeout.
func (c *Client) Alerts(ctx context.Context, since time.Time) ([]HeldAlert, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("alertmanager alerts: %w", ctx.Err())
	}
	defer func() { <-c.sem }()
	if !c.at.IsZero() && c.now().Sub(c.at) < c.ttl && (c.err != nil || !c.at.Before(since)) {
		return c.held, c.err
	}
	c.held, c.err = c.fetch(ctx)
	c.at = c.now()
	return c.held, c.err
}

func (c *Client) fetch(ctx context.Context) ([]HeldAlert, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("alertmanager alerts: %w", redact(err))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alertmanager alerts: %w", redact(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, fmt.Errorf("alertmanager alerts: %s: %q", resp.Status, strings.TrimSpace(string(head)))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAlertsBody+1))
	if err != nil {
		return nil, fmt.Errorf("alertmanager alerts: %w", redact(err))
	}
	if len(body) > maxAlertsBody {
		return nil, errors.New("alertmanager alerts: the answer is larger than 64 MiB")
	}
	var held []HeldAlert
	if err := json.Unmarshal(body, &held); err != nil {
		return nil, fmt.Errorf("alertmanager alerts: %w", err)
	}
	return held, nil
}

// Held reports, for each alert relayed into Slack, whether Alertmanager
// holds it (see Holds), from an answer given no earlier than since: an
// answer older than an alert's arrival cannot know it. It is
// bot.AlertChecker.
func (c *Client) Held(ctx context.Context, alerts []diagnosis.Alert, since time.Time) ([]bool, error) {
	held, err := c.Alerts(ctx, since)
	if err != nil {
		return nil, err
	}
	idx := NewIndex(held)
	out := make([]bool, len(alerts))
	for i, a := range alerts {
		out[i] = idx.Holds(a)
	}
	return out, nil
}

// Index answers whether a relayed alert is one of Alertmanager's.
type Index struct {
	byFingerprint map[string][]HeldAlert
	values        []map[string]bool // per held alert: its label values, and their words
}

// NewIndex indexes the alerts Alertmanager holds.
func NewIndex(held []HeldAlert) *Index {
	idx := &Index{byFingerprint: map[string][]HeldAlert{}, values: make([]map[string]bool, len(held))}
	for i, h := range held {
		idx.byFingerprint[h.Fingerprint] = append(idx.byFingerprint[h.Fingerprint], h)
		vals := map[string]bool{}
		for _, v := range h.Labels {
			vals[v] = true
			for _, w := range strings.Fields(v) {
				vals[w] = true
			}
		}
		idx.values[i] = vals
	}
	return idx
}

// Holds reports whether Alertmanager holds a relayed alert. An alert read
// from nightowl's template names its fingerprint and every label: it is
// held when Alertmanager has that fingerprint with exactly those labels (a
// forged message cannot borrow a real fingerprint for other labels). An
// alert read from Alertmanager's default message carries only label values
// and a fingerprint of nightowl's making: it is held when one alert of
// Alertmanager's carries every one of its values (a value with spaces
// reaches nightowl as separate words, which count too).
func (idx *Index) Holds(a diagnosis.Alert) bool {
	if a.Source == diagnosis.SourceDefault {
		for _, vals := range idx.values {
			all := true
			for _, v := range a.Labels {
				if !vals[v] {
					all = false
					break
				}
			}
			if all && len(a.Labels) > 0 {
				return true
			}
		}
		return false
	}
	for _, h := range idx.byFingerprint[a.Fingerprint] {
		if maps.Equal(h.Labels, a.Labels) {
			return true
		}
	}
	return false
}
