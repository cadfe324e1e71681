package diagnosis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Change findings: most incidents follow a change. kube-state-metrics shows
// when a workload rolled out (a new generation), was scaled (a new replica
// count) or had its containers restarted; a change shortly before the first
// alert speaks for its workload, a change after it does not.
const (
	changesBefore = 30 * time.Minute // how far back changes are looked for
	changesAfter  = 5 * time.Minute  // queried, so a change at the start is seen, but never evidence
	changesFresh  = 10 * time.Minute // changes closer than this to the first alert count in full…
	changesFaded  = 0.5              // …older ones fade to this at changesBefore
	changeTag     = "change"
)

// What a change before the first alert is worth, before it fades with age.
const (
	rolloutScore      = 0.9
	restartStormScore = 0.5 // restartStorm or more restarts
	restartScore      = 0.3
	restartStorm      = 3
	scaleToZeroScore  = 0.5
	scaleDownScore    = 0.3
	scaleUpScore      = 0.15
)

// Kinds of ChangeEvent.
const (
	changeRollout = "rollout"
	changeRestart = "restart"
	changeScale   = "scale"
)

// changeFindings looks in kube-state-metrics, from 30 minutes before start
// to 5 minutes after, for rollouts, scaling and container restarts of each
// subject (the first evidenceMaxSubjects, best first), within
// MetricsDeadline. It returns a Finding for each subject changed before
// start, the changes themselves (before start, oldest first), and a status
// line.
//
// A Finding's Score is in [0,1]: the strongest of its changes, a rollout
// 0.9, three or more restarts 0.5 (fewer 0.3), a scale to zero 0.5, down
// 0.3, up 0.15, each in full within 10 minutes of start and fading to half
// at 30 minutes. A change after start is no evidence and is left out.
func (e *Engine) changeFindings(ctx context.Context, subjects []Subject, start time.Time) (map[string]Finding, []ChangeEvent, string) {
	if e.cfg.Metrics == nil || len(subjects) == 0 {
		return nil, nil, ""
	}
	if start.IsZero() {
		return nil, nil, "changes unavailable: the incident has no start time"
	}
	tmpl := e.cfg.Queries.Changes
	if tmpl == "" {
		tmpl = DefaultQueries().Changes
	}
	r := e.evidenceRange(start.Add(-changesBefore), start.Add(changesAfter))
	picked := subjects[:min(evidenceMaxSubjects, len(subjects))]
	qs := make([]*promQuery, len(picked))
	for i, s := range picked {
		qs[i] = &promQuery{subject: s.Node, role: "changes", r: r}
		if qs[i].text, qs[i].err = render(tmpl, varsOf(s)); qs[i].err != nil {
			qs[i].err = fmt.Errorf("changes template for %s: %w", s.Node, qs[i].err)
		}
	}
	e.gather(ctx, qs)

	findings := map[string]Finding{}
	var events []ChangeEvent
	seen := 0
	for i, s := range picked {
		if qs[i].err != nil {
			continue
		}
		if len(qs[i].series) > 0 {
			seen++
		}
		changes := changesOf(s.Node, qs[i].series, start, r.Step)
		if len(changes) == 0 {
			continue
		}
		findings[s.Node] = findingOf(changes)
		for _, c := range changes {
			events = append(events, c.ChangeEvent)
		}
	}
	slices.SortStableFunc(events, func(a, b ChangeEvent) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Service, b.Service))
	})
	status := e.gatherStatus("changes", qs, len(picked), len(subjects))
	if answered := slices.ContainsFunc(qs, func(q *promQuery) bool { return q.err == nil }); answered && seen == 0 {
		status += ", no candidate found in kube-state-metrics"
	}
	return findings, events, status
}

// workloadChange is a ChangeEvent with what it is worth and how the card
// says it of the candidate.
type workloadChange struct {
	ChangeEvent
	score    float64
	evidence string
}

// ksmMove is one change of a kube-state-metrics value between two samples.
type ksmMove struct {
	at       time.Time
	from, to float64
}

// moves reads one subject's changes series: generations and replica counts
// by namespace, and every increase of a restart counter (a decrease is a
// counter reset, not a restart).
func moves(series []Series) (generations, replicas map[string][]ksmMove, restarts []ksmMove) {
	generations, replicas = map[string][]ksmMove{}, map[string][]ksmMove{}
	for _, s := range series {
		ns := s.Labels[LabelNamespace]
		for i := 1; i < len(s.Points); i++ {
			prev, p := s.Points[i-1], s.Points[i]
			if p.V == prev.V {
				continue
			}
			m := ksmMove{p.T, prev.V, p.V}
			switch s.Labels[changeTag] {
			case "generation":
				generations[ns] = append(generations[ns], m)
			case "replicas":
				replicas[ns] = append(replicas[ns], m)
			case "restarts":
				if p.V > prev.V {
					restarts = append(restarts, m)
				}
			}
		}
	}
	return generations, replicas, restarts
}

