package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// The test workspace.
const (
	chAlerts    = "C0ALERTS"
	chIncidents = "C0INCIDENTS"
	uOnCall     = "U0ONCALL"
	uLead       = "U0LEAD"
	uHuman      = "U0HUMAN"
	sLeads      = "S0LEADS"
	amBot       = "B0ALERTMGR"
)

// MustWorkspace starts a Slack emulator with the test workspace.
func MustWorkspace(tb testing.TB) *slackemu.Server {
	tb.Helper()
	emu := slackemu.New(slackemu.Config{
		Channels: []slackemu.Channel{{ID: chAlerts, Name: "alerts"}, {ID: chIncidents, Name: "incidents"}},
		Users: []slackemu.User{
			{ID: uOnCall, Name: "oncall", RealName: "On Call"},
			{ID: uLead, Name: "lead", RealName: "Team Lead"},
			{ID: uHuman, Name: "human", RealName: "A Human"},
		},
		UserGroups: map[string][]string{sLeads: {uLead}},
	})
	if err := emu.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { emu.Close() })
	return emu
}

// MustAlertmanagerHook registers Alertmanager's incoming webhook in #alerts.
func MustAlertmanagerHook(emu *slackemu.Server) string {
	return emu.NewWebhook(chAlerts, slackemu.WebhookOwner{AppID: "A0ALERTMGR", BotID: amBot, Name: "Alertmanager"})
}

// running is a nightowl serving the emulator.
type running struct {
	App  *App
	stop func()
}

// exampleGraphFile is the built-in example graph's file, the Black Friday
// shop, as an absolute path: without SERVICE_GRAPH nightowl has no graph.
func exampleGraphFile(tb testing.TB) string {
	tb.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "diagnosis", "graph", "example.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// MustRunNightowl starts the real App (the code `bot run` runs) against the
// emulator with a database at dbPath, until the test ends or stop is called.
// It runs on the example graph (the Black Friday shop) unless env sets
// SERVICE_GRAPH ("" for no graph).
func MustRunNightowl(tb testing.TB, emu *slackemu.Server, dbPath string, env map[string]string) *running {
	tb.Helper()
	base := map[string]string{
		"SLACK_APP_TOKEN": "xapp-emulator", "SLACK_BOT_TOKEN": "xoxb-emulator", "SLACK_API_URL": emu.APIURL(),
		"ALERTS_CHANNEL": chAlerts, "INCIDENTS_CHANNEL": chIncidents, "ALERT_SOURCES": amBot,
		"ONCALL": uOnCall, "ESCALATION": sLeads, "DB_PATH": dbPath, "GROUP_WAIT": "1s", "LOG_LEVEL": "debug",
		"SERVICE_GRAPH": exampleGraphFile(tb),
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, _, err := LoadConfig("test", nil, func(k string) string { return base[k] }, io.Discard, needSlack)
	if err != nil {
		tb.Fatal(err)
	}
	logPath := filepath.Join(filepath.Dir(dbPath), "nightowl.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := NewApp(ctx, cfg, newLogger(logFile, cfg.LogLevel, cfg.LogFormat))
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	stopped := false
	r := &running{App: app}
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("nightowl stopped with: %v", err)
		}
		logFile.Close()
	}
	tb.Cleanup(func() {
		r.stop()
		if tb.Failed() {
			out, _ := os.ReadFile(logPath)
			s := string(out)
			if len(s) > 6000 {
				s = "…" + s[len(s)-6000:]
			}
			tb.Logf("nightowl log:\n%s", s)
			tb.Logf("transcript:\n%s", emu.Transcript(chAlerts, chIncidents))
		}
	})
	return r
}

// MustWait waits until cond holds, re-checking on every change in the workspace.
func MustWait(tb testing.TB, emu *slackemu.Server, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := emu.WaitFor(ctx, cond); err != nil {
		tb.Fatalf("gave up after %v waiting for %s", timeout, what)
	}
}

// stormNow returns the Black Friday alerts in order of start, moved so that
// the storm ends now.
func stormNow(tb testing.TB) []diagnosis.Alert {
	tb.Helper()
	alerts, err := intake.ParseWebhook(scenarios.BlackFriday)
	if err != nil {
		tb.Fatal(err)
	}
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].StartsAt.Before(alerts[j].StartsAt) })
	shift := time.Now().Add(-time.Minute).Sub(alerts[len(alerts)-1].StartsAt)
	for i := range alerts {
		alerts[i].StartsAt = alerts[i].StartsAt.Add(shift).Truncate(time.Millisecond)
		alerts[i].Fingerprint = diagnosis.Fingerprint(alerts[i].Labels)
	}
	return alerts
}

// mustStormCard relays the Black Friday storm through post, its first five
// alerts and then the rest once their card is up, waits until all 31 are
// on the card, and returns the card: the one top-level message there must
// be in #incidents; and the storm, as relayed.
func mustStormCard(tb testing.TB, emu *slackemu.Server, post func([]diagnosis.Alert)) (slackemu.Message, []diagnosis.Alert) {
	tb.Helper()
	storm := stormNow(tb)
	post(storm[:5])
	MustWait(tb, emu, 20*time.Second, "the incident card", func() bool { return len(emu.Messages(chIncidents)) > 0 })
	post(storm[5:])
	MustWait(tb, emu, 30*time.Second, "all 31 alerts on the card", func() bool {
		ms := emu.Messages(chIncidents)
		return len(ms) > 0 && strings.Contains(ms[0].Text, "(31 alerts → 1 page)")
	})
	cards := emu.Messages(chIncidents)
	if len(cards) != 1 {
		tb.Fatalf("%d top-level messages in #incidents, want exactly 1 card", len(cards))
	}
	return cards[0], storm
}

func resolveAll(alerts []diagnosis.Alert) []diagnosis.Alert {
	out := make([]diagnosis.Alert, len(alerts))
	at := time.Now().Add(-time.Second).Truncate(time.Millisecond)
	for i, a := range alerts {
		a.Status, a.EndsAt = diagnosis.Resolved, at
		out[i] = a
	}
	return out
}

// MustRelay posts alerts to a webhook exactly as Alertmanager 0.25's Slack
// notifier renders them with nightowl's template (deploy/alertmanager proves
// the rendering against the real Alertmanager).
func MustRelay(tb testing.TB, hook string, groupBy []string, alerts []diagnosis.Alert) {
	tb.Helper()
	for _, g := range alertmanager.Groups("slack", groupBy, alerts, "http://alertmanager.test:9093") {
		body, err := alertmanager.SlackPayload(g, alertmanager.Nightowl)
		if err != nil {
			tb.Fatal(err)
		}
		if err := alertmanager.Post(context.Background(), http.DefaultClient, hook, body); err != nil {
			tb.Fatal(err)
		}
	}
}

// repliesWith counts the thread replies of a message that contain s.
func repliesWith(emu *slackemu.Server, channel, ts, s string) int {
	n := 0
	for _, r := range emu.Replies(channel, ts) {
		if strings.Contains(r.Text, s) || strings.Contains(string(r.Blocks), s) {
			n++
		}
	}
	return n
}

// pagesOf counts notifications (mentions in new messages, not edits) per target.
func notifications(emu *slackemu.Server) map[string]int {
	out := map[string]int{}
	for _, m := range emu.Mentions() {
		if !m.Edited {
			out[m.Target]++
		}
	}
	return out
}
