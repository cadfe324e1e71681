package synth

import (
	"fmt"
	"strings"
	"time"
)

// Half is one of the two disjoint halves of every vocabulary: an engine is
// tuned on incidents drawn from Tune and measured on incidents drawn from Test.
type Half int

// The two halves.
const (
	Tune Half = iota
	Test
)

func (h Half) String() string {
	if h == Test {
		return "test"
	}
	return "tune"
}

// ParseHalf reads "tune" or "test".
func ParseHalf(s string) (Half, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tune":
		return Tune, nil
	case "test":
		return Test, nil
	}
	return Tune, fmt.Errorf("half %q: want tune or test", s)
}

// rule is an alerting rule: its name, default severity, `for:` clause, the
// label styles its alerts name their subject with (see labels.go), the
// failure mode it reports ("" for any) and its annotation templates.
type rule struct {
	name    string
	sev     string
	forDur  time.Duration
	styles  []string
	mode    string
	summary string
	desc    string
}

// rules is one vocabulary of alert rules, split into halves.
type rules struct {
	name       string
	tune, test []rule
}

func (r rules) half(h Half) []rule {
	if h == Test {
		return r.test
	}
	return r.tune
}

// only keeps the rules of one mode, in both halves.
func (r rules) only(mode string) rules {
	keep := func(xs []rule) []rule {
		var out []rule
		for _, x := range xs {
			if x.mode == mode {
				out = append(out, x)
			}
		}
		return out
	}
	return rules{r.name, keep(r.tune), keep(r.test)}
}

// phrases is one vocabulary of error texts, split into halves. An entry may
// start with "mode|" to say which failure mode it belongs to.
type phrases struct {
	name       string
	tune, test []string
}

func (p phrases) half(h Half) []string {
	if h == Test {
		return p.test
	}
	return p.tune
}

// Vocabulary is one list of alert names or error texts with its two halves,
// for reports and tests.
type Vocabulary struct {
	Name       string
	Tune, Test []string
}

// Vocabularies lists every split vocabulary: alert rules by name (templated
// organisation rules keep their {D} placeholder for the service's domain)
// and error texts as templates.
func Vocabularies() []Vocabulary {
	var out []Vocabulary
	for _, r := range allRules {
		v := Vocabulary{Name: "alerts/" + r.name}
		for _, x := range r.tune {
			v.Tune = append(v.Tune, x.name)
		}
		for _, x := range r.test {
			v.Test = append(v.Test, x.name)
		}
		out = append(out, v)
	}
	for _, p := range allPhrases {
		v := Vocabulary{Name: "text/" + p.name}
		for _, x := range p.tune {
			v.Tune = append(v.Tune, phraseText(x))
		}
		for _, x := range p.test {
			v.Test = append(v.Test, phraseText(x))
		}
		out = append(out, v)
	}
	return out
}

func phraseMode(p string) string {
	if m, _, ok := strings.Cut(p, "|"); ok && len(m) <= 5 {
		return m
	}
	return ""
}

func phraseText(p string) string {
	if m, t, ok := strings.Cut(p, "|"); ok && len(m) <= 5 {
		return t
	}
	return p
}

const (
	m1  = time.Minute
	m2  = 2 * time.Minute
	m3  = 3 * time.Minute
	m5  = 5 * time.Minute
	m10 = 10 * time.Minute
	m15 = 15 * time.Minute
	m30 = 30 * time.Minute
	h1  = time.Hour
)

// Label styles (labels.go). Application subjects.
const (
	stSvc       = "svc"        // service=<svc>
	stKsmDeploy = "ksm-deploy" // kube-state-metrics, deployment/statefulset=<svc>
	stKsmPod    = "ksm-pod"    // kube-state-metrics, pod=<svc>-<hash>
	stPod       = "pod"        // pod and namespace only
	stJob       = "job"        // job=<svc> (TargetDown)
	stIstio     = "istio"      // destination_service_name=<svc>
	stApp       = "app"        // app_kubernetes_io_name=<svc>
	stIngress   = "ingress"    // ingress-nginx, exported_service=<svc>
	stALB       = "alb"        // YACE ALB, target_group naming <svc>
	stSloth     = "sloth"      // sloth_service=<svc>
	stPyrra     = "pyrra"      // slo=<svc>-availability
	stConsumer  = "consumer"   // consumergroup=<svc>, topic
	stWorkQueue = "workqueue"  // service=<svc>, queue
	stProvider  = "provider"   // service=<caller>, provider=<provider>
	stNone      = "none"       // no subject (business, cluster-wide)
)

// Label styles. Datastore, infrastructure and provider subjects.
const (
	stDBExporter = "db-exporter" // service=<tech>-exporter, instance=<host>:<port>
	stDBPod      = "db-pod"      // pod=<store>-0, service=<store>-metrics
	stRDS        = "rds"         // YACE, dbinstance_identifier=<store>
	stCluster    = "cluster"     // cluster / rabbitmq_cluster / kafka cluster label
	stNodeKSM    = "node-ksm"    // kube-state-metrics, node=<node>
	stNodeExp    = "node-exp"    // node-exporter, instance=<node or ip:9100>
	stKubelet    = "kubelet"     // kubelet, node=<node>
	stCoreDNS    = "coredns"     // kube-dns service, coredns pods
	stStatus     = "statuspage"  // statuspage=<provider>
	stBlackbox   = "blackbox"    // instance=https://<host>/...
	stCert       = "cert"        // cert-manager, name=<certificate>
	stYaceLB     = "yace-lb"     // load_balancer=<lb>
	stYaceEFS    = "yace-efs"    // file_system_id=<fs>
	stInfraSvc   = "infra-svc"   // service=<infra name>
)

var (
	appStyles  = []string{stSvc, stSvc, stSvc, stIstio, stApp}
	sloStyles  = []string{stSloth, stPyrra}
	edgeStyles = []string{stIngress, stALB}
	podStyles  = []string{stKsmPod, stPod}
	dbStyles   = []string{stSvc, stDBExporter, stDBPod, stRDS}
)
