// Package bench measures diagnosis and grouping on scenarios with a known
// root cause (the hand-written corpus and held-out set, and generated
// incidents): top-1, top-3 and MRR with intervals, per root type, beside
// baselines that live here only to be measured against (the design
// article's algorithm, personalised PageRank, …), ablations, calibration on
// held-out folds and leave-one-topology-out.
package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// Outcome is how one diagnosis of a corpus incident went.
type Outcome struct {
	Scenario   string
	Rank       int     // 1-based rank of the right answer; 0 when absent
	Confidence float64 // of the top candidate
	Top, Want  string
}

// Evaluation holds the outcomes of one run over the corpus.
type Evaluation struct {
	// Diagnosis: each expected incident diagnosed from exactly its alerts.
	Diagnosis []Outcome
	// EndToEnd: the scenario's alerts grouped by the Grouper first, as the bot would.
	EndToEnd []Outcome
	// Seed: the design article's algorithm on the same incidents.
	Seed []Outcome
	// Splits counts incidents the Grouper did not keep whole.
	Splits int
	// Grouping measures the Grouper on the storms alone (noise left out).
	Grouping Grouping
}

// EngineFor builds the engine a scenario is diagnosed with.
type EngineFor func(s scenarios.Scenario, r *diagnosis.Resolver) *diagnosis.Engine

// Evaluate diagnoses every incident of the corpus.
func Evaluate(corpus []scenarios.Scenario, engine EngineFor) (Evaluation, error) {
	var ev Evaluation
	for _, s := range corpus {
		r, err := diagnosis.NewResolver(s.Graph, nil)
		if err != nil {
			return ev, fmt.Errorf("%s: %w", s.Name, err)
		}
		e := engine(s, r)
		live := groupAll(s, r)
		grouped, split := pair(s, live)
		ev.Splits += split
		ev.Grouping.add(s, live)
		for i, exp := range s.Incidents {
			name := s.Name
			if exp.Label != "" {
				name += "#" + exp.Label
			}
			judge := func(in diagnosis.Incident) Outcome {
				d := e.Diagnose(context.Background(), in)
				var ranked []string
				for _, c := range d.Candidates {
					ranked = append(ranked, c.Service)
				}
				top, _ := d.Top()
				return Outcome{name, rankOf(ranked, exp), top.Confidence, top.Service, exp.RootCause}
			}
			ev.Diagnosis = append(ev.Diagnosis, judge(IncidentOf(r, exp.Alerts)))
			ev.EndToEnd = append(ev.EndToEnd, judge(grouped[i]))
			ev.Seed = append(ev.Seed, Outcome{Scenario: name, Rank: rankOf(SeedBaseline(s.Graph, exp.Alerts), exp), Want: exp.RootCause})
		}
	}
	return ev, nil
}

// IncidentOf is an incident holding exactly these alerts, at the storm's
// height (every alert firing); KeepResolved keeps resolved alerts resolved.
func IncidentOf(r *diagnosis.Resolver, alerts []diagnosis.Alert, opts ...IncidentOption) diagnosis.Incident {
	return incidentOf(r, alerts, opts)
}

// Group runs a scenario's alerts through the Grouper, as the bot would, and
// pairs each expected incident with the grouped incident that holds most of
// its alerts; split counts expected incidents not kept whole.
func Group(s scenarios.Scenario, r *diagnosis.Resolver) (incidents []diagnosis.Incident, split int) {
	return pair(s, groupAll(s, r))
}

// groupAll runs a scenario's alerts, every one firing, through a Grouper
// with the default settings (MaxGap is StormWindow) and returns its
// incidents, newest first.
func groupAll(s scenarios.Scenario, r *diagnosis.Resolver) []diagnosis.Incident {
	g := diagnosis.NewGrouper(diagnosis.GrouperConfig{Graph: s.Graph, Resolver: r, MaxGap: StormWindow}, diagnosis.SinkFunc(func(context.Context, diagnosis.Update) {}))
	all := s.AllAlerts()
	for i := range all {
		all[i].Status, all[i].EndsAt = diagnosis.Firing, time.Time{}
	}
	g.Add(all...)
	return g.Live()
}

// pair matches each expected incident with the grouped incident that holds
// most of its alerts; split counts expected incidents not kept whole.
func pair(s scenarios.Scenario, live []diagnosis.Incident) (incidents []diagnosis.Incident, split int) {
	for _, exp := range s.Incidents {
		want := map[string]bool{}
		for _, a := range exp.Alerts {
			want[a.Fingerprint] = true
		}
		best, bestN := 0, -1
		for j, in := range live {
			n := 0
			for _, a := range in.Alerts {
				if want[a.Fingerprint] {
					n++
				}
			}
			if n > bestN {
				best, bestN = j, n
			}
		}
		incidents = append(incidents, live[best])
		if bestN < len(exp.Alerts) {
			split++
		}
	}
	return incidents, split
}

// SeedBaseline is the design article's algorithm: an explicit
// root_cause_candidate alert wins; otherwise the service label with the
// most affected callers wins. It ranks the affected service labels.
func SeedBaseline(g *graph.Graph, alerts []diagnosis.Alert) []string {
	var affected []string
	for _, a := range alerts {
		if s := a.Service(); s != "" && !slices.Contains(affected, s) {
			affected = append(affected, s)
		}
	}
	for _, a := range alerts {
		if a.RootCauseCandidate() && a.Service() != "" {
			rest := slices.DeleteFunc(slices.Clone(affected), func(s string) bool { return s == a.Service() })
			return append([]string{a.Service()}, rest...)
		}
	}
	score := map[string]int{}
	for _, s := range affected {
		for _, caller := range g.Dependents(s) {
			if slices.Contains(affected, caller) {
				score[s]++
			}
		}
	}
	ranked := slices.Clone(affected)
	sort.SliceStable(ranked, func(i, j int) bool { return score[ranked[i]] > score[ranked[j]] })
	return ranked
}

