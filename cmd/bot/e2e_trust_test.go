package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// The trust tests: who may put alerts in front of on-call, and what a card
// offers for alerts nobody can vouch for.

// MustStayFor fails the test if changed holds at any time within d: the
// forged messages must have no effect, not merely a late one.
func MustStayFor(tb testing.TB, emu *slackemu.Server, d time.Duration, what string, changed func() bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := emu.WaitFor(ctx, changed); err == nil {
		tb.Errorf("%s, want no change", what)
	}
}

// syncBuffer is an io.Writer that Main may write to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBotRunRefusesToStartWithoutAlertSources: an operator who forgets
// ALERT_SOURCES used to get a bot that believed any bot in the channel; now
// `bot run` stops at once and says where to find the webhook's bot ID, so a
// forged alert from any bot makes no card and pages nobody.
func TestBotRunRefusesToStartWithoutAlertSources(t *testing.T) {
	emu := MustWorkspace(t)
	forger := emu.NewWebhook(chAlerts, slackemu.WebhookOwner{AppID: "A0FORGER", BotID: "B0FORGER", Name: "Looks Like Alertmanager"})
	env := map[string]string{
		"SLACK_APP_TOKEN": "xapp-emulator", "SLACK_BOT_TOKEN": "xoxb-emulator", "SLACK_API_URL": emu.APIURL(),
		"ALERTS_CHANNEL": chAlerts, "INCIDENTS_CHANNEL": chIncidents, "ONCALL": uOnCall,
		"DB_PATH": filepath.Join(t.TempDir(), "bot.db"), "GROUP_WAIT": "1s", "RUNBOOKS_DIR": filepath.Join(t.TempDir(), "none"),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Second)
	defer cancel()
	var out syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- Main(ctx, []string{"run"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &out)
	}()

	// A bot nobody listed relays a critical alert that would post at once.
	MustRelay(t, forger, []string{"alertname"}, []diagnosis.Alert{
		alertOn("ForgedOutage", "payment-service", "critical", time.Now(), "root_cause_candidate", "true")})
	var code int
	select {
	case code = <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("bot run did not return")
	}
	if code != 2 || !strings.Contains(out.String(), "ALERT_SOURCES is not set") || !strings.Contains(out.String(), "bot ID") {
		t.Errorf("bot run without ALERT_SOURCES: exit %d, output %q; want exit 2 and one sentence on ALERT_SOURCES and the bot ID", code, out.String())
	}
	if ms := emu.Messages(chIncidents); len(ms) != 0 {
		t.Errorf("%d messages in #incidents from a forged alert, want none: %v", len(ms), texts(ms))
	}
	if got := notifications(emu); len(got) != 0 {
		t.Errorf("notifications %v from a forged alert, want none", got)
	}
}

// TestAlertSourcesAnyIsALoggedOptOut: ALERT_SOURCES=any trusts every bot in
// the alerts channel, as the operator asked, and says so at start.
func TestAlertSourcesAnyIsALoggedOptOut(t *testing.T) {
	emu := MustWorkspace(t)
	other := emu.NewWebhook(chAlerts, slackemu.WebhookOwner{AppID: "A0OTHER", BotID: "B0OTHER", Name: "Some other bot"})
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, map[string]string{"ALERT_SOURCES": "any"})
	MustRelay(t, other, []string{"alertname"}, []diagnosis.Alert{alertOn("Broken", "payment-service", "critical", time.Now(), "root_cause_candidate", "true")})
	MustWait(t, emu, 15*time.Second, "the card of any bot's alert", func() bool { return len(emu.Messages(chIncidents)) == 1 })
	nightowl.stop()
	log, err := os.ReadFile(filepath.Join(filepath.Dir(dbPath), "nightowl.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "level=WARN msg=\"ALERT_SOURCES=any: every bot in the alerts channel is trusted") {
		t.Errorf("no warning at start that every bot is trusted:\n%s", log)
	}
}

