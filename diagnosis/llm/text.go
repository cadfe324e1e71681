package llm

import (
	"cmp"
	"regexp"
	"strings"
	"unicode"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// redacted replaces every secret before anything is sent to the model.
const redacted = "[REDACTED]"

// secretNames matches label, annotation, header and field names whose values
// are secrets: db_password, API-Key, aws_secret_access_key, x-auth-token, ….
const secretNames = `[A-Za-z0-9_.-]*(?:` + diagnosis.SecretWords + `)[A-Za-z0-9_.-]*`

// Secrets recognisable by their shape, whatever they are called.
var secretShapes = []*regexp.Regexp{
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`),
	regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{6,}`),
	regexp.MustCompile(`\bxox[a-z]-[A-Za-z0-9-]+`),       // Slack bot, user, app-level… tokens
	regexp.MustCompile(`\bxapp-[A-Za-z0-9-]+`),           // Slack app tokens
	regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`),  // AWS access key IDs
	regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{20,}`),        // OpenAI-style keys
	regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{30,}\b`), // GitHub tokens
	regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}\b`),   // GitLab tokens
}

// userinfo matches the password of a URL's userinfo.
var userinfo = regexp.MustCompile(`\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]+):[^\s/@]+@`)

// redactor removes secrets from text bound for the model (and from server
// messages bound for errors). Labels and annotations are withheld whole
// where the text is built (Withholds); the patterns here catch what free
// text still holds.
type redactor struct {
	named  *regexp.Regexp // a whole name whose value is withheld
	quoted *regexp.Regexp // name: "value", name='value', "name": "value"
	spaced *regexp.Regexp // name= value with spaces, up to the next name=
	equals *regexp.Regexp // name=value
	colon  *regexp.Regexp // name: value, up to the end of the line
	key    string         // the API key itself, should anything echo it
}

func newRedactor(extra []string, apiKey string) *redactor {
	names := secretNames
	var more []string
	for _, n := range extra {
		if n = strings.TrimSpace(n); n != "" {
			more = append(more, regexp.QuoteMeta(n))
		}
	}
	if len(more) > 0 {
		names = `(?:` + secretNames + `|\b(?:` + strings.Join(more, "|") + `)\b)`
	}
	r := &redactor{
		named:  regexp.MustCompile(`(?i)^(?:` + names + `)$`),
		spaced: regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9_.-])(?:` + names + `)\s*=[ \t]*`),
		quoted: regexp.MustCompile(`(?i)"?(?:` + names + `)"?\s*[:=]\s*("(?:[^"\\\n]|\\.)*"|'[^'\n]*')`),
		equals: regexp.MustCompile(`(?i)(?:` + names + `)\s*=\s*([^\s"',;&}\]]+)`),
		colon:  regexp.MustCompile(`(?i)"?(?:` + names + `)"?\s*:[ \t]*([^\s"'{\[][^\n,;}\]]*)`),
	}
	if len(apiKey) >= 8 {
		r.key = apiKey
	}
	return r
}

// text returns s without secrets.
func (r *redactor) text(s string) string {
	if r.key != "" {
		s = strings.ReplaceAll(s, r.key, redacted)
	}
	for _, re := range secretShapes {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			if len(m) > 6 && strings.EqualFold(m[:6], "bearer") {
				return m[:6] + " " + redacted
			}
			return redacted
		})
	}
	s = userinfo.ReplaceAllString(s, "${1}:"+redacted+"@")
	s = maskGroup(r.quoted, s)
	s = r.maskSpaced(s)
	for _, re := range []*regexp.Regexp{r.equals, r.colon} {
		s = maskGroup(re, s)
	}
	return s
}

// withholds reports whether the values of a label or annotation called
// name must never reach the model: a name in REDACT_LABELS (any case) or
// a secret-looking one (db_password, api-key, x-auth-token, …).
func (r *redactor) withholds(name string) bool { return r.named.MatchString(strings.TrimSpace(name)) }

// nextName starts the next name=value pair of logfmt-like text.
var nextName = regexp.MustCompile(`^[ \t]+[A-Za-z_][A-Za-z0-9_.-]*[ \t]*=`)

