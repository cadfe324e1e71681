package oncall

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// ErrUnknown says an incident is not on the record.
var ErrUnknown = errors.New("no such incident on the record")

// Options say what a report covers.
type Options struct {
	// From and To bound the period, [From, To); the previous period is
	// as long and ends at From.
	From, To time.Time
	// Team keeps the incidents that page Team ("" keeps all).
	Team string
	// Loc is the time zone of days, weeks and nights; nil is UTC.
	Loc *time.Location
	// OnCall is who a page counts for when the record names nobody.
	OnCall string
	// TeamOf names the team that owns a graph node; nil knows none.
	TeamOf func(node string) string
}

// Stat summarises durations.
type Stat struct {
	N           int
	Median, P90 time.Duration
}

// Rate is a share of a count.
type Rate struct {
	Of, Total int
}

// Ratio is Of/Total, NaN when Total is zero.
func (r Rate) Ratio() float64 {
	if r.Total == 0 {
		return math.NaN()
	}
	return float64(r.Of) / float64(r.Total)
}

// String is "25% (1/4)", or "–" with nothing to count.
func (r Rate) String() string {
	if r.Total == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%% (%d/%d)", 100*r.Ratio(), r.Of, r.Total)
}

// Named is a rate or count under a name (a rule, a team, a person).
type Named struct {
	Name string
	Rate Rate
}

// Day is one day of the period, in Loc.
type Day struct {
	Date         time.Time // midnight in Loc
	Pages, Night int
	MTTA, MTTR   Stat
}

// Week is one week of the period (from Monday, in Loc, clipped to it).
type Week struct {
	From       time.Time
	Pages      int
	MTTA, MTTR Stat
}

// RuleStat is how an alert rule paged in the period.
type RuleStat struct {
	Rule       string
	Owner      string
	Pages      int
	Unactioned int
	// NotActionable counts the pages answered "not actionable".
	NotActionable int
}

// Report is the on-call health of a period.
type Report struct {
	From, To time.Time
	Team     string
	TZ       string
	// Pages and Previous count the pages of the period and of the one
	// before it; Incidents counts every incident opened in the period.
	Pages, Previous, Incidents int
	Weeks                      float64 // the period's length in weeks
	MTTD, MTTA, MTTR           Stat
	// Notifications counts alert notifications; Dedup is per page.
	Notifications int
	Dedup         float64
	// AutoResolved is of the resolved pages; FalsePositive of the
	// answered ones; Unanswered counts the pages nobody answered.
	AutoResolved  Rate
	FalsePositive Rate
	Unanswered    int
	ByRule        []Named // false positives by rule
	ByTeam        []Named // false positives by team
	NightPages    int
	NightByPerson []Named // Rate.Of is night pages, Total all pages
	Days          []Day
	WeekStats     []Week
	// Rules are the rules that paged, noisiest first; Noisy those with
	// two unactioned pages in one week, each with a fix.
	Rules []RuleStat
	Noisy []Noisy
}

// PagesPerWeek is the period's pages scaled to a week.
func (r Report) PagesPerWeek() float64 { return perWeek(r.Pages, r.Weeks) }

// PreviousPerWeek is the previous period's pages scaled to a week.
func (r Report) PreviousPerWeek() float64 { return perWeek(r.Previous, r.Weeks) }

func perWeek(n int, weeks float64) float64 {
	if weeks <= 0 {
		return 0
	}
	return float64(n) / weeks
}

// Build reads the period and the one before it from the record and
// computes the report.
func Build(ctx context.Context, rec Record, o Options) (Report, error) {
	if !o.To.After(o.From) {
		return Report{}, fmt.Errorf("report: empty period %s → %s", o.From, o.To)
	}
	prevFrom := o.From.Add(-o.To.Sub(o.From))
	all, err := rec.Lifecycles(ctx, prevFrom, o.To)
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	var now, prev []Lifecycle
	for _, l := range all {
		if l.Opened.Before(o.From) {
			prev = append(prev, l)
		} else {
			now = append(now, l)
		}
	}
	return Compute(now, prev, o), nil
}

