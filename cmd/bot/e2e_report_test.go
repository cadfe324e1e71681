package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall/oncalltest"
)

// TestTheReportItsChartsAndATimelineReachSlack runs the real nightowl on
// the seeded history, moved so that its weekly report is due now, and asks
// for the report and a timeline through the emulator with slack-go.
func TestTheReportItsChartsAndATimelineReachSlack(t *testing.T) {
	shift := time.Now().Truncate(time.Minute).Sub(oncalltest.Now)
	dbPath := mustSeededDB(t, oncalltest.Shift(oncalltest.History(), shift))
	graphFile := filepath.Join(t.TempDir(), "graph.yaml")
	if err := os.WriteFile(graphFile, []byte(oncalltest.Graph), 0o644); err != nil {
		t.Fatal(err)
	}
	emu := MustWorkspace(t)
	MustRunNightowl(t, emu, dbPath, map[string]string{"SERVICE_GRAPH": graphFile, "ONCALL": oncalltest.OnCall})

	ask := func(text string, files int) (slackemu.Message, map[string][]byte) {
		t.Helper()
		before := len(emu.Messages(chIncidents))
		if _, err := emu.SlashCommand(t.Context(), slackemu.SlashCommand{User: uLead, Channel: chIncidents, Command: "/diag", Text: text}); err != nil {
			t.Fatal(err)
		}
		var answer slackemu.Message
		got := map[string][]byte{}
		MustWait(t, emu, 20*time.Second, "/diag "+text+" and its files", func() bool {
			ms := emu.Messages(chIncidents)
			n := 0
			for _, m := range ms[before:] {
				if len(m.Files) == 0 {
					answer = m
				}
				n += len(m.Files)
			}
			return answer.TS != "" && n >= files
		})
		for _, m := range emu.Messages(chIncidents)[before:] {
			for _, f := range m.Files {
				name, data, ok := emu.File(f.ID)
				if !ok {
					t.Fatalf("file %s not stored", f.Name)
				}
				got[name] = data
			}
		}
		return answer, got
	}

	answer, files := ask("report 7d", 4)
	for _, want := range []string{"On-call health:", "Pages: *7", "5.0", "MTTA *3m (p90 10m)", "DiskAlmostFull", "owner storage", "PodRestarting", "owner orders",
		"noisy-alerts.md"} {
		if !strings.Contains(contentOf(answer), want) {
			t.Errorf("the report lacks %q:\n%s", want, contentOf(answer))
		}
	}
	for _, name := range []string{"report-pages-per-day.png", "report-night-pages.png", "report-mtta-mttr.png"} {
		img, err := png.Decode(bytes.NewReader(files[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 900 || h != 420 {
			t.Errorf("%s is %d×%d", name, w, h)
		}
	}
	for _, want := range []string{"receiver: storage-no-page", "for: 10m"} {
		if !strings.Contains(string(files["noisy-alerts.md"]), want) {
			t.Errorf("noisy-alerts.md lacks %q:\n%s", want, files["noisy-alerts.md"])
		}
	}

	answer, files = ask("timeline INC-W4F", 1)
	if !strings.Contains(contentOf(answer), "Postmortem draft for INC-W4F") {
		t.Errorf("the timeline's answer: %s", contentOf(answer))
	}
	md := string(files["INC-W4F-postmortem.md"])
	for _, want := range []string{"# Postmortem draft — INC-W4F", "| Acknowledged |", "by @UBOB", "failover-postgres: approved", "asked: is the replica caught up?"} {
		if !strings.Contains(md, want) {
			t.Errorf("the postmortem draft lacks %q:\n%s", want, md)
		}
	}

	before := len(emu.Ephemerals(uLead))
	if _, err := emu.SlashCommand(t.Context(), slackemu.SlashCommand{User: uLead, Channel: chIncidents, Command: "/diag", Text: "report 400d"}); err != nil {
		t.Fatal(err)
	}
	MustWait(t, emu, 20*time.Second, "the answer to a bad period", func() bool { return len(emu.Ephemerals(uLead)) > before })
	if e := emu.Ephemerals(uLead); !strings.Contains(contentOf(e[len(e)-1]), "A report covers 1 to 90 days, not 400d.") {
		t.Errorf("a bad period: %s", contentOf(e[len(e)-1]))
	}
}
