package scenarios_test

import (
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// curve is a derived series (a ratio, a rate) keyed by offset from Start.
type curve map[time.Duration]float64

// onset is the first offset at which c passes halfway from its first value to its peak.
func (c curve) onset() time.Duration {
	at := slices.Sorted(maps.Keys(c))
	base, peak := c[at[0]], c[at[0]]
	for _, t := range at {
		peak = math.Max(peak, c[t])
	}
	for _, t := range at {
		if c[t] > base+(peak-base)/2 {
			return t
		}
	}
	return at[len(at)-1]
}

// flat reports whether c never moves by more than a fifth of its peak.
func (c curve) flat() bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range c {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return hi-lo <= hi/5
}

func find(s scenarios.Scenario, name string, match map[string]string) []scenarios.MetricSpec {
	var out []scenarios.MetricSpec
	for _, m := range s.Metrics {
		if m.Name != name {
			continue
		}
		ok := true
		for k, v := range match {
			ok = ok && m.Labels[k] == v
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

func values(m scenarios.MetricSpec) curve {
	c := curve{}
	for _, p := range m.Samples(scenarios.DefaultStep) {
		c[p.At] = p.Value
	}
	return c
}

// rate differentiates a counter's samples.
func rate(m scenarios.MetricSpec) curve {
	ps := m.Samples(scenarios.DefaultStep)
	c := curve{}
	for i := 1; i < len(ps); i++ {
		c[ps[i].At] = (ps[i].Value - ps[i-1].Value) / (ps[i].At - ps[i-1].At).Seconds()
	}
	return c
}

// The saturation families of the default queries: numerator over limit.
var ratios = [][2]string{
	{"pg_stat_activity_count", "pg_settings_max_connections"},
	{"db_pool_connections_in_use", "db_pool_connections_max"},
	{"redis_connected_clients", "redis_config_maxclients"},
	{"container_memory_working_set_bytes", "container_spec_memory_limit_bytes"},
}

// saturation evaluates what the default saturation queries would see for node.
func saturation(s scenarios.Scenario, node string) (curve, bool) {
	for _, r := range ratios {
		num, den := find(s, r[0], map[string]string{"service": node}), find(s, r[1], map[string]string{"service": node})
		if len(num) == 1 && len(den) == 1 {
			n, d := values(num[0]), values(den[0])
			c := curve{}
			for t, v := range n {
				c[t] = v / d[t]
			}
			return c, true
		}
	}
	if cpu := find(s, "container_cpu_usage_seconds_total", map[string]string{"service": node}); len(cpu) == 1 {
		return rate(cpu[0]), true
	}
	if lag := find(s, "kafka_consumergroup_lag", map[string]string{"service": node}); len(lag) > 0 {
		return values(lag[0]), true
	}
	if idle := find(s, "node_cpu_seconds_total", map[string]string{"instance": node, "mode": "idle"}); len(idle) > 0 {
		c := curve{}
		for _, m := range idle {
			for t, v := range rate(m) {
				c[t] += v / float64(len(idle))
			}
		}
		for t, v := range c {
			c[t] = 1 - v
		}
		return c, true
	}
	return nil, false
}

// errorRatios is each service's 5xx share of http_requests_total.
func errorRatios(s scenarios.Scenario) map[string]curve {
	bad, all := map[string]curve{}, map[string]curve{}
	for _, m := range find(s, "http_requests_total", nil) {
		svc := m.Labels["service"]
		if bad[svc] == nil {
			bad[svc], all[svc] = curve{}, curve{}
		}
		for t, v := range rate(m) {
			all[svc][t] += v
			if strings.HasPrefix(m.Labels["code"], "5") {
				bad[svc][t] += v
			}
		}
	}
	out := map[string]curve{}
	for svc, a := range all {
		c := curve{}
		for t, v := range a {
			c[t] = bad[svc][t] / v
		}
		out[svc] = c
	}
	return out
}

// firstAbove is the first offset at which c exceeds v.
func (c curve) firstAbove(v float64) (time.Duration, bool) {
	for _, t := range slices.Sorted(maps.Keys(c)) {
		if c[t] > v {
			return t, true
		}
	}
	return 0, false
}

// TestMetricEvidenceLeads checks that each scenario's metrics say what its
// notes say: the root cause saturates before its dependents' 5xx ratio passes
// 5%, and every other saturating node is flat or rises after that.
func TestMetricEvidenceLeads(t *testing.T) {
	for _, s := range scenarios.MustCorpus(t) {
		if len(s.Metrics) == 0 {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			root := s.Incidents[0].RootCause
			sat, ok := saturation(s, root)
			if !ok {
				t.Fatalf("no saturation series for the root cause %s", root)
			}
			errStart, dependents := time.Duration(math.MaxInt64), 0
			for svc, c := range errorRatios(s) {
				if svc != root && !s.Graph.DependsTransitively(svc, root) {
					t.Errorf("http_requests_total of %s, which does not depend on %s", svc, root)
				}
				if svc != root {
					dependents++
				}
				if at, ok := c.firstAbove(0.05); ok && at < errStart {
					errStart = at
				}
			}
			if dependents == 0 || errStart == math.MaxInt64 {
				t.Fatalf("no dependent's 5xx ratio passes 5%%")
			}
			if on := sat.onset(); on >= errStart-30*time.Second {
				t.Errorf("root %s saturates at %v, not before the first 5xx at %v", root, on, errStart)
			}
			for _, node := range s.Graph.Names() {
				c, ok := saturation(s, node)
				if node == root || !ok {
					continue
				}
				if !c.flat() && c.onset() < errStart {
					t.Errorf("distractor %s rises at %v, before the first 5xx at %v", node, c.onset(), errStart)
				}
			}
			if in, ok := ambiguousIncident(s); ok {
				twin, _ := ambiguous(in)
				if c, ok := saturation(s, twin); !ok || !c.flat() {
					t.Errorf("the ambiguous twin %s has no flat saturation series", twin)
				}
			}
		})
	}
}

func ambiguousIncident(s scenarios.Scenario) (incident, bool) {
	for _, e := range s.Incidents {
		in := incident{s, e}
		if _, ok := ambiguous(in); ok {
			return in, true
		}
	}
	return incident{}, false
}

var queryMetric = regexp.MustCompile(`([a-z_:]+)\{`)

func TestMetricsMatchDefaultQueries(t *testing.T) {
	q := diagnosis.DefaultQueries()
	texts := []string{q.Errors, q.Latency}
	texts = append(texts, slices.Collect(maps.Values(q.SaturationByAlert))...)
	texts = append(texts, slices.Collect(maps.Values(q.SaturationByKind))...)
	known := map[string]bool{}
	for _, text := range texts {
		for _, m := range queryMetric.FindAllStringSubmatch(text, -1) {
			known[m[1]] = true
		}
	}
	for _, s := range scenarios.MustCorpus(t) {
		for _, m := range s.Metrics {
			if !known[m.Name] {
				t.Errorf("%s: %s is in no default query", s.Name, m.Name)
			}
			if m.Labels["service"] == "" && m.Labels["consumergroup"] == "" && m.Labels["instance"] == "" {
				t.Errorf("%s: %s%v has no service, consumergroup or instance label", s.Name, m.Name, m.Labels)
			}
			if first, last := m.Points[0].At, m.Points[len(m.Points)-1].At; first > -45*time.Minute || last < 15*time.Minute {
				t.Errorf("%s: %s%v spans %v..%v, want at least -45m..15m", s.Name, m.Name, m.Labels, first, last)
			}
		}
	}
}
