// Command loadgen measures nightowl under load: it starts the Slack emulator
// (bot/slackemu) on 127.0.0.1, builds and runs the real bot (`bot run`) as a
// subprocess against it, relays alert storms into #alerts exactly as
// Alertmanager's Slack notifier does with nightowl's template, and reports
// cards, Web API calls, card latency, envelope ack latency and the bot's own
// peak RSS (VmHWM), against the targets in docs/performance.md.
//
//	go run ./cmd/loadgen -scenario storm          # 10,000 alerts, 200 services, 20 incidents, 60 s
//	go run ./cmd/loadgen -scenario one-incident   # 100,000 alerts on one incident
//	go run ./cmd/loadgen -scenario soak -duration 1h
//	go run ./cmd/loadgen -short                   # every scenario, small, < 60 s each
//
// It exits 1 when a target is missed and 2 on a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Main runs loadgen and returns its exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	scenario := fs.String("scenario", "all", "storm | one-incident | soak | all (soak only with -short or an explicit -duration)")
	fs.IntVar(&o.Alerts, "alerts", 0, "alert entries to relay (default: storm 10000, one-incident 100000)")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to relay (default: storm 60s, one-incident 100s, soak 1h)")
	fs.IntVar(&o.Incidents, "incidents", 0, "storm: incidents, each a cluster of ten services (default 20)")
	fs.Float64Var(&o.Rate, "rate", 0, "soak: alert entries a second (default 20)")
	fs.DurationVar(&o.GroupWait, "group-wait", 10*time.Second, "the bot's GROUP_WAIT")
	fs.BoolVar(&o.Short, "short", false, "small versions (storm 1,000 alerts/10 s/5 incidents, one-incident 5,000, soak 30 s)")
	fs.StringVar(&o.Bot, "bot", "", "a built bot binary (default: go build ./cmd/bot)")
	fs.BoolVar(&o.Keep, "keep", false, "keep each scenario's temp dir (the bot's log and database); its path is printed unless -quiet")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	scenarios := []string{*scenario}
	switch *scenario {
	case "all":
		scenarios = []string{"storm", "one-incident"}
		if o.Short || o.Duration != 0 {
			scenarios = append(scenarios, "soak")
		}
	case "storm", "one-incident", "soak":
	default:
		fmt.Fprintf(stderr, "loadgen: unknown scenario %q: storm, one-incident, soak or all\n", *scenario)
		return 2
	}
	if !*quiet {
		o.Log = stderr
	}
	if o.Bot == "" {
		dir, err := os.MkdirTemp("", "nightowl-loadgen-bin-")
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if o.Bot, err = buildBot(ctx, dir); err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return 1
		}
	}
	var results []*result
	code := 0
	for _, s := range scenarios {
		o := o
		o.Scenario = s
		r, err := runScenario(ctx, o)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: %s: %v\n", s, err)
			return 1
		}
		results = append(results, r)
		if r.missed() {
			code = 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(results)
	} else {
		for _, r := range results {
			printResult(stdout, r)
		}
	}
	return code
}

// printResult writes r as a table of figures, then its targets.
func printResult(w io.Writer, r *result) {
	ms := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	name := r.Scenario
	if r.Short {
		name += " (-short)"
	}
	fmt.Fprintf(tw, "== %s\n", name)
	fmt.Fprintf(tw, "relayed\t%d alerts in %d notifications over %s, incidents %d, GROUP_WAIT %s\n",
		r.Alerts, r.Messages, r.RelayedIn.Round(100*time.Millisecond), r.Incidents, r.GroupWait)
	fmt.Fprintf(tw, "cards\t%d (incidents without one: %d)\n", r.Cards, r.NoCard)
	fmt.Fprintf(tw, "Web API calls\t%d (%d failed): %s\n", r.WebAPI, r.Failed, byMethod(r.ByMethod))
	if r.Scenario != "one-incident" {
		fmt.Fprintf(tw, "first alert → card\tp50 %s, max %s\n", ms(r.CardP50), ms(r.CardMax))
	}
	fmt.Fprintf(tw, "peak RSS (VmHWM)\t%.1f MB\n", float64(r.PeakRSSKB)/1024)
	fmt.Fprintf(tw, "envelope ack (alert messages)\tp50 %s, p99 %s, timed out %d\n", ms(r.AckP50), ms(r.AckP99), r.AckMissed)
	if r.Rows > 0 {
		fmt.Fprintf(tw, "post → alert row in SQLite\tp50 %s, p99 %s, max %s (%d rows, 10 ms polling)\n", ms(r.RowP50), ms(r.RowP99), ms(r.RowMax), r.Rows)
		var slow []string
		for _, p := range r.RowSlow[:min(5, len(r.RowSlow))] {
			slow = append(slow, fmt.Sprintf("%s at %s (nearest card post/update %+.0fms)", ms(p.Latency), p.At.Round(100*time.Millisecond), p.Publish.Seconds()*1000))
		}
		fmt.Fprintf(tw, "slowest to SQLite\t%s\n", strings.Join(slow, "; "))
	}
	if r.Scenario == "one-incident" {
		fmt.Fprintf(tw, "card\tshows %d alerts, edited %d×, %d chat.update after the last post\n", r.CardAlerts, r.CardEdits, r.LateUpdate)
	}
	if r.Scenario == "soak" {
		fmt.Fprintf(tw, "RSS by minute\t%s\n", rssCurve(r.RSS))
	}
	for _, t := range r.Targets {
		mark := "met"
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(tw, "target: %s\t%s (want %s): %s\n", t.Name, t.Got, t.Want, mark)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func byMethod(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// rssCurve is the RSS sample nearest each whole minute (each 5 s for runs
// under two minutes), in MB.
func rssCurve(samples []rssSample) string {
	if len(samples) == 0 {
		return "none"
	}
	every := time.Minute
	if samples[len(samples)-1].At < 2*time.Minute {
		every = 5 * time.Second
	}
	var parts []string
	next := time.Duration(0)
	for i, s := range samples {
		if s.At >= next || i == len(samples)-1 {
			parts = append(parts, fmt.Sprintf("%s %.0f", s.At.Round(time.Second), float64(s.RSS)/1024))
			next = s.At.Truncate(every) + every
		}
	}
	return strings.Join(slices.Compact(parts), " · ")
}
