package slackemu_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

// ackSlash acks slash commands with payload and everything else empty.
func ackSlash(payload any) appOption {
	return withAck(func(e socketmode.Event) (bool, any) {
		if e.Type == socketmode.EventTypeSlashCommand {
			return true, payload
		}
		return true, nil
	})
}

func isSlash(e socketmode.Event) bool { return e.Type == socketmode.EventTypeSlashCommand }

func TestASlashCommandAckPayloadIsTheImmediateResponse(t *testing.T) {
	tests := []struct {
		name      string
		ack       any
		inChannel bool
	}{
		{"an ephemeral ack reaches the user only", map[string]any{"text": "Diagnosing checkout…"}, false},
		{"an in_channel ack is posted and echoed", map[string]any{"response_type": "in_channel", "text": "Diagnosing checkout…"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := MustStart(t, slackemu.Config{Users: []slackemu.User{{ID: "U1", Name: "alice"}}})
			app := startApp(t, srv, ackSlash(tt.ack))
			app.waitConnected(t)
			res, err := srv.SlashCommand(testContext(t), slackemu.SlashCommand{User: "U1", Channel: "incidents", Command: "/diag", Text: "checkout"})
			if err != nil {
				t.Fatal(err)
			}
			cmd := app.waitEvent(t, "the slash command", isSlash).Data.(slack.SlashCommand)
			if cmd.Command != "/diag" || cmd.Text != "checkout" || cmd.UserID != "U1" || cmd.UserName != "alice" ||
				cmd.ChannelID != "C0INCIDENTS" || cmd.ResponseURL != res.ResponseURL || cmd.TriggerID == "" {
				t.Errorf("decoded %+v, want the command with its response_url", cmd)
			}
			if res.AckedAfter <= 0 || res.Response == nil || res.Response.Text != "Diagnosing checkout…" {
				t.Fatalf("result %+v, want the ack's response", res)
			}
			eph, msgs := srv.Ephemerals("U1"), srv.Messages("incidents")
			if tt.inChannel {
				if len(msgs) != 1 || len(eph) != 0 {
					t.Fatalf("%d messages %d ephemerals, want the response in the channel", len(msgs), len(eph))
				}
				app.waitEvent(t, "the echo", messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == msgs[0].TS }))
			} else if len(msgs) != 0 || len(eph) != 1 || !eph[0].Ephemeral {
				t.Errorf("%d messages %d ephemerals, want one ephemeral", len(msgs), len(eph))
			}
		})
	}
}

// recordClicks acks every envelope empty (or not at all for clicks when noAck).
func recordClicks(noAck bool) appOption {
	return withAck(func(e socketmode.Event) (bool, any) {
		return !(noAck && e.Type == socketmode.EventTypeInteractive), nil
	})
}

func TestAClickReachesSlackGoAsABlockAction(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{Users: []slackemu.User{{ID: "U1", Name: "alice"}}})
	ts := w.post(t, "incidents", slack.MsgOptionText("INC-1", false),
		slack.MsgOptionBlocks(card("INC-1", button("runbook_approve", "INC-1:restart", "Approve"), button("show_command", "INC-1", "Show command"))...))
	res, err := w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "runbook_approve"})
	if err != nil {
		t.Fatal(err)
	}
	cb := w.app.waitEvent(t, "the click", func(e socketmode.Event) bool { return e.Type == socketmode.EventTypeInteractive }).Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("decoded %+v, want one block action", cb.ActionCallback)
	}
	a := cb.ActionCallback.BlockActions[0]
	if a.ActionID != "runbook_approve" || a.Value != "INC-1:restart" || a.BlockID != "actions" || a.Text.Text != "Approve" || a.ActionTs == "" {
		t.Errorf("action %+v", a)
	}
	if cb.User.ID != "U1" || cb.User.Name != "alice" || cb.Channel.ID != "C0INCIDENTS" || cb.Container.MessageTs != ts ||
		cb.Message.Timestamp != ts || len(cb.Message.Blocks.BlockSet) != 3 || cb.ResponseURL != res.ResponseURL || cb.TriggerID == "" {
		t.Errorf("callback user %+v channel %+v container %+v message ts %s, want the clicked message",
			cb.User, cb.Channel, cb.Container, cb.Message.Timestamp)
	}
	if res.AckedAfter <= 0 {
		t.Errorf("ack latency %v", res.AckedAfter)
	}
}

