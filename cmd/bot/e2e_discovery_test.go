package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// openMetrics writes OpenMetrics text for promtool: families in order,
// each sample at every one of times (a counter grows by its rate).
type openMetrics struct {
	b     strings.Builder
	times []time.Time
}

// newOpenMetrics samples at 50, 25 and 1 minutes before now: inside the
// discovery window (1h) of a bot started now.
func newOpenMetrics() *openMetrics {
	now := time.Now()
	return &openMetrics{times: []time.Time{now.Add(-50 * time.Minute), now.Add(-25 * time.Minute), now.Add(-time.Minute)}}
}

func (om *openMetrics) family(name, kind, help string) {
	fmt.Fprintf(&om.b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
}

// counter adds a counter growing by perSecond; gauge one holding value.
func (om *openMetrics) counter(metric string, labels map[string]string, perSecond float64) {
	start := om.times[0]
	for _, at := range om.times {
		om.sample(metric, labels, perSecond*at.Sub(start).Seconds()+1000, at)
	}
}

func (om *openMetrics) gauge(metric string, labels map[string]string, value float64) {
	for _, at := range om.times {
		om.sample(metric, labels, value, at)
	}
}

func (om *openMetrics) sample(metric string, labels map[string]string, v float64, at time.Time) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	fmt.Fprintf(&om.b, "%s{%s} %g %d\n", metric, strings.Join(parts, ","), v, at.Unix())
}

func (om *openMetrics) bytes() []byte { return []byte(om.b.String() + "# EOF\n") }

// istioCall is one call as Istio's telemetry labels it (istio_requests_total
// and istio_tcp_sent_bytes_total carry the same labels): source workload →
// destination workload, or an external destination (a ServiceEntry host)
// with destination_workload "unknown".
type istioCall struct {
	from, fromNS, to, toNS string
	external               bool
}

func (c istioCall) labels(reporter, protocol string) map[string]string {
	l := map[string]string{
		"reporter": reporter, "source_workload": c.from, "source_workload_namespace": c.fromNS,
		"source_principal": "spiffe://cluster.local/ns/" + c.fromNS + "/sa/" + c.from,
		"source_app":       c.from, "source_version": "v1", "source_canonical_service": c.from, "source_canonical_revision": "v1",
		"source_cluster":       "Kubernetes",
		"destination_workload": c.to, "destination_workload_namespace": c.toNS, "destination_app": c.to, "destination_version": "v1",
		"destination_service": c.to + "." + c.toNS + ".svc.cluster.local", "destination_service_name": c.to,
		"destination_service_namespace": c.toNS, "destination_canonical_service": c.to, "destination_canonical_revision": "v1",
		"destination_principal": "spiffe://cluster.local/ns/" + c.toNS + "/sa/" + c.to,
		"destination_cluster":   "Kubernetes", "request_protocol": protocol, "connection_security_policy": "mutual_tls",
		"job": "kubernetes-pods", "instance": "10.42.0.10:15020",
	}
	if c.external {
		for _, k := range []string{"destination_workload", "destination_workload_namespace", "destination_app", "destination_version",
			"destination_canonical_service", "destination_canonical_revision", "destination_principal"} {
			l[k] = "unknown"
		}
		l["destination_service"], l["destination_service_namespace"], l["connection_security_policy"] = c.to, "unknown", "unknown"
	}
	if protocol == "http" {
		l["response_code"], l["response_flags"] = "200", "-"
	}
	return l
}

// blackFridayMesh is the Black Friday shop as an Istio mesh reports it:
// HTTP between the services, TCP to the cache, the broker and the RDS
// database (outside the mesh, a ServiceEntry), both proxies reporting
// each call inside the mesh.
func blackFridayMesh() []byte {
	const ns = "production"
	http := []istioCall{
		{from: "istio-ingressgateway", fromNS: "istio-system", to: "api-gateway", toNS: ns},
		{from: "api-gateway", fromNS: ns, to: "checkout-service", toNS: ns},
		{from: "api-gateway", fromNS: ns, to: "payment-service", toNS: ns},
		{from: "api-gateway", fromNS: ns, to: "inventory-service", toNS: ns},
		{from: "checkout-service", fromNS: ns, to: "payment-service", toNS: ns},
		{from: "checkout-service", fromNS: ns, to: "inventory-service", toNS: ns},
		{from: "checkout-service", fromNS: ns, to: "order-service", toNS: ns},
		{from: "payment-service", fromNS: ns, to: "order-service", toNS: ns},
	}
	tcp := []istioCall{
		{from: "checkout-service", fromNS: ns, to: "redis-cache", toNS: ns},
		{from: "payment-service", fromNS: ns, to: "redis-cache", toNS: ns},
		{from: "order-service", fromNS: ns, to: "kafka", toNS: ns},
		{from: "notification-service", fromNS: ns, to: "kafka", toNS: ns},
		{from: "order-service", fromNS: ns, to: "postgres-rds", external: true},
		{from: "inventory-service", fromNS: ns, to: "postgres-rds", external: true},
	}
	om := newOpenMetrics()
	om.family("istio_requests", "counter", "Total requests.")
	for i, c := range http {
		om.counter("istio_requests_total", c.labels("source", "http"), float64(20+i))
		om.counter("istio_requests_total", c.labels("destination", "http"), float64(20+i))
	}
	om.family("istio_tcp_sent_bytes", "counter", "Size of total bytes sent during response in case of a TCP connection.")
	for i, c := range tcp {
		om.counter("istio_tcp_sent_bytes_total", c.labels("source", "tcp"), float64(4000+i))
		if !c.external {
			om.counter("istio_tcp_sent_bytes_total", c.labels("destination", "tcp"), float64(4000+i))
		}
	}
	return om.bytes()
}

