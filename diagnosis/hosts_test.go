package diagnosis_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// hostsGraph: three services behind an internal load balancer the graph
// knows by its own name, not by the address clients dial, and reading the
// same settings database; one of them also calls a payment provider, and
// everything resolves names through coredns.
func hostsGraph(t *testing.T) *graph.Graph {
	t.Helper()
	g, err := graph.New([]graph.Node{
		{Name: "web", DependsOn: []string{"cart", "search", "coredns", "settings"}},
		{Name: "cart", DependsOn: []string{"internal-lb", "stripe", "coredns", "settings"}},
		{Name: "search", DependsOn: []string{"internal-lb", "coredns", "settings"}},
		{Name: "billing", DependsOn: []string{"internal-lb", "coredns", "settings"}},
		{Name: "settings", Kind: "database"},
		{Name: "reports", DependsOn: []string{"coredns"}},
		{Name: "internal-lb", Kind: "loadbalancer"},
		{Name: "stripe", Kind: "external"},
		{Name: "coredns", Kind: "dns"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func diagnoseText(t *testing.T, g *graph.Graph, at time.Time, texts map[string]string) diagnosis.Diagnosis {
	t.Helper()
	var alerts []diagnosis.Alert
	i := 0
	for _, svc := range []string{"web", "cart", "search", "billing", "reports"} {
		text, ok := texts[svc]
		if !ok {
			continue
		}
		a := mkAlert("HighErrorRate", svc, at.Add(time.Duration(i)*20*time.Second))
		a.Annotations = map[string]string{"summary": svc + " error rate 60%", "description": text}
		alerts = append(alerts, a)
		i++
	}
	return diagnoseAt(t, g, at.Add(5*time.Minute), alerts...)
}

// TestEngineKnowsAnAddressBySharedCallers: the services' errors name
// ilb.services.internal, which the graph does not list; the one quiet
// load balancer they all call is what they fail to reach, and the
// addresses in their errors make the engine sure of it.
func TestEngineKnowsAnAddressBySharedCallers(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	d := diagnoseText(t, hostsGraph(t), at, map[string]string{
		"cart":    "dial tcp ilb.services.internal:443: i/o timeout",
		"search":  "read tcp 10.1.2.3:51515->ilb.services.internal:443: read: connection reset by peer",
		"billing": "EOF while reading response from ilb.services.internal",
		"web":     "upstream cart failed",
	})
	top, ok := d.Top()
	if !ok || top.Service != "internal-lb" || top.Confidence < 0.6 {
		t.Fatalf("top candidate %+v, want internal-lb and sure of it (the graph alone gives it about 0.4); candidates %+v", top, d.Candidates)
	}
	for _, c := range d.Candidates {
		if c.Service == "ilb.services.internal" {
			t.Errorf("the address is a candidate of its own beside the node it is: %+v", d.Candidates)
		}
	}
}

// TestEngineLeavesAnAddressOnlyOneServiceNamesAlone: one service naming a
// host is what that service calls, not something several share.
func TestEngineLeavesAnAddressOnlyOneServiceNamesAlone(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	d := diagnoseText(t, hostsGraph(t), at, map[string]string{
		"cart":    "dial tcp ilb.services.internal:443: i/o timeout",
		"reports": "query failed: context deadline exceeded",
	})
	if top, ok := d.Top(); ok && top.Service == "internal-lb" {
		t.Fatalf("one service naming an address made internal-lb the root cause: %+v", d.Candidates)
	}
}

// TestEngineReadsAProvidersDomain: errors that name api.stripe.com name
// the stripe node.
func TestEngineReadsAProvidersDomain(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	d := diagnoseText(t, hostsGraph(t), at, map[string]string{
		"cart": "Post \"https://api.stripe.com/v1/charges\": net/http: TLS handshake timeout (api.stripe.com)",
		"web":  "upstream cart failed",
	})
	top, ok := d.Top()
	if !ok || top.Service != "stripe" {
		t.Fatalf("top candidate %+v, want stripe; candidates %+v", top, d.Candidates)
	}
}

// TestEngineReadsANotYetValidCertificateAsClockSkew: Go's "current time T
// is before NotBefore" is a clock behind, not a certificate authority.
func TestEngineReadsANotYetValidCertificateAsClockSkew(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "api", DependsOn: []string{"auth", "cert-manager", "chrony"}},
		{Name: "auth", DependsOn: []string{"cert-manager", "chrony"}},
		{Name: "orders", DependsOn: []string{"cert-manager", "chrony"}},
		{Name: "cert-manager", Kind: "ca"},
		{Name: "chrony", Kind: "ntp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg := "tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-03-01T02:00:01Z is before 2026-03-01T02:04:00Z"
	d := sameMessage(t, g, msg, "api", "auth", "orders")
	top, ok := d.Top()
	if !ok || top.Service != "chrony" {
		t.Fatalf("top candidate %+v, want chrony; candidates %+v", top, d.Candidates)
	}
}

// TestEngineBlamesClusterDNSForAClusterNameLookup: only the cluster's DNS
// answers *.svc.cluster.local; the upstream resolver it forwards other
// names to never sees them, however quiet coredns's other callers are.
func TestEngineBlamesClusterDNSForAClusterNameLookup(t *testing.T) {
	nodes := []graph.Node{
		{Name: "coredns", Kind: "dns", DependsOn: []string{"vpc-resolver"}},
		{Name: "vpc-resolver", Kind: "dns"},
	}
	for i := range 40 {
		nodes = append(nodes, graph.Node{Name: fmt.Sprintf("quiet-%02d", i), DependsOn: []string{"coredns"}})
	}
	for _, s := range []string{"cart", "search", "billing"} {
		nodes = append(nodes, graph.Node{Name: s, DependsOn: []string{"coredns"}})
	}
	if top := lookupFailures(t, nodes, "dial tcp: lookup orders.shop.svc.cluster.local on 10.96.0.10:53: no such host"); top != "coredns" {
		t.Fatalf("top candidate %s, want coredns", top)
	}
}

// TestEngineClimbsToClusterDNSWhenTheGraphMissesItsEdge: the graph file
// has the services reach the VPC resolver but lost their edges to
// coredns, which forwards to it; a failed lookup of a cluster name, told
// the way getaddrinfo tells it, is still coredns's.
func TestEngineClimbsToClusterDNSWhenTheGraphMissesItsEdge(t *testing.T) {
	nodes := []graph.Node{
		{Name: "coredns", Kind: "dns", DependsOn: []string{"vpc-resolver"}},
		{Name: "vpc-resolver", Kind: "dns"},
		{Name: "reports", DependsOn: []string{"coredns"}},
	}
	for _, s := range []string{"cart", "search", "billing"} {
		nodes = append(nodes, graph.Node{Name: s, DependsOn: []string{"vpc-resolver"}})
	}
	if top := lookupFailures(t, nodes, "getaddrinfo EAI_AGAIN orders.shop.svc.cluster.local"); top != "coredns" {
		t.Fatalf("top candidate %s, want coredns", top)
	}
}

// TestEngineNamesAnIssuerTheGraphLacksByItsService: the certificates'
// issuer is a Kubernetes service the graph does not list; the candidate
// is that service (vault), not the address it was dialled at.
func TestEngineNamesAnIssuerTheGraphLacksByItsService(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	msg := "tls: failed to verify certificate: x509: certificate has expired or is not yet valid (issuer vault.vault.svc:8200)"
	d := diagnoseText(t, hostsGraph(t), at, map[string]string{"cart": msg, "search": msg, "billing": msg})
	top, ok := d.Top()
	if !ok || top.Service != "vault" {
		t.Fatalf("top candidate %+v, want vault; candidates %+v", top, d.Candidates)
	}
}

// TestEngineDoesNotPassANameDownToSharedInfrastructure: errors that name
// inventory ("connection refused") speak for inventory and for what it
// depends on, but not for the cluster DNS below it: a DNS failure would
// have read as one.
func TestEngineDoesNotPassANameDownToSharedInfrastructure(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "web", DependsOn: []string{"inventory", "coredns"}},
		{Name: "cart", DependsOn: []string{"inventory", "coredns"}},
		{Name: "inventory", DependsOn: []string{"inventory-db", "coredns"}},
		{Name: "inventory-db", Kind: "database"},
		{Name: "coredns", Kind: "dns"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := sameMessage(t, g, `dial tcp inventory.shop.svc.cluster.local:8080: connect: connection refused`, "web", "cart")
	var db, dns diagnosis.Candidate
	for _, c := range d.Candidates {
		switch c.Service {
		case "inventory-db":
			db = c
		case "coredns":
			dns = c
		}
	}
	if db.Terms["mention"] <= 0 {
		t.Errorf("inventory-db, below the named inventory, got no share of the mention: %+v", db)
	}
	if dns.Terms["mention"] != 0 {
		t.Errorf("coredns got %.2f from messages naming inventory that read like no DNS error: %v", dns.Terms["mention"], dns.Evidence)
	}
	if top, ok := d.Top(); !ok || top.Service != "inventory" {
		t.Errorf("top candidate %+v, want inventory", top)
	}
}

// TestEngineReadsOnlyADegradingNodeAsAPrecursor: a warning hours before
// the storm speaks for its node when it says the node itself degrades (a
// disk filling); a nightly job that failed says nothing of the kind.
func TestEngineReadsOnlyADegradingNodeAsAPrecursor(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "web", DependsOn: []string{"orders"}},
		{Name: "cart", DependsOn: []string{"orders"}},
		{Name: "orders", DependsOn: []string{"orders-db"}},
		{Name: "orders-db", Kind: "database"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		early     string
		precursor bool
	}{
		{"PostgresqlDiskFillingUpSoon", true},
		{"KubeJobFailed", false},
	} {
		alerts := []diagnosis.Alert{
			mkAlert(tc.early, "orders-db", at.Add(-2*time.Hour)),
			mkAlert("HighErrorRate", "orders", at),
			mkAlert("HighErrorRate", "web", at.Add(30*time.Second)),
			mkAlert("HighErrorRate", "cart", at.Add(40*time.Second)),
		}
		d := diagnoseAt(t, g, at.Add(5*time.Minute), alerts...)
		said := false
		for _, c := range d.Candidates {
			if c.Service != "orders-db" {
				continue
			}
			for _, ev := range c.Evidence {
				said = said || strings.Contains(ev, "before the storm began")
			}
		}
		if said != tc.precursor {
			t.Errorf("%s two hours ahead: read as a precursor %v, want %v", tc.early, said, tc.precursor)
		}
	}
}

// TestEngineReadsARuntimeDefectAsItsServicesOwn: a panic or an uncaught
// exception in a service's own alert says its code broke; the same words
// quoted by a caller that names the service are about that service, not
// the caller.
func TestEngineReadsARuntimeDefectAsItsServicesOwn(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "web", DependsOn: []string{"pricing"}},
		{Name: "pricing", DependsOn: []string{"pricing-db"}},
		{Name: "pricing-db", Kind: "database"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	own := mkAlert("HighErrorRate", "pricing", at)
	own.Annotations = map[string]string{"description": `java.lang.NullPointerException: Cannot invoke "String.length()" because "currency" is null`}
	caller := mkAlert("HighErrorRate", "web", at.Add(30*time.Second))
	caller.Annotations = map[string]string{"description": `pricing returned 500: java.lang.NullPointerException`}
	d := diagnoseAt(t, g, at.Add(5*time.Minute), own, caller)
	says := func(svc string) bool {
		for _, c := range d.Candidates {
			if c.Service == svc {
				for _, ev := range c.Evidence {
					if strings.Contains(ev, "defect in its own code") {
						return true
					}
				}
			}
		}
		return false
	}
	if !says("pricing") {
		t.Errorf("pricing's own NullPointerException is not read as its defect: %+v", d.Candidates)
	}
	if says("web") {
		t.Errorf("web quoting pricing's exception is read as web's own defect: %+v", d.Candidates)
	}
	if top, ok := d.Top(); !ok || top.Service != "pricing" || top.Terms["signature"] <= 0 {
		t.Errorf("top candidate %+v, want pricing, on the strength of its own error", top)
	}
}

// TestEngineNamesTheGPUNodeItsWorkloadsLoseTheirDeviceOn: two inference
// services on one GPU node the graph does not list report Xid errors; the
// node, learned from their node label, is the suspect, not the services.
func TestEngineNamesTheGPUNodeItsWorkloadsLoseTheirDeviceOn(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "api", DependsOn: []string{"embedder", "ranker"}},
		{Name: "embedder"},
		{Name: "ranker"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	var alerts []diagnosis.Alert
	for i, svc := range []string{"embedder", "ranker"} {
		a := mkAlert("InferenceErrorRateHigh", svc, at.Add(time.Duration(i)*20*time.Second), "node", "gpu-pool-a100-7")
		a.Annotations = map[string]string{"description": "NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus."}
		alerts = append(alerts, a)
	}
	alerts = append(alerts, mkAlert("HighErrorRate", "api", at.Add(time.Minute)))
	d := diagnoseAt(t, g, at.Add(5*time.Minute), alerts...)
	top, ok := d.Top()
	if !ok || top.Service != "gpu-pool-a100-7" {
		t.Fatalf("top candidate %+v, want the GPU node gpu-pool-a100-7; candidates %+v", top, d.Candidates)
	}
	if !strings.Contains(strings.Join(top.Evidence, "\n"), "point at a GPU node") || top.Terms["signature"] <= 0 {
		t.Errorf("the card does not say the Xid errors point at the GPU node: %v", top.Evidence)
	}
}

// lookupFailures diagnoses cart, search and billing (which the nodes must
// hold) failing with the same resolver error, and returns the top
// candidate.
func lookupFailures(t *testing.T, nodes []graph.Node, msg string) string {
	t.Helper()
	g, err := graph.New(nodes)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := sameMessage(t, g, msg, "cart", "search", "billing").Top()
	return top.Service
}

// sameMessage diagnoses the services failing, twenty seconds apart, each
// with an alert whose description is msg.
func sameMessage(t *testing.T, g *graph.Graph, msg string, services ...string) diagnosis.Diagnosis {
	t.Helper()
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	var alerts []diagnosis.Alert
	for i, svc := range services {
		a := mkAlert("HighErrorRate", svc, at.Add(time.Duration(i)*20*time.Second))
		a.Annotations = map[string]string{"description": msg}
		alerts = append(alerts, a)
	}
	return diagnoseAt(t, g, at.Add(5*time.Minute), alerts...)
}

// TestEngineReadsABrokersWordsAsThatBrokers: the services use a Kafka and
// a RabbitMQ, both queues; RabbitMQ's connection.blocked is about the
// RabbitMQ only.
func TestEngineReadsABrokersWordsAsThatBrokers(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "orders", DependsOn: []string{"events-kafka", "jobs-rabbitmq"}},
		{Name: "billing", DependsOn: []string{"events-kafka", "jobs-rabbitmq"}},
		{Name: "events-kafka", Kind: "queue"},
		{Name: "jobs-rabbitmq", Kind: "queue"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := sameMessage(t, g, "publish failed: connection.blocked: low on disk", "orders", "billing")
	for _, c := range d.Candidates {
		if c.Service == "events-kafka" && c.Terms["signature"] != 0 {
			t.Errorf("events-kafka got %.2f from RabbitMQ's words: %v", c.Terms["signature"], c.Evidence)
		}
	}
	if top, ok := d.Top(); !ok || top.Service != "jobs-rabbitmq" {
		t.Errorf("top candidate %+v, want jobs-rabbitmq", top)
	}
}

// TestEngineNamesTheClusterDNSTheGraphLacks: the graph lists only the VPC
// resolver the cluster forwards to. That resolver never sees a cluster
// name; a failed lookup of one is the cluster's DNS, which the file lacks.
// A failed lookup of a public name may be either, and stays with the
// resolver the graph has.
func TestEngineNamesTheClusterDNSTheGraphLacks(t *testing.T) {
	nodes := []graph.Node{{Name: "vpc-resolver", Kind: "dns"}, {Name: "reports"}}
	for _, s := range []string{"cart", "search", "billing"} {
		nodes = append(nodes, graph.Node{Name: s, DependsOn: []string{"vpc-resolver"}})
	}
	if top := lookupFailures(t, nodes, "dial tcp: lookup orders.shop.svc.cluster.local on 172.20.0.10:53: server misbehaving"); top != "coredns" {
		t.Errorf("cluster names: top candidate %s, want coredns, which the graph lacks", top)
	}
	if top := lookupFailures(t, nodes, "dial tcp: lookup api.stripe.com on 172.20.0.10:53: server misbehaving"); top != "vpc-resolver" {
		t.Errorf("a public name: top candidate %s, want vpc-resolver", top)
	}
}

// TestEngineReadsPublicLookupsBesideClusterOnesAsTheClusterDNS: when
// cluster names fail to resolve too, the public names that fail with them
// fail at the cluster's DNS, which every lookup goes through, not at the
// resolver it forwards to.
func TestEngineReadsPublicLookupsBesideClusterOnesAsTheClusterDNS(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "coredns", Kind: "dns", DependsOn: []string{"vpc-resolver"}},
		{Name: "vpc-resolver", Kind: "dns"},
		{Name: "cart", DependsOn: []string{"coredns"}},
		{Name: "search", DependsOn: []string{"coredns"}},
		{Name: "billing", DependsOn: []string{"vpc-resolver"}}, // the file lost billing's edge to coredns
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	var alerts []diagnosis.Alert
	for i, m := range []struct{ svc, msg string }{
		{"cart", "dial tcp: lookup orders.shop.svc.cluster.local: no such host"},
		{"search", "dial tcp: lookup api.stripe.com: no such host"},
		{"billing", "dial tcp: lookup api.paypal.com on 10.96.0.10:53: server misbehaving"},
	} {
		a := mkAlert("HighErrorRate", m.svc, at.Add(time.Duration(i)*20*time.Second))
		a.Annotations = map[string]string{"description": m.msg}
		alerts = append(alerts, a)
	}
	d := diagnoseAt(t, g, at.Add(5*time.Minute), alerts...)
	top, _ := d.Top()
	if top.Service != "coredns" || !strings.Contains(strings.Join(top.Evidence, " "), "3 alerts' messages") {
		t.Fatalf("top %+v, want coredns with all three lookups' evidence; candidates %+v", top, d.Candidates)
	}
}

// TestEngineReadsSharedWordsWhateverTheOrder: billing's clock error names
// no time server, search's names pool.ntp.org, which the graph lacks;
// both are about that time server, whichever message is read first.
func TestEngineReadsSharedWordsWhateverTheOrder(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	d := diagnoseText(t, hostsGraph(t), at, map[string]string{
		"billing": "Token used before issued (iat 2026-03-01T02:03:00Z, now 2026-03-01T02:01:10Z)",
		"search":  "ntpdate: no server suitable for synchronization found (server pool.ntp.org)",
	})
	top, _ := d.Top()
	if top.Service != "pool.ntp.org" || !strings.Contains(strings.Join(top.Evidence, " "), "2 alerts' messages") {
		t.Errorf("top %+v, want pool.ntp.org with both messages; candidates %+v", top, d.Candidates)
	}
}
