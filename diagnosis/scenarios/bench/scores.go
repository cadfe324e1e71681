package bench

import (
	"math"
	"slices"
)

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// Estimate is a measured rate with its 95% interval.
type Estimate struct {
	Value, Lo, Hi float64
}

// Score sums up results: top-1 and top-3 accuracy with Wilson score
// intervals, and the mean reciprocal rank with a normal interval.
type Score struct {
	N               int
	Top1, Top3, MRR Estimate
}

// Wilson is the 95% Wilson score interval of successes out of n trials.
// successes may be fractional (an expected count, for the random baseline).
func Wilson(successes float64, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	nf := float64(n)
	p := successes / nf
	z2 := z95 * z95
	center := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / (1 + z2/nf)
	return math.Max(0, center-half), math.Min(1, center+half)
}

// MeanInterval is the mean of xs with a 95% normal (Wald) interval on the
// mean, clipped to [0, 1]: mean ± 1.96·s/√n with s the sample standard
// deviation.
func MeanInterval(xs []float64) Estimate {
	n := float64(len(xs))
	if n == 0 {
		return Estimate{0, 0, 1}
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= n
	if n < 2 {
		return Estimate{mean, 0, 1}
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	half := z95 * math.Sqrt(ss/(n-1)) / math.Sqrt(n)
	return Estimate{mean, math.Max(0, mean-half), math.Min(1, mean+half)}
}

// Summarize scores a set of results.
func Summarize(rs []Result) Score {
	s := Score{N: len(rs)}
	var hit1, hit3 float64
	rr := make([]float64, 0, len(rs))
	for _, r := range rs {
		hit1 += r.Hit1
		hit3 += r.Hit3
		rr = append(rr, r.RR)
	}
	s.Top1 = rate(hit1, len(rs))
	s.Top3 = rate(hit3, len(rs))
	s.MRR = MeanInterval(rr)
	return s
}

func rate(k float64, n int) Estimate {
	lo, hi := Wilson(k, n)
	v := 0.0
	if n > 0 {
		v = k / float64(n)
	}
	return Estimate{v, lo, hi}
}

// ByRootType splits results by root type, in the order given (types
// missing from rs are left out).
func ByRootType(rs []Result, types []string) map[string][]Result {
	out := map[string][]Result{}
	for _, r := range rs {
		if slices.Contains(types, r.RootType) {
			out[r.RootType] = append(out[r.RootType], r)
		}
	}
	return out
}

// MRR is the mean reciprocal rank of 1-based ranks (0: the right answer was
// not ranked at all).
func MRR(ranks []int) float64 {
	if len(ranks) == 0 {
		return 0
	}
	sum := 0.0
	for _, r := range ranks {
		if r > 0 {
			sum += 1 / float64(r)
		}
	}
	return sum / float64(len(ranks))
}
