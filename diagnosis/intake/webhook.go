package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// ParseWebhook decodes Alertmanager's webhook payload (version 4: an object
// with an "alerts" array), or a bare JSON array of alerts as Alertmanager's
// API v2 takes and returns them.
//
// An alert's status may be "firing" or "resolved", an API v2 object
// {"state": "active" | "suppressed" | "unprocessed"} (all firing: the API
// lists only alerts that have not resolved), or absent, in which case the
// alert is resolved once its endsAt has passed, as Alertmanager decides. A
// firing alert's endsAt is dropped. Every alert needs an alertname label and
// a startsAt; a missing fingerprint is computed from the labels.
func ParseWebhook(data []byte) ([]diagnosis.Alert, error) {
	return parseWebhook(data, time.Now())
}

// wireAlert is an alert in webhook or API v2 JSON.
type wireAlert struct {
	Status       json.RawMessage   `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

func parseWebhook(data []byte, now time.Time) ([]diagnosis.Alert, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a byte order mark
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty input: want Alertmanager's webhook JSON or a JSON array of alerts")
	}
	var alerts []wireAlert
	switch trimmed[0] {
	case '{':
		var msg struct {
			Version *string      `json:"version"`
			Alerts  *[]wireAlert `json:"alerts"`
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			return nil, fmt.Errorf("decode webhook JSON: %w", located(err, data))
		}
		if msg.Alerts == nil {
			return nil, errors.New(`the JSON object has no "alerts" array: want Alertmanager's webhook payload (version 4)`)
		}
		if msg.Version != nil && *msg.Version != "4" {
			return nil, fmt.Errorf("webhook payload version %q: only version 4 is supported", *msg.Version)
		}
		alerts = *msg.Alerts
	case '[':
		if err := json.Unmarshal(data, &alerts); err != nil {
			return nil, fmt.Errorf("decode JSON array of alerts: %w", located(err, data))
		}
	default:
		return nil, fmt.Errorf("want Alertmanager's webhook JSON (an object) or a JSON array of alerts, not text starting %q", head(trimmed))
	}
	out := make([]diagnosis.Alert, 0, len(alerts))
	for i, w := range alerts {
		a, err := w.alert(now)
		if err != nil {
			return nil, fmt.Errorf("alerts[%d]: %w", i, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func (w wireAlert) alert(now time.Time) (diagnosis.Alert, error) {
	if w.Labels[diagnosis.LabelAlertname] == "" {
		return diagnosis.Alert{}, fmt.Errorf("no alertname label (labels %v)", w.Labels)
	}
	a := diagnosis.Alert{
		Fingerprint:  w.Fingerprint,
		Labels:       w.Labels,
		Annotations:  w.Annotations,
		GeneratorURL: w.GeneratorURL,
		Source:       diagnosis.SourceWebhook,
		Count:        1,
	}
	if w.StartsAt == "" {
		return diagnosis.Alert{}, fmt.Errorf("%s has no startsAt", a.Labels[diagnosis.LabelAlertname])
	}
	var err error
	if a.StartsAt, err = time.Parse(time.RFC3339Nano, w.StartsAt); err != nil {
		return diagnosis.Alert{}, fmt.Errorf("startsAt %q is not an RFC 3339 time", w.StartsAt)
	}
	var endsAt time.Time
	if w.EndsAt != "" {
		if endsAt, err = time.Parse(time.RFC3339Nano, w.EndsAt); err != nil {
			return diagnosis.Alert{}, fmt.Errorf("endsAt %q is not an RFC 3339 time", w.EndsAt)
		}
	}
	if a.Status, err = status(w.Status, endsAt, now); err != nil {
		return diagnosis.Alert{}, err
	}
	if a.Status == diagnosis.Resolved {
		a.EndsAt = endsAt
	}
	if a.Fingerprint == "" {
		a.Fingerprint = diagnosis.Fingerprint(a.Labels)
	}
	return a, nil
}

// status reads a webhook status string, an API v2 status object, or none.
func status(raw json.RawMessage, endsAt, now time.Time) (diagnosis.Status, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		if !endsAt.IsZero() && !endsAt.After(now) {
			return diagnosis.Resolved, nil
		}
		return diagnosis.Firing, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("status: %w", err)
		}
		if st := diagnosis.Status(s); st == diagnosis.Firing || st == diagnosis.Resolved {
			return st, nil
		}
		return "", fmt.Errorf("status %q is neither firing nor resolved", s)
	case raw[0] == '{':
		var obj struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return "", fmt.Errorf("status: %w", err)
		}
		switch obj.State {
		case "active", "suppressed", "unprocessed":
			return diagnosis.Firing, nil
		}
		return "", fmt.Errorf("status state %q is not active, suppressed or unprocessed", obj.State)
	}
	return "", fmt.Errorf("status %s is neither a string nor an object", head(raw))
}

// located adds the line and column of a JSON error.
func located(err error, data []byte) error {
	var offset int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset < 0 || offset > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:offset], []byte("\n"))
	col := int(offset) - bytes.LastIndexByte(data[:offset], '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// head is the start of data, for messages: 40 characters and "…".
func head(data []byte) string { return diagnosis.Truncate(string(data), 41) }
