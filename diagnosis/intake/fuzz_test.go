package intake_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// capturedTexts returns the title and text of every message Alertmanager
// sent in deploy/alertmanager's end-to-end test.
func capturedTexts(tb testing.TB) [][2]string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "captured", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][2]string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var b slackBody
		if err := json.Unmarshal(data, &b); err != nil {
			tb.Fatal(err)
		}
		for _, a := range b.Attachments {
			out = append(out, [2]string{a.Title, a.Text})
		}
	}
	return out
}

// MustBeSane checks what Parse promises for any input.
func MustBeSane(t *testing.T, res intake.Result, err error) {
	t.Helper()
	if err != nil {
		if len(res.Alerts) > 0 {
			t.Errorf("an error with %d alerts", len(res.Alerts))
		}
		return
	}
	if res.Format != diagnosis.SourceTemplate && res.Format != diagnosis.SourceDefault {
		t.Errorf("format %q", res.Format)
	}
	if len(res.Alerts) == 0 {
		t.Error("no error and no alerts")
	}
	for _, a := range res.Alerts {
		if a.Name() == "" || a.Fingerprint == "" || a.Count < 1 || a.Source != res.Format ||
			(a.Status != diagnosis.Firing && a.Status != diagnosis.Resolved) ||
			(a.Status == diagnosis.Firing && !a.EndsAt.IsZero()) {
			t.Errorf("bad alert %+v", a)
		}
	}
	for _, p := range res.Problems {
		if !strings.HasSuffix(p, ".") {
			t.Errorf("problem %q is not a sentence", p)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range capturedTexts(f) {
		f.Add(tt[0], tt[1])
		f.Add(SlackStore(tt[0]), SlackStore(tt[1]))
		if len(tt[1]) > 200 {
			f.Add(tt[0], tt[1][:len(tt[1])/2]) // cut short, as Slack does past 40,000 characters
		}
	}
	for _, s := range [][2]string{
		{"", ""},
		{"[FIRING:1] ", ""},
		{"[FIRING:99999999999999999999] a", ""},
		{"[RESOLVED] a (b", "#nightowl-alert"},
		{"hello", "```\n#nightowl-alert v1 status=firing startsAt=2024-01-01T00:00:00Z\nlabel alertname=\\\nlabel =x\n#end```"},
		{"", "#am-alert v1\n#end\n#end\n#nightowl-alert\nlabel alertname=a\\\n#end"},
		{"&lt;&amp;", "<http://x|<http://y>>&amp&lt"},
		{"\xff\xfe", "#nightowl-alert v1 status=resolved startsAt=2024-01-01T00:00:00Z endsAt=x\nlabel alertname=\xff\n#end"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, title, text string) {
		for _, m := range []intake.Message{
			{Attachments: []intake.Attachment{{Title: title, Text: text}}},
			{Text: text, Attachments: []intake.Attachment{{Title: title}}},
		} {
			res, err := intake.Parse(m, received, MustGraphHintsOnce(t))
			MustBeSane(t, res, err)
			if err == nil && errors.Is(err, intake.ErrNotAlert) {
				t.Error("impossible")
			}
		}
		if u := intake.Unescape(text); utf8.ValidString(text) && !utf8.ValidString(u) {
			t.Errorf("Unescape made invalid UTF-8 of %q", text)
		}
	})
}

var hintsOnce intake.Hints

// MustGraphHintsOnce loads the graph hints once per fuzzing process.
func MustGraphHintsOnce(t *testing.T) intake.Hints {
	if hintsOnce.IsService == nil {
		hintsOnce = MustGraphHints(t)
	}
	return hintsOnce
}

func FuzzWebhook(f *testing.F) {
	f.Add(scenarios.BlackFriday)
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"alerts":null}`, `{"version":"4","alerts":[{}]}`,
		`[{"labels":{"alertname":"A"},"startsAt":"2026-11-27T08:50:16Z","status":{"state":"active"}}]`,
		`[{"labels":{"alertname":"A"},"startsAt":"2026-11-27T08:50:16Z","endsAt":"2000-01-01T00:00:00Z"}]`,
		`[{"labels":{"alertname":"A"},"startsAt":"2026-11-27T08:50:16Z","status":[1]}]`,
		"\ufeff[{\"labels\":{\"alertname\":\"\\u0000\"},\"startsAt\":\"2026-11-27T08:50:16.999999999+14:00\"}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		alerts, err := intake.ParseWebhook(data)
		if err != nil {
			return
		}
		for _, a := range alerts {
			if a.Name() == "" || a.Fingerprint == "" || a.Source != diagnosis.SourceWebhook ||
				(a.Status != diagnosis.Firing && a.Status != diagnosis.Resolved) ||
				(a.Status == diagnosis.Firing && !a.EndsAt.IsZero()) {
				t.Errorf("bad alert %+v", a)
			}
		}
	})
}
