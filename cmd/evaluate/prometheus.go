package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

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
	dir    string
	served map[string]diagnosis.Metrics // scenario name → its Prometheus, each answer remembered

	mu      sync.Mutex // running and stopped: a signal may stop the servers while others start
	running []*testbed.Prometheus
	stopped bool
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
			if !s.keep(p) {
				return fmt.Errorf("prometheus for %s: %w", sc.Name, errStopped)
			}
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

var errStopped = errors.New("the servers were stopped")

// keep records a started Prometheus for stop, or stops it at once if the
// servers were stopped meanwhile.
func (s *servers) keep(p *testbed.Prometheus) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		p.Stop()
		return false
	}
	s.running = append(s.running, p)
	return true
}

// count is how many scenarios a Prometheus serves.
func (s *servers) count() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// stop stops every Prometheus and removes their data; it is safe to call
// twice, and from another goroutine.
func (s *servers) stop() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.running {
		p.Stop()
	}
	s.running, s.stopped = nil, true
	os.RemoveAll(s.dir)
}

// stopOnSignal stops the servers and exits (through exit, with 130) when
// evaluate is interrupted or terminated: a refit runs for minutes and is
// often stopped midway, and its Prometheus processes must not outlive it.
// release stops listening.
func (s *servers) stopOnSignal(exit func(code int)) (release func()) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-signals:
			s.stop()
			exit(130)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(signals)
		close(done)
		wg.Wait()
	}
}