func TestOnlyCurrentButtonsCanBeClicked(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{})
	ts := w.post(t, "incidents", slack.MsgOptionText("INC-1", false), slack.MsgOptionBlocks(card("INC-1", button("approve", "v1", "Approve"))...))
	if _, _, _, err := w.api.UpdateMessageContext(testContext(t), "incidents", ts, slack.MsgOptionBlocks(card("INC-1 approved")...)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		click slackemu.Click
	}{
		{"a button an update removed", slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "approve"}},
		{"a button that never existed", slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := w.srv.Click(testContext(t), tt.click); !errors.Is(err, slackemu.ErrNoSuchButton) {
				t.Errorf("got %v, want ErrNoSuchButton", err)
			}
		})
	}
}

func TestAClickNobodyAcksFailsWithErrNoAck(t *testing.T) {
	srv := MustStart(t, slackemu.Config{AckTimeout: 100 * time.Millisecond})
	app := startApp(t, srv, recordClicks(true))
	app.waitConnected(t)
	ts := postCard(t, app.api, "incidents", button("approve", "v", "Approve"))
	_, err := srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "approve"})
	if !errors.Is(err, slackemu.ErrNoAck) {
		t.Fatalf("got %v, want ErrNoAck", err)
	}
	waitFor(t, srv, "the timeout", func() bool {
		for _, e := range srv.Envelopes() {
			if e.Type == "interactive" && e.TimedOut {
				return true
			}
		}
		return false
	})
	for _, e := range srv.Envelopes() {
		if e.Type == "interactive" && e.RetryAttempt > 0 {
			t.Errorf("interactive envelope redelivered: %+v", e)
		}
	}
}

func postCard(t *testing.T, api *slack.Client, channel string, buttons ...slack.BlockElement) string {
	t.Helper()
	_, ts, err := api.PostMessageContext(testContext(t), channel, slack.MsgOptionText("card", false), slack.MsgOptionBlocks(card("INC", buttons...)...))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestAResponseURLReplacesTheClickedMessageAtMostFiveTimes(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{})
	ts := postCard(t, w.api, "incidents", button("approve", "v", "Approve"))
	res, err := w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "approve"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, _, err := w.api.PostMessageContext(testContext(t), "", slack.MsgOptionReplaceOriginal(res.ResponseURL),
			slack.MsgOptionText("approved", false), slack.MsgOptionBlocks(card("INC approved by alice")...)); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	m, _ := w.srv.Message("incidents", ts)
	if m.Edited != 5 || m.Text != "approved" || strings.Contains(string(m.Blocks), "approve\"") {
		t.Errorf("message %+v, want replaced five times without the button", m)
	}
	w.app.waitEvent(t, "message_changed", messageEvent(func(e *slackevents.MessageEvent) bool { return e.SubType == "message_changed" }))
	_, _, err = w.api.PostMessageContext(testContext(t), "", slack.MsgOptionReplaceOriginal(res.ResponseURL), slack.MsgOptionText("sixth", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 404 {
		t.Errorf("sixth use: %v, want a 404", err)
	}
	if log := w.srv.CallLog(); log[len(log)-1].Error != "used_url" {
		t.Errorf("last call %+v, want used_url", log[len(log)-1])
	}
}

func TestAResponseURLCanReplaceAnEphemeralAndPostInChannel(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{})
	ephTS, err := w.api.PostEphemeralContext(testContext(t), "incidents", "U1", slack.MsgOptionText("run it?", false),
		slack.MsgOptionBlocks(card("Run restart-checkout?", button("run", "rb-1", "Run"))...))
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ephTS, ActionID: "run"})
	if err != nil {
		t.Fatal(err)
	}
	cb := w.app.waitEvent(t, "the click", func(e socketmode.Event) bool { return e.Type == socketmode.EventTypeInteractive }).Data.(slack.InteractionCallback)
	if !cb.Container.IsEphemeral || cb.Container.MessageTs != ephTS {
		t.Errorf("container %+v, want the ephemeral message", cb.Container)
	}
	if _, _, err := w.api.PostMessageContext(testContext(t), "", slack.MsgOptionReplaceOriginal(res.ResponseURL), slack.MsgOptionText("running…", false)); err != nil {
		t.Fatal(err)
	}
	if eph := w.srv.Ephemerals("U1"); len(eph) != 1 || eph[0].Text != "running…" || eph[0].Blocks != nil {
		t.Errorf("ephemerals %+v, want the replaced one", eph)
	}
	if _, _, err := w.api.PostMessageContext(testContext(t), "", slack.MsgOptionResponseURL(res.ResponseURL, slack.ResponseTypeInChannel), slack.MsgOptionText("alice ran restart-checkout", false)); err != nil {
		t.Fatal(err)
	}
	msgs := w.srv.Messages("incidents")
	if len(msgs) != 1 || msgs[0].Text != "alice ran restart-checkout" || msgs[0].BotID != "B0NIGHTOWL" {
		t.Fatalf("channel %+v, want the in_channel response", msgs)
	}
	w.app.waitEvent(t, "the in_channel echo", messageEvent(func(e *slackevents.MessageEvent) bool { return e.TimeStamp == msgs[0].TS }))
}

