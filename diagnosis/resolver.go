package diagnosis

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Rule reads one label of an alert as the name of its subject. Strip, a
// regular expression, removes what is not part of the name (a ReplicaSet
// hash, a port); When restricts the rule to alerts whose labels match.
type Rule struct {
	Label string            `yaml:"label"`
	Strip string            `yaml:"strip,omitempty"`
	When  map[string]string `yaml:"when,omitempty"`
	strip *regexp.Regexp
}

// Resolution says which node an alert is about and which label said so.
type Resolution struct {
	Node    string `json:"node"`
	Label   string `json:"label,omitempty"`
	Value   string `json:"value,omitempty"`
	InGraph bool   `json:"in_graph"`
}

// Evidence is the sentence that explains a resolution not made by the
// service label, or "" when there is nothing to explain.
func (r Resolution) Evidence(a Alert) string {
	switch {
	case r.Label == LabelService && r.Value == r.Node:
		return ""
	case r.Label == "":
		return fmt.Sprintf("%s names no service the graph knows", a.Name())
	case r.Value == r.Node:
		return fmt.Sprintf("%s is about %s by its %s label", a.Name(), r.Node, r.Label)
	}
	return fmt.Sprintf("%s is about %s by its %s label (%s)", a.Name(), r.Node, r.Label, r.Value)
}

// Kubernetes pod name suffixes: Deployment pods end in -<replicaset hash>-<5>,
// DaemonSet and Job pods in -<5>, StatefulSet pods in -<ordinal>.
const podSuffix = `(-[a-z0-9]{5,10}-[a-z0-9]{5}|-[a-z0-9]{5}|-[0-9]+)$`

// DefaultRules try, in order, the labels that name an alert's subject in
// kube-prometheus-stack, node-exporter, ingress-nginx, Sloth, Kafka,
// blackbox, YACE (CloudWatch), Patroni and status-page alerts. A rule only
// counts when its value (or a part of it) is a graph node or alias.
func DefaultRules() []Rule {
	return []Rule{
		{Label: "service"},
		{Label: "deployment"},
		{Label: "statefulset"},
		{Label: "daemonset"},
		{Label: "cronjob"},
		{Label: "horizontalpodautoscaler"},
		{Label: "job_name", Strip: `-[0-9]{8,}$`},
		{Label: "pod", Strip: podSuffix},
		{Label: "persistentvolumeclaim"},
		{Label: "exported_service"},
		{Label: "destination_workload"},
		{Label: "destination_service_name"},
		{Label: "destination_app"},
		{Label: "dst_deployment"},
		{Label: "ingress"},
		{Label: "sloth_service"},
		{Label: "slo", Strip: `-(availability|latency|errors?|requests?|slo)$`},
		{Label: "consumergroup"},
		{Label: "topic"},
		{Label: "database"},
		{Label: "dbinstance_identifier"},
		{Label: "scope"},
		{Label: "provider"},
		{Label: "statuspage"},
		{Label: "cluster"},
		{Label: "name", Strip: podSuffix},
		{Label: "queue_name"},
		{Label: "load_balancer"},
		{Label: "target_group"},
		{Label: "endpoint"},
		{Label: "node"},
		{Label: "instance", Strip: `:[0-9]+$`},
		{Label: "container"},
		{Label: "app_kubernetes_io_name"},
		{Label: "app"},
		{Label: "job"},
		{Label: "namespace"},
	}
}

// exporters are the scrapers, not the subjects: kube-state-metrics and
// node-exporter name themselves in service, job, pod and container.
var exporters = []string{"kube-state-metrics", "node-exporter", "kubelet", "cadvisor", "blackbox", "prometheus-operator", "yace", "statuspage-exporter", "kafka-exporter", "postgres-exporter", "redis-exporter", "elasticsearch-exporter"}

