package slackemu_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject("plain_text", s, false, false)
}
func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject("mrkdwn", s, false, false)
}

func button(actionID, value, label string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, value, plain(label))
}

// card is an incident card like the bot posts: a header, a section and buttons.
func card(title string, buttons ...slack.BlockElement) []slack.Block {
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(title)),
		slack.NewSectionBlock(mrkdwn("*Likely cause:* db-primary"), nil, nil),
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("actions", buttons...))
	}
	return blocks
}

// workspace is one emulator with a connected app, for the table tests.
type workspace struct {
	srv *slackemu.Server
	app *testApp
	api *slack.Client
}

func newWorkspace(t *testing.T, cfg slackemu.Config) workspace {
	t.Helper()
	srv := MustStart(t, cfg)
	app := startApp(t, srv)
	app.waitConnected(t)
	return workspace{srv: srv, app: app, api: app.api}
}

func (w workspace) post(t *testing.T, channel string, opts ...slack.MsgOption) string {
	t.Helper()
	_, ts, err := w.api.PostMessageContext(testContext(t), channel, opts...)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	return ts
}

func TestWebAPIRoundTripsThroughSlackGo(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, w workspace)
	}{
		{"a post is stored and echoed to the app with the bot's ids", func(t *testing.T, w workspace) {
			ts := w.post(t, "C0INCIDENTS", slack.MsgOptionText("INC-1 checkout slow", false), slack.MsgOptionBlocks(card("INC-1")...))
			m, ok := w.srv.Message("C0INCIDENTS", ts)
			if !ok || m.Text != "INC-1 checkout slow" || m.BotID != "B0NIGHTOWL" || !strings.Contains(string(m.Blocks), `"block_id"`) {
				t.Fatalf("stored %+v (found %v), want the text and blocks with block ids", m, ok)
			}
			e := w.app.waitEvent(t, "the echo", messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == ts }))
			got := innerMessage(e)
			if got.BotID != "B0NIGHTOWL" || got.User != "U0NIGHTOWL" || got.Message.BotProfile == nil || got.Message.BotProfile.AppID != "A0NIGHTOWL" {
				t.Errorf("echo %+v, want bot_id, user and bot_profile of the app", got)
			}
			if len(got.Message.Blocks.BlockSet) != 2 {
				t.Errorf("echo has %d blocks, want 2", len(got.Message.Blocks.BlockSet))
			}
		}},
		{"a thread reply counts on its parent and lists after it", func(t *testing.T, w workspace) {
			parent := w.post(t, "incidents", slack.MsgOptionText("INC-2", false))
			reply := w.post(t, "incidents", slack.MsgOptionText("diagnosis follows", false), slack.MsgOptionTS(parent))
			if m, _ := w.srv.Message("incidents", parent); m.ReplyCount != 1 || m.ThreadTS != parent {
				t.Errorf("parent %+v, want reply_count 1 and thread_ts", m)
			}
			msgs, hasMore, _, err := w.api.GetConversationRepliesContext(testContext(t), &slack.GetConversationRepliesParameters{ChannelID: "C0INCIDENTS", Timestamp: parent})
			if err != nil || hasMore || len(msgs) != 2 || msgs[0].Timestamp != parent || msgs[1].Timestamp != reply {
				t.Fatalf("replies %v more %v err %v, want parent then reply", msgs, hasMore, err)
			}
			if msgs[0].ReplyCount != 1 || msgs[1].ThreadTimestamp != parent || msgs[1].ParentUserId != "U0NIGHTOWL" {
				t.Errorf("thread fields parent %+v reply %+v", msgs[0].Msg, msgs[1].Msg)
			}
			e := w.app.waitEvent(t, "the reply", messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == reply }))
			if innerMessage(e).ThreadTimeStamp != parent {
				t.Errorf("reply event thread_ts %q, want %q", innerMessage(e).ThreadTimeStamp, parent)
			}
		}},
		{"an update replaces blocks, counts as an edit and sends message_changed", func(t *testing.T, w workspace) {
			ts := w.post(t, "incidents", slack.MsgOptionText("INC-3", false), slack.MsgOptionBlocks(card("INC-3", button("approve", "v", "Approve"))...))
			_, _, text, err := w.api.UpdateMessageContext(testContext(t), "C0INCIDENTS", ts, slack.MsgOptionText("INC-3 resolved", false), slack.MsgOptionBlocks(card("INC-3 resolved")...))
			if err != nil || text != "INC-3 resolved" {
				t.Fatalf("update: %q %v", text, err)
			}
			m, _ := w.srv.Message("incidents", ts)
			if m.Edited != 1 || strings.Contains(string(m.Blocks), "approve") {
				t.Errorf("after update %+v, want edited once and no button", m)
			}
			e := w.app.waitEvent(t, "message_changed", messageEvent(func(m *slackevents.MessageEvent) bool {
				return m.SubType == "message_changed" && m.Message.Timestamp == ts
			}))
			got := innerMessage(e)
			if got.Message.Text != "INC-3 resolved" || got.PreviousMessage == nil || got.PreviousMessage.Text != "INC-3" || got.Message.Edited == nil {
				t.Errorf("message_changed %+v, want new and previous text and an edited mark", got)
			}
		}},
		{"an update with no blocks clears them", func(t *testing.T, w workspace) {
			ts := w.post(t, "incidents", slack.MsgOptionText("INC-4", false), slack.MsgOptionBlocks(card("INC-4")...))
			if _, _, _, err := w.api.UpdateMessageContext(testContext(t), "incidents", ts, slack.MsgOptionBlocks()); err != nil {
				t.Fatal(err)
			}
			if m, _ := w.srv.Message("incidents", ts); m.Blocks != nil || m.Text != "INC-4" {
				t.Errorf("after blocks=[]: blocks %s text %q, want no blocks and the text kept", m.Blocks, m.Text)
			}
		}},
		{"an ephemeral reaches only its user and raises no event", func(t *testing.T, w workspace) {
			before := len(w.srv.Envelopes())
			ts, err := w.api.PostEphemeralContext(testContext(t), "incidents", "U1", slack.MsgOptionText("only you", false))
			if err != nil || ts == "" {
				t.Fatalf("ephemeral: %q %v", ts, err)
			}
			if eph := w.srv.Ephemerals("U1"); len(eph) != 1 || eph[0].TS != ts || eph[0].Text != "only you" {
				t.Errorf("ephemerals of U1: %+v", eph)
			}
			if got := len(w.srv.Envelopes()); got != before {
				t.Errorf("%d envelopes after an ephemeral, want %d", got, before)
			}
			if msgs := w.srv.Messages("incidents"); len(msgs) != 0 {
				t.Errorf("channel has %d messages, want none", len(msgs))
			}
		}},
		{"history pages newest first with a cursor", func(t *testing.T, w workspace) {
			var posted []string
			for _, text := range []string{"one", "two", "three"} {
				posted = append(posted, w.post(t, "alerts", slack.MsgOptionText(text, false)))
			}
			var got []string
			params := &slack.GetConversationHistoryParameters{ChannelID: "C0ALERTS", Limit: 2}
			for {
				res, err := w.api.GetConversationHistoryContext(testContext(t), params)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range res.Messages {
					got = append(got, m.Timestamp)
				}
				if !res.HasMore {
					break
				}
				params.Cursor = res.ResponseMetaData.NextCursor
			}
			slices.Reverse(posted)
			if !slices.Equal(got, posted) {
				t.Errorf("history %v, want %v", got, posted)
			}
		}},
		{"a reaction is added once", func(t *testing.T, w workspace) {
			ts := w.post(t, "alerts", slack.MsgOptionText("ack?", false))
			ref := slack.NewRefToMessage("C0ALERTS", ts)
			if err := w.api.AddReactionContext(testContext(t), "eyes", ref); err != nil {
				t.Fatal(err)
			}
			err := w.api.AddReactionContext(testContext(t), "eyes", ref)
			if !isSlackError(err, "already_reacted") {
				t.Errorf("second reaction: %v, want already_reacted", err)
			}
			if m, _ := w.srv.Message("alerts", ts); len(m.Reactions) != 1 || m.Reactions[0].Name != "eyes" {
				t.Errorf("reactions %+v", m.Reactions)
			}
		}},
		{"a delete removes the message and sends message_deleted", func(t *testing.T, w workspace) {
			ts := w.post(t, "alerts", slack.MsgOptionText("oops", false))
			if _, _, err := w.api.DeleteMessageContext(testContext(t), "C0ALERTS", ts); err != nil {
				t.Fatal(err)
			}
			if _, ok := w.srv.Message("alerts", ts); ok {
				t.Error("message still stored")
			}
			w.app.waitEvent(t, "message_deleted", messageEvent(func(m *slackevents.MessageEvent) bool {
				return m.SubType == "message_deleted" && m.DeletedTimeStamp == ts
			}))
		}},
		{"a broadcast reply is in the thread and in the channel", func(t *testing.T, w workspace) {
			parent := w.post(t, "alerts", slack.MsgOptionText("parent", false))
			reply := w.post(t, "alerts", slack.MsgOptionText("also in channel", false), slack.MsgOptionTS(parent), slack.MsgOptionBroadcast())
			msgs := w.srv.Messages("alerts")
			if len(msgs) != 2 || msgs[1].TS != reply || msgs[1].Subtype != "thread_broadcast" || len(w.srv.Replies("alerts", parent)) != 1 {
				t.Errorf("channel %+v, want the parent and the broadcast reply", msgs)
			}
		}},
		{"conversations.info names the channel", func(t *testing.T, w workspace) {
			ch, err := w.api.GetConversationInfoContext(testContext(t), &slack.GetConversationInfoInput{ChannelID: "C0ALERTS"})
			if err != nil || ch.Name != "alerts" || !ch.IsMember || !ch.IsChannel {
				t.Errorf("info %+v %v", ch, err)
			}
		}},
		{"a JSON call with a Bearer token works like a form", func(t *testing.T, w workspace) {
			req, _ := http.NewRequest(http.MethodPost, w.srv.APIURL()+"chat.postMessage", strings.NewReader(
				`{"channel":"C0ALERTS","text":"from json","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*json*"}}]}`))
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			req.Header.Set("Authorization", "Bearer xoxb-emulator")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				OK bool   `json:"ok"`
				TS string `json:"ts"`
			}
			if err := jsonDecode(resp.Body, &body); err != nil || !body.OK {
				t.Fatalf("answer %+v %v", body, err)
			}
			if m, _ := w.srv.Message("alerts", body.TS); m.Text != "from json" || !strings.Contains(string(m.Blocks), "*json*") {
				t.Errorf("stored %+v", m)
			}
		}},
		{"auth.test names the bot", func(t *testing.T, w workspace) {
			res, err := w.api.AuthTestContext(testContext(t))
			if err != nil || res.BotID != "B0NIGHTOWL" || res.UserID != "U0NIGHTOWL" || res.TeamID != "T0NIGHTOWL" {
				t.Errorf("auth.test %+v %v", res, err)
			}
		}},
		{"users.info and usergroups.users.list answer from the config", func(t *testing.T, w workspace) {
			u, err := w.api.GetUserInfoContext(testContext(t), "U1")
			if err != nil || u.Name != "alice" || u.RealName != "Alice Liddell" || u.TZ != "UTC" || u.Profile.DisplayName != "alice" {
				t.Errorf("users.info %+v %v", u, err)
			}
			if _, err := w.api.GetUserInfoContext(testContext(t), "U404"); !isSlackError(err, "user_not_found") {
				t.Errorf("unknown user: %v", err)
			}
			members, err := w.api.GetUserGroupMembersContext(testContext(t), "S0SRE")
			if err != nil || !slices.Equal(members, []string{"U1", "U2"}) {
				t.Errorf("group members %v %v", members, err)
			}
			if _, err := w.api.GetUserGroupMembersContext(testContext(t), "S404"); !isSlackError(err, "no_such_subteam") {
				t.Errorf("unknown group: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newWorkspace(t, slackemu.Config{
				Users:      []slackemu.User{{ID: "U1", Name: "alice", RealName: "Alice Liddell"}, {ID: "U2", Name: "bob"}},
				UserGroups: map[string][]string{"S0SRE": {"U1", "U2"}},
			}))
		})
	}
}

