package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The checks the configuration table's parsers share: one home for what a
// URL, a channel, a person, a token, a count and a number of days are.

// isHTTPURL reports whether v is an absolute http or https URL.
func isHTTPURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// checkURL reports a value that is set but no http(s) URL.
func checkURL(p problems, v string) {
	if v != "" && !isHTTPURL(v) {
		p.add("%q is not an http(s) URL", v)
	}
}

func checkChannel(p problems, v string) {
	if v != "" && !channelRe.MatchString(v) {
		p.add("%q is not a channel ID: use the ID (C…), not the #name (channel details → About)", v)
	}
}

// isPerson reports whether v is a user ID or a user-group ID.
func isPerson(v string) bool { return userRe.MatchString(v) || groupRe.MatchString(v) }

func checkPerson(p problems, v string) {
	if v != "" && !isPerson(v) {
		p.add("%q is neither a user ID (U…) nor a user-group ID (S…)", v)
	}
}

func checkToken(p problems, v, prefix, what string) {
	switch {
	case v == "":
		p.add("is not set: it must hold %s, starting %s", what, prefix)
	case strings.HasPrefix(v, "xapp-") && prefix != "xapp-":
		p.add("holds an app-level token (xapp-…) but must hold %s", what)
	case strings.HasPrefix(v, "xoxb-") && prefix != "xoxb-":
		p.add("holds a bot token (xoxb-…) but must hold %s", what)
	case strings.HasPrefix(v, "xoxp-"):
		p.add("holds a user token (xoxp-…) but must hold %s", what)
	case !strings.HasPrefix(v, prefix):
		p.add("does not look like %s (it should start %s)", what, prefix)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// readCount reads a whole number from lo to hi.
func readCount(p problems, v string, lo, hi int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.add("%q is not a number from %d to %d", v, lo, hi)
	}
	return n
}

// parseDays reads "90d" as 90 days, or a Go duration.
func parseDays(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	if v == "0" {
		return 0, nil
	}
	return time.ParseDuration(v)
}