// TestDiscoveredGraphMakesTheStormOneCard: with no SERVICE_GRAPH but
// GRAPH_DISCOVERY=prometheus against a real Prometheus holding the shop's
// Istio metrics, a real Alertmanager's relay of the Black Friday storm is
// one card naming order-service, grouped and diagnosed by the discovered
// graph; /graph says where the edges came from.
func TestDiscoveredGraphMakesTheStormOneCard(t *testing.T) {
	p := testbed.MustStartPrometheus(t, blackFridayMesh())
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	am := testbed.MustStartAlertmanager(t, alertmanagerConfig(t, hook, []string{"namespace"}, true))
	nightowl := MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), map[string]string{
		"SERVICE_GRAPH": "", "GRAPH_DISCOVERY": "prometheus", "PROMETHEUS_URL": p.URL,
	})
	s := nightowl.App.Graph.Load()
	if s.Failed.Err != "" || s.Discovered.IsZero() {
		t.Fatalf("discovery at start: failed %q, discovered at %v", s.Failed.Err, s.Discovered)
	}
	g := s.Graph
	for _, e := range [][2]string{{"api-gateway", "checkout-service"}, {"payment-service", "order-service"}, {"order-service", "postgres-rds"}, {"notification-service", "kafka"}} {
		if !slicesContain(g.DependsOn(e[0]), e[1]) {
			t.Errorf("the discovered graph lacks %s → %s: %s depends on %v", e[0], e[1], e[0], g.DependsOn(e[0]))
		}
	}
	if g.Kind("postgres-rds") != "external" || graph.KindLayer(g.Kind("postgres-rds")) != graph.LayerInfrastructure {
		t.Errorf("postgres-rds, outside the mesh, is a %q", g.Kind("postgres-rds"))
	}

	card, _ := mustStormCard(t, emu, func(a []diagnosis.Alert) { am.MustPostAlerts(t, a) })
	if !strings.Contains(card.Text, "on order-service") {
		t.Errorf("card %q does not name order-service as the root cause", card.Text)
	}
	if strings.Contains(string(card.Blocks), "no service graph") {
		t.Errorf("the card says it had no service graph, but discovery gave one:\n%s", card.Blocks)
	}

	if _, err := emu.SlashCommand(t.Context(), slackemu.SlashCommand{User: uLead, Channel: chIncidents, Command: "/graph", Text: "order-service"}); err != nil {
		t.Fatal(err)
	}
	MustWait(t, emu, 20*time.Second, "the /graph answer", func() bool { return len(emu.Messages(chIncidents)) > 1 })
	answer := emu.Messages(chIncidents)[1]
	if got := answer.Text + " " + string(answer.Blocks); !strings.Contains(got, "order-service → postgres-rds") || !strings.Contains(got, "discovered from Istio") {
		t.Errorf("/graph order-service does not say its edge to postgres-rds was discovered from Istio:\n%s", got)
	}
	nightowl.stop()
	if got := notifications(emu); got[uOnCall] != 1 || len(got) != 1 {
		t.Errorf("notifications %v: want exactly one page, of %s", got, uOnCall)
	}
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The worker node that fails, as kube-state-metrics and node-exporter name it.
const (
	failingNode = "ip-10-0-1-22.ec2.internal"
	failingHost = "10.0.1.22"
)

// pod is one pod as kube-state-metrics reports it.
type pod struct {
	name, ns, node string
	ownerKind      string // ReplicaSet, StatefulSet, DaemonSet
	owner          string
	deployment     string // the ReplicaSet's Deployment
}

