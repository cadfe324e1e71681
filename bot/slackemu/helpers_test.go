package slackemu_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"go.uber.org/goleak"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

// waitBudget bounds every wait in these tests; waits end as soon as the state is reached.
const waitBudget = 10 * time.Second

// TestMain fails the package when a goroutine outlives its tests: goleak
// gives goroutines that are ending a moment to go, then lists the rest.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// emulatorGoroutines lists the stacks of goroutines running the emulator's own code.
func emulatorGoroutines() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "nightowl/bot/slackemu.") {
			out = append(out, g)
		}
	}
	return out
}

// emulatorGoroutinesAfterExit gives goroutines that already signalled their end (a
// deferred WaitGroup.Done runs just before the goroutine exits) a moment to go, as
// goleak does, and returns those still running emulator code.
func emulatorGoroutinesAfterExit() []string {
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := emulatorGoroutines()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(time.Millisecond)
	}
}

// MustStart starts an emulator and closes it when the test ends; Close must leave no
// emulator goroutine behind.
func MustStart(tb testing.TB, cfg slackemu.Config) *slackemu.Server {
	tb.Helper()
	srv := slackemu.New(cfg)
	if err := srv.Start(); err != nil {
		tb.Fatalf("start: %v", err)
	}
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
		if left := emulatorGoroutinesAfterExit(); len(left) > 0 {
			tb.Errorf("%d emulator goroutines left after Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
	})
	return srv
}

// waitFor waits for cond on the emulator's state, failing the test after waitBudget.
func waitFor(tb testing.TB, srv *slackemu.Server, what string, cond func() bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
	defer cancel()
	if err := srv.WaitFor(ctx, cond); err != nil {
		tb.Fatalf("waiting for %s: %v", what, err)
	}
}

// testApp is the app under test: the real slack-go Web API client and Socket Mode
// client, with an event loop that records every event and acks by policy.
type testApp struct {
	api *slack.Client
	sm  *socketmode.Client

	mu      sync.Mutex
	events  []socketmode.Event
	changed chan struct{}

	// ack decides whether and how to ack an envelope; nil acks everything empty.
	ack func(evt socketmode.Event) (ack bool, payload any)
}

// appOption adjusts a testApp before it connects.
type appOption func(*testApp)

func withAck(f func(evt socketmode.Event) (bool, any)) appOption {
	return func(a *testApp) { a.ack = f }
}

// newClient is slack-go pointed at the emulator with its own HTTP transport, so the
// test can close its idle connections.
func newClient(tb testing.TB, srv *slackemu.Server, botToken string) *slack.Client {
	transport := &http.Transport{}
	tb.Cleanup(transport.CloseIdleConnections)
	return slack.New(botToken,
		slack.OptionAppLevelToken("xapp-emulator"),
		slack.OptionAPIURL(srv.APIURL()),
		slack.OptionHTTPClient(&http.Client{Transport: transport}))
}

// startApp connects a Socket Mode app and stops it when the test ends (before the
// emulator closes).
func startApp(tb testing.TB, srv *slackemu.Server, opts ...appOption) *testApp {
	tb.Helper()
	a := &testApp{changed: make(chan struct{})}
	for _, o := range opts {
		o(a)
	}
	a.api = newClient(tb, srv, "xoxb-emulator")
	a.sm = socketmode.New(a.api)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.sm.RunContext(ctx) })
	wg.Go(func() { a.loop(ctx) })
	tb.Cleanup(func() { cancel(); wg.Wait() })
	return a
}

func (a *testApp) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-a.sm.Events:
			// Record before acking: once the emulator sees the ack, the event is here.
			a.mu.Lock()
			a.events = append(a.events, evt)
			close(a.changed)
			a.changed = make(chan struct{})
			a.mu.Unlock()
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				ack, payload := true, any(nil)
				if a.ack != nil {
					ack, payload = a.ack(evt)
				}
				if ack {
					_ = a.sm.AckCtx(ctx, evt.Request.EnvelopeID, payload)
				}
			}
		}
	}
}

// waitEvent waits until the app has received an event matching match and returns it.
func (a *testApp) waitEvent(tb testing.TB, what string, match func(socketmode.Event) bool) socketmode.Event {
	tb.Helper()
	timeout := time.After(waitBudget)
	for {
		a.mu.Lock()
		ch := a.changed
		for _, e := range a.events {
			if match(e) {
				a.mu.Unlock()
				return e
			}
		}
		a.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			tb.Fatalf("app never received %s", what)
		}
	}
}

// all returns the events received so far that match.
func (a *testApp) all(match func(socketmode.Event) bool) []socketmode.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []socketmode.Event
	for _, e := range a.events {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// messageEvent matches an events_api message event for which f holds.
func messageEvent(f func(*slackevents.MessageEvent) bool) func(socketmode.Event) bool {
	return func(e socketmode.Event) bool {
		ev, ok := e.Data.(slackevents.EventsAPIEvent)
		if !ok {
			return false
		}
		m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
		return ok && f(m)
	}
}

// innerMessage extracts the message event of an events_api event.
func innerMessage(e socketmode.Event) *slackevents.MessageEvent {
	ev := e.Data.(slackevents.EventsAPIEvent)
	return ev.InnerEvent.Data.(*slackevents.MessageEvent)
}

// eventID is the event_id of an events_api event.
func eventID(e socketmode.Event) string {
	ev := e.Data.(slackevents.EventsAPIEvent)
	return ev.Data.(*slackevents.EventsAPICallbackEvent).EventID
}

func isHello(e socketmode.Event) bool { return e.Type == socketmode.EventTypeHello }

// waitConnected waits until the app's socket says hello.
func (a *testApp) waitConnected(tb testing.TB) {
	tb.Helper()
	a.waitEvent(tb, "hello", isHello)
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
	tb.Cleanup(cancel)
	return ctx
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

func TestTheLeakCheckSeesARunningServer(t *testing.T) {
	srv := slackemu.New(slackemu.Config{})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	running := len(emulatorGoroutines())
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if running == 0 {
		t.Error("no emulator goroutine seen while the server runs: the leak check would see nothing")
	}
	if left := emulatorGoroutinesAfterExit(); len(left) > 0 {
		t.Errorf("%d left after Close", len(left))
	}
}
