package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/playbooks"
	"github.com/nightowl-sre/nightowl/runbooks"
	"github.com/nightowl-sre/nightowl/store"
)

// The demo workspace: who is who in the emulated Slack.
const (
	demoAlerts    = "C0ALERTS"
	demoIncidents = "C0INCIDENTS"
	demoOnCall    = "U0PRIYA"
	demoLead      = "U0MARCUS"
	demoLeads     = "S0SRELEADS"
	demoAMBot     = "B0ALERTMGR"
)

var demoUsers = []slackemu.User{
	{ID: demoOnCall, Name: "priya", RealName: "Priya Raman"},
	{ID: demoLead, Name: "marcus", RealName: "Marcus Lee"},
	{ID: "U0DANA", Name: "dana", RealName: "Dana Okafor"},
}

// useExampleGraph puts the built-in Black Friday graph in effect, for
// `bot demo`, unless SERVICE_GRAPH names a file.
func (c *Config) useExampleGraph() error {
	if c.ServiceGraph != "" {
		return nil
	}
	c.graph = graph.Example()
	r, err := diagnosis.NewResolver(c.graph, nil)
	if err != nil {
		return fmt.Errorf("example graph: %w", err)
	}
	c.resolver = r
	return nil
}

// demoCmd replays the Black Friday storm through an in-process Slack and
// prints the incident channel as a transcript. No configuration is needed;
// flags override the demo's settings like they do for run.
func demoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	emu := slackemu.New(slackemu.Config{
		Channels:   []slackemu.Channel{{ID: demoAlerts, Name: "alerts"}, {ID: demoIncidents, Name: "incidents"}},
		Users:      demoUsers,
		UserGroups: map[string][]string{demoLeads: {demoLead}},
	})
	if err := emu.Start(); err != nil {
		return fmt.Errorf("start Slack emulator: %w", err)
	}
	defer emu.Close()
	hook := emu.NewWebhook(demoAlerts, slackemu.WebhookOwner{AppID: "A0ALERTMGR", BotID: demoAMBot, Name: "Alertmanager"})

	dir, err := os.MkdirTemp("", "nightowl-demo-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := unpack(dir, "runbooks", runbooks.Shipped); err != nil {
		return err
	}
	if err := unpack(dir, "playbooks", playbooks.Shipped); err != nil {
		return err
	}
	// The demo runbook writes into the temp dir, not /tmp/nightowl-demo.
	demoRB := filepath.Join(dir, "runbooks", "RB-DEMO-001.yaml")
	if rb, err := os.ReadFile(demoRB); err == nil {
		out := filepath.Join(dir, "out")
		if err := os.WriteFile(demoRB, []byte(strings.ReplaceAll(string(rb), "/tmp/nightowl-demo", out)), 0o644); err != nil {
			return err
		}
	}
	env := map[string]string{
		"RUNBOOKS_DIR": filepath.Join(dir, "runbooks"), "PLAYBOOKS_DIR": filepath.Join(dir, "playbooks"),
		"SLACK_APP_TOKEN": "xapp-emulator", "SLACK_BOT_TOKEN": "xoxb-emulator", "SLACK_API_URL": emu.APIURL(),
		"ALERTS_CHANNEL": demoAlerts, "INCIDENTS_CHANNEL": demoIncidents, "ALERT_SOURCES": demoAMBot,
		"ONCALL": demoOnCall, "ESCALATION": demoLeads, "APPROVERS": demoLead,
		"DB_PATH": filepath.Join(dir, "bot.db"), "GROUP_WAIT": "2s", "LOG_LEVEL": "warn",
	}
	cfg, _, err := LoadConfig("demo", args, func(k string) string {
		if v := getenv("NIGHTOWL_DEMO_" + k); v != "" {
			return v
		}
		return env[k]
	}, stderr, needSlack)
	if err != nil {
		return configError(err)
	}
	// The demo's storm is the Black Friday shop's: it runs on that graph.
	if err := cfg.useExampleGraph(); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	app, err := NewApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	defer func() { stop(); <-done }()

	fmt.Fprintf(stdout, "nightowl demo: replaying the Black Friday storm (31 alerts, 6 services) into #alerts of an in-process Slack…\n\n")
	started := time.Now()
	incident, firing, err := replayStorm(runCtx, emu, hook, stdout)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(runCtx, 10*time.Second)
	err = waitRecorded(wctx, app.DB, incident)
	cancel()
	if err != nil {
		return fmt.Errorf("wait for the record of %s: %w", incident, err)
	}
	stop()
	if err := <-done; err != nil {
		return fmt.Errorf("bot: %w", err)
	}
	done <- nil // for the deferred receive
	fmt.Fprintf(stdout, "The card as priya saw it before the fix:\n\n%s\n", firing)
	printTranscript(stdout, emu, time.Since(started))
	return nil
}

