package picture

import (
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
)

// utcTicks marks a time axis (Unix seconds) at round UTC clock times: about
// six labels, "15:04" within a day and the date at midnight.
type utcTicks struct{}

// tickSteps are the spacings utcTicks chooses from; each up to a day divides a
// day, so ticks fall on round clock times.
var tickSteps = []time.Duration{
	time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

const wantTimeTicks = 8

func (utcTicks) Ticks(min, max float64) []plot.Tick {
	span := max - min
	i := 0
	for i < len(tickSteps)-1 && span/tickSteps[i].Seconds() > wantTimeTicks {
		i++
	}
	step := tickSteps[i].Seconds()
	minor := step
	for j := i - 1; j >= 0; j-- {
		if s := tickSteps[j].Seconds(); math.Mod(step, s) == 0 && step/s <= 6 {
			minor = s
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(min/minor) * minor; v <= max; v += minor {
		t := plot.Tick{Value: v}
		if math.Mod(v, step) == 0 {
			t.Label = timeLabel(unixTime(v), tickSteps[i])
		}
		ticks = append(ticks, t)
	}
	return ticks
}

func timeLabel(t time.Time, step time.Duration) string {
	midnight := t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0
	switch {
	case step >= 24*time.Hour || (midnight && step >= time.Hour):
		return t.Format("Jan 2")
	case step < time.Minute:
		return t.Format("15:04:05")
	}
	return t.Format("15:04")
}

// valueTicks marks a value axis at about six round numbers (1, 2, 2.5 or 5
// times a power of ten), labelled with the decimals the step needs and k, M, G
// or T from ten thousand up: 0.25, 0.50; 10k, 20k; 2.5G.
type valueTicks struct{}

const wantValueTicks = 6

func (valueTicks) Ticks(min, max float64) []plot.Tick {
	raw := (max - min) / wantValueTicks
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	div, suffix := 1.0, ""
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if top := math.Max(math.Abs(min), math.Abs(max)); top >= 1e4 && top >= u.div {
			div, suffix = u.div, u.suffix
			break
		}
	}
	var ticks []plot.Tick
	first := math.Ceil(min/step - 1e-9)
	for k := first; k*step <= max+step*1e-9; k++ {
		v := k * step
		label := "0"
		if math.Abs(v) >= step/2 {
			label = compact(v/div, step/div) + suffix
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
	}
	return ticks
}

// compact formats v with as many decimals as step needs, the same for every
// tick of an axis.
func compact(v, step float64) string {
	decimals := 0
	for r := step; decimals < 12 && math.Abs(r-math.Round(r)) > 1e-6*math.Max(1, r); r *= 10 {
		decimals++
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}
