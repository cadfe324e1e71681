package diagnosis

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metric findings: a cause saturates first and its dependents' errors
// follow. For each subject, its saturation (by the kind template) and its
// dependents' error ratios are compared with the baseline before the
// incident in robust z-scores, and the saturation's lead over the errors is
// measured.
const (
	evidenceBefore  = 45 * time.Minute // baseline and lead-up before the start
	evidenceAfter   = 15 * time.Minute
	evidenceStep    = 15 * time.Second
	evidenceSplit   = 5 * time.Minute // the baseline ends this long before the start
	evidenceMaxLag  = 5 * time.Minute // lags tried between saturation and errors
	evidenceMaxDeps = 4               // dependents compared per subject
)

const (
	anomalyZ      = 3    // robust z from which a move is an anomaly…
	anomalyRel    = 0.05 // …if it also changes the level by 5%
	flatRel       = 0.02 // a move below anomalyZ, or smaller than this, is none
	anomalyFrom   = 2    // the anomaly grows from this robust z…
	anomalyFull   = 8    // …to 1 at this one
	errorsMinRise = 0.01 // an error ratio must rise by a point to count
	againstFlat   = -0.2 // the score of a flat subject whose dependents fail
	correlatesAtR = 0.7  // correlations shown as evidence
	saturationTag = "saturation"
	fallingWeight = 0.5 // a falling level counts half: it may be a consequence
)

// familyNames say what a default template's family measures; ratio
// families are shown in percent.
var familyNames = map[string]struct {
	name  string
	ratio bool
}{
	"connections":    {"database connections", true},
	"clients":        {"client connections", true},
	"memory":         {"memory use", true},
	"pool":           {"connection pool", true},
	"cpu_throttling": {"CPU throttling", true},
	"cpu":            {"CPU use", true},
	"volume":         {"volume use", true},
	"filesystem":     {"disk use", true},
	"conntrack":      {"conntrack table", true},
	"lag":            {"consumer lag", false},
	"ready":          {"ready messages", false},
	"cpu_usage":      {"CPU use in cores", false},
}

