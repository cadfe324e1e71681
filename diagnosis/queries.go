package diagnosis

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"

	"gopkg.in/yaml.v3"
)

// Queries are the PromQL templates evidence is gathered with. Each template
// sees the subject (see queryVars): .Service (the graph node), .Namespace,
// .Kind, .Label "name" (a label of its most telling alert), the regular
// expressions .ServiceRegexp, .Namespaces and .Pods, and two helpers that
// identify the subject the way real exporters label it:
//
//	{{.Workload "metric{%s}"}}  its service label, or its pods in its namespace
//	{{.Host "metric{%s}"}}      a node_exporter host: instance, node or nodename
//
// Saturation says how close a subject is to its limit. A saturation
// template is chosen by the alert name of the subject's most telling alert
// first (saturation_by_alert: empty by default, for a user's own alerts),
// then by its graph kind, then "default". A saturation query may return
// several series, one per family of metrics (tagged with a "saturation"
// label by the defaults); the most anomalous one speaks. Errors gives the
// error ratio of a dependent. Changes finds rollouts, scaling and restarts
// in kube-state-metrics: its series carry a "change" label, "generation",
// "replicas" or "restarts".
type Queries struct {
	SaturationByAlert map[string]string `yaml:"saturation_by_alert"`
	SaturationByKind  map[string]string `yaml:"saturation_by_kind"`
	Errors            string            `yaml:"errors"`
	Latency           string            `yaml:"latency"`
	Changes           string            `yaml:"changes"`
}

// saturation tags one family of a saturation query.
func saturation(family, expr string) string {
	return `label_replace(` + expr + `, "saturation", "` + family + `", "", "")`
}

// change tags one kind of series of the changes query.
func change(kind, expr string) string {
	return `label_replace(` + expr + `, "change", "` + kind + `", "", "")`
}

// ratio is the highest per-instance ratio of two gauges of one exporter.
func ratio(used, limit string) string {
	return `max(max by (instance) ({{.Workload "` + used + `{%s}"}}) / max by (instance) ({{.Workload "` + limit + `{%s}"}} > 0))`
}

// Families of saturation metrics, by the exporters that publish them.
var (
	postgresConnections = saturation("connections", `max(sum by (instance) ({{.Workload "pg_stat_activity_count{%s}"}}) / max by (instance) ({{.Workload "pg_settings_max_connections{%s}"}} > 0))`)
	mysqlConnections    = saturation("connections", ratio("mysql_global_status_threads_connected", "mysql_global_variables_max_connections"))
	redisClients        = saturation("clients", ratio("redis_connected_clients", "redis_config_maxclients"))
	redisMemory         = saturation("memory", ratio("redis_memory_used_bytes", "redis_memory_max_bytes"))
	kafkaLag            = saturation("lag", `sum({{.Workload "kafka_consumergroup_lag{%s}"}} or kafka_consumergroup_lag{consumergroup="{{.Label "consumergroup"}}"})`)
	consumerLag         = saturation("lag", `sum(kafka_consumergroup_lag{consumergroup="{{.Service}}"})`)
	rabbitReady         = saturation("ready", `sum({{.Workload "rabbitmq_queue_messages_ready{%s}"}})`)
	appPool             = saturation("pool", `max({{.Workload "db_pool_connections_in_use{%s}"}} / {{.Workload "db_pool_connections_max{%s}"}})`)
	hikariPool          = saturation("pool", `max({{.Workload "hikaricp_connections_active{%s}"}} / {{.Workload "hikaricp_connections_max{%s}"}})`)
	cpuThrottling       = saturation("cpu_throttling", `max(sum by (namespace, pod, container) ({{.Workload "rate(container_cpu_cfs_throttled_periods_total{container!=\"\",%s}[2m])"}}) / sum by (namespace, pod, container) ({{.Workload "rate(container_cpu_cfs_periods_total{container!=\"\",%s}[2m])"}}))`)
	containerMemory     = saturation("memory", `max(sum by (namespace, pod, container) ({{.Workload "container_memory_working_set_bytes{container!=\"\",container!=\"POD\",%s}"}}) / sum by (namespace, pod, container) ({{.Workload "container_spec_memory_limit_bytes{container!=\"\",container!=\"POD\",%s}"}} > 0))`)
	containerCPU        = saturation("cpu_usage", `sum({{.Workload "rate(container_cpu_usage_seconds_total{container!=\"POD\",%s}[2m])"}})`)
	volumeUse           = saturation("volume", `max(kubelet_volume_stats_used_bytes{namespace=~"{{.Namespaces}}",persistentvolumeclaim=~"(.+-)?{{.ServiceRegexp}}(-[0-9]+)?"} / kubelet_volume_stats_capacity_bytes{namespace=~"{{.Namespaces}}",persistentvolumeclaim=~"(.+-)?{{.ServiceRegexp}}(-[0-9]+)?"})`)
	nodeCPU             = saturation("cpu", `1 - avg({{.Host "rate(node_cpu_seconds_total{mode=\"idle\",%s}[2m])"}})`)
	nodeMemory          = saturation("memory", `1 - sum({{.Host "node_memory_MemAvailable_bytes{%s}"}}) / sum({{.Host "node_memory_MemTotal_bytes{%s}"}})`)
	nodeFilesystem      = saturation("filesystem", `max(1 - {{.Host "node_filesystem_avail_bytes{fstype!~\"tmpfs|overlay|squashfs|nsfs\",%s}"}} / {{.Host "node_filesystem_size_bytes{fstype!~\"tmpfs|overlay|squashfs|nsfs\",%s}"}})`)
	nodeConntrack       = saturation("conntrack", `max({{.Host "node_nf_conntrack_entries{%s}"}}) / max({{.Host "node_nf_conntrack_entries_limit{%s}"}})`)
)

