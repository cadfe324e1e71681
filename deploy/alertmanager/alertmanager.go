// Package alertmanager renders alerts into Slack messages exactly as
// Alertmanager 0.25's Slack notifier does, with nightowl's template or the
// default one, so the demo and tests can relay alerts without an Alertmanager
// process; and its Client asks a running Alertmanager which alerts it holds,
// so that nightowl offers runbooks only for alerts Alertmanager sent.
//
// The files beside this package are what an operator deploys: slack.tmpl
// (nightowl's template, embedded here) and alertmanager.yml (an example
// configuration). The end-to-end test runs the real Alertmanager with them and
// checks that SlackPayload produces the very bytes Alertmanager posts.
package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Group is one Alertmanager notification: the alerts of one aggregation group
// as a receiver gets them, with the group's labels.
type Group struct {
	Receiver string
	// Status is "firing" while any alert fires, else "resolved".
	Status string
	// Alerts are rendered in this order; NewGroup sorts them as Alertmanager does.
	Alerts            []diagnosis.Alert
	GroupLabels       map[string]string
	CommonLabels      map[string]string
	CommonAnnotations map[string]string
	// ExternalURL is Alertmanager's --web.external-url, without a trailing slash.
	ExternalURL string
}

// groupByAll is the group_by value that groups by every label.
const groupByAll = "..."

// NewGroup builds the notification Alertmanager sends for alerts that one
// route, grouping by groupBy, put in the same aggregation group. It keeps the
// last alert of each label set, sorts the alerts as Alertmanager's dispatcher
// does (see Less), and computes the group labels (the groupBy labels the alerts
// carry; "..." means all), the labels and annotations common to every alert,
// and the status.
func NewGroup(receiver string, groupBy []string, alerts []diagnosis.Alert, externalURL string) Group {
	alerts = dedupe(alerts)
	slices.SortStableFunc(alerts, func(a, b diagnosis.Alert) int {
		switch {
		case Less(a.Labels, b.Labels):
			return -1
		case Less(b.Labels, a.Labels):
			return 1
		}
		return 0
	})
	g := Group{
		Receiver:          receiver,
		Status:            string(diagnosis.Resolved),
		Alerts:            alerts,
		GroupLabels:       map[string]string{},
		CommonLabels:      map[string]string{},
		CommonAnnotations: map[string]string{},
		ExternalURL:       strings.TrimRight(externalURL, "/"),
	}
	if len(alerts) == 0 {
		return g
	}
	g.GroupLabels = groupLabels(alerts[0].Labels, groupBy)
	g.CommonLabels = common(alerts, func(a diagnosis.Alert) map[string]string { return a.Labels })
	g.CommonAnnotations = common(alerts, func(a diagnosis.Alert) map[string]string { return a.Annotations })
	for _, a := range alerts {
		if a.Status != diagnosis.Resolved {
			g.Status = string(diagnosis.Firing)
			break
		}
	}
	return g
}

// Groups splits alerts into the notifications of one Alertmanager route that
// groups by groupBy, in the order each group's first alert appears.
func Groups(receiver string, groupBy []string, alerts []diagnosis.Alert, externalURL string) []Group {
	var keys []string
	members := map[string][]diagnosis.Alert{}
	for _, a := range alerts {
		k := diagnosis.Fingerprint(groupLabels(a.Labels, groupBy))
		if _, ok := members[k]; !ok {
			keys = append(keys, k)
		}
		members[k] = append(members[k], a)
	}
	out := make([]Group, 0, len(keys))
	for _, k := range keys {
		out = append(out, NewGroup(receiver, groupBy, members[k], externalURL))
	}
	return out
}

func groupLabels(labels map[string]string, groupBy []string) map[string]string {
	out := map[string]string{}
	for _, name := range groupBy {
		if name == groupByAll {
			for n, v := range labels {
				out[n] = v
			}
			break
		}
		if v, ok := labels[name]; ok {
			out[name] = v
		}
	}
	return out
}

// common returns the pairs that every alert shares, as template.Data does.
func common(alerts []diagnosis.Alert, of func(diagnosis.Alert) map[string]string) map[string]string {
	out := map[string]string{}
	for n, v := range of(alerts[0]) {
		out[n] = v
	}
	for _, a := range alerts[1:] {
		m := of(a)
		for n, v := range out {
			if w, ok := m[n]; !ok || w != v {
				delete(out, n)
			}
		}
	}
	return out
}

// dedupe keeps the last alert of each label set, where the first stood:
// Alertmanager holds one alert per fingerprint in a group.
func dedupe(alerts []diagnosis.Alert) []diagnosis.Alert {
	out := make([]diagnosis.Alert, 0, len(alerts))
	at := make(map[string]int, len(alerts))
	for _, a := range alerts {
		fp := diagnosis.Fingerprint(a.Labels)
		if i, ok := at[fp]; ok {
			out[i] = a
			continue
		}
		at[fp] = len(out)
		out = append(out, a)
	}
	return out
}

