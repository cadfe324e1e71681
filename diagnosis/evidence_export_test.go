package diagnosis

import (
	"context"
	"time"
)

// MetricFindings and ChangeFindings let the tests of package diagnosis_test
// run the evidence gatherers against a real Prometheus (through
// diagnosis/prom, which package diagnosis itself cannot import).
func (e *Engine) MetricFindings(ctx context.Context, subjects []Subject, start time.Time) (map[string]Finding, string) {
	return e.metricFindings(ctx, subjects, start)
}

func (e *Engine) ChangeFindings(ctx context.Context, subjects []Subject, start time.Time) (map[string]Finding, []ChangeEvent, string) {
	return e.changeFindings(ctx, subjects, start)
}
