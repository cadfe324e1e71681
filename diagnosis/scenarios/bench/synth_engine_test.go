package bench_test

import (
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/synth"
)

// TestEngineOnSyntheticTestHalf diagnoses 504 synthetic incidents drawn
// from the generator's Test half (vocabulary the engine must not be tuned
// on) with today's engine, from alerts alone, and logs the scorecard. It
// only fails when the engine does worse at top-1 than the best baseline;
// the engine's author raises the bar.
func TestEngineOnSyntheticTestHalf(t *testing.T) {
	if testing.Short() {
		t.Skip("504 diagnoses")
	}
	incidents := synth.Generate(1, 504, synth.Test)
	var ss []scenarios.Scenario
	for _, in := range incidents {
		ss = append(ss, in.Scenario)
	}
	cases, err := bench.Cases(ss, bench.KeepResolved())
	if err != nil {
		t.Fatal(err)
	}
	sc := bench.Measure(bench.Config{
		Title:     "nightowl on 504 synthetic incidents (test half, seed 1)",
		Cases:     cases,
		Diagnose:  bench.Engine(),
		RootTypes: synth.RootTypes(),
	})
	t.Log("\n" + sc.Text())
	ours, best := sc.Methods[0].Score.Top1, sc.BestBaseline()
	if ours.Value < best.Score.Top1.Value {
		t.Errorf("nightowl top-1 %.1f%% is below the best baseline, %s, at %.1f%%", 100*ours.Value, best.Name, 100*best.Score.Top1.Value)
	}
}
