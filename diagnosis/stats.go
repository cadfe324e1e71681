package diagnosis

import (
	"math"
	"slices"
	"time"
)

// pearson is the correlation of two equally long samples, NaN when either
// is constant or too short.
func pearson(x, y []float64) float64 {
	n := len(x)
	if n != len(y) || n < 5 {
		return math.NaN()
	}
	var mx, my float64
	for i := range n {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range n {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// leadCorrelation finds how strongly cause leads effect: the best Pearson
// correlation of cause(t) with effect(t+lag) for lags from 0 to maxLag,
// over the timestamps (in whole seconds) both have.
func leadCorrelation(cause, effect []Point, step, maxLag time.Duration) (r float64, lag time.Duration) {
	r = math.NaN()
	if step <= 0 || len(effect) == 0 {
		return r, 0
	}
	value := effectAt(effect, step)
	x, y := make([]float64, 0, len(cause)), make([]float64, 0, len(cause))
	for l := time.Duration(0); l <= maxLag; l += step {
		x, y = x[:0], y[:0]
		for _, p := range cause {
			if v, ok := value(p.T.Add(l).Unix()); ok {
				x = append(x, p.V)
				y = append(y, v)
			}
		}
		if c := pearson(x, y); !math.IsNaN(c) && (math.IsNaN(r) || c > r) {
			r, lag = c, l
		}
	}
	return r, lag
}

// effectAt looks a series' values up by Unix second: by arithmetic when it
// has a sample every step (a range query's answer without gaps), by a map
// otherwise.
func effectAt(points []Point, step time.Duration) func(unix int64) (float64, bool) {
	secs := int64(step / time.Second)
	regular := step%time.Second == 0 && secs > 0
	for i := 1; i < len(points) && regular; i++ {
		regular = points[i].T.Unix()-points[i-1].T.Unix() == secs
	}
	if regular {
		t0 := points[0].T.Unix()
		return func(unix int64) (float64, bool) {
			d := unix - t0
			if d < 0 || d%secs != 0 || d/secs >= int64(len(points)) {
				return 0, false
			}
			return points[d/secs].V, true
		}
	}
	at := make(map[int64]float64, len(points))
	for _, p := range points {
		at[p.T.Unix()] = p.V
	}
	return func(unix int64) (float64, bool) {
		v, ok := at[unix]
		return v, ok
	}
}

// zscore measures how far the mean after split departs from the behaviour
// before it, in standard deviations of the before part (its spread is
// floored at 1% of its mean, so a flat baseline does not divide by zero).
func zscore(points []Point, split time.Time) float64 {
	var before, after []float64
	for _, p := range points {
		if p.T.Before(split) {
			before = append(before, p.V)
		} else {
			after = append(after, p.V)
		}
	}
	if len(before) < 5 || len(after) == 0 {
		return math.NaN()
	}
	mb, sb := meanStd(before)
	ma, _ := meanStd(after)
	floor := math.Max(math.Abs(mb)*0.01, 1e-9)
	return (ma - mb) / math.Max(sb, floor)
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

// Robust statistics: a baseline's median and median absolute deviation are
// not moved by a single spike the way a mean and standard deviation are,
// and levels are 5-sample (75 s at a 15 s step) rolling medians, so a single
// odd sample neither makes nor hides an anomaly.
const (
	rollWindow   = 5      // samples in a rolling median
	madToSigma   = 1.4826 // MAD × this estimates σ of a normal distribution
	minBaseline  = 8      // samples a baseline needs
	excursionAtZ = 3      // a rolling median this many robust σ away has departed
)

// median returns the median of v, reordering v.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// robustBaseline is the median of v and its spread in robust standard
// deviations (1.4826 × MAD), floored at 1% of the median so that a flat
// baseline does not divide by zero.
func robustBaseline(v []float64) (med, scale float64) {
	w := slices.Clone(v)
	med = median(w)
	for i, x := range v {
		w[i] = math.Abs(x - med)
	}
	scale = madToSigma * median(w)
	return med, math.Max(scale, math.Max(0.01*math.Abs(med), 1e-9))
}

// shift describes how a series departs, after a split time, from its
// baseline before it.
type shift struct {
	base, scale  float64 // baseline median and robust σ
	peak, trough float64 // highest and lowest rolling median after the split
	zUp, zDown   float64 // (peak−base)/scale and (base−trough)/scale
	// upAt and downAt are when the excursion that reaches the peak (trough)
	// began: the earliest rolling median of the unbroken run beyond
	// excursionAtZ that ends there; zero when it never got that far.
	upAt, downAt time.Time
}

// relUp and relDown are the size of the rise and the fall relative to the
// larger of the levels compared: a robust z alone calls a move from 30.0%
// to 30.4% an anomaly when the baseline is very steady.
func (s shift) relUp() float64   { return relChange(s.base, s.peak) }
func (s shift) relDown() float64 { return relChange(s.base, s.trough) }

func relChange(a, b float64) float64 {
	d := math.Max(math.Abs(a), math.Abs(b))
	if d == 0 {
		return 0
	}
	return math.Abs(b-a) / d
}

// levelShift measures the robust z-score of a series after split against
// its baseline before it. ok is false without minBaseline samples before
// the split and one after it.
func levelShift(points []Point, split time.Time) (s shift, ok bool) {
	var before []float64
	first := len(points) // index of the first sample at or after split
	for i, p := range points {
		if !p.T.Before(split) {
			first = i
			break
		}
		before = append(before, p.V)
	}
	if len(before) < minBaseline || first == len(points) {
		return s, false
	}
	s.base, s.scale = robustBaseline(before)
	roll := rolling(points)
	s.peak, s.trough = math.Inf(-1), math.Inf(1)
	iPeak, iTrough := -1, -1
	for i := first; i < len(points); i++ {
		if roll[i] > s.peak {
			s.peak, iPeak = roll[i], i
		}
		if roll[i] < s.trough {
			s.trough, iTrough = roll[i], i
		}
	}
	s.zUp, s.zDown = (s.peak-s.base)/s.scale, (s.base-s.trough)/s.scale
	s.upAt = excursionStart(points, roll, iPeak, func(v float64) bool { return (v-s.base)/s.scale >= excursionAtZ })
	s.downAt = excursionStart(points, roll, iTrough, func(v float64) bool { return (s.base-v)/s.scale >= excursionAtZ })
	return s, true
}

// rolling is the centred rolling median of points (window rollWindow,
// narrower at the ends).
func rolling(points []Point) []float64 {
	out := make([]float64, len(points))
	w := make([]float64, 0, rollWindow)
	for i := range points {
		lo, hi := max(0, i-rollWindow/2), min(len(points), i+rollWindow/2+1)
		w = w[:0]
		for _, p := range points[lo:hi] {
			w = append(w, p.V)
		}
		out[i] = median(w)
	}
	return out
}

// excursionStart walks back from index at while beyond holds.
func excursionStart(points []Point, roll []float64, at int, beyond func(float64) bool) time.Time {
	if at < 0 || !beyond(roll[at]) {
		return time.Time{}
	}
	for at > 0 && beyond(roll[at-1]) {
		at--
	}
	return points[at].T
}