func isSlackError(err error, code string) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && se.Err == code
}

func TestWebAPIErrorsMatchSlack(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	api := newClient(t, srv, "xoxb-emulator")
	hookTS, err := srv.PostAsBot("alerts", slackemu.WebhookOwner{BotID: "B0AM", Name: "Alertmanager"}, "[FIRING:1] x", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"posting to an unknown channel", func() error {
			_, _, err := api.PostMessageContext(ctx, "C404", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"replying to an unknown thread", func() error {
			_, _, err := api.PostMessageContext(ctx, "alerts", slack.MsgOptionText("x", false), slack.MsgOptionTS("1.000001"))
			return err
		}, "thread_not_found"},
		{"posting nothing", func() error {
			_, _, err := api.PostMessageContext(ctx, "alerts")
			return err
		}, "no_text"},
		{"posting more than 40,000 characters", func() error {
			_, _, err := api.PostMessageContext(ctx, "alerts", slack.MsgOptionText(strings.Repeat("x", 40001), false))
			return err
		}, "msg_too_long"},
		{"updating an unknown message", func() error {
			_, _, _, err := api.UpdateMessageContext(ctx, "alerts", "1.000001", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"updating someone else's message", func() error {
			_, _, _, err := api.UpdateMessageContext(ctx, "alerts", hookTS, slack.MsgOptionText("x", false))
			return err
		}, "cant_update_message"},
		{"calling with a wrong token", func() error {
			_, err := newClient(t, srv, "xoxb-wrong").AuthTestContext(ctx)
			return err
		}, "invalid_auth"},
		{"calling without a token", func() error {
			_, err := newClient(t, srv, "").AuthTestContext(ctx)
			return err
		}, "not_authed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !isSlackError(err, tt.want) {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
	t.Run("an unknown method", func(t *testing.T) {
		resp, err := http.PostForm(srv.APIURL()+"chat.postMesage", url.Values{"token": {"xoxb-emulator"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := jsonDecode(resp.Body, &body); err != nil || body.OK || body.Error != "unknown_method" {
			t.Errorf("got %+v %v, want unknown_method", body, err)
		}
	})
}

func TestRateLimitedCallsAnswer429WithRetryAfter(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	api := newClient(t, srv, "xoxb-emulator")
	srv.RateLimit("chat.postMessage", 1, 1500*time.Millisecond)
	_, _, err := api.PostMessageContext(testContext(t), "alerts", slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("got %v, want *slack.RateLimitedError with RetryAfter 2s", err)
	}
	if _, _, err := api.PostMessageContext(testContext(t), "alerts", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("the call after the limit: %v", err)
	}
	log := srv.CallLog()
	if srv.Calls("chat.postMessage") != 2 || log[0].OK || log[0].Error != "ratelimited" || !log[1].OK {
		t.Errorf("call log %+v, want a ratelimited call then an ok one", log)
	}
}
