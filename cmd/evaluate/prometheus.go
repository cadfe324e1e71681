package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
)

// servers runs a real Prometheus for each hand-written scenario that ships
// metrics, loaded with its series through promtool, as the bot would query
// one with PROMETHEUS_URL set. A nil *servers serves nothing: the engine
// diagnoses from alerts alone.
type servers struct {
	dir     string
	running []*testbed.Prometheus
	served  map[string]diagnosis.Metrics // scenario name → its Prometheus, each answer remembered
}

func newServers() (*servers, error) {
	dir, err := os.MkdirTemp("", "nightowl-evaluate-")
	if err != nil {
		return nil, fmt.Errorf("prometheus servers: %w", err)
	}
	return &servers{dir: dir, served: map[string]diagnosis.Metrics{}}, nil
}

// attach gives each case of a scenario with metrics that scenario's
// Prometheus, starting it the first time.
func (s *servers) attach(ss []scenarios.Scenario, cases []bench.Case) error {
	if s == nil {
		return nil
	}
	for _, sc := range ss {
		if len(sc.Metrics) == 0 {
			continue
		}
		m, ok := s.served[sc.Name]
		if !ok {
			dir, err := os.MkdirTemp(s.dir, "prometheus-")
			if err != nil {
				return fmt.Errorf("prometheus for %s: %w", sc.Name, err)
			}
			p, err := testbed.StartPrometheus(dir, sc.OpenMetrics(scenarios.DefaultStep))
			if err != nil {
				return fmt.Errorf("prometheus for %s: %w", sc.Name, err)
			}
			s.running = append(s.running, p)
			c, err := prom.New(prom.Config{URL: p.URL})
			if err != nil {
				return fmt.Errorf("prometheus for %s: %w", sc.Name, err)
			}
			m = bench.Remember(c)
			s.served[sc.Name] = m
		}
		for i := range cases {
			if cases[i].Name == sc.Name || strings.HasPrefix(cases[i].Name, sc.Name+"#") {
				cases[i].Metrics = m
			}
		}
	}
	return nil
}

// count is how many scenarios a Prometheus serves.
func (s *servers) count() int {
	if s == nil {
		return 0
	}
	return len(s.running)
}

// stop stops every Prometheus and removes their data.
func (s *servers) stop() {
	if s == nil {
		return
	}
	for _, p := range s.running {
		p.Stop()
	}
	os.RemoveAll(s.dir)
}
