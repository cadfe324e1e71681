package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// The bot's decisions, through the recording fakeSlack: the whole bot
// runs (Run) inside a synctest bubble, alerts and clicks come in as
// Socket Mode envelopes, and the tests read what it did to Slack.

// The test workspace.
const (
	tAlerts    = "C0ALERTS"
	tIncidents = "C0INCIDENTS"
	tOnCall    = "U0ONCALL"
	tPriya     = "U0PRIYA"
	tMarcus    = "U0MARCUS"
	tLeads     = "S0LEADS"
	tRelay     = "B0ALERTMGR" // Alertmanager's webhook
	tGroupWait = 10 * time.Second
)

// memStore keeps in memory what the store would: events, incidents,
// votes and runbook requests.
type memStore struct {
	mu       sync.Mutex
	seen     map[string]bool
	events   []diagnosis.Event
	saved    map[string]diagnosis.Incident
	votes    map[string]map[string]int // incident → user → vote
	causes   map[string]string         // incident → the cause voted on
	requests map[string]runbooks.Request
	audit    []runbooks.AuditEvent
	alerts   []recordedAlert
	linked   map[string][]string // incident → fingerprints linked to it
	retired  map[string]string   // incident → why it was retired
}

func newMemStore() *memStore {
	return &memStore{seen: map[string]bool{}, saved: map[string]diagnosis.Incident{}, votes: map[string]map[string]int{},
		causes: map[string]string{}, requests: map[string]runbooks.Request{}, linked: map[string][]string{}, retired: map[string]string{}}
}

var (
	_ Records        = (*memStore)(nil)
	_ Incidents      = (*memStore)(nil)
	_ Votes          = (*memStore)(nil)
	_ runbooks.Audit = (*memStore)(nil)
)

func (m *memStore) FirstSeen(_ context.Context, key string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	first := !m.seen[key]
	m.seen[key] = true
	return first, nil
}

// RecordAlerts keeps the alerts and marks the message seen, as the
// store does; they stay "ungrouped" until an incident saved holds them.
func (m *memStore) RecordAlerts(_ context.Context, channel, ts, _ string, _ time.Time, alerts []diagnosis.Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := "msg:" + channel + ":" + ts
	if m.seen[key] {
		return ErrSeen
	}
	m.seen[key] = true
	for _, a := range alerts {
		m.alerts = append(m.alerts, recordedAlert{channel: channel, ts: ts, alert: a})
	}
	return nil
}

// recordedAlert is one alert of the alert log.
type recordedAlert struct {
	channel, ts string
	alert       diagnosis.Alert
}

func (m *memStore) Ungrouped(context.Context, time.Time) ([]diagnosis.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []diagnosis.Alert
	for _, r := range m.alerts {
		held := false
		for _, in := range m.saved {
			if slices.ContainsFunc(in.Alerts, func(s diagnosis.AlertState) bool { return s.Fingerprint == r.alert.Fingerprint }) {
				held = true
				break
			}
		}
		if !held {
			out = append(out, r.alert)
		}
	}
	return out, nil
}

func (m *memStore) LastMessage(_ context.Context, channel string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	last := ""
	for _, r := range m.alerts {
		if r.channel == channel && r.ts > last {
			last = r.ts
		}
	}
	return last, nil
}

func (m *memStore) AlertOrigins(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}

func (m *memStore) LinkAlerts(_ context.Context, incident string, fingerprints []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.linked[incident] = append(m.linked[incident], fingerprints...)
	return nil
}

func (m *memStore) RetireIncident(_ context.Context, id string, _ time.Time, why string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retired[id] = why
	return nil
}

func (m *memStore) Append(_ context.Context, e diagnosis.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

func (m *memStore) SaveIncident(_ context.Context, in diagnosis.Incident) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saved[in.ID] = in
	return nil
}

func (m *memStore) SaveDiagnosis(context.Context, diagnosis.Diagnosis) error { return nil }

func (m *memStore) SaveOutcome(context.Context, string, string, string, time.Time) error { return nil }

