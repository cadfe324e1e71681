package diagnosis_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Why this file is long: it is one table of storms, each a graph and the
// alerts a real cluster would send; splitting it would only scatter them.

// storm builds one alert of a storm: at seconds after t0, its labels as
// "k=v" pairs, its summary last.
func storm(t0 time.Time, at int, summary string, kv ...string) diagnosis.Alert {
	labels := map[string]string{}
	for _, p := range kv {
		k, v, _ := strings.Cut(p, "=")
		labels[k] = v
	}
	if labels["severity"] == "" {
		labels["severity"] = "warning"
	}
	return diagnosis.Alert{Status: diagnosis.Firing, Labels: labels, Annotations: map[string]string{"summary": summary},
		StartsAt: t0.Add(time.Duration(at) * time.Second), Fingerprint: diagnosis.Fingerprint(labels)}
}

// TestStormsOfClustersThisCodeWasNotWrittenFor: storms written from how
// real clusters page (kube-prometheus and exporter rule names, exporters'
// own service labels, many namespaces, noise), over graphs that miss an
// edge or a node, none of them in the corpus the model was fitted on.
func TestStormsOfClustersThisCodeWasNotWrittenFor(t *testing.T) {
	t0 := time.Date(2026, 10, 3, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, graph string
		alerts      []diagnosis.Alert
		want        string
		also        []string // other right answers
	}{
		{
			name: "etcd's slow disk slows the API server and every controller",
			graph: `services:
  etcd: {kind: database, team: platform}
  kube-apiserver: {kind: platform, team: platform, depends_on: [etcd]}
  argocd: {kind: service, team: platform, depends_on: [kube-apiserver]}
  cert-manager: {kind: service, team: platform, depends_on: [kube-apiserver]}
  keda: {kind: service, team: platform, depends_on: [kube-apiserver]}
  checkout: {kind: service, team: shop, depends_on: [orders-db]}
  orders-db: {kind: database, team: shop}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -600, "etcd cluster \"etcd\": 99th percentile fsync durations are 1.2s on etcd instance 10.0.1.11:2379.", "alertname=etcdHighFsyncDurations", "job=etcd", "instance=10.0.1.11:2379", "namespace=kube-system", "service=etcd"),
				storm(t0, 0, "etcd cluster \"etcd\": 99th percentile commit durations 0.9s on etcd instance 10.0.1.11:2379.", "alertname=etcdHighCommitDurations", "job=etcd", "instance=10.0.1.11:2379", "namespace=kube-system", "service=etcd"),
				storm(t0, 120, "The API server is burning too much error budget.", "alertname=KubeAPIErrorBudgetBurn", "long=1h", "short=5m", "severity=critical", "namespace=default", "service=kube-apiserver"),
				storm(t0, 200, "Argo CD application sync failed: context deadline exceeded", "alertname=ArgoCdAppSyncFailed", "name=shop", "namespace=argocd", "service=argocd-metrics"),
				storm(t0, 260, "cert-manager is failing to reach the Kubernetes API: Get \"https://10.96.0.1:443/apis/cert-manager.io/v1/certificates\": context deadline exceeded", "alertname=CertManagerAbsent", "namespace=cert-manager", "service=cert-manager"),
				storm(t0, 300, "Keda scaler errors: the server was unable to return a response in the time allotted", "alertname=KedaScalerErrors", "namespace=keda", "service=keda"),
				storm(t0, 310, "Processes experience elevated CPU throttling.", "alertname=CPUThrottlingHigh", "namespace=shop", "pod=checkout-7d9f8-abcde", "container=checkout", "severity=info"),
			},
			want: "etcd",
		},
		{
			name: "a Redis primary fails over and writers get READONLY from the new replica",
			graph: `services:
  session-redis: {kind: cache, team: identity}
  login-api: {kind: service, team: identity, depends_on: [session-redis, users-db]}
  cart-api: {kind: service, team: shop, depends_on: [session-redis, carts-db]}
  api-gateway: {kind: gateway, team: edge, depends_on: [login-api, cart-api]}
  users-db: {kind: database, team: identity}
  carts-db: {kind: database, team: shop}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Redis instance lost its master (instance 10.2.3.4:9121)", "alertname=RedisMissingMaster", "instance=10.2.3.4:9121", "job=redis-exporter", "namespace=monitoring", "service=redis-exporter"),
				storm(t0, 40, "login-api 5xx ratio 31%: READONLY You can't write against a read only replica.", "alertname=HTTPErrorRateHigh", "namespace=identity", "service=login-api", "severity=critical"),
				storm(t0, 55, "cart-api errors: READONLY You can't write against a read only replica.", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=cart-api"),
				storm(t0, 90, "api-gateway 5xx ratio 12%", "alertname=KongHTTP5xxRateHigh", "namespace=edge", "service=api-gateway"),
				storm(t0, 100, "Pod identity/login-api-5f6d7-x2x9q has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=identity", "pod=login-api-5f6d7-x2x9q"),
			},
			want: "session-redis",
		},
		{
			name: "the cluster's NAT gateway runs out of source ports: calls to three providers time out",
			graph: `services:
  nat-gateway: {kind: egress, team: platform}
  stripe: {kind: external, team: payments}
  twilio: {kind: external, team: comms}
  sendgrid: {kind: external, team: comms}
  payments-api: {kind: service, team: payments, depends_on: [stripe, payments-db, nat-gateway]}
  sms-sender: {kind: service, team: comms, depends_on: [twilio, nat-gateway]}
  mailer: {kind: service, team: comms, depends_on: [sendgrid, nat-gateway]}
  search-indexer: {kind: service, team: search, depends_on: [nat-gateway]}
  payments-db: {kind: database, team: payments}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "payments-api errors: Post \"https://api.stripe.com/v1/payment_intents\": dial tcp 52.6.4.1:443: i/o timeout", "alertname=HTTPErrorRateHigh", "namespace=payments", "service=payments-api", "severity=critical"),
				storm(t0, 20, "sms-sender: Post \"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json\": dial tcp 3.1.2.3:443: i/o timeout", "alertname=SMSSendFailures", "namespace=comms", "service=sms-sender"),
				storm(t0, 35, "mailer: Post \"https://api.sendgrid.com/v3/mail/send\": dial tcp 167.89.1.1:443: i/o timeout", "alertname=EmailDeliveryErrors", "namespace=comms", "service=mailer"),
				storm(t0, 60, "NAT gateway nat-0a1b2c3d ErrorPortAllocation 1,840 in 5m", "alertname=NATGatewayErrorPortAllocation", "job=yace", "nat_gateway_id=nat-0a1b2c3d", "region=eu-west-1", "service=nat-gateway"),
				storm(t0, 90, "payment success rate 61% (baseline 97%)", "alertname=PaymentSuccessRateLow", "category=business", "severity=critical"),
			},
			want: "nat-gateway",
		},
		{
			name: "one provider stops answering: its callers time out connecting, the NAT gateway's other users are fine",
			graph: `services:
  nat-gateway: {kind: nat, team: platform}
  stripe: {kind: external, team: payments}
  twilio: {kind: external, team: comms}
  payments-api: {kind: service, team: payments, depends_on: [stripe, payments-db, nat-gateway]}
  refunds-worker: {kind: service, team: payments, depends_on: [stripe, payments-db, nat-gateway]}
  sms-sender: {kind: service, team: comms, depends_on: [twilio, nat-gateway]}
  mailer: {kind: service, team: comms, depends_on: [nat-gateway]}
  search-indexer: {kind: service, team: search, depends_on: [nat-gateway]}
  payments-db: {kind: database, team: payments}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "payments-api errors: Post \"https://api.stripe.com/v1/payment_intents\": dial tcp 52.6.4.1:443: i/o timeout", "alertname=HTTPErrorRateHigh", "namespace=payments", "service=payments-api", "severity=critical"),
				storm(t0, 30, "refunds-worker: Post \"https://api.stripe.com/v1/refunds\": dial tcp 52.6.4.9:443: i/o timeout", "alertname=JobFailuresHigh", "namespace=payments", "service=refunds-worker"),
				storm(t0, 90, "payment success rate 12% (baseline 97%)", "alertname=PaymentSuccessRateLow", "category=business", "severity=critical"),
			},
			want: "stripe",
		},
		{
			name: "a worker node's kubelet stops: its pods in three namespaces go unready, the graph lists no nodes",
			graph: `services:
  search-api: {kind: service, team: search, depends_on: [elasticsearch]}
  elasticsearch: {kind: search, team: search}
  notifications: {kind: service, team: comms, depends_on: [rabbitmq]}
  rabbitmq: {kind: queue, team: platform}
  web: {kind: service, team: shop, depends_on: [search-api, notifications]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "ip-10-1-7-20.ec2.internal has been unready for more than 15 minutes.", "alertname=KubeNodeNotReady", "node=ip-10-1-7-20.ec2.internal", "namespace=monitoring", "job=kube-state-metrics", "service=kube-prometheus-stack-kube-state-metrics"),
				storm(t0, 10, "Kubelet on ip-10-1-7-20.ec2.internal has disappeared from Prometheus target discovery.", "alertname=KubeletDown", "node=ip-10-1-7-20.ec2.internal", "namespace=kube-system", "severity=critical"),
				storm(t0, 60, "Pod search/search-api-6c7d-9kq2w has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=search", "pod=search-api-6c7d-9kq2w", "node=ip-10-1-7-20.ec2.internal"),
				storm(t0, 65, "Pod comms/notifications-58b9-l2k4n has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=comms", "pod=notifications-58b9-l2k4n", "node=ip-10-1-7-20.ec2.internal"),
				storm(t0, 70, "Elasticsearch cluster health is yellow: 1 node left the cluster", "alertname=ElasticsearchClusterYellow", "cluster=search-es", "namespace=search", "service=elasticsearch"),
				storm(t0, 120, "web p99 latency 3.1s", "alertname=HTTPLatencyHigh", "namespace=shop", "service=web"),
				storm(t0, 125, "search-api 5xx ratio 9%", "alertname=HTTPErrorRateHigh", "namespace=search", "service=search-api"),
			},
			want: "ip-10-1-7-20.ec2.internal",
		},
		{
			name: "a bad rollout of pricing crash-loops; its callers' errors name it and nothing below it alerts",
			graph: `services:
  pricing: {kind: service, team: catalog, depends_on: [pricing-db, fx-rates]}
  pricing-db: {kind: database, team: catalog}
  fx-rates: {kind: external, team: catalog}
  catalog-api: {kind: service, team: catalog, depends_on: [pricing]}
  checkout: {kind: service, team: shop, depends_on: [pricing, orders-db]}
  orders-db: {kind: database, team: shop}
  storefront: {kind: gateway, team: edge, depends_on: [catalog-api, checkout]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Deployment catalog/pricing has not matched the expected number of replicas for longer than 15 minutes.", "alertname=KubeDeploymentReplicasMismatch", "deployment=pricing", "namespace=catalog", "job=kube-state-metrics", "service=kps-kube-state-metrics"),
				storm(t0, 30, "Pod catalog/pricing-7b5c9-qq2lm (pricing) is in waiting state (reason: \"CrashLoopBackOff\").", "alertname=KubePodCrashLooping", "namespace=catalog", "pod=pricing-7b5c9-qq2lm", "container=pricing", "job=kube-state-metrics", "service=kps-kube-state-metrics"),
				storm(t0, 50, "catalog-api errors: rpc error: code = Unavailable desc = connection error: dial tcp pricing.catalog.svc.cluster.local:8080: connect: connection refused", "alertname=GRPCErrorRateHigh", "namespace=catalog", "service=catalog-api"),
				storm(t0, 70, "checkout 5xx 22%: upstream pricing unavailable", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=checkout", "severity=critical"),
				storm(t0, 90, "storefront error budget burn", "alertname=ErrorBudgetBurn", "slo=storefront-availability", "namespace=edge", "severity=critical"),
				storm(t0, -3600, "pricing-db replication lag 4s", "alertname=PostgresqlReplicationLag", "namespace=catalog", "service=pricing-db", "instance=10.3.2.1:9187"),
			},
			want: "pricing",
		},
		{
			name: "lock waits on the orders database alert on the services that use it",
			graph: `services:
  orders-db: {kind: database, team: orders}
  orders-api: {kind: service, team: orders, depends_on: [orders-db, orders-cache]}
  billing-worker: {kind: service, team: billing, depends_on: [orders-db, billing-db]}
  orders-cache: {kind: cache, team: orders}
  billing-db: {kind: database, team: billing}
  storefront: {kind: gateway, team: edge, depends_on: [orders-api]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "orders-api: 38 queries waiting on locks", "alertname=DBLockWaitsHigh", "namespace=orders", "service=orders-api"),
				storm(t0, 45, "orders-api 5xx 17%: pq: canceling statement due to lock timeout", "alertname=HTTPErrorRateHigh", "namespace=orders", "service=orders-api", "severity=critical"),
				storm(t0, 70, "billing-worker job failures: ERROR: canceling statement due to lock timeout (SQLSTATE 55P03)", "alertname=JobFailuresHigh", "namespace=billing", "service=billing-worker"),
				storm(t0, 120, "storefront p99 4.2s", "alertname=HTTPLatencyHigh", "namespace=edge", "service=storefront"),
				storm(t0, 130, "Pod orders/orders-api-6c8d9-2kd9s has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=orders", "pod=orders-api-6c8d9-2kd9s"),
			},
			want: "orders-db",
		},
		{
			name: "the payments database runs out of connections; the payments-gateway in front of it alerts first and loudest",
			graph: `services:
  payments-db: {kind: database, team: payments}
  payments-gateway: {kind: service, team: payments, depends_on: [payments-db, fraud-api]}
  fraud-api: {kind: service, team: risk, depends_on: [fraud-db]}
  fraud-db: {kind: database, team: risk}
  checkout: {kind: service, team: shop, depends_on: [payments-gateway, carts]}
  carts: {kind: service, team: shop}
  refunds: {kind: service, team: payments, depends_on: [payments-db]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "payments-gateway 5xx ratio 41%", "alertname=HTTPErrorRateHigh", "namespace=payments", "service=payments-gateway", "severity=critical"),
				storm(t0, 20, "payments-gateway p99 8.1s", "alertname=HTTPLatencyHigh", "namespace=payments", "service=payments-gateway"),
				storm(t0, 40, "checkout: upstream payments-gateway returned 503", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=checkout", "severity=critical"),
				storm(t0, 200, "PostgreSQL instance has too many connections (> 80%). VALUE = 97", "alertname=PostgresqlTooManyConnections", "instance=10.4.1.9:9187", "job=postgres-exporter", "namespace=monitoring", "service=postgres-exporter", "server=payments-db.payments.svc:5432"),
				storm(t0, 210, "refunds worker: FATAL: sorry, too many clients already", "alertname=RefundsFailing", "namespace=payments", "service=refunds"),
			},
			want: "payments-db",
		},
		{
			name: "the VPC resolver fails public lookups; the cluster's own names still resolve",
			graph: `services:
  coredns: {kind: dns, team: platform, depends_on: [vpc-resolver]}
  vpc-resolver: {kind: dns, team: platform}
  geo-api: {kind: service, team: maps, depends_on: [coredns, mapbox]}
  notifier: {kind: service, team: comms, depends_on: [coredns, twilio]}
  checkout: {kind: service, team: shop, depends_on: [coredns, stripe, orders]}
  orders: {kind: service, team: shop, depends_on: [coredns]}
  mapbox: {kind: external, team: maps}
  twilio: {kind: external, team: comms}
  stripe: {kind: external, team: shop}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "CoreDNS is returning SERVFAIL for 38% of forward requests to 10.0.0.2:53.", "alertname=CoreDNSForwardErrorsHigh", "namespace=kube-system", "job=kube-dns", "service=kube-dns"),
				storm(t0, 30, "geo-api errors: Get \"https://api.mapbox.com/geocoding/v5\": dial tcp: lookup api.mapbox.com on 10.96.0.10:53: server misbehaving", "alertname=HTTPErrorRateHigh", "namespace=maps", "service=geo-api"),
				storm(t0, 45, "notifier: lookup api.twilio.com on 10.96.0.10:53: server misbehaving", "alertname=SMSSendFailures", "namespace=comms", "service=notifier"),
				storm(t0, 60, "checkout 5xx 9%: dial tcp: lookup api.stripe.com on 10.96.0.10:53: server misbehaving", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=checkout", "severity=critical"),
			},
			// The generator's convention too: the cluster's DNS is where
			// the forward errors show, so it is also a right answer.
			want: "vpc-resolver", also: []string{"coredns"},
		},
		{
			name: "an internal load balancer drops connections; the ledger behind it is healthy",
			graph: `services:
  ledger-nlb: {kind: loadbalancer, team: platform, depends_on: [ledger-api], aliases: [internal-ledger-nlb-7f3a.elb.eu-west-1.amazonaws.com]}
  ledger-api: {kind: service, team: ledger, depends_on: [ledger-db]}
  ledger-db: {kind: database, team: ledger}
  wallet: {kind: service, team: wallet, depends_on: [ledger-nlb]}
  payouts: {kind: service, team: payouts, depends_on: [ledger-nlb]}
  statements: {kind: service, team: ledger, depends_on: [ledger-nlb]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "wallet errors: Get \"https://internal-ledger-nlb-7f3a.elb.eu-west-1.amazonaws.com/v1/balance\": read: connection reset by peer", "alertname=HTTPErrorRateHigh", "namespace=wallet", "service=wallet", "severity=critical"),
				storm(t0, 25, "payouts: Post \"https://internal-ledger-nlb-7f3a.elb.eu-west-1.amazonaws.com/v1/transfers\": EOF", "alertname=PayoutFailures", "namespace=payouts", "service=payouts"),
				storm(t0, 50, "statements job: connection reset by peer (internal-ledger-nlb-7f3a.elb.eu-west-1.amazonaws.com:443)", "alertname=KubeJobFailed", "namespace=ledger", "job_name=statements-29341", "service=statements"),
				storm(t0, 80, "TCP_ELB_Reset_Count 9,210 in 5m on net/internal-ledger-nlb-7f3a", "alertname=AWSNLBResetsHigh", "job=yace", "load_balancer=net/internal-ledger-nlb-7f3a/5e1d", "region=eu-west-1"),
			},
			want: "ledger-nlb",
		},
		{
			name: "inventory's pods are OOM-killed; mesh sidecars of its callers report resets",
			graph: `services:
  inventory: {kind: service, team: stock, depends_on: [inventory-db]}
  inventory-db: {kind: database, team: stock}
  cart: {kind: service, team: shop, depends_on: [inventory, cart-redis]}
  checkout: {kind: service, team: shop, depends_on: [inventory, payments]}
  payments: {kind: service, team: payments}
  cart-redis: {kind: cache, team: shop}
  istio-ingressgateway: {kind: ingress, team: platform, depends_on: [cart, checkout]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Container inventory in pod stock/inventory-5d8f-7xk2p has been OOMKilled 3 times in the last 10 minutes.", "alertname=KubernetesContainerOomKiller", "namespace=stock", "pod=inventory-5d8f-7xk2p", "container=inventory"),
				storm(t0, 20, "cart 5xx: upstream connect error or disconnect/reset before headers. reset reason: connection failure", "alertname=IstioHighRequestErrorRate", "destination_workload=cart", "destination_service_namespace=shop", "reporter=destination", "namespace=shop"),
				storm(t0, 40, "checkout 5xx 18%", "alertname=IstioHighRequestErrorRate", "destination_workload=checkout", "destination_service_namespace=shop", "reporter=destination", "namespace=shop", "severity=critical"),
				storm(t0, 60, "inventory p99 latency 5.3s", "alertname=IstioLatency99Percentile", "destination_workload=inventory", "destination_service_namespace=stock", "reporter=destination", "namespace=stock"),
				storm(t0, 90, "istio-ingressgateway 5xx 9%", "alertname=IstioHighRequestErrorRate", "destination_workload=istio-ingressgateway", "namespace=istio-system", "reporter=source"),
				storm(t0, 100, "Pod stock/inventory-5d8f-7xk2p (inventory) is in waiting state (reason: \"CrashLoopBackOff\").", "alertname=KubePodCrashLooping", "namespace=stock", "pod=inventory-5d8f-7xk2p", "container=inventory", "job=kube-state-metrics", "service=kube-state-metrics"),
			},
			want: "inventory",
		},
		{
			name: "the MongoDB replica set loses its primary; it has no exporter, only its clients alert",
			graph: `services:
  users-mongo: {kind: database, team: identity}
  profile-api: {kind: service, team: identity, depends_on: [users-mongo, avatars]}
  feed-api: {kind: service, team: social, depends_on: [users-mongo, feed-redis, posts-db]}
  avatars: {kind: storage, team: identity}
  feed-redis: {kind: cache, team: social}
  posts-db: {kind: database, team: social}
  mobile-bff: {kind: gateway, team: mobile, depends_on: [profile-api, feed-api]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "profile-api errors: server selection error: server selection timeout, current topology: { Type: ReplicaSetNoPrimary, Servers: [...] }", "alertname=HTTPErrorRateHigh", "namespace=identity", "service=profile-api", "severity=critical"),
				storm(t0, 30, "feed-api: MongoServerSelectionError: Server selection timed out after 30000 ms", "alertname=HTTPErrorRateHigh", "namespace=social", "service=feed-api"),
				storm(t0, 60, "mobile-bff 5xx 22%", "alertname=HTTPErrorRateHigh", "namespace=mobile", "service=mobile-bff", "severity=critical"),
				storm(t0, 70, "feed-redis memory 81% of maxmemory", "alertname=RedisMemoryHigh", "namespace=social", "service=feed-redis"),
			},
			want: "users-mongo",
		},
		{
			name: "payments crash-loops after a release; checkout's SLO burns, and the graph file lacks checkout's edge to payments",
			graph: `services:
  checkout: {kind: service, team: shop, depends_on: [carts, orders-db]}
  carts: {kind: service, team: shop}
  orders-db: {kind: database, team: shop}
  payments: {kind: service, team: payments, depends_on: [payments-db, adyen]}
  payments-db: {kind: database, team: payments}
  adyen: {kind: external, team: payments}
  web: {kind: gateway, team: edge, depends_on: [checkout, carts]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Pod payments/payments-7c9d-k2l9x (payments) is in waiting state (reason: \"CrashLoopBackOff\").", "alertname=KubePodCrashLooping", "namespace=payments", "pod=payments-7c9d-k2l9x", "container=payments", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 10, "Deployment payments/payments has not matched the expected number of replicas for longer than 15 minutes.", "alertname=KubeDeploymentReplicasMismatch", "namespace=payments", "deployment=payments", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 40, "checkout 5xx 31%: Post \"http://payments.payments.svc.cluster.local:8080/v1/authorize\": dial tcp 10.100.4.21:8080: connect: connection refused", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=checkout", "severity=critical"),
				storm(t0, 60, "checkout-availability is burning its error budget too fast", "alertname=SLOErrorBudgetBurn", "sloth_service=checkout", "sloth_slo=availability", "sloth_id=checkout-availability", "severity=critical"),
				storm(t0, 80, "web 5xx 12%", "alertname=HTTPErrorRateHigh", "namespace=edge", "service=web"),
				storm(t0, 85, "orders created 12/min (baseline 140/min)", "alertname=OrdersRateLow", "category=business", "severity=critical"),
			},
			want: "payments",
		},
		{
			name: "the internal CA's intermediate expires: services fail mutual TLS with each other",
			graph: `services:
  cert-manager: {kind: ca, team: platform, depends_on: [vault-pki]}
  vault-pki: {kind: ca, team: platform}
  accounts: {kind: service, team: core, depends_on: [ledger, cert-manager]}
  ledger: {kind: service, team: core, depends_on: [ledger-db, cert-manager]}
  transfers: {kind: service, team: core, depends_on: [ledger, accounts, cert-manager]}
  ledger-db: {kind: database, team: core}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -72*3600, "Certificate core/ledger-mtls expires in less than 3 days", "alertname=CertManagerCertExpirySoon", "namespace=cert-manager", "service=cert-manager", "name=ledger-mtls", "exported_namespace=core"),
				storm(t0, 0, "accounts errors: rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: x509: certificate has expired or is not yet valid\"", "alertname=GRPCErrorRateHigh", "namespace=core", "service=accounts", "severity=critical"),
				storm(t0, 15, "transfers: x509: certificate has expired or is not yet valid: current time 2026-10-03T14:00:15Z is after 2026-10-03T14:00:00Z", "alertname=TransferFailures", "namespace=core", "service=transfers", "severity=critical"),
				storm(t0, 30, "ledger: remote error: tls: expired certificate", "alertname=GRPCErrorRateHigh", "namespace=core", "service=ledger"),
			},
			want: "cert-manager", also: []string{"vault-pki"},
		},
		{
			name: "a worker node degrades without an alert of its own: only its pods' alerts carry its name",
			graph: `services:
  search: {kind: service, team: search, depends_on: [search-es]}
  search-es: {kind: search, team: search}
  notifications: {kind: service, team: comms, depends_on: [notifications-db]}
  notifications-db: {kind: database, team: comms}
  reports: {kind: service, team: finance, depends_on: [reports-db]}
  reports-db: {kind: database, team: finance}
  portal: {kind: gateway, team: edge, depends_on: [search, notifications, reports]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Pod search/search-7f9c-2kq8d has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=search", "pod=search-7f9c-2kq8d", "node=ip-10-1-3-7.ec2.internal"),
				storm(t0, 20, "Pod comms/notifications-6b4d-9xk2m has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=comms", "pod=notifications-6b4d-9xk2m", "node=ip-10-1-3-7.ec2.internal"),
				storm(t0, 30, "Pod finance/reports-5c8e-l2p9q has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=finance", "pod=reports-5c8e-l2p9q", "node=ip-10-1-3-7.ec2.internal"),
				storm(t0, 40, "search p99 latency 4.4s", "alertname=HTTPLatencyHigh", "namespace=search", "service=search"),
				storm(t0, 50, "notifications 5xx 7%", "alertname=HTTPErrorRateHigh", "namespace=comms", "service=notifications"),
				storm(t0, 60, "reports p99 latency 6.0s", "alertname=HTTPLatencyHigh", "namespace=finance", "service=reports"),
				storm(t0, 90, "portal 5xx 4%", "alertname=HTTPErrorRateHigh", "namespace=edge", "service=portal"),
			},
			want: "ip-10-1-3-7.ec2.internal",
		},
		{
			name: "Elasticsearch rejects work; two of its three callers alert, the third serves from its cache",
			graph: `services:
  search-es: {kind: search, team: search}
  search-api: {kind: service, team: search, depends_on: [search-es, synonyms]}
  recommendations: {kind: service, team: discovery, depends_on: [search-es, reco-redis]}
  catalog: {kind: service, team: catalog, depends_on: [search-es, catalog-db]}
  synonyms: {kind: service, team: search}
  reco-redis: {kind: cache, team: discovery}
  catalog-db: {kind: database, team: catalog}
  shop-web: {kind: gateway, team: edge, depends_on: [search-api, recommendations, catalog]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "search-api 5xx 26%: elastic: Error 429 (Too Many Requests): rejected execution of coordinating operation [es_rejected_execution_exception]", "alertname=HTTPErrorRateHigh", "namespace=search", "service=search-api", "severity=critical"),
				storm(t0, 40, "recommendations p99 7.2s: context deadline exceeded", "alertname=HTTPLatencyHigh", "namespace=discovery", "service=recommendations"),
				storm(t0, 70, "shop-web 5xx 6%", "alertname=HTTPErrorRateHigh", "namespace=edge", "service=shop-web"),
				storm(t0, 80, "synonyms deploy finished", "alertname=DeploymentAnnotation", "namespace=search", "service=synonyms", "severity=info"),
			},
			want: "search-es",
		},
		{
			name: "the orders database's VM dies: only its exporter's target is down and its clients are refused",
			graph: `services:
  orders-pg: {kind: database, team: orders, aliases: [10.0.3.12]}
  orders-api: {kind: service, team: orders, depends_on: [orders-pg, orders-cache]}
  fulfilment: {kind: service, team: logistics, depends_on: [orders-pg, wms]}
  orders-cache: {kind: cache, team: orders}
  wms: {kind: external, team: logistics}
  shop: {kind: gateway, team: edge, depends_on: [orders-api]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "100% of the postgres-exporter/postgres-exporter targets in monitoring namespace are down.", "alertname=TargetDown", "job=postgres-exporter", "namespace=monitoring", "service=postgres-exporter"),
				storm(t0, 20, "orders-api 5xx 64%: dial tcp 10.0.3.12:5432: connect: connection refused", "alertname=HTTPErrorRateHigh", "namespace=orders", "service=orders-api", "severity=critical"),
				storm(t0, 50, "fulfilment: failed to connect to `host=10.0.3.12 user=fulfilment database=orders`: dial error (dial tcp 10.0.3.12:5432: connect: connection refused)", "alertname=JobFailuresHigh", "namespace=logistics", "service=fulfilment"),
				storm(t0, 70, "shop 5xx 21%", "alertname=HTTPErrorRateHigh", "namespace=edge", "service=shop", "severity=critical"),
			},
			want: "orders-pg",
		},
		{
			name: "a JVM service leaks memory: GC pauses, then its callers' latency",
			graph: `services:
  quotes: {kind: service, team: pricing, depends_on: [quotes-db, fx]}
  quotes-db: {kind: database, team: pricing}
  fx: {kind: external, team: pricing}
  booking: {kind: service, team: travel, depends_on: [quotes, bookings-db]}
  bookings-db: {kind: database, team: travel}
  partner-api: {kind: gateway, team: edge, depends_on: [booking, quotes]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -1200, "quotes: JVM heap 91% of max after full GC", "alertname=JvmMemoryFillingUp", "namespace=pricing", "service=quotes"),
				storm(t0, 0, "quotes: GC pauses 4.1 s per minute", "alertname=JvmGcPauseTimeHigh", "namespace=pricing", "service=quotes", "severity=critical"),
				storm(t0, 40, "booking p99 9.2s: java.net.SocketTimeoutException: Read timed out (quotes.pricing.svc.cluster.local:8080)", "alertname=HTTPLatencyHigh", "namespace=travel", "service=booking"),
				storm(t0, 70, "partner-api 5xx 11%", "alertname=HTTPErrorRateHigh", "namespace=edge", "service=partner-api"),
				storm(t0, 75, "bookings-db connections 61% of max", "alertname=PostgresqlConnectionsHigh", "namespace=travel", "service=bookings-db", "severity=info"),
			},
			want: "quotes",
		},
		{
			name: "a Kafka broker's disk fills; producers lose their brokers and consumer groups lag",
			graph: `services:
  events-kafka: {kind: queue, team: data}
  clickstream: {kind: service, team: data, depends_on: [events-kafka]}
  orders-events: {kind: service, team: orders, depends_on: [events-kafka, orders-db]}
  sessionizer: {kind: service, team: data, depends_on: [events-kafka, sessions-redis]}
  orders-db: {kind: database, team: orders}
  sessions-redis: {kind: cache, team: data}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -900, "Kafka broker kafka-events-kafka-1 is running out of space: 8% left", "alertname=KafkaRunningOutOfSpace", "namespace=data", "strimzi_io_cluster=events-kafka", "pod=events-kafka-kafka-1"),
				storm(t0, 0, "Kafka has 214 under-replicated partitions", "alertname=KafkaUnderReplicatedPartitions", "namespace=data", "strimzi_io_cluster=events-kafka", "severity=critical"),
				storm(t0, 30, "clickstream: kafka: client has run out of available brokers to talk to: EOF", "alertname=ProduceErrorsHigh", "namespace=data", "service=clickstream"),
				storm(t0, 50, "orders-events: kafka server: Messages are rejected since there are fewer in-sync replicas than required", "alertname=ProduceErrorsHigh", "namespace=orders", "service=orders-events", "severity=critical"),
				storm(t0, 120, "consumer group sessionizer lag 412,000 on clickstream", "alertname=KafkaConsumerGroupLag", "consumergroup=sessionizer", "topic=clickstream", "job=kafka-exporter", "service=kafka-exporter", "namespace=data"),
			},
			want: "events-kafka",
		},
		{
			name: "the NFS share stalls: its users' threads hang, nodes' load climbs, and a backup job the graph file lacks cannot read it",
			graph: `services:
  media-nfs: {kind: nfs, team: infra}
  transcoder: {kind: service, team: media, depends_on: [media-nfs, jobs-rabbitmq]}
  thumbnailer: {kind: service, team: media, depends_on: [media-nfs, jobs-rabbitmq]}
  jobs-rabbitmq: {kind: queue, team: media}
  media-api: {kind: service, team: media, depends_on: [jobs-rabbitmq, media-db]}
  media-db: {kind: database, team: media}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "RabbitMQ queue transcode has 31,877 messages ready", "alertname=RabbitmqTooManyReadyMessages", "queue=transcode", "job=rabbitmq", "namespace=media", "service=jobs-rabbitmq"),
				storm(t0, 60, "load average 41 on worker-7 (8 CPUs)", "alertname=NodeLoadHigh", "instance=worker-7", "job=node-exporter", "namespace=monitoring", "service=node-exporter"),
				storm(t0, 70, "load average 39 on worker-9 (8 CPUs)", "alertname=NodeLoadHigh", "instance=worker-9", "job=node-exporter", "namespace=monitoring", "service=node-exporter"),
				storm(t0, 120, "Pod is crash looping.", "alertname=KubePodCrashLooping", "namespace=media", "pod=transcoder-6b7c9-2kq8d", "container=transcoder", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 150, "Pod is crash looping.", "alertname=KubePodCrashLooping", "namespace=media", "pod=thumbnailer-84d5f-9xw2m", "container=thumbnailer", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 400, "Job media/nightly-archive-29640960 failed to complete. rsync: read \"/srv/media/raw/clip-0413.mov\": Input/output error (5)", "alertname=KubeJobFailed", "namespace=media", "job_name=nightly-archive-29640960", "job=kube-state-metrics", "service=kube-state-metrics"),
			},
			want: "media-nfs",
		},
		{
			name: "one zone's ingress loses its certificate; the balancer over both zones fails over, stays quiet and says where the traffic went",
			graph: `services:
  edge-lb: {kind: loadbalancer, team: edge, depends_on: [ingress-zone-a, ingress-zone-b]}
  ingress-zone-a: {kind: ingress, team: edge, depends_on: [web-zone-a]}
  ingress-zone-b: {kind: ingress, team: edge, depends_on: [web-zone-b]}
  web-zone-a: {kind: service, team: web, depends_on: [sessions, catalog-db]}
  web-zone-b: {kind: service, team: web, depends_on: [sessions, catalog-db]}
  sessions: {kind: cache, team: web}
  catalog-db: {kind: database, team: web}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "TLS handshakes failing on ingress-zone-a: 2,900 in 5m", "alertname=IngressTLSHandshakeErrorsHigh", "namespace=ingress", "service=ingress-zone-a", "severity=critical"),
				storm(t0, 60, "backend ingress-zone-a marked unhealthy; traffic moved to ingress-zone-b", "alertname=BackendUnhealthy", "namespace=ingress", "service=ingress-zone-a", "severity=critical"),
			},
			want: "ingress-zone-a",
		},
		{
			name: "Vault seals after a restart: every service that reads its secrets at start crash-loops",
			graph: `services:
  vault: {kind: vault, team: security}
  payments: {kind: service, team: payments, depends_on: [vault, payments-db]}
  ledger: {kind: service, team: payments, depends_on: [vault, payments-db]}
  notifier: {kind: service, team: growth, depends_on: [vault, sendgrid]}
  payments-db: {kind: database, team: payments}
  sendgrid: {kind: external, team: growth}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Vault instance is sealed on vault-0", "alertname=VaultSealed", "namespace=vault", "pod=vault-0", "job=vault", "severity=critical"),
				storm(t0, 90, "back-off restarting failed container payments: Error making API request. URL: GET https://vault.vault.svc:8200/v1/secret/data/payments Code: 503. Errors: * Vault is sealed", "alertname=KubePodCrashLooping", "namespace=payments", "pod=payments-7c9d8-x1x2x", "container=payments", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 100, "back-off restarting failed container ledger: Vault is sealed", "alertname=KubePodCrashLooping", "namespace=payments", "pod=ledger-5f5f5-abcde", "container=ledger", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 160, "Pod growth/notifier-66b7c-qwert has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=growth", "pod=notifier-66b7c-qwert"),
				storm(t0, 200, "payments 5xx ratio 100%", "alertname=HTTPErrorRateHigh", "namespace=payments", "service=payments", "severity=critical"),
			},
			want: "vault",
		},
		{
			name: "memcached is flushed: the database takes every read and looks guilty",
			graph: `services:
  catalog-memcached: {kind: cache, team: catalog}
  catalog-db: {kind: database, team: catalog}
  catalog-api: {kind: service, team: catalog, depends_on: [catalog-memcached, catalog-db]}
  search-api: {kind: service, team: search, depends_on: [catalog-api]}
  web: {kind: service, team: web, depends_on: [catalog-api, search-api]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -30, "Memcached instance 10.4.1.9:9150 restarted: uptime 12s", "alertname=MemcachedRestarted", "instance=10.4.1.9:9150", "job=memcached-exporter", "namespace=catalog", "service=catalog-memcached"),
				storm(t0, 0, "Memcached hit ratio 3% (was 96%)", "alertname=MemcachedLowHitRatio", "instance=10.4.1.9:9150", "job=memcached-exporter", "namespace=catalog", "service=catalog-memcached"),
				storm(t0, 60, "catalog-db CPU at 97% for 10m", "alertname=PostgresqlCPUSaturated", "namespace=catalog", "service=catalog-db", "severity=critical"),
				storm(t0, 90, "catalog-api p99 latency 3.8s", "alertname=HTTPLatencyHigh", "namespace=catalog", "service=catalog-api"),
				storm(t0, 120, "web 5xx ratio 7%", "alertname=HTTPErrorRateHigh", "namespace=web", "service=web"),
			},
			want: "catalog-memcached",
		},
		{
			name: "a config typo in a rollout of ledger: new pods crash, the old ones keep serving, the rollout stalls",
			graph: `services:
  ledger: {kind: service, team: finance, depends_on: [ledger-db, kafka]}
  billing: {kind: service, team: finance, depends_on: [ledger, invoices-db]}
  ledger-db: {kind: database, team: finance}
  invoices-db: {kind: database, team: finance}
  kafka: {kind: queue, team: data}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "back-off restarting failed container ledger: panic: config: yaml: line 14: mapping values are not allowed in this context", "alertname=KubePodCrashLooping", "namespace=finance", "pod=ledger-6d8f7b9c5-k2j4h", "container=ledger", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 300, "Rollout of Deployment finance/ledger is not progressing", "alertname=KubeDeploymentRolloutStuck", "namespace=finance", "deployment=ledger", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 320, "Deployment finance/ledger has not matched the expected number of replicas for longer than 15 minutes.", "alertname=KubeDeploymentReplicasMismatch", "namespace=finance", "deployment=ledger", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 400, "billing p99 latency 1.9s", "alertname=HTTPLatencyHigh", "namespace=finance", "service=billing"),
			},
			want: "ledger",
		},
		{
			name: "CoreDNS pods are OOM-killed after a cluster scale-up: lookups of everything time out",
			graph: `services:
  coredns: {kind: dns, team: platform}
  orders: {kind: service, team: shop, depends_on: [coredns, orders-db, stripe]}
  cart: {kind: service, team: shop, depends_on: [coredns, redis]}
  search: {kind: service, team: shop, depends_on: [coredns, elasticsearch]}
  orders-db: {kind: database, team: shop}
  redis: {kind: cache, team: shop}
  elasticsearch: {kind: search, team: shop}
  stripe: {kind: external, team: shop}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Container coredns in pod kube-system/coredns-5d78c9869d-7xk2p has been OOMKilled 2 times in the last 10 minutes.", "alertname=KubernetesContainerOomKiller", "namespace=kube-system", "pod=coredns-5d78c9869d-7xk2p", "container=coredns"),
				storm(t0, 40, "orders: dial tcp: lookup orders-db.shop.svc.cluster.local on 10.96.0.10:53: read udp 10.1.4.7:51234->10.96.0.10:53: i/o timeout", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=orders", "severity=critical"),
				storm(t0, 50, "cart: dial tcp: lookup redis.shop.svc.cluster.local: i/o timeout", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=cart"),
				storm(t0, 70, "search: failed to reach elasticsearch: lookup elasticsearch.shop.svc.cluster.local on 10.96.0.10:53: server misbehaving", "alertname=SearchErrorsHigh", "namespace=shop", "service=search"),
				storm(t0, 90, "Redis connections 3 (was 140)", "alertname=RedisConnectionsLow", "namespace=shop", "service=redis"),
			},
			want: "coredns",
		},
		{
			name: "a nightly export the graph file lacks hammers the orders database; its users slow down",
			graph: `services:
  orders-db: {kind: database, team: orders}
  orders-api: {kind: service, team: orders, depends_on: [orders-db]}
  returns-api: {kind: service, team: orders, depends_on: [orders-db]}
  storefront: {kind: service, team: web, depends_on: [orders-api, returns-api]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "CronJob orders/nightly-export has been running for 47 minutes (usually 6)", "alertname=CronJobRunningTooLong", "namespace=orders", "cronjob=nightly-export", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 120, "orders-db CPU at 98% for 10m; top query: SELECT * FROM orders o JOIN order_lines l ...", "alertname=PostgresqlCPUSaturated", "namespace=orders", "service=orders-db", "severity=critical"),
				storm(t0, 180, "orders-api p99 latency 4.2s", "alertname=HTTPLatencyHigh", "namespace=orders", "service=orders-api"),
				storm(t0, 200, "returns-api p99 latency 3.1s", "alertname=HTTPLatencyHigh", "namespace=orders", "service=returns-api"),
				storm(t0, 260, "storefront checkout SLO burn rate 14x", "alertname=SLOErrorBudgetBurn", "namespace=web", "service=storefront", "severity=critical"),
			},
			want: "orders-db",
			also: []string{"nightly-export"},
		},
		{
			name: "the payments provider degrades; its status page says so and the graph file does not list it",
			graph: `services:
  checkout: {kind: service, team: shop, depends_on: [orders-db]}
  subscriptions: {kind: service, team: billing, depends_on: [billing-db]}
  orders-db: {kind: database, team: shop}
  billing-db: {kind: database, team: billing}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Adyen status page: Payments processing degraded", "alertname=StatuspageComponentDegraded", "statuspage=adyen", "component=payments-processing", "job=statuspage-exporter", "service=statuspage-exporter"),
				storm(t0, 60, "checkout: Post \"https://checkout-test.adyen.com/v71/payments\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=checkout", "severity=critical"),
				storm(t0, 90, "subscriptions: renewal charge failed: adyen: 503 Service Unavailable", "alertname=RenewalFailuresHigh", "namespace=billing", "service=subscriptions"),
			},
			want: "adyen",
		},
		{
			name: "cert-manager cannot renew the storefront certificate; after expiry browsers and probes fail",
			graph: `services:
  cert-manager: {kind: certificate, team: platform}
  ingress-nginx: {kind: ingress, team: platform, depends_on: [storefront, cert-manager]}
  storefront: {kind: service, team: web, depends_on: [catalog]}
  catalog: {kind: service, team: web}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -259200, "SSL certificate expires in 3 days", "alertname=BlackboxSslCertificateWillExpireSoon", "instance=https://shop.example.com/", "job=blackbox"),
				storm(t0, -86400, "The certificate web/shop-tls has not been ready to serve traffic for at least 10m.", "alertname=CertManagerCertNotReady", "namespace=web", "name=shop-tls", "exported_namespace=web", "job=cert-manager", "service=cert-manager"),
				storm(t0, 0, "Probe https://shop.example.com/ failed: x509: certificate has expired or is not yet valid", "alertname=BlackboxProbeFailed", "instance=https://shop.example.com/", "job=blackbox", "severity=critical"),
				storm(t0, 120, "checkout conversion 0.4% (baseline 3.1%)", "alertname=ConversionRateLow", "namespace=web", "service=storefront", "severity=critical"),
			},
			want: "cert-manager",
			also: []string{"ingress-nginx"},
		},
		{
			name: "a consumer's bad release cannot parse events: its group lags, Kafka itself is fine",
			graph: `services:
  events-kafka: {kind: queue, team: data}
  invoice-writer: {kind: service, team: billing, depends_on: [events-kafka, invoices-db]}
  audit-log: {kind: service, team: security, depends_on: [events-kafka]}
  orders: {kind: service, team: shop, depends_on: [events-kafka]}
  invoices-db: {kind: database, team: billing}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "back-off restarting failed container invoice-writer: json: cannot unmarshal string into Go struct field Event.amount of type int64", "alertname=KubePodCrashLooping", "namespace=billing", "pod=invoice-writer-7b8c9-zz1xy", "container=invoice-writer", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 180, "consumer group invoice-writer lag 88,412 on topic orders", "alertname=KafkaConsumerGroupLag", "consumergroup=invoice-writer", "topic=orders", "job=kafka-exporter", "service=kafka-exporter", "namespace=data"),
				storm(t0, 400, "invoices created 0/min (baseline 35/min)", "alertname=InvoicesCreatedLow", "namespace=billing", "service=invoice-writer", "severity=critical"),
			},
			want: "invoice-writer",
		},
		{
			name: "RDS fails over to its standby: clients get resets and read-only errors for a minute",
			graph: `services:
  orders-rds: {kind: database, team: orders, aliases: [orders-prod]}
  orders-api: {kind: service, team: orders, depends_on: [orders-rds]}
  fulfilment: {kind: service, team: ops, depends_on: [orders-rds, wms]}
  wms: {kind: external, team: ops}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "RDS orders-prod: Multi-AZ instance failover started", "alertname=RDSEventFailover", "dbinstance_identifier=orders-prod", "job=rds-events", "severity=critical"),
				storm(t0, 30, "orders-api: pq: cannot execute UPDATE in a read-only transaction", "alertname=HTTPErrorRateHigh", "namespace=orders", "service=orders-api", "severity=critical"),
				storm(t0, 45, "fulfilment: read tcp 10.0.3.4:51522->10.0.9.8:5432: read: connection reset by peer", "alertname=JobFailuresHigh", "namespace=ops", "service=fulfilment"),
			},
			want: "orders-rds",
		},
		{
			name: "a node runs out of memory and evicts pods of two services; the node has only a utilisation warning",
			graph: `services:
  api: {kind: service, team: core, depends_on: [users-db]}
  reports: {kind: service, team: bi, depends_on: [users-db]}
  users-db: {kind: database, team: core}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -300, "Memory is filling up at node ip-10-2-4-17.ec2.internal: 96% used", "alertname=NodeMemoryHighUtilization", "instance=ip-10-2-4-17.ec2.internal", "job=node-exporter", "namespace=monitoring", "service=node-exporter"),
				storm(t0, 0, "Pod core/api-6f7d8-k9k9k has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=core", "pod=api-6f7d8-k9k9k", "node=ip-10-2-4-17.ec2.internal"),
				storm(t0, 20, "Pod bi/reports-5d4c3-p0p0p has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=bi", "pod=reports-5d4c3-p0p0p", "node=ip-10-2-4-17.ec2.internal"),
				storm(t0, 60, "api 5xx ratio 9%", "alertname=HTTPErrorRateHigh", "namespace=core", "service=api"),
			},
			want: "ip-10-2-4-17.ec2.internal",
		},
		{
			name: "the sidecar injector's webhook is down: no new pod of any meshed service can start",
			graph: `services:
  istiod: {kind: mesh, team: platform}
  cart: {kind: service, team: shop, depends_on: [istiod, carts-redis]}
  search: {kind: service, team: shop, depends_on: [istiod]}
  profile: {kind: service, team: accounts, depends_on: [istiod, users-db]}
  carts-redis: {kind: cache, team: shop}
  users-db: {kind: database, team: accounts}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Deployment shop/cart has not matched the expected number of replicas for longer than 15 minutes: Internal error occurred: failed calling webhook \"namespace.sidecar-injector.istio.io\": Post \"https://istiod.istio-system.svc:443/inject\": dial tcp 10.96.14.2:443: connect: connection refused", "alertname=KubeDeploymentReplicasMismatch", "namespace=shop", "deployment=cart", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 40, "Deployment shop/search has not matched the expected number of replicas for longer than 15 minutes.", "alertname=KubeDeploymentReplicasMismatch", "namespace=shop", "deployment=search", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 60, "Deployment accounts/profile has not matched the expected number of replicas for longer than 15 minutes.", "alertname=KubeDeploymentReplicasMismatch", "namespace=accounts", "deployment=profile", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 90, "HPA shop/cart has been running at max replicas for longer than 15 minutes.", "alertname=KubeHpaMaxedOut", "namespace=shop", "horizontalpodautoscaler=cart", "job=kube-state-metrics", "service=kube-state-metrics"),
			},
			want: "istiod",
		},
		{
			name: "one service leaks database connections: its pool is exhausted, the database and its other clients are fine",
			graph: `services:
  orders-db: {kind: database, team: orders}
  orders-api: {kind: service, team: orders, depends_on: [orders-db]}
  returns-api: {kind: service, team: orders, depends_on: [orders-db]}
  reporting: {kind: service, team: bi, depends_on: [orders-db]}
  storefront: {kind: service, team: web, depends_on: [orders-api, returns-api]}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "orders-api: HikariPool-1 - Connection is not available, request timed out after 30000ms.", "alertname=HTTPErrorRateHigh", "namespace=orders", "service=orders-api", "severity=critical"),
				storm(t0, 30, "orders-api p99 latency 30.2s", "alertname=HTTPLatencyHigh", "namespace=orders", "service=orders-api"),
				storm(t0, 120, "storefront 5xx ratio 12%", "alertname=HTTPErrorRateHigh", "namespace=web", "service=storefront"),
			},
			want: "orders-api",
		},
		{
			name: "Redis hits maxmemory and evicts sessions: users are logged out, login errors climb",
			graph: `services:
  sessions-redis: {kind: cache, team: identity}
  auth: {kind: service, team: identity, depends_on: [sessions-redis, users-db]}
  web: {kind: service, team: web, depends_on: [auth, catalog]}
  catalog: {kind: service, team: web}
  users-db: {kind: database, team: identity}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -600, "Redis is running out of configured maxmemory (> 90%) VALUE = 97", "alertname=RedisOutOfConfiguredMaxmemory", "instance=10.3.3.3:9121", "job=redis-exporter", "namespace=identity", "service=sessions-redis"),
				storm(t0, 0, "Redis evicted 41,000 keys in 5m", "alertname=RedisEvictingKeys", "instance=10.3.3.3:9121", "job=redis-exporter", "namespace=identity", "service=sessions-redis"),
				storm(t0, 60, "auth: session not found, 401 ratio 38%", "alertname=AuthFailuresHigh", "namespace=identity", "service=auth", "severity=critical"),
				storm(t0, 120, "web login errors 22%", "alertname=LoginErrorsHigh", "namespace=web", "service=web"),
			},
			want: "sessions-redis",
		},
		{
			name: "metrics-server is down: HPAs cannot read CPU and stop scaling, services saturate at lunch",
			graph: `services:
  metrics-server: {kind: platform, team: platform}
  api: {kind: service, team: core, depends_on: [users-db]}
  worker: {kind: service, team: core, depends_on: [jobs-queue]}
  users-db: {kind: database, team: core}
  jobs-queue: {kind: queue, team: core}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -1800, "metrics-server has disappeared from Prometheus target discovery.", "alertname=TargetDown", "job=metrics-server", "namespace=kube-system", "service=metrics-server"),
				storm(t0, 0, "HPA core/api has not matched the desired number of replicas for longer than 15 minutes: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server is currently unable to handle the request (get pods.metrics.k8s.io)", "alertname=KubeHpaReplicasMismatch", "namespace=core", "horizontalpodautoscaler=api", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 30, "HPA core/worker has not matched the desired number of replicas for longer than 15 minutes.", "alertname=KubeHpaReplicasMismatch", "namespace=core", "horizontalpodautoscaler=worker", "job=kube-state-metrics", "service=kube-state-metrics"),
				storm(t0, 120, "api p99 latency 2.7s", "alertname=HTTPLatencyHigh", "namespace=core", "service=api"),
				storm(t0, 200, "Processes experience elevated CPU throttling.", "alertname=CPUThrottlingHigh", "namespace=core", "pod=worker-5b6c7-aaaaa", "container=worker", "severity=info"),
			},
			want: "metrics-server",
		},
		{
			name: "the ingress controller's new version breaks every route; the services behind it are fine",
			graph: `services:
  ingress-nginx: {kind: ingress, team: platform, depends_on: [web, api, docs]}
  web: {kind: service, team: web, depends_on: [api]}
  api: {kind: service, team: core, depends_on: [core-db]}
  docs: {kind: service, team: web}
  core-db: {kind: database, team: core}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Deployment ingress-nginx/ingress-nginx-controller rolled out revision 31", "alertname=KubeDeploymentGenerationMismatch", "namespace=ingress-nginx", "deployment=ingress-nginx-controller", "job=kube-state-metrics", "service=kube-state-metrics", "severity=info"),
				storm(t0, 60, "Nginx high HTTP 5xx error rate (ingress web): VALUE = 64", "alertname=NginxHighHttp5xxErrorRate", "namespace=ingress-nginx", "ingress=web", "exported_service=web", "service=ingress-nginx-controller-metrics", "severity=critical"),
				storm(t0, 65, "Nginx high HTTP 5xx error rate (ingress api): VALUE = 71", "alertname=NginxHighHttp5xxErrorRate", "namespace=ingress-nginx", "ingress=api", "exported_service=api", "service=ingress-nginx-controller-metrics", "severity=critical"),
				storm(t0, 70, "Nginx high HTTP 5xx error rate (ingress docs): VALUE = 58", "alertname=NginxHighHttp5xxErrorRate", "namespace=ingress-nginx", "ingress=docs", "exported_service=docs", "service=ingress-nginx-controller-metrics", "severity=critical"),
				storm(t0, 120, "Probe https://www.example.com/ failed: HTTP 502", "alertname=BlackboxProbeFailed", "instance=https://www.example.com/", "job=blackbox", "severity=critical"),
			},
			want: "ingress-nginx",
		},
		{
			name: "Elasticsearch hits its flood-stage watermark: indices go read-only and every writer fails",
			graph: `services:
  logs-es: {kind: search, team: platform, aliases: [elasticsearch-logs]}
  product-search: {kind: service, team: search, depends_on: [logs-es]}
  indexer: {kind: service, team: search, depends_on: [logs-es, catalog-db]}
  catalog-db: {kind: database, team: catalog}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -600, "The disk usage is over 90% VALUE = 94", "alertname=ElasticsearchDiskOutOfSpace", "cluster=elasticsearch-logs", "instance=10.8.1.4:9114", "job=elasticsearch-exporter", "namespace=platform", "service=elasticsearch-exporter"),
				storm(t0, 0, "indexer: elastic: Error 429 (Too Many Requests): index [products] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block]; [type=cluster_block_exception]", "alertname=IndexingErrorsHigh", "namespace=search", "service=indexer", "severity=critical"),
				storm(t0, 120, "product-search stale results: last index update 14m ago", "alertname=SearchIndexStale", "namespace=search", "service=product-search"),
			},
			want: "logs-es",
		},
		{
			name: "S3 in one region returns 503 SlowDown; every service that stores files fails",
			graph: `services:
  uploads: {kind: service, team: media, depends_on: [s3, media-db]}
  exports: {kind: service, team: bi, depends_on: [s3, warehouse]}
  s3: {kind: external, team: platform, aliases: [aws-s3]}
  media-db: {kind: database, team: media}
  warehouse: {kind: database, team: bi}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "uploads: operation error S3: PutObject, https response error StatusCode: 503, RequestID: 7Q3, api error SlowDown: Please reduce your request rate.", "alertname=HTTPErrorRateHigh", "namespace=media", "service=uploads", "severity=critical"),
				storm(t0, 40, "exports: upload to s3://acme-exports/2026/10/03 failed: ServiceUnavailable: Service Unavailable status code: 503", "alertname=ExportJobsFailing", "namespace=bi", "service=exports"),
				storm(t0, 90, "Job bi/exports-nightly-29641000 failed to complete.", "alertname=KubeJobFailed", "namespace=bi", "job_name=exports-nightly-29641000", "job=kube-state-metrics", "service=kube-state-metrics"),
			},
			want: "s3",
		},
		{
			name: "a node's clock drifts: tokens its pods issue are rejected as used before issued",
			graph: `services:
  chrony: {kind: ntp, team: platform}
  auth: {kind: service, team: identity, depends_on: [chrony, users-db]}
  orders: {kind: service, team: shop, depends_on: [auth, orders-db]}
  cart: {kind: service, team: shop, depends_on: [auth]}
  users-db: {kind: database, team: identity}
  orders-db: {kind: database, team: shop}
`,
			alerts: []diagnosis.Alert{
				storm(t0, -900, "Clock not synchronising on ip-10-1-2-3.ec2.internal", "alertname=NodeClockNotSynchronising", "instance=ip-10-1-2-3.ec2.internal", "job=node-exporter", "namespace=monitoring", "service=node-exporter"),
				storm(t0, 0, "orders: 401 from auth: token used before issued (iat 14:00:41, now 14:00:03)", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=orders", "severity=critical"),
				storm(t0, 30, "cart: jwt: token is not valid yet (nbf)", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=cart"),
				storm(t0, 60, "auth 4xx ratio 38%", "alertname=AuthFailuresHigh", "namespace=identity", "service=auth"),
			},
			want: "chrony",
			also: []string{"ip-10-1-2-3.ec2.internal"},
		},
		{
			name: "Keycloak's database locks up: every service fails to fetch the signing keys",
			graph: `services:
  keycloak: {kind: auth, team: identity, depends_on: [keycloak-db]}
  keycloak-db: {kind: database, team: identity}
  portal: {kind: service, team: web, depends_on: [keycloak, portal-db]}
  billing-api: {kind: service, team: billing, depends_on: [keycloak]}
  admin: {kind: service, team: ops, depends_on: [keycloak]}
  portal-db: {kind: database, team: web}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "keycloak-db: 214 sessions waiting on locks for 5m", "alertname=PostgresqlTooManyLocks", "namespace=identity", "service=keycloak-db", "severity=critical"),
				storm(t0, 60, "Keycloak request latency p99 28s", "alertname=KeycloakSlowRequests", "namespace=identity", "service=keycloak"),
				storm(t0, 90, "portal: failed to fetch JWKS from https://keycloak.identity.svc/realms/acme/protocol/openid-connect/certs: context deadline exceeded", "alertname=HTTPErrorRateHigh", "namespace=web", "service=portal", "severity=critical"),
				storm(t0, 100, "billing-api: oidc: failed to verify token: fetching keys: Get \"https://keycloak.identity.svc/realms/acme/protocol/openid-connect/certs\": context deadline exceeded", "alertname=HTTPErrorRateHigh", "namespace=billing", "service=billing-api"),
				storm(t0, 140, "admin login failures 100%", "alertname=LoginFailuresHigh", "namespace=ops", "service=admin"),
			},
			want: "keycloak-db",
			also: []string{"keycloak"},
		},
		{
			name: "Patroni loses its leader: the orders database is read-only until a new one is elected",
			graph: `services:
  orders-pg: {kind: database, team: orders, aliases: [orders-postgres]}
  orders-api: {kind: service, team: orders, depends_on: [orders-pg]}
  payments: {kind: service, team: payments, depends_on: [orders-api, ledger-db]}
  ledger-db: {kind: database, team: payments}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "Patroni cluster orders-postgres has no leader", "alertname=PatroniHasNoLeader", "scope=orders-postgres", "namespace=orders", "job=patroni", "severity=critical"),
				storm(t0, 20, "orders-api: ERROR: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)", "alertname=HTTPErrorRateHigh", "namespace=orders", "service=orders-api", "severity=critical"),
				storm(t0, 60, "payments: orders-api returned 500 for 41% of calls", "alertname=DependencyErrorsHigh", "namespace=payments", "service=payments"),
			},
			want: "orders-pg",
		},
		{
			name: "a worker node panics and goes NotReady; its pods in three namespaces go with it",
			graph: `services:
  api: {kind: service, team: core, depends_on: [redis]}
  search: {kind: service, team: search, depends_on: [es]}
  notifier: {kind: service, team: growth, depends_on: [redis]}
  redis: {kind: cache, team: core}
  es: {kind: search, team: search}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "ip-10-4-9-21.ec2.internal has been unready for more than 15 minutes.", "alertname=KubeNodeNotReady", "node=ip-10-4-9-21.ec2.internal", "job=kube-state-metrics", "service=kube-state-metrics", "severity=critical"),
				storm(t0, 30, "Pod core/api-7d8c9-q1w2e has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=core", "pod=api-7d8c9-q1w2e"),
				storm(t0, 35, "Pod search/search-5f6g7-r4t5y has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=search", "pod=search-5f6g7-r4t5y"),
				storm(t0, 40, "Pod growth/notifier-3h4j5-u7i8o has been in a non-ready state for longer than 15 minutes.", "alertname=KubePodNotReady", "namespace=growth", "pod=notifier-3h4j5-u7i8o"),
				storm(t0, 90, "api 5xx ratio 8%", "alertname=HTTPErrorRateHigh", "namespace=core", "service=api"),
			},
			want: "ip-10-4-9-21.ec2.internal",
		},
		{
			name: "a CPU limit lowered in a release throttles pricing; its callers time out",
			graph: `services:
  pricing: {kind: service, team: pricing, depends_on: [pricing-redis]}
  checkout: {kind: service, team: shop, depends_on: [pricing, orders-db]}
  catalog: {kind: service, team: catalog, depends_on: [pricing]}
  pricing-redis: {kind: cache, team: pricing}
  orders-db: {kind: database, team: shop}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "91% throttling of CPU in namespace pricing for container pricing in pod pricing-6c7d8-a1s2d.", "alertname=CPUThrottlingHigh", "namespace=pricing", "pod=pricing-6c7d8-a1s2d", "container=pricing", "severity=info"),
				storm(t0, 60, "pricing p99 latency 3.4s", "alertname=HTTPLatencyHigh", "namespace=pricing", "service=pricing"),
				storm(t0, 90, "checkout: pricing: context deadline exceeded", "alertname=HTTPErrorRateHigh", "namespace=shop", "service=checkout", "severity=critical"),
				storm(t0, 100, "catalog p99 latency 2.1s", "alertname=HTTPLatencyHigh", "namespace=catalog", "service=catalog"),
			},
			want: "pricing",
		},
		{
			name: "nginx in front of the legacy billing VMs finds no live upstreams; the VMs' own exporter is down with them",
			graph: `services:
  billing-proxy: {kind: proxy, team: billing, depends_on: [billing-vm]}
  billing-vm: {kind: vm, team: billing}
  invoices: {kind: service, team: finance, depends_on: [billing-proxy]}
  portal: {kind: service, team: web, depends_on: [billing-proxy, portal-db]}
  portal-db: {kind: database, team: web}
`,
			alerts: []diagnosis.Alert{
				storm(t0, 0, "billing-vm-1:9100 down", "alertname=TargetDown", "instance=billing-vm-1:9100", "job=billing-vm", "severity=warning"),
				storm(t0, 20, "invoices: billing-proxy answered 502: no live upstreams while connecting to upstream", "alertname=HTTPErrorRateHigh", "namespace=finance", "service=invoices", "severity=critical"),
				storm(t0, 45, "portal: GET /billing 502 Bad Gateway", "alertname=HTTPErrorRateHigh", "namespace=web", "service=portal"),
			},
			want: "billing-vm",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := diagnoseAt(t, mustGraph(t, tc.graph), t0.Add(10*time.Minute), tc.alerts...)
			top, ok := d.Top()
			if !ok || top.Service != tc.want && !slices.Contains(tc.also, top.Service) {
				var got []string
				for _, c := range d.Candidates[:min(8, len(d.Candidates))] {
					got = append(got, fmt.Sprintf("%s %.2f %v (%s)", c.Service, c.Confidence, c.Terms, strings.Join(c.Evidence, "; ")))
				}
				t.Errorf("top %q, want %s; candidates:\n  %s", top.Service, tc.want, strings.Join(got, "\n  "))
			}
		})
	}
}
