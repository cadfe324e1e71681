package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// clusterGraph is a shop whose gateway runs in namespace edge and whose
// services run in shop-prod, a search system in search and search-data that
// shares nothing with it, and payments split between payments and risk.
const clusterGraph = `services:
  api-gateway:      {kind: gateway, depends_on: [checkout-service, catalog-service]}
  checkout-service: {kind: service, depends_on: [payment-service, order-service, redis-cache]}
  payment-service:  {kind: service, depends_on: [order-service]}
  order-service:    {kind: service, depends_on: [postgres-rds]}
  catalog-service:  {kind: service, depends_on: [postgres-rds]}
  postgres-rds:     {kind: database, aliases: [orders-db]}
  redis-cache:      {kind: cache}
  search-frontend:  {kind: gateway, depends_on: [search-api]}
  search-api:       {kind: service, depends_on: [elasticsearch]}
  search-indexer:   {kind: service, depends_on: [elasticsearch]}
  elasticsearch:    {kind: database}
  payments-api:     {kind: service, depends_on: [fraud-scoring, ledger]}
  fraud-scoring:    {kind: service, depends_on: [risk-db]}
  ledger:           {kind: service, depends_on: [ledger-db]}
  risk-db:          {kind: database}
  ledger-db:        {kind: database}
`

// stormAlert is an alert and the node its line in the thread names.
type stormAlert struct {
	diagnosis.Alert
	node string
}

// kubeStateAlert is a kube-prometheus-stack rule over kube-state-metrics:
// the scrape's labels, the object's namespace and name, and the workload
// it belongs to.
func kubeStateAlert(name, ns, workload string, at time.Time, object ...string) stormAlert {
	labels := map[string]string{
		"alertname": name, "severity": "warning", "namespace": ns,
		"service": "kube-prometheus-stack-kube-state-metrics", "job": "kube-state-metrics",
		"container": "kube-state-metrics", "endpoint": "http", "instance": "10.0.3.57:8080",
		"prometheus": "monitoring/kube-prometheus-stack-prometheus",
	}
	for i := 0; i+1 < len(object); i += 2 {
		labels[object[i]] = object[i+1]
	}
	return stormAlert{diagnosis.Alert{Status: diagnosis.Firing, Labels: labels, StartsAt: at.Truncate(time.Millisecond), Annotations: map[string]string{
		"summary":     map[string]string{"KubePodCrashLooping": "Pod is crash looping.", "KubeHpaMaxedOut": "HPA is running at max replicas"}[name],
		"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/" + strings.ToLower(name),
	}}, workload}
}

// crashLooping is KubePodCrashLooping for a Deployment's pod.
func crashLooping(ns, workload, replicaSet, pod string, at time.Time) stormAlert {
	return kubeStateAlert("KubePodCrashLooping", ns, workload, at,
		"pod", workload+"-"+replicaSet+"-"+pod, "container", workload, "reason", "CrashLoopBackOff")
}

// serviceAlert is an application rule whose metrics carry a service label.
func serviceAlert(name, severity, ns, service string, at time.Time, summary string, extra ...string) stormAlert {
	a := alertOn(name, service, severity, at, append([]string{"namespace", ns}, extra...)...)
	a.Annotations["summary"] = summary
	return stormAlert{a, service}
}

func alertsOf(s []stormAlert) []diagnosis.Alert {
	out := make([]diagnosis.Alert, len(s))
	for i, a := range s {
		out[i] = a.Alert
	}
	return out
}

