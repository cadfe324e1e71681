package slackemu_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

// callErrors lists the error codes of the recorded calls of method, "" for a success.
func callErrors(srv *slackemu.Server, method string) []string {
	var out []string
	for _, c := range srv.CallLog() {
		if c.Method == method {
			out = append(out, c.Error)
		}
	}
	return out
}

func TestFailCallsAnswersTheStatusForTheNextCallsOnly(t *testing.T) {
	tests := []struct {
		status   int
		wantCode string
	}{
		{http.StatusInternalServerError, "internal_error"},
		{http.StatusServiceUnavailable, "service_unavailable"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := MustStart(t, slackemu.Config{})
			api := newClient(t, srv, "xoxb-emulator")
			srv.FailCalls("chat.postMessage", 2, tt.status)
			for i := range 2 {
				_, _, err := api.PostMessageContext(testContext(t), "alerts", slack.MsgOptionText("hello", false))
				var sce slack.StatusCodeError
				if !errors.As(err, &sce) || sce.Code != tt.status {
					t.Fatalf("call %d: err %v, want HTTP %d", i+1, err, tt.status)
				}
			}
			if _, _, err := api.PostMessageContext(testContext(t), "alerts", slack.MsgOptionText("hello", false)); err != nil {
				t.Fatalf("the third call: %v, want it to go through", err)
			}
			if _, err := api.AuthTestContext(testContext(t)); err != nil {
				t.Errorf("another method failed too: %v", err)
			}
			if got, want := callErrors(srv, "chat.postMessage"), []string{tt.wantCode, tt.wantCode, ""}; !slices.Equal(got, want) {
				t.Errorf("recorded calls %q, want %q", got, want)
			}
			if n := len(srv.Messages("alerts")); n != 1 {
				t.Errorf("%d messages in #alerts, want only the one that went through", n)
			}
		})
	}
}

func TestFailUpdatesFailsOneMessagesUpdates(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		f       slackemu.Failure
		fails   int // of three updates
		wantErr func(error) bool
	}{
		{"once with cant_update_message", 1, slackemu.Failure{Code: "cant_update_message"}, 1, func(err error) bool {
			var se slack.SlackErrorResponse
			return errors.As(err, &se) && se.Err == "cant_update_message"
		}},
		{"twice with HTTP 500", 2, slackemu.Failure{Status: http.StatusInternalServerError}, 2, func(err error) bool {
			var sce slack.StatusCodeError
			return errors.As(err, &sce) && sce.Code == http.StatusInternalServerError
		}},
		{"always with message_not_found", -1, slackemu.Failure{Code: "message_not_found"}, 3, func(err error) bool {
			var se slack.SlackErrorResponse
			return errors.As(err, &se) && se.Err == "message_not_found"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := MustStart(t, slackemu.Config{})
			api := newClient(t, srv, "xoxb-emulator")
			_, card, err := api.PostMessageContext(testContext(t), "incidents", slack.MsgOptionText("INC-1 firing", false))
			if err != nil {
				t.Fatal(err)
			}
			_, other, err := api.PostMessageContext(testContext(t), "incidents", slack.MsgOptionText("INC-2 firing", false))
			if err != nil {
				t.Fatal(err)
			}
			srv.FailUpdates("C0INCIDENTS", card, tt.n, tt.f)
			failed := 0
			for range 3 {
				_, _, _, err := api.UpdateMessageContext(testContext(t), "incidents", card, slack.MsgOptionText("INC-1 resolved", false))
				switch {
				case err == nil:
				case tt.wantErr(err):
					failed++
				default:
					t.Fatalf("update failed with %v (%T)", err, err)
				}
			}
			if failed != tt.fails {
				t.Errorf("%d of 3 updates failed, want %d", failed, tt.fails)
			}
			if _, _, _, err := api.UpdateMessageContext(testContext(t), "incidents", other, slack.MsgOptionText("INC-2 resolved", false)); err != nil {
				t.Errorf("another message's update failed: %v", err)
			}
			m, _ := srv.Message("C0INCIDENTS", card)
			if want := tt.fails < 3; want != (m.Text == "INC-1 resolved") {
				t.Errorf("the message says %q after %d failed updates", m.Text, failed)
			}
		})
	}
}

