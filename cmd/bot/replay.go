package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
	"github.com/nightowl-sre/nightowl/diagnosis/replay"
)

const replayUsage = "usage: bot replay --prometheus URL [--since 7d] [--until TIME] [--format text|json|markdown] [--out DIR] [--graph FILE]\n" +
	"       bot replay --from FILE [same flags]   (FILE: Alertmanager webhook JSON, one payload a line)"

// replayFlags are replay's own flags; every other flag is a setting of
// `bot run` (SERVICE_GRAPH, GROUP_WAIT …), read by LoadConfig.
type replayFlags struct {
	prometheus, since, until, from, format, out, tz string
	step, repeat                                    time.Duration
}

// replayCmd replays a team's alert history through nightowl's grouping
// and diagnosis on a simulated clock and reports what nightowl would have
// done: incidents, pages (at night too), root causes, beside what
// Alertmanager sent.
func replayCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f, rest, err := parseReplayFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	cfg, extra, err := LoadConfig("replay", rest, getenv, stderr, needNothing)
	if err != nil {
		return configError(err)
	}
	if len(extra) > 0 {
		return usageError{msg: fmt.Sprintf("replay takes no arguments, got %q", extra[0]), hint: replayUsage}
	}
	loc, err := time.LoadLocation(f.tz)
	if err != nil {
		return usageError{msg: fmt.Sprintf("--tz %q is not a time zone such as Europe/Berlin or UTC", f.tz)}
	}
	w, err := replayWindow(f, time.Now())
	if err != nil {
		return err
	}
	log := newLogger(stderr, max(cfg.LogLevel, slog.LevelWarn), cfg.LogFormat)
	progress := progressLine(stderr)
	var (
		intervals []replay.Interval
		am        *replay.Notifications
		source    = "file"
	)
	if f.from != "" {
		if intervals, err = readWebhookLines(f.from); err != nil {
			return err
		}
	} else {
		source = "prometheus"
		p, err := prom.New(prom.Config{URL: f.prometheus, Timeout: time.Minute, Logger: log})
		if err != nil {
			return usageError{msg: err.Error(), hint: replayUsage}
		}
		if intervals, err = replay.ReadAlerts(ctx, p, w, f.step, progress.step("reading ALERTS")); err != nil {
			return err
		}
		if am, err = replay.ReadNotifications(ctx, p, w, max(f.step, 5*time.Minute)); err != nil {
			return err
		}
	}
	events := replay.Events(intervals, w.Until, f.repeat)
	incidents, err := runReplay(ctx, cfg, w.Since, events, log, progress.step("replaying notifications"))
	progress.done()
	if err != nil {
		return err
	}
	rep := replay.Build(w, loc, intervals, len(events), incidents, am)
	rep.Source = source
	rep.Notes = replayNotes(cfg, source, am, f.repeat)
	switch f.format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "markdown":
		return writeReplayMarkdown(rep, f.out, stdout)
	}
	return replay.WriteText(stdout, rep)
}

// runReplay builds nightowl's live incident state and engine as `bot run`
// does (NewApp), with the simulated clock, and replays events through it.
func runReplay(ctx context.Context, cfg Config, start time.Time, events []replay.Event, log *slog.Logger, progress replay.Progress) ([]replay.Incident, error) {
	sim := replay.NewSimulator(replay.SimConfig{Start: start, Settle: max(cfg.GroupWait, 10*time.Second) + time.Second, Progress: progress})
	// The graph as `bot run` would start with it: SERVICE_GRAPH, and with
	// GRAPH_DISCOVERY what Prometheus scrapes now, merged.
	g := graph.NewCurrent(cfg.GraphSnapshot())
	if _, err := startGraph(ctx, cfg, g, nil, log); err != nil {
		return nil, err
	}
	engine := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Resolver: cfg.Resolver(), Queries: cfg.Queries(), Now: sim.Now, Logger: log})
	live := diagnosis.NewLive(diagnosis.LiveConfig{
		Grouper: diagnosis.GrouperConfig{Wait: cfg.GroupWait, Graph: g, Resolver: cfg.Resolver(), Logger: log,
			MaxAlerts: cfg.IncidentMaxAlerts, MaxIncidents: cfg.MaxIncidents, StaleAfter: cfg.IncidentStaleAfter,
			Taken: sim.Taken, Now: sim.Now},
		Diagnoser: engine, Logger: log,
	})
	return sim.Run(ctx, live, events)
}