func isExporter(v string) bool {
	switch v {
	case "prometheus", "apiserver", "kubernetes-pods", "kubernetes-nodes", "node":
		return true
	}
	for _, e := range exporters {
		if strings.Contains(v, e) {
			return true
		}
	}
	return false
}

// Label values whose parts are worth trying one by one: generated names
// like data-volume-chi-warehouse-0 or app/alb-api-eu-west-1/5f2e1c9a.
var partLabels = map[string]bool{
	"pod": true, "persistentvolumeclaim": true, "job_name": true, "cronjob": true, "deployment": true,
	"statefulset": true, "daemonset": true, "name": true, "scope": true, "load_balancer": true,
	"target_group": true, "queue_name": true, "endpoint": true, "container": true, "instance": true,
	"slo": true, "consumergroup": true, "topic": true, "sloth_service": true,
}

// Words too common to name a service on their own.
var genericWords = map[string]bool{
	"data": true, "volume": true, "default": true, "main": true, "node": true, "pod": true, "prod": true,
	"production": true, "staging": true, "service": true, "server": true, "worker": true, "master": true,
	"primary": true, "replica": true, "controller": true, "manager": true, "exporter": true, "metrics": true,
	"http": true, "https": true, "app": true, "www": true, "api": true, "health": true, "healthz": true,
	"targetgroup": true, "east": true, "west": true, "north": true, "south": true, "central": true,
}

// Resolver names the graph node each alert is about: through ordered rules,
// the graph's names and aliases, and host names and addresses.
type Resolver struct {
	g     *graph.Graph
	rules []Rule
}

// NewResolver compiles rules (nil: DefaultRules).
func NewResolver(g *graph.Graph, rules []Rule) (*Resolver, error) {
	if g == nil {
		g = noGraph
	}
	if rules == nil {
		rules = DefaultRules()
	}
	rules = slices.Clone(rules)
	for i := range rules {
		if rules[i].Label == "" {
			return nil, fmt.Errorf("resolve rule %d has no label", i+1)
		}
		if rules[i].Strip != "" {
			re, err := regexp.Compile(rules[i].Strip)
			if err != nil {
				return nil, fmt.Errorf("resolve rule %d (%s): strip: %w", i+1, rules[i].Label, err)
			}
			rules[i].strip = re
		}
	}
	return &Resolver{g: g, rules: rules}, nil
}

// For is a Resolver with the same rules over graph g (nil: the empty
// graph): the one to use with a graph a refresh swapped in, so that names
// resolve to nodes of the graph the caller reads.
func (r *Resolver) For(g *graph.Graph) *Resolver {
	if g == nil {
		g = noGraph
	}
	if g == r.g {
		return r
	}
	return &Resolver{g: g, rules: r.rules}
}

// Graph is the graph the Resolver resolves to.
func (r *Resolver) Graph() *graph.Graph { return r.g }

