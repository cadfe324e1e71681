package bench

import (
	"sync"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// TopologyScore is one topology's share of a leave-one-topology-out run.
type TopologyScore struct {
	Topology string
	Score    Score
	// Temperature is the one fitted on the other topologies, when the fit
	// is a TemperatureFitter's; 0 otherwise.
	Temperature float64
}

// LOTO is a leave-one-topology-out evaluation: every topology's incidents
// diagnosed by a diagnoser fitted on the other topologies only.
type LOTO struct {
	Score      Score
	Topologies []TopologyScore
	Results    []Result
	// ECE and Bins measure the calibration of the fitted diagnosers'
	// confidences on their held-out topologies.
	ECE  float64
	Bins []Bin
	// HeldOut are the topologies no fit and no change saw, and
	// HeldOutScore their incidents' score (Config.HeldOut).
	HeldOut      []string
	HeldOutScore Score
}

// LeaveOneTopologyOut fits, for each topology, a diagnoser on the cases of
// every other topology and judges it on the topology's cases.
func LeaveOneTopologyOut(cases []Case, fit Fit, workers int) LOTO {
	var topologies []string
	byTopology := map[string][]int{}
	for i, c := range cases {
		if _, ok := byTopology[c.Topology]; !ok {
			topologies = append(topologies, c.Topology)
		}
		byTopology[c.Topology] = append(byTopology[c.Topology], i)
	}
	results := make([]Result, len(cases))
	for _, topo := range topologies {
		var train, test []Case
		for _, c := range cases {
			if c.Topology == topo {
				test = append(test, c)
			} else {
				train = append(train, c)
			}
		}
		d := fit(train)
		for j, r := range Run(test, d, workers) {
			results[byTopology[topo][j]] = r
		}
	}
	l := LOTO{Score: Summarize(results), Results: results}
	var conf []float64
	var right []bool
	for _, r := range results {
		conf, right = append(conf, r.Confidence), append(right, r.Rank == 1)
	}
	l.Bins, l.ECE = Reliability(conf, right)
	for _, topo := range topologies {
		var rs []Result
		for _, j := range byTopology[topo] {
			rs = append(rs, results[j])
		}
		l.Topologies = append(l.Topologies, TopologyScore{Topology: topo, Score: Summarize(rs)})
	}
	return l
}

// TemperatureFitter fits only a temperature: it diagnoses the training
// cases with its base diagnoser (each case once, however many folds it is
// in), fits the temperature that maximises the right answers' likelihood
// (FitTemperature), and returns the base with its confidences rescaled to
// it. Fitted records the temperatures in the order Fit was called.
type TemperatureFitter struct {
	base    Diagnose
	workers int
	mu      sync.Mutex
	memo    map[string]diagnosis.Diagnosis
	Fitted  []float64
}

// NewTemperatureFitter returns a fitter of base's temperature.
func NewTemperatureFitter(base Diagnose, workers int) *TemperatureFitter {
	return &TemperatureFitter{base: base, workers: workers, memo: map[string]diagnosis.Diagnosis{}}
}

// Fit is a Fit.
func (f *TemperatureFitter) Fit(train []Case) Diagnose {
	t := FitTemperature(Run(train, f.cached, f.workers))
	f.mu.Lock()
	f.Fitted = append(f.Fitted, t)
	f.mu.Unlock()
	return func(c Case) diagnosis.Diagnosis { return Rescale(f.cached(c), t) }
}

func (f *TemperatureFitter) cached(c Case) diagnosis.Diagnosis {
	f.mu.Lock()
	d, ok := f.memo[c.Name]
	f.mu.Unlock()
	if ok {
		return d
	}
	d = f.base(c)
	f.mu.Lock()
	f.memo[c.Name] = d
	f.mu.Unlock()
	return d
}

// TemperatureFit is the Fit of a new TemperatureFitter.
func TemperatureFit(base Diagnose, workers int) Fit {
	return NewTemperatureFitter(base, workers).Fit
}
