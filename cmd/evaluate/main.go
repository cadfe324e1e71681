// Command evaluate measures nightowl's diagnosis where it cannot have been
// tuned: on synthetic incidents drawn from one half of the generator's
// vocabulary (diagnosis/scenarios/synth), against baselines, signal by
// signal, for calibration, and leaving each hand-written topology out.
//
//	go run ./cmd/evaluate [-half test|tune] [-n 600] [-seed 1] [-markdown] [-refit] [-prometheus] [-disable signal,…]
//
// With -refit, leave-one-topology-out refits the model's parameters for each
// topology on the others and on generated tuning-half incidents (slow:
// minutes); without it, only the temperature is fitted per topology. With
// -prometheus, hand-written incidents that ship metrics are diagnosed with
// a real Prometheus serving them, as the bot runs with PROMETHEUS_URL.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
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
	refit := fs.Bool("refit", false, "leave-one-topology-out refits the parameters on the other topologies (slow)")
	disable := fs.String("disable", "", "signals the engine leaves out everywhere, comma-separated (e.g. signature: how it does on error texts it has no signature for)")
	misses := fs.String("misses", "", "print the misses of one root type (or \"all\") on the tuning half, or of the hand-written corpus (\"corpus\"; never the held-out set), with their alerts and which signals cost them, and stop")
	grouping := fs.Bool("grouping", false, "group every hand-written storm as the bot would, with its graph and with an empty one, print how many stayed whole, and stop")
	withMetrics := fs.Bool("prometheus", false, "serve each hand-written incident's metrics from a real Prometheus (Debian prometheus and promtool), as the bot queries one with PROMETHEUS_URL set; without it, hand-written incidents are diagnosed from alerts alone")
	fitOnly := fs.Bool("fit", false, "fit the model's parameters on the tuning half and the corpus (never the held-out set), print them as Go, and stop")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	h, err := synth.ParseHalf(*half)
	if err != nil || *n < 1 {
		fmt.Fprintf(stderr, "evaluate: %v\nusage: evaluate [-half test|tune] [-n 600] [-seed 1] [-markdown]\n", orDefault(err, "-n must be at least 1"))
		return 2
	}
	var srv *servers
	if *withMetrics {
		if srv, err = newServers(); err != nil {
			fmt.Fprintf(stderr, "evaluate: %v\n", err)
			return 1
		}
		defer srv.stop()
		defer srv.stopOnSignal(os.Exit)()
	}
	if *grouping {
		if err := printGrouping(stdout); err != nil {
			fmt.Fprintf(stderr, "evaluate: %v\n", err)
			return 1
		}
		return 0
	}
	if *fitOnly {
		if err := fitParams(stdout, *workers, srv); err != nil {
			fmt.Fprintf(stderr, "evaluate: %v\n", err)
			return 1
		}
		return 0
	}
	var off []string
	for _, s := range strings.Split(*disable, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if !slices.Contains(diagnosis.SignalNames(), s) {
				fmt.Fprintf(stderr, "evaluate: -disable: no signal %q (signals: %s)\n", s, strings.Join(diagnosis.SignalNames(), ", "))
				return 2
			}
			off = append(off, s)
		}
	}
	if *misses != "" {
		if h != synth.Tune {
			fmt.Fprintln(stderr, "evaluate: -misses reads the tuning half only (-half tune): the test half is for measuring")
			return 2
		}
		return printMisses(stdout, stderr, *misses, *n, *seed, off, srv)
	}
	sc, elapsed, err := evaluate(h, *n, *seed, *workers, *refit, off, srv)
	if err != nil {
		fmt.Fprintf(stderr, "evaluate: %v\n", err)
		return 1
	}
	if *markdown {
		fmt.Fprint(stdout, sc.Markdown())
	} else {
		fmt.Fprint(stdout, sc.Text())
	}
	if srv != nil {
		fmt.Fprintf(stdout, "\nHand-written incidents with metrics (%d scenarios) were diagnosed with a real Prometheus serving them.\n", srv.count())
	}
	fmt.Fprintf(stdout, "\nGenerated and measured in %s (GOMAXPROCS %d).\n", elapsed.Round(10*time.Millisecond), runtime.GOMAXPROCS(0))
	return 0
}

