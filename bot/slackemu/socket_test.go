package slackemu_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

func TestAConnectingAppGetsHelloAndItsAckLatencyIsRecorded(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	app := startApp(t, srv)
	hello := app.waitEvent(t, "hello", isHello)
	if got := hello.Request.ConnectionInfo.AppID; got != "A0NIGHTOWL" {
		t.Errorf("hello app_id %q, want A0NIGHTOWL", got)
	}
	if got := hello.Request.NumConnections; got != 1 {
		t.Errorf("hello num_connections %d, want 1", got)
	}
	if got := srv.Connected(); got != 1 {
		t.Errorf("connected %d, want 1", got)
	}

	ts, err := srv.PostAsUser("alerts", "U1", "anyone around?", "")
	if err != nil {
		t.Fatal(err)
	}
	app.waitEvent(t, "the message", messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == ts }))
	waitFor(t, srv, "the ack", func() bool {
		envs := srv.Envelopes()
		return len(envs) == 1 && envs[0].Acked
	})
	env := srv.Envelopes()[0]
	if env.Type != "events_api" || env.Sent.IsZero() || env.AckedAfter <= 0 || env.TimedOut || env.RetryAttempt != 0 {
		t.Errorf("envelope %+v, want an events_api envelope sent and acked in time", env)
	}
}

func TestUnackedEventsAreRedeliveredWithTheSameEventID(t *testing.T) {
	srv := MustStart(t, slackemu.Config{AckTimeout: 150 * time.Millisecond, RetryDelays: []time.Duration{10 * time.Millisecond}})
	app := startApp(t, srv, withAck(func(e socketmode.Event) (bool, any) {
		return e.Request.RetryAttempt > 0, nil // drop the first delivery on the floor
	}))
	app.waitConnected(t)
	ts, err := srv.PostAsUser("alerts", "U1", "disk full on db-1", "")
	if err != nil {
		t.Fatal(err)
	}
	isIt := messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == ts })
	retried := app.waitEvent(t, "the redelivery", func(e socketmode.Event) bool {
		return isIt(e) && e.Request.RetryAttempt == 1
	})
	first := app.all(isIt)[0]
	if first.Request.RetryAttempt != 0 {
		t.Errorf("first delivery retry_attempt %d, want 0", first.Request.RetryAttempt)
	}
	if retried.Request.RetryReason != "timeout" {
		t.Errorf("retry_reason %q, want timeout", retried.Request.RetryReason)
	}
	if eventID(first) != eventID(retried) || first.Request.EnvelopeID == retried.Request.EnvelopeID {
		t.Errorf("event ids %s/%s envelopes %s/%s, want the same event in a new envelope",
			eventID(first), eventID(retried), first.Request.EnvelopeID, retried.Request.EnvelopeID)
	}
	waitFor(t, srv, "the redelivery's ack", func() bool {
		envs := srv.Envelopes()
		return len(envs) == 2 && envs[1].Acked
	})
	if envs := srv.Envelopes(); !envs[0].TimedOut || envs[0].Acked || envs[1].RetryAttempt != 1 {
		t.Errorf("envelopes %+v, want a timed-out first attempt and an acked retry 1", envs)
	}
}

func TestEventsRaisedWhileNoSocketIsOpenAreDeliveredOnConnect(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	ts, err := srv.PostAsUser("alerts", "U1", "posted before the app connected", "")
	if err != nil {
		t.Fatal(err)
	}
	if envs := srv.Envelopes(); len(envs) != 1 || !envs[0].Sent.IsZero() {
		t.Fatalf("envelopes %+v, want one queued, unsent", envs)
	}
	app := startApp(t, srv)
	app.waitEvent(t, "the queued message", messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == ts }))
}

func TestALostSocketMakesSlackGoReconnectAndKeepWorking(t *testing.T) {
	tests := []struct {
		name string
		drop func(*slackemu.Server)
	}{
		{"a refresh_requested disconnect", func(s *slackemu.Server) { s.Disconnect("refresh_requested") }},
		{"a warning disconnect", func(s *slackemu.Server) { s.Disconnect("warning") }},
		{"an abrupt drop", func(s *slackemu.Server) { s.DropConnections() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := MustStart(t, slackemu.Config{})
			app := startApp(t, srv)
			app.waitConnected(t)
			tt.drop(srv)
			waitFor(t, srv, "the reconnection", func() bool {
				return srv.Calls("apps.connections.open") == 2 && srv.Connected() == 1
			})
			ts, err := srv.PostAsUser("incidents", "U1", "still there?", "")
			if err != nil {
				t.Fatal(err)
			}
			app.waitEvent(t, "a message after reconnecting", messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == ts }))
			if hellos := len(app.all(isHello)); hellos != 2 {
				t.Errorf("%d hellos, want 2", hellos)
			}
		})
	}
}

func TestEachEnvelopeGoesToOneOfSeveralConnections(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	a, b := startApp(t, srv), startApp(t, srv)
	a.waitConnected(t)
	b.waitConnected(t)
	const n = 20
	for i := range n {
		if _, err := srv.PostAsUser("alerts", "U1", fmt.Sprintf("message %d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, srv, "every ack", func() bool {
		envs := srv.Envelopes()
		for _, e := range envs {
			if !e.Acked {
				return false
			}
		}
		return len(envs) == n
	})
	isMsg := messageEvent(func(*slackevents.MessageEvent) bool { return true })
	if got := len(a.all(isMsg)) + len(b.all(isMsg)); got != n {
		t.Errorf("the two apps received %d events in all, want %d", got, n)
	}
}

func TestTheServerSendsWebSocketPings(t *testing.T) {
	srv := MustStart(t, slackemu.Config{PingInterval: 20 * time.Millisecond})
	api := newClient(t, srv, "xoxb-emulator")
	_, url, err := api.StartSocketModeContext(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, resp, err := websocket.DefaultDialer.DialContext(testContext(t), url, http.Header{"Origin": {"https://api.slack.com"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	defer conn.Close()
	pinged := make(chan string, 1)
	conn.SetPingHandler(func(data string) error {
		select {
		case pinged <- data:
		default:
		}
		return nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pinged:
	case <-time.After(waitBudget):
		t.Fatal("no PING")
	}
	conn.Close()
	<-done
}

func TestPeakConnectedCountsTheMostSocketsEverOpenAtOnce(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	startApp(t, srv).waitConnected(t)
	if got := srv.PeakConnected(); got != 1 {
		t.Errorf("peak %d with one app, want 1", got)
	}
	startApp(t, srv).waitConnected(t)
	waitFor(t, srv, "two sockets", func() bool { return srv.Connected() == 2 })
	if got := srv.PeakConnected(); got != 2 {
		t.Errorf("peak %d with two apps, want 2", got)
	}
}
