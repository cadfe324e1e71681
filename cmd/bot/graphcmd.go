package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
)

const (
	graphUsage = "usage: bot graph discover [--prometheus URL] [--window 1h] [--format yaml|json]\n" +
		"       bot graph check FILE [--db DB_PATH]"
	// alertLookback is how far back `graph check --db` looks for alerting services.
	alertLookback = 7 * 24 * time.Hour
	// storeTimeLayout is how store writes times (store/timecol.go).
	storeTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"
)

// graphCmd is `bot graph discover` (a service graph from what Prometheus
// already scrapes, in the SERVICE_GRAPH file format) and `bot graph check`
// (a graph file is valid, and knows every service that alerted lately).
func graphCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{msg: "graph needs a subcommand", hint: graphUsage}
	}
	switch args[0] {
	case "discover":
		return graphDiscoverCmd(ctx, args[1:], getenv, stdout, stderr)
	case "check":
		return graphCheckCmd(ctx, args[1:], getenv, stdout, stderr)
	}
	return usageError{msg: fmt.Sprintf("unknown graph subcommand %q", args[0]), hint: graphUsage}
}

// parseFlags parses fs over args, flags before and after the positional
// arguments alike, and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{msg: err.Error(), hint: graphUsage}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

func graphDiscoverCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graph discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	promURL := fs.String("prometheus", getenv("PROMETHEUS_URL"), "Prometheus base URL (default $PROMETHEUS_URL)")
	window := fs.Duration("window", prom.DefaultDiscoveryWindow, "request rates and pods over this window")
	format := fs.String("format", "yaml", "yaml or json")
	at := fs.String("at", "", "evaluate at this RFC 3339 time instead of now")
	timeout := fs.Duration("timeout", 30*time.Second, "per query")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError{msg: fmt.Sprintf("graph discover takes no arguments, got %q", pos[0]), hint: graphUsage}
	case *promURL == "":
		return usageError{msg: "graph discover needs Prometheus: set --prometheus or PROMETHEUS_URL", hint: graphUsage}
	case *format != "yaml" && *format != "json":
		return usageError{msg: fmt.Sprintf("--format %q: want yaml or json", *format), hint: graphUsage}
	case *window < time.Second:
		return usageError{msg: fmt.Sprintf("--window %v: want a second or more", *window), hint: graphUsage}
	}
	when := time.Now().UTC()
	if *at != "" {
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return usageError{msg: fmt.Sprintf("--at %q: want an RFC 3339 time", *at), hint: graphUsage}
		}
	}
	client, err := prom.New(prom.Config{URL: *promURL, Timeout: *timeout})
	if err != nil {
		return usageError{msg: err.Error(), hint: graphUsage}
	}
	results, err := client.Discover(ctx, prom.DiscoverOptions{Window: *window, At: when, Exporters: graph.ExporterMetrics()})
	if err != nil {
		return err
	}
	in, failed := discoveryInput(results)
	d := graph.Discover(in)
	if len(d.Nodes) == 0 {
		if len(failed) == len(results) && len(failed) > 0 {
			first, _, _ := strings.Cut(failed[0], "\n")
			return fmt.Errorf("discovery found nothing: every family failed, the first with %s", first)
		}
		if len(failed) > 0 {
			return fmt.Errorf("discovery found nothing; %d families failed:\n  %s", len(failed), strings.Join(failed, "\n  "))
		}
		return fmt.Errorf("Prometheus at %s has none of the series discovery reads (%s) in the %s before %s",
			redactURL(*promURL), familyNames(), shortDuration(*window), when.Format(time.RFC3339))
	}
	out, err := graph.Encode(d.Nodes, *format)
	if err != nil {
		return err
	}
	if _, err := graph.Parse(out); err != nil {
		return fmt.Errorf("the discovered graph does not parse back: %w", err)
	}
	header := discoveryHeader(redactURL(*promURL), *window, when, results, d)
	if *format == "json" {
		io.WriteString(stderr, header) // JSON has no comments
	} else {
		io.WriteString(stdout, header)
	}
	stdout.Write(out)
	if len(failed) > 0 {
		return fmt.Errorf("%d families failed (the graph above has the others):\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return nil
}

// discoveryInput turns Prometheus's answers into discovery's input, and
// lists the families that failed.
func discoveryInput(results []prom.FamilyResult) (graph.Input, []string) {
	in := graph.Input{}
	var failed []string
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, strings.ReplaceAll(r.Err.Error(), "\n", "\n  "))
		}
		samples := make([]graph.Sample, 0, len(r.Series))
		for _, s := range r.Series {
			if len(s.Points) > 0 {
				samples = append(samples, graph.Sample{Labels: s.Labels, Value: s.Points[len(s.Points)-1].V})
			}
		}
		in[graph.Family(r.Family)] = samples
	}
	return in, failed
}

