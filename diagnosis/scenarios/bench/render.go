package bench

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// A report is sections of sentences and tables, rendered as plain text or
// as Markdown (docs/diagnosis.md).
type section struct {
	title  string
	lines  []string
	tables []table
}

type table struct {
	caption string
	header  []string
	rows    [][]string
}

// Text renders the scorecard as plain text with aligned columns.
func (s Scorecard) Text() string {
	var b strings.Builder
	for i, sec := range s.sections() {
		if i == 0 {
			fmt.Fprintf(&b, "%s\n%s\n", sec.title, strings.Repeat("=", utf8.RuneCountInString(sec.title)))
		} else {
			fmt.Fprintf(&b, "\n%s\n%s\n", sec.title, strings.Repeat("-", utf8.RuneCountInString(sec.title)))
		}
		for _, l := range sec.lines {
			b.WriteString(l + "\n")
		}
		for _, t := range sec.tables {
			if t.caption != "" {
				b.WriteString(t.caption + "\n")
			}
			b.WriteString(t.text())
		}
	}
	return b.String()
}

// Markdown renders the scorecard with Markdown headings and tables.
func (s Scorecard) Markdown() string {
	var b strings.Builder
	for i, sec := range s.sections() {
		level := "###"
		if i == 0 {
			level = "##"
		}
		fmt.Fprintf(&b, "%s %s\n\n", level, sec.title)
		for _, l := range sec.lines {
			b.WriteString(l + "\n")
		}
		if len(sec.lines) > 0 {
			b.WriteString("\n")
		}
		for _, t := range sec.tables {
			if t.caption != "" {
				b.WriteString(t.caption + "\n\n")
			}
			b.WriteString(t.markdown() + "\n")
		}
	}
	return b.String()
}

func (t table) text() string {
	width := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		for i, c := range row {
			pad := width[i] - utf8.RuneCountInString(c)
			if i == 0 {
				b.WriteString("  " + c + strings.Repeat(" ", pad))
			} else {
				b.WriteString("  " + strings.Repeat(" ", pad) + c)
			}
		}
		b.WriteString("\n")
	}
	line(t.header)
	for _, row := range t.rows {
		line(row)
	}
	return b.String()
}

