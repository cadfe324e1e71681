package diagnosis

import (
	"fmt"
	"regexp"
	"strings"
)

// Alerts say more in their words than in their labels. The model reads the
// summaries and descriptions for error signatures (signatures.go) and for
// mentions of other nodes by name or alias.

// nodeWord finds words that may name a node: host names, dashed names.
var nodeWord = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]`)

// alertText is what people wrote about an alert.
func alertText(a AlertState) string {
	var parts []string
	for _, k := range []string{"summary", "description", "message"} {
		if v := a.Annotations[k]; v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " \n ")
}

// Plural counts in words: "1 alert", "3 alerts". Every package that
// counts for people says it this way.
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
