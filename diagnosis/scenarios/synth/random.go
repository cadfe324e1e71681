package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Small helpers on the random source and on names.

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

func pickWeighted[T any](r *rand.Rand, xs []T, w []float64) T { return xs[weightedIndex(r, w)] }

func weightedIndex(r *rand.Rand, w []float64) int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	x := r.Float64() * total
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	for i := len(w) - 1; i >= 0; i-- {
		if w[i] > 0 {
			return i
		}
	}
	return len(w) - 1
}

func randString(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func rsHash(r *rand.Rand) string    { return randString(r, rsAlphabet, 9+r.IntN(2)) }
func podSuffix(r *rand.Rand) string { return randString(r, rsAlphabet, 5) }

func podIP(r *rand.Rand, nodeIP string) string {
	i := strings.LastIndexByte(nodeIP, '.')
	if i < 0 {
		return fmt.Sprintf("10.1.%d.%d", r.IntN(250), 2+r.IntN(250))
	}
	return fmt.Sprintf("%s.%d", nodeIP[:i], 2+r.IntN(252))
}

func clamp(x, lo, hi int) int { return max(lo, min(hi, x)) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func camel(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '.' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// uniq drops empty values, duplicates and the node's own name.
func uniq(xs []string, self string) []string {
	var out []string
	for _, x := range xs {
		if x != "" && x != self && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
