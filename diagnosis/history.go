package diagnosis

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Past is what nightowl remembers of an earlier incident.
type Past struct {
	Incident   string
	When       time.Time
	AlertNames []string
	Services   []string
	// RootCause is the cause that a person or a fix confirmed (see
	// Confirmed), "" when nothing did: the engine's own pick is never
	// remembered as the cause, or nightowl would learn its own guesses.
	RootCause string
	// Confirmed says what confirmed RootCause: ConfirmedByCorrection,
	// ConfirmedByRunbook or ConfirmedByVotes; "" when RootCause is "".
	Confirmed     string
	Runbook       string // the runbook that fixed it, "" when none ran
	Outcome       string // "fixed", "failed", "resolved" (on its own) …
	TimeToResolve time.Duration
	Verdict       string // "confirmed" (more 👍 than 👎 on its diagnosis), "disputed" (more 👎), "" (no votes or a tie)
}

// Verdicts people give a diagnosis by voting on it (Past.Verdict).
const (
	VerdictConfirmed = "confirmed"
	VerdictDisputed  = "disputed"
)

// What confirms a past incident's root cause (Past.Confirmed), most
// authoritative first.
const (
	ConfirmedByCorrection = "correction" // a person said what the cause was
	ConfirmedByRunbook    = "runbook"    // an approved run on that service fixed it
	ConfirmedByVotes      = "votes"      // more 👍 than 👎 on the diagnosed cause
)

// Confirmations is what can vouch for an incident's root cause.
type Confirmations struct {
	// Correction is the latest root cause a person gave, "" for none.
	Correction string
	// Fixed is the target (service parameter) of an approved runbook run
	// that succeeded and after which the incident resolved, "" for none.
	Fixed string
	// Diagnosed is the diagnosis's root cause; Verdict the votes on it.
	Diagnosed, Verdict string
}

// Cause is the root cause history may learn and what confirmed it, by
// authority: a person's correction, then the target of the runbook that
// fixed the incident, then the diagnosis when people voted it right. Both
// are "" when nothing confirmed a cause.
func (c Confirmations) Cause() (cause, confirmed string) {
	switch {
	case c.Correction != "":
		return c.Correction, ConfirmedByCorrection
	case c.Fixed != "":
		return c.Fixed, ConfirmedByRunbook
	case c.Diagnosed != "" && c.Verdict == VerdictConfirmed:
		return c.Diagnosed, ConfirmedByVotes
	}
	return "", ""
}

// ConfirmedWords says what confirmed a root cause ("a person's
// correction"), "" for an unknown or empty confirmation.
func ConfirmedWords(confirmed string) string {
	switch confirmed {
	case ConfirmedByCorrection:
		return "a person's correction"
	case ConfirmedByRunbook:
		return "the runbook that fixed it"
	case ConfirmedByVotes:
		return "people's 👍"
	}
	return ""
}

// Correction is a person saying what an incident's root cause was; the
// latest one counts.
type Correction struct {
	Incident  string
	RootCause string
	By        string // user ID
	At        time.Time
}

// History recalls past incidents, newest first; the store implements it.
type History interface {
	Past(ctx context.Context, limit int) ([]Past, error)
}

// HistoryFunc adapts a function to History.
type HistoryFunc func(ctx context.Context, limit int) ([]Past, error)

// Past calls f.
func (f HistoryFunc) Past(ctx context.Context, limit int) ([]Past, error) { return f(ctx, limit) }

const (
	historyLimit     = 500 // past incidents compared
	historyThreshold = 0.5 // similarity that counts as "the same pattern"
	historyShown     = 3
)

// similarity compares an incident with a past one: mostly which alerts fired,
// then which services they were on (0.6/0.4). Each part averages the Jaccard
// index with the overlap coefficient, so a smaller storm of the same failure
// still counts as the same pattern.
func similarity(names, services map[string]bool, p Past) float64 {
	return 0.6*setSimilarity(names, p.AlertNames) + 0.4*setSimilarity(services, p.Services)
}

func setSimilarity(a map[string]bool, b []string) float64 {
	seen := map[string]bool{}
	inter := 0
	for _, x := range b {
		if seen[x] {
			continue
		}
		seen[x] = true
		if a[x] {
			inter++
		}
	}
	if len(a) == 0 || len(seen) == 0 {
		return 0
	}
	union := len(a) + len(seen) - inter
	jaccard := float64(inter) / float64(union)
	overlap := float64(inter) / float64(min(len(a), len(seen)))
	return (jaccard + overlap) / 2
}

