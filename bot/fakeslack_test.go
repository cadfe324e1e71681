package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

// fakeSlack is a workspace in memory that records every call the bot
// makes, like Alertmanager's recordStage: the bot's tests read its
// decisions from it. It implements Slack, People, Responder and
// Connection; the contract suite (slack_contract_test.go) runs the same
// cases against it and against slackemu through slack-go, so it answers
// as Slack does.
type fakeSlack struct {
	mu        sync.Mutex
	calls     []call
	messages  []*fakeMessage // channel messages and replies, in posting order
	ephemeral []*fakeMessage
	responses map[string]fakeResponseURL
	channels  []string
	users     map[string]string // user ID → display name
	me        Identity
	lastTS    int
	events    chan socketmode.Event
	faults    []*fault
}

// call is one call the bot made, as it made it.
type call struct {
	Method   string // chat.postMessage, chat.update, chat.postEphemeral, files.upload, users.info, response_url
	Channel  string
	TS       string // the message posted or updated
	ThreadTS string
	User     string // the ephemeral's reader, or the user looked up
	Msg      Message
	Public   bool // a response_url answer seen by the channel
	Failed   bool // refused by an injected fault
}

type fakeMessage struct {
	channel, ts, threadTS, user string
	botID                       string // the bot that posted it, for relayed alerts
	msg                         Message
	files                       []string
	edits                       int
}

type fakeResponseURL struct{ channel, user, threadTS string }

// newFakeSlack is a workspace with these channels and users (ID → name).
func newFakeSlack(channels []string, users map[string]string) *fakeSlack {
	return &fakeSlack{
		channels: channels, users: users, responses: map[string]fakeResponseURL{},
		me:     Identity{UserID: "U0NIGHTOWL", BotID: "B0NIGHTOWL", TeamID: "T0NIGHTOWL", Team: "nightowl", URL: "https://nightowl.slack.com/"},
		events: make(chan socketmode.Event, 64),
	}
}

var (
	_ Slack      = (*fakeSlack)(nil)
	_ People     = (*fakeSlack)(nil)
	_ Responder  = (*fakeSlack)(nil)
	_ Connection = (*fakeSlack)(nil)
)

// slackError is how the fake refuses a call: with Slack's error code, as
// slack-go reports it.
func slackError(code string) error { return slack.SlackErrorResponse{Err: code} }

// fault makes the next n calls of method that match fail with err, before
// the fake does anything: a Slack that is down, or rate limits for longer
// than the client waits.
type fault struct {
	method string
	n      int
	err    error
	match  func(c call) bool // nil: every call of method
	// landed: the call takes effect, but its answer is lost (a timeout
	// after Slack took the post); err is what the caller sees.
	landed bool
}

// failNext injects a fault; calls take the faults in the order given.
func (f *fakeSlack) failNext(ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &ft)
}

// clearFaults ends every injected fault: Slack is back.
func (f *fakeSlack) clearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// faulty uses up a fault that matches the call, if any; the refused call
// is recorded with Failed set.
func (f *fakeSlack) faulty(c call) error {
	for _, ft := range f.faults {
		if ft.n > 0 && ft.method == c.Method && (ft.match == nil || ft.match(c)) && !ft.landed {
			ft.n--
			c.Failed = true
			f.calls = append(f.calls, c)
			return ft.err
		}
	}
	return nil
}

// lostAnswer uses up a "landed" fault that matches the call, if any: the
// call is carried out, and then answered with its error.
func (f *fakeSlack) lostAnswer(c call) error {
	for _, ft := range f.faults {
		if ft.n > 0 && ft.method == c.Method && (ft.match == nil || ft.match(c)) && ft.landed {
			ft.n--
			return ft.err
		}
	}
	return nil
}

func (f *fakeSlack) nextTS() string {
	f.lastTS++
	return fmt.Sprintf("1700000000.%06d", f.lastTS)
}

// check refuses what Slack refuses: an unknown channel, an empty
// message, blocks Slack would not take.
func (f *fakeSlack) check(channel string, m Message) error {
	if !slices.Contains(f.channels, channel) {
		return slackError("channel_not_found")
	}
	if m.Text == "" && len(m.Blocks) == 0 {
		return slackError("no_text")
	}
	if len(m.Blocks) > 0 {
		raw, err := json.Marshal(m.Blocks)
		if err != nil {
			return err
		}
		if err := slackemu.Validate(raw); err != nil {
			return err
		}
	}
	return nil
}

// parent finds the top-level message a reply goes under.
func (f *fakeSlack) parent(channel, ts string) *fakeMessage {
	for _, m := range f.messages {
		if m.channel == channel && m.ts == ts && m.threadTS == "" {
			return m
		}
	}
	return nil
}