// ParseRules reads the optional `resolve:` list of a service graph file.
func ParseRules(data []byte) ([]Rule, error) {
	var f struct {
		Resolve []Rule `yaml:"resolve"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse resolve rules: %w", err)
	}
	return f.Resolve, nil
}

// Node is the graph node the alert is about (for the Grouper).
func (r *Resolver) Node(a Alert) string { return r.Resolve(a).Node }

// Resolve applies the rules in order; the first value that names a graph
// node (or alias, host, address, or a part of a generated name) wins.
// Without one, the alert is about the first workload-like value it
// carries, reported as not in the graph; with none at all, Node is "".
func (r *Resolver) Resolve(a Alert) Resolution {
	var fallback Resolution
	for _, rule := range r.rules {
		v, ok := a.Labels[rule.Label]
		if !ok || v == "" || !rule.applies(a.Labels) {
			continue
		}
		cands := rule.candidates(v)
		if isExporter(cands[len(cands)-1]) || isExporter(v) && rule.Label != "service" {
			continue
		}
		for _, cand := range cands {
			if n, ok := r.lookup(cand); ok {
				return Resolution{Node: n, Label: rule.Label, Value: v, InGraph: true}
			}
		}
		if subjectLabel(rule.Label) || rule.Label == "provider" || rule.Label == "database" {
			// Not a namespace, job or cluster: "payments" the namespace
			// is no spelling of payments-api.
			if n, ok := r.lookupSpelled(v); ok {
				return Resolution{Node: n, Label: rule.Label, Value: v, InGraph: true}
			}
		}
		if partLabels[rule.Label] {
			if n, ok := r.lookupParts(cands[len(cands)-1]); ok {
				return Resolution{Node: n, Label: rule.Label, Value: v, InGraph: true}
			}
		}
		if fallback.Node == "" && !isExporter(v) && subjectLabel(rule.Label) {
			fallback = Resolution{Node: cands[min(1, len(cands)-1)], Label: rule.Label, Value: v}
		}
	}
	if fallback.Node == "" {
		if n, label, v, ok := r.hostOf(a); ok {
			return Resolution{Node: n, Label: label, Value: v, InGraph: r.g.Has(n)}
		}
		if n, label, v, ok := r.probed(a); ok {
			return Resolution{Node: n, Label: label, Value: v, InGraph: r.g.Has(n)}
		}
	}
	return fallback
}

// hostOf names the Kubernetes node or host an alert from the node and
// kubelet rule families is about, when the graph does not know it: its node
// label, or the host of its node-exporter or kubelet instance.
func (r *Resolver) hostOf(a Alert) (node, label, value string, ok bool) {
	if !hostAlert(a) {
		return "", "", "", false
	}
	for _, l := range nodeNameLabels {
		if v := strings.TrimSpace(a.Labels[l]); v != "" {
			if n, ok := r.lookup(v); ok {
				return n, l, v, true
			}
			return strings.ToLower(v), l, v, true
		}
	}
	if v := a.Labels["instance"]; v != "" {
		host := v
		if h, _, err := net.SplitHostPort(v); err == nil {
			host = h
		}
		if host != "" {
			return strings.ToLower(host), "instance", v, true
		}
	}
	return "", "", "", false
}

// hostAlert: alerts of the node-exporter, kubelet and node-condition rule
// families (see roles_upstream.go for their sources), or scraped from node-exporter
// or the kubelet.
func hostAlert(a Alert) bool {
	name := a.Name()
	for _, p := range []string{"Node", "KubeNode", "Kubelet", "Host"} {
		if strings.HasPrefix(name, p) && len(name) > len(p) && name[len(p)] >= 'A' && name[len(p)] <= 'Z' {
			return true
		}
	}
	for _, l := range []string{"job", "service", "container"} {
		v := a.Labels[l]
		if strings.Contains(v, "node-exporter") || v == "kubelet" {
			return true
		}
	}
	// Any other rule set's node alert (KubernetesNodeNotReady,
	// KubernetesNodeMemoryPressure) says "node" in its name and carries
	// the node's name in a node label.
	if nodeLabelled(a) {
		for _, w := range nameWords(name) {
			if w == "node" || w == "nodes" {
				return true
			}
		}
	}
	return false
}

// nodeNameLabels carry a Kubernetes node's name.
var nodeNameLabels = []string{"node", "node_name", "kubernetes_node", "nodename"}

// nodeLabelled reports whether an alert carries a Kubernetes node's name.
func nodeLabelled(a Alert) bool {
	for _, l := range nodeNameLabels {
		if strings.TrimSpace(a.Labels[l]) != "" {
			return true
		}
	}
	return false
}

// subjectLabel: labels whose value can stand for a service the graph does
// not know (a namespace, a job or an instance address cannot).
func subjectLabel(label string) bool {
	switch label {
	case "namespace", "job", "instance", "node", "endpoint", "cluster", "name", "container", "queue_name", "load_balancer", "target_group", "scope", "provider", "topic", "database":
		return false
	}
	return true
}

// lookupParts tries the parts of a generated name, longest first: runs of
// its words split at '-', '/', '.' and '_'.
func (r *Resolver) lookupParts(v string) (string, bool) {
	words := strings.FieldsFunc(v, func(c rune) bool { return c == '-' || c == '/' || c == '.' || c == '_' || c == ':' })
	if len(words) > 12 {
		words = words[:12]
	}
	for n := len(words) - 1; n >= 1; n-- {
		for i := 0; i+n <= len(words); i++ {
			part := strings.Join(words[i:i+n], "-")
			if n == 1 && (len(part) < 4 || genericWords[part]) {
				continue
			}
			if node, ok := r.lookup(part); ok {
				return node, true
			}
		}
	}
	return "", false
}

func (rule Rule) applies(labels map[string]string) bool {
	for k, v := range rule.When {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// candidates are the names a label value may stand for: the value, then the
// value stripped, then for hosts and URLs the host and its short name, and
// for URLs the path's words.
func (rule Rule) candidates(v string) []string {
	out := []string{v}
	if rule.strip != nil {
		if s := rule.strip.ReplaceAllString(v, ""); s != "" && s != v {
			out = append(out, s)
		}
	}
	if rule.Label != "instance" && rule.Label != "node" {
		return out
	}
	host, path := out[len(out)-1], ""
	if _, rest, ok := strings.Cut(v, "://"); ok { // a blackbox probe target URL
		host, path, _ = strings.Cut(rest, "/")
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	out = append(out, host)
	if net.ParseIP(host) == nil {
		if short, _, ok := strings.Cut(host, "."); ok {
			out = append(out, short)
		}
	}
	for _, seg := range strings.Split(path, "/") {
		if seg != "" && !genericWords[seg] && len(seg) > 2 {
			out = append(out, seg)
		}
	}
	return out
}

// serviceSuffixes are the words a team appends to a thing's name to name
// the service: stripe and stripe-api, orders and orders-service.
var serviceSuffixes = []string{"api", "service", "svc", "server", "app"}

// sameThing: names one piece of software runs under in every cluster.
// Kubernetes runs CoreDNS as the Deployment coredns behind the Service
// kube-dns (the name kept from its predecessor: kubeadm, EKS, AKS), so
// the CoreDNS mixin's alerts say service="kube-dns" of a node a graph
// file calls coredns, and the other way round.
var sameThing = map[string][]string{"kube-dns": {"coredns"}, "coredns": {"kube-dns"}}

// lookupSpelled finds the node a label value names in another spelling:
// the other name of a thing (sameThing),
// dots or underscores for dashes (checkout.com is checkout-com), or with
// or without a service suffix (here is here-api, payments-service
// payments), when exactly one node answers.
func (r *Resolver) lookupSpelled(v string) (string, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	if len(v) < 3 || genericWords[v] || net.ParseIP(v) != nil {
		return "", false
	}
	for _, twin := range sameThing[v] {
		if n, ok := r.lookup(twin); ok {
			return n, true
		}
	}
	dashed := strings.NewReplacer(".", "-", "_", "-").Replace(v)
	if dashed != v {
		if n, ok := r.lookup(dashed); ok {
			return n, true
		}
	}
	found := ""
	try := func(name string) {
		if n, ok := r.lookup(name); ok && n != found {
			if found != "" {
				found = "\x00" // two answers: none
				return
			}
			found = n
		}
	}
	for _, s := range serviceSuffixes {
		try(dashed + "-" + s)
		if base, ok := strings.CutSuffix(dashed, "-"+s); ok && len(base) >= 3 && !genericWords[base] {
			try(base)
		}
	}
	if found == "" || found == "\x00" {
		return "", false
	}
	return found, true
}

func (r *Resolver) lookup(name string) (string, bool) {
	if n, ok := r.g.Lookup(name); ok {
		return n, true
	}
	return r.g.Lookup(strings.ToLower(name))
}
