package prom

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/common/model"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// DefaultDiscoveryWindow is how far back Discover looks when
// DiscoverOptions.Window is zero.
const DefaultDiscoveryWindow = time.Hour

// DiscoverOptions says what Discover reads.
type DiscoverOptions struct {
	Window    time.Duration // request rates and pods over this window; default 1h
	At        time.Time     // evaluation time; zero is now
	Exporters []string      // up-style exporter metrics (pg_up, redis_up …) to read
}

// FamilyResult is what Prometheus answered for one family of series that
// service discovery reads (the family names are diagnosis/graph's). No
// Series and no Err means Prometheus has none of them.
type FamilyResult struct {
	Family  string
	Queries []string // in the order asked; a fallback query follows the first
	Series  []diagnosis.Series
	Err     error
}

// family is one family's queries: the first that finds series answers;
// each of a union's queries adds its series, tagged with its metric name.
type family struct {
	name    string
	queries []string
	union   []string // metric names, one query each
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// istioEnds are the labels naming both ends of an Istio request.
const istioEnds = "source_workload, source_workload_namespace, destination_workload, destination_workload_namespace, destination_service_name"

// discoveryFamilies are the instant queries of each family. Requests are
// rates over the window, grouped by the labels naming both ends; both
// Istio proxies report a call, so its rate is the larger of the reporters'
// sums (each request once). Calls over TCP (a database, a cache, a broker)
// have no requests: Istio counts their bytes (istio_tcp_sent_bytes_total,
// with the same labels), which stand in, as bytes per second, for a pair
// of ends with no HTTP or gRPC requests. Pods, owners, node names and exporters are
// whatever existed during the window.
func discoveryFamilies(window string, exporters []string) []family {
	seen := func(metric, by string) string {
		return fmt.Sprintf("max by (%s) (max_over_time(%s[%s]))", by, metric, window)
	}
	return []family{
		{name: "istio", queries: []string{fmt.Sprintf(
			"max by (%[1]s) (sum by (reporter, %[1]s) (rate(istio_requests_total[%[2]s])) or sum by (reporter, %[1]s) (rate(istio_tcp_sent_bytes_total[%[2]s])))",
			istioEnds, window)}},
		{name: "linkerd", queries: []string{
			fmt.Sprintf(`sum by (deployment, statefulset, daemonset, namespace, dst_deployment, dst_statefulset, dst_daemonset, dst_namespace, dst_service) (rate(request_total{direction="outbound"}[%s]))`, window),
			fmt.Sprintf(`sum by (deployment, statefulset, daemonset, namespace, dst_deployment, dst_statefulset, dst_daemonset, dst_namespace, dst_service) (rate(response_total{direction="outbound"}[%s]))`, window),
		}},
		{name: "traces", queries: []string{fmt.Sprintf(
			"sum by (client, server, connection_type) (rate(traces_service_graph_request_total[%s]))", window)}},
		{name: "kube_pod_info", queries: []string{seen("kube_pod_info", "namespace, pod, node, created_by_kind, created_by_name")}},
		{name: "kube_pod_owner", queries: []string{seen("kube_pod_owner", "namespace, pod, owner_kind, owner_name")}},
		{name: "kube_replicaset_owner", queries: []string{seen("kube_replicaset_owner", "namespace, replicaset, owner_kind, owner_name")}},
		{name: "node_uname_info", queries: []string{seen("node_uname_info", "instance, nodename")}},
		{name: "exporters", union: exporters},
	}
}

// Discover asks Prometheus for every family of series service discovery
// reads, one family after another, and returns each family's answer. A
// family that fails is reported in its result; the others are still asked.
// It fails as a whole only when opt is unusable.
func (c *Client) Discover(ctx context.Context, opt DiscoverOptions) ([]FamilyResult, error) {
	if opt.Window < 0 {
		return nil, fmt.Errorf("discovery window %v: must not be negative", opt.Window)
	}
	if opt.Window == 0 {
		opt.Window = DefaultDiscoveryWindow
	}
	if opt.Window < time.Second {
		return nil, fmt.Errorf("discovery window %v: must be a second or more", opt.Window)
	}
	if opt.At.IsZero() {
		opt.At = time.Now()
	}
	for _, m := range opt.Exporters {
		if !metricName.MatchString(m) {
			return nil, fmt.Errorf("exporter metric %q is not a metric name", m)
		}
	}
	window := model.Duration(opt.Window.Truncate(time.Second)).String()
	var out []FamilyResult
	for _, f := range discoveryFamilies(window, opt.Exporters) {
		r := FamilyResult{Family: f.name}
		if f.union != nil {
			c.union(ctx, f.union, window, opt.At, &r)
		} else {
			for _, q := range f.queries {
				r.Queries = append(r.Queries, q)
				series, err := c.Query(ctx, q, opt.At)
				if err != nil {
					r.Err = fmt.Errorf("%s: %w", f.name, err)
					break
				}
				if len(series) > 0 {
					r.Series = series
					break
				}
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// union asks for each metric in turn, tagging its series with __name__;
// a metric that fails is reported and the others are still asked.
func (c *Client) union(ctx context.Context, metrics []string, window string, at time.Time, r *FamilyResult) {
	var errs []error
	defer func() { r.Err = errors.Join(errs...) }()
	for _, m := range metrics {
		q := fmt.Sprintf("max by (service, job) (max_over_time(%s[%s]))", m, window)
		r.Queries = append(r.Queries, q)
		series, err := c.Query(ctx, q, at)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", r.Family, m, err))
			continue
		}
		for _, s := range series {
			s.Labels["__name__"] = m
			r.Series = append(r.Series, s)
		}
	}
}
