package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/deploy/golden"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall/oncalltest"
	"github.com/nightowl-sre/nightowl/store"
)

// mustSeededDB writes the seeded on-call history into a new database file.
func mustSeededDB(t *testing.T, stories []oncalltest.Story) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := oncalltest.Write(context.Background(), db, stories); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustMain(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), args, func(k string) string { return env[k] }, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("bot %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// TestBotTimelinePrintsThePostmortemDraft renders the seeded incident that
// has everything (an ack, an escalation, questions, an approved runbook,
// an answer) as docs/postmortem-example.md shows it.
func TestBotTimelinePrintsThePostmortemDraft(t *testing.T) {
	env := map[string]string{"DB_PATH": mustSeededDB(t, oncalltest.History()), "TZ": oncalltest.TZ}
	got := mustMain(t, env, "timeline", "INC-W4F")
	golden.Assert(t, filepath.Join("..", "..", "docs", "postmortem-example.md"), []byte(got))

	var stderr bytes.Buffer
	if code := Main(context.Background(), []string{"timeline", "INC-NOPE"}, func(k string) string { return env[k] }, nil, &bytes.Buffer{}, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "no incident INC-NOPE in") {
		t.Errorf("an unknown incident: exit %d, %s", code, stderr.String())
	}
}

// TestBotReportWritesTheExampleInDocs writes the weekly report of the
// seeded history, its charts and its noisy alerts' fixes: docs/report-example.*.
func TestBotReportWritesTheExampleInDocs(t *testing.T) {
	graphFile := filepath.Join(t.TempDir(), "graph.yaml")
	if err := os.WriteFile(graphFile, []byte(oncalltest.Graph), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DB_PATH": mustSeededDB(t, oncalltest.History()), "TZ": oncalltest.TZ, "ONCALL": oncalltest.OnCall,
		"SERVICE_GRAPH": graphFile}
	dir := t.TempDir()
	mustMain(t, env, "report", "--days", "7", "--to", "2026-03-02", "--out", dir)
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs := filepath.Join("..", "..", "docs")
	// The docs name the charts report-example-…png.
	md = bytes.ReplaceAll(md, []byte("](report-"), []byte("](report-example-"))
	golden.Assert(t, filepath.Join(docs, "report-example.md"), md)
	for _, chart := range []string{"pages-per-day", "night-pages", "mtta-mttr"} {
		png, err := os.ReadFile(filepath.Join(dir, "report-"+chart+".png"))
		if err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, filepath.Join(docs, "report-example-"+chart+".png"), png)
	}
	for _, want := range []string{"| Pages | 7 (7.0 a week, up 40% from 5.0) |", "| Time to acknowledge (MTTA) | 3m (p90 10m) |",
		"| Night pages (22:00–07:00) | 4 |", "### DiskAlmostFull — owner: storage", "### PodRestarting — owner: orders", "for: 10m"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
