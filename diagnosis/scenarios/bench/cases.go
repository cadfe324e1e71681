package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// Case is one incident to diagnose, with what a right diagnosis names.
type Case struct {
	// Name identifies the incident ("<topology>/<file>#b", "synth/…").
	Name, Topology string
	// RootType classifies the root cause ("" for hand-written incidents).
	RootType string
	Graph    *graph.Graph
	Resolver *diagnosis.Resolver
	Incident diagnosis.Incident
	// Alerts are the incident's alerts as received (SeedBaseline reads them).
	Alerts []diagnosis.Alert
	// Now is when the incident is diagnosed: a minute after its last alert
	// started or ended.
	Now time.Time
	// Want holds the root cause and the other acceptable answers.
	Want scenarios.Expected
	// Metrics serves the incident's series (a Prometheus loaded with the
	// scenario's metrics); nil: the engine diagnoses from alerts alone.
	Metrics diagnosis.Metrics
}

// Right reports whether naming node is a right answer.
func (c Case) Right(node string) bool {
	return node != "" && (node == c.Want.RootCause || slices.Contains(c.Want.Acceptable, node))
}

// Diagnose diagnoses one case. It is how any diagnoser, nightowl's engine or
// another, is measured; it must be safe to call from several goroutines.
type Diagnose func(c Case) diagnosis.Diagnosis

// Fit builds a diagnoser from training cases (for leave-one-topology-out):
// at least a temperature, or whatever else its author fits.
type Fit func(train []Case) Diagnose

// Cases turns scenarios into cases, one per expected incident, with one
// resolver per graph. Options say how the incidents are built (IncidentOf).
func Cases(ss []scenarios.Scenario, opts ...IncidentOption) ([]Case, error) {
	resolvers := map[*graph.Graph]*diagnosis.Resolver{}
	var out []Case
	for _, s := range ss {
		r := resolvers[s.Graph]
		if r == nil {
			var err error
			if r, err = diagnosis.NewResolver(s.Graph, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", s.Name, err)
			}
			resolvers[s.Graph] = r
		}
		for _, exp := range s.Incidents {
			name := s.Name
			if exp.Label != "" {
				name += "#" + exp.Label
			}
			out = append(out, Case{
				Name: name, Topology: s.Topology, RootType: exp.RootType,
				Graph: s.Graph, Resolver: r, Incident: IncidentOf(r, exp.Alerts, opts...),
				Alerts: exp.Alerts, Now: lastEvent(exp.Alerts).Add(time.Minute), Want: exp,
			})
		}
	}
	return out, nil
}

func lastEvent(alerts []diagnosis.Alert) time.Time {
	var t time.Time
	for _, a := range alerts {
		if a.StartsAt.After(t) {
			t = a.StartsAt
		}
		if a.EndsAt.After(t) {
			t = a.EndsAt
		}
	}
	return t
}

// IncidentOption changes how IncidentOf builds an incident.
type IncidentOption func(*incidentConfig)

type incidentConfig struct{ keepResolved bool }

// KeepResolved keeps alerts that have an EndsAt resolved, instead of
// showing the storm at its height with every alert firing; an alert that
// appears again with the same fingerprint becomes one alert that flapped.
func KeepResolved() IncidentOption { return func(c *incidentConfig) { c.keepResolved = true } }

func incidentOf(r *diagnosis.Resolver, alerts []diagnosis.Alert, opts []IncidentOption) diagnosis.Incident {
	var cfg incidentConfig
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.keepResolved {
		in := diagnosis.Incident{ID: "INC-CORPUS", Status: diagnosis.Firing}
		for _, a := range alerts {
			a.Status, a.EndsAt = diagnosis.Firing, time.Time{}
			in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a, Node: r.Node(a), Received: 1})
			in.Received++
		}
		return in
	}
	// As the Grouper keeps it: one state per fingerprint, repeats counted,
	// first and last seen, resolved alerts resolved.
	in := diagnosis.Incident{ID: "INC-CORPUS", Status: diagnosis.Resolved}
	index := map[string]int{}
	for _, a := range alerts {
		a.Status = diagnosis.Firing
		seen := a.StartsAt
		if !a.EndsAt.IsZero() {
			a.Status, seen = diagnosis.Resolved, a.EndsAt
		}
		if i, ok := index[a.Fingerprint]; ok && a.Fingerprint != "" {
			st := &in.Alerts[i]
			st.Alert, st.LastSeen = a, seen
			st.Received++
			st.Flaps++
		} else {
			index[a.Fingerprint] = len(in.Alerts)
			in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a, Node: r.Node(a), FirstSeen: a.StartsAt, LastSeen: seen, Received: 1})
		}
		in.Received++
		if in.OpenedAt.IsZero() || a.StartsAt.Before(in.OpenedAt) {
			in.OpenedAt = a.StartsAt
		}
	}
	for _, a := range in.Alerts {
		if a.Status == diagnosis.Firing {
			in.Status = diagnosis.Firing
		}
	}
	if in.Status == diagnosis.Resolved {
		in.ResolvedAt = lastEvent(alerts)
	}
	return in
}

