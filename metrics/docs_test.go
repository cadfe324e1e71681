package metrics_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/metrics"
)

// TestDocsDescribeEveryMetric: docs/metrics.md has a row for each
// instrument with its type and labels, and each label's values; the
// README's table has the same rows, and neither lists a metric that is
// gone.
func TestDocsDescribeEveryMetric(t *testing.T) {
	instruments := metrics.New("dev").Instruments()
	for _, file := range []string{docsFile, "../README.md"} {
		docs := string(mustRead(t, file))
		rows := map[string]string{}
		for _, line := range strings.Split(docs, "\n") {
			if cells := strings.Split(line, "|"); len(cells) > 4 {
				if name := strings.Trim(strings.TrimSpace(cells[1]), "`"); strings.HasPrefix(name, "nightowl_") {
					rows[name] = line
				}
			}
		}
		for _, in := range instruments {
			row, ok := rows[in.Name]
			if !ok {
				t.Errorf("%s has no row for %s", file, in.Name)
				continue
			}
			delete(rows, in.Name)
			if !strings.Contains(row, "| "+in.Type+" |") {
				t.Errorf("%s does not call %s a %s", file, in.Name, in.Type)
			}
			for _, l := range in.Labels {
				if !strings.Contains(row, "`"+l+"`") {
					t.Errorf("%s does not list label %s of %s", file, l, in.Name)
				}
				if file == docsFile && !strings.Contains(docs, fmt.Sprintf("| `%s`", l)) {
					t.Errorf("%s does not list the values of label %s", file, l)
				}
			}
		}
		for name := range rows {
			t.Errorf("%s has a row for %s, which nightowl does not serve", file, name)
		}
	}
}
