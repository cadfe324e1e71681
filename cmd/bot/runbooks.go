package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/playbooks"
	"github.com/nightowl-sre/nightowl/runbooks"
	"github.com/nightowl-sre/nightowl/store"
)

// runbooksCmd: `bot runbooks lint` checks the catalog and that each
// playbook parses (ansible-playbook --syntax-check).
func runbooksCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "lint" {
		return usageError{msg: "runbooks needs a subcommand", hint: "usage: bot runbooks lint [--runbooks-dir DIR] [--playbooks-dir DIR]"}
	}
	cfg, _, err := LoadConfig("runbooks lint", args[1:], getenv, stderr, needNothing)
	if err != nil {
		return configError(err)
	}
	cat, err := runbooks.LoadCatalog(cfg.RunbooksDir, runbooks.LoadOptions{PlaybooksDir: cfg.PlaybooksDir})
	if err != nil {
		fmt.Fprintf(stdout, "✗ catalog %s:\n  %s\n", cfg.RunbooksDir, indentJoin(err))
		return errors.New("the runbook catalog has problems")
	}
	runner, err := playbooks.New(playbooks.Config{Dir: cfg.PlaybooksDir, Logger: newLogger(stderr, cfg.LogLevel, cfg.LogFormat)})
	if err != nil {
		return err
	}
	failed := 0
	for _, rb := range cat.List() {
		path := filepath.Join(cfg.PlaybooksDir, rb.Playbook)
		if err := runner.SyntaxCheck(ctx, path); err != nil {
			failed++
			fmt.Fprintf(stdout, "✗ %s (%s): %v\n", rb.ID, filepath.Base(rb.File), err)
			continue
		}
		fmt.Fprintf(stdout, "✓ %s %s — %s, %s risk, %d approval(s), check first: %v, timeout %s\n",
			rb.ID, rb.Playbook, rb.Title, rb.Risk, rb.Approvals.Required, rb.DryRun, rb.Timeout)
	}
	if failed > 0 {
		return fmt.Errorf("%d playbook(s) do not parse", failed)
	}
	fmt.Fprintf(stdout, "%d runbooks, all playbooks parse.\n", len(cat.List()))
	return nil
}

// auditCmd: `bot audit [--incident ID]` prints the record: incident events
// and every runbook request, approval, refusal, task and outcome.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	incident := fs.String("incident", "", "only this incident (INC-…)")
	var rest []string
	for i := 0; i < len(args); i++ { // take --incident out, leave configuration flags
		if args[i] == "--incident" || args[i] == "-incident" {
			if i+1 < len(args) {
				*incident, i = args[i+1], i+1
				continue
			}
		}
		if v, ok := strings.CutPrefix(args[i], "--incident="); ok {
			*incident = v
			continue
		}
		rest = append(rest, args[i])
	}
	cfg, _, err := LoadConfig("audit", rest, getenv, stderr, needNothing)
	if err != nil {
		return configError(err)
	}
	if _, err := os.Stat(cfg.DBPath); err != nil {
		return fmt.Errorf("no database at %s (set DB_PATH)", cfg.DBPath)
	}
	db, err := store.Open(ctx, cfg.DBPath)
	if err != nil {
		return err
	}
	defer db.Close()
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	if *incident != "" {
		events, err := db.Events(ctx, *incident)
		if err != nil {
			return err
		}
		for _, e := range events {
			lines = append(lines, line{e.At, fmt.Sprintf("%-12s %-16s %s %s", e.Incident, e.Kind, who(e.Actor), e.Detail)})
		}
	}
	audit, err := db.Audit(ctx, *incident)
	if err != nil {
		return err
	}
	for _, e := range audit {
		lines = append(lines, line{e.At, fmt.Sprintf("%-12s %-16s %s %s %s %s", e.Incident, e.Kind, e.Runbook, e.Request, who(e.Actor), e.Detail)})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	if len(lines) == 0 {
		fmt.Fprintln(stdout, "nothing on the record", map[bool]string{true: "for " + *incident, false: "yet"}[*incident != ""])
		return nil
	}
	for _, l := range lines {
		fmt.Fprintf(stdout, "%s  %s\n", l.at.UTC().Format("2006-01-02 15:04:05.000"), strings.TrimSpace(l.text))
	}
	return nil
}

func who(actor string) string {
	if actor == "" {
		return "-"
	}
	return "by " + actor
}
