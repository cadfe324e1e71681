package intake

import "strings"

// Unescape undoes Slack's storage format: "&amp;", "&lt;" and "&gt;" become
// & < >, and a link "<url>" or "<url|label>" becomes its URL, or its label
// when the label is just the URL as the sender wrote it (Slack stores a bare
// "www.example.com" as "<http://www.example.com|www.example.com>"). Mentions
// and other control sequences ("<!channel>", "<@U123>", "<#C1|general>") stay
// as they are. Text that Slack never escaped passes through unchanged unless
// it contains one of those entities or a "<scheme:…>" link.
func Unescape(s string) string {
	if strings.IndexByte(s, '<') < 0 && strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			if end := strings.IndexByte(s[i+1:], '>'); end >= 0 {
				if target, ok := link(s[i+1 : i+1+end]); ok {
					writeEntities(&b, target)
					i += end + 2
					continue
				}
			}
			b.WriteByte('<')
			i++
		case '&':
			i += writeEntity(&b, s[i:])
		default:
			j := i + 1
			for j < len(s) && s[j] != '<' && s[j] != '&' {
				j++
			}
			b.WriteString(s[i:j])
			i = j
		}
	}
	return b.String()
}

// writeEntity writes the character that s (starting with '&') stands for
// and returns how many bytes it used.
func writeEntity(b *strings.Builder, s string) int {
	for _, e := range [...]struct {
		entity string
		char   byte
	}{{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}} {
		if strings.HasPrefix(s, e.entity) {
			b.WriteByte(e.char)
			return len(e.entity)
		}
	}
	b.WriteByte('&')
	return 1
}

func writeEntities(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		if s[i] == '&' {
			i += writeEntity(b, s[i:])
			continue
		}
		b.WriteByte(s[i])
		i++
	}
}

// link returns the text a Slack link "<inner>" stands for, if inner is a
// link: a URL with a scheme, optionally followed by "|label".
func link(inner string) (string, bool) {
	url, label, labelled := strings.Cut(inner, "|")
	if !hasScheme(url) || strings.ContainsAny(inner, "<\n") {
		return "", false
	}
	if labelled && label != "" && isDisplayOf(unentity(label), unentity(url)) {
		return label, true
	}
	return url, true
}

// hasScheme reports whether s starts with "scheme:" and has more after it.
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i+1 < len(s)
		default:
			return false
		}
	}
	return false
}

// isDisplayOf reports whether label is how a sender wrote url before Slack
// turned it into a link.
func isDisplayOf(label, url string) bool {
	if label == url {
		return true
	}
	for _, scheme := range [...]string{"http://", "https://", "mailto:", "tel:"} {
		if strings.HasPrefix(url, scheme) && url[len(scheme):] == label {
			return true
		}
	}
	return false
}

func unentity(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	writeEntities(&b, s)
	return b.String()
}