func (m *memStore) Vote(_ context.Context, incident, user string, vote int, rootCause string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.votes[incident] == nil {
		m.votes[incident] = map[string]int{}
	}
	m.votes[incident][user], m.causes[incident] = vote, rootCause
	return nil
}

func (m *memStore) Votes(_ context.Context, incident string) (up, down int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range m.votes[incident] {
		if v > 0 {
			up++
		} else {
			down++
		}
	}
	return up, down, nil
}

func (m *memStore) Commit(_ context.Context, r runbooks.Request, events ...runbooks.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[r.ID] = r.Clone()
	m.audit = append(m.audit, events...)
	return nil
}

func (m *memStore) AppendAudit(_ context.Context, e runbooks.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit = append(m.audit, e)
	return nil
}

func (m *memStore) OpenRequests(context.Context) ([]runbooks.Request, error) { return nil, nil }

// kinds lists the kinds of events kept on the record, in order.
func (m *memStore) kinds() []diagnosis.EventKind {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []diagnosis.EventKind
	for _, e := range m.events {
		out = append(out, e.Kind)
	}
	return out
}

// botUnderTest is a running Bot wired to fakes; the incidents are real
// (diagnosis.Live over the example graph and the Engine).
type botUnderTest struct {
	bot   *Bot
	slack *fakeSlack
	live  *diagnosis.Live
	store *memStore
	msgs  int
}

// botOptions say how a test's bot differs from the plain one.
type botOptions struct {
	cfg Config
	// commands answers slash commands (nil: none); answerer questions in
	// threads and triager the card's triage (nil: none).
	commands Commander
	answerer Answerer
	triager  Triager
	// grouper adjusts the Grouper's configuration (bounds).
	grouper func(*diagnosis.GrouperConfig)
	// decode reads relayed messages (nil: a JSON array of alerts).
	decode Decoder
	// slack wraps the fake the bot calls (nil: the fake itself), to make
	// some calls slow.
	slack func(*fakeSlack) Slack
	// runbooks builds a runbook service for the bot, run with it (and
	// stopped first, as cmd/bot does).
	runbooks func(live *diagnosis.Live, updates *RunbookUpdates) *runbooks.Service
	// store is the record the bot starts with (nil: an empty one), and
	// away what Slack holds before it starts (messages it never heard of).
	store *memStore
	away  func(f *fakeSlack)
	// observer hears what the bot reports for metrics (nil: nobody).
	observer Observer
	// restore are incidents taken back from the store before the bot
	// starts, as after a restart.
	restore []diagnosis.Incident
}

