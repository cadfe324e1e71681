package diagnosis

import (
	"math"
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

// aligned returns the values of two series at the timestamps both have.
func aligned(a, b []Point, lag time.Duration) (x, y []float64) {
	at := make(map[int64]float64, len(b))
	for _, p := range b {
		at[p.T.Unix()] = p.V
	}
	for _, p := range a {
		if v, ok := at[p.T.Add(lag).Unix()]; ok {
			x = append(x, p.V)
			y = append(y, v)
		}
	}
	return x, y
}

// leadCorrelation finds how strongly cause leads effect: the best Pearson
// correlation of cause(t) with effect(t+lag) for lags from 0 to maxLag.
func leadCorrelation(cause, effect []Point, step, maxLag time.Duration) (r float64, lag time.Duration) {
	r = math.NaN()
	if step <= 0 {
		return r, 0
	}
	for l := time.Duration(0); l <= maxLag; l += step {
		x, y := aligned(cause, effect, l)
		if c := pearson(x, y); !math.IsNaN(c) && (math.IsNaN(r) || c > r) {
			r, lag = c, l
		}
	}
	return r, lag
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