// metricFindings queries, for each subject (the first evidenceMaxSubjects,
// best first), its saturation and the error ratio of its dependents (up to
// evidenceMaxDeps each) from 45 minutes before start to 15 minutes after,
// all within MetricsDeadline. It returns a Finding for every subject whose
// saturation answered, and a status line for the diagnosis.
//
// A Finding's Score is positive when the subject's saturation departs from
// its baseline (robust z ≥ 3 and a 5% change) and leads its dependents'
// errors: the anomaly (0 at z=2, full at z=8) counts half, its correlation
// with the errors it leads the other half; an anomaly that only follows
// the errors counts a quarter, one with no failing dependent to compare
// with a half, and a falling level half of all that. A subject whose
// saturation stayed flat while its dependents' errors rose scores −0.2.
// Anything else is 0: no opinion.
func (e *Engine) metricFindings(ctx context.Context, subjects []Subject, start time.Time) (map[string]Finding, string) {
	if e.cfg.Metrics == nil || len(subjects) == 0 {
		return nil, ""
	}
	if start.IsZero() {
		return nil, "metrics unavailable: the incident has no start time"
	}
	r := e.evidenceRange(start.Add(-evidenceBefore), start.Add(evidenceAfter))
	picked := subjects[:min(evidenceMaxSubjects, len(subjects))]
	saturation := make(map[string]*promQuery, len(picked))
	errorsOf := map[string]*promQuery{}
	var qs []*promQuery
	for _, s := range picked {
		if t, ok := e.cfg.Queries.saturationTemplate(s); ok {
			q := &promQuery{subject: s.Node, role: "saturation", r: r}
			if q.text, q.err = render(t, varsOf(s)); q.err != nil {
				q.err = fmt.Errorf("saturation template for %s: %w", s.Node, q.err)
			}
			saturation[s.Node] = q
			qs = append(qs, q)
		}
		for _, d := range s.Dependents[:min(evidenceMaxDeps, len(s.Dependents))] {
			if errorsOf[d.Node] != nil || e.cfg.Queries.Errors == "" {
				continue
			}
			q := &promQuery{subject: d.Node, role: "errors", r: r}
			if q.text, q.err = render(e.cfg.Queries.Errors, queryVars{Service: d.Node, Namespace: d.Namespace}); q.err != nil {
				q.err = fmt.Errorf("errors template for %s: %w", d.Node, q.err)
			}
			errorsOf[d.Node] = q
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 {
		return nil, ""
	}
	e.gather(ctx, qs)

	split := start.Add(-evidenceSplit)
	findings := map[string]Finding{}
	for _, s := range picked {
		q := saturation[s.Node]
		if q == nil || q.err != nil {
			continue
		}
		var deps []dependentErrors
		for _, d := range s.Dependents[:min(evidenceMaxDeps, len(s.Dependents))] {
			if eq := errorsOf[d.Node]; eq != nil && eq.err == nil {
				if de, ok := errorsOfDependent(d.Node, eq.series, split); ok {
					deps = append(deps, de)
				}
			}
		}
		if f, ok := judgeSaturation(q.series, deps, split, r.Step); ok {
			findings[s.Node] = f
		}
	}
	return findings, e.gatherStatus("metrics", qs, len(picked), len(subjects))
}

// evidenceRange is [from, to] at evidenceStep, ending now if now falls inside.
func (e *Engine) evidenceRange(from, to time.Time) Range {
	r := Range{Start: from, End: to, Step: evidenceStep}
	if now := e.cfg.Now(); r.End.After(now) && now.After(r.Start) {
		r.End = now
	}
	return r
}

// dependentErrors is a dependent's error ratio and how it moved.
type dependentErrors struct {
	node   string
	points []Point
	shift  shift
}

// rose says whether the errors clearly rose: the incident is visible in them.
func (d dependentErrors) rose() bool {
	return d.shift.zUp >= anomalyZ && d.shift.peak-d.shift.base >= errorsMinRise
}

// errorsOfDependent keeps the series whose errors rose the most.
func errorsOfDependent(node string, series []Series, split time.Time) (dependentErrors, bool) {
	var best dependentErrors
	found := false
	for _, s := range series {
		if sh, ok := levelShift(s.Points, split); ok && (!found || sh.zUp > best.shift.zUp) {
			best, found = dependentErrors{node: node, points: s.Points, shift: sh}, true
		}
	}
	return best, found
}

// satFamily is one saturation series of a subject and how it moved.
type satFamily struct {
	tag    string
	points []Point
	shift  shift
}

func (f satFamily) name() string {
	if n, ok := familyNames[f.tag]; ok {
		return n.name
	}
	if f.tag != "" {
		return f.tag
	}
	return "saturation"
}

func (f satFamily) format(v float64) string {
	if familyNames[f.tag].ratio {
		return strconv.FormatFloat(100*v, 'f', 0, 64) + "%"
	}
	return formatLevel(v)
}

// up and down are the robust z of an anomalous rise or fall, 0 if none.
func (f satFamily) up() float64 {
	if f.shift.zUp >= anomalyZ && f.shift.relUp() >= anomalyRel {
		return f.shift.zUp
	}
	return 0
}

func (f satFamily) down() float64 {
	if f.shift.zDown >= anomalyZ && f.shift.relDown() >= anomalyRel {
		return f.shift.zDown
	}
	return 0
}

// flat: neither a rise nor a fall reached anomalyZ, or they were tiny.
func (f satFamily) flat() bool {
	return (f.shift.zUp < anomalyZ || f.shift.relUp() < flatRel) && (f.shift.zDown < anomalyZ || f.shift.relDown() < flatRel)
}

// judgeSaturation scores one subject from its saturation series and its
// dependents' errors; ok is false when no series could be measured.
func judgeSaturation(series []Series, deps []dependentErrors, split time.Time, step time.Duration) (Finding, bool) {
	var fams []satFamily
	for _, s := range series {
		if sh, ok := levelShift(s.Points, split); ok {
			fams = append(fams, satFamily{tag: s.Labels[saturationTag], points: s.Points, shift: sh})
		}
	}
	if len(fams) == 0 {
		return Finding{}, false
	}
	var rose []dependentErrors
	for _, d := range deps {
		if d.rose() {
			rose = append(rose, d)
		}
	}
	best, z, falling := mostAnomalous(fams)
	if z == 0 {
		return flatFinding(fams, rose), true
	}
	anomaly := math.Min(math.Max((z-anomalyFrom)/(anomalyFull-anomalyFrom), 0), 1)
	verb, to, at, points := "rose", best.shift.peak, best.shift.upAt, best.points
	if falling {
		verb, to, at, points = "fell", best.shift.trough, best.shift.downAt, negated(best.points)
	}
	f := Finding{Evidence: []string{fmt.Sprintf("its %s %s from %s to %s (robust z %s against the preceding %s)",
		best.name(), verb, best.format(best.shift.base), best.format(to), formatZ(z), Compact(evidenceBefore-evidenceSplit))}}
	leading, following := leads(points, at, rose, step)
	switch {
	case len(rose) == 0:
		f.Score = 0.5 * anomaly
	case len(leading) > 0:
		f.Score = anomaly * (0.5 + 0.5*math.Max(leading[0].r, 0))
		for _, l := range leading[:min(2, len(leading))] {
			if l.r < correlatesAtR {
				break
			}
			when := ", at the same time"
			if l.by >= time.Second {
				when = ", leading by " + Compact(l.by)
			}
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s errors correlate with its saturation (%s), r=%.2f%s", l.dep, best.name(), l.r, when))
		}
	default:
		f.Score = 0.25 * anomaly
		f.Evidence = append(f.Evidence, fmt.Sprintf("its %s %s only %s after %s errors rose: more likely a consequence",
			best.name(), verb, Compact(-following[0].by), following[0].dep))
	}
	if falling {
		f.Score *= fallingWeight
	}
	return f, true
}

// mostAnomalous picks the family that moved most, a rise before an equal
// fall; z is 0 when none is anomalous.
func mostAnomalous(fams []satFamily) (best satFamily, z float64, falling bool) {
	for _, f := range fams {
		if up := f.up(); up > z {
			best, z, falling = f, up, false
		}
		if down := f.down(); down > z {
			best, z, falling = f, down, true
		}
	}
	return best, z, falling
}

// leadOver is how a saturation relates to one dependent's errors.
type leadOver struct {
	dep string
	r   float64       // the best correlation at a lag of 0–5 minutes
	by  time.Duration // how long before the errors rose the saturation moved
}

// leads splits the dependents whose errors rose into those the saturation
// (points, departing at at) led, best correlated first, and those it
// followed by more than a step.
func leads(points []Point, at time.Time, rose []dependentErrors, step time.Duration) (leading, following []leadOver) {
	for _, d := range rose {
		r, _ := leadCorrelation(points, d.points, step, evidenceMaxLag)
		if math.IsNaN(r) {
			r = 0
		}
		l := leadOver{d.node, r, d.shift.upAt.Sub(at)}
		if l.by >= -step {
			leading = append(leading, l)
		} else {
			following = append(following, l)
		}
	}
	slices.SortStableFunc(leading, func(a, b leadOver) int { return cmpDesc(a.r, b.r) })
	return leading, following
}

// flatFinding: no family moved. If every family stayed flat while
// dependents' errors rose, that speaks against the subject.
func flatFinding(fams []satFamily, rose []dependentErrors) Finding {
	if len(rose) == 0 {
		return Finding{}
	}
	var names []string
	for _, f := range fams {
		if !f.flat() {
			return Finding{}
		}
		if n := f.name(); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	deps := make([]string, 0, 2)
	for _, d := range rose[:min(2, len(rose))] {
		deps = append(deps, d.node)
	}
	return Finding{Score: againstFlat, Evidence: []string{fmt.Sprintf("its %s stayed flat while %s errors rose", strings.Join(names, " and "), strings.Join(deps, " and "))}}
}

func negated(points []Point) []Point {
	out := make([]Point, len(points))
	for i, p := range points {
		out[i] = Point{T: p.T, V: -p.V}
	}
	return out
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func formatZ(z float64) string {
	if z >= 10 {
		return strconv.FormatFloat(z, 'f', 0, 64)
	}
	return strconv.FormatFloat(z, 'f', 1, 64)
}

// formatLevel writes a level of unknown unit briefly: 61000, 6, 2.4, 0.031.
func formatLevel(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}
