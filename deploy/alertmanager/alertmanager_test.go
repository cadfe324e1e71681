package alertmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/deploy/golden"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// MustLoadStorm returns the 31 alerts of the Black Friday scenario.
func MustLoadStorm(tb testing.TB) []diagnosis.Alert {
	tb.Helper()
	data := scenarios.BlackFriday
	var msg struct {
		Alerts []diagnosis.Alert `json:"alerts"`
	}
	if err := json.Unmarshal(data, &msg); err != nil {
		tb.Fatal(err)
	}
	if len(msg.Alerts) != 31 {
		tb.Fatalf("black-friday.json has %d alerts, want 31", len(msg.Alerts))
	}
	return msg.Alerts
}

// MustPayload renders g and fails the test on error.
func MustPayload(tb testing.TB, g alertmanager.Group, f alertmanager.Format) []byte {
	tb.Helper()
	body, err := alertmanager.SlackPayload(g, f)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// payload is the part of Alertmanager's Slack body that tests look at.
type payload struct {
	Username    string `json:"username"`
	Attachments []struct {
		Title     string   `json:"title"`
		TitleLink string   `json:"title_link"`
		Text      string   `json:"text"`
		Fallback  string   `json:"fallback"`
		Color     string   `json:"color"`
		MrkdwnIn  []string `json:"mrkdwn_in"`
		Footer    *string  `json:"footer"`
		Callback  *string  `json:"callback_id"`
		Pretext   *string  `json:"pretext"`
	} `json:"attachments"`
}

func MustDecode(tb testing.TB, body []byte) payload {
	tb.Helper()
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		tb.Fatalf("decode %s: %v", body, err)
	}
	if len(p.Attachments) != 1 {
		tb.Fatalf("got %d attachments, want 1", len(p.Attachments))
	}
	return p
}

func TestSlackPayloadRendersTheBlackFridayStorm(t *testing.T) {
	storm := MustLoadStorm(t)
	tests := []struct {
		name   string
		format alertmanager.Format
		golden string
	}{
		{"nightowl's template carries a machine block per alert", alertmanager.Nightowl, "black-friday.nightowl"},
		{"the default template sends only a title", alertmanager.Default, "black-friday.default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := alertmanager.NewGroup("nightowl", []string{"cluster", "namespace"}, storm, "http://alertmanager.monitoring:9093")
			body := MustPayload(t, g, tt.format)
			golden.AssertJSON(t, filepath.Join("testdata", tt.golden+".golden.json"), body)
			p := MustDecode(t, body)
			if text := p.Attachments[0].Text; text != "" {
				golden.Assert(t, filepath.Join("testdata", tt.golden+".text.golden"), []byte(text)) // the same, readable
			}
			if n := len(p.Attachments[0].Text); n > 40000 {
				t.Errorf("text is %d characters; Slack cuts it after 40,000", n)
			}
		})
	}
}

