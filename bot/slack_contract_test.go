package bot

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

// The contract of the bot's Slack seams (Slack, People, Responder,
// Connection): one suite, run against the recording fake the bot's tests
// use and against slackemu through slack-go (WebAPI), so that neither can
// drift from the other (as litestream runs one suite against every
// replica client).

// The contract's workspace.
const (
	ctAlerts    = "C0ALERTS"
	ctIncidents = "C0INCIDENTS"
	ctPriya     = "U0PRIYA"
	ctMarcus    = "U0MARCUS"
)

// slackUnderTest is one implementation of the seams, with what the
// contract needs to read it back and to type a command into it.
type slackUnderTest struct {
	Slack
	People
	Responder
	Connection
	top        func(channel string) []seen
	replies    func(channel, ts string) []seen
	ephemerals func(user string) []seen
	// slash has a person type a command in a channel, as Slack sends it.
	slash func(ctx context.Context, channel, user, command, text string) error
	// envelopes are what Listen handed on, in order.
	envelopes chan socketmode.Event
}

// seen is a message as a person sees it.
type seen struct {
	TS, ThreadTS, Text string
	Files              []string
	Edited             bool
}

func mustFakeSlack(t *testing.T) slackUnderTest {
	t.Helper()
	f := newFakeSlack([]string{ctAlerts, ctIncidents}, map[string]string{ctPriya: "priya", ctMarcus: "marcus"})
	read := func(ms []fakeMessage) []seen {
		var out []seen
		for _, m := range ms {
			out = append(out, seen{TS: m.ts, ThreadTS: m.threadTS, Text: m.msg.Text, Files: m.files, Edited: m.edits > 0})
		}
		return out
	}
	s := slackUnderTest{
		Slack: f, People: f, Responder: f, Connection: f,
		top:        func(channel string) []seen { return read(f.posts(channel)) },
		replies:    func(channel, ts string) []seen { return read(f.thread(channel, ts)) },
		ephemerals: func(user string) []seen { return read(f.ephemeralsTo(user)) },
		slash: func(_ context.Context, channel, user, command, text string) error {
			url := f.responseURL(channel, user, "")
			f.deliver(socketmode.Event{Type: socketmode.EventTypeSlashCommand, Request: &socketmode.Request{EnvelopeID: "env-" + url},
				Data: slack.SlashCommand{Command: command, Text: text, UserID: user, ChannelID: channel, ResponseURL: url}})
			return nil
		},
	}
	mustListen(t, &s)
	return s
}

func mustEmulatedSlack(t *testing.T) slackUnderTest {
	t.Helper()
	emu := slackemu.New(slackemu.Config{
		Channels: []slackemu.Channel{{ID: ctAlerts, Name: "alerts"}, {ID: ctIncidents, Name: "incidents"}},
		Users:    []slackemu.User{{ID: ctPriya, Name: "priya"}, {ID: ctMarcus, Name: "marcus"}},
	})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	web := NewWebAPI(WebAPIConfig{BotToken: "xoxb-emulator", AppToken: "xapp-emulator", APIURL: emu.APIURL()})
	read := func(ms []slackemu.Message, top bool) []seen {
		var out []seen
		for _, m := range ms {
			s := seen{TS: m.TS, ThreadTS: m.ThreadTS, Text: m.Text, Edited: m.Edited > 0}
			if top {
				s.ThreadTS = "" // Slack marks a parent with replies as its own thread
			}
			for _, f := range m.Files {
				s.Files = append(s.Files, f.Name)
			}
			out = append(out, s)
		}
		return out
	}
	s := slackUnderTest{
		Slack: web, People: web, Responder: web, Connection: web,
		top:        func(channel string) []seen { return read(emu.Messages(channel), true) },
		replies:    func(channel, ts string) []seen { return read(emu.Replies(channel, ts), false) },
		ephemerals: func(user string) []seen { return read(emu.Ephemerals(user), false) },
		slash: func(ctx context.Context, channel, user, command, text string) error {
			_, err := emu.SlashCommand(ctx, slackemu.SlashCommand{User: user, Channel: channel, Command: command, Text: text})
			return err
		},
	}
	mustListen(t, &s)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := emu.WaitFor(ctx, func() bool { return emu.Connected() > 0 }); err != nil {
		t.Fatal("the bot's Socket Mode session never connected to the emulator")
	}
	return s
}

