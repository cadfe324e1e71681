package diagnosis

import (
	"context"
	"time"
)

// Range is a time window sampled every Step.
type Range struct {
	Start, End time.Time
	Step       time.Duration
}

// Point is one sample.
type Point struct {
	T time.Time
	V float64
}

// Series is one labelled time series of a range query.
type Series struct {
	Labels map[string]string
	Points []Point
}

// Metrics answers range queries; the Prometheus adapter implements it.
// Errors say in one sentence why there is no answer ("connection refused",
// "parse error: …"), because they are shown as evidence.
type Metrics interface {
	QueryRange(ctx context.Context, query string, r Range) ([]Series, error)
}

// MetricsFunc adapts a function to Metrics.
type MetricsFunc func(ctx context.Context, query string, r Range) ([]Series, error)

// QueryRange calls f.
func (f MetricsFunc) QueryRange(ctx context.Context, query string, r Range) ([]Series, error) {
	return f(ctx, query, r)
}