func rankOf(ranked []string, exp scenarios.Expected) int {
	for i, s := range ranked {
		if s == exp.RootCause || slices.Contains(exp.Acceptable, s) {
			return i + 1
		}
	}
	return 0
}

// Accuracy is the share of outcomes right at rank 1 and within the top 3.
func Accuracy(os []Outcome) (top1, top3 float64) {
	if len(os) == 0 {
		return 0, 0
	}
	for _, o := range os {
		if o.Rank == 1 {
			top1++
		}
		if o.Rank >= 1 && o.Rank <= 3 {
			top3++
		}
	}
	n := float64(len(os))
	return top1 / n, top3 / n
}

// Calibration bins the top candidates by confidence and compares each bin's
// mean confidence with how often it was right; ECE is the weighted mean gap.
func Calibration(os []Outcome) (report string, ece float64) {
	edges := []float64{0, 0.5, 0.7, 0.8, 0.9, 1.0001}
	var b strings.Builder
	b.WriteString("calibration of the top candidate (confidence bin: n, mean confidence, accuracy):")
	for i := 0; i+1 < len(edges); i++ {
		n, conf, right := 0, 0.0, 0
		for _, o := range os {
			if o.Confidence >= edges[i] && o.Confidence < edges[i+1] {
				n++
				conf += o.Confidence
				if o.Rank == 1 {
					right++
				}
			}
		}
		if n == 0 {
			continue
		}
		mc, acc := conf/float64(n), float64(right)/float64(n)
		ece += float64(n) / float64(len(os)) * math.Abs(mc-acc)
		fmt.Fprintf(&b, "\n  [%.1f, %.1f): %2d  %.2f  %.2f", edges[i], math.Min(edges[i+1], 1), n, mc, acc)
	}
	fmt.Fprintf(&b, "\n  expected calibration error %.3f", ece)
	return b.String(), ece
}

// Report is a readable summary of an evaluation.
func (ev Evaluation) Report(what string) string {
	var b strings.Builder
	t1, t3 := Accuracy(ev.Diagnosis)
	g1, g3 := Accuracy(ev.EndToEnd)
	s1, s3 := Accuracy(ev.Seed)
	fmt.Fprintf(&b, "corpus (%s): %d incidents\n", what, len(ev.Diagnosis))
	fmt.Fprintf(&b, "nightowl diagnosis:          top-1 %5.1f%%  top-3 %5.1f%%\n", 100*t1, 100*t3)
	fmt.Fprintf(&b, "nightowl with its grouping:  top-1 %5.1f%%  top-3 %5.1f%%  (%d incidents not kept whole by the Grouper)\n", 100*g1, 100*g3, ev.Splits)
	fmt.Fprintf(&b, "seed article's algorithm:    top-1 %5.1f%%  top-3 %5.1f%%\n", 100*s1, 100*s3)
	b.WriteString(ev.Grouping.Report())
	for _, o := range ev.Diagnosis {
		if o.Rank != 1 {
			fmt.Fprintf(&b, "  missed %-58s ranked %d, top %s (%.2f), want %s\n", o.Scenario, o.Rank, o.Top, o.Confidence, o.Want)
		}
	}
	cal, _ := Calibration(ev.Diagnosis)
	b.WriteString(cal)
	return b.String()
}

// SyntheticGraph builds n services in systems of 25 that share nothing,
// each layered: databases at the bottom, applications in the middle, a
// gateway on top; each service calls up to three lower ones of its system.
func SyntheticGraph(n int) *graph.Graph {
	const system = 25
	nodes := make([]graph.Node, n)
	seed := uint64(1)
	next := func(k int) int { // a small deterministic generator: no math/rand state to share
		seed = seed*6364136223846793005 + 1442695040888963407
		return int((seed >> 33) % uint64(k))
	}
	for i := range nodes {
		nodes[i].Name = fmt.Sprintf("svc-%03d", i)
		first, pos := i-i%system, i%system
		switch {
		case pos < 3:
			nodes[i].Kind = "database"
		case pos == system-1:
			nodes[i].Kind = "ingress"
		default:
			nodes[i].Kind = "service"
		}
		for d := 0; d < 3 && pos > 0; d++ {
			dep := nodes[first+next(pos)].Name
			if !slices.Contains(nodes[i].DependsOn, dep) {
				nodes[i].DependsOn = append(nodes[i].DependsOn, dep)
			}
		}
	}
	g, err := graph.New(nodes)
	if err != nil {
		panic(err)
	}
	return g
}

// SyntheticStorm returns n firing alerts spread over the graph's services,
// 50ms apart from start, with summaries.
func SyntheticStorm(g *graph.Graph, n int, start time.Time) []diagnosis.Alert {
	names := g.Names()
	kinds := []string{"ServiceErrorRateHigh", "ServiceLatencyHigh", "HighCPUUsage", "PodRestarting"}
	out := make([]diagnosis.Alert, 0, n)
	for i := range n {
		svc := names[(i*7919)%len(names)]
		labels := map[string]string{
			"alertname": kinds[i%len(kinds)], "service": svc, "namespace": "production", "severity": "warning",
			"instance": fmt.Sprintf("10.0.%d.%d:9100", i/250, i%250),
		}
		out = append(out, diagnosis.Alert{
			Status: diagnosis.Firing, Labels: labels, Annotations: map[string]string{"summary": svc + " is unhappy"},
			StartsAt: start.Add(time.Duration(i) * 50 * time.Millisecond), Fingerprint: diagnosis.Fingerprint(labels),
		})
	}
	return out
}