// replayStorm relays the storm the way Alertmanager would with nightowl's
// template and group_by [namespace]: each change resends the whole group.
// The storm's 8.5 minutes are replayed 40× faster; alert start times keep
// their real spacing and end now.
func replayStorm(ctx context.Context, emu *slackemu.Server, hook string, stdout io.Writer) (incident, firing string, err error) {
	alerts, err := intake.ParseWebhook(scenarios.BlackFriday)
	if err != nil {
		return "", "", fmt.Errorf("built-in storm: %w", err)
	}
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].StartsAt.Before(alerts[j].StartsAt) })
	first, last := alerts[0].StartsAt, alerts[len(alerts)-1].StartsAt
	shift := time.Now().Add(-last.Sub(first)).Sub(first)
	for i := range alerts {
		alerts[i].StartsAt = alerts[i].StartsAt.Add(shift)
	}
	const speed = 40
	relay := func(batch []diagnosis.Alert) error {
		body, err := alertmanager.SlackPayload(alertmanager.NewGroup("slack-alerts", []string{"namespace"}, batch, "http://alertmanager.example:9093"), alertmanager.Nightowl)
		if err != nil {
			return fmt.Errorf("render alerts: %w", err)
		}
		return alertmanager.Post(ctx, http.DefaultClient, hook, body)
	}
	tick := time.Second
	sent := 0
	for sent < len(alerts) {
		windowEnd := alerts[sent].StartsAt.Add(tick * speed)
		next := sent
		for next < len(alerts) && alerts[next].StartsAt.Before(windowEnd) {
			next++
		}
		if err := relay(alerts[:next]); err != nil {
			return "", "", err
		}
		sent = next
		if sent == len(alerts) {
			break
		}
		wait := alerts[sent].StartsAt.Sub(alerts[sent-1].StartsAt) / speed
		if err := sleep(ctx, max(wait, 100*time.Millisecond)); err != nil {
			return "", "", err
		}
	}
	card, err := waitForCard(ctx, emu)
	if err != nil {
		return "", "", err
	}
	fmt.Fprintf(stdout, "… the card is up; priya (on call) acknowledges it and asks nightowl two questions in its thread.\n")
	if _, err := emu.Click(ctx, slackemu.Click{User: demoOnCall, Channel: demoIncidents, MessageTS: card.TS, ActionID: bot.ActionAck}); err != nil {
		return "", "", fmt.Errorf("click Acknowledge: %w", err)
	}
	for _, q := range []string{"<@U0NIGHTOWL> why do you think it's the database?", "<@U0NIGHTOWL> show me the graph around order-service"} {
		if err := askInThread(ctx, emu, card, q); err != nil {
			return "", "", err
		}
	}
	if err := runDemoRunbook(ctx, emu, card, stdout); err != nil {
		return "", "", err
	}
	firing = emu.RenderMessage(demoIncidents, card.TS)
	fmt.Fprintf(stdout, "… the fix lands; Alertmanager reports every alert resolved.\n\n")
	now := time.Now()
	for i := range alerts {
		alerts[i].Status, alerts[i].EndsAt = diagnosis.Resolved, now
	}
	if err := relay(alerts); err != nil {
		return "", "", err
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = emu.WaitFor(wctx, func() bool {
		m, ok := emu.Message(demoIncidents, card.TS)
		return ok && strings.Contains(m.Text, "· resolved")
	})
	if err != nil {
		return "", "", errors.New("the incident did not resolve within 20s")
	}
	incident, _, _ = strings.Cut(strings.TrimPrefix(card.Text, "🔴 "), ":")
	return incident, firing, nil
}