// maskSpaced redacts unquoted values of secret or named keys that hold
// spaces ("customer=Acme Corp Ltd team=core"): the value runs to the next
// name=, the end of the line, or a separator.
func (r *redactor) maskSpaced(s string) string {
	ms := r.spaced.FindAllStringIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		start := m[1]
		if start < last || start == len(s) || strings.ContainsRune("\"'\n", rune(s[start])) || strings.HasPrefix(s[start:], redacted) {
			continue
		}
		end := len(s)
		for j := start; j < len(s); j++ {
			if strings.ContainsRune("\n,;&}]\"'", rune(s[j])) || ((s[j] == ' ' || s[j] == '\t') && nextName.MatchString(s[j:])) {
				end = j
				break
			}
		}
		end = start + len(strings.TrimRight(s[start:end], " \t"))
		if end == start {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(redacted)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// maskGroup replaces the first group of every match of re with redacted,
// keeping the quotes around it.
func maskGroup(re *regexp.Regexp, s string) string {
	ms := re.FindAllStringSubmatchIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		start, end := m[2], m[3]
		v := s[start:end]
		b.WriteString(s[last:start])
		switch {
		case strings.HasPrefix(v, "[REDACTED"):
			b.WriteString(v)
		case len(v) >= 2 && (v[0] == '"' || v[0] == '\''):
			b.WriteString(v[:1] + redacted + v[len(v)-1:])
		default:
			b.WriteString(redacted)
		}
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Delimiters around untrusted data in prompts. Data never contains them:
// data() breaks up any "<<<" or ">>>" it holds.
const (
	beginData = "<<<BEGIN INCIDENT DATA>>>"
	endData   = "<<<END INCIDENT DATA>>>"
)

// data makes untrusted text fit to send: secrets redacted, delimiters
// defused.
func (r *redactor) data(s string) string {
	s = r.text(s)
	for strings.Contains(s, "<<<") || strings.Contains(s, ">>>") {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "<<<", "<< <"), ">>>", "> >>")
	}
	return s
}

// dataBlock wraps the incident context in the delimiters.
func (r *redactor) dataBlock(s string) string {
	return beginData + "\n" + strings.TrimSpace(r.data(s)) + "\n" + endData
}

// slackSequence matches Slack's control sequences: <!channel>, <!here>,
// <!subteam^S1|@team>, <@U1>, <#C1|name>, <!date^…|fallback>.
var slackSequence = regexp.MustCompile(`<([!@#])([^<>|]*)(?:\|([^<>]*))?>`)

// slackLink matches <https://…|text> links, which could dress a phishing
// URL as anything.
var slackLink = regexp.MustCompile(`<((?:https?|mailto):[^<>|\s]*)(?:\|([^<>]*))?>`)

// plain turns model output into plain text: Slack control sequences become
// their plain equivalents (<!channel> → @channel, <@U1> → @U1), links show
// their URL, control characters go, blank lines collapse, and the result is
// at most limit characters. The caller escapes for Slack again; this is
// defence in depth.
func plain(s string, limit int) string {
	s = slackSequence.ReplaceAllStringFunc(s, func(m string) string {
		g := slackSequence.FindStringSubmatch(m)
		kind, id, label := g[1], g[2], strings.TrimSpace(g[3])
		switch kind {
		case "@": // <@U123> or <@U123|name>
			return "@" + strings.TrimPrefix(cmp.Or(label, id), "@")
		case "#": // <#C123|name>
			return "#" + strings.TrimPrefix(cmp.Or(label, id), "#")
		}
		name, _, _ := strings.Cut(id, "^")
		switch name {
		case "channel", "here", "everyone":
			return "@" + name
		case "subteam":
			return "@" + strings.TrimPrefix(cmp.Or(label, "group"), "@")
		}
		return cmp.Or(label, name)
	})
	s = slackLink.ReplaceAllStringFunc(s, func(m string) string {
		g := slackLink.FindStringSubmatch(m)
		if label := strings.TrimSpace(g[2]); label != "" && label != g[1] {
			return label + " (" + g[1] + ")"
		}
		return g[1]
	})
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == '\u200b' || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return -1
		}
		return r
	}, s)
	lines := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
	out := make([]string, 0, len(lines))
	blank := 0
	for _, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" {
			if blank++; blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return diagnosis.Truncate(strings.TrimSpace(strings.Join(out, "\n")), limit)
}
