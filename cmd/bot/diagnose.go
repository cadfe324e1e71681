package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
)

// diagnoseCmd diagnoses the alerts of an Alertmanager webhook JSON file (or
// stdin) as one incident and prints the Diagnosis: JSON for scripts
// (docs/diagnose-json.md), or text for people.
func diagnoseCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	format := "json"
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--format" || a == "-format":
			if i+1 >= len(args) {
				return usageError{msg: "--format needs a value: json or text"}
			}
			format, i = args[i+1], i+1
		case strings.HasPrefix(a, "--format="):
			format = strings.TrimPrefix(a, "--format=")
		default:
			rest = append(rest, a)
		}
	}
	if format != "json" && format != "text" {
		return usageError{msg: fmt.Sprintf("--format %q: use json or text", format)}
	}
	cfg, files, err := LoadConfig("diagnose", rest, getenv, stderr, needNothing)
	if err != nil {
		return configError(err)
	}
	if len(files) != 1 {
		return usageError{msg: "diagnose needs one file (or - for stdin)", hint: "usage: bot diagnose [--format json|text] FILE|-"}
	}
	var data []byte
	if files[0] == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(files[0])
	}
	if err != nil {
		return fmt.Errorf("read alerts: %w", err)
	}
	alerts, err := intake.ParseWebhook(data)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	g := cfg.Graph()
	resolve := cfg.Resolver().Node
	in := diagnosis.Incident{ID: "", Status: diagnosis.Resolved}
	for _, a := range alerts {
		if a.Fingerprint == "" {
			a.Fingerprint = diagnosis.Fingerprint(a.Labels)
		}
		if a.Status == diagnosis.Firing {
			in.Status = diagnosis.Firing
		}
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a, Node: resolve(a), Received: 1})
		in.Received++
	}
	metrics, err := cfg.Metrics(newLogger(stderr, cfg.LogLevel, cfg.LogFormat))
	if err != nil {
		return err
	}
	engine := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Resolver: cfg.Resolver(), Metrics: metrics, Queries: cfg.Queries(), Now: time.Now})
	d := engine.Diagnose(ctx, in)
	if format == "text" {
		return writeDiagnosisText(stdout, d)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

func writeDiagnosisText(w io.Writer, d diagnosis.Diagnosis) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", d.Summary)
	for i, c := range d.Candidates {
		if i == 5 {
			fmt.Fprintf(&b, "… and %d more candidates\n", len(d.Candidates)-5)
			break
		}
		graphNote := ""
		if !c.InGraph && !d.NoGraph {
			graphNote = " (not in graph)"
		}
		fmt.Fprintf(&b, "%d. %s%s — %.0f%%", i+1, c.Service, graphNote, c.Confidence*100)
		if len(c.Alerts) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(c.Alerts, ", "))
		}
		b.WriteString("\n")
		for _, e := range c.Evidence {
			fmt.Fprintf(&b, "   - %s\n", e)
		}
	}
	fmt.Fprintf(&b, "\nAffected (%d): %s\n", len(d.AffectedServices), strings.Join(d.AffectedServices, ", "))
	if len(d.NotInGraph) > 0 {
		fmt.Fprintf(&b, "Not in graph: %s\n", strings.Join(d.NotInGraph, ", "))
	}
	if d.NoGraph {
		b.WriteString("No service graph: diagnosed without graph signals (set SERVICE_GRAPH)\n")
	}
	fmt.Fprintf(&b, "Alerts: %d distinct, %d firing, %d resolved\n", d.Alerts.Distinct, d.Alerts.Firing, d.Alerts.Resolved)
	if d.RecommendedRunbook != "" {
		fmt.Fprintf(&b, "Recommended runbook: %s (%s)\n", d.RecommendedRunbook, d.RunbookReason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