func (f *fakeSlack) Post(_ context.Context, m Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.faulty(call{Method: "chat.postMessage", Channel: m.Channel, ThreadTS: m.ThreadTS, Msg: m}); err != nil {
		return "", fmt.Errorf("chat.postMessage to %s: %w", m.Channel, err)
	}
	if err := f.check(m.Channel, m); err != nil {
		return "", fmt.Errorf("chat.postMessage to %s: %w", m.Channel, err)
	}
	if m.ThreadTS != "" && f.parent(m.Channel, m.ThreadTS) == nil {
		return "", fmt.Errorf("chat.postMessage to %s: %w", m.Channel, slackError("thread_not_found"))
	}
	ts := f.nextTS()
	f.messages = append(f.messages, &fakeMessage{channel: m.Channel, ts: ts, threadTS: m.ThreadTS, botID: f.me.BotID, msg: m})
	f.calls = append(f.calls, call{Method: "chat.postMessage", Channel: m.Channel, TS: ts, ThreadTS: m.ThreadTS, Msg: m})
	if err := f.lostAnswer(call{Method: "chat.postMessage", Channel: m.Channel, ThreadTS: m.ThreadTS, Msg: m}); err != nil {
		return "", fmt.Errorf("chat.postMessage to %s: %w", m.Channel, err)
	}
	return ts, nil
}

func (f *fakeSlack) Update(_ context.Context, channel, ts string, m Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.faulty(call{Method: "chat.update", Channel: channel, TS: ts, Msg: m}); err != nil {
		return fmt.Errorf("chat.update %s/%s: %w", channel, ts, err)
	}
	if err := f.check(channel, m); err != nil {
		return fmt.Errorf("chat.update %s/%s: %w", channel, ts, err)
	}
	i := slices.IndexFunc(f.messages, func(x *fakeMessage) bool { return x.channel == channel && x.ts == ts })
	if i < 0 {
		return fmt.Errorf("chat.update %s/%s: %w", channel, ts, slackError("message_not_found"))
	}
	old := f.messages[i]
	m.Channel, m.ThreadTS = channel, old.threadTS
	old.msg, old.edits = m, old.edits+1
	f.calls = append(f.calls, call{Method: "chat.update", Channel: channel, TS: ts, ThreadTS: old.threadTS, Msg: m})
	return nil
}

func (f *fakeSlack) Ephemeral(_ context.Context, channel, user string, m Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if user == "" {
		return fmt.Errorf("chat.postEphemeral to %s in %s: %w", user, channel, slackError("user_not_in_channel"))
	}
	if err := f.check(channel, m); err != nil {
		return fmt.Errorf("chat.postEphemeral to %s in %s: %w", user, channel, err)
	}
	m.Channel = channel
	f.ephemeral = append(f.ephemeral, &fakeMessage{channel: channel, ts: f.nextTS(), threadTS: m.ThreadTS, user: user, msg: m})
	f.calls = append(f.calls, call{Method: "chat.postEphemeral", Channel: channel, ThreadTS: m.ThreadTS, User: user, Msg: m})
	return nil
}

func (f *fakeSlack) Upload(_ context.Context, u Upload) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case len(u.Data) == 0 || u.Name == "":
		return fmt.Errorf("upload %s to %s: %w", u.Name, u.Channel, slackError("invalid_arguments"))
	case !slices.Contains(f.channels, u.Channel):
		return fmt.Errorf("upload %s to %s: %w", u.Name, u.Channel, slackError("channel_not_found"))
	case u.ThreadTS != "" && f.parent(u.Channel, u.ThreadTS) == nil:
		return fmt.Errorf("upload %s to %s: %w", u.Name, u.Channel, slackError("thread_not_found"))
	}
	ts := f.nextTS()
	f.messages = append(f.messages, &fakeMessage{channel: u.Channel, ts: ts, threadTS: u.ThreadTS, files: []string{u.Name}})
	f.calls = append(f.calls, call{Method: "files.upload", Channel: u.Channel, TS: ts, ThreadTS: u.ThreadTS, Msg: Message{Text: u.Name}})
	return nil
}

func (f *fakeSlack) DisplayName(_ context.Context, id string) string {
	switch {
	case id == "":
		return ""
	case id[0] == 'S':
		return "group " + id
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Method: "users.info", User: id})
	if name, ok := f.users[id]; ok {
		return name
	}
	return id
}

