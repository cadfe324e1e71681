package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// The estate: clusters of ten services, each cluster one real incident.
// Service 0 is the root cause (a database); the others call it, directly or
// through each other, so the graph relates every service of a cluster and
// none across clusters.
const perCluster = 10

// clusterRoles names the ten services of a cluster and what each calls,
// by index in this list.
var clusterRoles = []struct {
	name, kind string
	calls      []int
}{
	{"db", "database", nil},
	{"orders", "service", []int{0}},
	{"billing", "service", []int{0}},
	{"stock", "service", []int{0}},
	{"accounts", "service", []int{0}},
	{"search", "service", []int{3}},
	{"cart", "service", []int{1, 3}},
	{"payments", "service", []int{2, 4}},
	{"api", "service", []int{5, 6, 7}},
	{"gateway", "ingress", []int{8}},
}

// serviceName is the j-th service of cluster k: c07-orders.
func serviceName(k, j int) string { return fmt.Sprintf("c%02d-%s", k, clusterRoles[j].name) }

// graphYAML is the SERVICE_GRAPH file for clusters clusters.
func graphYAML(clusters int) []byte {
	var b strings.Builder
	b.WriteString("# loadgen's estate: clusters of ten services, each one incident.\nservices:\n")
	for k := range clusters {
		for j, r := range clusterRoles {
			fmt.Fprintf(&b, "  %s:\n    kind: %s\n    team: team-%02d\n", serviceName(k, j), r.kind, k)
			if len(r.calls) > 0 {
				deps := make([]string, len(r.calls))
				for i, c := range r.calls {
					deps[i] = serviceName(k, c)
				}
				fmt.Fprintf(&b, "    depends_on: [%s]\n", strings.Join(deps, ", "))
			}
		}
	}
	return []byte(b.String())
}

// alertsOf are the alerts of service j of cluster k in episode ep: two
// rules, pods pods each. The root's rules report a cause, the callers'
// symptoms.
func alertsOf(k, j, ep, pods int, startsAt time.Time) []diagnosis.Alert {
	svc := serviceName(k, j)
	rules := [][2]string{{"HighErrorRate", "critical"}, {"HighLatency", "warning"}}
	summary := [2]string{"%s returns 5xx on %.0f%% of requests", "%s p99 latency is high"}
	if j == 0 {
		rules = [][2]string{{"PostgresConnectionsExhausted", "critical"}, {"PostgresSlowQueries", "warning"}}
		summary = [2]string{"%s has no free connections (%.0f%% used)", "%s queries are slow"}
	}
	var out []diagnosis.Alert
	for r, rule := range rules {
		for p := range pods {
			labels := map[string]string{
				"alertname": rule[0], "severity": rule[1], "service": svc, "namespace": "prod",
				"pod": fmt.Sprintf("%s-e%d-%d", svc, ep, p), "job": svc,
			}
			text := fmt.Sprintf(summary[1], svc)
			if r == 0 {
				text = fmt.Sprintf(summary[0], svc, 90.0+float64(p%10))
			}
			out = append(out, diagnosis.Alert{
				Status: diagnosis.Firing, Labels: labels,
				Annotations: map[string]string{"summary": text},
				StartsAt:    startsAt.Truncate(time.Millisecond),
				Fingerprint: diagnosis.Fingerprint(labels),
			})
		}
	}
	return out
}

// clusterOf reads the cluster a text is about from its first service name
// (c07-…), or -1.
func clusterOf(text string) int {
	for i := 0; i+3 < len(text); i++ {
		if text[i] == 'c' && isDigit(text[i+1]) && isDigit(text[i+2]) && text[i+3] == '-' && (i == 0 || !isWord(text[i-1])) {
			return int(text[i+1]-'0')*10 + int(text[i+2]-'0')
		}
	}
	return -1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isWord(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
