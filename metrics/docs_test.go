package metrics_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/metrics"
)

// TestDocsDescribeEveryMetric: docs/metrics.md has a row for each
// instrument with its type and labels, and each label's values.
func TestDocsDescribeEveryMetric(t *testing.T) {
	docs := string(mustRead(t, docsFile))
	rows := map[string]string{}
	for _, line := range strings.Split(docs, "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 4 {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = line
		}
	}
	for _, in := range metrics.New("dev").Instruments() {
		row, ok := rows[in.Name]
		if !ok {
			t.Errorf("docs/metrics.md has no row for %s", in.Name)
			continue
		}
		if !strings.Contains(row, "| "+in.Type+" |") {
			t.Errorf("docs/metrics.md does not call %s a %s", in.Name, in.Type)
		}
		for _, l := range in.Labels {
			if !strings.Contains(row, "`"+l+"`") {
				t.Errorf("docs/metrics.md does not list label %s of %s", l, in.Name)
			}
			if !strings.Contains(docs, fmt.Sprintf("| `%s`", l)) {
				t.Errorf("docs/metrics.md does not list the values of label %s", l)
			}
		}
	}
}
