package synth

import (
	"fmt"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// values are the placeholders of rule annotations and error texts.
func (g *gen) values(s spec, m *meta) map[string]string {
	r := g.r
	v := map[string]string{
		"{svc}": s.subject, "{D}": "Service", "{ns}": "", "{host}": "", "{pod}": "", "{node}": "", "{ip}": "",
		"{pct}":   fmt.Sprint(55 + r.IntN(44)),
		"{pct2}":  fmt.Sprint(1 + r.IntN(9)),
		"{n}":     fmt.Sprint(pickWeighted(r, []int{3 + r.IntN(20), 40 + r.IntN(400), 1000 + r.IntN(40000)}, []float64{0.3, 0.4, 0.3})),
		"{n2}":    fmt.Sprintf("%d.%d", 1+r.IntN(9), r.IntN(10)),
		"{max}":   pick(r, []string{"100", "200", "500", "1000"}),
		"{lat}":   fmt.Sprintf("%d.%d", 1+r.IntN(8), r.IntN(10)),
		"{ver}":   g.version,
		"{path}":  pick(r, []string{"orders", "charges", "quotes", "items", "sessions", "events", "search"}),
		"{dur}":   pick(r, []string{"3m", "7m", "12m", "2d", "6h"}),
		"{eport}": fmt.Sprint(32768 + r.IntN(28000)), "{hex}": randString(r, hexAlphabet, 12),
		"{mount}": pick(r, []string{"shared", "media", "exports", "uploads"}), "{file}": pick(r, []string{"index.json", "0001.seg", "report.pdf", "manifest.lock"}),
		"{pv}":       "pvc-" + randString(r, hexAlphabet, 8) + "-" + randString(r, hexAlphabet, 4),
		"{skew}":     pick(r, []string{"4m12s", "93s", "11m", "2m40s"}),
		"{index}":    pick(r, []string{"products-v7", "orders-2026.03", "logs-app", "search-main"}),
		"{extip}":    fmt.Sprintf("52.%d.%d.%d", r.IntN(250), r.IntN(250), 1+r.IntN(250)),
		"{topic}":    pick(r, []string{"orders", "events", "payments.v1", "clickstream", "notifications"}),
		"{queue}":    pick(r, []string{"default", "mailers", "critical", "webhooks", "exports"}),
		"{resolver}": g.t.resolver, "{sloth}": pick(r, []string{"page", "ticket"}),
		"{component}": pick(r, []string{"API", "Dashboard", "Webhooks", "REST API"}),
		"{status}":    pick(r, []string{"degraded_performance", "partial_outage", "major_outage"}),
	}
	v["{cert}"] = s.cert
	if s.cert == "" {
		v["{cert}"] = s.subject + "-tls"
	}
	now := g.start.Add(s.at)
	v["{time}"] = now.Format(time.RFC3339)
	v["{time2}"] = now.Add(time.Duration(90+r.IntN(500)) * time.Second).Format(time.RFC3339)
	if m != nil {
		v["{ns}"], v["{host}"] = m.ns, m.host
		if m.domain != "" {
			v["{D}"] = m.domain
		}
		if m.ip != "" {
			v["{ip}"], v["{node}"] = m.ip, m.name
		}
	}
	if s.name != "" {
		v["{svc}"] = s.name
	}
	if s.pod != nil {
		v["{pod}"], v["{node}"], v["{podip}"] = s.pod.name, s.pod.node, s.pod.ip
		v["{ip}"] = s.pod.ip
	} else {
		v["{podip}"] = fmt.Sprintf("10.%d.%d.%d", r.IntN(64), r.IntN(250), 2+r.IntN(250))
	}
	if v["{ip}"] == "" {
		v["{ip}"] = v["{podip}"]
	}
	if v["{pod}"] == "" && m != nil {
		v["{pod}"] = m.name + "-0"
		if m.tech == "kafka" && m.managed {
			v["{pod}"] = "b-1"
		}
	}
	if s.dep != "" {
		v["{dep}"] = s.dep
		if d := g.t.m(s.dep); d != nil {
			v["{dephost}"] = d.host
			if d.host == "" {
				v["{dephost}"] = d.name
			}
		} else {
			v["{dephost}"] = s.dep
		}
	}
	p := s.prov
	if p == nil && m != nil && m.prov != nil {
		p = m.prov
	}
	if p != nil {
		v["{provider}"], v["{P}"] = p.label, camel(p.label)
		v["{url}"] = "https://" + p.host + "/" + pick(r, []string{"healthcheck", "v1/status", "ping", "health"})
		if s.prov != nil && (m == nil || m.prov == nil) {
			v["{host}"] = p.host
		}
	}
	v["{inst}"] = v["{host}"]
	if v["{inst}"] == "" {
		v["{inst}"] = v["{ip}"] + ":9100"
	}
	return v
}

// labeler writes the labels of one alert: those that name its subject in
// its style, then the conventions the organisation's alerts share.
type labeler struct {
	g       *gen
	s       spec
	m       *meta
	v       map[string]string
	l       map[string]string
	ns      string
	subject string // the name the labels give the subject
}

func (g *gen) labels(s spec, m *meta, v map[string]string) map[string]string {
	b := &labeler{g: g, s: s, m: m, v: v, l: map[string]string{}, subject: s.subject}
	if m != nil {
		b.ns = m.ns
	}
	if s.name != "" {
		b.subject = s.name
	}
	_ = b.app() || b.store() || b.infra()
	return b.common()
}

// ksm labels an alert as kube-state-metrics exports it.
func (b *labeler) ksm() {
	st := b.g.t.style
	b.l["service"] = b.g.exporter("kube-state-metrics")
	b.l["job"], b.l["container"], b.l["endpoint"] = "kube-state-metrics", "kube-state-metrics", "http"
	b.l["instance"], b.l["pod"] = st.ksmIP, st.ksmPod
	if b.ns != "" {
		b.l["namespace"] = b.ns
	}
}

// app names an application subject (services, gateways, their workloads, SLOs).
func (b *labeler) app() bool {
	g, s, m, v, l, ns, subject, t, st := b.g, b.s, b.m, b.v, b.l, b.ns, b.subject, b.g.t, b.g.t.style
	switch s.style {
	case stSvc, stInfraSvc:
		l["service"] = subject
		if ns != "" {
			l["namespace"] = ns
		}
	case stKsmDeploy:
		b.ksm()
		key := "deployment"
		n := s.rule.name
		switch {
		case m != nil && m.sts, strings.Contains(strings.ToLower(n), "statefulset"):
			key = "statefulset"
		case strings.Contains(strings.ToLower(n), "daemonset"):
			key = "daemonset"
		case strings.Contains(n, "Hpa"):
			key = "horizontalpodautoscaler"
		case strings.Contains(n, "Job"):
			key = "job_name"
			subject += "-" + pick(g.r, []string{"nightly", "backfill", "cleanup"}) + "-" + fmt.Sprint(29000000+g.r.IntN(999999))
		case strings.Contains(n, "Volume"):
			key = "persistentvolumeclaim"
			subject = "data-" + subject + "-0"
		}
		l[key] = subject
		if s.name != "" && ns == "" {
			l["namespace"] = pick(g.r, []string{"kube-system", "monitoring"})
		}
	case stKsmPod:
		b.ksm()
		l["pod"], l["container"] = v["{pod}"], subject
		if strings.Contains(s.rule.name, "CrashLoop") {
			l["reason"] = "CrashLoopBackOff"
		}
	case stPod:
		l["pod"], l["namespace"] = v["{pod}"], ns
	case stJob:
		l["job"], l["service"], l["namespace"] = subject, subject, ns
	case stIstio:
		l["destination_service_name"], l["destination_service_namespace"], l["destination_workload"] = subject, ns, subject
		l["reporter"], l["namespace"] = "destination", ns
	case stApp:
		l["app_kubernetes_io_name"], l["app_kubernetes_io_instance"], l["namespace"] = subject, subject, ns
	case stIngress:
		if strings.HasPrefix(s.rule.name, "Traefik") {
			l["service"], l["job"], l["namespace"] = fmt.Sprintf("%s-%s-80@kubernetes", ns, subject), "traefik", "traefik"
			l["instance"] = fmt.Sprintf("10.%d.%d.%d:9100", g.r.IntN(64), g.r.IntN(250), 2+g.r.IntN(250))
			v["{inst}"] = l["instance"]
			break
		}
		l["exported_service"], l["exported_namespace"] = subject, ns
		l["ingress"], l["host"] = subject, subject+"."+t.Name+".example.com"
		l["namespace"], l["service"], l["job"] = "ingress-nginx", "ingress-nginx-controller-metrics", "ingress-nginx-controller-metrics"
		l["controller_class"] = "k8s.io/ingress-nginx"
		v["{ingress}"] = subject
	case stALB:
		short := func(x string) string { return x[:min(len(x), 8)] }
		tg := fmt.Sprintf("targetgroup/k8s-%s-%s-%s/%s", short(ns), short(subject), randString(g.r, hexAlphabet, 10), randString(g.r, hexAlphabet, 16))
		l["load_balancer"] = fmt.Sprintf("app/k8s-%s-%s/%s", short(ns), randString(g.r, hexAlphabet, 10), randString(g.r, hexAlphabet, 16))
		l["target_group"], l["job"], l["region"] = tg, "yace", st.region
		v["{tg}"], v["{ingress}"] = tg, l["load_balancer"]
	case stSloth:
		slo := pick(g.r, []string{"availability", "requests-availability", "latency"})
		l["sloth_service"], l["sloth_slo"], l["sloth_id"] = subject, slo, subject+"-"+slo
		l["sloth_severity"] = v["{sloth}"]
	case stPyrra:
		l["slo"], l["namespace"] = subject+"-availability", ns
		l["long"], l["short"], l["exhaustion"] = "1h", "5m", "2d"
	case stConsumer:
		q := t.m(m.consumes)
		l["consumergroup"], l["topic"] = subject, v["{topic}"]
		l["job"], l["service"], l["namespace"] = "kafka-exporter", g.exporter("kafka-exporter"), q.ns
		l["instance"] = fmt.Sprintf("10.%d.%d.%d:9308", g.r.IntN(64), g.r.IntN(250), 2+g.r.IntN(250))
	case stWorkQueue:
		l["service"], l["namespace"], l["queue"] = subject, ns, v["{queue}"]
	case stProvider:
		l["service"], l["namespace"] = subject, ns
		if s.prov != nil {
			l["provider"] = s.prov.label
		}
	case stNone:
		if s.role == RoleBusiness {
			l[pick(g.r, []string{"category", "layer"})] = "business"
		}
	default:
		return false
	}
	return true
}

// store names a datastore subject.
func (b *labeler) store() bool {
	g, s, m, v, l, ns, subject, st := b.g, b.s, b.m, b.v, b.l, b.ns, b.subject, b.g.t.style
	switch s.style {
	case stDBExporter:
		exp := map[string]string{"postgres": "postgres-exporter", "mysql": "mysqld-exporter", "redis": "redis-exporter", "kafka": "kafka-exporter", "rabbitmq": "rabbitmq-exporter", "elasticsearch": "elasticsearch-exporter"}[m.tech]
		if exp == "" {
			exp = "app-exporter"
		}
		l["job"] = pick(g.r, []string{exp, "prometheus-" + exp})
		l["service"] = l["job"]
		l["instance"] = fmt.Sprintf("%s:%d", m.host, storeTechs[m.tech].port)
		l["namespace"] = pick(g.r, []string{"monitoring", ns})
		if m.tech == "postgres" {
			l["server"], l["datname"] = l["instance"], "app"
		}
	case stDBPod:
		l["pod"], l["namespace"] = v["{pod}"], ns
		l["service"], l["job"] = subject+"-metrics", subject+"-metrics"
		l["instance"] = v["{podip}"] + ":9187"
	case stRDS:
		key := map[string]string{"redis": "cache_cluster_id", "kafka": "cluster_name", "elasticsearch": "domain_name", "rabbitmq": "broker"}[m.tech]
		if key == "" {
			key = "dbinstance_identifier"
		}
		l[key], l["job"], l["region"] = subject, "yace", st.region
	case stCluster:
		key := map[string]string{"rabbitmq": "rabbitmq_cluster", "kafka": "strimzi_io_cluster"}[m.tech]
		if key == "" {
			key = "cluster"
		}
		l[key], l["namespace"] = subject, ns
		if s.pod != nil {
			l["pod"] = s.pod.name
			l["instance"] = s.pod.ip + ":" + map[string]string{"rabbitmq": "15692", "kafka": "9404"}[m.tech]
			if m.tech == "elasticsearch" {
				l["instance"] = s.pod.ip + ":9114"
			}
		}
	default:
		return false
	}
	return true
}

// infra names infrastructure and providers (nodes, DNS, status pages, probes,
// certificates, load balancers, volumes).
func (b *labeler) infra() bool {
	g, s, m, v, l, subject, t, st := b.g, b.s, b.m, b.v, b.l, b.subject, b.g.t, b.g.t.style
	nodeName, nodeIP := "", ""
	if b.m != nil && b.m.role == roleWorker {
		nodeName, nodeIP = b.m.name, b.m.ip
	}
	switch s.style {
	case stNodeKSM:
		b.ksm()
		l["namespace"], l["node"] = "monitoring", nodeName
		l["condition"], l["status"] = "Ready", "true"
		for _, c := range []string{"MemoryPressure", "DiskPressure", "PIDPressure"} {
			if strings.Contains(s.rule.name, c) {
				l["condition"] = c
			}
		}
	case stNodeExp:
		l["service"], l["job"] = g.exporter("node-exporter"), "node-exporter"
		l["namespace"], l["container"], l["endpoint"] = "monitoring", "node-exporter", "http-metrics"
		l["pod"] = g.exporter("node-exporter") + "-" + podSuffix(g.r)
		l["instance"] = nodeIP + ":9100"
		if st.nodeByName {
			l["instance"] = nodeName
		}
		v["{inst}"] = l["instance"]
		if strings.Contains(s.rule.name, "Filesystem") || strings.Contains(s.rule.name, "Disk") {
			l["device"], l["mountpoint"], l["fstype"] = "/dev/nvme0n1p1", "/", "xfs"
		}
	case stKubelet:
		l["node"], l["service"], l["job"] = nodeName, g.exporter("kubelet"), "kubelet"
		l["namespace"], l["metrics_path"], l["instance"] = "kube-system", "/metrics", nodeIP+":10250"
	case stCoreDNS:
		l["job"] = pick(g.r, []string{"kube-dns", "coredns"})
		l["service"], l["namespace"] = "kube-dns", "kube-system"
		if s.pod != nil {
			l["pod"], l["instance"] = s.pod.name, s.pod.ip+":9153"
		}
		if s.rule.mode == "fwd" {
			up := t.m(t.byRole(roleUpstream)[0])
			l["to"] = up.host + ":53"
			v["{fwd}"] = up.host + ":53"
		}
	case stStatus:
		l["statuspage"], l["component"], l["job"] = m.prov.label, v["{component}"], "statuspage-exporter"
		v["{P}"] = camel(m.prov.label)
	case stBlackbox:
		l["instance"], l["job"] = v["{url}"], pick(g.r, []string{"blackbox", "blackbox-external", "probe-external"})
	case stCert:
		l["name"], l["exported_namespace"] = v["{cert}"], s.certNS
		l["namespace"], l["service"], l["job"] = "cert-manager", "cert-manager", "cert-manager"
		l["issuer_name"], l["issuer_kind"], l["condition"] = subject, "ClusterIssuer", "False"
	case stYaceLB:
		lb := m.name
		if len(m.aliases) > 0 {
			lb = m.aliases[len(m.aliases)-1]
		}
		l["load_balancer"], l["job"], l["region"] = lb, "yace", st.region
		v["{lb}"] = lb
	case stYaceEFS:
		fs := m.name
		for _, a := range m.aliases {
			if strings.HasPrefix(a, "fs-") {
				fs = a
			}
		}
		l["file_system_id"], l["job"], l["region"] = fs, "yace", st.region
		v["{fs}"] = fs
	default:
		return false
	}
	return true
}

// common adds the labels the organisation's alerts share and drops empty ones.
func (b *labeler) common() map[string]string {
	g, s, m, l := b.g, b.s, b.m, b.l
	t, st := g.t, g.t.style
	if st.teamLabels && m != nil && m.team != "" && s.style != stNone {
		l["team"] = m.team
	}
	if st.clusterLabel {
		l[diagnosis.LabelCluster] = t.Cluster
	}
	if st.orgLabels && (s.style == stSvc || s.style == stProvider || s.style == stWorkQueue) {
		layer := "application"
		if m != nil && m.role != roleApp && m.role != roleAuth && m.role != roleGateway {
			layer = "infrastructure"
		}
		l[diagnosis.LabelLayer], l["impact_type"], l[diagnosis.LabelRootCauseCandidate] = layer, "availability", "false"
	}
	for k, x := range l {
		if x == "" {
			delete(l, k)
		}
	}
	return l
}

// exporter is the Service name kube-prometheus-stack gives an exporter.
func (g *gen) exporter(what string) string { return g.t.exporter(what) }
