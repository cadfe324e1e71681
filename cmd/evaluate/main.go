// Command evaluate measures nightowl's diagnosis where it cannot have been
// tuned: on synthetic incidents drawn from one half of the generator's
// vocabulary (diagnosis/scenarios/synth), against baselines, signal by
// signal, for calibration, and leaving each hand-written topology out.
//
//	go run ./cmd/evaluate [-half test|tune] [-n 600] [-seed 1] [-markdown]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/synth"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run evaluates and prints the report; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	half := fs.String("half", "test", "vocabulary half the incidents are drawn from: test (to measure) or tune (to tune on)")
	n := fs.Int("n", 600, "number of synthetic incidents")
	seed := fs.Int64("seed", 1, "generator seed")
	markdown := fs.Bool("markdown", false, "print Markdown tables (for docs/diagnosis.md) instead of text")
	workers := fs.Int("workers", 0, "diagnoses run in parallel (0: GOMAXPROCS)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	h, err := synth.ParseHalf(*half)
	if err != nil || *n < 1 {
		fmt.Fprintf(stderr, "evaluate: %v\nusage: evaluate [-half test|tune] [-n 600] [-seed 1] [-markdown]\n", orDefault(err, "-n must be at least 1"))
		return 2
	}
	sc, elapsed, err := evaluate(h, *n, *seed, *workers)
	if err != nil {
		fmt.Fprintf(stderr, "evaluate: %v\n", err)
		return 1
	}
	if *markdown {
		fmt.Fprint(stdout, sc.Markdown())
	} else {
		fmt.Fprint(stdout, sc.Text())
	}
	fmt.Fprintf(stdout, "\nGenerated and measured in %s (GOMAXPROCS %d).\n", elapsed.Round(10*time.Millisecond), runtime.GOMAXPROCS(0))
	return 0
}

// evaluate generates the incidents and measures today's engine on them.
func evaluate(h synth.Half, n int, seed int64, workers int) (bench.Scorecard, time.Duration, error) {
	began := time.Now()
	var generated []scenarios.Scenario
	for _, in := range synth.Generate(seed, n, h) {
		generated = append(generated, in.Scenario)
	}
	cases, err := bench.Cases(generated, bench.KeepResolved())
	if err != nil {
		return bench.Scorecard{}, 0, fmt.Errorf("synthetic incidents: %w", err)
	}
	corpus, err := scenarios.Corpus()
	if err != nil {
		return bench.Scorecard{}, 0, err
	}
	holdout, err := scenarios.Holdout()
	if err != nil {
		return bench.Scorecard{}, 0, err
	}
	handwritten, err := bench.Cases(append(corpus, holdout...), bench.KeepResolved())
	if err != nil {
		return bench.Scorecard{}, 0, fmt.Errorf("hand-written incidents: %w", err)
	}
	sc := bench.Measure(bench.Config{
		Title:       fmt.Sprintf("nightowl on %d synthetic incidents (%s half, seed %d)", n, h, seed),
		Cases:       cases,
		Diagnose:    bench.Engine(),
		Ablate:      func(disable []string) bench.Diagnose { return bench.Engine(disable...) },
		Signals:     diagnosis.SignalNames(),
		Handwritten: handwritten,
		RootTypes:   synth.RootTypes(),
		Workers:     workers,
	})
	return sc, time.Since(began), nil
}

func orDefault(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}
