package diagnosis_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Without SERVICE_GRAPH nightowl runs on an empty graph: incidents are
// grouped by time and shared labels (docs/grouping.md, "Without a service
// graph") and diagnosed without graph signals (docs/diagnosis.md).

func emptyGraph(tb testing.TB) *graph.Graph {
	tb.Helper()
	g, err := graph.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// kubeAlert is an alert with exactly these labels (alertname first), as
// kube-prometheus and exporters label them.
func kubeAlert(at time.Time, summary string, labels ...string) diagnosis.Alert {
	l := map[string]string{"alertname": labels[0], "severity": "warning"}
	for i := 1; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	a := diagnosis.Alert{Status: diagnosis.Firing, Labels: l, StartsAt: at, Fingerprint: diagnosis.Fingerprint(l)}
	if summary != "" {
		a.Annotations = map[string]string{"summary": summary}
	}
	return a
}

// nodeDiskStorm is a kube-prometheus storm: node X's disk fills, its
// kubelet reports pressure, RabbitMQ's volume on it fills and RabbitMQ in
// shop goes down, its workers lag, and the storefront's errors name
// rabbitmq. Each alert shares a label value (or a name in text) with an
// earlier one: the node-exporter instance and the node label name one
// host, the kubelet's volume alert carries both that host and shop.
func nodeDiskStorm(at time.Time) []diagnosis.Alert {
	const node = "ip-10-0-2-88.eu-west-1.compute.internal"
	m := func(d time.Duration) time.Time { return at.Add(d * time.Minute) }
	return []diagnosis.Alert{
		kubeAlert(m(0), "Filesystem has less than 5% space left.", "NodeFilesystemAlmostOutOfSpace",
			"job", "node-exporter", "namespace", "monitoring", "instance", node+":9100", "service", "kube-prometheus-stack-prometheus-node-exporter", "mountpoint", "/"),
		kubeAlert(m(1), node+" has active Condition DiskPressure.", "KubeNodePressure",
			"job", "kube-state-metrics", "namespace", "monitoring", "instance", "10.0.3.91:8080", "node", node, "condition", "DiskPressure"),
		kubeAlert(m(2), "PersistentVolume claimed by data-rabbitmq-0 is filling up.", "KubePersistentVolumeFillingUp",
			"job", "kubelet", "namespace", "shop", "instance", "10.0.2.88:10250", "node", node, "persistentvolumeclaim", "data-rabbitmq-0", "service", "kubelet"),
		kubeAlert(m(3), "RabbitMQ cluster rabbitmq has 2/3 nodes running", "RabbitmqNodeDown",
			"job", "rabbitmq", "namespace", "shop", "instance", "10.0.2.77:15692", "pod", "rabbitmq-0", "service", "rabbitmq"),
		kubeAlert(m(4), "33% of the rabbitmq/rabbitmq targets in shop namespace are down.", "TargetDown",
			"job", "rabbitmq", "namespace", "shop", "service", "rabbitmq"),
		kubeAlert(m(5), "", "KubePodNotReady", "namespace", "shop", "pod", "worker-h6bnjm9kk5-5b9z5"),
		kubeAlert(m(6), "thumbnails waited 11m p95", "JobProcessingLatencyHigh", "namespace", "shop", "service", "thumbnailer", "queue", "thumbnails"),
		kubeAlert(m(7), "storefront 5xx 8%: publishing to rabbitmq times out", "HTTPErrorRateHigh",
			"namespace", "storefront", "service", "storefront", "job", "storefront"),
	}
}

func TestGrouperWithoutAGraphGroupsByTimeAndLabels(t *testing.T) {
	at := mkTime()
	m := func(d time.Duration) time.Time { return at.Add(d * time.Minute) }
	storm := nodeDiskStorm(at)
	billing := []diagnosis.Alert{
		kubeAlert(m(2), "invoice-api 5xx ratio 12%", "HTTPErrorRateHigh", "namespace", "billing", "service", "invoice-api", "job", "invoice-api", "instance", "10.0.9.9:8080"),
		kubeAlert(m(5), "Pod is crash looping.", "KubePodCrashLooping", "namespace", "billing", "pod", "invoice-api-7d9f8b6c5-x2x9z",
			"job", "kube-state-metrics", "instance", "10.0.3.91:8080"),
	}
	blackFridayStorm := blackFriday(t)
	for i, a := range blackFridayStorm {
		blackFridayStorm[i].Fingerprint = diagnosis.Fingerprint(a.Labels)
	}
	cases := []struct {
		name   string
		alerts []diagnosis.Alert
		want   []int
	}{
		{"the Black Friday storm is one incident: its alerts share the namespace production",
			blackFridayStorm, make([]int, len(blackFridayStorm))},
		{"a kube-prometheus storm is one incident, chained by host, namespace, job and a name in text",
			storm, make([]int, len(storm))},
		{"an unrelated failure at the same time in another namespace and job stays apart",
			append(append([]diagnosis.Alert{}, storm...), billing...), []int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1}},
		{"two failures sharing only their cluster are two",
			[]diagnosis.Alert{
				kubeAlert(at, "", "HTTPErrorRateHigh", "cluster", "prod-eu", "namespace", "payments", "service", "payments-api", "job", "payments-api"),
				kubeAlert(at, "", "ElasticsearchClusterHealthRed", "cluster", "prod-eu", "namespace", "search", "service", "elasticsearch", "job", "elasticsearch"),
			}, []int{0, 1}},
		{"a node label and an instance on that host are one clue",
			[]diagnosis.Alert{
				kubeAlert(at, "", "QueueStuck", "namespace", "team-a", "service", "legacy-a", "node", "ip-10-0-1-5"),
				kubeAlert(at, "", "HTTPErrorRateHigh", "namespace", "team-b", "service", "legacy-b", "instance", "IP-10-0-1-5:8080"),
			}, []int{0, 0}},
		{"a job shared across namespaces is a clue",
			[]diagnosis.Alert{
				kubeAlert(at, "", "HTTPErrorRateHigh", "namespace", "eu", "service", "api-eu", "job", "payments-api"),
				kubeAlert(at, "", "HTTPLatencyHigh", "namespace", "us", "service", "api-us", "job", "payments-api"),
			}, []int{0, 0}},
		{"an exporter's job and instance are no clue",
			[]diagnosis.Alert{
				kubeAlert(at, "", "KubePodCrashLooping", "namespace", "a", "pod", "one-5b9z5", "job", "kube-state-metrics", "instance", "10.0.3.91:8080"),
				kubeAlert(at, "", "KubePodCrashLooping", "namespace", "b", "pod", "two-6bm5t", "job", "kube-state-metrics", "instance", "10.0.3.91:8080"),
			}, []int{0, 1}},
		{"another cluster is another incident, whatever it shares",
			[]diagnosis.Alert{
				kubeAlert(at, "", "HTTPErrorRateHigh", "cluster", "prod-eu", "namespace", "shop", "service", "api", "job", "api"),
				kubeAlert(at, "", "HTTPErrorRateHigh", "cluster", "prod-us", "namespace", "shop", "service", "web", "job", "api"),
			}, []int{0, 1}},
		{"more than ten minutes apart, a shared namespace is not enough",
			[]diagnosis.Alert{
				kubeAlert(at, "", "HTTPErrorRateHigh", "namespace", "shop", "service", "api"),
				kubeAlert(m(11), "", "HTTPErrorRateHigh", "namespace", "shop", "service", "web"),
			}, []int{0, 1}},
		{"a service's own later alerts follow it for thirty minutes",
			[]diagnosis.Alert{
				kubeAlert(at, "", "HTTPErrorRateHigh", "namespace", "shop", "service", "api"),
				kubeAlert(m(25), "", "HTTPLatencyHigh", "namespace", "shop", "service", "api"),
			}, []int{0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, _ := startGrouper(t, diagnosis.GrouperConfig{Graph: emptyGraph(t)})
				for _, a := range tc.alerts {
					g.Add(a)
				}
				partition(t, g, tc.alerts, tc.want)
			})
		})
	}
}

