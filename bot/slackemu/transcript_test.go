package slackemu_test

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/golden"
)

// clock is a settable clock: ts values come from it, so the transcript is stable.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) at(hhmmss string) {
	t, err := time.Parse(time.DateTime, "2026-11-27 "+hhmmss)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestTranscriptRendersTheWorkspaceReadably(t *testing.T) {
	clk := &clock{}
	clk.at("08:48:11")
	srv := MustStart(t, slackemu.Config{
		Users:            []slackemu.User{{ID: "U1", Name: "alice"}, {ID: "U2", Name: "bob"}},
		UserGroups:       map[string][]string{"S0SRE": {"U1", "U2"}},
		UserGroupHandles: map[string]string{"S0SRE": "sre-oncall"},
		Now:              clk.Now,
	})
	api := newClient(t, srv, "xoxb-emulator")
	ctx := testContext(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	hook := srv.NewWebhook("C0ALERTS", alertmanager)
	if status, body, _ := postWebhook(t, hook, "application/json", `{"text":"","attachments":[{"color":"danger",
		"title":"[FIRING:2] HighLatency checkout-service","title_link":"http://alertmanager:9093/#/alerts",
		"text":"*p99* above 2s on checkout-service\n*severity:* critical","fallback":"[FIRING:2] HighLatency"}]}`); status != 200 {
		t.Fatalf("webhook: %d %s", status, body)
	}
	alert := srv.Messages("alerts")[0].TS
	must(api.AddReactionContext(ctx, "eyes", slack.NewRefToMessage("C0ALERTS", alert)))

	clk.at("08:48:12")
	_, cardTS, err := api.PostMessageContext(ctx, "incidents", slack.MsgOptionText("INC-1 checkout-service latency", false), slack.MsgOptionBlocks(
		slack.NewHeaderBlock(plain("INC-1 · checkout-service latency")),
		slack.NewSectionBlock(mrkdwn("*Likely cause:* `db-primary` connection pool exhausted (<https://grafana.example/d/db|dashboard>)"),
			[]*slack.TextBlockObject{mrkdwn("*Severity*\ncritical"), mrkdwn("*Alerts*\n2 firing")}, nil),
		slack.NewContextBlock("", mrkdwn("Grouped 2 alerts · <!subteam^S0SRE> paged")),
		slack.NewDividerBlock(),
		slack.NewActionBlock("actions", button("runbook_approve", "INC-1", "Approve").WithStyle(slack.StylePrimary), button("show_command", "INC-1", "Show command")),
	))
	must(err)

	clk.at("08:48:20")
	_, err = srv.PostAsUser("incidents", "U1", "<@U0NIGHTOWL> is it the 08:30 deploy? db & cache look fine <#C0ALERTS>", cardTS)
	must(err)

	clk.at("08:48:21")
	png := []byte("not really a png")
	_, err = api.UploadFileContext(ctx, slack.UploadFileParameters{Filename: "p99.png", FileSize: len(png), Reader: bytes.NewReader(png),
		Channel: "C0INCIDENTS", ThreadTimestamp: cardTS, InitialComment: "p99 over the last hour"})
	must(err)

	clk.at("08:48:30")
	_, err = api.PostEphemeralContext(ctx, "incidents", "U2", slack.MsgOptionText("Only <!subteam^S0SRE> can approve runbooks.", false))
	must(err)

	clk.at("08:49:02")
	_, statusTS, err := api.PostMessageContext(ctx, "incidents", slack.MsgOptionText("Restarting checkout-service…", false), slack.MsgOptionTS(cardTS))
	must(err)
	clk.at("08:49:40")
	_, _, _, err = api.UpdateMessageContext(ctx, "incidents", statusTS, slack.MsgOptionText("checkout-service restarted", false), slack.MsgOptionBlocks(
		slack.NewSectionBlock(mrkdwn("Restarted `checkout-service` — approved by <@U1>"), nil,
			slack.NewAccessory(slack.NewImageBlockElement("https://example/ok.png", "done"))),
	))
	must(err)

	tests := []struct {
		name   string
		file   string
		render func() string
	}{
		{"the channels as everyone sees them", "transcript.golden", func() string { return srv.Transcript() }},
		{"incidents with ephemerals", "transcript_ephemerals.golden", func() string { return srv.TranscriptWithEphemerals("incidents") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden.Assert(t, filepath.Join("testdata", tt.file), []byte(tt.render()))
		})
	}
	t.Run("one message", func(t *testing.T) {
		card := srv.RenderMessage("C0INCIDENTS", cardTS)
		if !bytes.Contains([]byte(srv.Transcript("incidents")), []byte(card)) || !bytes.Contains([]byte(card), []byte("Likely cause")) ||
			bytes.Contains([]byte(card), []byte("↳")) {
			t.Errorf("RenderMessage is not the card as the transcript shows it, without its thread:\n%s", card)
		}
		if got := srv.RenderMessage("C0INCIDENTS", "1.000000"); got != "" {
			t.Errorf("a missing message renders as %q", got)
		}
	})
}