func TestRedeliverSendsTheSameEventWithTheNextRetryAttempt(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	app := startApp(t, srv)
	app.waitConnected(t)
	ts, err := srv.PostAsUser("alerts", "U1", "disk full on db-1", "")
	if err != nil {
		t.Fatal(err)
	}
	isIt := messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == ts })
	first := app.waitEvent(t, "the message", isIt)
	if err := srv.Redeliver("alerts", ts, "timeout"); err != nil {
		t.Fatal(err)
	}
	again := app.waitEvent(t, "the redelivery", func(e socketmode.Event) bool { return isIt(e) && e.Request.RetryAttempt == 1 })
	if again.Request.RetryReason != "timeout" || eventID(again) != eventID(first) || again.Request.EnvelopeID == first.Request.EnvelopeID {
		t.Errorf("redelivery: attempt %d reason %q event %s envelope %s; first: event %s envelope %s",
			again.Request.RetryAttempt, again.Request.RetryReason, eventID(again), again.Request.EnvelopeID,
			eventID(first), first.Request.EnvelopeID)
	}
	if err := srv.Redeliver("alerts", ts, "http_error"); err != nil {
		t.Fatal(err)
	}
	third := app.waitEvent(t, "the second redelivery", func(e socketmode.Event) bool { return isIt(e) && e.Request.RetryAttempt == 2 })
	if third.Request.RetryReason != "http_error" {
		t.Errorf("retry_reason %q, want http_error", third.Request.RetryReason)
	}
	waitFor(t, srv, "every ack", func() bool {
		envs := srv.Envelopes()
		return len(envs) == 3 && envs[0].Acked && envs[1].Acked && envs[2].Acked
	})
	envs := srv.MessageEnvelopes("alerts", ts)
	if len(envs) != 3 || envs[0].RetryAttempt != 0 || envs[2].RetryAttempt != 2 || envs[0].EventID != envs[2].EventID {
		t.Errorf("the message's envelopes %+v, want attempts 0, 1, 2 of one event", envs)
	}
	if err := srv.Redeliver("alerts", "1.000001", "timeout"); err == nil {
		t.Error("redelivering a message that was never delivered: no error")
	}
}

func TestDropAfterNextEnvelopeCutsTheSocketBeforeTheAck(t *testing.T) {
	srv := MustStart(t, slackemu.Config{AckTimeout: 150 * time.Millisecond, RetryDelays: []time.Duration{10 * time.Millisecond}})
	app := startApp(t, srv)
	app.waitConnected(t)
	srv.DropAfterNextEnvelope()
	ts, err := srv.PostAsUser("alerts", "U1", "disk full on db-1", "")
	if err != nil {
		t.Fatal(err)
	}
	isIt := messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == ts })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("envelopes %+v; %d sockets; %d opens", srv.MessageEnvelopes("alerts", ts), srv.Connected(), srv.Calls("apps.connections.open"))
		}
	})
	app.waitEvent(t, "the redelivery", func(e socketmode.Event) bool { return isIt(e) && e.Request.RetryAttempt == 1 })
	waitFor(t, srv, "the redelivery's ack on a new socket", func() bool {
		envs := srv.MessageEnvelopes("alerts", ts)
		return len(envs) == 2 && envs[1].Acked && srv.Connected() == 1
	})
	if envs := srv.MessageEnvelopes("alerts", ts); envs[0].Acked || !envs[0].TimedOut {
		t.Errorf("first delivery %+v, want it sent and never acked", envs[0])
	}
	if n := srv.Calls("apps.connections.open"); n != 2 {
		t.Errorf("%d apps.connections.open calls, want 2: the cut socket was replaced", n)
	}
	// Disarmed: the next envelope goes through on the same socket.
	ts2, err := srv.PostAsUser("alerts", "U1", "and db-2", "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "the next ack", func() bool {
		envs := srv.MessageEnvelopes("alerts", ts2)
		return len(envs) == 1 && envs[0].Acked
	})
	if n := srv.Calls("apps.connections.open"); n != 2 {
		t.Errorf("%d apps.connections.open calls after a later envelope, want still 2", n)
	}
}
