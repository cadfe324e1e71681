package intake

import (
	"fmt"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// The machine block of deploy/alertmanager/slack.tmpl:
//
//	#nightowl-alert v1 status=resolved fingerprint=… startsAt=… endsAt=…
//	label name=value
//	annotation name=value
//	generatorURL url
//	#end
//
// Names and values are escaped (\\ \n \r, and \= in names) and then Slack
// escaped (&amp; &lt; &gt;). Unknown header keys and unknown line kinds are
// ignored, so later v1 templates may add them.
const (
	blockMarker = "#nightowl-alert"
	// legacyMarker opens the blocks of the template proposed before
	// nightowl's (protocols.md 1.5), which has the same lines.
	legacyMarker = "#am-alert"
	blockEnd     = "#end"
	fence        = "```"
	version      = "v1"
)

// block is a machine block being read.
type block struct {
	line     int
	header   string
	labels   map[string]string
	annots   map[string]string
	url      string
	problem  string
	received time.Time
}

// parseBlocks reads every machine block in the message's text and its
// attachments' texts. found is false when there is none.
func parseBlocks(m Message, received time.Time) (res Result, found bool, err error) {
	s := blockScanner{received: received, seen: map[string]bool{}}
	s.res.Format = diagnosis.SourceTemplate
	s.scan(m.Text, "the message text")
	for i, a := range m.Attachments {
		s.scan(a.Text, fmt.Sprintf("attachment %d", i+1))
	}
	if s.found && len(s.res.Alerts) == 0 {
		return s.res, true, fmt.Errorf("no readable alert block in the message: %s", strings.Join(s.res.Problems, " "))
	}
	return s.res, s.found, nil
}

// blockScanner collects the alerts of the blocks in a message's texts.
type blockScanner struct {
	received time.Time
	res      Result
	found    bool
	seen     map[string]bool // fingerprints read
}

// scan reads the blocks of one text; where names the text in problems.
func (s *blockScanner) scan(text, where string) {
	if !strings.Contains(text, blockMarker) && !strings.Contains(text, legacyMarker) {
		return
	}
	var cur *block
	for n := 1; text != ""; n++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = strings.TrimSuffix(line, "\r")
		switch {
		case isHeader(line):
			s.found = true
			if cur != nil {
				s.skip(cur, where, "it has no #end before the next block")
			}
			cur = &block{line: n, header: strings.TrimPrefix(line, fence), received: s.received}
		case cur == nil:
		case line == blockEnd || line == blockEnd+fence:
			s.finish(cur, where)
			cur = nil
		case line == fence:
			s.skip(cur, where, "the code block ends before #end")
			cur = nil
		default:
			cur.add(line, n)
		}
	}
	if cur != nil {
		s.skip(cur, where, "it has no #end (Slack may have cut the message short)")
	}
}

func (s *blockScanner) finish(b *block, where string) {
	a, why := b.alert()
	switch {
	case why != "":
		s.skip(b, where, why)
	case s.seen[a.Fingerprint]:
		s.skip(b, where, "it repeats alert "+a.Fingerprint)
	default:
		s.seen[a.Fingerprint] = true
		s.res.Alerts = append(s.res.Alerts, a)
	}
}

func (s *blockScanner) skip(b *block, where, why string) {
	s.res.Problems = append(s.res.Problems, fmt.Sprintf("Skipped the alert block on line %d of %s: %s.", b.line, where, why))
}

func isHeader(line string) bool {
	line = strings.TrimPrefix(line, fence)
	for _, m := range [...]string{blockMarker, legacyMarker} {
		if rest, ok := strings.CutPrefix(line, m); ok && (rest == "" || rest[0] == ' ') {
			return true
		}
	}
	return false
}

// add reads one line of the block's body.
func (b *block) add(line string, n int) {
	kind, rest, _ := strings.Cut(line, " ")
	switch kind {
	case "label", "annotation":
		name, value, ok := splitPair(Unescape(rest))
		if !ok {
			if b.problem == "" {
				b.problem = fmt.Sprintf("line %d is not %s name=value", n, kind)
			}
			return
		}
		m := &b.labels
		if kind == "annotation" {
			m = &b.annots
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[unbackslash(name)] = unbackslash(value)
	case "generatorURL":
		b.url = unbackslash(Unescape(rest))
	}
}

// alert builds the block's alert, or says why it cannot.
func (b *block) alert() (diagnosis.Alert, string) {
	if b.problem != "" {
		return diagnosis.Alert{}, b.problem
	}
	fields := strings.Fields(Unescape(b.header))
	if len(fields) < 2 || fields[1] != version {
		v := ""
		if len(fields) > 1 {
			v = fields[1]
		}
		return diagnosis.Alert{}, fmt.Sprintf("its version %q is not %s", v, version)
	}
	a := diagnosis.Alert{
		Labels:       b.labels,
		Annotations:  b.annots,
		GeneratorURL: b.url,
		Source:       diagnosis.SourceTemplate,
		Count:        1,
	}
	var startsAt, endsAt string
	for _, f := range fields[2:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "status":
			a.Status = diagnosis.Status(v)
		case "fingerprint":
			a.Fingerprint = v
		case "startsAt":
			startsAt = v
		case "endsAt":
			endsAt = v
		}
	}
	if a.Status != diagnosis.Firing && a.Status != diagnosis.Resolved {
		return diagnosis.Alert{}, fmt.Sprintf("its status %q is neither firing nor resolved", a.Status)
	}
	var err error
	if a.StartsAt, err = time.Parse(time.RFC3339Nano, startsAt); err != nil {
		return diagnosis.Alert{}, fmt.Sprintf("its startsAt %q is not an RFC 3339 time", startsAt)
	}
	if a.Status == diagnosis.Resolved {
		// A resolved block always has endsAt; without one, it ended by now.
		a.EndsAt = b.received
		if endsAt != "" {
			if a.EndsAt, err = time.Parse(time.RFC3339Nano, endsAt); err != nil {
				return diagnosis.Alert{}, fmt.Sprintf("its endsAt %q is not an RFC 3339 time", endsAt)
			}
		}
	}
	if a.Labels[diagnosis.LabelAlertname] == "" {
		return diagnosis.Alert{}, "it has no alertname label"
	}
	if a.Fingerprint == "" {
		a.Fingerprint = diagnosis.Fingerprint(a.Labels)
	}
	return a, ""
}

// splitPair cuts s at the first "=" that no backslash escapes.
func splitPair(s string) (name, value string, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=':
			return s[:i], s[i+1:], i > 0
		}
	}
	return "", "", false
}

// unbackslash undoes the template's escaping: \\ \n \r \=. Any other
// backslash is kept as it is.
func unbackslash(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '=':
			b.WriteByte('=')
		default:
			b.WriteByte('\\')
			continue
		}
		i++
	}
	return b.String()
}
