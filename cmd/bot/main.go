// Command bot is nightowl: a Slack ChatOps bot that turns an alert storm into
// one threaded incident card with its root cause and runbook.
//
//	bot [run]            serve Slack over Socket Mode (the default)
//	bot demo             replay the Black Friday storm through an in-process Slack
//	bot diagnose FILE|-  diagnose an Alertmanager webhook JSON file
//	bot runbooks lint    check the runbook catalog and its playbooks
//	bot audit            print the record of runbook runs
//	bot timeline INC-…   print an incident's postmortem draft (Markdown)
//	bot report           print the on-call report (Markdown; --out DIR adds charts)
//	bot backup FILE      copy the database into a new file, while it runs
//	bot restore          bring the database back from its replica (REPLICA_URL)
//	bot graph discover   print the service graph Prometheus's metrics imply
//	bot graph check FILE check a graph file (and the services it misses)
//	bot healthcheck      ask a running nightowl's /healthz (Docker's HEALTHCHECK)
//	bot replay           what nightowl would have done with last week's alerts
//	bot version          print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nightowl-sre/nightowl/bot"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in how the command was called: shown with a hint.
type usageError struct{ msg, hint string }

func (e usageError) Error() string { return e.msg }

// Main runs one subcommand and returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	sub := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		sub, args = args[0], args[1:]
	}
	var err error
	switch sub {
	case "run":
		err = runCmd(ctx, args, getenv, stderr)
	case "demo":
		err = demoCmd(ctx, args, getenv, stdout, stderr)
	case "diagnose":
		err = diagnoseCmd(ctx, args, getenv, stdin, stdout, stderr)
	case "runbooks":
		err = runbooksCmd(ctx, args, getenv, stdout, stderr)
	case "audit":
		err = auditCmd(ctx, args, getenv, stdout, stderr)
	case "timeline":
		err = timelineCmd(ctx, args, getenv, stdout, stderr)
	case "report":
		err = reportCmd(ctx, args, getenv, stdout, stderr)
	case "backup":
		err = backupCmd(ctx, args, getenv, stdout, stderr)
	case "restore":
		err = restoreCmd(ctx, args, getenv, stdout, stderr)
	case "graph":
		err = graphCmd(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		err = healthcheckCmd(ctx, args, getenv, stdout, stderr)
	case "replay":
		err = replayCmd(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "nightowl", version)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
	default:
		err = usageError{msg: fmt.Sprintf("unknown command %q", sub), hint: usage}
	}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "nightowl: %s\n", ue.msg)
		if ue.hint != "" {
			fmt.Fprintln(stderr, ue.hint)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "nightowl: %v\n", err)
		return 1
	}
}

const usage = `usage: bot [command] [flags]

commands:
  run              serve Slack over Socket Mode (default)
  demo             replay the Black Friday storm through an in-process Slack and print the channel
  diagnose FILE|-  diagnose an Alertmanager webhook JSON file (--format json|text)
  runbooks lint    check the runbook catalog and that every playbook parses
  audit            print the record: runbook requests, approvals, refusals, runs (--incident INC-…)
  timeline INC-…   print an incident's timeline as a Markdown postmortem draft, from DB_PATH
  report           print the on-call report from DB_PATH (--days 7|30, --team T, --to DATE, --out DIR for report.md and charts)
  backup FILE      copy the database (DB_PATH) into a new file, safely while nightowl runs
  restore          bring the database back from its replica (REPLICA_URL; --replica URL, --to NEW-FILE)
  graph            discover a service graph from Prometheus (discover), or check a graph file (check FILE)
  healthcheck      ask a running nightowl whether it is alive: GET /healthz on METRICS_ADDR (--url), exit 0 or 1
  replay           replay last week's alerts (Prometheus ALERTS or webhook lines): the pages nightowl would have sent
  version          print the version

Every setting is an environment variable and a flag: see "bot run -h".`

func runCmd(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := LoadConfig("run", args, getenv, stderr, needSlack)
	if err != nil {
		return configError(err)
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if cfg.LeaderElection != "none" || cfg.ReplicaURL != "" {
		return runReplica(ctx, cfg, log) // replicas.go
	}
	app, err := NewApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	err = app.Run(ctx)
	if errors.Is(err, bot.ErrTokenRefused) {
		return fmt.Errorf("SLACK_BOT_TOKEN: %w; copy the Bot User OAuth Token (xoxb-…) again from the app's OAuth & Permissions page", err)
	}
	return err
}

// configError lists every configuration problem, one per line.
func configError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{msg: "configuration is not usable:\n  " + indentJoin(err), hint: "Run with -h for every setting."}
}

func indentJoin(err error) string {
	var errs interface{ Unwrap() []error }
	if !errors.As(err, &errs) {
		return err.Error()
	}
	s := ""
	for i, e := range errs.Unwrap() {
		if i > 0 {
			s += "\n  "
		}
		s += e.Error()
	}
	return s
}
