package main

import (
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
)

// The fault suite, continued: what nightowl depends on besides Slack
// (Prometheus, the model) down or hanging. The card is on time all the
// same, and says what it was made without.

// mustHangingListener is a TCP port that accepts connections and never
// answers on them.
func mustHangingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// cardBudget is how soon after the relay a card must be out with a
// dependency down: GROUP_WAIT (1s), the metrics deadline (3s), Slack, and
// room for a loaded machine.
const cardBudget = 10 * time.Second

// prometheusFaults are Prometheus refusing connections (nothing listens on
// its port) and Prometheus hanging (it accepts and never answers).
func prometheusFaults(t *testing.T) []struct{ name, url string } {
	return []struct{ name, url string }{
		{"down", "http://" + testbed.FreeAddr(t)},
		{"hanging", mustHangingListener(t)},
	}
}

// TestFaultPrometheusDownOrHangingStillPostsTheCard: with Prometheus down
// or hanging, the card is out within its budget; the diagnosis on record
// (and /diag) says the metrics were unavailable and why.
func TestFaultPrometheusDownOrHangingStillPostsTheCard(t *testing.T) {
	t.Parallel()
	for _, tt := range prometheusFaults(t) {
		t.Run(tt.name, func(t *testing.T) {
			emu := MustWorkspace(t)
			hook := MustAlertmanagerHook(emu)
			dbPath := filepath.Join(t.TempDir(), "bot.db")
			nightowl := MustRunNightowl(t, emu, dbPath, map[string]string{"PROMETHEUS_URL": tt.url})
			storm := stormNow(t)[:5]
			start := time.Now()
			MustRelay(t, hook, []string{"namespace"}, storm)
			card := mustCardCounting(t, emu, len(storm), cardBudget)
			t.Logf("card out %s after the relay", time.Since(start).Round(time.Millisecond))
			d, err := nightowl.App.DB.Diagnosis(t.Context(), incidentOf(card))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(d.Metrics, "metrics unavailable: ") {
				t.Errorf("the diagnosis on record says %q, want metrics unavailable and why", d.Metrics)
			}
			if _, err := emu.SlashCommand(t.Context(), slackemu.SlashCommand{User: uLead, Channel: chIncidents, Command: "/diag", Text: incidentOf(card)}); err != nil {
				t.Fatal(err)
			}
			MustWait(t, emu, 15*time.Second, "the answer to /diag", func() bool { return len(emu.Ephemerals(uLead)) > 0 })
			if answer := contentOf(emu.Ephemerals(uLead)[0]); !strings.Contains(answer, "metrics unavailable") {
				t.Errorf("/diag does not say the metrics were unavailable:\n%s", answer)
			}
			mustResolveCard(t, emu, hook, storm, card)
			nightowl.stop()
			assertWhole(t, emu, dbPath, append(storm, resolveAll(storm)...), 1)
		})
	}
}

// TestFaultTheCardSaysWhenMetricsWereUnavailable: the card itself carries
// a line saying the metrics were unavailable, so whoever is paged knows the
// diagnosis was made without them.
func TestFaultTheCardSaysWhenMetricsWereUnavailable(t *testing.T) {
	t.Parallel()
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), map[string]string{"PROMETHEUS_URL": "http://" + testbed.FreeAddr(t)})
	MustRelay(t, hook, []string{"namespace"}, stormNow(t)[:5])
	card := mustCardCounting(t, emu, 5, cardBudget)
	if c := strings.ToLower(contentOf(card)); !strings.Contains(c, "metrics unavailable") && !strings.Contains(c, "metrics were unavailable") {
		t.Errorf("the card does not say the metrics were unavailable:\n%s", emu.RenderMessage(chIncidents, card.TS))
	}
}

// TestFaultAModelThatIsDownLeavesTheRulesTriage: LLM_PROVIDER=openai with
// nothing listening at LLM_BASE_URL; the card is out within its budget with
// the rules' triage and says the model did not help. A model that hangs is
// TestAModelThatFailsLeavesTheRulesTriage ("times out"), one that answers
// nonsense its "malformed JSON" case.
func TestFaultAModelThatIsDownLeavesTheRulesTriage(t *testing.T) {
	t.Parallel()
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, map[string]string{"LLM_PROVIDER": "openai",
		"LLM_BASE_URL": "http://" + testbed.FreeAddr(t) + "/v1", "LLM_MODEL": "test-model",
		"LLM_API_KEY": "sk-test-secret-0123456789", "LLM_TIMEOUT": "2s"})
	storm := stormNow(t)[:5]
	MustRelay(t, hook, []string{"namespace"}, storm)
	card := mustCardCounting(t, emu, len(storm), cardBudget)
	if c := contentOf(card); !strings.Contains(c, "Do now:") {
		t.Errorf("the card has no triage:\n%s", emu.RenderMessage(chIncidents, card.TS))
	}
	MustWait(t, emu, 20*time.Second, "the note that the model did not help", func() bool {
		m, _ := emu.Message(chIncidents, card.TS)
		return strings.Contains(contentOf(m), "the model did not help")
	})
	if m, _ := emu.Message(chIncidents, card.TS); !strings.Contains(contentOf(m), "Do now:") || strings.Contains(contentOf(m), "🤖 Triage by") {
		t.Errorf("the card should keep the rules' triage:\n%s", emu.RenderMessage(chIncidents, card.TS))
	}
	mustResolveCard(t, emu, hook, storm, card)
	nightowl.stop()
	assertWhole(t, emu, dbPath, append(storm, resolveAll(storm)...), 1)
}