// Less orders two alerts by their labels as Alertmanager 0.25 orders the
// alerts of a notification (types.AlertSlice, sorted when a group flushes):
// by the job label, then the instance label (an alert that has the label
// comes first), then by model.LabelSet.Before: fewer labels first, then the
// first differing value over the sorted union of label names, where a missing
// label sorts first.
func Less(a, b map[string]string) bool {
	for _, key := range [...]string{"job", "instance"} {
		av, aok := a[key]
		bv, bok := b[key]
		switch {
		case !aok && !bok:
			continue
		case !aok:
			return false
		case !bok:
			return true
		case av != bv:
			return av < bv
		}
	}
	return labelsBefore(a, b)
}

func labelsBefore(a, b map[string]string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	names := make([]string, 0, len(a)+len(b))
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		av, ok := a[n]
		if !ok {
			return true
		}
		bv, ok := b[n]
		if !ok {
			return false
		}
		if av != bv {
			return av < bv
		}
	}
	return false
}

// Format chooses the receiver's templates.
type Format int

// Formats of the Slack message.
const (
	// Nightowl is slack.tmpl: title, text and fallback from nightowl's
	// template, everything else Alertmanager's default (alertmanager.yml).
	Nightowl Format = iota
	// Default is a slack_configs receiver with no templates set.
	Default
)

func (f Format) String() string {
	switch f {
	case Nightowl:
		return "nightowl"
	case Default:
		return "default"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// The request body of Alertmanager 0.25's Slack notifier
// (notify/slack/slack.go): field order and omitempty rules matter.
type request struct {
	Channel     string       `json:"channel,omitempty"`
	Username    string       `json:"username,omitempty"`
	IconEmoji   string       `json:"icon_emoji,omitempty"`
	IconURL     string       `json:"icon_url,omitempty"`
	LinkNames   bool         `json:"link_names,omitempty"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	Title      string   `json:"title,omitempty"`
	TitleLink  string   `json:"title_link,omitempty"`
	Pretext    string   `json:"pretext,omitempty"`
	Text       string   `json:"text"`
	Fallback   string   `json:"fallback"`
	CallbackID string   `json:"callback_id"`
	ImageURL   string   `json:"image_url,omitempty"`
	ThumbURL   string   `json:"thumb_url,omitempty"`
	Footer     string   `json:"footer"`
	Color      string   `json:"color,omitempty"`
	MrkdwnIn   []string `json:"mrkdwn_in,omitempty"`
}

// maxTitleRunes is where the notifier truncates the title. The cut below
// is the notifier's own, not nightowl's diagnosis.Truncate: it must stay
// what Alertmanager sends, whatever nightowl's rule becomes.
const maxTitleRunes = 1024

// SlackPayload is the exact JSON body Alertmanager 0.25 POSTs to a Slack
// webhook for g, with the receiver configured as in alertmanager.yml
// (Nightowl) or left at its defaults (Default): one legacy attachment, the
// title cut to 1024 runes, color danger or good, Go's JSON encoding with HTML
// escaping and a trailing newline.
//
// Template data follow Alertmanager: each alert's fingerprint is computed from
// its labels (Alert.Fingerprint is ignored), a firing alert's EndsAt is hidden,
// and the receiver name is regexp-quoted.
func SlackPayload(g Group, f Format) ([]byte, error) {
	t, err := templates(f)
	if err != nil {
		return nil, err
	}
	data := newData(g)
	var firstErr error
	exec := func(field string) string {
		s, err := t.execute(field, data)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("render %s template %s: %w", f, field, err)
		}
		return s
	}
	title := exec(fieldTitle)
	if r := []rune(title); len(r) > maxTitleRunes {
		title = string(r[:maxTitleRunes-1]) + "…"
	}
	att := attachment{
		Title:      title,
		TitleLink:  exec(fieldTitleLink),
		Pretext:    exec(fieldPretext),
		Text:       exec(fieldText),
		Fallback:   exec(fieldFallback),
		CallbackID: exec(fieldCallbackID),
		Footer:     exec(fieldFooter),
		Color:      exec(fieldColor),
		MrkdwnIn:   []string{"fallback", "pretext", "text"},
	}
	req := request{
		Username:    exec(fieldUsername),
		IconEmoji:   exec(fieldIconEmoji),
		IconURL:     exec(fieldIconURL),
		Attachments: []attachment{att},
	}
	if firstErr != nil {
		return nil, firstErr
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(req); err != nil {
		return nil, fmt.Errorf("encode slack payload: %w", err)
	}
	return buf.Bytes(), nil
}

// userAgent is what Alertmanager 0.25 sends; receivers may look for it.
const userAgent = "Alertmanager/0.25.0"

// Post sends body to a Slack incoming webhook (or any URL) as Alertmanager
// does. A response outside 2xx is an error that quotes the start of the
// response body. Errors never include the URL: a webhook URL is a secret.
// A nil client means http.DefaultClient.
func Post(ctx context.Context, client *http.Client, webhookURL string, body []byte) error {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("post to slack webhook: %w", redact(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post to slack webhook: %w", redact(err))
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post to slack webhook: %s: %q", resp.Status, bytes.TrimSpace(head))
	}
	return nil
}

// redact drops the URL that net/http puts into its errors.
func redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
