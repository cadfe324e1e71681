package diagnosis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Evidence gatherers (metricFindings, changeFindings) send their range
// queries through gather: in a fixed order, best subjects first, at most
// evidenceMaxInFlight at a time, and never past the engine's
// MetricsDeadline, so that a slow Prometheus never delays a card and a
// 500-node incident does not send a thousand queries.
const (
	evidenceMaxSubjects = 12 // subjects queried per gatherer, best first
	evidenceMaxInFlight = 8  // queries in flight per gatherer
)

// errNoAnswer marks a query still unanswered at the deadline.
var errNoAnswer = errors.New("no answer before the deadline")

// query is one range query of a gatherer and, once gather returns, its
// answer or why there is none.
type promQuery struct {
	subject string // the node the query is about
	role    string // what it measures: "saturation", "errors", "changes"
	text    string
	r       Range
	series  []Series
	err     error
}

// gather runs the queries within the deadline and fills in their answers;
// a query that already holds an error (its template failed) is not sent.
// It returns when every query has answered or at the deadline, whichever
// comes first: a Metrics that ignores its context cannot hold it up, and
// the queries it has not answered by then fail with errNoAnswer.
func (e *Engine) gather(ctx context.Context, qs []*promQuery) {
	if len(qs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.MetricsDeadline)
	defer cancel()
	type job struct {
		i    int
		text string
		r    Range
	}
	type answer struct {
		i      int
		series []Series
		err    error
	}
	var pending []job // read by the feeder only: qs is the collector's
	for i, q := range qs {
		if q.err == nil { // a query that could not be written is not sent
			pending = append(pending, job{i, q.text, q.r})
		}
	}
	jobs := make(chan job)
	answers := make(chan answer, len(pending)) // stragglers never block
	for range min(evidenceMaxInFlight, len(pending)) {
		go func() {
			for j := range jobs {
				s, err := e.cfg.Metrics.QueryRange(ctx, j.text, j.r)
				answers <- answer{j.i, s, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, j := range pending {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	answered := make([]bool, len(qs))
	for range pending {
		select {
		case a := <-answers:
			qs[a.i].series, qs[a.i].err, answered[a.i] = a.series, a.err, true
		case <-ctx.Done():
			for i, q := range qs {
				if !answered[i] && q.err == nil {
					q.err = errNoAnswer
				}
			}
			return
		}
	}
}

// gatherStatus says in one line how the queries went, for the diagnosis:
// "metrics: 14 queries answered, 2 failed (…)", or "metrics unavailable: …"
// when none answered. what names the evidence ("metrics", "changes").
func (e *Engine) gatherStatus(what string, qs []*promQuery, subjects, of int) string {
	failed := 0
	var first *promQuery // the first failure other than the deadline
	for _, q := range qs {
		if q.err == nil {
			continue
		}
		failed++
		late := errors.Is(q.err, errNoAnswer) || errors.Is(q.err, context.DeadlineExceeded)
		if first == nil && !late {
			first = q
		}
	}
	late := fmt.Sprintf("Prometheus did not answer within %s", Precise(e.cfg.MetricsDeadline))
	if failed == len(qs) { // every query failed alike: the reason matters, not which query said it
		if first == nil {
			return what + " unavailable: " + late
		}
		return what + " unavailable: " + first.err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s answered", what, queryCount(len(qs)-failed))
	if failed > 0 {
		why := late
		if first != nil {
			why = fmt.Sprintf("%s of %s: %v", first.role, first.subject, first.err)
		}
		fmt.Fprintf(&b, ", %d failed (%s)", failed, why)
	}
	if subjects < of {
		fmt.Fprintf(&b, ", for the first %d of %d candidates", subjects, of)
	}
	return b.String()
}

// queryCount is "1 query" or "2 queries".
func queryCount(n int) string {
	if n == 1 {
		return "1 query"
	}
	return fmt.Sprintf("%d queries", n)
}

// gatherEvidence asks Prometheus about the best candidates, metric
// anomalies and recent changes at once, within the metrics deadline.
func (e *Engine) gatherEvidence(ctx context.Context, v *rcaView, cands []*rcaCand) (string, []ChangeEvent) {
	subjects := make([]Subject, 0, gatherFor)
	for _, c := range cands[:min(gatherFor, len(cands))] {
		s := Subject{Node: c.node, Kind: v.kind(c.node)}
		if c.obs != nil {
			s.Namespace = namespaceOf(c.obs.alerts)
			s.Labels = c.obs.alerts[0].Labels
		}
		for _, u := range byDistance(mapKeys(c.explains), c.dist) {
			if u != c.node {
				s.Dependents = append(s.Dependents, Dependent{Node: u, Namespace: namespaceOf(v.alerting[u].alerts)})
			}
		}
		subjects = append(subjects, s)
	}
	var (
		metrics, changes           map[string]Finding
		metricStatus, changeStatus string
		events                     []ChangeEvent
		wg                         sync.WaitGroup
	)
	if e.metricFinder != nil && v.on(sigMetrics) {
		wg.Go(func() { metrics, metricStatus = e.metricFinder(ctx, subjects, v.start) })
	}
	if e.changeFinder != nil && v.on(sigChanges) {
		wg.Go(func() { changes, events, changeStatus = e.changeFinder(ctx, subjects, v.start) })
	}
	wg.Wait()
	status := []string{metricStatus, changeStatus}
	if m, ok := strings.CutPrefix(metricStatus, "metrics unavailable: "); ok && changeStatus == "changes unavailable: "+m {
		status = status[:1] // one Prometheus, one reason
	}
	for _, c := range cands {
		if f, ok := metrics[c.node]; ok {
			c.add(sigMetrics, e.params.Metrics*f.Score, "")
			for _, s := range f.Evidence {
				c.evidence = append(c.evidence, evidenceLine{e.params.Metrics * f.Score, s})
			}
		}
		if f, ok := changes[c.node]; ok {
			c.add(sigChanges, e.params.Changes*f.Score, "")
			for _, s := range f.Evidence {
				c.evidence = append(c.evidence, evidenceLine{e.params.Changes * f.Score, s})
			}
		}
	}
	return joinStatus(status), events
}

func joinStatus(s []string) string {
	out := ""
	for _, x := range s {
		if x == "" {
			continue
		}
		if out != "" {
			out += "; "
		}
		out += x
	}
	return out
}
