package diagnosis

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// How nightowl cuts text that is not bound for Slack: model prompts and
// answers, evidence, triage lines, playbook output (through
// runbooks.Truncate). Lengths are in characters (runes). Three other cuts
// differ on purpose and live with what they serve:
//   - bot/limits.go cuts Slack-bound text in UTF-16 code units, as Slack
//     counts, and never leaves half an HTML entity;
//   - deploy/alertmanager cuts a title as Alertmanager's Slack notifier does,
//     whatever nightowl's own rule becomes;
//   - commands/picture fits a label in pixels.

// Truncate shortens s to at most n characters, marking the cut with "…"
// and never leaving whitespace before it.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), unicode.IsSpace) + "…"
}

// truncateWords shortens a sample of text quoted in evidence to n
// characters, at the last space if one falls in the second half, and marks
// the cut with "…" after them (so n+1 characters at most): a quote ends on
// a whole word.
func truncateWords(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := []rune(s)[:n]
	if i := lastSpace(cut); i > n/2 {
		cut = cut[:i]
	}
	return string(cut) + "…"
}

func lastSpace(r []rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == ' ' {
			return i
		}
	}
	return -1
}