// changesOf turns a subject's moves into changes up to start, oldest first.
// A new generation with a new replica count within a step is a scale (HPAs
// and kubectl scale bump the generation too), without one a rollout.
func changesOf(node string, series []Series, start time.Time, step time.Duration) []workloadChange {
	generations, replicas, restarts := moves(series)
	var out []workloadChange
	add := func(kind string, at time.Time, score float64, text string) {
		if at.After(start) {
			return
		}
		text += " " + beforeFirstAlert(start.Sub(at))
		out = append(out, workloadChange{
			ChangeEvent: ChangeEvent{Service: node, Kind: kind, At: at, Text: node + " " + text},
			score:       score * fade(start.Sub(at)),
			evidence:    "it " + text,
		})
	}
	for ns, gens := range generations {
		for _, g := range gens {
			if !slices.ContainsFunc(replicas[ns], func(r ksmMove) bool { return durationAbs(r.at.Sub(g.at)) <= step }) {
				add(changeRollout, g.at, rolloutScore, "rolled out")
			}
		}
	}
	for _, rs := range replicas {
		for _, r := range rs {
			score, unit := scaleUpScore, "replicas"
			switch {
			case r.to == 0:
				score = scaleToZeroScore
			case r.to < r.from:
				score = scaleDownScore
			}
			if r.to == 1 {
				unit = "replica"
			}
			add(changeScale, r.at, score, fmt.Sprintf("scaled from %s to %s %s", formatLevel(r.from), formatLevel(r.to), unit))
		}
	}
	if c, ok := restartsOf(node, restarts, start); ok {
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b workloadChange) int { return a.At.Compare(b.At) })
	return out
}

// restartsOf sums the restarts up to start into one change: when they
// began, how many, and until when.
func restartsOf(node string, restarts []ksmMove, start time.Time) (workloadChange, bool) {
	restarts = slices.DeleteFunc(restarts, func(m ksmMove) bool { return m.at.After(start) })
	if len(restarts) == 0 {
		return workloadChange{}, false
	}
	slices.SortFunc(restarts, func(a, b ksmMove) int { return a.at.Compare(b.at) })
	n := 0.0
	for _, r := range restarts {
		n += r.to - r.from
	}
	first, last := restarts[0].at, restarts[len(restarts)-1].at
	score := restartScore
	if n >= restartStorm {
		score = restartStormScore
	}
	text := restartText(n, start.Sub(first), start.Sub(last))
	return workloadChange{
		ChangeEvent: ChangeEvent{Service: node, Kind: changeRestart, At: first, Text: node + " " + text},
		score:       score * fade(start.Sub(last)),
		evidence:    "it " + text,
	}, true
}

// findingOf: a subject's strongest change is its score; the card shows the
// three strongest.
func findingOf(changes []workloadChange) Finding {
	byScore := slices.Clone(changes)
	slices.SortStableFunc(byScore, func(a, b workloadChange) int { return cmp.Compare(b.score, a.score) })
	var f Finding
	for _, c := range byScore[:min(3, len(byScore))] {
		f.Score = math.Max(f.Score, c.score)
		f.Evidence = append(f.Evidence, c.evidence)
	}
	return f
}

// fade is 1 for a change within changesFresh of the first alert, falling
// linearly to changesFaded at changesBefore.
func fade(ago time.Duration) float64 {
	if ago <= changesFresh {
		return 1
	}
	f := float64(ago-changesFresh) / float64(changesBefore-changesFresh)
	return math.Max(1-(1-changesFaded)*f, changesFaded)
}

// restartText says how often and when containers restarted, from first to
// last before the first alert.
func restartText(n float64, first, last time.Duration) string {
	switch {
	case n <= 1:
		return "restarted a container " + beforeFirstAlert(last)
	case first-last < time.Minute:
		return fmt.Sprintf("restarted containers %s times %s", formatLevel(n), beforeFirstAlert(last))
	case last < time.Second:
		return fmt.Sprintf("restarted containers %s times from %s before the first alert until it fired", formatLevel(n), Compact(first))
	}
	return fmt.Sprintf("restarted containers %s times from %s to %s before the first alert", formatLevel(n), Compact(first), Compact(last))
}

func beforeFirstAlert(ago time.Duration) string {
	if ago < time.Second {
		return "as the first alert fired"
	}
	return Compact(ago) + " before the first alert"
}

func durationAbs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