// Compute is the report of the incidents of a period (cur) beside those of
// the period before it (prev).
func Compute(cur, prev []Lifecycle, o Options) Report {
	loc := o.Loc
	if loc == nil {
		loc = time.UTC
	}
	cur, prev = o.keep(cur), o.keep(prev)
	r := Report{From: o.From, To: o.To, Team: o.Team, TZ: loc.String(), Incidents: len(cur),
		Weeks: o.To.Sub(o.From).Hours() / (24 * 7)}
	for _, l := range prev {
		if l.Paged {
			r.Previous++
		}
	}
	var mttd, mtta, mttr []time.Duration
	night := map[string]*Rate{}
	byRule, byTeam := map[string]*Rate{}, map[string]*Rate{}
	for _, l := range cur {
		r.Notifications += l.Notifications
		if !l.Paged {
			continue
		}
		r.Pages++
		mttd = appendSpan(mttd, l.FirstAlert, l.Card)
		mtta = appendSpan(mtta, l.Card, l.Ack.At)
		mttr = appendSpan(mttr, l.FirstAlert, l.Resolved)
		if !l.Resolved.IsZero() {
			r.AutoResolved.Total++
			if l.AutoResolved() {
				r.AutoResolved.Of++
			}
		}
		who := cmp.Or(l.Ack.By, l.PagedWho, o.OnCall, "nobody")
		p := rateOf(night, who)
		p.Total++
		if Night(l.Card, loc) {
			r.NightPages++
			p.Of++
		}
		if l.Verdict == nil {
			r.Unanswered++
			continue
		}
		r.FalsePositive.Total++
		fp := !l.Verdict.Actionable
		if fp {
			r.FalsePositive.Of++
		}
		for _, name := range l.ruleNames() {
			count(rateOf(byRule, name), fp)
		}
		for _, t := range l.Teams(o.TeamOf) {
			count(rateOf(byTeam, t), fp)
		}
	}
	r.MTTD, r.MTTA, r.MTTR = stat(mttd), stat(mtta), stat(mttr)
	if r.Pages > 0 {
		r.Dedup = float64(r.Notifications) / float64(r.Pages)
	}
	r.ByRule, r.ByTeam, r.NightByPerson = sorted(byRule), sorted(byTeam), sorted(night)
	sort.SliceStable(r.NightByPerson, func(i, j int) bool { return r.NightByPerson[i].Rate.Of > r.NightByPerson[j].Rate.Of })
	r.Days = days(cur, o.From, o.To, loc)
	r.WeekStats = weeks(cur, o.From, o.To, loc)
	r.Rules = ruleStats(cur, o.TeamOf)
	r.Noisy = noisy(cur, o.From, o.To, loc, o.TeamOf)
	return r
}

// keep drops the incidents of other teams.
func (o Options) keep(ls []Lifecycle) []Lifecycle {
	if o.Team == "" {
		return ls
	}
	var out []Lifecycle
	for _, l := range ls {
		if slices.Contains(l.Teams(o.TeamOf), o.Team) {
			out = append(out, l)
		}
	}
	return out
}

// ruleNames are the distinct names of an incident's rules.
func (l Lifecycle) ruleNames() []string {
	var out []string
	for _, r := range l.Rules {
		if !slices.Contains(out, r.Name) {
			out = append(out, r.Name)
		}
	}
	return out
}

func rateOf(m map[string]*Rate, k string) *Rate {
	if m[k] == nil {
		m[k] = &Rate{}
	}
	return m[k]
}

func count(r *Rate, hit bool) {
	r.Total++
	if hit {
		r.Of++
	}
}

