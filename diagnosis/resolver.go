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
// kube-prometheus-stack, node-exporter, ingress-nginx, Sloth, Kafka and
// blackbox alerts. A rule only counts when its value is a graph node or alias.
func DefaultRules() []Rule {
	return []Rule{
		{Label: "service"},
		{Label: "deployment"},
		{Label: "statefulset"},
		{Label: "daemonset"},
		{Label: "cronjob"},
		{Label: "job_name", Strip: `-[0-9]{8,}$`},
		{Label: "pod", Strip: podSuffix},
		{Label: "exported_service"},
		{Label: "ingress"},
		{Label: "sloth_service"},
		{Label: "slo", Strip: `-(availability|latency|errors?|requests?|slo)$`},
		{Label: "consumergroup"},
		{Label: "topic"},
		{Label: "database"},
		{Label: "node"},
		{Label: "instance", Strip: `:[0-9]+$`},
		{Label: "container"},
		{Label: "app_kubernetes_io_name"},
		{Label: "app"},
		{Label: "job"},
		{Label: "namespace"},
	}
}

// exporters are label values that name the scraper, not the subject: they
// never become a node when nothing in the graph matches.
var exporters = map[string]bool{
	"kube-state-metrics": true, "node-exporter": true, "prometheus-node-exporter": true, "kubelet": true,
	"cadvisor": true, "blackbox": true, "blackbox-exporter": true, "prometheus": true, "apiserver": true,
	"kube-prometheus-stack-kube-state-metrics": true, "kube-prometheus-stack-prometheus-node-exporter": true,
	"kube-prometheus-stack-kubelet": true, "kubernetes-pods": true, "kubernetes-nodes": true, "node": true,
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
		g, _ = graph.New(nil)
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
// node (or alias, host, address) wins. Without one, the alert is about the
// first workload-like value it carries, reported as not in the graph.
func (r *Resolver) Resolve(a Alert) Resolution {
	var fallback Resolution
	for _, rule := range r.rules {
		v, ok := a.Labels[rule.Label]
		if !ok || v == "" || !rule.applies(a.Labels) {
			continue
		}
		for _, cand := range rule.candidates(v) {
			if n, ok := r.lookup(cand); ok {
				return Resolution{Node: n, Label: rule.Label, Value: v, InGraph: true}
			}
		}
		if fallback.Node == "" && !exporters[v] && rule.Label != "namespace" && rule.Label != "job" {
			fallback = Resolution{Node: rule.candidates(v)[0], Label: rule.Label, Value: v}
		}
	}
	if fallback.Node == "" {
		fallback.Node = a.Labels[LabelService]
		if fallback.Node != "" {
			fallback.Label, fallback.Value = LabelService, fallback.Node
		}
	}
	return fallback
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
// value stripped, then for hosts the short name.
func (rule Rule) candidates(v string) []string {
	out := []string{v}
	if rule.strip != nil {
		if s := rule.strip.ReplaceAllString(v, ""); s != "" && s != v {
			out = append(out, s)
		}
	}
	if rule.Label == "instance" || rule.Label == "node" {
		host := out[len(out)-1]
		if h, _, err := net.SplitHostPort(v); err == nil {
			host = h
		}
		if strings.Contains(host, "://") { // a blackbox probe target URL
			host = strings.SplitN(strings.SplitN(host, "://", 2)[1], "/", 2)[0]
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
		}
		out = append(out, host)
		if net.ParseIP(host) == nil {
			if short, _, ok := strings.Cut(host, "."); ok {
				out = append(out, short)
			}
		}
	}
	return out
}

func (r *Resolver) lookup(name string) (string, bool) {
	if n, ok := r.g.Lookup(name); ok {
		return n, true
	}
	return r.g.Lookup(strings.ToLower(name))
}