func TestSlackPayloadFollowsAlertmanagersFieldRules(t *testing.T) {
	firing := diagnosis.Alert{Status: diagnosis.Firing, Labels: map[string]string{"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"}}
	resolved := firing
	resolved.Status = diagnosis.Resolved
	resolved.EndsAt = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		alerts    []diagnosis.Alert
		format    alertmanager.Format
		title     string
		color     string
		fallback  string
		emptyText bool
	}{
		{"a firing group is danger and counts its firing alerts", []diagnosis.Alert{firing}, alertmanager.Default,
			"[FIRING:1] HighErrorRate checkout (critical)", "danger",
			"[FIRING:1] HighErrorRate checkout (critical) | http://am.example:9093/#/alerts?receiver=slack-default", true},
		{"a resolved group is good and has no count", []diagnosis.Alert{resolved}, alertmanager.Default,
			"[RESOLVED] HighErrorRate checkout (critical)", "good",
			"[RESOLVED] HighErrorRate checkout (critical) | http://am.example:9093/#/alerts?receiver=slack-default", true},
		{"nightowl's title is the default subject", []diagnosis.Alert{firing}, alertmanager.Nightowl,
			"[FIRING:1] HighErrorRate checkout (critical)", "danger",
			"[FIRING:1] HighErrorRate checkout (critical) | HighErrorRate checkout", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := alertmanager.NewGroup("slack-default", []string{"alertname", "service"}, tt.alerts, "http://am.example:9093/")
			body := MustPayload(t, g, tt.format)
			p := MustDecode(t, body)
			a := p.Attachments[0]
			if a.Title != tt.title || a.Color != tt.color || a.Fallback != tt.fallback {
				t.Errorf("got title %q color %q fallback %q,\nwant %q %q %q", a.Title, a.Color, a.Fallback, tt.title, tt.color, tt.fallback)
			}
			if (a.Text == "") != tt.emptyText {
				t.Errorf("got text %q", a.Text)
			}
			if p.Username != "Alertmanager" || a.TitleLink != "http://am.example:9093/#/alerts?receiver=slack-default" {
				t.Errorf("got username %q title_link %q", p.Username, a.TitleLink)
			}
			if a.Footer == nil || a.Callback == nil || a.Pretext != nil {
				t.Errorf("footer and callback_id must be present, pretext omitted: %s", body)
			}
			if !reflect.DeepEqual(a.MrkdwnIn, []string{"fallback", "pretext", "text"}) {
				t.Errorf("got mrkdwn_in %q", a.MrkdwnIn)
			}
			if bytes.Contains(body, []byte(`"channel"`)) || !bytes.HasSuffix(body, []byte("}\n")) {
				t.Errorf("want no channel and a trailing newline: %q", body)
			}
		})
	}
}

func TestSlackPayloadTruncatesTheTitleTo1024Runes(t *testing.T) {
	long := strings.Repeat("é", 1100)
	a := diagnosis.Alert{Status: diagnosis.Firing, Labels: map[string]string{"alertname": "L", "detail": long}}
	g := alertmanager.NewGroup("r", []string{"alertname"}, []diagnosis.Alert{a}, "http://am")
	p := MustDecode(t, MustPayload(t, g, alertmanager.Default))
	title := []rune(p.Attachments[0].Title)
	if len(title) != 1024 || title[1023] != '…' {
		t.Errorf("got a title of %d runes ending %q, want 1024 ending with …", len(title), string(title[len(title)-3:]))
	}
	if !strings.Contains(p.Attachments[0].Fallback, long) {
		t.Error("the fallback must not be truncated")
	}
}