// workerCluster is three workers: the shop's workloads spread over them, the ones
// on the failing node named in its alerts.
func workerCluster() []byte {
	nodes := []struct{ name, ip string }{
		{"ip-10-0-1-21.ec2.internal", "10.0.1.21"}, {failingNode, failingHost}, {"ip-10-0-1-23.ec2.internal", "10.0.1.23"},
	}
	pods := []pod{
		{"checkout-6f7c9d8b5-x2k4p", "shop", failingNode, "ReplicaSet", "checkout-6f7c9d8b5", "checkout"},
		{"checkout-6f7c9d8b5-q9w8e", "shop", nodes[0].name, "ReplicaSet", "checkout-6f7c9d8b5", "checkout"},
		{"cart-5b8d7c6f4-m3n2b", "shop", failingNode, "ReplicaSet", "cart-5b8d7c6f4", "cart"},
		{"catalog-7c6b5d4f3-a1s2d", "shop", nodes[2].name, "ReplicaSet", "catalog-7c6b5d4f3", "catalog"},
		{"orders-db-0", "shop", failingNode, "StatefulSet", "orders-db", ""},
		{"orders-db-1", "shop", nodes[2].name, "StatefulSet", "orders-db", ""},
	}
	for i, n := range nodes {
		pods = append(pods, pod{fmt.Sprintf("node-exporter-%c7k2q", 'a'+i), "monitoring", n.name, "DaemonSet", "node-exporter", ""})
	}
	ksm := func(l map[string]string) map[string]string {
		l["job"], l["instance"], l["service"] = "kube-state-metrics", "10.42.0.5:8080", "kube-state-metrics"
		return l
	}
	om := newOpenMetrics()
	om.family("kube_pod_info", "gauge", "Information about pod.")
	for _, p := range pods {
		om.gauge("kube_pod_info", ksm(map[string]string{"namespace": p.ns, "pod": p.name, "uid": "uid-" + p.name, "node": p.node,
			"created_by_kind": p.ownerKind, "created_by_name": p.owner, "host_network": "false", "pod_ip": "10.42.1.9"}), 1)
	}
	om.family("kube_pod_owner", "gauge", "Information about the Pod's owner.")
	for _, p := range pods {
		om.gauge("kube_pod_owner", ksm(map[string]string{"namespace": p.ns, "pod": p.name, "uid": "uid-" + p.name,
			"owner_kind": p.ownerKind, "owner_name": p.owner, "owner_is_controller": "true"}), 1)
	}
	om.family("kube_replicaset_owner", "gauge", "Information about the ReplicaSet's owner.")
	seen := map[string]bool{}
	for _, p := range pods {
		if p.ownerKind == "ReplicaSet" && !seen[p.owner] {
			seen[p.owner] = true
			om.gauge("kube_replicaset_owner", ksm(map[string]string{"namespace": p.ns, "replicaset": p.owner,
				"owner_kind": "Deployment", "owner_name": p.deployment, "owner_is_controller": "true"}), 1)
		}
	}
	om.family("node_uname_info", "gauge", "Labeled system information as provided by the uname system call.")
	for _, n := range nodes {
		om.gauge("node_uname_info", map[string]string{"nodename": n.name, "instance": n.ip + ":9100", "job": "node-exporter",
			"sysname": "Linux", "release": "6.1.0-18-cloud-amd64", "machine": "x86_64", "domainname": "(none)", "version": "#1 SMP"}, 1)
	}
	return om.bytes()
}

