package bench_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestWilsonIntervalsMatchTheTextbook(t *testing.T) {
	for _, tc := range []struct {
		k, n     float64
		lo, hi   float64
		sentence string
	}{
		{8, 10, 0.4902, 0.9433, "8 of 10"},
		{0, 10, 0, 0.2775, "none of 10: the interval still reaches 28%"},
		{10, 10, 0.7225, 1, "all of 10"},
		{50, 100, 0.4038, 0.5962, "half of 100"},
	} {
		lo, hi := bench.Wilson(tc.k, int(tc.n))
		if !near(lo, tc.lo, 5e-4) || !near(hi, tc.hi, 5e-4) {
			t.Errorf("%s: got [%.4f, %.4f], want [%.4f, %.4f]", tc.sentence, lo, hi, tc.lo, tc.hi)
		}
	}
}

func TestMRRIsTheMeanReciprocalRank(t *testing.T) {
	if got := bench.MRR([]int{1, 2, 0, 4}); !near(got, (1+0.5+0+0.25)/4, 1e-12) {
		t.Errorf("MRR of ranks 1, 2, absent, 4 = %v, want 0.4375", got)
	}
	e := bench.MeanInterval([]float64{1, 0.5, 0, 0.25})
	// s = sqrt(((.5625)²+(.0625)²+(.4375)²+(.1875)²)/3) = 0.4270; half = 1.96·s/2.
	if !near(e.Value, 0.4375, 1e-12) || !near(e.Lo, 0.4375-1.959964*0.4270/2, 1e-3) || e.Hi != math.Min(1, e.Hi) {
		t.Errorf("MeanInterval = %+v, want 0.4375 ± 0.418", e)
	}
}