func (f *fakeSlack) Respond(_ context.Context, url string, m Message, public bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.responses[url]
	if !ok {
		return fmt.Errorf("respond through response_url: %w", slackError("no_service"))
	}
	if m.Text == "" && len(m.Blocks) == 0 {
		return fmt.Errorf("respond through response_url: %w", slackError("no_text"))
	}
	thread := m.ThreadTS
	if thread == "" {
		thread = r.threadTS
	}
	if public && thread != "" && f.parent(r.channel, thread) == nil {
		return fmt.Errorf("respond through response_url: %w", slackError("thread_not_found"))
	}
	m.Channel, m.ThreadTS = r.channel, thread
	c := call{Method: "response_url", Channel: r.channel, ThreadTS: thread, User: r.user, Msg: m, Public: public}
	if public {
		c.TS = f.nextTS()
		f.messages = append(f.messages, &fakeMessage{channel: r.channel, ts: c.TS, threadTS: thread, msg: m})
	} else {
		f.ephemeral = append(f.ephemeral, &fakeMessage{channel: r.channel, ts: f.nextTS(), threadTS: thread, user: r.user, msg: m})
	}
	f.calls = append(f.calls, c)
	return nil
}

func (f *fakeSlack) Identify(context.Context) (Identity, error) { return f.me, nil }

// Listen hands on what deliver queued, until ctx ends. The fake acks
// nothing: Socket Mode's acks are the emulator's to check.
func (f *fakeSlack) Listen(ctx context.Context, handle func(ctx context.Context, evt socketmode.Event)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case evt := <-f.events:
			handle(ctx, evt)
		}
	}
}

// deliver queues an envelope for Listen.
func (f *fakeSlack) deliver(evt socketmode.Event) { f.events <- evt }

// responseURL hands out a response_url for a command typed in channel
// (in a thread when threadTS is set), as Slack does with the command.
func (f *fakeSlack) responseURL(channel, user, threadTS string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	url := fmt.Sprintf("https://hooks.fake/response/%d", len(f.responses)+1)
	f.responses[url] = fakeResponseURL{channel: channel, user: user, threadTS: threadTS}
	return url
}

// Reading the record.

// recorded lists the calls made with one of methods (every call without).
func (f *fakeSlack) recorded(methods ...string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// posts lists the messages posted at the top of channel, as they are now.
func (f *fakeSlack) posts(channel string) []fakeMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeMessage
	for _, m := range f.messages {
		if m.channel == channel && m.threadTS == "" {
			out = append(out, *m)
		}
	}
	return out
}

// thread lists the replies under a message, as they are now.
func (f *fakeSlack) thread(channel, ts string) []fakeMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeMessage
	for _, m := range f.messages {
		if m.channel == channel && m.threadTS == ts {
			out = append(out, *m)
		}
	}
	return out
}

// ephemeralsTo lists what one user was shown alone.
func (f *fakeSlack) ephemeralsTo(user string) []fakeMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeMessage
	for _, m := range f.ephemeral {
		if m.user == user {
			out = append(out, *m)
		}
	}
	return out
}

// words is everything a message says, text and blocks, for Contains.
func words(m Message) string {
	raw, _ := json.Marshal(m.Blocks)
	return m.Text + "\n" + htmlUnescaper.Replace(string(raw)) // mentions read <@U…>
}

var htmlUnescaper = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")

// mentions counts the mentions of id in a message.
func mentions(m Message, id string) int {
	return strings.Count(words(m), mention(id))
}

// History lists a channel's top-level messages after ts, oldest first.
func (f *fakeSlack) History(_ context.Context, channel, after string) ([]slack.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Method: "conversations.history", Channel: channel, TS: after})
	if !slices.Contains(f.channels, channel) {
		return nil, fmt.Errorf("conversations.history %s: %w", channel, slackError("channel_not_found"))
	}
	var out []slack.Message
	for _, m := range f.messages {
		if m.channel == channel && m.threadTS == "" && (after == "" || tsAfter(m.ts, after)) {
			out = append(out, slack.Message{Msg: slack.Msg{Type: "message", Timestamp: m.ts, Text: m.msg.Text, User: m.user, BotID: m.botID}})
		}
	}
	return out, nil
}

// postAsBot posts a message as another bot (Alertmanager's webhook)
// without any event reaching the bot: what Slack keeps while nightowl is
// away. It returns the message's ts.
func (f *fakeSlack) postAsBot(channel, botID, text string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := f.nextTS()
	f.messages = append(f.messages, &fakeMessage{channel: channel, ts: ts, botID: botID, msg: Message{Channel: channel, Text: text}})
	return ts
}

// tsAfter compares Slack timestamps as Slack does: as numbers.
func tsAfter(ts, after string) bool {
	a, err1 := strconv.ParseFloat(ts, 64)
	b, err2 := strconv.ParseFloat(after, 64)
	return err1 == nil && err2 == nil && a > b
}
