package diagnosis

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

// Queries are the PromQL templates metric evidence is gathered with. Each
// template sees .Service (the graph node), .Namespace, .Kind and .Label
// "name" (a label of the candidate's most telling alert).
//
// Saturation says how close a candidate is to its limit; Errors and Latency
// say how its dependents suffer. A saturation template is chosen by the
// candidate's alert name first, then its graph kind, then "default".
type Queries struct {
	SaturationByAlert map[string]string `yaml:"saturation_by_alert"`
	SaturationByKind  map[string]string `yaml:"saturation_by_kind"`
	Errors            string            `yaml:"errors"`
	Latency           string            `yaml:"latency"`
}

// DefaultQueries fit the metric names of the seed's alerts and common
// exporters (postgres_exporter, redis_exporter, kafka_exporter, node_exporter,
// cAdvisor, and services instrumented with http_requests_total and
// http_request_duration_seconds).
func DefaultQueries() Queries {
	return Queries{
		SaturationByAlert: map[string]string{
			"DatabaseConnectionPoolExhausted": `max(db_pool_connections_in_use{service="{{.Service}}"} / db_pool_connections_max{service="{{.Service}}"})`,
			"KafkaConsumerLagHigh":            `sum(kafka_consumergroup_lag{consumergroup="{{.Label "consumergroup"}}"})`,
			"HighCPUUsage":                    `sum(rate(container_cpu_usage_seconds_total{service="{{.Service}}"}[2m]))`,
			"HighMemoryUsage":                 `max(container_memory_working_set_bytes{service="{{.Service}}"} / container_spec_memory_limit_bytes{service="{{.Service}}"})`,
			"RedisConnectionTimeout":          `max(redis_connected_clients{service="{{.Service}}"} / redis_config_maxclients{service="{{.Service}}"})`,
		},
		SaturationByKind: map[string]string{
			"database": `max(pg_stat_activity_count{service="{{.Service}}"} / pg_settings_max_connections{service="{{.Service}}"})`,
			"cache":    `max(redis_connected_clients{service="{{.Service}}"} / redis_config_maxclients{service="{{.Service}}"})`,
			"queue":    `sum(kafka_consumergroup_lag{service="{{.Service}}"})`,
			"node":     `1 - avg(rate(node_cpu_seconds_total{mode="idle",instance=~"{{.Service}}(:.*)?"}[2m]))`,
			"default":  `max(db_pool_connections_in_use{service="{{.Service}}"} / db_pool_connections_max{service="{{.Service}}"}) or sum(rate(container_cpu_usage_seconds_total{service="{{.Service}}"}[2m]))`,
		},
		Errors:  `sum(rate(http_requests_total{service="{{.Service}}",code=~"5.."}[2m])) / sum(rate(http_requests_total{service="{{.Service}}"}[2m]))`,
		Latency: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="{{.Service}}"}[2m])))`,
	}
}

// LoadQueries reads templates from a YAML file over the defaults: a file
// only needs the templates it changes.
func LoadQueries(path string) (Queries, error) {
	q := DefaultQueries()
	data, err := os.ReadFile(path)
	if err != nil {
		return q, fmt.Errorf("read metric queries: %w", err)
	}
	var f Queries
	if err := yaml.Unmarshal(data, &f); err != nil {
		return q, fmt.Errorf("metric queries %s: %w", path, err)
	}
	for k, v := range f.SaturationByAlert {
		q.SaturationByAlert[k] = v
	}
	for k, v := range f.SaturationByKind {
		q.SaturationByKind[k] = v
	}
	if f.Errors != "" {
		q.Errors = f.Errors
	}
	if f.Latency != "" {
		q.Latency = f.Latency
	}
	if err := q.Check(); err != nil {
		return q, fmt.Errorf("metric queries %s: %w", path, err)
	}
	return q, nil
}

// Check parses every template.
func (q Queries) Check() error {
	all := map[string]string{"errors": q.Errors, "latency": q.Latency}
	for k, v := range q.SaturationByAlert {
		all["saturation_by_alert."+k] = v
	}
	for k, v := range q.SaturationByKind {
		all["saturation_by_kind."+k] = v
	}
	for name, t := range all {
		if _, err := parseQuery(name, t); err != nil {
			return err
		}
	}
	return nil
}

// queryVars is what a template sees.
type queryVars struct {
	Service, Namespace, Kind string
	labels                   map[string]string
}

// Label returns one of the alert's labels, escaped for a PromQL string.
func (v queryVars) Label(name string) string { return promString(v.labels[name]) }

func parseQuery(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}

// render fills a template; values are escaped so that a label cannot break
// out of its PromQL string.
func render(text string, v queryVars) (string, error) {
	t, err := parseQuery("query", text)
	if err != nil {
		return "", err
	}
	v.Service, v.Namespace, v.Kind = promString(v.Service), promString(v.Namespace), promString(v.Kind)
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("render query: %w", err)
	}
	return b.String(), nil
}

var promEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// promString escapes s for use inside a double-quoted PromQL string.
func promString(s string) string { return promEscaper.Replace(s) }
