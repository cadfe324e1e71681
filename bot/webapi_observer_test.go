package bot

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

// slackRecorder is a recordingObserver that hears WebAPI too.
type slackRecorder struct{ recordingObserver }

func (o *slackRecorder) SlackAPICalled(method string, err error, rateLimited bool) {
	outcome := "ok"
	switch {
	case rateLimited:
		outcome = "rate_limited"
	case err != nil:
		outcome = "error"
	}
	o.add("SlackAPICalled %s %s", method, outcome)
}
func (o *slackRecorder) SocketConnected(up bool) { o.add("SocketConnected %t", up) }
func (o *slackRecorder) SocketReconnected()      { o.add("SocketReconnected") }
func (o *slackRecorder) EnvelopeAcked(envelopeType string, _ time.Duration) {
	o.add("EnvelopeAcked %s", envelopeType)
}

// eventually fails the test unless cond holds within 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebAPIReportsEachCallWithItsOutcome(t *testing.T) {
	emu := slackemu.New(slackemu.Config{Channels: []slackemu.Channel{{ID: ctIncidents, Name: "incidents"}}})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	obs := &slackRecorder{}
	web := NewWebAPI(WebAPIConfig{BotToken: "xoxb-emulator", APIURL: emu.APIURL(), Observer: obs})
	emu.RateLimit("chat.postMessage", 1, time.Second)
	if _, err := web.Post(t.Context(), Message{Channel: ctIncidents, Text: "card"}); err != nil {
		t.Fatal(err)
	}
	if _, err := web.Post(t.Context(), Message{Channel: "C0NOWHERE", Text: "card"}); err == nil {
		t.Fatal("a post to a channel that does not exist went through")
	}
	for line, want := range map[string]int{
		"SlackAPICalled chat.postMessage rate_limited": 1, // the 429, retried
		"SlackAPICalled chat.postMessage ok":           1,
		"SlackAPICalled chat.postMessage error":        1,
	} {
		if got := obs.count(line); got != want {
			t.Errorf("%q reported %d times, want %d; reported: %q", line, got, want, obs.lines())
		}
	}
}

func TestWebAPIReportsTheConnectionAndEveryAck(t *testing.T) {
	emu := slackemu.New(slackemu.Config{
		Channels: []slackemu.Channel{{ID: ctAlerts, Name: "alerts"}},
		Users:    []slackemu.User{{ID: ctPriya, Name: "priya"}},
	})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	obs := &slackRecorder{}
	web := NewWebAPI(WebAPIConfig{BotToken: "xoxb-emulator", AppToken: "xapp-emulator", APIURL: emu.APIURL(), Observer: obs})
	if web.Connected() {
		t.Fatal("connected before Listen")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- web.Listen(ctx, func(context.Context, socketmode.Event) {}) }()
	eventually(t, "Socket Mode connected", func() bool { return web.Connected() && obs.count("SocketConnected true") == 1 })

	if _, err := emu.PostAsUser(ctAlerts, ctPriya, "hello", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the message's envelope acked", func() bool { return obs.count("EnvelopeAcked events_api") >= 1 })

	emu.DropConnections()
	eventually(t, "a reconnection after the connection dropped", func() bool {
		return obs.count("SocketReconnected") == 1 && obs.count("SocketConnected true") == 2 && web.Connected()
	})
	if obs.count("SocketConnected false") == 0 {
		t.Errorf("the drop was never reported as down; reported: %q", obs.lines())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Listen: %v", err)
	}
	if web.Connected() {
		t.Error("still connected after Listen returned")
	}
}