// mustListen runs the session's Listen until the test ends.
func mustListen(t *testing.T, s *slackUnderTest) {
	t.Helper()
	s.envelopes = make(chan socketmode.Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(ctx, func(_ context.Context, evt socketmode.Event) {
			if evt.Type == socketmode.EventTypeSlashCommand {
				s.envelopes <- evt
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen ended with %v, want nil when its context ends", err)
		}
	})
}

func text(s string) Message {
	return Message{Text: s, Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(s), nil, nil)}}
}

func texts(ms []seen) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

func mustPost(t *testing.T, s slackUnderTest, m Message) string {
	t.Helper()
	ts, err := s.Post(t.Context(), m)
	if err != nil {
		t.Fatalf("post %q: %v", m.Text, err)
	}
	return ts
}

// slackContract is the contract, case by case; each case gets a new workspace.
var slackContract = []struct {
	name string
	run  func(t *testing.T, s slackUnderTest)
}{
	{"a post lands at the top of its channel, saying what it was given", func(t *testing.T, s slackUnderTest) {
		first := mustPost(t, s, Message{Channel: ctIncidents, Text: "first", Blocks: text("first").Blocks})
		second := mustPost(t, s, Message{Channel: ctIncidents, Text: "second"})
		if first == "" || second <= first {
			t.Errorf("timestamps %q then %q, want increasing ones", first, second)
		}
		got := s.top(ctIncidents)
		if want := []string{"first", "second"}; !slices.Equal(texts(got), want) || got[0].TS != first {
			t.Errorf("channel shows %+v, want %v, the first at %s", got, want, first)
		}
		if other := s.top(ctAlerts); len(other) != 0 {
			t.Errorf("another channel shows %+v, want nothing", other)
		}
	}},
	{"a reply lands in the thread of its message, not at the top", func(t *testing.T, s slackUnderTest) {
		card := mustPost(t, s, text("the card").to(ctIncidents, ""))
		mustPost(t, s, text("burst 1").to(ctIncidents, card))
		mustPost(t, s, text("burst 2").to(ctIncidents, card))
		if got, want := texts(s.replies(ctIncidents, card)), []string{"burst 1", "burst 2"}; !slices.Equal(got, want) {
			t.Errorf("thread shows %v, want %v", got, want)
		}
		for _, r := range s.replies(ctIncidents, card) {
			if r.ThreadTS != card {
				t.Errorf("reply %q is in thread %q, want %q", r.Text, r.ThreadTS, card)
			}
		}
		if got := texts(s.top(ctIncidents)); !slices.Equal(got, []string{"the card"}) {
			t.Errorf("channel shows %v, want only the card", got)
		}
	}},
	{"history lists a channel's top-level messages after one, oldest first", func(t *testing.T, s slackUnderTest) {
		first := mustPost(t, s, text("first").to(ctAlerts, ""))
		mustPost(t, s, text("second").to(ctAlerts, ""))
		mustPost(t, s, text("a reply").to(ctAlerts, first))
		mustPost(t, s, text("third").to(ctAlerts, ""))
		mustPost(t, s, text("elsewhere").to(ctIncidents, ""))
		got, err := s.History(t.Context(), ctAlerts, first)
		if err != nil {
			t.Fatal(err)
		}
		var words []string
		for _, m := range got {
			words = append(words, m.Text)
		}
		if want := []string{"second", "third"}; !slices.Equal(words, want) {
			t.Errorf("history after the first shows %v, want %v", words, want)
		}
		all, err := s.History(t.Context(), ctAlerts, "")
		if err != nil || len(all) != 3 || all[0].Timestamp != first {
			t.Errorf("the whole history is %d messages starting %q (%v), want 3 starting with %s", len(all), func() string {
				if len(all) > 0 {
					return all[0].Timestamp
				}
				return ""
			}(), err, first)
		}
		if _, err := s.History(t.Context(), "C0NOWHERE", ""); err == nil || !strings.Contains(err.Error(), "channel_not_found") {
			t.Errorf("history of an unknown channel: %v, want channel_not_found", err)
		}
	}},
	{"what Slack would not take is refused", func(t *testing.T, s slackUnderTest) {
		card := mustPost(t, s, text("the card").to(ctIncidents, ""))
		reply := mustPost(t, s, text("a reply").to(ctIncidents, card))
		tooLong := Message{Channel: ctIncidents, Text: "header", Blocks: []slack.Block{slack.NewHeaderBlock(plainText(strings.Repeat("x", 200)))}}
		for name, m := range map[string]Message{
			"a channel that does not exist":     text("lost").to("C0NOWHERE", ""),
			"a thread that does not exist":      text("lost").to(ctIncidents, "1.000001"),
			"a reply to a reply":                text("lost").to(ctIncidents, reply),
			"an empty message":                  {Channel: ctIncidents},
			"a header longer than Slack allows": tooLong,
		} {
			if _, err := s.Post(t.Context(), m); err == nil {
				t.Errorf("posting %s: no error, want one", name)
			}
		}
		if got := len(s.top(ctIncidents)) + len(s.replies(ctIncidents, card)); got != 2 {
			t.Errorf("%d messages after the refusals, want the 2 posted before", got)
		}
	}},
	{"an update replaces a message in place and keeps its thread", func(t *testing.T, s slackUnderTest) {
		card := mustPost(t, s, text("card v1").to(ctIncidents, ""))
		mustPost(t, s, text("burst").to(ctIncidents, card))
		if err := s.Update(t.Context(), ctIncidents, card, text("card v2")); err != nil {
			t.Fatal(err)
		}
		top := s.top(ctIncidents)
		if len(top) != 1 || top[0].TS != card || top[0].Text != "card v2" || !top[0].Edited {
			t.Errorf("channel shows %+v, want the card at %s, edited to say card v2", top, card)
		}
		if got := texts(s.replies(ctIncidents, card)); !slices.Equal(got, []string{"burst"}) {
			t.Errorf("thread shows %v after the update, want the burst still", got)
		}
	}},
	{"an update of a message that does not exist is refused", func(t *testing.T, s slackUnderTest) {
		if err := s.Update(t.Context(), ctIncidents, "1.000001", text("ghost")); err == nil {
			t.Error("no error, want one")
		}
		if err := s.Update(t.Context(), "C0NOWHERE", "1.000001", text("ghost")); err == nil {
			t.Error("no error for a channel that does not exist, want one")
		}
	}},
	{"an ephemeral is shown to one person only, in the thread it names", func(t *testing.T, s slackUnderTest) {
		card := mustPost(t, s, text("the card").to(ctIncidents, ""))
		m := text("only for priya")
		m.ThreadTS = card
		if err := s.Ephemeral(t.Context(), ctIncidents, ctPriya, m); err != nil {
			t.Fatal(err)
		}
		got := s.ephemerals(ctPriya)
		if len(got) != 1 || got[0].Text != "only for priya" || got[0].ThreadTS != card {
			t.Errorf("priya was shown %+v, want one message in thread %s", got, card)
		}
		if other := s.ephemerals(ctMarcus); len(other) != 0 {
			t.Errorf("marcus was shown %+v, want nothing", other)
		}
		if n := len(s.replies(ctIncidents, card)); n != 0 {
			t.Errorf("the thread shows %d replies, want none: an ephemeral is no reply", n)
		}
		if err := s.Ephemeral(t.Context(), ctIncidents, "", text("to nobody")); err == nil {
			t.Error("an ephemeral to nobody: no error, want one")
		}
	}},
	{"an upload shares the file in the thread it names", func(t *testing.T, s slackUnderTest) {
		card := mustPost(t, s, text("the card").to(ctIncidents, ""))
		err := s.Upload(t.Context(), Upload{Channel: ctIncidents, ThreadTS: card, Name: "graph.png", Title: "graph", Alt: "a graph", Data: []byte("\x89PNG")})
		if err != nil {
			t.Fatal(err)
		}
		got := s.replies(ctIncidents, card)
		if len(got) != 1 || !slices.Equal(got[0].Files, []string{"graph.png"}) {
			t.Errorf("thread shows %+v, want one reply sharing graph.png", got)
		}
		if err := s.Upload(t.Context(), Upload{Channel: ctIncidents, ThreadTS: "1.000001", Name: "lost.png", Data: []byte("x")}); err == nil {
			t.Error("an upload into a thread that does not exist: no error, want one")
		}
	}},
	{"people are named by their display name, never mentioned", func(t *testing.T, s slackUnderTest) {
		for id, want := range map[string]string{ctPriya: "priya", "U0STRANGER": "U0STRANGER", "S0LEADS": "group S0LEADS", "": ""} {
			if got := s.DisplayName(t.Context(), id); got != want {
				t.Errorf("DisplayName(%q) = %q, want %q", id, got, want)
			}
		}
	}},
	{"Identify says who the bot is and where its workspace is", func(t *testing.T, s slackUnderTest) {
		got, err := s.Identify(t.Context())
		want := Identity{UserID: "U0NIGHTOWL", BotID: "B0NIGHTOWL", TeamID: "T0NIGHTOWL", Team: "nightowl", URL: "https://nightowl.slack.com/"}
		if err != nil || got != want {
			t.Errorf("Identify = %+v, %v; want %+v", got, err, want)
		}
	}},
	{"a command reaches Listen with a response_url, and answers go where they say", func(t *testing.T, s slackUnderTest) {
		url := mustSlash(t, s, ctIncidents, ctPriya, "/diag", "INC-1")
		if err := s.Respond(t.Context(), url, text("just for you"), false); err != nil {
			t.Fatal(err)
		}
		if err := s.Respond(t.Context(), url, text("for everyone"), true); err != nil {
			t.Fatal(err)
		}
		if got := texts(s.ephemerals(ctPriya)); !slices.Equal(got, []string{"just for you"}) {
			t.Errorf("priya was shown %v, want the ephemeral answer", got)
		}
		if got := texts(s.top(ctIncidents)); !slices.Equal(got, []string{"for everyone"}) {
			t.Errorf("channel shows %v, want the public answer", got)
		}
	}},
	{"a response_url nobody handed out is refused", func(t *testing.T, s slackUnderTest) {
		mustSlash(t, s, ctIncidents, ctPriya, "/diag", "")
		if err := s.Respond(t.Context(), "https://nowhere.example/response/forged", text("hello"), false); err == nil {
			t.Error("no error, want one")
		}
	}},
}

