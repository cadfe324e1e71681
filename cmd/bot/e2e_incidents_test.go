package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// twoSystems is a graph of two systems that share nothing: the shop and a
// data pipeline.
const twoSystems = `services:
  checkout: {kind: service, depends_on: [payments, shop-db]}
  payments: {kind: service, depends_on: [shop-db]}
  shop-db: {kind: database}
  ingest: {kind: service, depends_on: [etl-queue]}
  etl-queue: {kind: queue}
  warehouse-loader: {kind: service, depends_on: [etl-queue, warehouse]}
  warehouse: {kind: database}
`

func alertOn(name, service, severity string, at time.Time, extra ...string) diagnosis.Alert {
	labels := map[string]string{"alertname": name, "service": service, "severity": severity, "namespace": "prod"}
	for i := 0; i+1 < len(extra); i += 2 {
		labels[extra[i]] = extra[i+1]
	}
	return diagnosis.Alert{Status: diagnosis.Firing, Labels: labels, StartsAt: at.Truncate(time.Millisecond),
		Annotations: map[string]string{"summary": name + " on " + service}}
}

func mustWriteFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// cardFor finds the top-level card in #incidents whose fallback mentions s.
func cardFor(emu *slackemu.Server, s string) (slackemu.Message, bool) {
	for _, m := range emu.Messages(chIncidents) {
		if strings.Contains(m.Text, s) {
			return m, true
		}
	}
	return slackemu.Message{}, false
}

// TestTwoIncidentsHumansAndARestart: two unrelated failures at once give two
// cards; alert-looking messages from a person or an untrusted bot give none;
// after a restart, new alerts of an open incident go into its existing thread.
func TestTwoIncidentsHumansAndARestart(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dir := t.TempDir()
	env := map[string]string{"SERVICE_GRAPH": mustWriteFile(t, dir, "graph.yaml", twoSystems)}
	db := filepath.Join(dir, "bot.db")
	nightowl := MustRunNightowl(t, emu, db, env)

	now := time.Now()
	shop := []diagnosis.Alert{
		alertOn("DBConnectionsExhausted", "shop-db", "critical", now.Add(-90*time.Second)),
		alertOn("ErrorRateHigh", "payments", "warning", now.Add(-60*time.Second)),
	}
	pipeline := []diagnosis.Alert{
		alertOn("ConsumerLagHigh", "warehouse-loader", "warning", now.Add(-70*time.Second)),
		alertOn("QueueDepthHigh", "etl-queue", "critical", now.Add(-80*time.Second)),
	}
	MustRelay(t, hook, []string{"namespace", "service"}, append(append([]diagnosis.Alert{}, shop...), pipeline...))

	// A person pastes an alert; another bot that is not an alert source posts one.
	body, err := alertmanager.SlackPayload(alertmanager.NewGroup("x", []string{"alertname"}, []diagnosis.Alert{alertOn("FakeOutage", "checkout", "critical", now)}, "http://am"), alertmanager.Nightowl)
	if err != nil {
		t.Fatal(err)
	}
	var relayed struct {
		Attachments []struct{ Text string } `json:"attachments"`
	}
	if err := json.Unmarshal(body, &relayed); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.PostAsUser(chAlerts, uHuman, relayed.Attachments[0].Text, ""); err != nil {
		t.Fatal(err)
	}
	stranger := emu.NewWebhook(chAlerts, slackemu.WebhookOwner{AppID: "A0STRANGER", BotID: "B0STRANGER", Name: "Not Alertmanager"})
	if err := alertmanager.Post(t.Context(), nil, stranger, body); err != nil {
		t.Fatal(err)
	}

	MustWait(t, emu, 15*time.Second, "two cards", func() bool { return len(emu.Messages(chIncidents)) >= 2 })
	shopCard, ok1 := cardFor(emu, "shop-db")
	pipeCard, ok2 := cardFor(emu, "etl-queue")
	if !ok1 || !ok2 {
		t.Fatalf("cards %v: want one naming shop-db and one naming etl-queue", texts(emu.Messages(chIncidents)))
	}

	// Restart in mid-incident, then more alerts of the shop incident arrive.
	nightowl.stop()
	nightowl = MustRunNightowl(t, emu, db, env)
	MustRelay(t, hook, []string{"namespace", "service"}, []diagnosis.Alert{alertOn("LatencyHigh", "checkout", "warning", now.Add(-30*time.Second))})
	MustWait(t, emu, 15*time.Second, "the new alert in the shop card's thread", func() bool {
		return repliesWith(emu, chIncidents, shopCard.TS, "LatencyHigh") == 1
	})

	if got := len(emu.Messages(chIncidents)); got != 2 {
		t.Errorf("%d cards in #incidents: want 2 (no card for the person's paste, the untrusted bot, or after the restart): %v", got, texts(emu.Messages(chIncidents)))
	}
	for _, m := range emu.Messages(chIncidents) {
		if strings.Contains(m.Text, "FakeOutage") || strings.Contains(string(m.Blocks), "FakeOutage") {
			t.Errorf("a card carries the pasted or untrusted alert: %s", m.Text)
		}
	}
	if repliesWith(emu, chIncidents, pipeCard.TS, "LatencyHigh") != 0 {
		t.Errorf("the shop's new alert went into the pipeline's thread")
	}
	nightowl.stop()
	if got := notifications(emu); got[uOnCall] != 2 || len(got) != 1 {
		t.Errorf("notifications %v: want one page per incident, 2, of %s only", got, uOnCall)
	}
}