func (t table) markdown() string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(t.header, " | ") + " |\n|")
	for i := range t.header {
		if i == 0 {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, row := range t.rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

func pct(e Estimate) string {
	return fmt.Sprintf("%.1f%% [%.1f–%.1f]", 100*e.Value, 100*e.Lo, 100*e.Hi)
}

func mrr(e Estimate) string { return fmt.Sprintf("%.3f [%.3f–%.3f]", e.Value, e.Lo, e.Hi) }

func (s Scorecard) sections() []section {
	n := 0
	if len(s.Methods) > 0 {
		n = s.Methods[0].Score.N
	}
	out := []section{{
		title: s.Title,
		lines: []string{
			fmt.Sprintf("%d incidents. 95%% intervals: Wilson score for top-1 and top-3 (for the random baseline, its", n),
			"expected count taken as observed); normal (Wald, mean ± 1.96·s/√n) for MRR.",
		},
	}}
	out = append(out, s.overall(), s.byType())
	if len(s.Ablation) > 0 {
		out = append(out, s.ablation())
	}
	out = append(out, s.calibration())
	if s.LOTO != nil {
		out = append(out, s.loto())
	}
	return append(out, s.misses())
}

func (s Scorecard) overall() section {
	t := table{header: []string{"method", "top-1", "top-3", "MRR"}}
	for _, m := range s.Methods {
		t.rows = append(t.rows, []string{m.Name, pct(m.Score.Top1), pct(m.Score.Top3), mrr(m.Score.MRR)})
	}
	return section{title: "Overall", tables: []table{t},
		lines: []string{
			"Deepest: fewest other alerting nodes among its dependencies in the graph, then lowest layer.",
			"PageRank: walk from alerting nodes to dependencies (quiet ones 0.25, back to callers 0.1),",
			"restart to alerting nodes by severity (critical 3, warning 2, info 1), damping 0.85, ≤100 iterations.",
		}}
}

func (s Scorecard) byType() section {
	t := table{header: []string{"root type", "n", "nightowl top-1", "top-3", "MRR"}}
	for _, m := range s.Methods[1:] {
		t.header = append(t.header, shortName(m.Name))
	}
	for _, typ := range s.RootTypes {
		sc := s.Methods[0].ByType[typ]
		row := []string{typ, fmt.Sprint(sc.N), pct(sc.Top1), fmt.Sprintf("%.1f%%", 100*sc.Top3.Value), fmt.Sprintf("%.3f", sc.MRR.Value)}
		for _, m := range s.Methods[1:] {
			row = append(row, fmt.Sprintf("%.1f%%", 100*m.ByType[typ].Top1.Value))
		}
		t.rows = append(t.rows, row)
	}
	return section{title: "By root type", tables: []table{t}, lines: []string{"Baseline columns are top-1."}}
}

func shortName(name string) string {
	switch name {
	case BaselineRandom:
		return "random"
	case BaselineDeepest:
		return "deepest"
	case BaselineEarliest:
		return "earliest"
	case BaselineSeed:
		return "article"
	case BaselinePageRank:
		return "PageRank"
	}
	return name
}

func (s Scorecard) ablation() section {
	full := s.Methods[0].Score
	t := table{header: []string{"signal left out", "top-1", "Δ top-1 (points)"}}
	t.rows = append(t.rows, []string{"(none)", pct(full.Top1), ""})
	for _, a := range s.Ablation {
		t.rows = append(t.rows, []string{a.Signal, pct(a.Score.Top1), fmt.Sprintf("%+.1f", a.Delta)})
	}
	return section{title: "Ablation", tables: []table{t},
		lines: []string{"One run per signal with EngineConfig.Disable = [signal]."}}
}

func reliability(bins []Bin) table {
	t := table{header: []string{"confidence", "n", "mean confidence", "accuracy"}}
	for _, b := range bins {
		if b.N == 0 {
			continue
		}
		t.rows = append(t.rows, []string{fmt.Sprintf("[%.1f, %.1f)", b.Lo, b.Hi), fmt.Sprint(b.N), fmt.Sprintf("%.2f", b.Confidence), fmt.Sprintf("%.2f", b.Accuracy)})
	}
	return t
}

func temps(ts []float64) string {
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%.2f", t))
	}
	return strings.Join(out, ", ")
}

func (s Scorecard) calibration() section {
	c := s.Calibration
	t := reliability(c.Bins)
	t.caption = "Reliability on held-out folds (top candidate; 10 equal-width bins):"
	lines := []string{
		fmt.Sprintf("Engine's own confidences: expected calibration error %.3f over %d incidents.", c.Raw, c.N),
		fmt.Sprintf("Temperature scaling, %d folds (incident i held out in fold i mod %d), T fitted on the training", s.Folds, s.Folds),
		fmt.Sprintf("folds by maximum likelihood of the right answer: T = %s; held-out ECE %.3f.", temps(c.Temperatures), c.ECE),
		"(An incident whose right answer is no candidate counts P(none of these); one whose diagnosis gives",
		"\"none of these\" no chance cannot inform T and is left out of the fit.)",
		fmt.Sprintf("No candidate is right in %d incidents; held out, P(none of these) averages %.2f on them and %.2f on the others.", c.NoCandidate, c.NoneIfNoCandidate, c.NoneIfCandidate),
		fmt.Sprintf("Fitted only on incidents with a right candidate (ignoring none of these): T = %s; held-out ECE %.3f.", temps(c.ConditionalTemperatures), c.ConditionalECE),
	}
	if c.FromConfidence > 0 {
		lines = append(lines, fmt.Sprintf("The engine reported no scores (Candidate.Score and NoneScore all 0) for %d of %d incidents:", c.FromConfidence, c.N),
			"the logs of its confidences stand in, so T rescales its own calibration.")
	}
	return section{title: "Calibration", tables: []table{t}, lines: lines}
}

func (s Scorecard) loto() section {
	l := s.LOTO
	per := table{header: []string{"topology", "n", "top-1", "top-3", "MRR", "T"}}
	for _, ts := range l.Topologies {
		t := "–"
		if ts.Temperature > 0 {
			t = fmt.Sprintf("%.2f", ts.Temperature)
		}
		per.rows = append(per.rows, []string{ts.Topology, fmt.Sprint(ts.Score.N), pct(ts.Score.Top1), pct(ts.Score.Top3), mrr(ts.Score.MRR), t})
	}
	rel := reliability(l.Bins)
	rel.caption = "Reliability on held-out topologies:"
	miss := table{caption: "Misses:", header: []string{"incident", "rank", "top answer", "want"}}
	hidden := 0
	for _, r := range l.Results {
		switch {
		case r.Rank == 1:
		case slices.Contains(l.HeldOut, r.Topology):
			hidden++ // what the held-out set wants is not printed: nobody should tune to it
		default:
			miss.rows = append(miss.rows, []string{r.Case, rankText(r.Rank), r.Top, r.Want})
		}
	}
	if hidden > 0 {
		miss.caption = fmt.Sprintf("Misses (and %d on the held-out set, not listed):", hidden)
	}
	lines := []string{
		fmt.Sprintf("%d incidents over %d topologies; each topology diagnosed by a diagnoser fitted on the others", l.Score.N, len(l.Topologies)),
		"(T: the temperature fitted there, by the same maximum likelihood as above).",
		fmt.Sprintf("top-1 %s, top-3 %s, MRR %s.", pct(l.Score.Top1), pct(l.Score.Top3), mrr(l.Score.MRR)),
		fmt.Sprintf("Expected calibration error of the fitted confidences on their held-out topologies: %.3f.", l.ECE),
	}
	if len(l.HeldOut) > 0 {
		h := l.HeldOutScore
		lines = append(lines, fmt.Sprintf("The held-out set alone (%s; no fit and no change saw it): top-1 %s (%s of %d), top-3 %s.",
			strings.Join(l.HeldOut, ", "), pct(h.Top1), count(h.Top1.Value, h.N), h.N, pct(h.Top3)))
	}
	return section{title: "Leave one topology out (hand-written incidents)", tables: []table{per, rel, miss}, lines: lines}
}

// count is how many of n a rate is, as a whole number.
func count(rate float64, n int) string { return fmt.Sprintf("%.0f", rate*float64(n)) }

func rankText(rank int) string {
	if rank == 0 {
		return "absent"
	}
	return fmt.Sprint(rank)
}

func (s Scorecard) misses() section {
	t := table{header: []string{"incident", "root type", "rank", "top answer", "want"}}
	total := 0
	for _, r := range s.Methods[0].Results {
		if r.Rank == 1 {
			continue
		}
		total++
		if len(t.rows) < s.MaxMisses {
			t.rows = append(t.rows, []string{r.Case, r.RootType, rankText(r.Rank), r.Top, r.Want})
		}
	}
	return section{title: "Misses", tables: []table{t},
		lines: []string{fmt.Sprintf("%d of %d incidents not right at rank 1; the first %d:", total, len(s.Methods[0].Results), len(t.rows))}}
}
