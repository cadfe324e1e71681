package bench

import (
	"math"
	"slices"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Temperature scaling: a diagnosis's confidences at temperature T are the
// softmax of {candidate scores, NoneScore}/T. A temperature is fitted by
// maximising the log-likelihood of the right answer on training results:
// the right candidate's probability, or that of "none of these" when no
// candidate is right.

// MinTemperature and MaxTemperature bound the temperatures FitTemperature
// searches.
const (
	MinTemperature = 0.01
	MaxTemperature = 100
)

// softmax returns the probabilities of the scores and of none at T.
func softmax(scores []float64, none, t float64) (p []float64, pNone float64) {
	hi := none
	for _, s := range scores {
		hi = math.Max(hi, s)
	}
	if math.IsInf(hi, -1) {
		return make([]float64, len(scores)), 1
	}
	sum := math.Exp((none - hi) / t)
	p = make([]float64, len(scores))
	for i, s := range scores {
		p[i] = math.Exp((s - hi) / t)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p, math.Exp((none-hi)/t) / sum
}

// ConfidenceAt is the top candidate's confidence at temperature t (0 when
// the diagnosis named no candidate).
func ConfidenceAt(r Result, t float64) float64 {
	if len(r.Scores) == 0 {
		return 0
	}
	p, _ := softmax(r.Scores, r.NoneScore, t)
	return p[0]
}

// LogLikelihood is the summed log-probability of the right answers at t.
// A result whose right answer is no candidate counts P(none of these);
// when its diagnosis gives "none of these" no chance at all (NoneScore
// −∞), no temperature changes that, and it is left out.
func LogLikelihood(rs []Result, t float64) float64 {
	ll := 0.0
	for _, r := range rs {
		if r.Right < 0 && math.IsInf(r.NoneScore, -1) {
			continue
		}
		p, none := softmax(r.Scores, r.NoneScore, t)
		q := none
		if r.Right >= 0 && r.Right < len(p) {
			q = p[r.Right]
		}
		ll += math.Log(math.Max(q, 1e-300))
	}
	return ll
}

// FitTemperature maximises LogLikelihood over log T in [MinTemperature,
// MaxTemperature] by golden-section search (the log-likelihood is concave in
// 1/T, so unimodal in log T). Without results it returns 1.
func FitTemperature(rs []Result) float64 {
	if len(rs) == 0 {
		return 1
	}
	f := func(logT float64) float64 { return LogLikelihood(rs, math.Exp(logT)) }
	lo, hi := math.Log(MinTemperature), math.Log(MaxTemperature)
	phi := (math.Sqrt(5) - 1) / 2
	a, b := hi-phi*(hi-lo), lo+phi*(hi-lo)
	fa, fb := f(a), f(b)
	for hi-lo > 1e-6 {
		if fa < fb {
			lo, a, fa = a, b, fb
			b = lo + phi*(hi-lo)
			fb = f(b)
		} else {
			hi, b, fb = b, a, fa
			a = hi - phi*(hi-lo)
			fa = f(a)
		}
	}
	return math.Exp((lo + hi) / 2)
}

// scoresOf reads a diagnosis's scores; when they are all zero (the
// diagnoser reports none), the logs of its confidences stand in, so that a
// temperature rescales its own calibration.
func scoresOf(d diagnosis.Diagnosis) (scores []float64, none float64, fromConfidence bool) {
	fromConfidence = d.NoneScore == 0 && len(d.Candidates) > 0
	for _, c := range d.Candidates {
		scores = append(scores, c.Score)
		fromConfidence = fromConfidence && c.Score == 0
	}
	if !fromConfidence {
		return scores, d.NoneScore, false
	}
	for i, c := range d.Candidates {
		scores[i] = math.Log(math.Max(c.Confidence, 1e-12))
	}
	none = math.Inf(-1)
	if d.NoneOfThese > 0 {
		none = math.Log(d.NoneOfThese)
	}
	return scores, none, true
}

// Rescale recomputes a diagnosis's confidences, NoneOfThese and Unsure at
// temperature t from its scores; the ranking does not change.
func Rescale(d diagnosis.Diagnosis, t float64) diagnosis.Diagnosis {
	scores, noneScore, _ := scoresOf(d)
	p, none := softmax(scores, noneScore, t)
	d.Candidates = slices.Clone(d.Candidates)
	for i := range d.Candidates {
		d.Candidates[i].Confidence = p[i]
	}
	d.NoneOfThese = none
	if top, ok := d.Top(); ok {
		d.Unsure = top.Confidence < diagnosis.SureAt
	}
	return d
}

// Bin is one bin of a reliability table.
type Bin struct {
	Lo, Hi float64
	N      int
	// Confidence is the mean top-candidate confidence in the bin, Accuracy
	// how often the top candidate was right.
	Confidence, Accuracy float64
}

// Reliability bins top-candidate confidences into 10 equal-width bins and
// returns the table and the expected calibration error: the bins' mean
// |confidence − accuracy| weighted by their share of results.
func Reliability(confidence []float64, right []bool) (bins []Bin, ece float64) {
	const k = 10
	bins = make([]Bin, k)
	for i := range bins {
		bins[i].Lo, bins[i].Hi = float64(i)/k, float64(i+1)/k
	}
	for i, c := range confidence {
		j := min(int(c*k), k-1)
		j = max(j, 0)
		bins[j].N++
		bins[j].Confidence += c
		if right[i] {
			bins[j].Accuracy++
		}
	}
	for i := range bins {
		if n := float64(bins[i].N); n > 0 {
			bins[i].Confidence /= n
			bins[i].Accuracy /= n
			ece += n / float64(len(confidence)) * math.Abs(bins[i].Confidence-bins[i].Accuracy)
		}
	}
	return bins, ece
}

// CalibrationResult is how well confidences mean what they say.
type CalibrationResult struct {
	// Raw is the expected calibration error of the diagnoser's own
	// confidences, over every result.
	Raw float64
	// Temperatures are those fitted on each fold's training results; ECE
	// and Bins are computed on held-out results only, each at the
	// temperature fitted without it.
	Temperatures []float64
	ECE          float64
	Bins         []Bin
	N            int
	// FromConfidence counts results whose diagnoser reported no scores.
	FromConfidence int
	// NoCandidate counts results whose right answer is no candidate;
	// NoneIfNoCandidate and NoneIfCandidate are the mean held-out
	// probability of "none of these" on those and on the others.
	NoCandidate                        int
	NoneIfNoCandidate, NoneIfCandidate float64
	// Conditional* fit T only on training results with a right candidate
	// (ignoring "none of these"), judged on the same held-out results.
	ConditionalTemperatures []float64
	ConditionalECE          float64
}

// KFold splits n items into k folds deterministically: item i is held out
// in fold i mod k.
func KFold(n, k int) [][]int {
	folds := make([][]int, k)
	for i := range n {
		folds[i%k] = append(folds[i%k], i)
	}
	return folds
}

// CrossCalibrate fits a temperature on the results outside each fold and
// measures calibration on the fold's results; folds list held-out indices.
func CrossCalibrate(rs []Result, folds [][]int) CalibrationResult {
	cal := CalibrationResult{N: len(rs)}
	var conf []float64
	var right []bool
	for _, r := range rs {
		conf = append(conf, r.Confidence)
		right = append(right, r.Rank == 1)
		cal.FromConfidence += boolInt(r.FromConfidence)
	}
	_, cal.Raw = Reliability(conf, right)
	conf, right = conf[:0], right[:0]
	var condConf []float64
	for _, fold := range folds {
		if len(fold) == 0 {
			continue
		}
		held := map[int]bool{}
		for _, i := range fold {
			held[i] = true
		}
		var train []Result
		for i, r := range rs {
			if !held[i] {
				train = append(train, r)
			}
		}
		t := FitTemperature(train)
		cal.Temperatures = append(cal.Temperatures, t)
		var withRight []Result
		for _, r := range train {
			if r.Right >= 0 {
				withRight = append(withRight, r)
			}
		}
		ct := FitTemperature(withRight)
		cal.ConditionalTemperatures = append(cal.ConditionalTemperatures, ct)
		for _, i := range fold {
			condConf = append(condConf, ConfidenceAt(rs[i], ct))
			conf = append(conf, ConfidenceAt(rs[i], t))
			right = append(right, rs[i].Rank == 1)
			_, none := softmax(rs[i].Scores, rs[i].NoneScore, t)
			if rs[i].Right < 0 {
				cal.NoCandidate++
				cal.NoneIfNoCandidate += none
			} else {
				cal.NoneIfCandidate += none
			}
		}
	}
	cal.Bins, cal.ECE = Reliability(conf, right)
	_, cal.ConditionalECE = Reliability(condConf, right)
	if cal.NoCandidate > 0 {
		cal.NoneIfNoCandidate /= float64(cal.NoCandidate)
	}
	if n := len(conf) - cal.NoCandidate; n > 0 {
		cal.NoneIfCandidate /= float64(n)
	}
	return cal
}
