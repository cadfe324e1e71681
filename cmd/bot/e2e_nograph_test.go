package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWithoutAServiceGraphTheStormIsStillOneCard: with no SERVICE_GRAPH
// nightowl warns once at start, groups the Black Friday storm by time and
// shared labels into one card that pages once, still names order-service,
// and says on the card how it grouped.
func TestWithoutAServiceGraphTheStormIsStillOneCard(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, map[string]string{"SERVICE_GRAPH": ""})
	if n := nightowl.App.cfg.Graph().Len(); n != 0 {
		t.Fatalf("the graph has %d nodes without SERVICE_GRAPH, want none", n)
	}

	storm := stormNow(t)
	MustRelay(t, hook, []string{"namespace", "alertname"}, storm[:5])
	MustWait(t, emu, 20*time.Second, "the incident card", func() bool { return len(emu.Messages(chIncidents)) > 0 })
	MustRelay(t, hook, []string{"namespace", "alertname"}, storm[5:])
	MustWait(t, emu, 30*time.Second, "all 31 alerts on the card", func() bool {
		ms := emu.Messages(chIncidents)
		return len(ms) > 0 && strings.Contains(ms[0].Text, "(31 alerts → 1 page)")
	})

	cards := emu.Messages(chIncidents)
	if len(cards) != 1 {
		t.Fatalf("%d top-level messages in #incidents, want exactly 1 card", len(cards))
	}
	card := cards[0]
	if !strings.Contains(card.Text, "on order-service") {
		t.Errorf("card %q does not name order-service as the root cause", card.Text)
	}
	if !strings.Contains(string(card.Blocks), "no service graph: grouped by time and labels") {
		t.Errorf("the card does not say it was grouped without a service graph:\n%s", card.Blocks)
	}
	nightowl.stop()
	if got := notifications(emu); got[uOnCall] != 1 || len(got) != 1 {
		t.Errorf("notifications %v: want exactly one page, of %s", got, uOnCall)
	}
	log, err := os.ReadFile(filepath.Join(filepath.Dir(dbPath), "nightowl.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "no service graph: grouping by time and labels"); n != 1 {
		t.Errorf("the log warns %d times about the missing graph, want once", n)
	}
}
