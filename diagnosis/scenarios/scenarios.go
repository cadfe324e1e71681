// Package scenarios embeds the alert storms nightowl is demonstrated and
// measured on: the Black Friday storm as Alertmanager webhook JSON with its
// service graph, and a corpus of incidents with known root causes, service
// graphs and synthetic metrics.
package scenarios

import _ "embed"

// BlackFriday is the Black Friday cascade: 31 alerts from 6 services with one
// root cause, order-service's Postgres connection pool (Alertmanager webhook v4 JSON).
//
//go:embed black-friday.json
var BlackFriday []byte

// BlackFridayGraph is the service graph of the Black Friday shop (YAML).
//
//go:embed black-friday-graph.yaml
var BlackFridayGraph []byte
