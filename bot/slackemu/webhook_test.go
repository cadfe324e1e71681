package slackemu_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

var alertmanager = slackemu.WebhookOwner{AppID: "A0AM", BotID: "B0AM", Name: "Alertmanager"}

func postWebhook(t *testing.T, url, contentType, body string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

func TestAWebhookPostBecomesABotMessageEvent(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	app := startApp(t, srv)
	hook := srv.NewWebhook("C0ALERTS", alertmanager)
	status, body, _ := postWebhook(t, hook, "application/json", `{"channel":"#elsewhere","username":"ignored",
		"text":"p99 > 2s & rising <https://grafana/d/1|dashboard>",
		"attachments":[{"color":"danger","title":"[FIRING:2] HighLatency <checkout>","title_link":"http://am/#/alerts",
			"text":"a < b","fallback":"[FIRING:2] HighLatency","mrkdwn_in":["text"]},{"color":"#36a64f","text":"second"}]}`)
	if status != http.StatusOK || body != "ok" {
		t.Fatalf("answer %d %q, want 200 ok", status, body)
	}
	e := app.waitEvent(t, "the alert", messageEvent(func(m *slackevents.MessageEvent) bool { return m.SubType == "bot_message" }))
	m := innerMessage(e)
	if m.BotID != "B0AM" || m.Username != "Alertmanager" || m.Channel != "C0ALERTS" || m.Message.BotProfile == nil || m.Message.BotProfile.AppID != "A0AM" {
		t.Errorf("event %+v, want Alertmanager's bot message in #alerts", m)
	}
	if want := "p99 &gt; 2s &amp; rising <https://grafana/d/1|dashboard>"; m.Text != want {
		t.Errorf("text %q, want %q", m.Text, want)
	}
	atts := m.Message.Attachments
	if len(atts) != 2 || atts[0].ID != 1 || atts[1].ID != 2 || atts[0].Color != "a30200" || atts[1].Color != "36a64f" {
		t.Fatalf("attachments %+v, want ids 1, 2 and hex colours", atts)
	}
	if atts[0].Title != "[FIRING:2] HighLatency &lt;checkout&gt;" || atts[0].Text != "a &lt; b" || atts[0].TitleLink != "http://am/#/alerts" {
		t.Errorf("attachment %+v, want escaped title and text", atts[0])
	}
}

func TestWebhookFailuresAnswerLikeSlack(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	hook := srv.NewWebhook("C0ALERTS", alertmanager)
	tests := []struct {
		name       string
		url        string
		body       string
		limit      bool
		wantStatus int
		wantBody   string
	}{
		{"invalid JSON", hook, `{"text":`, false, 400, "invalid_payload"},
		{"nothing to post", hook, `{"text":""}`, false, 400, "no_text"},
		{"an unknown hook", srv.URL() + "/services/T0NIGHTOWL/B0AM/nope", `{"text":"x"}`, false, 404, "no_service"},
		{"invalid blocks", hook, `{"text":"x","blocks":[{"type":"header","text":{"type":"plain_text","text":""}}]}`, false, 400, "invalid_blocks"},
		{"a rate limit", hook, `{"text":"x"}`, true, 429, "rate_limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.limit {
				srv.RateLimit("webhook", 1, 3*time.Second)
			}
			status, body, header := postWebhook(t, tt.url, "application/json", tt.body)
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
			if tt.limit && header.Get("Retry-After") != "3" {
				t.Errorf("Retry-After %q, want 3", header.Get("Retry-After"))
			}
		})
	}
	if n := len(srv.Messages("alerts")); n != 0 {
		t.Errorf("%d messages posted, want none", n)
	}
}

func TestTextIsStoredEscapedExceptControlSequences(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain text stays", "all good", "all good"},
		{"angle brackets and ampersands are escaped", "a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"existing entities are kept", "a &lt; b &amp; c", "a &lt; b &amp; c"},
		{"links and mentions are kept", "<@U1> see <https://x/y?a=1&b=2|the graph> <#C0ALERTS> <!here> <!subteam^S1|@sre>",
			"<@U1> see <https://x/y?a=1&b=2|the graph> <#C0ALERTS> <!here> <!subteam^S1|@sre>"},
		{"unknown sequences are escaped", "<script> and <not a link>", "&lt;script&gt; and &lt;not a link&gt;"},
		{"mailto is kept", "<mailto:oncall@example.com|oncall>", "<mailto:oncall@example.com|oncall>"},
	}
	srv := MustStart(t, slackemu.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := srv.PostAsUser("alerts", "U1", tt.in, "")
			if err != nil {
				t.Fatal(err)
			}
			if m, _ := srv.Message("alerts", ts); m.Text != tt.want {
				t.Errorf("stored %q, want %q", m.Text, tt.want)
			}
		})
	}
}