// serviceSaturation: an application's pools, CPU throttling, memory against
// its limit and, as a consumer, its lag; raw CPU use only when none of
// these exists.
var serviceSaturation = strings.Join([]string{appPool, hikariPool, cpuThrottling, containerMemory, consumerLag}, " or ") + " or on () " + containerCPU

// changesQuery: Deployment, StatefulSet and DaemonSet generations (a new
// generation without a new replica count is a rollout), replica counts, and
// container restarts by pod, from kube-state-metrics.
var changesQuery = strings.Join([]string{
	change("generation", `max by (namespace) (kube_deployment_metadata_generation{namespace=~"{{.Namespaces}}",deployment="{{.Service}}"} or kube_deployment_status_observed_generation{namespace=~"{{.Namespaces}}",deployment="{{.Service}}"})`),
	change("generation", `max by (namespace) (kube_statefulset_metadata_generation{namespace=~"{{.Namespaces}}",statefulset="{{.Service}}"} or kube_statefulset_status_observed_generation{namespace=~"{{.Namespaces}}",statefulset="{{.Service}}"})`),
	change("generation", `max by (namespace) (kube_daemonset_metadata_generation{namespace=~"{{.Namespaces}}",daemonset="{{.Service}}"} or kube_daemonset_status_observed_generation{namespace=~"{{.Namespaces}}",daemonset="{{.Service}}"})`),
	change("replicas", `max by (namespace) (kube_deployment_spec_replicas{namespace=~"{{.Namespaces}}",deployment="{{.Service}}"} or kube_statefulset_replicas{namespace=~"{{.Namespaces}}",statefulset="{{.Service}}"})`),
	change("restarts", `sum by (namespace, pod) (kube_pod_container_status_restarts_total{namespace=~"{{.Namespaces}}",pod=~"{{.Pods}}"})`),
}, " or ")

