package slackemu_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

func TestConfirmDialogsAreValidatedLikeSlack(t *testing.T) {
	dialog := func(fields string) string {
		return `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Go"},"confirm":{` + fields + `}}]}]`
	}
	plain := func(s string) string { return `{"type":"plain_text","text":"` + s + `"}` }
	good := `"title":` + plain("Run it?") + `,"text":` + plain("It restarts order-service.") + `,"confirm":` + plain("Run") + `,"deny":` + plain("Not now")
	tests := []struct {
		name, blocks string
		want         []string
	}{
		{"a complete dialog", dialog(good + `,"style":"danger"`), nil},
		{"a title of 101 characters", dialog(strings.Replace(good, "Run it?", strings.Repeat("t", 101), 1)),
			[]string{"must be less than 101 characters [json-pointer:/blocks/0/elements/0/confirm/title/text]"}},
		{"a text of 301 characters", dialog(strings.Replace(good, "It restarts order-service.", strings.Repeat("x", 301), 1)),
			[]string{"must be less than 301 characters [json-pointer:/blocks/0/elements/0/confirm/text/text]"}},
		{"a confirm button of 31 characters", dialog(strings.Replace(good, `"Run"`, `"`+strings.Repeat("r", 31)+`"`, 1)),
			[]string{"must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/confirm/text]"}},
		{"no deny button", dialog(strings.Replace(good, `,"deny":`+plain("Not now"), "", 1)),
			[]string{"must provide an object [json-pointer:/blocks/0/elements/0/confirm/deny]"}},
		{"a mrkdwn title", dialog(strings.Replace(good, plain("Run it?"), `{"type":"mrkdwn","text":"*Run*"}`, 1)),
			[]string{"must be plain_text [json-pointer:/blocks/0/elements/0/confirm/title/type]"}},
		{"an unknown style", dialog(good + `,"style":"loud"`),
			[]string{"must be one of: primary, danger [json-pointer:/blocks/0/elements/0/confirm/style]"}},
		{"an unknown field", dialog(good + `,"color":"red"`),
			[]string{"invalid additional property: color [json-pointer:/blocks/0/elements/0/confirm]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := slackemu.Validate([]byte(tt.blocks))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var ae *slackemu.APIError
			if !errors.As(err, &ae) || strings.Join(ae.Problems, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAConfirmedClickShowsTheDialogAndADeniedOneSendsNothing(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{Users: []slackemu.User{{ID: "U1", Name: "alice"}}})
	approve := button("approve", "RUN-1|abc", "Approve").WithConfirm(slack.NewConfirmationBlockObject(
		slack.NewTextBlockObject(slack.PlainTextType, "Run RB-1 on order-service?", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "service=order-service", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Not now", false, false)).WithStyle(slack.StyleDanger))
	ts := postCard(t, w.api, "incidents", approve, button("plain", "v", "Plain"))
	isClick := func(e socketmode.Event) bool { return e.Type == socketmode.EventTypeInteractive }

	res, err := w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "approve", Deny: true})
	if err != nil || res.Confirm == nil || res.EnvelopeID != "" {
		t.Fatalf("denied: %+v %v, want the dialog and no envelope", res, err)
	}
	if _, err := w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "plain", Deny: true}); !errors.Is(err, slackemu.ErrNoConfirm) {
		t.Errorf("denying a button without a dialog: %v", err)
	}
	res, err = w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "approve"})
	if err != nil {
		t.Fatal(err)
	}
	want := slackemu.Confirm{Title: "Run RB-1 on order-service?", Text: "service=order-service", Confirm: "Approve", Deny: "Not now", Style: "danger"}
	if res.Confirm == nil || *res.Confirm != want {
		t.Errorf("dialog %+v, want %+v", res.Confirm, want)
	}
	w.app.waitEvent(t, "the confirmed click", isClick)
	if n := len(w.app.all(isClick)); n != 1 {
		t.Errorf("%d clicks reached the app, want only the confirmed one", n)
	}
}

func TestAStaleClientCanClickAButtonAnUpdateRemoved(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{})
	ts := postCard(t, w.api, "incidents", button("approve", "RUN-1|abc", "Approve"))
	before, _ := w.srv.Message("incidents", ts)
	if _, _, _, err := w.api.UpdateMessageContext(testContext(t), "incidents", ts, slack.MsgOptionBlocks(card("expired")...)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "approve"}); !errors.Is(err, slackemu.ErrNoSuchButton) {
		t.Fatalf("an up-to-date client clicked a removed button: %v", err)
	}
	if _, err := w.srv.Click(testContext(t), slackemu.Click{User: "U1", Channel: "incidents", MessageTS: ts, ActionID: "approve", Seen: before.Blocks}); err != nil {
		t.Fatal(err)
	}
	cb := w.app.waitEvent(t, "the stale click", func(e socketmode.Event) bool { return e.Type == socketmode.EventTypeInteractive }).Data.(slack.InteractionCallback)
	raw, _ := json.Marshal(cb.ActionCallback.BlockActions)
	if !strings.Contains(string(raw), "RUN-1|abc") {
		t.Errorf("actions %s", raw)
	}
}