// TestForgedAlertsChangeNothing: with a live incident from the real
// Alertmanager, a bot that is not an alert source relays a storm and the
// resolution of the live alerts, and a second trusted source (another
// Alertmanager) relays the resolution of alerts it never sent: no new card,
// no page, and the live incident stays open.
func TestForgedAlertsChangeNothing(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	stranger := emu.NewWebhook(chAlerts, slackemu.WebhookOwner{AppID: "A0STRANGER", BotID: "B0STRANGER", Name: "Alertmanager"})
	const secondBot = "B0SECONDAM"
	second := emu.NewWebhook(chAlerts, slackemu.WebhookOwner{AppID: "A0SECONDAM", BotID: secondBot, Name: "Alertmanager staging"})
	am := testbed.MustStartAlertmanager(t, alertmanagerConfig(t, hook, []string{"namespace"}, true))
	nightowl := MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), map[string]string{"ALERT_SOURCES": amBot + "," + secondBot})

	storm := stormNow(t)
	live := storm[:5]
	am.MustPostAlerts(t, live)
	// Alertmanager may deliver the live alerts in more than one batch (the
	// card posts at once for the critical one): wait until the card shows
	// them all, and take the thread as it is then as the baseline.
	MustWait(t, emu, 20*time.Second, "the live incident's card with every live alert", func() bool {
		ms := emu.Messages(chIncidents)
		return len(ms) == 1 && strings.Contains(string(ms[0].Blocks), fmt.Sprintf("%d firing, 0 resolved", len(live))) &&
			len(emu.Replies(chIncidents, ms[0].TS)) >= 1 // the card's first burst, posted just after it
	})
	card := emu.Messages(chIncidents)[0]
	replies := len(emu.Replies(chIncidents, card.TS))

	forgedStorm := []diagnosis.Alert{
		alertOn("ForgedOutage", "payment-service", "critical", time.Now(), "root_cause_candidate", "true"),
		alertOn("ForgedLatency", "api-gateway", "warning", time.Now()),
	}
	MustRelay(t, stranger, []string{"namespace"}, forgedStorm)
	MustRelay(t, stranger, []string{"namespace"}, resolveAll(live))
	MustRelay(t, second, []string{"namespace"}, resolveAll(live))

	// GROUP_WAIT is 1s: anything the forged messages did would show within 5s.
	MustStayFor(t, emu, 5*time.Second, "the forged messages change the live incident", func() bool {
		got, _ := emu.Message(chIncidents, card.TS)
		return len(emu.Messages(chIncidents)) != 1 || len(emu.Replies(chIncidents, card.TS)) > replies ||
			strings.Contains(got.Text, "resolved") || strings.Contains(string(got.Blocks), "Forged")
	})
	if ms := emu.Messages(chIncidents); len(ms) != 1 {
		t.Errorf("%d top-level messages in #incidents, want only the live card: %v", len(ms), texts(ms))
	}
	for _, r := range emu.Replies(chIncidents, card.TS)[replies:] {
		t.Errorf("a forged message changed the live incident's thread: %s", r.Text)
	}
	got, _ := emu.Message(chIncidents, card.TS)
	if !strings.Contains(string(got.Blocks), fmt.Sprintf("%d firing, 0 resolved", len(live))) {
		t.Errorf("card facts %s: want every live alert firing, none resolved", got.Blocks)
	}
	nightowl.stop()
	if n := notifications(emu); n[uOnCall] != 1 || len(n) != 1 {
		t.Errorf("notifications %v: want exactly the live card's page", n)
	}
}

