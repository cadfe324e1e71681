package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/golden"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis/replay"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// mustReplay runs `bot replay` with args and returns its stdout.
func mustReplay(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs strings.Builder
	if code := Main(t.Context(), append([]string{"replay"}, args...), envOf(nil), strings.NewReader(""), &out, &errs); code != 0 {
		t.Fatalf("bot replay %s: exit %d: %s", strings.Join(args, " "), code, errs.String())
	}
	return out.String()
}

func mustDecodeReport(t *testing.T, out string) replay.Report {
	t.Helper()
	var rep replay.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out)
	}
	return rep
}

func mustWriteTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// weekArgs are the flags that replay the synthetic week.
func weekArgs(t *testing.T, w scenarios.Week) []string {
	return []string{"--since", w.Since.Format(time.RFC3339), "--until", w.Until.Format(time.RFC3339),
		"--graph", mustWriteTemp(t, "graph.yaml", scenarios.BlackFridayGraph)}
}

// assertWeekIncidents checks the replay found exactly the week's incidents,
// each with its first alert, size, services and root cause.
func assertWeekIncidents(t *testing.T, w scenarios.Week, rep replay.Report) {
	t.Helper()
	if len(rep.Incidents) != len(w.Incidents) {
		for _, in := range rep.Incidents {
			t.Logf("got %s %s %s %v", in.ID, in.FirstAlert.Format(time.RFC3339), in.FirstAlertName, in.Services)
		}
		t.Fatalf("%d incidents, want %d", len(rep.Incidents), len(w.Incidents))
	}
	for i, want := range w.Incidents {
		got := rep.Incidents[i]
		top := ""
		if len(got.Candidates) > 0 {
			top = got.Candidates[0].Service
		}
		if !got.FirstAlert.Equal(want.First) || got.FirstAlertName != want.FirstAlert || got.Alerts != want.Alerts ||
			!slices.Equal(got.Services, want.Services) || top != want.RootCause || got.Paged != want.Paged || got.Night != want.Night {
			t.Errorf("incident %d (%s):\n got %s %s, %d alerts on %v, root %q, paged %v, night %v\nwant %s %s, %d alerts on %v, root %q, paged %v, night %v",
				i, want.Kind, got.FirstAlert.Format(time.RFC3339), got.FirstAlertName, got.Alerts, got.Services, top, got.Paged, got.Night,
				want.First.Format(time.RFC3339), want.FirstAlert, want.Alerts, want.Services, want.RootCause, want.Paged, want.Night)
		}
		if len(got.Candidates) > 3 {
			t.Errorf("incident %d lists %d candidates, want at most 3", i, len(got.Candidates))
		}
		if want.Kind == "flap" && got.Reopened != 7 {
			t.Errorf("the flapping alert reopened its incident %d times, want 7 (it fired 8 times)", got.Reopened)
		}
	}
}

// weekCounts are the counts the synthetic week implies.
func weekCounts(w scenarios.Week) (pages, night, settled int) {
	for _, in := range w.Incidents {
		switch {
		case in.Paged && in.Night:
			pages, night = pages+1, night+1
		case in.Paged:
			pages++
		default:
			settled++
		}
	}
	return pages, night, settled
}

