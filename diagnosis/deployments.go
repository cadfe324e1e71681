package diagnosis

import "strings"

// Where an alert lives: the namespace its labels place its node in (a
// deployment of the node), the namespace it lives in itself, and the
// environment it names (docs/grouping.md).

// ownNamespace is the namespace an alert lives in: the one its labels place
// its node in, else its namespace label unless an exporter raised it (an
// exporter's alert carries the exporter's namespace, not its subject's).
func ownNamespace(labels map[string]string, deployment string) string {
	if deployment != "" {
		return deployment
	}
	if isExporterJob(labels) {
		return ""
	}
	return labels[LabelNamespace]
}

// deploymentLabels name the Kubernetes object an alert is about; when one of
// them names the alert's node, the alert's namespace is that node's.
var deploymentLabels = []string{
	LabelService, "deployment", "statefulset", "daemonset", "pod", "job_name", "cronjob",
	"horizontalpodautoscaler", "persistentvolumeclaim", "container", "app", "app_kubernetes_io_name",
}

// deploymentNamespace is the namespace an alert's labels place node in, or
// "" when they do not say: an exporter's alert (kafka-exporter's consumer
// lag, a blackbox probe) carries the exporter's namespace, not its
// subject's. The node's aliases count as its names.
func (g *Grouper) deploymentNamespace(labels map[string]string, node string) string {
	if ns := placedNamespace(labels, node); ns != "" || node == "" {
		return ns
	}
	n, ok := g.graph.Node(node)
	if !ok {
		return ""
	}
	for _, alias := range n.Aliases {
		if ns := placedNamespace(labels, alias); ns != "" {
			return ns
		}
	}
	return ""
}

// placedNamespace is the namespace an alert's labels place the workload
// called name in: its namespace label when a deploymentLabels value names
// it (checkout, checkout-7d9f8b6c5-x2x9z, flink-checkout), an ingress
// alert's exported_namespace when its exported_service does; else "".
func placedNamespace(labels map[string]string, name string) string {
	if name == "" {
		return ""
	}
	if ns := labels["exported_namespace"]; ns != "" && namesPart(labels["exported_service"], name) {
		return ns
	}
	ns := labels[LabelNamespace]
	if ns == "" {
		return ""
	}
	for _, l := range deploymentLabels {
		if namesPart(labels[l], name) {
			return ns
		}
	}
	return ""
}

// namesPart reports whether a label value names name: equal to it, or
// containing it as a dash-separated part.
func namesPart(v, name string) bool {
	if name == "" || len(v) < len(name) {
		return false
	}
	if v == name {
		return true
	}
	i := strings.Index(v, name)
	for i >= 0 {
		before := i == 0 || v[i-1] == '-'
		after := i+len(name) == len(v) || v[i+len(name)] == '-'
		if before && after {
			return true
		}
		j := strings.Index(v[i+1:], name)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// environmentOf is the environment an alert's labels name: its env or
// environment label, else an environment word in its namespace
// (shop-staging, prod, dev-payments); "" when they name none.
func environmentOf(labels map[string]string) string {
	for _, l := range []string{"environment", "env"} {
		if v := labels[l]; v != "" {
			if e := envWord(v); e != "" {
				return e
			}
			return strings.ToLower(v)
		}
	}
	return envWord(labels[LabelNamespace])
}

// envWord finds a word naming an environment in a name, without allocating.
func envWord(v string) string {
	if v == "" {
		return ""
	}
	start := 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) && v[i] != '-' && v[i] != '_' && v[i] != '.' {
			continue
		}
		word := v[start:i]
		start = i + 1
		if word == "pre" && strings.HasPrefix(v[i:], "-prod") {
			return "preprod"
		}
		for _, e := range envAliases {
			if strings.EqualFold(word, e.word) {
				return e.env
			}
		}
	}
	return ""
}

// envAliases map the words namespaces use for an environment onto one name.
// "live" is not among them: it names live-streaming namespaces as often.
var envAliases = []struct{ word, env string }{
	{"prod", "prod"}, {"production", "prod"}, {"prd", "prod"},
	{"staging", "staging"}, {"stage", "staging"}, {"stg", "staging"},
	{"preprod", "preprod"}, {"dev", "dev"}, {"development", "dev"},
	{"qa", "qa"}, {"test", "test"}, {"testing", "test"}, {"uat", "uat"}, {"sandbox", "sandbox"},
}
