package diagnosis

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateCutsCharactersAndMarksTheCut(t *testing.T) {
	cases := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"short text stays whole", "abc", 3, "abc"},
		{"long text ends with an ellipsis within n", "abcdef", 4, "abc…"},
		{"characters, not bytes", "ééééé", 3, "éé…"},
		{"no space before the ellipsis", "order service down", 7, "order…"},
		{"nothing fits in nothing", "abc", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Truncate(tc.s, tc.n); got != tc.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
		})
	}
}

func TestTruncateWordsEndsOnAWholeWord(t *testing.T) {
	cases := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"short text stays whole", "pool exhausted", 80, "pool exhausted"},
		{"cut at the last space in the second half", "connection pool exhausted on order-service", 30, "connection pool exhausted on…"},
		{"cut inside a word when no space is near", "aaaaaaaaaaaaaaaaaaaa bbbbbbbbbb", 12, "aaaaaaaaaaaa…"},
		// Bytes used to count: a cut could split "é" and evidence showed
		// "\xc3" escapes in its quote.
		{"characters, not bytes", "ééééé ééééé", 5, "ééééé…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := truncateWords(tc.s, tc.n)
			if got != tc.want || !utf8.ValidString(got) {
				t.Errorf("truncateWords(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
		})
	}
	if got := truncateWords(strings.Repeat("é", 100), 81); !utf8.ValidString(got) || utf8.RuneCountInString(got) != 82 {
		t.Errorf("truncateWords of 100 é = %q: want 81 whole characters and …", got)
	}
}