// evaluate generates the incidents and measures today's engine on them.
func evaluate(h synth.Half, n int, seed int64, workers int, refit bool, off []string, srv *servers) (bench.Scorecard, time.Duration, error) {
	began := time.Now()
	var generated []scenarios.Scenario
	for _, in := range synth.Generate(seed, n, h) {
		generated = append(generated, in.Scenario)
	}
	cases, err := bench.Cases(generated, bench.KeepResolved())
	if err != nil {
		return bench.Scorecard{}, 0, fmt.Errorf("synthetic incidents: %w", err)
	}
	handwritten, err := handwrittenCases(srv)
	if err != nil {
		return bench.Scorecard{}, 0, err
	}
	heldOut, err := heldOutTopologies()
	if err != nil {
		return bench.Scorecard{}, 0, err
	}
	var fit bench.Fit
	if refit {
		tuneCases, err := tuningCases()
		if err != nil {
			return bench.Scorecard{}, 0, err
		}
		_, anchors, err := developmentCases(srv)
		if err != nil {
			return bench.Scorecard{}, 0, err
		}
		fit = bench.ParamsFit(bench.FitSet{Generated: tuneCases, RootTypes: synth.RootTypes(), Anchors: anchors}, diagnosis.DefaultParams(), 1, workers)
	}
	sc := bench.Measure(bench.Config{
		Title:       fmt.Sprintf("nightowl on %d synthetic incidents (%s half, seed %d)", n, h, seed),
		Cases:       cases,
		Diagnose:    bench.Engine(off...),
		Ablate:      func(disable []string) bench.Diagnose { return bench.Engine(append(slices.Clone(off), disable...)...) },
		Signals:     diagnosis.SignalNames(),
		Handwritten: handwritten,
		Fit:         fit,
		HeldOut:     heldOut,
		RootTypes:   synth.RootTypes(),
		Workers:     workers,
	})
	return sc, time.Since(began), nil
}

// handwrittenCases are the corpus, the held-out set and the Black Friday
// storm: every incident written by hand.
func handwrittenCases(srv *servers) ([]bench.Case, error) {
	all, err := scenarios.Handwritten()
	if err != nil {
		return nil, err
	}
	cases, err := bench.Cases(all, bench.KeepResolved())
	if err != nil {
		return nil, fmt.Errorf("hand-written incidents: %w", err)
	}
	if err := srv.attach(all, cases); err != nil {
		return nil, err
	}
	return cases, nil
}

// printGrouping groups the corpus's and the held-out set's storms (and
// the Black Friday storm's) with their graphs and with an empty graph, and
// prints one summary line each: which storms stayed one card.
func printGrouping(w io.Writer) error {
	corpus, err := scenarios.Corpus()
	if err != nil {
		return err
	}
	bf, err := scenarios.BlackFridayScenario()
	if err != nil {
		return err
	}
	held, err := scenarios.Holdout()
	if err != nil {
		return err
	}
	empty, err := graph.New(nil)
	if err != nil {
		return err
	}
	engine := func(s scenarios.Scenario, r *diagnosis.Resolver) *diagnosis.Engine {
		return diagnosis.NewEngine(diagnosis.EngineConfig{Graph: s.Graph, Resolver: r})
	}
	for _, set := range []struct {
		name string
		s    []scenarios.Scenario
	}{{"corpus and Black Friday", append(slices.Clone(corpus), bf)}, {"held-out set", held}} {
		for _, withGraph := range []bool{true, false} {
			in := slices.Clone(set.s)
			how := "with their graphs"
			if !withGraph {
				how = "with an empty graph"
				for i := range in {
					in[i].Graph = empty
				}
			}
			ev, err := bench.Evaluate(in, engine)
			if err != nil {
				return err
			}
			line, _, _ := strings.Cut(ev.Grouping.Report(), "\n")
			fmt.Fprintf(w, "%s, %s: %s\n", set.name, how, line)
		}
	}
	return nil
}

// heldOutTopologies are the topologies of the held-out set.
func heldOutTopologies() ([]string, error) {
	held, err := scenarios.Holdout()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range held {
		if !slices.Contains(out, s.Topology) {
			out = append(out, s.Topology)
		}
	}
	return out, nil
}

// developmentCases are the hand-written incidents parameters may be fitted
// on: the corpus and the Black Friday storm, never the held-out set; and
// the storm again, on its own graph and on the demo's, as the anchors the
// fit must keep right and sure.
func developmentCases(srv *servers) (dev, anchors []bench.Case, err error) {
	corpus, err := scenarios.Corpus()
	if err != nil {
		return nil, nil, err
	}
	bf, err := scenarios.BlackFridayScenario()
	if err != nil {
		return nil, nil, err
	}
	if dev, err = bench.Cases(append(corpus, bf), bench.KeepResolved()); err != nil {
		return nil, nil, fmt.Errorf("development incidents: %w", err)
	}
	demo := bf
	demo.Graph = graph.Example() // the demo's graph, which lacks some of the storm's own edges
	if anchors, err = bench.Cases([]scenarios.Scenario{bf, demo}, bench.KeepResolved()); err != nil {
		return nil, nil, fmt.Errorf("black friday storm: %w", err)
	}
	if err := srv.attach(corpus, dev); err != nil {
		return nil, nil, err
	}
	return dev, anchors, nil
}

