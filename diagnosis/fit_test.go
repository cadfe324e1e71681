package diagnosis_test

import (
	"context"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
)

// fitCase is one incident with its right answers, for fitting weights.
type fitCase struct {
	graph *graph.Graph
	r     *diagnosis.Resolver
	in    diagnosis.Incident
	want  []string
	now   time.Time
}

func fitCases(tb testing.TB) []fitCase {
	corpus, err := scenarios.Corpus()
	if err != nil {
		tb.Fatal(err)
	}
	var out []fitCase
	for _, s := range corpus {
		r, _ := diagnosis.NewResolver(s.Graph, nil)
		for _, exp := range s.Incidents {
			out = append(out, fitCase{s.Graph, r, bench.IncidentOf(r, exp.Alerts), append([]string{exp.RootCause}, exp.Acceptable...), s.Start.Add(time.Hour)})
		}
	}
	// The Black Friday storm, with and without the labels that make it easy.
	bf := blackFriday(tb)
	r, _ := diagnosis.NewResolver(graph.Example(), nil)
	for _, strip := range [][]string{nil, {"root_cause_candidate"}, {"root_cause_candidate", "layer", "runbook"}} {
		var alerts []diagnosis.Alert
		for _, a := range bf {
			a.Labels = maps.Clone(a.Labels)
			for _, l := range strip {
				delete(a.Labels, l)
			}
			alerts = append(alerts, a)
		}
		out = append(out, fitCase{graph.Example(), r, bench.IncidentOf(r, alerts), []string{"order-service"}, bf[0].StartsAt.Add(time.Hour)})
	}
	return out
}

// score evaluates weights: top-1 hits, and the mean log-probability of the
// right answer (for calibration).
func score(cases []fitCase, w map[string]float64, temp float64) (int, float64) {
	hits, ll := 0, 0.0
	for _, c := range cases {
		e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: c.graph, Resolver: c.r, Weights: w, Temperature: temp, Now: func() time.Time { return c.now }})
		d := e.Diagnose(context.Background(), c.in)
		p := 1e-6
		for i, cand := range d.Candidates {
			if slices.Contains(c.want, cand.Service) {
				if i == 0 {
					hits++
				}
				p = math.Max(cand.Confidence, 1e-6)
				break
			}
		}
		ll += math.Log(p)
	}
	return hits, ll / float64(len(cases))
}

// TestFitWeights searches signal weights on the corpus by coordinate ascent
// (FIT=1 go test -run TestFitWeights -v ./diagnosis/) and fails when it finds
// weights that name the right root cause for more incidents than the
// shipped ones: then signals.go needs the new values. It takes seconds, so
// it only runs when asked.
func TestFitWeights(t *testing.T) {
	if os.Getenv("FIT") == "" {
		t.Skip("set FIT=1 to search weights")
	}
	cases := fitCases(t)
	w := diagnosis.DefaultWeights()
	names := make([]string, 0, len(w))
	for k := range w {
		names = append(names, k)
	}
	sort.Strings(names)
	grid := []float64{0, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5}
	better := func(h1 int, l1 float64, h2 int, l2 float64) bool { return h1 > h2 || (h1 == h2 && l1 > l2+1e-9) }
	bestH, bestL := score(cases, w, 1)
	startH := bestH
	t.Logf("start: %d/%d top-1, mean log p %.3f", startH, len(cases), bestL)
	for round := 0; round < 4; round++ {
		changed := false
		for _, k := range names {
			orig := w[k]
			for _, v := range grid {
				w[k] = v
				if h, l := score(cases, w, 1); better(h, l, bestH, bestL) {
					bestH, bestL, orig, changed = h, l, v, true
				}
			}
			w[k] = orig
		}
		if !changed {
			break
		}
	}
	bestT := 1.0
	for _, temp := range []float64{0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3} {
		if h, l := score(cases, w, temp); h == bestH && l > bestL {
			bestL, bestT = l, temp
		}
	}
	t.Logf("best: %d/%d top-1, mean log p %.3f, temperature %.2f, weights %v", bestH, len(cases), bestL, bestT, w)
	if shipped, _ := score(cases, diagnosis.DefaultWeights(), 1); bestH > shipped+1 {
		t.Errorf("the search names %d root causes right, the shipped weights %d: update signals.go", bestH, shipped)
	}
}
