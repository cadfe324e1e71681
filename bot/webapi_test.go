package bot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

// The slack-go client: slack-go itself retries what Slack rate-limits,
// honouring Retry-After; every call has a deadline and every request a
// timeout, so a Slack that never answers holds nobody up for long.

func TestWebAPIRetriesARateLimitedCallAfterRetryAfter(t *testing.T) {
	emu := slackemu.New(slackemu.Config{Channels: []slackemu.Channel{{ID: ctIncidents, Name: "incidents"}}})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	emu.RateLimit("chat.postMessage", 1, time.Second)
	web := NewWebAPI(WebAPIConfig{BotToken: "xoxb-emulator", APIURL: emu.APIURL()})
	start := time.Now()
	if _, err := web.Post(t.Context(), Message{Channel: ctIncidents, Text: "card"}); err != nil {
		t.Fatalf("a post Slack rate-limited once: %v, want it retried", err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("retried after %v, want after the Retry-After of 1s", took)
	}
	if calls, limited := web.Calls(); calls != 2 || limited != 1 {
		t.Errorf("Calls() = %d, %d; want 2 requests of which 1 rate-limited", calls, limited)
	}
	if n := len(emu.Messages(ctIncidents)); n != 1 {
		t.Errorf("%d messages, want the one card", n)
	}
}

func TestWebAPIGivesUpOnASlackThatNeverAnswers(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	web := NewWebAPI(WebAPIConfig{BotToken: "xoxb-x", APIURL: hang.URL + "/", CallTimeout: 300 * time.Millisecond})
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"a post", func(ctx context.Context) error {
			_, err := web.Post(ctx, Message{Channel: ctIncidents, Text: "x"})
			return err
		}},
		{"an update", func(ctx context.Context) error { return web.Update(ctx, ctIncidents, "1.1", Message{Text: "x"}) }},
		{"an answer through a response_url", func(ctx context.Context) error {
			return web.Respond(ctx, hang.URL+"/response", Message{Text: "x"}, false)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := tc.call(context.Background()) // the caller set no deadline
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want the call's deadline", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("gave up after %v, want about 300ms", took)
			}
		})
	}
}
