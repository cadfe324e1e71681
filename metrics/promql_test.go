package metrics_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/metrics"
)

// Deployment files the tests of this package check against the Registry.
const (
	rulesFile     = "../deploy/prometheus/nightowl-rules.yaml"
	rulesTestFile = "../deploy/prometheus/nightowl-rules.test.yaml"
	dashboardFile = "../deploy/grafana/nightowl.json"
	kubernetesDir = "../deploy/kubernetes"
	docsFile      = "../docs/metrics.md"
)

// scrapeGenerated are the series Prometheus makes itself for each target.
var scrapeGenerated = []string{"up"}

// knownNames is every series name the Registry exposes: its instruments,
// with _bucket, _sum and _count for histograms.
func knownNames() map[string]bool {
	known := map[string]bool{}
	for _, in := range metrics.New("dev").Instruments() {
		known[in.Name] = true
		if in.Type == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[in.Name+s] = true
			}
		}
	}
	for _, n := range scrapeGenerated {
		known[n] = true
	}
	return known
}

var (
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promqlMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	promqlKeywords  = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"}
	grafanaVariable = regexp.MustCompile(`\$(?:\{[^}]*\}|[A-Za-z_]+)`)
)

// metricsIn lists the metric names a PromQL expression selects: what is
// left once strings, label matchers, ranges, groupings, function calls,
// keywords and Grafana variables are taken out. (No PromQL parser is a
// dependency of nightowl; this one is enough for hand-written rules.)
func metricsIn(expr string) []string {
	expr = grafanaVariable.ReplaceAllString(expr, "1")
	for _, re := range []*regexp.Regexp{promqlStrings, promqlMatchers, promqlRanges, promqlGrouping} {
		expr = re.ReplaceAllString(expr, " ")
	}
	var names []string
	for _, m := range promqlIdent.FindAllStringSubmatch(expr, -1) {
		name := strings.TrimSpace(m[0])
		if m[1] != "" || slices.Contains(promqlKeywords, strings.ToLower(name)) {
			continue // a function call or a keyword
		}
		names = append(names, name)
	}
	return names
}

func TestMetricsInFindsTheSelectedNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up{job="nightowl"} == 0`, []string{"up"}},
		{`absent(up{job="nightowl"} == 1)`, []string{"up"}},
		{`sum by (job, outcome) (rate(nightowl_slack_api_calls_total{job=~"$job", outcome!="ok"}[$__rate_interval]))`,
			[]string{"nightowl_slack_api_calls_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(nightowl_first_alert_to_card_seconds_bucket[5m])))`,
			[]string{"nightowl_first_alert_to_card_seconds_bucket"}},
		{`a / on (job) group_left b > bool 0.1`, []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got := metricsIn(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricsIn(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// mustRead returns a file's contents.
func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// anchors are the GitHub anchors of a Markdown file's headings.
func anchors(markdown string) map[string]bool {
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(markdown, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		out[strings.ReplaceAll(drop.ReplaceAllString(title, ""), " ", "-")] = true
	}
	return out
}
