package commands

import (
	"errors"
	"slices"
	"testing"
)

func TestMetricNamesReadsWhatAQuerySelects(t *testing.T) {
	cases := []struct {
		name, expr string
		want       []string
	}{
		{"a bare metric", "up", []string{"up"}},
		{"a selector and a range", `rate(http_requests_total{job="api", code=~"5.."}[5m])`, []string{"http_requests_total"}},
		{"an aggregation with by first", `sum by (job, "le") (rate(a_total[5m]))`, []string{"a_total"}},
		{"an aggregation with without after", `SUM(rate(a_total[5m])) WITHOUT (instance)`, []string{"a_total"}},
		{"a vector match with group_left", `a / on(instance) group_left(node) b * ignoring(x) c`, []string{"a", "b", "c"}},
		{"set operators and bool", `a and on() b or c unless d > bool 3`, []string{"a", "b", "c", "d"}},
		{"offset, @ and a subquery", `max_over_time(rate(x[1m])[30m:1m] offset 5m) @ start()`, []string{"x"}},
		{"recording rule names", `job:http_requests:rate5m`, []string{"job:http_requests:rate5m"}},
		{"a __name__ matcher", `{__name__="node_load1", instance="a"}`, []string{"node_load1"}},
		{"a quoted metric name", `{"my.metric", job="x"}`, []string{"my.metric"}},
		{"functions with string and number arguments", `label_replace(histogram_quantile(0.99, x_bucket), "dst", "$1", "src", "(.*)") + topk(5, y) - vector(1)`, []string{"x_bucket", "y"}},
		{"numbers only", `1 + 2 * 3e-2 - 0x1f`, nil},
		{"a metric named like a keyword where no keyword can stand", `bool + offset`, []string{"bool", "offset"}},
		{"a comment", "up # and secret_metric", []string{"up"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := metricNames(tc.expr)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("metricNames(%q) = %v, %v; want %v", tc.expr, got, err, tc.want)
			}
		})
	}
}

func TestMetricNamesRefusesWhatItCannotTell(t *testing.T) {
	for name, expr := range map[string]string{
		"a selector without a metric name":  `{job="api"}`,
		"a pattern on __name__":             `{__name__=~"secret.*"}`,
		"a negative __name__ matcher":       `{__name__!="up"}`,
		"an unknown function":               `secret_fn(up)`,
		"info, which reads target_info":     `info(up)`,
		"a function in the wrong case":      `RATE(up[5m])`,
		"an unclosed string":                `up{job="api}`,
		"a template variable in a range":    `rate(up[$__interval])`,
		"a number glued to a name":          `1 + 2secret_metric`,
		"a colon outside a range":           `:secret_metric`,
		"a character PromQL does not have":  `up; secret_metric`,
		"a non-ASCII name":                  `métrique`,
		"an expression in a label list":     `sum by (secret_metric{a="b"}) (up)`,
		"a selector matcher without string": `up{job=secret}`,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := metricNames(expr)
			if !errors.Is(err, errCannotTell) {
				t.Errorf("metricNames(%q) = %v, %v; want errCannotTell", expr, got, err)
			}
		})
	}
}