// tiny is a hand-made case: services on a graph, alerts on some, the answer.
func tiny(t *testing.T, nodes []graph.Node, alerting []string, want string) bench.Case {
	t.Helper()
	g, err := graph.New(nodes)
	if err != nil {
		t.Fatal(err)
	}
	r, err := diagnosis.NewResolver(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	var alerts []diagnosis.Alert
	for i, n := range alerting {
		labels := map[string]string{"alertname": "ErrorRateHigh", "service": n, "severity": "warning"}
		alerts = append(alerts, diagnosis.Alert{Labels: labels, Fingerprint: diagnosis.Fingerprint(labels), Status: diagnosis.Firing, StartsAt: start.Add(time.Duration(i) * time.Minute)})
	}
	exp := scenarios.Expected{RootCause: want, Alerts: alerts}
	return bench.Case{Name: "tiny", Graph: g, Resolver: r, Incident: bench.IncidentOf(r, alerts, bench.KeepResolved()), Alerts: alerts, Now: start.Add(time.Hour), Want: exp}
}

func TestPageRankFindsTheQuietDependencyOfEveryAlertingService(t *testing.T) {
	// Three alerting services share a dependency x with no alert. The walk
	// restarts at the services (a third each) and follows their only edge to
	// x; x goes back to the services. Stationary: x = 0.85/(1+0.85) = 0.4595,
	// each service 0.1802.
	c := tiny(t, []graph.Node{
		{Name: "s1", DependsOn: []string{"x"}}, {Name: "s2", DependsOn: []string{"x"}}, {Name: "s3", DependsOn: []string{"x"}}, {Name: "x"},
	}, []string{"s1", "s2", "s3"}, "x")
	scores := bench.PersonalizedPageRank(c.Graph, bench.AlertWeights(c.Incident), bench.DefaultPageRank)
	if !near(scores["x"], 0.85/1.85, 1e-6) || !near(scores["s1"], 1/1.85/3, 1e-6) {
		t.Errorf("scores %v, want x 0.4595 and each service 0.1802", scores)
	}
	if got := bench.PageRank(c); got[0] != "x" {
		t.Errorf("ranking %v, want x first", got)
	}
}

func TestPageRankPrefersTheAlertingDependencyToAQuietLeaf(t *testing.T) {
	// api → db → disk; api and db alert, disk is quiet: db collects the
	// walk from api and keeps most of it (its edge to the quiet disk weighs
	// 0.25, back to api 0.1).
	c := tiny(t, []graph.Node{
		{Name: "api", DependsOn: []string{"db"}}, {Name: "db", DependsOn: []string{"disk"}}, {Name: "disk"},
	}, []string{"api", "db"}, "db")
	if got := bench.PageRank(c); got[0] != "db" {
		t.Errorf("ranking %v, want db first", got)
	}
	if got := bench.Deepest(c); !slices.Equal(got, []string{"db", "api"}) {
		t.Errorf("deepest %v, want db then api", got)
	}
	if got := bench.Earliest(c); !slices.Equal(got, []string{"api", "db"}) {
		t.Errorf("earliest %v, want api (first alert) then db", got)
	}
}

func TestRandomBaselineIsTheExactExpectation(t *testing.T) {
	c := tiny(t, []graph.Node{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}, []string{"a", "b", "c", "d"}, "c")
	r := bench.RandomAlerting([]bench.Case{c})[0]
	if !near(r.Hit1, 0.25, 1e-12) || !near(r.Hit3, 0.75, 1e-12) || !near(r.RR, (1+1.0/2+1.0/3+1.0/4)/4, 1e-12) {
		t.Errorf("one right of four: got top-1 %v, top-3 %v, RR %v; want 0.25, 0.75, 0.5208", r.Hit1, r.Hit3, r.RR)
	}
	c.Want.Acceptable = []string{"a"} // two right answers: the first is at rank 1 with p 1/2, 2 with p 1/3, 3 with p 1/6
	r = bench.RandomAlerting([]bench.Case{c})[0]
	if !near(r.Hit1, 0.5, 1e-12) || !near(r.Hit3, 1, 1e-12) || !near(r.RR, 0.5+1.0/6+1.0/18, 1e-12) {
		t.Errorf("two right of four: got top-1 %v, top-3 %v, RR %v; want 0.5, 1, 0.7222", r.Hit1, r.Hit3, r.RR)
	}
	c.Want.RootCause, c.Want.Acceptable = "nowhere", nil
	if r = bench.RandomAlerting([]bench.Case{c})[0]; r.Hit1 != 0 || r.Hit3 != 0 || r.RR != 0 {
		t.Errorf("answer not alerting: got %+v, want zeros", r)
	}
}

func TestTemperatureFitRecoversTheTrueTemperature(t *testing.T) {
	// Two candidates scored 1 and 0; the first is right 3 times in 4. At T
	// the first's probability is σ(1/T), so the likelihood peaks where
	// σ(1/T) = 3/4: T = 1/ln 3 = 0.9102.
	var rs []bench.Result
	for i := range 400 {
		right := 0
		if i%4 == 3 {
			right = 1
		}
		rs = append(rs, bench.Result{Scores: []float64{1, 0}, NoneScore: -1e6, Right: right, Rank: right + 1})
	}
	if got := bench.FitTemperature(rs); !near(got, 1/math.Log(3), 1e-4) {
		t.Errorf("fitted T = %.4f, want %.4f", got, 1/math.Log(3))
	}
	cal := bench.CrossCalibrate(rs, bench.KFold(len(rs), 5))
	if cal.ECE > 0.01 || len(cal.Temperatures) != 5 {
		t.Errorf("held-out ECE %.3f with temperatures %v, want ≈0 over 5 folds", cal.ECE, cal.Temperatures)
	}
}

func TestReliabilityBinsAndECE(t *testing.T) {
	bins, ece := bench.Reliability([]float64{0.95, 0.95, 0.55, 0.05}, []bool{true, false, true, false})
	// bin 9: conf .95, acc .5 (gap .45, weight .5); bin 5: .55 vs 1 (.45, .25); bin 0: .05 vs 0 (.05, .25)
	if want := 0.5*0.45 + 0.25*0.45 + 0.25*0.05; !near(ece, want, 1e-12) {
		t.Errorf("ECE %.4f, want %.4f", ece, want)
	}
	if bins[9].N != 2 || bins[5].N != 1 || bins[0].N != 1 {
		t.Errorf("bins %+v", bins)
	}
}

func TestKFoldIsDeterministicAndCoversEveryItemOnce(t *testing.T) {
	folds := bench.KFold(12, 5)
	var all []int
	for _, f := range folds {
		all = append(all, f...)
	}
	slices.Sort(all)
	if len(folds) != 5 || len(all) != 12 || all[0] != 0 || all[11] != 11 || !slices.Equal(folds[2], []int{2, 7}) {
		t.Errorf("folds %v", folds)
	}
}

func TestIncidentOfKeepsResolvedAlertsAndFoldsFlaps(t *testing.T) {
	c := tiny(t, []graph.Node{{Name: "a"}}, []string{"a"}, "a")
	first := c.Alerts[0]
	first.EndsAt, first.Status = first.StartsAt.Add(5*time.Minute), diagnosis.Resolved
	again := c.Alerts[0]
	again.StartsAt = first.EndsAt.Add(2 * time.Minute)
	other := first
	other.Labels = map[string]string{"alertname": "LatencyHigh", "service": "a"}
	other.Fingerprint = diagnosis.Fingerprint(other.Labels)
	in := bench.IncidentOf(c.Resolver, []diagnosis.Alert{first, other, again}, bench.KeepResolved())
	if len(in.Alerts) != 2 || in.Alerts[0].Flaps != 1 || in.Alerts[0].Status != diagnosis.Firing || in.Alerts[1].Status != diagnosis.Resolved || in.Status != diagnosis.Firing {
		t.Errorf("got %+v, want a flapped firing alert and a resolved one", in.Alerts)
	}
	if in := bench.IncidentOf(c.Resolver, []diagnosis.Alert{other}); in.Alerts[0].Status != diagnosis.Firing {
		t.Error("without KeepResolved every alert fires")
	}
}

func TestScorecardRendersEverySection(t *testing.T) {
	c := tiny(t, []graph.Node{{Name: "api", DependsOn: []string{"db"}}, {Name: "db"}}, []string{"api", "db"}, "db")
	c.RootType, c.Topology = "saturation", "t1"
	c2 := c
	c2.Topology, c2.Name = "t2", "tiny2"
	oracle := func(c bench.Case) diagnosis.Diagnosis {
		return diagnosis.Diagnosis{NoneScore: -2, Candidates: []diagnosis.Candidate{{Service: "db", Score: 1, Confidence: 0.7}, {Service: "api", Score: 0, Confidence: 0.2}}}
	}
	sc := bench.Measure(bench.Config{
		Title: "tiny", Cases: []bench.Case{c, c2}, Diagnose: oracle,
		Ablate: func([]string) bench.Diagnose { return oracle }, Signals: []string{"coverage"},
		Handwritten: []bench.Case{c, c2}, Folds: 2,
	})
	if got := sc.Methods[0].Score.Top1.Value; got != 1 {
		t.Errorf("oracle top-1 %v, want 1", got)
	}
	for _, out := range []string{sc.Text(), sc.Markdown()} {
		for _, want := range []string{"Overall", "By root type", "Ablation", "Calibration", "Leave one topology out", "personalised PageRank", "coverage"} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
	}
	if !strings.Contains(sc.Markdown(), "| method | top-1 | top-3 | MRR |") {
		t.Errorf("markdown has no overall table:\n%s", sc.Markdown())
	}
}

// An anchor the fit must keep right and sure costs a whole point when the
// parameters leave its card unsure.
func TestFitObjectiveChargesAnUnsureAnchor(t *testing.T) {
	bf, err := scenarios.BlackFridayScenario()
	if err != nil {
		t.Fatal(err)
	}
	anchors, err := bench.Cases([]scenarios.Scenario{bf}, bench.KeepResolved())
	if err != nil {
		t.Fatal(err)
	}
	set := bench.FitSet{Anchors: anchors}
	p := diagnosis.DefaultParams()
	if got := set.Objective(p, 1); got != 0 {
		t.Errorf("objective with the storm right and sure %.3f, want 0", got)
	}
	p.Temperature = 50 // every candidate near-equally likely: unsure
	if got := set.Objective(p, 1); got != -1 {
		t.Errorf("objective with the storm unsure %.3f, want -1", got)
	}
}

// The held-out topologies get their own line: only their incidents count.
func TestLeaveOneTopologyOutScoresTheHeldOutSetApart(t *testing.T) {
	c := tiny(t, []graph.Node{{Name: "api", DependsOn: []string{"db"}}, {Name: "db"}}, []string{"api", "db"}, "db")
	c.Topology = "seen"
	c2 := c
	c2.Topology, c2.Name = "held", "tiny2"
	c2.Want.RootCause = "api" // the oracle below names db: wrong here
	oracle := func(bench.Case) diagnosis.Diagnosis {
		return diagnosis.Diagnosis{NoneScore: -2, Candidates: []diagnosis.Candidate{{Service: "db", Score: 1, Confidence: 0.7}, {Service: "api", Score: 0, Confidence: 0.2}}}
	}
	sc := bench.Measure(bench.Config{Title: "tiny", Cases: []bench.Case{c}, Diagnose: oracle, Handwritten: []bench.Case{c, c2}, HeldOut: []string{"held"}, Folds: 2})
	if h := sc.LOTO.HeldOutScore; h.N != 1 || h.Top1.Value != 0 || h.Top3.Value != 1 {
		t.Errorf("held-out score %+v, want 1 incident, wrong at top-1, right in the top 3", h)
	}
	if !strings.Contains(sc.Text(), "The held-out set alone (held; no fit and no change saw it): top-1 0.0%") {
		t.Errorf("report lacks the held-out line:\n%s", sc.Text())
	}
	if !strings.Contains(sc.Text(), "Misses (and 1 on the held-out set, not listed)") || strings.Contains(sc.Text(), "tiny2") {
		t.Errorf("the report names a held-out miss, or does not count it:\n%s", sc.Text())
	}
}

// A fold fits on its training incidents and on the anchors of their
// topologies only: the anchor of the topology left out stays out.
func TestAFoldLeavesOutTheAnchorsOfTheTopologyItMeasures(t *testing.T) {
	bf := bench.Case{Name: "black-friday/storm", Topology: "black-friday"}
	shop := bench.Case{Name: "shop/01", Topology: "shop"}
	bank := bench.Case{Name: "bank/01", Topology: "bank"}
	set := bench.FitSet{Handwritten: []bench.Case{bf, shop, bank}, Anchors: []bench.Case{bf}}
	if f := set.Fold([]bench.Case{shop, bank}); len(f.Anchors) != 0 || len(f.Handwritten) != 2 {
		t.Errorf("fold without black-friday: anchors %v, hand-written %v; want no anchor and the two others", f.Anchors, f.Handwritten)
	}
	if f := set.Fold([]bench.Case{bf, shop}); len(f.Anchors) != 1 || f.Anchors[0].Name != bf.Name {
		t.Errorf("fold with black-friday: anchors %v, want the storm", f.Anchors)
	}
}
