package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
	"github.com/nightowl-sre/nightowl/store"
)

// reportWords answers the report and timelines from the store, in TZ,
// with teams from the graph g.
func reportWords(cfg Config, db *store.DB, g commands.Graphs, names func(context.Context, string) string) *commands.Handler {
	return commands.New(commands.Deps{Record: db, Loc: cfg.Loc, OnCall: cfg.OnCall, Graph: g, Names: names})
}

// weeklyReport posts the report of the week before to REPORT_CHANNEL each
// Monday at 09:00 in TZ; the store remembers each week posted.
func (a *App) weeklyReport() *oncall.Weekly {
	words := reportWords(a.cfg, a.DB, a.Graph, a.Slack.DisplayName) // the graph in effect: discovered teams count
	return oncall.NewWeekly(oncall.WeeklyConfig{Loc: a.cfg.Loc, Ledger: a.DB, Logger: a.log,
		Post: func(ctx context.Context, from, to time.Time) error {
			reply, err := words.Report(ctx, from, to, "")
			if err != nil {
				return err
			}
			return a.Bot.Announce(ctx, a.cfg.ReportChannel, reply)
		}})
}

// openRecord opens DB_PATH for reading the record, or says why not.
func openRecord(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer) (Config, *store.DB, error) {
	cfg, _, err := LoadConfig(name, args, getenv, stderr, needNothing)
	if err != nil {
		return cfg, nil, configError(err)
	}
	if _, err := os.Stat(cfg.DBPath); err != nil {
		return cfg, nil, fmt.Errorf("no database at %s (set DB_PATH)", cfg.DBPath)
	}
	db, err := store.Open(ctx, cfg.DBPath)
	return cfg, db, err
}

// timelineCmd: `bot timeline INC-…` prints the incident's postmortem draft
// in Markdown, from DB_PATH.
func timelineCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !strings.HasPrefix(strings.ToUpper(args[0]), "INC-") {
		return usageError{msg: "bot timeline needs an incident ID", hint: "usage: bot timeline INC-… [flags]"}
	}
	id := strings.ToUpper(args[0])
	cfg, db, err := openRecord(ctx, "timeline", args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := db.Timeline(ctx, id)
	if errors.Is(err, oncall.ErrUnknown) {
		return usageError{msg: fmt.Sprintf("no incident %s in %s", id, cfg.DBPath)}
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, oncall.Postmortem(t, cfg.Loc, nil))
	return err
}

// reportCmd: `bot report [--days 7] [--team T] [--to 2026-03-02] [--out DIR]`
// prints the on-call report in Markdown, or writes it with its charts into
// DIR.
func reportCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	days := fs.Int("days", 7, "days the report covers, up to its end")
	team := fs.String("team", "", "only the incidents of this team (alert label team, or the graph's node team)")
	end := fs.String("to", "", "the end of the period: a date (midnight in TZ) or RFC 3339 time; default now")
	out := fs.String("out", "", "directory to write report.md and its charts into; default: the Markdown on stdout, without charts")
	var own, rest []string
	for i := 0; i < len(args); i++ { // the report's flags, then configuration flags
		name := strings.TrimLeft(strings.SplitN(args[i], "=", 2)[0], "-")
		if fs.Lookup(name) != nil && strings.HasPrefix(args[i], "-") {
			own = append(own, args[i])
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				own, i = append(own, args[i+1]), i+1
			}
			continue
		}
		rest = append(rest, args[i])
	}
	if err := fs.Parse(own); err != nil {
		return err
	}
	if *days < 1 || *days > 366 {
		return usageError{msg: fmt.Sprintf("--days %d: a report covers 1 to 366 days", *days)}
	}
	cfg, db, err := openRecord(ctx, "report", rest, getenv, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	to := time.Now()
	if *end != "" {
		if to, err = time.ParseInLocation(time.DateOnly, *end, cfg.Loc); err != nil {
			if to, err = time.Parse(time.RFC3339, *end); err != nil {
				return usageError{msg: fmt.Sprintf("--to %q is neither a date (2026-03-02) nor an RFC 3339 time", *end)}
			}
		}
	}
	g := cfg.Graph()
	r, err := oncall.Build(ctx, db, oncall.Options{From: to.AddDate(0, 0, -*days), To: to, Team: *team, Loc: cfg.Loc, OnCall: cfg.OnCall,
		TeamOf: func(n string) string { node, _ := g.Node(n); return node.Team }})
	if err != nil {
		return err
	}
	if *out == "" {
		return oncall.WriteMarkdown(stdout, r, cfg.Loc, nil, nil)
	}
	return writeReport(r, cfg.Loc, *out, stdout)
}

// writeReport writes report.md and its charts into dir.
func writeReport(r oncall.Report, loc *time.Location, dir string, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	charts, err := commands.ReportCharts(r, loc)
	if err != nil {
		return err
	}
	var links []oncall.Chart
	for _, c := range charts {
		if err := os.WriteFile(filepath.Join(dir, c.Name), c.Data, 0o644); err != nil {
			return fmt.Errorf("report chart: %w", err)
		}
		links = append(links, oncall.Chart{Title: c.Title, File: c.Name})
	}
	var b strings.Builder
	if err := oncall.WriteMarkdown(&b, r, loc, nil, links); err != nil {
		return err
	}
	path := filepath.Join(dir, "report.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "wrote %s and %d charts\n", path, len(charts))
	return err
}
