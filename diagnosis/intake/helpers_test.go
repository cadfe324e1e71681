package intake_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// received is when the tests' messages arrive.
var received = time.Date(2024, 11, 30, 0, 0, 0, 0, time.UTC)

// MustLoadStorm returns the 31 alerts of the Black Friday scenario.
func MustLoadStorm(tb testing.TB) []diagnosis.Alert {
	tb.Helper()
	alerts, err := intake.ParseWebhook(scenarios.BlackFriday)
	if err != nil {
		tb.Fatal(err)
	}
	if len(alerts) != 31 {
		tb.Fatalf("got %d alerts, want 31", len(alerts))
	}
	return alerts
}

// MustGraphHints answers IsService from the Black Friday service graph.
func MustGraphHints(tb testing.TB) intake.Hints {
	tb.Helper()
	g, err := graph.Parse(scenarios.BlackFridayGraph)
	if err != nil {
		tb.Fatal(err)
	}
	return intake.Hints{IsService: func(name string) bool {
		_, ok := g.Lookup(name)
		return ok
	}}
}

// slackBody is the part of a Slack webhook body that becomes a message.
type slackBody struct {
	Text        string `json:"text"`
	Attachments []struct {
		Title     string `json:"title"`
		TitleLink string `json:"title_link"`
		Text      string `json:"text"`
		Fallback  string `json:"fallback"`
		Pretext   string `json:"pretext"`
		Color     string `json:"color"`
	} `json:"attachments"`
}

// MustMessage turns a webhook body into the message the bot receives: with
// stored true, as Slack stores it (SlackStore on every text), else raw.
func MustMessage(tb testing.TB, body []byte, stored bool) intake.Message {
	tb.Helper()
	var b slackBody
	if err := json.Unmarshal(body, &b); err != nil {
		tb.Fatalf("decode webhook body: %v", err)
	}
	conv := func(s string) string { return s }
	if stored {
		conv = SlackStore
	}
	m := intake.Message{Text: conv(b.Text)}
	for _, a := range b.Attachments {
		m.Attachments = append(m.Attachments, intake.Attachment{
			Title: conv(a.Title), TitleLink: conv(a.TitleLink), Text: conv(a.Text),
			Fallback: conv(a.Fallback), Pretext: conv(a.Pretext), Color: a.Color,
		})
	}
	return m
}

// MustRender is what Alertmanager posts for these alerts in one group.
func MustRender(tb testing.TB, alerts []diagnosis.Alert, groupBy []string, f alertmanager.Format) []byte {
	tb.Helper()
	body, err := alertmanager.SlackPayload(alertmanager.NewGroup("nightowl", groupBy, alerts, "http://alertmanager.monitoring:9093"), f)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// SlackStore models what Slack does to the text a client sends before
// storing it, per its formatting docs: control sequences ("<!channel>",
// "<@U1>", "<#C1|x>", "<https://…|…>") stay; the entities &amp; &lt; &gt;
// stay; any other & < > is escaped; bare http(s) URLs become "<url>" and bare
// www. names "<http://www.…|www.…>".
func SlackStore(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		switch {
		case rest[0] == '<':
			if end := strings.IndexByte(rest, '>'); end > 1 && isControl(rest[1:end]) {
				b.WriteString(rest[:end+1])
				i += end + 1
				continue
			}
			b.WriteString("&lt;")
			i++
		case rest[0] == '>':
			b.WriteString("&gt;")
			i++
		case rest[0] == '&':
			if strings.HasPrefix(rest, "&amp;") || strings.HasPrefix(rest, "&lt;") || strings.HasPrefix(rest, "&gt;") {
				b.WriteByte('&')
			} else {
				b.WriteString("&amp;")
			}
			i++
		case startsWord(s, i) && (strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://")):
			n := urlLen(rest)
			b.WriteString("<" + escapeBare(rest[:n]) + ">")
			i += n
		case startsWord(s, i) && strings.HasPrefix(rest, "www.") && urlLen(rest) > 4:
			n := urlLen(rest)
			u := escapeBare(rest[:n])
			b.WriteString("<http://" + u + "|" + u + ">")
			i += n
		default:
			b.WriteByte(rest[0])
			i++
		}
	}
	return b.String()
}

func isControl(inner string) bool {
	if strings.ContainsAny(inner, "<\n ") {
		return false
	}
	switch inner[0] {
	case '!', '@', '#':
		return true
	}
	scheme, _, ok := strings.Cut(inner, ":")
	return ok && scheme != "" && !strings.ContainsAny(scheme, "/|&")
}

func startsWord(s string, i int) bool {
	return i == 0 || strings.IndexByte(" \t\n=(\"'`*_~", s[i-1]) >= 0
}

// urlLen is how far Slack's link detection runs: to a space, < > or |.
func urlLen(s string) int {
	n := strings.IndexAny(s, " \t\n<>|")
	if n < 0 {
		return len(s)
	}
	return n
}

func escapeBare(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		if u[i] == '&' && !(strings.HasPrefix(u[i:], "&amp;") || strings.HasPrefix(u[i:], "&lt;") || strings.HasPrefix(u[i:], "&gt;")) {
			b.WriteString("&amp;")
			continue
		}
		b.WriteByte(u[i])
	}
	return b.String()
}

func TestSlackStoreEscapesLikeSlack(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text stays", "hello *world*", "hello *world*"},
		{"stray & < > are escaped", "a & b < c > d", "a &amp; b &lt; c &gt; d"},
		{"entities stay", "&amp; &lt; &gt;", "&amp; &lt; &gt;"},
		{"mentions stay", "<!channel> <@U123> <#C1|general>", "<!channel> <@U123> <#C1|general>"},
		{"a bare URL is wrapped", "see http://x.example/a?b=1&c=2 now", "see <http://x.example/a?b=1&amp;c=2> now"},
		{"a www name is wrapped with its label", "at www.example.com", "at <http://www.example.com|www.example.com>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SlackStore(tt.in); got != tt.want {
				t.Errorf("SlackStore(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