// sorted lists rates by share, then count, then name.
func sorted(m map[string]*Rate) []Named {
	out := make([]Named, 0, len(m))
	for k, v := range m {
		out = append(out, Named{Name: k, Rate: *v})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Rate, out[j].Rate
		if a.Of*b.Total != b.Of*a.Total {
			return a.Of*b.Total > b.Of*a.Total
		}
		if a.Of != b.Of {
			return a.Of > b.Of
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// appendSpan adds to-from when both are known and in order.
func appendSpan(ds []time.Duration, from, to time.Time) []time.Duration {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return ds
	}
	return append(ds, to.Sub(from))
}

// stat is the median and the 90th percentile (nearest rank).
func stat(ds []time.Duration) Stat {
	if len(ds) == 0 {
		return Stat{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return Stat{N: len(s), Median: median(s), P90: s[int(math.Ceil(0.9*float64(len(s))))-1]}
}

func median(s []time.Duration) time.Duration {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Night reports whether t falls between 22:00 and 07:00 in loc.
func Night(t time.Time, loc *time.Location) bool {
	h := t.In(loc).Hour()
	return h >= 22 || h < 7
}

// midnight is the start of t's day in loc.
func midnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// Monday is the start of t's week (Monday 00:00) in loc.
func Monday(t time.Time, loc *time.Location) time.Time {
	day := midnight(t, loc)
	back := (int(day.Weekday()) + 6) % 7
	return day.AddDate(0, 0, -back)
}

func days(ls []Lifecycle, from, to time.Time, loc *time.Location) []Day {
	var out []Day
	index := map[time.Time]int{}
	for d := midnight(from, loc); d.Before(to); d = d.AddDate(0, 0, 1) {
		index[d] = len(out)
		out = append(out, Day{Date: d})
	}
	mtta, mttr := make([][]time.Duration, len(out)), make([][]time.Duration, len(out))
	for _, l := range ls {
		if !l.Paged {
			continue
		}
		i, ok := index[midnight(l.Card, loc)]
		if !ok {
			continue
		}
		out[i].Pages++
		if Night(l.Card, loc) {
			out[i].Night++
		}
		mtta[i] = appendSpan(mtta[i], l.Card, l.Ack.At)
		mttr[i] = appendSpan(mttr[i], l.FirstAlert, l.Resolved)
	}
	for i := range out {
		out[i].MTTA, out[i].MTTR = stat(mtta[i]), stat(mttr[i])
	}
	return out
}

func weeks(ls []Lifecycle, from, to time.Time, loc *time.Location) []Week {
	var out []Week
	for w := Monday(from, loc); w.Before(to); w = w.AddDate(0, 0, 7) {
		end := w.AddDate(0, 0, 7)
		var mtta, mttr []time.Duration
		pages := 0
		for _, l := range ls {
			if !l.Paged || l.Card.Before(w) || !l.Card.Before(end) {
				continue
			}
			pages++
			mtta = appendSpan(mtta, l.Card, l.Ack.At)
			mttr = appendSpan(mttr, l.FirstAlert, l.Resolved)
		}
		start := w
		if start.Before(from) {
			start = from
		}
		out = append(out, Week{From: start, Pages: pages, MTTA: stat(mtta), MTTR: stat(mttr)})
	}
	return out
}

// ruleStats counts each rule's pages, noisiest (most unactioned) first.
func ruleStats(ls []Lifecycle, teamOf func(string) string) []RuleStat {
	m := map[string]*RuleStat{}
	for _, l := range ls {
		if !l.Paged {
			continue
		}
		for _, ru := range l.Rules {
			s := m[ru.Name]
			if s == nil {
				s = &RuleStat{Rule: ru.Name}
				m[ru.Name] = s
			}
			if s.Owner == "" {
				s.Owner = ru.Owner(teamOf)
			}
		}
		for _, name := range l.ruleNames() {
			s := m[name]
			s.Pages++
			if l.Unactioned() {
				s.Unactioned++
			}
			if l.Verdict != nil && !l.Verdict.Actionable {
				s.NotActionable++
			}
		}
	}
	out := make([]RuleStat, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Unactioned != b.Unactioned {
			return a.Unactioned > b.Unactioned
		}
		if a.Pages != b.Pages {
			return a.Pages > b.Pages
		}
		return a.Rule < b.Rule
	})
	return out
}