// TestCascadesAcrossNamespacesGiveOneCardPerIncident: a real Alertmanager
// groups by namespace, so each namespace's alerts reach nightowl in their
// own notification; the alerts from a second namespace arrive after the
// first card is out. Every incident still gets one card and one page, and
// its card holds every alert of its storm; unrelated incidents stay apart.
func TestCascadesAcrossNamespacesGiveOneCardPerIncident(t *testing.T) {
	now := time.Now()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	// The shop: order-service's database pool, its callers in shop-prod,
	// then the gateway in edge, then more of shop-prod.
	shopFirst := []stormAlert{
		serviceAlert("DatabaseConnectionPoolExhausted", "critical", "shop-prod", "order-service", ago(4*time.Minute), "order-service pool 50/50 connections in use",
			"database", "orders-db", "root_cause_candidate", "true"),
		serviceAlert("HTTPErrorRateHigh", "warning", "shop-prod", "order-service", ago(230*time.Second), "order-service 5xx ratio 21%"),
		serviceAlert("HTTPErrorRateHigh", "warning", "shop-prod", "checkout-service", ago(220*time.Second), "checkout-service 5xx ratio 14%"),
		crashLooping("shop-prod", "order-service", "7d9f8b6c5", "x2x9z", ago(210*time.Second)),
	}
	gateway := []stormAlert{
		serviceAlert("HTTPErrorRateHigh", "warning", "edge", "api-gateway", ago(200*time.Second), "api-gateway 5xx ratio 9%"),
		serviceAlert("HTTPLatencyHigh", "warning", "edge", "api-gateway", ago(190*time.Second), "api-gateway p99 4.2s"),
		kubeStateAlert("KubeHpaMaxedOut", "edge", "api-gateway", ago(180*time.Second), "horizontalpodautoscaler", "api-gateway"),
		crashLooping("edge", "api-gateway", "5c7f9d8b4", "q7r2t", ago(150*time.Second)),
	}
	shopMore := []stormAlert{
		crashLooping("shop-prod", "order-service", "7d9f8b6c5", "k8w2p", ago(170*time.Second)),
		serviceAlert("HTTPLatencyHigh", "warning", "shop-prod", "payment-service", ago(160*time.Second), "payment-service p99 3.1s"),
		serviceAlert("HTTPLatencyHigh", "warning", "shop-prod", "checkout-service", ago(140*time.Second), "checkout-service p99 5.5s"),
	}
	// Search, unrelated to the shop: search-api in search, then
	// Elasticsearch and the indexer in search-data, then search again.
	searchFirst := []stormAlert{
		serviceAlert("HTTPErrorRateHigh", "warning", "search", "search-api", ago(210*time.Second), "search-api 5xx ratio 30%"),
	}
	searchData := []stormAlert{
		serviceAlert("ElasticsearchClusterHealthRed", "critical", "search-data", "elasticsearch", ago(200*time.Second), "elasticsearch cluster health is RED",
			"job", "elasticsearch-exporter", "pod", "elasticsearch-master-0"),
		serviceAlert("ElasticsearchDiskOutOfSpace", "critical", "search-data", "elasticsearch", ago(190*time.Second), "elasticsearch-master-0 disk 96% used",
			"job", "elasticsearch-exporter", "pod", "elasticsearch-master-0"),
		crashLooping("search-data", "search-indexer", "6b8d7c9f5", "m4n8v", ago(195*time.Second)),
	}
	searchMore := []stormAlert{
		serviceAlert("HTTPLatencyHigh", "warning", "search", "search-api", ago(185*time.Second), "search-api p99 6.0s"),
		serviceAlert("HTTPErrorRateHigh", "warning", "search", "search-frontend", ago(180*time.Second), "search-frontend 5xx ratio 12%"),
	}
	// Payments: risk-db and fraud-scoring in risk, payments-api in payments
	// 30 s later with a CronJob the graph does not know, then risk again.
	risk := []stormAlert{
		serviceAlert("PostgresqlTooManyConnections", "critical", "risk", "risk-db", ago(90*time.Second), "risk-db 498/500 connections",
			"job", "postgres-exporter", "pod", "risk-db-0"),
		serviceAlert("HTTPLatencyHigh", "warning", "risk", "fraud-scoring", ago(80*time.Second), "fraud-scoring p99 8.5s"),
	}
	payments := []stormAlert{
		serviceAlert("HTTPErrorRateHigh", "critical", "payments", "payments-api", ago(60*time.Second), "payments-api 5xx ratio 18% (fraud-scoring timeouts)"),
		serviceAlert("HTTPLatencyHigh", "warning", "payments", "payments-api", ago(55*time.Second), "payments-api p99 9.8s"),
		crashLooping("payments", "payments-api", "8f6d5c7b9", "w2x4z", ago(50*time.Second)),
		kubeStateAlert("KubeJobFailed", "payments", "settlement-export", ago(40*time.Second), "job_name", "settlement-export-29581234"),
	}
	riskMore := []stormAlert{
		serviceAlert("HTTPErrorRateHigh", "warning", "risk", "fraud-scoring", ago(45*time.Second), "fraud-scoring 5xx ratio 25%"),
		crashLooping("risk", "fraud-scoring", "7b5c9d6f8", "z9y8x", ago(35*time.Second)),
	}
	join := func(parts ...[]stormAlert) []stormAlert { return slices.Concat(parts...) }
	cases := []struct {
		name string
		// stages are posted one after another, each once every alert of
		// the ones before is on a card
		stages    [][]stormAlert
		incidents [][]stormAlert
	}{
		{"a shop cascade from shop-prod into the gateway in edge is one card",
			[][]stormAlert{shopFirst, gateway, shopMore},
			[][]stormAlert{join(shopFirst, gateway, shopMore)}},
		{"two unrelated incidents over four namespaces are two cards",
			[][]stormAlert{join(shopFirst, searchFirst), join(gateway, searchData), join(shopMore, searchMore)},
			[][]stormAlert{join(shopFirst, gateway, shopMore), join(searchFirst, searchData, searchMore)}},
		{"a payments cascade from risk into payments is one card",
			[][]stormAlert{risk, payments, riskMore},
			[][]stormAlert{join(risk, payments, riskMore)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := MustWorkspace(t)
			hook := MustAlertmanagerHook(emu)
			am := testbed.MustStartAlertmanager(t, alertmanagerConfig(t, hook, []string{"namespace"}, true))
			dir := t.TempDir()
			nightowl := MustRunNightowl(t, emu, filepath.Join(dir, "bot.db"), map[string]string{
				"SERVICE_GRAPH": mustWriteFile(t, dir, "graph.yaml", clusterGraph),
			})

			want := len(tc.incidents)
			posted := 0
			for i, stage := range tc.stages {
				am.MustPostAlerts(t, alertsOf(stage))
				posted += len(stage)
				MustWait(t, emu, 20*time.Second, fmt.Sprintf("the alerts of stage %d on cards", i+1), func() bool {
					n := 0
					for _, m := range emu.Messages(chIncidents) {
						n += cardCount(m)
					}
					return n == posted
				})
			}
			cardOf := func(storm []stormAlert) (slackemu.Message, bool) {
				for _, m := range emu.Messages(chIncidents) {
					if strings.Contains(threadOf(emu, m), storm[0].Name()+" · "+storm[0].node) {
						return m, true
					}
				}
				return slackemu.Message{}, false
			}
			if cards := emu.Messages(chIncidents); len(cards) != want {
				t.Errorf("%d cards in #incidents, want %d: %v", len(cards), want, texts(cards))
			}
			for _, storm := range tc.incidents {
				card, ok := cardOf(storm)
				if !ok {
					t.Errorf("no card lists %s · %s", storm[0].Name(), storm[0].node)
					continue
				}
				if got := cardCount(card); got != len(storm) {
					t.Errorf("card %q holds %d alerts, want all %d of its storm", card.Text, got, len(storm))
				}
				thread := threadOf(emu, card)
				for _, a := range storm {
					if line := a.Name() + " · " + a.node; !strings.Contains(thread, line) {
						t.Errorf("the thread of %q does not list %s", card.Text, line)
					}
				}
			}
			nightowl.stop()
			if got := notifications(emu); got[uOnCall] != want || len(got) != 1 {
				t.Errorf("notifications %v: want one page per incident, %d, of %s", got, want, uOnCall)
			}
		})
	}
}

// threadOf is everything said in a card's thread.
func threadOf(emu *slackemu.Server, card slackemu.Message) string {
	var b strings.Builder
	for _, r := range emu.Replies(chIncidents, card.TS) {
		fmt.Fprintf(&b, "%s\n%s\n", r.Text, r.Blocks)
	}
	return b.String()
}

var cardCountRE = regexp.MustCompile(`\((\d+) alerts → 1 page\)`)

// cardCount is the number of distinct alerts a card says it holds.
func cardCount(card slackemu.Message) int {
	m := cardCountRE.FindStringSubmatch(card.Text)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