// Engine diagnoses with nightowl's engine as the bot builds it from a graph
// file, from alerts (and the case's metrics, if it has them), leaving out
// the named signals (for ablation).
func Engine(disable ...string) Diagnose {
	return func(c Case) diagnosis.Diagnosis {
		return diagnosis.NewEngine(c.config(diagnosis.EngineConfig{Disable: disable})).Diagnose(context.Background(), c.Incident)
	}
}

// config completes cfg with the case's graph, resolver, clock and metrics.
// A bench waits for every metric query (the bot gives up after 3 s): a
// figure must not depend on how busy the machine was.
func (c Case) config(cfg diagnosis.EngineConfig) diagnosis.EngineConfig {
	cfg.Graph, cfg.Resolver, cfg.Now = c.Graph, c.Resolver, func() time.Time { return c.Now }
	if c.Metrics != nil {
		cfg.Metrics, cfg.MetricsDeadline = c.Metrics, time.Minute
	}
	return cfg
}

// Remember answers each distinct query once from m and then from memory:
// a fit diagnoses the same incident thousands of times, and its series
// do not change.
func Remember(m diagnosis.Metrics) diagnosis.Metrics {
	type key struct {
		query string
		r     diagnosis.Range
	}
	type answer struct {
		series []diagnosis.Series
		err    error
	}
	var mu sync.Mutex
	seen := map[key]*answer{}
	return diagnosis.MetricsFunc(func(ctx context.Context, query string, r diagnosis.Range) ([]diagnosis.Series, error) {
		k := key{query, r}
		mu.Lock()
		a, ok := seen[k]
		mu.Unlock()
		if ok {
			return a.series, a.err
		}
		series, err := m.QueryRange(ctx, query, r)
		if err != nil && ctx.Err() != nil {
			return nil, err // a deadline of this call, not an answer to keep
		}
		mu.Lock()
		seen[k] = &answer{series, err}
		mu.Unlock()
		return series, err
	})
}

// Result is how one diagnosis of a case went.
type Result struct {
	Case, Topology, RootType string
	// Rank is the 1-based rank of the first right candidate; 0 when absent.
	Rank int
	// Hit1, Hit3 and RR are the top-1 hit, top-3 hit and reciprocal rank
	// (0 or 1, and 1/Rank); for a baseline scored by its expected value,
	// their expectations.
	Hit1, Hit3, RR float64
	Top, Want      string
	// Confidence is the diagnoser's confidence in its top candidate.
	Confidence float64
	// Scores are the candidates' log-posteriors, best first; NoneScore that
	// of "none of these"; Right the index of the first right candidate, -1
	// when none is. A diagnosis whose scores are all zero reports none:
	// the logs of its confidences stand in (FromConfidence).
	Scores         []float64
	NoneScore      float64
	Right          int
	FromConfidence bool
}

// Judge scores one diagnosis of a case.
func Judge(c Case, d diagnosis.Diagnosis) Result {
	res := judgeRanking(c, nil)
	res.Right = -1
	for i, cand := range d.Candidates {
		if res.Right < 0 && c.Right(cand.Service) {
			res.Right = i
		}
	}
	if res.Right >= 0 {
		res.setRank(res.Right + 1)
	}
	res.Scores, res.NoneScore, res.FromConfidence = scoresOf(d)
	if top, ok := d.Top(); ok {
		res.Top, res.Confidence = top.Service, top.Confidence
	}
	return res
}

// judgeRanking scores a ranked list of names.
func judgeRanking(c Case, ranked []string) Result {
	res := Result{Case: c.Name, Topology: c.Topology, RootType: c.RootType, Want: c.Want.RootCause, Right: -1}
	if len(ranked) > 0 {
		res.Top = ranked[0]
	}
	for i, n := range ranked {
		if c.Right(n) {
			res.setRank(i + 1)
			break
		}
	}
	return res
}

func (r *Result) setRank(rank int) {
	r.Rank, r.RR = rank, 1/float64(rank)
	r.Hit1 = float64(boolInt(rank == 1))
	r.Hit3 = float64(boolInt(rank <= 3))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Run diagnoses every case on workers goroutines (0: GOMAXPROCS) and judges
// each diagnosis; results are in the cases' order.
func Run(cases []Case, d Diagnose, workers int) []Result {
	out := make([]Result, len(cases))
	parallel(len(cases), workers, func(i int) { out[i] = Judge(cases[i], d(cases[i])) })
	return out
}

func parallel(n, workers int, f func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