// to addresses a message to a channel, in a thread when ts is set.
func (m Message) to(channel, ts string) Message {
	m.Channel, m.ThreadTS = channel, ts
	return m
}

// mustSlash types a command and returns the response_url Listen handed on with it.
func mustSlash(t *testing.T, s slackUnderTest, channel, user, command, text string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.slash(ctx, channel, user, command, text); err != nil {
		t.Fatalf("type %s: %v", command, err)
	}
	select {
	case evt := <-s.envelopes:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || cmd.Command != command || cmd.Text != text || cmd.UserID != user || cmd.ChannelID != channel || cmd.ResponseURL == "" {
			t.Fatalf("Listen handed on %+v, want %s %q from %s in %s with a response_url", evt.Data, command, text, user, channel)
		}
		return cmd.ResponseURL
	case <-ctx.Done():
		t.Fatalf("%s never reached Listen", command)
	}
	return ""
}

func TestSlackContract(t *testing.T) {
	impls := []struct {
		name string
		new  func(t *testing.T) slackUnderTest
	}{
		{"fake", mustFakeSlack},
		{"slackemu through slack-go", mustEmulatedSlack},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			for _, c := range slackContract {
				t.Run(c.name, func(t *testing.T) { c.run(t, impl.new(t)) })
			}
		})
	}
}