// parseReplayFlags takes replay's own flags out of args (before or after
// the settings') and leaves the rest, with --graph as --service-graph.
func parseReplayFlags(args []string, getenv func(string) string, stderr io.Writer) (replayFlags, []string, error) {
	f := replayFlags{}
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.prometheus, "prometheus", getenv("PROMETHEUS_URL"), "Prometheus base URL whose ALERTS series to replay (default $PROMETHEUS_URL)")
	fs.StringVar(&f.since, "since", "7d", "start of the window: a duration back from --until (7d, 36h) or an RFC 3339 time")
	fs.StringVar(&f.until, "until", "", "end of the window: an RFC 3339 time (default now)")
	fs.StringVar(&f.from, "from", "", "replay Alertmanager webhook JSON lines from this file instead of Prometheus")
	fs.StringVar(&f.format, "format", "text", "text, json or markdown")
	fs.StringVar(&f.out, "out", "", "directory for the markdown report and its PNG charts")
	fs.StringVar(&f.tz, "tz", cmpOr(getenv("TZ"), "UTC"), "time zone of nights (22:00–07:00) and days (default $TZ, else UTC)")
	fs.DurationVar(&f.step, "step", 30*time.Second, "resolution at which ALERTS is read")
	fs.DurationVar(&f.repeat, "repeat", replay.DefaultRepeat, "Alertmanager's repeat_interval: how often a firing alert is notified again")
	own := map[string]bool{}
	fs.VisitAll(func(fl *flag.Flag) { own[fl.Name] = true })
	var mine, rest []string
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch {
		case !strings.HasPrefix(args[i], "-"):
			rest = append(rest, args[i])
		case name == "graph":
			rest = append(rest, "--service-graph")
			if hasValue {
				rest = append(rest, value)
			} else if i+1 < len(args) {
				rest, i = append(rest, args[i+1]), i+1
			}
		case own[name]:
			mine = append(mine, args[i])
			if !hasValue && i+1 < len(args) {
				mine, i = append(mine, args[i+1]), i+1
			}
		default:
			rest = append(rest, args[i])
		}
	}
	if err := fs.Parse(mine); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, nil, err
		}
		return f, nil, usageError{msg: err.Error(), hint: replayUsage}
	}
	switch {
	case f.format != "text" && f.format != "json" && f.format != "markdown":
		return f, nil, usageError{msg: fmt.Sprintf("--format %q: use text, json or markdown", f.format), hint: replayUsage}
	case f.from == "" && f.prometheus == "":
		return f, nil, usageError{msg: "replay needs a history: --prometheus URL (or PROMETHEUS_URL), or --from FILE", hint: replayUsage}
	case f.step <= 0:
		return f, nil, usageError{msg: fmt.Sprintf("--step %v: use a positive duration such as 30s", f.step)}
	case f.repeat <= 0:
		return f, nil, usageError{msg: fmt.Sprintf("--repeat %v: use a positive duration such as 4h", f.repeat)}
	case f.out != "" && f.format != "markdown":
		return f, nil, usageError{msg: "--out is for --format markdown"}
	}
	return f, rest, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// replayWindow reads --since and --until.
func replayWindow(f replayFlags, now time.Time) (replay.Window, error) {
	until := now.UTC().Truncate(time.Second)
	if f.until != "" {
		t, err := time.Parse(time.RFC3339, f.until)
		if err != nil {
			return replay.Window{}, usageError{msg: fmt.Sprintf("--until %q is not an RFC 3339 time such as 2024-06-10T00:00:00Z", f.until)}
		}
		until = t.UTC()
	}
	since, err := time.Parse(time.RFC3339, f.since)
	if err != nil {
		d, derr := parseDays(f.since)
		if derr != nil || d <= 0 {
			return replay.Window{}, usageError{msg: fmt.Sprintf("--since %q is neither a duration such as 7d or 36h nor an RFC 3339 time", f.since)}
		}
		since = until.Add(-d)
	}
	if !since.Before(until) {
		return replay.Window{}, usageError{msg: fmt.Sprintf("--since %s is not before --until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))}
	}
	return replay.Window{Since: since.UTC(), Until: until}, nil
}

// readWebhookLines reads Alertmanager webhook payloads, one JSON document a
// line (blank lines skipped), and rebuilds the alerts' firing intervals.
func readWebhookLines(path string) ([]replay.Interval, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read alert history: %w", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var alerts []diagnosis.Alert
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		got, err := intake.ParseWebhook(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		alerts = append(alerts, got...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return replay.FromAlerts(alerts), nil
}

// replayNotes says what the replay could not know.
func replayNotes(cfg Config, source string, am *replay.Notifications, repeat time.Duration) []string {
	var notes []string
	if source == "prometheus" {
		notes = append(notes, "ALERTS keeps labels, not annotations: the replay had no summaries or descriptions, so root causes were "+
			"ranked without the words of the alerts' text.")
		if am == nil {
			notes = append(notes, "Prometheus has no alertmanager_notifications_total in the window: what Alertmanager sent is unknown.")
		}
	} else {
		notes = append(notes, "Webhook lines carry no count of what Alertmanager sent: its side is unknown.")
	}
	if cfg.Graph().Len() == 0 && cfg.GraphDiscovery != "prometheus" {
		notes = append(notes, "No service graph (--graph, SERVICE_GRAPH or GRAPH_DISCOVERY): alerts were grouped by time and shared labels, and diagnosed "+
			"without graph signals.")
	}
	notes = append(notes,
		"No metric or incident-history evidence: root causes come from the alerts and the service graph alone.",
		fmt.Sprintf("Alertmanager's batching (group_wait, group_interval) is not replayed: each alert reaches nightowl when it fired or "+
			"resolved, and again every %s while it fires (repeat_interval).", diagnosis.Elapsed(repeat)))
	return notes
}

// progress draws one line on stderr when it is a terminal.
type progress struct {
	w  io.Writer
	on bool
}

func progressLine(w io.Writer) progress {
	f, ok := w.(*os.File)
	if !ok {
		return progress{}
	}
	st, err := f.Stat()
	return progress{w: w, on: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

func (p progress) step(what string) replay.Progress {
	if !p.on {
		return nil
	}
	return func(done, total int) { fmt.Fprintf(p.w, "\r\033[K%s: %d/%d", what, done, total) }
}

func (p progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
