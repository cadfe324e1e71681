package metrics

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// other stands for any label value past a cap or outside a closed set;
// unknown for an empty one.
const (
	other   = "other"
	unknown = "unknown"
)

// capped bounds an open label: the first max distinct values pass, later
// ones become "other", so a misbehaving caller cannot grow the series
// without end.
type capped struct {
	mu   sync.Mutex
	max  int
	seen map[string]bool
}

func newCapped(max int) *capped { return &capped{max: max, seen: map[string]bool{}} }

func (c *capped) value(v string) string {
	if v == "" {
		return unknown
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[v] {
		return v
	}
	if len(c.seen) >= c.max {
		return other
	}
	c.seen[v] = true
	return v
}

// oneOf keeps v when it is in a closed set, else "other".
func oneOf(v string, set []string) string {
	if slices.Contains(set, v) {
		return v
	}
	return other
}

// The constructors below register an instrument named nightowl_<name> and
// remember it for Instruments.

func (r *Registry) remember(name, typ string, labels []string) {
	r.instruments = append(r.instruments, Instrument{Name: namespace + "_" + name, Type: typ, Labels: labels})
}

func (r *Registry) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	r.reg.MustRegister(c)
	r.remember(name, "counter", nil)
	return c
}

func (r *Registry) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	r.reg.MustRegister(c)
	r.remember(name, "counter", labels)
	return c
}

func (r *Registry) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
	r.reg.MustRegister(g)
	r.remember(name, "gauge", nil)
	return g
}

func (r *Registry) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
	r.reg.MustRegister(g)
	r.remember(name, "gauge", labels)
	return g
}

func (r *Registry) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets})
	r.reg.MustRegister(h)
	r.remember(name, "histogram", nil)
	return h
}

func (r *Registry) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	r.reg.MustRegister(h)
	r.remember(name, "histogram", labels)
	return h
}
