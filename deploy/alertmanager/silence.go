package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Matcher is one matcher of a silence (API v2): a label's value, equal or
// not, exactly or by an anchored regular expression.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// Silence is a silence to create: the alerts its matchers all match are
// muted from StartsAt to EndsAt.
type Silence struct {
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
}

// CreateSilence creates a silence (POST /api/v2/silences) and returns its ID.
func (c *Client) CreateSilence(ctx context.Context, s Silence) (string, error) {
	if len(s.Matchers) == 0 {
		return "", fmt.Errorf("alertmanager silence: no matchers")
	}
	body, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("alertmanager silence: %w", err)
	}
	var answer struct {
		SilenceID string `json:"silenceID"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/v2/silences", body, &answer); err != nil {
		return "", fmt.Errorf("alertmanager silence: %w", err)
	}
	if answer.SilenceID == "" {
		return "", fmt.Errorf("alertmanager silence: the answer names no silence")
	}
	return answer.SilenceID, nil
}

// ExpireSilence ends a silence now (DELETE /api/v2/silence/{id}).
func (c *Client) ExpireSilence(ctx context.Context, id string) error {
	if err := c.call(ctx, http.MethodDelete, "/api/v2/silence/"+url.PathEscape(id), nil, nil); err != nil {
		return fmt.Errorf("alertmanager expire silence %s: %w", id, err)
	}
	return nil
}

// call sends one API request and decodes a 200's JSON answer into out
// (nil: none wanted).
func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return redact(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return redact(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return redact(err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %q", resp.Status, strings.TrimSpace(string(data[:min(len(data), 256)])))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