func TestAResponseURLRejectsInvalidBlocks(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{})
	res, err := w.srv.SlashCommand(testContext(t), slackemu.SlashCommand{User: "U1", Channel: "incidents", Command: "/diag"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = w.api.PostMessageContext(testContext(t), "", slack.MsgOptionResponseURL(res.ResponseURL, slack.ResponseTypeEphemeral),
		slack.MsgOptionBlocks(slack.NewHeaderBlock(mrkdwn("*x*"))))
	if !isSlackError(err, "invalid_blocks") {
		t.Errorf("got %v, want invalid_blocks", err)
	}
}

func TestAResponseURLExpiresAfterThirtyMinutes(t *testing.T) {
	clk := &clock{}
	clk.at("08:00:00")
	srv := MustStart(t, slackemu.Config{Now: clk.Now})
	app := startApp(t, srv)
	app.waitConnected(t)
	res, err := srv.SlashCommand(testContext(t), slackemu.SlashCommand{User: "U1", Channel: "incidents", Command: "/diag"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		at         string
		wantStatus int
	}{
		{"at 29 minutes it still works", "08:29:00", 200},
		{"after 30 minutes it is expired", "08:30:01", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.at(tt.at)
			status, body, _ := postWebhook(t, res.ResponseURL, "application/json", `{"text":"later"}`)
			if status != tt.wantStatus {
				t.Errorf("got %d %s, want %d", status, body, tt.wantStatus)
			}
			if status == 404 && body != "expired_url" {
				t.Errorf("body %q, want expired_url", body)
			}
		})
	}
}

func TestPickingAnOptionOfAStaticSelectReachesSlackGoAsItsSelectedOption(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{})
	opts := []*slack.OptionBlockObject{
		slack.NewOptionBlockObject("INC-1|postgres", slack.NewTextBlockObject(slack.PlainTextType, "postgres (20%)", false, false), nil),
		slack.NewOptionBlockObject("INC-1|kafka", slack.NewTextBlockObject(slack.PlainTextType, "kafka (5%)", false, false), nil),
	}
	menu := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, slack.NewTextBlockObject(slack.PlainTextType, "The cause was…", false, false), "cause_pick", opts...)
	ephTS, err := w.api.PostEphemeralContext(testContext(t), "incidents", "U1", slack.MsgOptionText("what was it?", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(mrkdwn("What was the cause?"), nil, slack.NewAccessory(menu))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ephTS, ActionID: "cause_pick", Value: "INC-1|redis"}); !errors.Is(err, slackemu.ErrNoSuchButton) {
		t.Errorf("picking an option the menu lacks: %v, want ErrNoSuchButton", err)
	}
	if _, err := w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ephTS, ActionID: "cause_pick", Value: "INC-1|kafka"}); err != nil {
		t.Fatal(err)
	}
	cb := w.app.waitEvent(t, "the pick", func(e socketmode.Event) bool { return e.Type == socketmode.EventTypeInteractive }).Data.(slack.InteractionCallback)
	if len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("decoded %+v, want one block action", cb.ActionCallback)
	}
	a := cb.ActionCallback.BlockActions[0]
	if a.ActionID != "cause_pick" || a.Type != "static_select" || a.SelectedOption.Value != "INC-1|kafka" || a.SelectedOption.Text.Text != "kafka (5%)" {
		t.Errorf("action %+v, want kafka picked", a)
	}
}

func TestAStaticSelectBeyondSlackLimitsIsRejected(t *testing.T) {
	long := strings.Repeat("x", 76)
	opt := func(text, value string) map[string]any {
		return map[string]any{"text": map[string]any{"type": "plain_text", "text": text}, "value": value}
	}
	menu := func(options ...any) string {
		b, _ := json.Marshal([]any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "pick"},
			"accessory": map[string]any{"type": "static_select", "action_id": "a", "options": options}}})
		return string(b)
	}
	many := make([]any, 101)
	for i := range many {
		many[i] = opt("o", "v")
	}
	for name, blocks := range map[string]string{
		"an option text over 75 characters":   menu(opt(long, "v")),
		"an option value over 150 characters": menu(opt("o", strings.Repeat("v", 151))),
		"more than 100 options":               menu(many...),
		"no options":                          menu(),
	} {
		if err := slackemu.Validate([]byte(blocks)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := slackemu.Validate([]byte(menu(opt("postgres (20%)", "INC-1|postgres")))); err != nil {
		t.Errorf("a valid menu: %v", err)
	}
}
