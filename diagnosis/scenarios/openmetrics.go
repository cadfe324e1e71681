package scenarios

import (
	"bytes"
	"cmp"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultStep is the sample spacing of a scrape every 15 seconds.
const DefaultStep = 15 * time.Second

// Samples returns the series as scraped every step (DefaultStep if step ≤ 0)
// from its first point to its last: a gauge's value, or a counter's value
// integrated from its rate (starting at 0, never decreasing). Noise is
// deterministic: the same spec and step give the same samples.
func (m MetricSpec) Samples(step time.Duration) []MetricPoint {
	if step <= 0 {
		step = DefaultStep
	}
	if len(m.Points) == 0 {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(seriesKey(m.Name, m.Labels)))
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	first, last := m.Points[0].At, m.Points[len(m.Points)-1].At
	var (
		out      []MetricPoint
		total    float64
		prevRate float64
	)
	for at := first; at <= last; at += step {
		v := m.at(at) * (1 + m.Noise*(2*rng.Float64()-1))
		if m.Type == Counter {
			if at > first {
				total += (prevRate + v) / 2 * step.Seconds()
			}
			prevRate, v = v, total
		}
		out = append(out, MetricPoint{At: at, Value: v})
	}
	return out
}

// at interpolates the shape linearly between points.
func (m MetricSpec) at(t time.Duration) float64 {
	p := m.Points
	i, _ := slices.BinarySearchFunc(p, t, func(x MetricPoint, t time.Duration) int { return cmp.Compare(x.At, t) })
	switch {
	case i == 0:
		return p[0].Value
	case i == len(p):
		return p[len(p)-1].Value
	case p[i].At == t:
		return p[i].Value
	}
	a, b := p[i-1], p[i]
	f := float64(t-a.At) / float64(b.At-a.At)
	return a.Value + f*(b.Value-a.Value)
}

// OpenMetrics renders the scenario's metrics as OpenMetrics text that
// `promtool tsdb create-blocks-from openmetrics` imports: one family block
// per metric name (a counter's family drops the _total suffix its samples
// keep), samples every step (DefaultStep if step ≤ 0) with timestamps in
// seconds since the epoch, and a closing "# EOF".
func (s Scenario) OpenMetrics(step time.Duration) []byte {
	families := map[string][]MetricSpec{}
	for _, m := range s.Metrics {
		families[m.Name] = append(families[m.Name], m)
	}
	var b bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(families)) {
		series := families[name]
		family := name
		if series[0].Type == Counter {
			family = strings.TrimSuffix(name, "_total")
		}
		b.WriteString("# TYPE " + family + " " + series[0].Type + "\n")
		b.WriteString("# HELP " + family + " Synthetic series of scenario " + s.Name + ".\n")
		for _, m := range series {
			labels := formatLabels(m.Labels)
			for _, p := range m.Samples(step) {
				ts := float64(s.Start.Add(p.At).UnixMilli()) / 1000
				b.WriteString(name + labels + " " + strconv.FormatFloat(p.Value, 'f', -1, 64) +
					" " + strconv.FormatFloat(ts, 'f', -1, 64) + "\n")
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// formatLabels renders {a="1",b="2"} sorted by name, or "" for no labels.
func formatLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+`="`+labelEscaper.Replace(labels[k])+`"`)
	}
	return "{" + strings.Join(parts, ",") + "}"
}