// mustRunBot runs a bot in the current synctest bubble until the test ends.
func mustRunBot(t *testing.T, opt botOptions) *botUnderTest {
	t.Helper()
	f := newFakeSlack([]string{tAlerts, tIncidents}, map[string]string{tOnCall: "oncall", tPriya: "priya", tMarcus: "marcus"})
	st := opt.store
	if st == nil {
		st = newMemStore()
	}
	if opt.away != nil {
		opt.away(f)
	}
	g := graph.Example()
	gc := diagnosis.GrouperConfig{Wait: tGroupWait, Graph: g}
	if opt.grouper != nil {
		opt.grouper(&gc)
	}
	live := diagnosis.NewLive(diagnosis.LiveConfig{
		Grouper:   gc,
		Diagnoser: diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g}),
	})
	live.Restore(opt.restore...)
	cfg := opt.cfg
	cfg.AlertsChannel, cfg.IncidentsChannel, cfg.AlertSources = tAlerts, tIncidents, []string{tRelay}
	if cfg.OnCall == "" {
		cfg.OnCall = tOnCall
	}
	deps := Deps{
		Slack: f, People: f, Responder: f, Conn: f,
		Records: st, Incidents: st, Votes: st,
		Live: live, Diagnoses: live, Index: live,
		Decode: func(m Relayed, _ time.Time) ([]diagnosis.Alert, []string, error) {
			var alerts []diagnosis.Alert
			if err := json.Unmarshal([]byte(m.Text), &alerts); err != nil {
				return nil, nil, ErrNotAlert
			}
			return alerts, nil, nil
		},
		RunbookUpdates: NewRunbookUpdates(nil),
		Commands:       opt.commands,
		Answerer:       opt.answerer,
		Triager:        opt.triager,
		Observer:       opt.observer,
	}
	if opt.decode != nil {
		deps.Decode = opt.decode
	}
	if opt.slack != nil {
		deps.Slack = opt.slack(f)
	}
	if opt.runbooks != nil {
		deps.Runbooks = opt.runbooks(live, deps.RunbookUpdates)
		deps.Command = func(j runbooks.Job) string { return "ansible-playbook " + j.Playbook }
	}
	b, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	svcCtx, stopSvc := context.WithCancel(context.Background())
	svcDone := make(chan error, 1)
	if deps.Runbooks != nil {
		go func() { svcDone <- deps.Runbooks.Run(svcCtx) }()
	} else {
		svcDone <- nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		stopSvc()
		if err := <-svcDone; err != nil {
			t.Errorf("runbook service: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	synctest.Wait()
	return &botUnderTest{bot: b, slack: f, live: live, store: st}
}

func alertOn(name, service string, extra ...string) diagnosis.Alert {
	labels := map[string]string{"alertname": name, "service": service, "namespace": "production", "severity": "warning"}
	for i := 0; i+1 < len(extra); i += 2 {
		labels[extra[i]] = extra[i+1]
	}
	return diagnosis.Alert{Status: diagnosis.Firing, Labels: labels, StartsAt: time.Now(), Fingerprint: diagnosis.Fingerprint(labels)}
}

func resolvedAlert(a diagnosis.Alert) diagnosis.Alert {
	a.Status, a.EndsAt = diagnosis.Resolved, time.Now()
	return a
}

// relay has Alertmanager post alerts in the alerts channel, and waits
// until the bot has done all it does at once.
func (bt *botUnderTest) relay(alerts ...diagnosis.Alert) {
	raw, _ := json.Marshal(alerts)
	bt.msgs++
	ts := fmt.Sprintf("1600000000.%06d", bt.msgs)
	me := &slackevents.MessageEvent{Type: "message", Channel: tAlerts, TimeStamp: ts, BotID: tRelay,
		Message: &slack.Msg{BotID: tRelay, Text: string(raw), Timestamp: ts}}
	bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: slackevents.EventsAPIEvent{
		Type: slackevents.CallbackEvent, InnerEvent: slackevents.EventsAPIInnerEvent{Type: string(slackevents.Message), Data: me}}})
	synctest.Wait()
}

// click has user press a button (action ID and value) on a message.
func (bt *botUnderTest) click(user, messageTS, actionID, value string) {
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: user},
		Container:      slack.Container{ChannelID: tIncidents, MessageTs: messageTS},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: actionID, Value: value, ActionTs: "1600000000.000001"}}}}
	cb.Channel.ID = tIncidents
	bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb})
	synctest.Wait()
}

// wait lets the clock run for d, then waits for the bot to be idle.
func wait(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// card is the one card in the incidents channel.
func (bt *botUnderTest) card(t *testing.T) fakeMessage {
	t.Helper()
	posts := bt.slack.posts(tIncidents)
	if len(posts) != 1 {
		t.Fatalf("%d messages in the incidents channel, want the one card", len(posts))
	}
	return posts[0]
}

// button finds a button on a message by action ID, or fails.
func button(t *testing.T, m fakeMessage, actionID string) string {
	t.Helper()
	for _, b := range m.msg.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.ActionID == actionID {
					return btn.Value
				}
			}
		}
	}
	t.Fatalf("no %s button on %q", actionID, m.msg.Text)
	return ""
}

func hasButton(m fakeMessage, actionID string) bool {
	for _, b := range m.msg.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.ActionID == actionID {
					return true
				}
			}
		}
	}
	return false
}

// pages counts the messages posted (not edits, nor posts Slack refused)
// that mention who.
func (bt *botUnderTest) pages(who string) int {
	n := 0
	for _, c := range bt.slack.recorded("chat.postMessage") {
		if !c.Failed && mentions(c.Msg, who) > 0 {
			n++
		}
	}
	return n
}
