package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// alertmanagerConfig relays every alert to the Slack webhook, with nightowl's
// template or Alertmanager's default message.
func alertmanagerConfig(tb testing.TB, hook string, groupBy []string, nightowlTemplate bool) []byte {
	tb.Helper()
	slack := map[string]any{"api_url": hook, "send_resolved": true}
	cfg := map[string]any{
		"route": map[string]any{
			"receiver": "slack", "group_by": groupBy,
			"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h",
		},
		"receivers": []map[string]any{{"name": "slack", "slack_configs": []map[string]any{slack}}},
	}
	if nightowlTemplate {
		tmpl, err := filepath.Abs(filepath.Join("..", "..", "deploy", "alertmanager", "slack.tmpl"))
		if err != nil {
			tb.Fatal(err)
		}
		cfg["templates"] = []string{tmpl}
		slack["title"] = `{{ template "nightowl.title" . }}`
		slack["text"] = `{{ template "nightowl.text" . }}`
		slack["fallback"] = `{{ template "nightowl.fallback" . }}`
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestAlertmanagerStormBecomesOneCard is the walking skeleton end to end: a
// real Alertmanager relays the Black Friday storm into #alerts of the Slack
// emulator, and the real bot, over Socket Mode, posts one card naming
// order-service, threads the rest, updates the card in place, and resolves it.
func TestAlertmanagerStormBecomesOneCard(t *testing.T) {
	cases := []struct {
		name     string
		template bool
		groupBy  []string
	}{
		{"with nightowl's template grouped by namespace", true, []string{"namespace"}},
		{"with Alertmanager's default message grouped by alertname and service", false, []string{"alertname", "service"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := MustWorkspace(t)
			hook := MustAlertmanagerHook(emu)
			am := testbed.MustStartAlertmanager(t, alertmanagerConfig(t, hook, tc.groupBy, tc.template))
			nightowl := MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), nil)

			card, storm := mustStormCard(t, emu, func(a []diagnosis.Alert) { am.MustPostAlerts(t, a) })
			if !strings.Contains(card.Text, "on order-service") {
				t.Errorf("card %q does not name order-service as the root cause", card.Text)
			}
			if card.Edited == 0 {
				t.Errorf("the card was never updated in place")
			}
			if n := len(emu.Replies(chIncidents, card.TS)); n < 2 {
				t.Errorf("%d thread replies, want the storm batched into at least 2", n)
			}
			if n := emu.Calls("chat.postMessage"); n > 12 {
				t.Errorf("%d chat.postMessage calls for 31 alerts: want one per burst, not one per alert", n)
			}

			am.MustPostAlerts(t, resolveAll(storm))
			MustWait(t, emu, 30*time.Second, "the card to turn resolved", func() bool {
				m, _ := emu.Message(chIncidents, card.TS)
				return strings.Contains(m.Text, "· resolved") && repliesWith(emu, chIncidents, card.TS, "resolved after") == 1
			})
			if n := len(emu.Messages(chIncidents)); n != 1 {
				t.Errorf("%d top-level messages after resolution, want the one card", n)
			}
			nightowl.stop()
			if got := notifications(emu); got[uOnCall] != 1 || len(got) != 1 {
				t.Errorf("notifications %v: want exactly one page, of %s", got, uOnCall)
			}
		})
	}
}
