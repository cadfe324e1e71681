package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
)

// What the configuration builds from its settings for diagnosis: the
// service graph and its resolve rules, the Prometheus adapter and its
// queries.

// loadGraph reads the service graph and its optional `resolve:` rules; without
// SERVICE_GRAPH it is empty (docs/grouping.md), the example is `bot demo`'s.
func (c *Config) loadGraph() error {
	c.graph, _ = graph.New(nil)
	var rules []diagnosis.Rule
	if c.ServiceGraph != "" {
		data, err := os.ReadFile(c.ServiceGraph)
		if err != nil {
			return fmt.Errorf("read service graph: %w", err)
		}
		if c.graph, err = graph.Parse(data); err != nil {
			return fmt.Errorf("%s: %w", c.ServiceGraph, err)
		}
		if rules, err = diagnosis.ParseRules(data); err != nil {
			return fmt.Errorf("%s: %w", c.ServiceGraph, err)
		}
		c.graphRead = time.Now()
	}
	r, err := diagnosis.NewResolver(c.graph, rules)
	if err != nil {
		return fmt.Errorf("%s: %w", c.ServiceGraph, err)
	}
	c.resolver, c.rules = r, rules
	return nil
}

// Metrics is the Prometheus adapter, or nil when PROMETHEUS_URL is unset.
func (c Config) Metrics(log *slog.Logger) (diagnosis.Metrics, error) {
	if c.PrometheusURL == "" {
		return nil, nil
	}
	p, err := prom.New(prom.Config{URL: c.PrometheusURL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("PROMETHEUS_URL: %w", err)
	}
	return p, nil
}

// Graph is the service graph of SERVICE_GRAPH; empty (Len 0) without it.
func (c Config) Graph() *graph.Graph { return c.graph }

// GraphSnapshot is the graph of SERVICE_GRAPH as the first graph in
// effect, with when the file was read.
func (c Config) GraphSnapshot() graph.Snapshot {
	return graph.Snapshot{Graph: c.graph, FileRead: c.graphRead, Discovering: c.GraphDiscovery != ""}
}

// Queries are the PromQL templates metric evidence uses.
func (c Config) Queries() diagnosis.Queries { return c.queries }

// Resolver names the graph node of each alert.
func (c Config) Resolver() *diagnosis.Resolver { return c.resolver }