// workerFailure is the worker node failing as kube-prometheus's rules say
// it: node-exporter's disk alert on its instance, the node NotReady and
// unreachable (the first three), then, over a quarter of an hour later,
// the pods scheduled there and their workloads, which name no node.
func workerFailure() []diagnosis.Alert {
	now := time.Now().Truncate(time.Millisecond)
	exporter := func(l map[string]string) map[string]string {
		l["job"], l["namespace"], l["service"], l["container"], l["pod"] = "node-exporter", "monitoring", "node-exporter", "node-exporter", "node-exporter-b7k2q"
		return l
	}
	ksm := func(l map[string]string) map[string]string {
		l["job"], l["service"], l["container"], l["instance"] = "kube-state-metrics", "kube-state-metrics", "kube-state-metrics", "10.42.0.5:8080"
		if l["namespace"] == "" {
			l["namespace"] = "monitoring"
		}
		return l
	}
	alert := func(minutesAgo int, severity, summary string, labels map[string]string) diagnosis.Alert {
		labels["severity"] = severity
		return diagnosis.Alert{Status: diagnosis.Firing, Labels: labels, StartsAt: now.Add(-time.Duration(minutesAgo) * time.Minute),
			Annotations: map[string]string{"summary": summary}}
	}
	alerts := []diagnosis.Alert{
		alert(20, "critical", "Filesystem has less than 3% space left.", exporter(map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace",
			"instance": failingHost + ":9100", "device": "/dev/nvme0n1p1", "fstype": "ext4", "mountpoint": "/"})),
		alert(19, "warning", "Node is not ready.", ksm(map[string]string{"alertname": "KubeNodeNotReady", "node": failingNode, "condition": "Ready", "status": "true"})),
		alert(19, "warning", "Node is unreachable.", ksm(map[string]string{"alertname": "KubeNodeUnreachable", "node": failingNode, "key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"})),
		alert(6, "warning", "Pod has been in a non-ready state for more than 15 minutes.", ksm(map[string]string{"alertname": "KubePodNotReady", "namespace": "shop", "pod": "checkout-6f7c9d8b5-x2k4p"})),
		alert(6, "warning", "Pod has been in a non-ready state for more than 15 minutes.", ksm(map[string]string{"alertname": "KubePodNotReady", "namespace": "shop", "pod": "cart-5b8d7c6f4-m3n2b"})),
		alert(6, "warning", "Pod has been in a non-ready state for more than 15 minutes.", ksm(map[string]string{"alertname": "KubePodNotReady", "namespace": "shop", "pod": "orders-db-0"})),
		alert(5, "warning", "Deployment has not matched the expected number of replicas.", ksm(map[string]string{"alertname": "KubeDeploymentReplicasMismatch", "namespace": "shop", "deployment": "checkout"})),
		alert(5, "warning", "Deployment has not matched the expected number of replicas.", ksm(map[string]string{"alertname": "KubeDeploymentReplicasMismatch", "namespace": "shop", "deployment": "cart"})),
		alert(5, "warning", "StatefulSet has not matched the expected number of replicas.", ksm(map[string]string{"alertname": "KubeStatefulSetReplicasMismatch", "namespace": "shop", "statefulset": "orders-db"})),
		alert(4, "critical", "cart is failing more than 5% of its requests.", map[string]string{"alertname": "HighErrorRate", "namespace": "shop", "service": "cart", "job": "shop/cart"}),
	}
	for i := range alerts {
		alerts[i].Fingerprint = diagnosis.Fingerprint(alerts[i].Labels)
	}
	return alerts
}

// TestAWorkerNodeFailureNamesTheNode: with the graph discovered from
// kube-state-metrics and node-exporter in a real Prometheus, a worker
// node's alerts and the symptoms of the pods scheduled on it, relayed by a
// real Alertmanager, are one card naming the node as the root cause:
// whether node-exporter saw its disk fill first, or the node just stopped
// answering.
func TestAWorkerNodeFailureNamesTheNode(t *testing.T) {
	failure := workerFailure()
	for _, tc := range []struct {
		name   string
		alerts []diagnosis.Alert
	}{
		{"its disk fills", failure},
		{"it stops answering", failure[1:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testbed.MustStartPrometheus(t, workerCluster())
			emu := MustWorkspace(t)
			hook := MustAlertmanagerHook(emu)
			am := testbed.MustStartAlertmanager(t, alertmanagerConfig(t, hook, []string{"namespace"}, true))
			nightowl := MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), map[string]string{
				"SERVICE_GRAPH": "", "GRAPH_DISCOVERY": "prometheus", "PROMETHEUS_URL": p.URL,
			})
			g := nightowl.App.Graph.Graph()
			if g.Kind(failingNode) != "node" || !slicesContain(g.DependsOn("cart"), failingNode) {
				t.Fatalf("the discovered graph: %s is a %q, cart depends on %v", failingNode, g.Kind(failingNode), g.DependsOn("cart"))
			}

			nodeAlerts := len(tc.alerts) - 7
			am.MustPostAlerts(t, tc.alerts[:nodeAlerts])
			MustWait(t, emu, 20*time.Second, "the node's card", func() bool { return len(emu.Messages(chIncidents)) > 0 })
			am.MustPostAlerts(t, tc.alerts[nodeAlerts:])
			MustWait(t, emu, 30*time.Second, "every alert on the card", func() bool {
				ms := emu.Messages(chIncidents)
				return len(ms) > 1 || len(ms) > 0 && strings.Contains(ms[0].Text, fmt.Sprintf("(%d alerts → 1 page)", len(tc.alerts)))
			})
			cards := emu.Messages(chIncidents)
			if len(cards) != 1 {
				t.Fatalf("%d top-level messages in #incidents, want exactly 1 card:\n%s", len(cards), emu.Transcript(chIncidents))
			}
			if !strings.Contains(cards[0].Text, "on "+failingNode) {
				t.Errorf("card %q does not name the node %s as the root cause", cards[0].Text, failingNode)
			}
		})
	}
}