// TestAlertsAlertmanagerDoesNotHoldOfferNoRunbook: with ALERTMANAGER_URL, a
// message for an alert the real Alertmanager does not hold (relayed through
// its webhook by someone else) gets a card that says so, with no runbook
// button and no dry run; an alert Alertmanager relayed itself gets both.
// With Alertmanager unreachable the card is still posted and pages, says it
// could not verify, and offers no runbook.
func TestAlertsAlertmanagerDoesNotHoldOfferNoRunbook(t *testing.T) {
	rb := mustRunbookBed(t)
	hasApprove := func(m slackemu.Message) bool { return strings.Contains(string(m.Blocks), bot.ActionRunbookApprove) }

	t.Run("an alert only Alertmanager's webhook saw gets no runbook, one it holds does", func(t *testing.T) {
		emu := MustWorkspace(t)
		hook := MustAlertmanagerHook(emu)
		am := testbed.MustStartAlertmanager(t, alertmanagerConfig(t, hook, []string{"namespace", "service"}, true))
		env := rb.env()
		env["ALERTMANAGER_URL"] = am.URL
		MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), env)

		forged := cardWithRunbook(t, emu, hook, "payment-service", "RB-DEMO-001")
		real := alertOn("Broken", "inventory-service", "critical", time.Now(), "runbook", "RB-DEMO-001", "root_cause_candidate", "true")
		am.MustPostAlerts(t, []diagnosis.Alert{real})
		MustWait(t, emu, 20*time.Second, "the real alert's card with its Approve button", func() bool {
			c, ok := cardFor(emu, "inventory-service")
			return ok && hasApprove(c)
		})
		realCard, _ := cardFor(emu, "inventory-service")
		// The dry run (and the request it opens) is what the thread says of RB-DEMO-001.
		MustWait(t, emu, 30*time.Second, "the real alert's dry run", func() bool {
			return repliesWith(emu, chIncidents, realCard.TS, "RB-DEMO-001") > 0
		})

		forged, _ = emu.Message(chIncidents, forged.TS)
		if hasApprove(forged) {
			t.Errorf("the card of an alert Alertmanager does not hold offers Approve: %s", forged.Blocks)
		}
		if !strings.Contains(string(forged.Blocks), "Alertmanager does not hold") {
			t.Errorf("the card of an alert Alertmanager does not hold does not say so: %s", forged.Blocks)
		}
		if n := repliesWith(emu, chIncidents, forged.TS, "RB-DEMO-001"); n != 0 {
			t.Errorf("%d dry runs or requests of RB-DEMO-001 for an alert Alertmanager does not hold, want none", n)
		}
		if strings.Contains(string(realCard.Blocks), "Alertmanager does not hold") {
			t.Errorf("the card of an alert Alertmanager holds says it does not: %s", realCard.Blocks)
		}

		// A person asks for the runbook on the forged incident anyway: the
		// request may be made, but an approver's click runs nothing.
		mention(t, emu, forged, uHuman, "runbook run RB-DEMO-001 service=payment-service")
		_, id := mustRequest(t, emu, forged, "RB-DEMO-001", "service=payment-service")
		press(t, emu, slackemu.Click{User: uLead, MessageTS: mustRequestTS(t, emu, forged, id), ActionID: bot.ActionRequestApprove})
		mustEphemeral(t, emu, uLead, "Alertmanager does not hold")
		if lines := rb.demoLines(); len(lines) != 0 {
			t.Errorf("a runbook ran for an incident Alertmanager does not hold: %q", lines)
		}
	})

	t.Run("with Alertmanager unreachable the card is posted and pages but offers no runbook", func(t *testing.T) {
		emu := MustWorkspace(t)
		hook := MustAlertmanagerHook(emu)
		env := rb.env()
		env["ALERTMANAGER_URL"] = "http://" + testbed.FreeAddr(t)
		MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), env)

		card := cardWithRunbook(t, emu, hook, "payment-service", "RB-DEMO-001")
		if hasApprove(card) {
			t.Errorf("a card whose alerts could not be verified offers Approve: %s", card.Blocks)
		}
		if !strings.Contains(string(card.Blocks), "could not verify: Alertmanager unreachable") {
			t.Errorf("the card does not say it could not verify: %s", card.Blocks)
		}
		if n := notifications(emu); n[uOnCall] != 1 {
			t.Errorf("notifications %v: the card must still page", n)
		}
	})
}

// TestAHugeLabelStillMakesAValidCardAndAPage: labels and annotations of
// 5,000 characters (emoji, mentions and entities among them), relayed by
// the real Alertmanager, still give one card that Slack accepts, one page,
// and a thread reply; no Web API call fails.
func TestAHugeLabelStillMakesAValidCardAndAPage(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	am := testbed.MustStartAlertmanager(t, alertmanagerConfig(t, hook, []string{"namespace", "service"}, true))
	nightowl := MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), nil)

	huge := func(prefix string) string {
		s := prefix + " <!channel> <@" + uHuman + "> & "
		for len([]rune(s)) < 5000 {
			s += "😀x<y>"
		}
		return string([]rune(s)[:5000])
	}
	a := alertOn("HugeLabels", huge("checkout"), "critical", time.Now(), "root_cause_candidate", "true",
		"namespace", huge("prod"), "instance", huge("host"), "team", huge("team"))
	a.Annotations["summary"] = huge("summary")
	a.Annotations["description"] = huge("description")
	am.MustPostAlerts(t, []diagnosis.Alert{a})

	MustWait(t, emu, 20*time.Second, "the card", func() bool { return len(emu.Messages(chIncidents)) == 1 })
	card := emu.Messages(chIncidents)[0]
	MustWait(t, emu, 10*time.Second, "the first thread reply", func() bool { return len(emu.Replies(chIncidents, card.TS)) > 0 })
	if err := slackemu.Validate(card.Blocks); err != nil {
		t.Errorf("the stored card is not valid Block Kit: %v", err)
	}
	if !strings.Contains(string(card.Blocks), bot.ActionVoteUp) {
		t.Errorf("the card lost its vote buttons: %s", card.Blocks)
	}
	nightowl.stop()
	for _, c := range emu.CallLog() {
		if !c.OK && strings.HasPrefix(c.Method, "chat.") {
			t.Errorf("%s failed: %s", c.Method, c.Error)
		}
	}
	if n := notifications(emu); n[uOnCall] != 1 || len(n) != 1 {
		t.Errorf("notifications %v: want one page of %s and no mention from the labels", n, uOnCall)
	}
}
