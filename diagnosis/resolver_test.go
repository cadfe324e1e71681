package diagnosis_test

import (
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

const k8sGraph = `services:
  order-service: {kind: service, depends_on: [orders-db, ip-10-0-1-23.eu-west-1.compute.internal], aliases: [orders]}
  orders-db: {kind: database, aliases: [postgres-orders]}
  checkout: {kind: service, depends_on: [order-service]}
  ip-10-0-1-23.eu-west-1.compute.internal: {kind: node, aliases: [10.0.1.23]}
  notification-consumer: {kind: service, aliases: [notifications-cg]}
  storefront: {kind: ingress}
  checkout-com: {kind: external}
  here-api: {kind: external}
`

func TestResolverFindsTheSubjectOfRealAlerts(t *testing.T) {
	g, err := graph.Parse([]byte(k8sGraph))
	if err != nil {
		t.Fatal(err)
	}
	r, err := diagnosis.NewResolver(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		labels      map[string]string
		node, label string
		inGraph     bool
	}{
		{"a plain service label", map[string]string{"service": "order-service"}, "order-service", "service", true},
		{"an alias in the service label", map[string]string{"service": "orders"}, "order-service", "service", true},
		{"kube-state-metrics names itself; the deployment is the subject",
			map[string]string{"alertname": "KubeDeploymentReplicasMismatch", "service": "kube-state-metrics", "job": "kube-state-metrics", "deployment": "order-service", "namespace": "prod"}, "order-service", "deployment", true},
		{"a pod with a ReplicaSet hash", map[string]string{"alertname": "KubePodCrashLooping", "service": "kube-state-metrics", "pod": "order-service-7d9f8c6b5-x2k4q"}, "order-service", "pod", true},
		{"a StatefulSet pod with an ordinal", map[string]string{"alertname": "KubePodNotReady", "pod": "orders-db-0"}, "orders-db", "pod", true},
		{"a node by its FQDN", map[string]string{"alertname": "KubeNodeNotReady", "node": "ip-10-0-1-23.eu-west-1.compute.internal"}, "ip-10-0-1-23.eu-west-1.compute.internal", "node", true},
		{"node-exporter's instance as ip:port", map[string]string{"alertname": "NodeFilesystemSpaceFillingUp", "job": "node-exporter", "instance": "10.0.1.23:9100"}, "ip-10-0-1-23.eu-west-1.compute.internal", "instance", true},
		{"an ingress alert names its backend", map[string]string{"alertname": "NginxHighErrorRate", "ingress": "storefront", "exported_service": "checkout"}, "checkout", "exported_service", true},
		{"a Sloth SLO alert", map[string]string{"alertname": "SLOErrorBudgetBurn", "sloth_service": "checkout", "sloth_slo": "availability"}, "checkout", "sloth_service", true},
		{"a Kafka consumer group alias", map[string]string{"alertname": "KafkaConsumerLagHigh", "consumergroup": "notifications-cg", "topic": "orders"}, "notification-consumer", "consumergroup", true},
		{"another rule set's node alert, about a node the graph does not know",
			map[string]string{"alertname": "KubernetesNodeNotReady", "job": "kube-state-metrics", "service": "kube-state-metrics", "node": "gke-prod-pool-1-9c2f-x1"}, "gke-prod-pool-1-9c2f-x1", "node", false},
		{"a provider spelled with a dot for the graph's dash", map[string]string{"alertname": "UpstreamErrors", "service": "refunds", "provider": "checkout.com"}, "checkout-com", "provider", true},
		{"a provider named without the graph's service suffix", map[string]string{"alertname": "UpstreamErrors", "service": "refunds", "provider": "here"}, "here-api", "provider", true},
		{"a namespace is no spelling of a service", map[string]string{"alertname": "KubeJobFailed", "service": "kube-state-metrics", "job": "kube-state-metrics", "namespace": "here", "job_name": "nightly-export-29581234"}, "nightly-export", "job_name", false},
		{"a service named with a suffix the graph leaves out", map[string]string{"service": "checkout-service"}, "checkout", "service", true},
		{"a service the graph does not know", map[string]string{"service": "legacy-billing"}, "legacy-billing", "service", false},
		{"a status page exporter's provider", map[string]string{"alertname": "StatuspageComponentDegraded", "job": "statuspage-exporter", "statuspage": "here", "component": "Geocoding API"}, "here-api", "statuspage", true},
		{"the status page of a provider the graph lacks", map[string]string{"alertname": "StatuspageComponentDegraded", "job": "statuspage-exporter", "statuspage": "twilio"}, "twilio", "statuspage", false},
		{"a blackbox probe of a provider's public URL", map[string]string{"alertname": "BlackboxProbeFailed", "job": "blackbox", "instance": "https://geocode.search.hereapi.com/v1/health"}, "here-api", "instance", true},
		{"a blackbox probe of a public URL of the organisation's own", map[string]string{"alertname": "BlackboxProbeFailed", "job": "blackbox", "instance": "https://eu.orders.io/healthz"}, "", "", false},
		{"an unknown workload behind kube-state-metrics is not the exporter", map[string]string{"service": "kube-state-metrics", "deployment": "ghost"}, "ghost", "deployment", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Resolve(diagnosis.Alert{Labels: tc.labels})
			if got.Node != tc.node || got.Label != tc.label || got.InGraph != tc.inGraph {
				t.Errorf("got %+v, want node %s by %s (in graph %v)", got, tc.node, tc.label, tc.inGraph)
			}
		})
	}
}

func TestResolverRulesAreConfigurable(t *testing.T) {
	g, _ := graph.Parse([]byte(k8sGraph))
	rules, err := diagnosis.ParseRules([]byte("resolve:\n  - label: team_service\n    when: {team: orders}\n  - label: service\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := diagnosis.NewResolver(g, rules)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Resolve(diagnosis.Alert{Labels: map[string]string{"team": "orders", "team_service": "checkout", "service": "order-service"}})
	if got.Node != "checkout" || got.Label != "team_service" {
		t.Errorf("got %+v, want the custom rule to win", got)
	}
	if _, err := diagnosis.NewResolver(g, []diagnosis.Rule{{Label: "pod", Strip: "("}}); err == nil {
		t.Error("a bad strip pattern was accepted")
	}
}

// TestResolverKnowsCoreDNSByItsServiceName: CoreDNS runs as the Deployment
// coredns behind the Service kube-dns; the CoreDNS mixin's alerts say
// service="kube-dns" of the node a graph file calls coredns, and a file
// may call it kube-dns when an alert says coredns.
func TestResolverKnowsCoreDNSByItsServiceName(t *testing.T) {
	for _, tc := range []struct{ file, label, want string }{
		{"services:\n  coredns: {kind: dns}\n  web: {kind: service, depends_on: [coredns]}\n", "kube-dns", "coredns"},
		{"services:\n  kube-dns: {kind: dns}\n  web: {kind: service, depends_on: [kube-dns]}\n", "coredns", "kube-dns"},
	} {
		g, err := graph.Parse([]byte(tc.file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := diagnosis.NewResolver(g, nil)
		if err != nil {
			t.Fatal(err)
		}
		a := diagnosis.Alert{Labels: map[string]string{"alertname": "CoreDNSErrorsHigh", "job": "kube-dns", "service": tc.label, "namespace": "kube-system"}}
		if got := r.Resolve(a); got.Node != tc.want || !got.InGraph {
			t.Errorf("service=%s on a graph with %s: resolved to %+v, want %s", tc.label, tc.want, got, tc.want)
		}
	}
}