// askInThread posts a question in the card's thread as priya and waits for
// nightowl's answer.
func askInThread(ctx context.Context, emu *slackemu.Server, card slackemu.Message, q string) error {
	answers := func() int {
		n := 0
		for _, r := range emu.Replies(demoIncidents, card.TS) {
			if r.BotID != "" && r.TS != card.TS {
				n++
			}
		}
		return n
	}
	before := answers()
	if _, err := emu.PostAsUser(demoIncidents, demoOnCall, q, card.TS); err != nil {
		return fmt.Errorf("ask %q: %w", q, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := emu.WaitFor(wctx, func() bool { return answers() > before }); err != nil {
		return fmt.Errorf("no answer to %q within 20s", q)
	}
	return sleep(ctx, 500*time.Millisecond) // a picture follows its words

}

// runDemoRunbook has priya request the harmless demo runbook with
// /runbook, dana try to approve it (she may not), and marcus approve it:
// a real ansible-playbook run, check mode first.
func runDemoRunbook(ctx context.Context, emu *slackemu.Server, card slackemu.Message, stdout io.Writer) error {
	fmt.Fprintf(stdout, "… priya requests the demo runbook with /runbook; dana presses Approve (she is no approver), then marcus does.\n")
	if _, err := emu.SlashCommand(ctx, slackemu.SlashCommand{User: demoOnCall, Channel: demoIncidents, Command: "/runbook", Text: "run RB-DEMO-001 order-service"}); err != nil {
		return fmt.Errorf("/runbook run: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var request slackemu.Message
	err := emu.WaitFor(wctx, func() bool {
		for _, r := range emu.Replies(demoIncidents, card.TS) {
			if strings.Contains(r.Text, "RB-DEMO-001 RUN-") && strings.Contains(string(r.Blocks), bot.ActionRequestApprove) {
				request = r
				return true
			}
		}
		return false
	})
	if err != nil {
		return errors.New("the run request did not appear in the thread within 60s")
	}
	for _, who := range []string{"U0DANA", demoLead} {
		_, err := emu.Click(ctx, slackemu.Click{User: who, Channel: demoIncidents, MessageTS: request.TS, ActionID: bot.ActionRequestApprove})
		if err != nil {
			return fmt.Errorf("click Approve as %s: %w", who, err)
		}
		if err := sleep(ctx, 300*time.Millisecond); err != nil {
			return err
		}
	}
	err = emu.WaitFor(wctx, func() bool {
		m, ok := emu.Message(demoIncidents, request.TS)
		return ok && (strings.Contains(m.Text, "succeeded") || strings.Contains(m.Text, "failed"))
	})
	if err != nil {
		return errors.New("the demo runbook did not finish within 60s")
	}
	return nil
}

// waitRecorded waits until the incident's resolution is on the record, so
// that stopping the bot interrupts nothing.
func waitRecorded(ctx context.Context, db *store.DB, incident string) error {
	for {
		events, err := db.Events(ctx, incident)
		if err != nil {
			return err
		}
		for _, e := range events {
			if e.Kind == diagnosis.EventResolved {
				return nil
			}
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// unpack writes an embedded tree of files under dir/name.
func unpack(dir, name string, files fs.FS) error {
	return fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, name, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}

func waitForCard(ctx context.Context, emu *slackemu.Server) (slackemu.Message, error) {
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var card slackemu.Message
	err := emu.WaitFor(wctx, func() bool {
		ms := emu.Messages(demoIncidents)
		if len(ms) == 0 {
			return false
		}
		card = ms[0]
		return true
	})
	if err != nil {
		return card, errors.New("no incident card appeared within 20s")
	}
	return card, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func printTranscript(w io.Writer, emu *slackemu.Server, took time.Duration) {
	relayed := emu.Messages(demoAlerts)
	fmt.Fprintf(w, "#alerts received %d messages from Alertmanager (the raw storm, kept in a quiet channel).\n\n", len(relayed))
	fmt.Fprintln(w, emu.TranscriptWithEphemerals(demoIncidents))
	cards := emu.Messages(demoIncidents)
	replies := 0
	for _, c := range cards {
		replies += len(emu.Replies(demoIncidents, c.TS))
	}
	fmt.Fprintf(w, "Summary: 31 alerts → %d card (%d thread replies, card updated in place %d×); %d Web API calls (%d chat.postMessage, %d chat.update); pages: %d. Took %s.\n",
		len(cards), replies, editsOf(cards), webAPICalls(emu),
		emu.Calls("chat.postMessage"), emu.Calls("chat.update"), pagesOf(emu), diagnosis.Precise(took))
}

// webAPICalls counts the bot's Web API calls (not webhooks or uploads by others).
func webAPICalls(emu *slackemu.Server) int {
	n := 0
	for _, c := range emu.CallLog() {
		if c.Method != "webhook" && c.Method != "apps.connections.open" {
			n++
		}
	}
	return n
}

func editsOf(cards []slackemu.Message) int {
	n := 0
	for _, c := range cards {
		n += c.Edited
	}
	return n
}

func pagesOf(emu *slackemu.Server) int {
	n := 0
	for _, m := range emu.Mentions() {
		if !m.Edited && m.Target == demoOnCall {
			n++
		}
	}
	return n
}
