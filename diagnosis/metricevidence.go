package diagnosis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Metric evidence compares, around the incident's start, the saturation of
// each top candidate with the error rate of the services that depend on it:
// a cause saturates first and its dependents' errors follow.
const (
	metricsBefore  = 45 * time.Minute // baseline window before the start
	metricsAfter   = 15 * time.Minute
	metricsStep    = 15 * time.Second
	metricsMaxLag  = 5 * time.Minute
	metricsTopK    = 3 // candidates whose metrics are queried
	metricsMaxDeps = 4 // dependents compared per candidate
	metricsSplit   = 5 * time.Minute
)

// metricFinding is what the metrics say about one candidate.
type metricFinding struct {
	score    float64 // in [0,1]
	evidence []string
}

// metricJob is one query to run.
type metricJob struct {
	candidate, subject, role, query string
	series                          []Series
	err                             error
}

// gatherMetrics queries Prometheus for the top candidates, in parallel,
// within the deadline. It returns a finding per candidate it could judge and
// a status line for the diagnosis.
func (e *Engine) gatherMetrics(ctx context.Context, cands []*candidate, affected map[string][]AlertState, start time.Time) (map[string]metricFinding, string) {
	if e.cfg.Metrics == nil {
		return nil, ""
	}
	r := Range{Start: start.Add(-metricsBefore), End: start.Add(metricsAfter), Step: metricsStep}
	if now := e.cfg.Now(); r.End.After(now) && now.After(r.Start) {
		r.End = now
	}
	var jobs []*metricJob
	for _, c := range cands[:min(metricsTopK, len(cands))] {
		q, err := e.saturationQuery(c)
		if err != nil {
			continue
		}
		jobs = append(jobs, &metricJob{candidate: c.node, subject: c.node, role: "saturation", query: q})
		for _, dep := range e.affectedDependents(c.node, affected) {
			q, err := render(e.cfg.Queries.Errors, queryVars{Service: dep, Namespace: namespaceOf(affected[dep])})
			if err == nil {
				jobs = append(jobs, &metricJob{candidate: c.node, subject: dep, role: "errors", query: q})
			}
		}
	}
	if len(jobs) == 0 {
		return nil, ""
	}
	qctx, cancel := context.WithTimeout(ctx, e.cfg.MetricsDeadline)
	defer cancel()
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { j.series, j.err = e.cfg.Metrics.QueryRange(qctx, j.query, r) })
	}
	wg.Wait()

	failures := 0
	var firstErr error
	for _, j := range jobs {
		if j.err != nil {
			failures++
			if firstErr == nil || errors.Is(j.err, context.DeadlineExceeded) {
				firstErr = j.err
			}
		}
	}
	if failures == len(jobs) {
		if errors.Is(firstErr, context.DeadlineExceeded) || qctx.Err() != nil {
			return nil, fmt.Sprintf("metrics unavailable: Prometheus did not answer within %s", e.cfg.MetricsDeadline)
		}
		return nil, "metrics unavailable: " + firstErr.Error()
	}
	findings := map[string]metricFinding{}
	for _, c := range cands[:min(metricsTopK, len(cands))] {
		if f, ok := judge(c.node, jobs, start); ok {
			findings[c.node] = f
		}
	}
	status := fmt.Sprintf("metrics: %d queries answered", len(jobs)-failures)
	if failures > 0 {
		status += fmt.Sprintf(", %d failed (%v)", failures, firstErr)
	}
	return findings, status
}

// judge scores one candidate: how anomalous its saturation is, and how well
// it leads its dependents' errors.
func judge(node string, jobs []*metricJob, start time.Time) (metricFinding, bool) {
	var sat []Point
	for _, j := range jobs {
		if j.candidate == node && j.role == "saturation" && j.err == nil && len(j.series) > 0 {
			sat = peak(j.series)
		}
	}
	if len(sat) == 0 {
		return metricFinding{}, false
	}
	var f metricFinding
	z := zscore(sat, start.Add(-metricsSplit))
	anomaly := 0.0
	if !math.IsNaN(z) {
		anomaly = math.Min(math.Max(z/6, 0), 1)
		if z >= 3 {
			f.evidence = append(f.evidence, fmt.Sprintf("its saturation rose %.1fσ above the preceding %s", z, roundDuration(metricsBefore-metricsSplit)))
		}
	}
	type corr struct {
		dep string
		r   float64
		lag time.Duration
	}
	var best []corr
	for _, j := range jobs {
		if j.candidate != node || j.role != "errors" || j.err != nil || len(j.series) == 0 {
			continue
		}
		if r, lag := leadCorrelation(sat, peak(j.series), metricsStep, metricsMaxLag); !math.IsNaN(r) {
			best = append(best, corr{j.subject, r, lag})
		}
	}
	sort.Slice(best, func(i, k int) bool { return best[i].r > best[k].r })
	correlation := 0.0
	if len(best) > 0 {
		correlation = math.Max(best[0].r, 0)
		for _, b := range best[:min(2, len(best))] {
			if b.r >= 0.7 {
				lead := ""
				if b.lag > 0 {
					lead = ", leading by " + roundDuration(b.lag)
				}
				f.evidence = append(f.evidence, fmt.Sprintf("%s errors correlate with its saturation, r=%.2f%s", b.dep, b.r, lead))
			}
		}
	}
	if len(best) == 0 {
		f.score = anomaly * 0.5
	} else {
		f.score = 0.5*anomaly + 0.5*correlation
	}
	return f, true
}

// peak picks the series with the highest maximum (a query may return one
// per instance).
func peak(series []Series) []Point {
	var out []Point
	top := math.Inf(-1)
	for _, s := range series {
		for _, p := range s.Points {
			if p.V > top {
				top, out = p.V, s.Points
			}
		}
	}
	return out
}

func (e *Engine) saturationQuery(c *candidate) (string, error) {
	vars := queryVars{Service: c.node, Namespace: namespaceOf(c.alerts)}
	if n, ok := e.cfg.Graph.Node(c.node); ok {
		vars.Kind = n.Kind
	}
	for _, name := range alertNames(c.alerts) {
		if t, ok := e.cfg.Queries.SaturationByAlert[name]; ok {
			for _, a := range c.alerts {
				if a.Name() == name {
					vars.labels = a.Labels
				}
			}
			return render(t, vars)
		}
	}
	if t, ok := e.cfg.Queries.SaturationByKind[vars.Kind]; ok {
		return render(t, vars)
	}
	return render(e.cfg.Queries.SaturationByKind["default"], vars)
}

// affectedDependents lists the failing services upstream of node, its direct
// callers first.
func (e *Engine) affectedDependents(node string, affected map[string][]AlertState) []string {
	var direct, rest []string
	callers := e.cfg.Graph.Dependents(node)
	for _, u := range e.cfg.Graph.Upstream(node) {
		switch {
		case affected[u] == nil:
		case slices.Contains(callers, u):
			direct = append(direct, u)
		default:
			rest = append(rest, u)
		}
	}
	out := append(direct, rest...)
	return out[:min(metricsMaxDeps, len(out))]
}

func namespaceOf(alerts []AlertState) string {
	for _, a := range alerts {
		if ns := a.Labels[LabelNamespace]; ns != "" {
			return ns
		}
	}
	return ""
}
