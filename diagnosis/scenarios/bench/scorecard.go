package bench

import "slices"

// Config says what Measure measures.
type Config struct {
	Title string
	// Cases are the incidents (synthetic, as a rule) and Diagnose the
	// diagnoser measured on them.
	Cases    []Case
	Diagnose Diagnose
	// Ablate builds the diagnoser without the named signals; each of
	// Signals is left out in turn. Nil skips the ablation.
	Ablate  func(disable []string) Diagnose
	Signals []string
	// Handwritten are the incidents of the leave-one-topology-out run
	// (nil skips it); Fit fits a diagnoser on the other topologies
	// (default: a TemperatureFitter of Diagnose).
	Handwritten []Case
	Fit         Fit
	// HeldOut names the topologies of Handwritten that no fit and no
	// change was made on: the report gives their score apart.
	HeldOut []string
	// RootTypes orders the per-type tables (default: in order of first
	// appearance). Folds is k of the k-fold calibration (default 5),
	// Workers bounds parallelism (default GOMAXPROCS), MaxMisses how many
	// missed incidents the report lists (default 15).
	RootTypes                 []string
	Folds, Workers, MaxMisses int
}

// Method is one diagnoser or baseline measured on the cases.
type Method struct {
	Name    string
	Results []Result
	Score   Score
	ByType  map[string]Score
}

// AblationRow is the diagnoser measured without one signal.
type AblationRow struct {
	Signal string
	Score  Score
	// Delta is the change in top-1 accuracy against all signals, in points.
	Delta float64
}

// Scorecard is everything Measure found; Text and Markdown render it.
type Scorecard struct {
	Title     string
	RootTypes []string
	// Methods holds the diagnoser first, then the baselines.
	Methods     []Method
	Ablation    []AblationRow
	Calibration CalibrationResult
	Folds       int
	LOTO        *LOTO
	MaxMisses   int
}

// Baseline names, in the order Measure reports them.
const (
	BaselineRandom   = "random alerting node (exact expectation)"
	BaselineDeepest  = "deepest alerting node"
	BaselineEarliest = "earliest alert's node"
	BaselineSeed     = "design article's algorithm"
	BaselinePageRank = "personalised PageRank"
)

// Measure runs the diagnoser and the baselines on the cases, the ablation,
// k-fold temperature scaling and leave-one-topology-out, as configured.
func Measure(cfg Config) Scorecard {
	if cfg.Folds <= 0 {
		cfg.Folds = 5
	}
	if cfg.MaxMisses <= 0 {
		cfg.MaxMisses = 15
	}
	types := cfg.RootTypes
	if len(types) == 0 {
		for _, c := range cfg.Cases {
			if !slices.Contains(types, c.RootType) {
				types = append(types, c.RootType)
			}
		}
	}
	sc := Scorecard{Title: cfg.Title, RootTypes: types, Folds: cfg.Folds, MaxMisses: cfg.MaxMisses}
	method := func(name string, rs []Result) Method {
		m := Method{Name: name, Results: rs, Score: Summarize(rs), ByType: map[string]Score{}}
		for typ, trs := range ByRootType(rs, types) {
			m.ByType[typ] = Summarize(trs)
		}
		return m
	}
	main := Run(cfg.Cases, cfg.Diagnose, cfg.Workers)
	sc.Methods = append(sc.Methods,
		method("nightowl", main),
		method(BaselineRandom, RandomAlerting(cfg.Cases)),
		method(BaselineDeepest, Rank(cfg.Cases, Deepest, cfg.Workers)),
		method(BaselineEarliest, Rank(cfg.Cases, Earliest, cfg.Workers)),
		method(BaselineSeed, Rank(cfg.Cases, Seed, cfg.Workers)),
		method(BaselinePageRank, Rank(cfg.Cases, PageRank, cfg.Workers)),
	)
	sc.Calibration = CrossCalibrate(main, KFold(len(main), cfg.Folds))
	if cfg.Ablate != nil {
		full := sc.Methods[0].Score.Top1.Value
		for _, sig := range cfg.Signals {
			s := Summarize(Run(cfg.Cases, cfg.Ablate([]string{sig}), cfg.Workers))
			sc.Ablation = append(sc.Ablation, AblationRow{Signal: sig, Score: s, Delta: 100 * (s.Top1.Value - full)})
		}
	}
	if len(cfg.Handwritten) > 0 {
		fit := cfg.Fit
		var fitter *TemperatureFitter
		if fit == nil {
			fitter = NewTemperatureFitter(cfg.Diagnose, cfg.Workers)
			fit = fitter.Fit
		}
		l := LeaveOneTopologyOut(cfg.Handwritten, fit, cfg.Workers)
		if fitter != nil && len(fitter.Fitted) == len(l.Topologies) {
			for i := range l.Topologies {
				l.Topologies[i].Temperature = fitter.Fitted[i]
			}
		}
		if len(cfg.HeldOut) > 0 {
			var rs []Result
			for _, r := range l.Results {
				if slices.Contains(cfg.HeldOut, r.Topology) {
					rs = append(rs, r)
				}
			}
			l.HeldOut, l.HeldOutScore = slices.Clone(cfg.HeldOut), Summarize(rs)
		}
		sc.LOTO = &l
	}
	return sc
}

// BestBaseline is the baseline with the highest top-1 accuracy.
func (s Scorecard) BestBaseline() Method {
	var best Method
	for i, m := range s.Methods {
		if i > 0 && (best.Name == "" || m.Score.Top1.Value > best.Score.Top1.Value) {
			best = m
		}
	}
	return best
}