// DefaultQueries identify a subject by its graph kind and the metric
// families of common exporters (postgres_exporter, mysqld_exporter,
// redis_exporter, kafka_exporter, RabbitMQ, node_exporter, cAdvisor,
// kubelet, kube-state-metrics, HikariCP and db_pool_* pool metrics) and the
// labels they carry; `or` combines families so that whichever exists
// answers. Services are expected to count requests in http_requests_total
// and their latency in http_request_duration_seconds.
func DefaultQueries() Queries {
	return Queries{
		SaturationByAlert: map[string]string{},
		SaturationByKind: map[string]string{
			"database": strings.Join([]string{postgresConnections, mysqlConnections, volumeUse}, " or "),
			"cache":    strings.Join([]string{redisClients, redisMemory}, " or "),
			"queue":    strings.Join([]string{kafkaLag, rabbitReady}, " or "),
			"node":     strings.Join([]string{nodeCPU, nodeMemory, nodeFilesystem, nodeConntrack}, " or "),
			"storage":  volumeUse,
			"service":  serviceSaturation,
			"default":  serviceSaturation,
		},
		Errors:  `sum(rate(http_requests_total{service="{{.Service}}",code=~"5.."}[2m])) / sum(rate(http_requests_total{service="{{.Service}}"}[2m]))`,
		Latency: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="{{.Service}}"}[2m])))`,
		Changes: changesQuery,
	}
}

// kindAliases map graph kinds onto the kinds the default templates know.
var kindAliases = map[string]string{
	"db": "database", "datastore": "database",
	"broker": "queue",
	"host":   "node", "vm": "node",
	"disk": "storage",
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
	for _, t := range []struct {
		dst *string
		src string
	}{{&q.Errors, f.Errors}, {&q.Latency, f.Latency}, {&q.Changes, f.Changes}} {
		if t.src != "" {
			*t.dst = t.src
		}
	}
	if err := q.Check(); err != nil {
		return q, fmt.Errorf("metric queries %s: %w", path, err)
	}
	return q, nil
}

// Check parses every template and renders it for an example subject, so
// that a helper called wrongly fails at start-up, not during an incident.
func (q Queries) Check() error {
	all := map[string]string{"errors": q.Errors, "latency": q.Latency, "changes": q.Changes}
	for k, v := range q.SaturationByAlert {
		all["saturation_by_alert."+k] = v
	}
	for k, v := range q.SaturationByKind {
		all["saturation_by_kind."+k] = v
	}
	example := Subject{Node: "example", Kind: "service", Namespace: "default", Labels: map[string]string{"alertname": "Example"}}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		t := all[name]
		if t == "" {
			continue
		}
		if _, err := parseQuery(name, t); err != nil {
			return err
		}
		if _, err := render(t, varsOf(example)); err != nil {
			return fmt.Errorf("template %s: %w", name, err)
		}
	}
	return nil
}

// saturationTemplate picks the saturation template for a subject: by the
// alert name of its most telling alert, then its kind, then "default".
func (q Queries) saturationTemplate(s Subject) (string, bool) {
	if t, ok := q.SaturationByAlert[s.Labels[LabelAlertname]]; ok && t != "" {
		return t, true
	}
	kind := strings.ToLower(s.Kind)
	if k, ok := kindAliases[kind]; ok {
		kind = k
	}
	if t, ok := q.SaturationByKind[kind]; ok && t != "" {
		return t, true
	}
	t, ok := q.SaturationByKind["default"]
	return t, ok && t != ""
}

// queryVars is what a template sees. Every string is escaped for use inside
// a double-quoted PromQL string.
type queryVars struct {
	Service, Namespace, Kind string
	// ServiceRegexp matches the service name exactly (regexp metacharacters
	// quoted); Namespaces matches its namespace, or any when it has none;
	// Pods matches the names of its pods (<name>-<replicaset hash>-<5>,
	// <name>-<5>, <name>-<ordinal>).
	ServiceRegexp, Namespaces, Pods string
	labels                          map[string]string
}

// Pod name suffixes of Deployments, DaemonSets and Jobs, and StatefulSets,
// as the Resolver strips them.
const podNameSuffix = `(-[a-z0-9]{1,10}-[a-z0-9]{5}|-[a-z0-9]{5}|-[0-9]+)`

// varsOf describes a subject to templates.
func varsOf(s Subject) queryVars {
	return queryVars{Service: s.Node, Namespace: s.Namespace, Kind: s.Kind, labels: s.Labels}
}

// Label returns one of the alert's labels, escaped for a PromQL string.
func (v queryVars) Label(name string) string { return promString(v.labels[name]) }

// Workload selects expr, whose label matchers hold a %s, for the subject as
// Kubernetes exporters label it: by its service label (a ServiceMonitor's
// Service), or by its pods in its namespace (cAdvisor, sidecar exporters).
func (v queryVars) Workload(expr string) (string, error) {
	return alternatives(expr,
		`service="`+v.Service+`"`,
		`namespace=~"`+v.Namespaces+`",pod=~"`+v.Pods+`"`)
}

// Host selects expr, whose label matchers hold a %s, for a node_exporter
// host: by instance (host name, with or without a port), by a node label,
// or through node_uname_info's nodename.
func (v queryVars) Host(expr string) (string, error) {
	s, err := alternatives(expr,
		`instance=~"`+v.ServiceRegexp+`(:[0-9]+)?"`,
		`node="`+v.Service+`"`)
	if err != nil {
		return "", err
	}
	byName := strings.ReplaceAll(expr, "%s", `instance!=""`) +
		` * on (instance) group_left () max by (instance) (node_uname_info{nodename="` + v.Service + `"})`
	return strings.TrimSuffix(s, ")") + " or " + byName + ")", nil
}

// alternatives is (expr with the first matchers or expr with the second …).
func alternatives(expr string, matchers ...string) (string, error) {
	if !strings.Contains(expr, "%s") {
		return "", fmt.Errorf("%q has no %%s where the subject's label matchers go", expr)
	}
	parts := make([]string, len(matchers))
	for i, m := range matchers {
		parts[i] = strings.ReplaceAll(expr, "%s", m)
	}
	return "(" + strings.Join(parts, " or ") + ")", nil
}

func parseQuery(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}

// parsed caches templates by their text: a diagnosis renders the same few
// dozens of times, and a parsed template is safe for concurrent use.
var parsed sync.Map // string → *template.Template

func parseCached(text string) (*template.Template, error) {
	if t, ok := parsed.Load(text); ok {
		return t.(*template.Template), nil
	}
	t, err := parseQuery("query", text)
	if err != nil {
		return nil, err
	}
	parsed.Store(text, t)
	return t, nil
}

// render fills a template for the subject in v (Service, Namespace, Kind
// and labels, unescaped): it derives the regular expressions and escapes
// every value so that a label cannot break out of its PromQL string.
func render(text string, v queryVars) (string, error) {
	t, err := parseCached(text)
	if err != nil {
		return "", err
	}
	v.ServiceRegexp = regexp.QuoteMeta(v.Service)
	v.Namespaces = ".*"
	if v.Namespace != "" {
		v.Namespaces = regexp.QuoteMeta(v.Namespace)
	}
	v.Pods = v.ServiceRegexp + podNameSuffix
	v.Service, v.Namespace, v.Kind = promString(v.Service), promString(v.Namespace), promString(v.Kind)
	v.ServiceRegexp, v.Namespaces, v.Pods = promString(v.ServiceRegexp), promString(v.Namespaces), promString(v.Pods)
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("render query: %w", err)
	}
	return b.String(), nil
}

var promEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// promString escapes s for use inside a double-quoted PromQL string.
func promString(s string) string { return promEscaper.Replace(s) }