// discoveryHeader is the comment above a discovered graph: where it comes
// from, the families found and the edges each source showed.
func discoveryHeader(where string, window time.Duration, at time.Time, results []prom.FamilyResult, d graph.Discovery) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Discovered by nightowl (bot graph discover) from Prometheus at %s,\n", where)
	fmt.Fprintf(&b, "# over the %s before %s. Review it, then point SERVICE_GRAPH at it.\n", shortDuration(window), at.UTC().Format(time.RFC3339))
	var found, absent, failed []string
	for _, r := range results {
		switch {
		case r.Err != nil:
			failed = append(failed, r.Family)
		case len(r.Series) == 0:
			absent = append(absent, r.Family)
		default:
			found = append(found, fmt.Sprintf("%s (%d series)", r.Family, len(r.Series)))
		}
	}
	fmt.Fprintf(&b, "# Families found: %s\n", listOrNone(found))
	fmt.Fprintf(&b, "# Families absent: %s\n", listOrNone(absent))
	if len(failed) > 0 {
		fmt.Fprintf(&b, "# Families that failed: %s\n", strings.Join(failed, ", "))
	}
	counts := countBySource(d.Edges)
	deps := 0
	for _, n := range d.Nodes {
		deps += len(n.DependsOn)
	}
	fmt.Fprintf(&b, "# Edges: %s; %d nodes, %d dependencies.\n", listOrNone(counts), len(d.Nodes), deps)
	for _, w := range d.Warnings {
		fmt.Fprintf(&b, "# Warning: %s\n", w)
	}
	return b.String()
}

// shortDuration is d as people write it: 1h, 30m, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

func familyNames() string {
	var names []string
	for _, f := range graph.Families() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// redactURL is raw without its credentials, for what the command prints.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.Redacted()
}

func graphCheckCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graph check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "", "also list the services that alerted in the last 7 days and the graph does not know (default $DB_PATH when set)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{msg: "graph check needs one graph file", hint: graphUsage}
	}
	if *dbPath == "" {
		*dbPath = getenv("DB_PATH")
	}
	g, err := graph.Load(pos[0])
	if err != nil {
		fmt.Fprintf(stdout, "✗ %v\n", err)
		return errors.New("the graph file has problems")
	}
	deps := 0
	for _, n := range g.Names() {
		deps += len(g.DependsOn(n))
	}
	problems := len(g.Warnings())
	fmt.Fprintf(stdout, "✓ %s: %d services, %d dependencies\n", pos[0], g.Len(), deps)
	for _, w := range g.Warnings() {
		fmt.Fprintf(stdout, "✗ %s\n", w)
	}
	if *dbPath != "" {
		now := time.Now()
		seen, err := alertingServices(ctx, *dbPath, now.Add(-alertLookback))
		if err != nil {
			return err
		}
		var unknown []string
		for _, s := range seen {
			if _, ok := g.Lookup(s.name); !ok {
				unknown = append(unknown, fmt.Sprintf("%s (%d alerts)", s.name, s.alerts))
			}
		}
		if len(unknown) == 0 {
			fmt.Fprintf(stdout, "✓ the graph knows all %d services that alerted in the last 7 days (%s)\n", len(seen), *dbPath)
		} else {
			problems += len(unknown)
			fmt.Fprintf(stdout, "✗ %d of %d services that alerted in the last 7 days are not in the graph (name or alias):\n  %s\n",
				len(unknown), len(seen), strings.Join(unknown, "\n  "))
		}
	}
	if problems > 0 {
		return fmt.Errorf("%d problems in %s", problems, pos[0])
	}
	return nil
}

type alerting struct {
	name   string
	alerts int
}

// alertingServices lists the services of the alerts received since then,
// reading the database read-only with the SQLite driver store registers.
func alertingServices(ctx context.Context, path string, since time.Time) ([]alerting, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no database at %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `
		SELECT service, count(*) FROM alerts
		WHERE received_at >= ? AND service <> ''
		GROUP BY service ORDER BY service`, since.UTC().Format(storeTimeLayout))
	if err != nil {
		return nil, fmt.Errorf("alerting services in %s: %w", path, err)
	}
	defer rows.Close()
	var out []alerting
	for rows.Next() {
		var a alerting
		if err := rows.Scan(&a.name, &a.alerts); err != nil {
			return nil, fmt.Errorf("alerting services in %s: %w", path, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerting services in %s: %w", path, err)
	}
	return out, nil
}

// countBySource says how many of the edges each source gave ("istio 12"),
// sorted.
func countBySource(edges []graph.Edge) []string {
	by := map[graph.Source]int{}
	for _, e := range edges {
		by[e.Source]++
	}
	var out []string
	for src, n := range by {
		out = append(out, fmt.Sprintf("%s %d", src, n))
	}
	sort.Strings(out)
	return out
}