// recall finds past incidents like this one, most similar first.
func (e *Engine) recall(ctx context.Context, in Incident, byNode map[string][]AlertState) ([]HistoryMatch, error) {
	if e.cfg.History == nil {
		return nil, nil
	}
	past, err := e.cfg.History.Past(ctx, historyLimit)
	if err != nil {
		return nil, fmt.Errorf("recall past incidents: %w", err)
	}
	names, services := map[string]bool{}, map[string]bool{}
	for n, alerts := range byNode {
		services[n] = true
		for _, a := range alerts {
			names[a.Name()] = true
		}
	}
	var out []HistoryMatch
	for _, p := range past {
		if p.Incident == in.ID {
			continue
		}
		if s := similarity(names, services, p); s >= historyThreshold {
			m := HistoryMatch{Incident: p.Incident, Similarity: round3(s), Runbook: p.Runbook, Outcome: p.Outcome,
				Resolved: p.TimeToResolve, When: p.When, Verdict: p.Verdict}
			if p.Confirmed != "" { // an unconfirmed cause is a guess: never shown, never learnt from
				m.RootCause, m.Confirmed = p.RootCause, p.Confirmed
			}
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Similarity > out[j].Similarity })
	return out, nil
}

// historySignal scores a candidate by how strongly similar incidents had it
// as their confirmed root cause, and says so and who confirmed it. A cause
// nobody confirmed supports nothing (bestFix still counts its runbook: a
// fix is a fix, whatever the diagnosis said).
func historySignal(node string, matches []HistoryMatch) (float64, string) {
	best, n := 0.0, 0
	fixes := map[string]int{}
	by := map[string]bool{}
	for _, m := range matches {
		if m.RootCause != node || m.Confirmed == "" {
			continue
		}
		n++
		best = max(best, m.Similarity)
		by[m.Confirmed] = true
		if m.Runbook != "" && m.Outcome == "fixed" {
			fixes[m.Runbook]++
		}
	}
	if n == 0 {
		return 0, ""
	}
	s := fmt.Sprintf("%s had the same pattern before", timesWord(n))
	if rb, k := topFix(fixes); rb != "" {
		s = fmt.Sprintf("the same pattern was fixed by %s %s before", rb, timesWord(k))
	}
	var words []string
	for _, c := range []string{ConfirmedByCorrection, ConfirmedByRunbook, ConfirmedByVotes} {
		if by[c] {
			words = append(words, ConfirmedWords(c))
		}
	}
	if len(words) > 0 {
		s += " (confirmed by " + strings.Join(words, " and ") + ")"
	}
	return best, s
}

// bestFix is the runbook that fixed the most similar incidents.
func bestFix(matches []HistoryMatch) (string, int) {
	fixes := map[string]int{}
	for _, m := range matches {
		if m.Runbook != "" && m.Outcome == "fixed" {
			fixes[m.Runbook]++
		}
	}
	return topFix(fixes)
}

func topFix(fixes map[string]int) (string, int) {
	best, n := "", 0
	for rb, k := range fixes {
		if k > n || (k == n && rb < best) {
			best, n = rb, k
		}
	}
	return best, n
}

func timesWord(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

// PastOf summarises a finished incident and its diagnosis for History. Its
// root cause is what c confirms (the diagnosis's top candidate stands in
// for c.Diagnosed when that is empty), "" when nothing does.
func PastOf(in Incident, d Diagnosis, runbook, outcome string, c Confirmations) Past {
	p := Past{Incident: in.ID, When: in.StartedAt(), Services: d.AffectedServices, Runbook: runbook, Outcome: outcome, Verdict: c.Verdict}
	if top, ok := d.Top(); ok && c.Diagnosed == "" {
		c.Diagnosed = top.Service
	}
	p.RootCause, p.Confirmed = c.Cause()
	seen := map[string]bool{}
	for _, a := range in.Alerts {
		if !seen[a.Name()] {
			seen[a.Name()] = true
			p.AlertNames = append(p.AlertNames, a.Name())
		}
	}
	sort.Strings(p.AlertNames)
	if in.Status == Resolved && !in.ResolvedAt.IsZero() {
		p.TimeToResolve = in.ResolvedAt.Sub(in.StartedAt())
	}
	return p
}

func round3(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }
