package bot

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Block Kit's limits, in characters as Slack counts them: UTF-16 code units,
// so an emoji outside the Basic Multilingual Plane counts two. A message
// over any of them is refused whole (invalid_blocks), and a refused card is
// a lost page: everything nightowl sends is cut to fit where it is built.
const (
	maxBlocks       = 50
	maxSectionText  = 3000 // a section's text, and a context element's
	maxFields       = 10   // fields of one section
	maxFieldText    = 2000
	maxHeaderText   = 150
	maxButtonText   = 75
	maxButtonValue  = 2000
	maxOptionText   = 75
	maxOptionValue  = 150
	maxMessageText  = 40000 // the top-level text; nightowl keeps it far shorter
	maxListedLines  = 60    // alert lines per thread reply; the rest are counted
	maxFallbackText = 1000  // the notification text of a card
)

// Bounds nightowl keeps on untrusted strings inside those limits, so one long
// label cannot crowd out the rest of a card.
const (
	maxName       = 120 // a label value named on a card: service, alert, namespace, runbook
	maxPersonName = 80  // a person's display name
	maxAlertLine  = 400 // one alert in a thread reply, before escaping
	maxNoteText   = 300 // a one-line note on a card
)

// slackLen counts s as Slack does, in UTF-16 code units.
func slackLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Len(r)
	}
	return n
}

func utf16Len(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// truncate shortens s to at most n UTF-16 code units, marking the cut with
// an ellipsis. It never splits a character or leaves half an HTML entity
// (&amp; &lt; &gt;) behind, so it may cut escaped text.
func truncate(s string, n int) string {
	if slackLen(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	used, cut := 0, 0
	for i, r := range s {
		if used+utf16Len(r) > n-1 { // room for "…"
			cut = i
			break
		}
		used += utf16Len(r)
	}
	head := s[:cut]
	if i := strings.LastIndexByte(head, '&'); i >= 0 && !strings.Contains(head[i:], ";") {
		head = head[:i]
	}
	return head + "…"
}

// codeName shows an untrusted name (a service, an alert, a namespace) as an
// inline code span of bounded length: escaped, on one line, at most
// maxName characters of the name.
func codeName(s string) string {
	return code(truncate(strings.Join(strings.Fields(s), " "), maxName))
}

// plainName shows an untrusted name as escaped text of bounded length.
func plainName(s string, n int) string {
	return escape(truncate(strings.Join(strings.Fields(s), " "), n))
}

// runbookIDRe is what a runbook ID can look like (the catalog's IDs, such
// as RB-DB-001); a runbook label that cannot be one is not offered.
var runbookIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// candidateRef names a root-cause candidate in a button value: a short
// digest of the service, never the name itself, so that no label can make
// a value too long, and a vote still means the candidate the voter saw.
func candidateRef(service string) string {
	sum := sha256.Sum256([]byte(service))
	return "c" + hex.EncodeToString(sum[:6])
}

// buttonValue joins the IDs a button carries; IDs are short, and the cut is
// a last resort that only keeps the message valid.
func buttonValue(ids ...string) string {
	return truncate(strings.Join(ids, "|"), maxButtonValue)
}