func TestReplayOfAWeekInPrometheusFindsItsIncidentsRootCausesAndCounts(t *testing.T) {
	w := scenarios.SyntheticWeek()
	p := testbed.MustStartPrometheus(t, w.OpenMetrics())
	rep := mustDecodeReport(t, mustReplay(t, append(weekArgs(t, w), "--prometheus", p.URL, "--format", "json")...))

	assertWeekIncidents(t, w, rep)
	pages, night, settled := weekCounts(w)
	if rep.Pages != pages || rep.NightPages != night || rep.Settled != settled {
		t.Errorf("pages %d (night %d), settled %d; want %d (night %d), settled %d", rep.Pages, rep.NightPages, rep.Settled, pages, night, settled)
	}
	if rep.Alerts != len(w.Alerts) {
		t.Errorf("%d firing intervals read from ALERTS, want %d", rep.Alerts, len(w.Alerts))
	}
	var total, nightAM float64
	for in, times := range w.Notifications {
		total += float64(len(times))
		if got := rep.AlertmanagerByIntegration[in]; got != float64(len(times)) {
			t.Errorf("Alertmanager sent %v %s notifications, want %d", got, in, len(times))
		}
		for _, at := range times {
			if replay.Night(at, time.UTC) {
				nightAM++
			}
		}
	}
	if rep.AlertmanagerNotifications == nil || *rep.AlertmanagerNotifications != total {
		t.Errorf("alertmanager_notifications %v, want %v", rep.AlertmanagerNotifications, total)
	}
	if rep.AlertmanagerNightNotifications == nil || *rep.AlertmanagerNightNotifications != nightAM {
		t.Errorf("alertmanager_night_notifications %v, want %v", rep.AlertmanagerNightNotifications, nightAM)
	}
	if len(rep.NoisiestRules) == 0 || rep.NoisiestRules[0].Alertname != "HighLatencyP99" || rep.NoisiestRules[0].Firings != 8 {
		t.Errorf("noisiest rules %+v, want HighLatencyP99 first with 8 firings", rep.NoisiestRules)
	}
	days, dayPages := 0, 0
	for _, d := range rep.Days {
		days++
		dayPages += d.Pages
	}
	if days != 7 || dayPages != pages {
		t.Errorf("%d days with %d pages, want 7 days with %d", days, dayPages, pages)
	}

	// The markdown report is docs/replay-example.md, its charts beside it.
	dir := t.TempDir()
	mustReplay(t, append(weekArgs(t, w), "--prometheus", p.URL, "--format", "markdown", "--out", dir)...)
	md, err := os.ReadFile(filepath.Join(dir, replayReportFile))
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("..", "..", "docs", "replay-example.md"), md)
	for _, name := range []string{pagesChartFile, nightChartFile} {
		png, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
			t.Fatalf("chart %s: %v", name, err)
		}
		if !strings.Contains(string(md), "]("+name+")") {
			t.Errorf("the report does not link %s", name)
		}
		if golden.Updating() { // pictures differ by a pixel between platforms: kept, not compared
			if err := os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestReplayOfWebhookLinesFindsTheSameIncidents(t *testing.T) {
	w := scenarios.SyntheticWeek()
	file := mustWriteTemp(t, "week.jsonl", w.WebhookLines())
	rep := mustDecodeReport(t, mustReplay(t, append(weekArgs(t, w), "--from", file, "--format", "json")...))
	assertWeekIncidents(t, w, rep)
	if rep.AlertmanagerNotifications != nil {
		t.Errorf("alertmanager_notifications %v from a file, want null", *rep.AlertmanagerNotifications)
	}
}

func TestReplayJSONKeepsItsStableFields(t *testing.T) {
	w := scenarios.SyntheticWeek()
	out := mustReplay(t, append(weekArgs(t, w), "--from", mustWriteTemp(t, "week.jsonl", w.WebhookLines()), "--format", "json")...)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	var pages float64
	var incidents []json.RawMessage
	if json.Unmarshal(raw["pages"], &pages) != nil || json.Unmarshal(raw["incidents"], &incidents) != nil || len(incidents) == 0 {
		t.Fatalf("pages %s, incidents %.80s: want a number and an array", raw["pages"], raw["incidents"])
	}
	if got := string(raw["alertmanager_notifications"]); got != "null" {
		t.Errorf("alertmanager_notifications %q, want null", got)
	}
	var first struct {
		FirstAlert string                       `json:"first_alert"`
		Alerts     *int                         `json:"alerts"`
		Services   []string                     `json:"services"`
		Candidates []map[string]json.RawMessage `json:"candidates"`
	}
	if err := json.Unmarshal(incidents[0], &first); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339, first.FirstAlert); err != nil || first.Alerts == nil || len(first.Services) == 0 || len(first.Candidates) == 0 {
		t.Fatalf("incident %s: want first_alert (RFC 3339), alerts, services and candidates", incidents[0])
	}
	for _, k := range []string{"service", "confidence"} {
		if _, ok := first.Candidates[0][k]; !ok {
			t.Errorf("candidate %v has no %q", first.Candidates[0], k)
		}
	}
}

func TestReplayRefusesBadFlagsInOneSentence(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no history", []string{"--since", "7d"}, "replay needs a history"},
		{"a bad format", []string{"--from", "x", "--format", "yaml"}, `--format "yaml"`},
		{"a bad since", []string{"--from", "x", "--since", "last week"}, `--since "last week"`},
		{"a window that ends before it starts", []string{"--from", "x", "--since", "2024-06-10T00:00:00Z", "--until", "2024-06-03T00:00:00Z"}, "is not before"},
		{"out without markdown", []string{"--from", "x", "--out", "d"}, "--out is for --format markdown"},
		{"a bad time zone", []string{"--from", "x", "--tz", "Mars/Olympus"}, `--tz "Mars/Olympus"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs strings.Builder
			code := Main(t.Context(), append([]string{"replay"}, tc.args...), envOf(nil), strings.NewReader(""), &out, &errs)
			if code != 2 || !strings.Contains(errs.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs.String(), tc.want)
			}
		})
	}
}