// TestAlertTextReachesSlackAsPlainText: mentions, links and mrkdwn inside an
// alert's labels and annotations are shown, never acted on.
func TestAlertTextReachesSlackAsPlainText(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	nightowl := MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), nil)
	nasty := alertOn("Disk<!channel>Full", "payment-service", "critical", time.Now(),
		"team", "<!here> <@U0HUMAN> <!subteam^S0LEADS>", "style", "*bold* _it_ ~strike~ `code`")
	nasty.Annotations["summary"] = "ping <!everyone> and <@U0LEAD> — see <https://evil.example|click me>"
	MustRelay(t, hook, []string{"namespace"}, []diagnosis.Alert{nasty})
	MustWait(t, emu, 15*time.Second, "the card and its thread", func() bool {
		ms := emu.Messages(chIncidents)
		return len(ms) == 1 && len(emu.Replies(chIncidents, ms[0].TS)) >= 1
	})
	nightowl.stop()
	got := notifications(emu)
	if got[uOnCall] != 1 || len(got) != 1 {
		t.Errorf("notifications %v: the alert's text must notify nobody; only the page of %s", got, uOnCall)
	}
	card := emu.Messages(chIncidents)[0]
	all := card.Text + string(card.Blocks)
	for _, r := range emu.Replies(chIncidents, card.TS) {
		all += r.Text + string(r.Blocks)
	}
	for _, raw := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U0HUMAN>", "<@U0LEAD>", "<https://evil"} {
		if strings.Contains(all, raw) {
			t.Errorf("%q reached Slack unescaped", raw)
		}
	}
	if !strings.Contains(all, "&lt;!channel&gt;") {
		t.Errorf("the alert name was not shown escaped")
	}
}