// TestEngineWithoutAGraph: with no graph the engine ranks by the alerts'
// own roles, labels, timing, signatures and names in text; it says it had
// no graph and does not list every service as "not in graph".
func TestEngineWithoutAGraph(t *testing.T) {
	cases := []struct {
		name  string
		strip []string // labels removed from every alert
		rank  int      // order-service's rank, at worst
	}{
		{"with the storm's own labels", nil, 1},
		{"without root_cause_candidate labels", []string{"root_cause_candidate"}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alerts := blackFriday(t)
			for _, a := range alerts {
				for _, l := range tc.strip {
					delete(a.Labels, l)
				}
			}
			e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: emptyGraph(t)})
			d := e.Diagnose(t.Context(), incidentOf(alerts))
			rank := 0
			for i, c := range d.Candidates {
				if c.Service == "order-service" {
					rank = i + 1
					break
				}
			}
			top, _ := d.Top()
			if rank < 1 || rank > tc.rank {
				t.Errorf("order-service ranks %d, want at worst %d; top %s at %.2f", rank, tc.rank, top.Service, top.Confidence)
			}
			if !d.NoGraph || len(d.NotInGraph) != 0 || len(d.ImpactRadius) != 0 {
				t.Errorf("no graph %v, not in graph %v, impact %v: want NoGraph, and neither list", d.NoGraph, d.NotInGraph, d.ImpactRadius)
			}
			if len(d.AffectedServices) != 6 || d.Alerts.Distinct != 31 || d.Alerts.Pages != 1 {
				t.Errorf("affected %v distinct %d pages %d, want 6 services, 31 alerts, one page", d.AffectedServices, d.Alerts.Distinct, d.Alerts.Pages)
			}
			sum := d.NoneOfThese
			for _, c := range d.Candidates {
				sum += c.Confidence
			}
			if sum < 0.99 || sum > 1.01 {
				t.Errorf("confidences and none-of-these add up to %.3f, want 1", sum)
			}
			t.Logf("%s: order-service ranks %d; top %s at %.2f (%v)", tc.name, rank, top.Service, top.Confidence, top.Evidence)
		})
	}
}

func TestEngineSaysWhenItHadAGraph(t *testing.T) {
	d := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: graph.Example()}).Diagnose(t.Context(), incidentOf(blackFriday(t)))
	if d.NoGraph {
		t.Error("NoGraph with the example graph")
	}
	d = diagnosis.NewEngine(diagnosis.EngineConfig{}).Diagnose(t.Context(), incidentOf(nil))
	if !d.NoGraph || d.Summary != "no alerts" {
		t.Errorf("no graph %v summary %q for no alerts and no graph", d.NoGraph, d.Summary)
	}
}
