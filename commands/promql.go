package commands

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PromQL that people type (/graph query) and that a model writes
// (query_prometheus) is checked against PROMQL_ALLOW before Prometheus sees
// it. metricNames reads the metric names an expression selects without a
// full parser (Prometheus's would bring the whole server in): it knows
// PromQL's tokens, functions, aggregations and keywords, and refuses what
// it cannot place — a selector without a metric name, a __name__ regex, an
// unknown function, a character it does not know — rather than guess.

// errCannotTell says an expression's metrics could not be read for sure.
var errCannotTell = errors.New("cannot tell which metrics it reads")

// allowPromQL returns a one-sentence refusal when PROMQL_ALLOW is set and
// expr reads a metric outside it, or metrics nightowl cannot tell.
func (h *Handler) allowPromQL(expr string) error {
	if h.d.PromQLAllow == nil {
		return nil
	}
	names, err := metricNames(expr)
	if err != nil {
		return fmt.Errorf("nightowl does not send this query: it %v, and PROMQL_ALLOW limits which metrics may be read", err)
	}
	for _, n := range names {
		if !h.d.PromQLAllow.MatchString(n) {
			return fmt.Errorf("nightowl does not send this query: PROMQL_ALLOW does not allow the metric %s", n)
		}
	}
	return nil
}

// promqlFunctions are PromQL's functions (Prometheus 2.x and 3.x) that read
// only their arguments; info(), which reads target_info itself, is not
// among them.
var promqlFunctions = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
		clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv
		double_exponential_smoothing exp floor histogram_avg histogram_count histogram_fraction histogram_quantile
		histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase irate label_join label_replace
		last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi predict_linear
		present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_by_label sort_by_label_desc
		sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp vector year start end`) {
		promqlFunctions[f] = true
	}
}

// promqlAggregations take "by"/"without" before or after their arguments.
var promqlAggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true, "count": true,
	"count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true,
}

type tokenKind int

const (
	tokIdent tokenKind = iota
	tokString
	tokNumber // numbers and durations: 5, 1e3, 0x1f, 5m, 1h30m, Inf, NaN
	tokPunct  // ( ) { } [ ] , : @ and operators
)

type token struct {
	kind tokenKind
	text string // for strings: the unquoted value
}

// lexPromQL splits expr into tokens; comments are dropped.
func lexPromQL(expr string) ([]token, error) {
	var out []token
	s := expr
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case unicode.IsSpace(r):
			s = s[size:]
		case r == '#':
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				s = s[i:]
			} else {
				s = ""
			}
		case r == '"' || r == '\'' || r == '`':
			end := 1
			for end < len(s) && s[end] != byte(r) {
				if s[end] == '\\' && r != '`' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, fmt.Errorf("%w: a string is not closed", errCannotTell)
			}
			raw := s[:end+1]
			val := raw[1 : len(raw)-1]
			if r != '`' {
				q := raw
				if r == '\'' {
					q = `"` + strings.ReplaceAll(strings.ReplaceAll(val, `\'`, `'`), `"`, `\"`) + `"`
				}
				v, err := strconv.Unquote(q)
				if err != nil {
					return nil, fmt.Errorf("%w: a string it cannot read", errCannotTell)
				}
				val = v
			}
			out = append(out, token{tokString, val})
			s = s[end+1:]
		case r >= '0' && r <= '9' || r == '.' && len(s) > 1 && s[1] >= '0' && s[1] <= '9':
			end := 0
			for end < len(s) && (isIdentChar(s[end]) || s[end] == '.' ||
				((s[end] == '+' || s[end] == '-') && end > 0 && (s[end-1] == 'e' || s[end-1] == 'E') && !strings.HasPrefix(s, "0x"))) {
				end++
			}
			if !promqlNumber.MatchString(s[:end]) {
				return nil, fmt.Errorf("%w: %q is neither a number nor a duration", errCannotTell, s[:end])
			}
			out = append(out, token{tokNumber, s[:end]})
			s = s[end:]
		case r == '_' || r < utf8.RuneSelf && unicode.IsLetter(r):
			end := 0
			for end < len(s) && (isIdentChar(s[end]) || s[end] == ':') {
				end++
			}
			word := s[:end]
			if strings.EqualFold(word, "inf") || strings.EqualFold(word, "nan") {
				out = append(out, token{tokNumber, word})
			} else {
				out = append(out, token{tokIdent, word})
			}
			s = s[end:]
		default:
			op := ""
			for _, o := range []string{"==", "!=", "=~", "!~", ">=", "<=", "(", ")", "{", "}", "[", "]", ",", ":", "@", "=", "+", "-", "*", "/", "%", "^", "<", ">"} {
				if strings.HasPrefix(s, o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("%w: it does not know %q", errCannotTell, r)
			}
			out = append(out, token{tokPunct, op})
			s = s[len(op):]
		}
	}
	return out, nil
}

// promqlNumber is a PromQL number or duration: 5, .5, 1e-3, 0x1f, 5m, 1h30m.
var promqlNumber = regexp.MustCompile(`^(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|(?:[0-9]+(?:ms|s|m|h|d|w|y))+)$`)

func isIdentChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// metricNames returns the metric names expr selects, each once, or
// errCannotTell.
func metricNames(expr string) ([]string, error) {
	toks, err := lexPromQL(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	at := func(i int) token {
		if i < len(toks) {
			return toks[i]
		}
		return token{kind: tokPunct, text: ""}
	}
	isPunct := func(i int, p string) bool { t := at(i); return t.kind == tokPunct && t.text == p }
	// endsOperand: the token before i closes an expression, so a keyword
	// such as "and" or "offset" is an operator there, not a metric.
	endsOperand := func(i int) bool {
		if i == 0 {
			return false
		}
		t := toks[i-1]
		return t.kind == tokIdent || t.kind == tokNumber || t.kind == tokString ||
			t.kind == tokPunct && (t.text == ")" || t.text == "}" || t.text == "]")
	}
	comparison := func(i int) bool {
		if i == 0 {
			return false
		}
		t := toks[i-1]
		return t.kind == tokPunct && slices.Contains([]string{"==", "!=", ">", "<", ">=", "<="}, t.text)
	}
	binaryOp := func(i int) bool {
		if i == 0 {
			return false
		}
		t := toks[i-1]
		return t.kind == tokPunct && slices.Contains([]string{"==", "!=", ">", "<", ">=", "<=", "+", "-", "*", "/", "%", "^"}, t.text) ||
			t.kind == tokIdent && slices.Contains([]string{"and", "or", "unless", "atan2", "bool"}, strings.ToLower(t.text))
	}
	// skipLabelList skips "( name, name, … )" starting at i; it returns the
	// index after ")".
	skipLabelList := func(i int) (int, error) {
		if !isPunct(i, "(") {
			return 0, fmt.Errorf("%w: a label list without parentheses", errCannotTell)
		}
		for j := i + 1; j < len(toks); j++ {
			switch t := toks[j]; {
			case t.kind == tokPunct && t.text == ")":
				return j + 1, nil
			case t.kind == tokIdent || t.kind == tokString || t.kind == tokPunct && t.text == ",":
			default:
				return 0, fmt.Errorf("%w: %q in a label list", errCannotTell, t.text)
			}
		}
		return 0, fmt.Errorf("%w: a label list is not closed", errCannotTell)
	}
	// selector reads "{ matchers }" at i; named says a metric name stood
	// before it. It returns the index after "}".
	selector := func(i int, named bool) (int, error) {
		j := i + 1
		for {
			if isPunct(j, "}") {
				break
			}
			t := at(j)
			if t.kind != tokIdent && t.kind != tokString {
				return 0, fmt.Errorf("%w: %q in a selector", errCannotTell, t.text)
			}
			op := at(j + 1)
			switch {
			case op.kind == tokPunct && (op.text == "," || op.text == "}") && t.kind == tokString:
				add(t.text) // {"metric.name"}: a quoted metric name (Prometheus 3)
				named = true
				j++
			case op.kind == tokPunct && slices.Contains([]string{"=", "!=", "=~", "!~"}, op.text) && at(j+2).kind == tokString:
				if t.text == "__name__" {
					if op.text != "=" {
						return 0, fmt.Errorf("%w: it picks metrics by a pattern on __name__", errCannotTell)
					}
					add(at(j + 2).text)
					named = true
				}
				j += 3
			default:
				return 0, fmt.Errorf("%w: a selector it cannot read", errCannotTell)
			}
			if isPunct(j, ",") {
				j++
			}
		}
		if !named {
			return 0, fmt.Errorf("%w: a selector without a metric name matches every metric", errCannotTell)
		}
		return j + 1, nil
	}

	for i := 0; i < len(toks); {
		t := toks[i]
		switch t.kind {
		case tokString, tokNumber:
			i++
			continue
		case tokPunct:
			switch t.text {
			case "{":
				next, err := selector(i, false)
				if err != nil {
					return nil, err
				}
				i = next
			case "[": // a range or a subquery: durations only
				j := i + 1
				for ; j < len(toks) && !isPunct(j, "]"); j++ {
					if at(j).kind != tokNumber && !isPunct(j, ":") {
						return nil, fmt.Errorf("%w: %q in a range", errCannotTell, at(j).text)
					}
				}
				if j == len(toks) {
					return nil, fmt.Errorf("%w: a range is not closed", errCannotTell)
				}
				i = j + 1
			case ":": // only a subquery's, inside a range
				return nil, fmt.Errorf("%w: a colon outside a range", errCannotTell)
			default:
				i++
			}
			continue
		}
		word, lower := t.text, strings.ToLower(t.text)
		switch {
		case (lower == "by" || lower == "without") && (endsOperand(i) || i > 0 && promqlAggregations[strings.ToLower(toks[i-1].text)]):
			next, err := skipLabelList(i + 1)
			if err != nil {
				return nil, err
			}
			i = next
		case (lower == "on" || lower == "ignoring") && binaryOp(i):
			next, err := skipLabelList(i + 1)
			if err != nil {
				return nil, err
			}
			i = next
		case (lower == "group_left" || lower == "group_right") && i > 0 && isPunct(i-1, ")"):
			i++
			if isPunct(i, "(") {
				next, err := skipLabelList(i)
				if err != nil {
					return nil, err
				}
				i = next
			}
		case (lower == "and" || lower == "or" || lower == "unless" || lower == "atan2" || lower == "offset") && endsOperand(i):
			i++
		case lower == "bool" && comparison(i):
			i++
		case isPunct(i+1, "("):
			if !promqlFunctions[word] && !promqlAggregations[lower] {
				return nil, fmt.Errorf("%w: it does not know the function %s", errCannotTell, word)
			}
			i++
		case promqlAggregations[lower] && (strings.EqualFold(at(i+1).text, "by") || strings.EqualFold(at(i+1).text, "without")):
			i++
		default: // a metric name, maybe with a selector
			add(word)
			i++
			if isPunct(i, "{") {
				next, err := selector(i, true)
				if err != nil {
					return nil, err
				}
				i = next
			}
		}
	}
	return names, nil
}