// tuningCases are the generated incidents parameters are fitted on: the
// tuning half only.
func tuningCases() ([]bench.Case, error) {
	var tune []scenarios.Scenario
	for _, in := range synth.Generate(fitSeed, fitN, synth.Tune) {
		tune = append(tune, in.Scenario)
	}
	cases, err := bench.Cases(tune, bench.KeepResolved())
	if err != nil {
		return nil, fmt.Errorf("tuning incidents: %w", err)
	}
	return cases, nil
}

// fitParams fits DefaultParams anew and prints them.
func fitParams(w io.Writer, workers int, srv *servers) error {
	tune, err := tuningCases()
	if err != nil {
		return err
	}
	hand, anchors, err := developmentCases(srv)
	if err != nil {
		return err
	}
	set := bench.FitSet{Generated: tune, Handwritten: hand, RootTypes: synth.RootTypes(), Anchors: anchors}
	fmt.Fprintf(w, "objective at DefaultParams: %.4f\n", set.Objective(diagnosis.DefaultParams(), workers))
	p := bench.FitParams(set, diagnosis.DefaultParams(), 2, workers, func(name string, from, to, obj float64) {
		fmt.Fprintf(w, "  %-20s %8.3f → %8.3f  objective %.4f\n", name, from, to, obj)
	})
	fmt.Fprintf(w, "%#v\n", p)
	return nil
}

// The generated tuning incidents -refit and -fit fit on (the defaults were
// fitted on the same draw).
const (
	fitSeed = 7
	fitN    = 240
)

func orDefault(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}

// printMisses diagnoses tuning-half incidents and prints, for each one of
// rootType whose right answer is not ranked first, what was wanted, the
// top candidates and the alerts: what to read before changing the model.
func printMisses(stdout, stderr io.Writer, rootType string, n int, seed int64, off []string, srv *servers) int {
	var generated []scenarios.Scenario
	if rootType == "corpus" {
		corpus, err := scenarios.Corpus()
		if err != nil {
			fmt.Fprintf(stderr, "evaluate: %v\n", err)
			return 1
		}
		generated, rootType = corpus, "all"
	} else {
		for _, in := range synth.Generate(seed, n, synth.Tune) {
			generated = append(generated, in.Scenario)
		}
	}
	cases, err := bench.Cases(generated, bench.KeepResolved())
	if err == nil {
		err = srv.attach(generated, cases)
	}
	if err != nil {
		fmt.Fprintf(stderr, "evaluate: %v\n", err)
		return 1
	}
	diagnose := bench.Engine(off...)
	gap, ranked := map[string]float64{}, 0
	for _, c := range cases {
		if rootType != "all" && c.RootType != rootType {
			continue
		}
		d := diagnose(c)
		rank := 0
		for i, cand := range d.Candidates {
			if c.Right(cand.Service) {
				rank = i + 1
				break
			}
		}
		if rank == 1 {
			continue
		}
		if rank > 1 {
			ranked++
			right, top := d.Candidates[rank-1].Terms, d.Candidates[0].Terms
			for _, sig := range diagnosis.SignalNames() {
				gap[sig] += right[sig] - top[sig]
			}
		}
		fmt.Fprintf(stdout, "== %s (%s) want %s, rank %d\n", c.Name, c.RootType, c.Want.RootCause, rank)
		for i, cand := range d.Candidates[:min(4, len(d.Candidates))] {
			fmt.Fprintf(stdout, "   %d. %s %.2f\n", i+1, cand.Service, cand.Confidence)
			for _, e := range cand.Evidence {
				fmt.Fprintf(stdout, "        - %s\n", e)
			}
		}
		for _, a := range c.Alerts {
			fmt.Fprintf(stdout, "   alert %s %v | %s\n", a.Name(), a.Labels, strings.Join(strings.Fields(a.Annotations["summary"]+" "+a.Annotations["description"]), " "))
		}
	}
	printGap(stdout, gap, ranked)
	return 0
}

// printGap says which signals cost the misses: for the misses whose right
// answer is a candidate, the mean of each signal's term for the right
// candidate minus the top one's (log-likelihood ratios; negative: the
// signal spoke for the wrong answer).
func printGap(w io.Writer, gap map[string]float64, ranked int) {
	if ranked == 0 {
		return
	}
	fmt.Fprintf(w, "\nSignals, right answer minus top candidate (mean over the %d misses whose right answer is a candidate):\n", ranked)
	sigs := diagnosis.SignalNames()
	slices.SortStableFunc(sigs, func(a, b string) int {
		switch da, db := gap[a], gap[b]; {
		case da < db:
			return -1
		case da > db:
			return 1
		}
		return 0
	})
	for _, sig := range sigs {
		if v := gap[sig] / float64(ranked); v != 0 {
			fmt.Fprintf(w, "  %-10s %+.2f\n", sig, v)
		}
	}
}