func TestNewGroupComputesWhatAlertmanagerPutsInTemplateData(t *testing.T) {
	a := diagnosis.Alert{Status: diagnosis.Firing, Labels: map[string]string{"alertname": "A", "namespace": "prod", "severity": "warning"},
		Annotations: map[string]string{"summary": "x", "team": "t"}}
	b := diagnosis.Alert{Status: diagnosis.Resolved, Labels: map[string]string{"alertname": "B", "namespace": "prod", "severity": "warning"},
		Annotations: map[string]string{"summary": "y", "team": "t"}}
	tests := []struct {
		name    string
		groupBy []string
		alerts  []diagnosis.Alert
		want    alertmanager.Group
	}{
		{"group labels are the group_by labels the alerts carry", []string{"cluster", "namespace"}, []diagnosis.Alert{a, b},
			alertmanager.Group{Receiver: "r", Status: "firing", Alerts: []diagnosis.Alert{a, b},
				GroupLabels:       map[string]string{"namespace": "prod"},
				CommonLabels:      map[string]string{"namespace": "prod", "severity": "warning"},
				CommonAnnotations: map[string]string{"team": "t"}, ExternalURL: "http://am"}},
		{"a group whose alerts all resolved is resolved", []string{"namespace"}, []diagnosis.Alert{b},
			alertmanager.Group{Receiver: "r", Status: "resolved", Alerts: []diagnosis.Alert{b},
				GroupLabels: map[string]string{"namespace": "prod"}, CommonLabels: b.Labels,
				CommonAnnotations: b.Annotations, ExternalURL: "http://am"}},
		{"three dots group by every label", []string{"..."}, []diagnosis.Alert{a},
			alertmanager.Group{Receiver: "r", Status: "firing", Alerts: []diagnosis.Alert{a},
				GroupLabels: a.Labels, CommonLabels: a.Labels, CommonAnnotations: a.Annotations, ExternalURL: "http://am"}},
		{"a repeated label set keeps the last alert", []string{"namespace"}, []diagnosis.Alert{b, a, b},
			alertmanager.Group{Receiver: "r", Status: "firing", Alerts: []diagnosis.Alert{a, b},
				GroupLabels:       map[string]string{"namespace": "prod"},
				CommonLabels:      map[string]string{"namespace": "prod", "severity": "warning"},
				CommonAnnotations: map[string]string{"team": "t"}, ExternalURL: "http://am"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alertmanager.NewGroup("r", tt.groupBy, tt.alerts, "http://am/")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestGroupsSplitsAlertsLikeARoute(t *testing.T) {
	storm := MustLoadStorm(t)
	groups := alertmanager.Groups("r", []string{"alertname", "service"}, storm, "http://am")
	if len(groups) != 27 {
		t.Errorf("got %d groups, want 27", len(groups))
	}
	n := 0
	for _, g := range groups {
		n += len(g.Alerts)
		for _, a := range g.Alerts {
			if a.Name() != g.GroupLabels["alertname"] || a.Service() != g.GroupLabels["service"] {
				t.Errorf("alert %v in group %v", a.Labels, g.GroupLabels)
			}
		}
	}
	if n != len(storm) {
		t.Errorf("groups hold %d alerts, want %d", n, len(storm))
	}
}

func TestLessOrdersAlertsAsAlertmanagerDoes(t *testing.T) {
	tests := []struct {
		name string
		a, b map[string]string
		want bool
	}{
		{"an alert with a job comes before one without", map[string]string{"job": "z", "x": "1", "y": "2"}, map[string]string{"a": "0"}, true},
		{"jobs compare before anything else", map[string]string{"job": "a", "z": "9"}, map[string]string{"job": "b"}, true},
		{"an alert with an instance comes before one without", map[string]string{"instance": "i", "a": "1"}, map[string]string{"a": "0"}, true},
		{"instances compare when jobs are equal", map[string]string{"job": "j", "instance": "b"}, map[string]string{"job": "j", "instance": "a"}, false},
		{"fewer labels come first", map[string]string{"b": "1"}, map[string]string{"a": "1", "b": "1"}, true},
		{"a missing label sorts first", map[string]string{"a": "1", "c": "1"}, map[string]string{"a": "1", "b": "1"}, true},
		{"values compare on the first differing name", map[string]string{"alertname": "A", "z": "9"}, map[string]string{"alertname": "B", "z": "0"}, true},
		{"equal label sets are not less", map[string]string{"a": "1"}, map[string]string{"a": "1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alertmanager.Less(tt.a, tt.b); got != tt.want {
				t.Errorf("Less(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestPostReportsWhatTheWebhookSays(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		reply   string
		wantErr string
	}{
		{"a 200 is success whatever the body", http.StatusOK, "invalid_payload", ""},
		{"a 404 is an error quoting the body", http.StatusNotFound, "no_service", `404 Not Found: "no_service"`},
		{"a 500 is an error", http.StatusInternalServerError, "", "500 Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				body, _ = readAll(r)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.reply))
			}))
			defer srv.Close()
			err := alertmanager.Post(context.Background(), srv.Client(), srv.URL+"/services/T/B/secret", []byte(`{"attachments":[]}`))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
			if got.Method != http.MethodPost || got.Header.Get("Content-Type") != "application/json" ||
				got.Header.Get("User-Agent") != "Alertmanager/0.25.0" || string(body) != `{"attachments":[]}` {
				t.Errorf("got %s %v %q", got.Method, got.Header, body)
			}
		})
	}
}

func TestPostKeepsTheWebhookURLOutOfErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	err := alertmanager.Post(context.Background(), nil, srv.URL+"/services/T/B/secret", nil)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("got %v, want an error without the URL", err)
	}
}

func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}
