package diagnosis_test

import (
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
)

// TestCorpusAccuracyFromAlertsAlone diagnoses every incident of the corpus
// from its alerts alone (no Prometheus, no history) and reports top-1 and
// top-3 accuracy, the seed article's algorithm on the same incidents, the
// accuracy when the Grouper does the grouping, and the calibration of the
// confidence. One incident is built to be undecidable without metrics, so
// the bar here is 85%; diagnosis/prom's TestCorpusAccuracy adds a real
// Prometheus and holds the 90% bar.
func TestCorpusAccuracyFromAlertsAlone(t *testing.T) {
	corpus, err := scenarios.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := bench.Evaluate(corpus, func(s scenarios.Scenario, r *diagnosis.Resolver) *diagnosis.Engine {
		return diagnosis.NewEngine(diagnosis.EngineConfig{Graph: s.Graph, Resolver: r, Now: func() time.Time { return s.Start.Add(time.Hour) }})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + ev.Report("alerts only"))
	if top1, _ := bench.Accuracy(ev.Diagnosis); top1 < 0.85 {
		t.Errorf("top-1 accuracy %.1f%% from alerts alone is below 85%%", 100*top1)
	}
	if _, ece := bench.Calibration(ev.Diagnosis); ece > 0.15 {
		t.Errorf("expected calibration error %.3f: confidences do not mean what they say", ece)
	}
}

// TestHoldoutAccuracy reports accuracy on incidents written after the
// engine's rules and weights were settled (diagnosis/scenarios/holdout):
// the honest estimate of how the engine does on storms it was not tuned on.
// It only fails if the engine does worse than the seed's algorithm there.
func TestHoldoutAccuracy(t *testing.T) {
	holdout, err := scenarios.Holdout()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := bench.Evaluate(holdout, func(s scenarios.Scenario, r *diagnosis.Resolver) *diagnosis.Engine {
		return diagnosis.NewEngine(diagnosis.EngineConfig{Graph: s.Graph, Resolver: r, Now: func() time.Time { return s.Start.Add(time.Hour) }})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + ev.Report("held out, alerts only"))
	ours, _ := bench.Accuracy(ev.Diagnosis)
	seed, _ := bench.Accuracy(ev.Seed)
	if ours < seed {
		t.Errorf("on the held-out set nightowl (%.0f%%) does worse than the seed's algorithm (%.0f%%)", 100*ours, 100*seed)
	}
}
