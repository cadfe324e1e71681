package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis"
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

	card, _ := mustStormCard(t, emu, func(a []diagnosis.Alert) { MustRelay(t, hook, []string{"namespace", "alertname"}, a) })
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