// TestButtonsAcknowledgeAndEscalateOnce: Acknowledge shows who acked on the
// card; Escalate pages ESCALATION once, in the thread; a second click is told
// it already happened.
func TestButtonsAcknowledgeAndEscalateOnce(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	nightowl := MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), nil)
	MustRelay(t, hook, []string{"namespace"}, []diagnosis.Alert{alertOn("ErrorRateHigh", "payment-service", "warning", time.Now())})
	MustWait(t, emu, 15*time.Second, "the card", func() bool { return len(emu.Messages(chIncidents)) == 1 })
	card := emu.Messages(chIncidents)[0]

	click := func(user, action string) {
		t.Helper()
		if _, err := emu.Click(t.Context(), slackemu.Click{User: user, Channel: chIncidents, MessageTS: card.TS, ActionID: action}); err != nil {
			t.Fatalf("%s clicks %s: %v", user, action, err)
		}
	}
	click(uHuman, bot.ActionAck)
	MustWait(t, emu, 10*time.Second, "the ack on the card", func() bool {
		m, _ := emu.Message(chIncidents, card.TS)
		return strings.Contains(string(m.Blocks), "Acknowledged by human")
	})
	if _, err := emu.Click(t.Context(), slackemu.Click{User: uLead, Channel: chIncidents, MessageTS: card.TS, ActionID: bot.ActionAck}); !errors.Is(err, slackemu.ErrNoSuchButton) {
		t.Errorf("clicking Acknowledge again: %v, want the button gone from the card", err)
	}

	// Two people press Escalate at the same moment.
	var wg sync.WaitGroup
	for _, u := range []string{uHuman, uLead} {
		wg.Go(func() {
			_, err := emu.Click(t.Context(), slackemu.Click{User: u, Channel: chIncidents, MessageTS: card.TS, ActionID: bot.ActionEscalate})
			if err != nil && !errors.Is(err, slackemu.ErrNoSuchButton) {
				t.Errorf("%s clicks Escalate: %v", u, err)
			}
		})
	}
	wg.Wait()
	MustWait(t, emu, 10*time.Second, "the escalation in the thread and on the card", func() bool {
		m, _ := emu.Message(chIncidents, card.TS)
		return repliesWith(emu, chIncidents, card.TS, "escalated") == 1 && strings.Contains(string(m.Blocks), "Escalated by")
	})
	if _, err := emu.Click(t.Context(), slackemu.Click{User: uHuman, Channel: chIncidents, MessageTS: card.TS, ActionID: bot.ActionEscalate}); !errors.Is(err, slackemu.ErrNoSuchButton) {
		t.Errorf("clicking Escalate after escalating: %v, want the button gone", err)
	}
	nightowl.stop()
	if got := notifications(emu); got[sLeads] != 1 || got[uOnCall] != 1 || len(got) != 2 {
		t.Errorf("notifications %v: want the page of %s and one escalation to %s", got, uOnCall, sLeads)
	}
	if n := repliesWith(emu, chIncidents, card.TS, "escalated"); n != 1 {
		t.Errorf("%d escalation replies, want 1", n)
	}
}

func texts(ms []slackemu.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

// TestAMalformedAlertIsExplainedAndTheRestStillCounts: one broken block in a
// relayed message gets a one-sentence reply in that message's thread; the
// message's other alerts still make their card.
func TestAMalformedAlertIsExplainedAndTheRestStillCounts(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), nil)
	good := alertOn("ErrorRateHigh", "payment-service", "warning", time.Now())
	body, err := alertmanager.SlackPayload(alertmanager.NewGroup("x", []string{"namespace"}, []diagnosis.Alert{good}, "http://am"), alertmanager.Nightowl)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(body), "```", "```\\n#nightowl-alert v1 status=firing fingerprint=0123 startsAt=yesterday\\nlabel alertname=Broken\\n#end\\n", 1)
	if err := alertmanager.Post(t.Context(), nil, hook, []byte(broken)); err != nil {
		t.Fatal(err)
	}
	MustWait(t, emu, 15*time.Second, "the card and the explanation", func() bool {
		relayed := emu.Messages(chAlerts)
		return len(emu.Messages(chIncidents)) == 1 && len(relayed) == 1 && repliesWith(emu, chAlerts, relayed[0].TS, "could not read") == 1
	})
}

// TestAnIncidentStillGatheringSurvivesARestart: alerts that were waiting for
// GROUP_WAIT when the bot stopped get their card right after it starts again.
func TestAnIncidentStillGatheringSurvivesARestart(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	db := filepath.Join(t.TempDir(), "bot.db")
	slow := map[string]string{"GROUP_WAIT": "10m"}
	nightowl := MustRunNightowl(t, emu, db, slow)
	MustRelay(t, hook, []string{"namespace"}, []diagnosis.Alert{alertOn("ErrorRateHigh", "payment-service", "warning", time.Now())})
	testbed.WaitFor(t, 10*time.Second, "the alert to be read", func() (struct{}, bool) {
		return struct{}{}, len(nightowl.App.Live.Open()) == 1
	})
	nightowl.stop()
	if n := len(emu.Messages(chIncidents)); n != 0 {
		t.Fatalf("%d cards before GROUP_WAIT ended", n)
	}
	MustRunNightowl(t, emu, db, slow)
	MustWait(t, emu, 10*time.Second, "the card after the restart", func() bool { return len(emu.Messages(chIncidents)) == 1 })
}
