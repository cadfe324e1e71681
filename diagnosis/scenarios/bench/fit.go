package bench

import (
	"context"
	"math"
	"slices"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Fitting the model's parameters. DefaultParams were fitted with FitParams
// on the tuning half of the generated incidents together with the corpus
// (never the held-out set); leave-one-topology-out refits them without the
// topology it measures (cmd/evaluate -refit), so that figure is held out.

// FitSet is what parameters are fitted on: generated incidents, whose
// every root type should be diagnosed well (below Floor each counts
// against), and hand-written ones, weighted equally.
type FitSet struct {
	Generated, Handwritten []Case
	RootTypes              []string
	// Floor is the top-1 each root type should reach (default 0.8).
	Floor float64
	// Anchors are incidents the product promises to get right and be sure
	// of (the demo's Black Friday storm): each one that is not costs a
	// whole point, more than any trade the rest could offer.
	Anchors []Case
}

// sure is the confidence at which a card stops saying it is unsure.
const sure = 0.6

// EngineWith diagnoses with the given parameters.
func EngineWith(p diagnosis.Params) Diagnose {
	return func(c Case) diagnosis.Diagnosis {
		return diagnosis.NewEngine(c.config(diagnosis.EngineConfig{Params: &p})).Diagnose(context.Background(), c.Incident)
	}
}

// Objective scores parameters on a fit set: top-1, a third of top-3 and a
// little of the log-likelihood of the right answer, per half, plus the
// shortfall of each root type below the floor.
func (s FitSet) Objective(p diagnosis.Params, workers int) float64 {
	floor := s.Floor
	if floor == 0 {
		floor = 0.8
	}
	part := func(cases []Case) (float64, []Result) {
		if len(cases) == 0 {
			return 0, nil
		}
		rs := Run(cases, EngineWith(p), workers)
		sc := Summarize(rs)
		ll := 0.0
		for _, r := range rs {
			q := 1e-4
			if r.Right >= 0 {
				probs, _ := softmax(r.Scores, r.NoneScore, 1)
				q = math.Max(probs[r.Right], q)
			}
			ll += math.Log(q)
		}
		return sc.Top1.Value + 0.3*sc.Top3.Value + 0.02*ll/float64(len(rs)), rs
	}
	g, rs := part(s.Generated)
	for _, typ := range s.RootTypes {
		if by := ByRootType(rs, []string{typ})[typ]; len(by) > 0 {
			g += math.Min(0, Summarize(by).Top1.Value-floor)
		}
	}
	h, _ := part(s.Handwritten)
	penalty := 0.0
	for _, r := range Run(s.Anchors, EngineWith(p), workers) {
		if r.Hit1 < 1 || r.Confidence < sure {
			penalty++
		}
	}
	switch {
	case len(s.Generated) == 0:
		return h - penalty
	case len(s.Handwritten) == 0:
		return g - penalty
	}
	return (g+h)/2 - penalty
}

// knob is one parameter the fit moves, within bounds that keep its meaning
// (a probability stays one; evidence for stays evidence for).
type knob struct {
	name   string
	get    func(*diagnosis.Params) float64
	set    func(*diagnosis.Params, float64)
	lo, hi float64
	add    bool // steps are added (log-likelihood ratios), not multiplied (probabilities)
}

func floatKnob(name string, ptr func(*diagnosis.Params) *float64, lo, hi float64, add bool) knob {
	return knob{name, func(p *diagnosis.Params) float64 { return *ptr(p) }, func(p *diagnosis.Params, v float64) { *ptr(p) = v }, lo, hi, add}
}

func knobs() []knob {
	out := []knob{
		floatKnob("SelfAlert", func(p *diagnosis.Params) *float64 { return &p.SelfAlert }, 0.3, 0.97, false),
		floatKnob("SelfAlertUnwatched", func(p *diagnosis.Params) *float64 { return &p.SelfAlertUnwatched }, 0.05, 0.9, false),
		floatKnob("Spread", func(p *diagnosis.Params) *float64 { return &p.Spread }, 0.1, 0.95, false),
		floatKnob("Decay", func(p *diagnosis.Params) *float64 { return &p.Decay }, 0.2, 0.95, false),
		floatKnob("Leak", func(p *diagnosis.Params) *float64 { return &p.Leak }, 0.003, 0.3, false),
		floatKnob("Quiet", func(p *diagnosis.Params) *float64 { return &p.Quiet }, 0, 4, true),
		floatKnob("Missing", func(p *diagnosis.Params) *float64 { return &p.Missing }, 0, 0.6, true),
		floatKnob("Elsewhere", func(p *diagnosis.Params) *float64 { return &p.Elsewhere }, 0.02, 1, false),
		floatKnob("Label", func(p *diagnosis.Params) *float64 { return &p.Label }, 0, 3, true),
		floatKnob("Precursor", func(p *diagnosis.Params) *float64 { return &p.Precursor }, 0, 3, true),
		floatKnob("Order", func(p *diagnosis.Params) *float64 { return &p.Order }, 0, 4, true),
		floatKnob("Signature", func(p *diagnosis.Params) *float64 { return &p.Signature }, 0, 6, true),
		floatKnob("Named", func(p *diagnosis.Params) *float64 { return &p.Named }, 0, 6, true),
		floatKnob("Mention", func(p *diagnosis.Params) *float64 { return &p.Mention }, 0, 6, true),
		floatKnob("Through", func(p *diagnosis.Params) *float64 { return &p.Through }, 0, 1, true),
		floatKnob("Pair", func(p *diagnosis.Params) *float64 { return &p.Pair }, -12, 0, true),
	}
	for _, r := range []struct {
		name   string
		lo, hi float64
	}{{"cause", 0, 4}, {"crash", -3, 3}, {"state", -4, 2}, {"saturation", -4, 2}, {"backlog", -4, 1}, {"symptom", -4, 0}} {
		out = append(out, knob{"Role " + r.name, func(p *diagnosis.Params) float64 { return diagnosis.RoleLLR(p, r.name) },
			func(p *diagnosis.Params, v float64) { diagnosis.SetRoleLLR(p, r.name, v) }, r.lo, r.hi, true})
	}
	for _, l := range []graph.Layer{graph.LayerPlatform, graph.LayerApplication, graph.LayerEdge, graph.LayerBusiness} {
		out = append(out, knob{"Layer " + l.String(), func(p *diagnosis.Params) float64 { return p.Layer[l] },
			func(p *diagnosis.Params, v float64) { p.Layer[l] = v }, -5, 0, true}) // no layer is likelier than infrastructure
	}
	return out
}

// CloneParams copies parameters, maps included.
func CloneParams(p diagnosis.Params) diagnosis.Params {
	q := p
	q.Layer = map[graph.Layer]float64{}
	for k, v := range p.Layer {
		q.Layer[k] = v
	}
	diagnosis.CloneRoles(&q, p)
	return q
}

// FitParams moves one parameter at a time (coordinate ascent, passes
// times over all of them) while the objective improves, starting at start.
// log, when not nil, hears every accepted move.
func FitParams(s FitSet, start diagnosis.Params, passes, workers int, log func(name string, from, to, objective float64)) diagnosis.Params {
	best := CloneParams(start)
	bestObj := s.Objective(best, workers)
	for range passes {
		for _, k := range knobs() {
			x := k.get(&best)
			var tries []float64
			if k.add {
				step := (k.hi - k.lo) / 8
				tries = []float64{x - 2*step, x - step, x + step, x + 2*step}
			} else {
				tries = []float64{x * 0.5, x * 0.75, x * 1.33, x * 1.8}
			}
			for _, v := range tries {
				v = math.Max(k.lo, math.Min(k.hi, v))
				if v == x {
					continue
				}
				p := CloneParams(best)
				k.set(&p, v)
				if o := s.Objective(p, workers); o > bestObj+1e-9 {
					if log != nil {
						log(k.name, x, v, o)
					}
					best, bestObj, x = p, o, v
				}
			}
		}
	}
	return best
}

// ParamsFit refits the model's parameters the way DefaultParams were
// fitted (set, with the training cases as its hand-written incidents;
// passes of FitParams from start), then the temperature on the training
// cases. Leave-one-topology-out with it measures topologies no fit of
// that fold saw; the start (DefaultParams, in cmd/evaluate) was fitted on
// the corpus, so a corpus fold is not wholly blind to it.
func ParamsFit(set FitSet, start diagnosis.Params, passes, workers int) Fit {
	return func(train []Case) Diagnose {
		p := FitParams(set.Fold(train), start, passes, workers, nil)
		base := EngineWith(p)
		t := FitTemperature(Run(train, base, workers))
		return func(c Case) diagnosis.Diagnosis { return Rescale(base(c), t) }
	}
}

// Fold is the set one fold of leave-one-topology-out fits on: train as
// its hand-written incidents, and only the anchors whose topology train
// has (an anchor of the topology left out would leak it into the fit).
func (s FitSet) Fold(train []Case) FitSet {
	out := s
	out.Handwritten, out.Anchors = train, nil
	for _, a := range s.Anchors {
		if slices.ContainsFunc(train, func(c Case) bool { return c.Topology == a.Topology }) {
			out.Anchors = append(out.Anchors, a)
		}
	}
	return out
}
