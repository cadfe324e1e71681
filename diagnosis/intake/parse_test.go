package intake_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
)

// inBlock wraps machine lines as the template does: a human line, a fence.
func inBlock(lines ...string) intake.Message {
	text := "*FIRING* something\n```\n" + strings.Join(lines, "\n") + "\n```"
	return intake.Message{Attachments: []intake.Attachment{{Title: "[FIRING:1] x", Text: text}}}
}

func TestParseReadsNightowlBlocks(t *testing.T) {
	start := time.Date(2024, 11, 29, 23, 48, 0, 0, time.UTC)
	end := time.Date(2024, 11, 30, 0, 10, 0, 500_000_000, time.UTC)
	tests := []struct {
		name     string
		msg      intake.Message
		want     []diagnosis.Alert
		problems int
	}{
		{
			name: "a firing block yields every label, annotation and the generator URL",
			msg: inBlock("#nightowl-alert v1 status=firing fingerprint=00000000000bf002 startsAt=2024-11-29T23:48:00Z",
				"label alertname=DatabaseConnectionPoolExhausted", "label service=order-service",
				"annotation summary=DB connection pool at 95/100", "generatorURL <http://prometheus.monitoring:9090/graph>", "#end"),
			want: []diagnosis.Alert{{Fingerprint: "00000000000bf002", Status: diagnosis.Firing,
				Labels:      map[string]string{"alertname": "DatabaseConnectionPoolExhausted", "service": "order-service"},
				Annotations: map[string]string{"summary": "DB connection pool at 95/100"}, StartsAt: start,
				GeneratorURL: "http://prometheus.monitoring:9090/graph", Source: diagnosis.SourceTemplate, Count: 1}},
		},
		{
			name: "a resolved block carries endsAt with its fraction",
			msg: inBlock("#nightowl-alert v1 status=resolved fingerprint=abc startsAt=2024-11-29T23:48:00Z endsAt=2024-11-30T00:10:00.5Z",
				"label alertname=A", "#end"),
			want: []diagnosis.Alert{{Fingerprint: "abc", Status: diagnosis.Resolved, Labels: map[string]string{"alertname": "A"},
				StartsAt: start, EndsAt: end, Source: diagnosis.SourceTemplate, Count: 1}},
		},
		{
			name: "escaped values keep =, backslashes, newlines and & < > whether Slack escaped them or not",
			msg: inBlock("#nightowl-alert v1 status=firing fingerprint=f startsAt=2024-11-29T23:48:00Z",
				`label alertname=A`, `label expr=a=b==c`, `label path=C:\\dir\\n`, `label we\=ird=x`,
				`annotation description=line one\nline two\r\n&lt;!channel&gt; &amp;lt; a & b < c`, "#end"),
			want: []diagnosis.Alert{{Fingerprint: "f", Status: diagnosis.Firing,
				Labels:      map[string]string{"alertname": "A", "expr": "a=b==c", `path`: `C:\dir\n`, "we=ird": "x"},
				Annotations: map[string]string{"description": "line one\nline two\r\n<!channel> &lt; a & b < c"},
				StartsAt:    start, Source: diagnosis.SourceTemplate, Count: 1}},
		},
		{
			name: "links Slack made are unwrapped to what was written",
			msg: inBlock("#nightowl-alert v1 status=firing fingerprint=f startsAt=2024-11-29T23:48:00Z",
				"label alertname=A", "label host=<http://api.example.com|api.example.com>",
				"annotation runbook=<https://wiki.example/rb?id=1&amp;x=2>", "annotation mail=<mailto:oncall@example.com|oncall@example.com>", "#end"),
			want: []diagnosis.Alert{{Fingerprint: "f", Status: diagnosis.Firing,
				Labels:      map[string]string{"alertname": "A", "host": "api.example.com"},
				Annotations: map[string]string{"runbook": "https://wiki.example/rb?id=1&x=2", "mail": "oncall@example.com"},
				StartsAt:    start, Source: diagnosis.SourceTemplate, Count: 1}},
		},
		{
			name: "a block without a fingerprint gets the fingerprint of its labels",
			msg:  inBlock("#nightowl-alert v1 status=firing startsAt=2024-11-29T23:48:00Z", "label alertname=A", "label service=s", "#end"),
			want: []diagnosis.Alert{{Fingerprint: diagnosis.Fingerprint(map[string]string{"alertname": "A", "service": "s"}), Status: diagnosis.Firing,
				Labels: map[string]string{"alertname": "A", "service": "s"}, StartsAt: start, Source: diagnosis.SourceTemplate, Count: 1}},
		},
		{
			name: "unknown header keys and lines are ignored, and so is an endsAt on a firing alert",
			msg: inBlock("#nightowl-alert v1 status=firing fingerprint=f startsAt=2024-11-29T23:48:00Z endsAt=2024-11-30T00:10:00Z team=x",
				"label alertname=A", "silencedBy 123", "#end"),
			want: []diagnosis.Alert{{Fingerprint: "f", Status: diagnosis.Firing, Labels: map[string]string{"alertname": "A"},
				StartsAt: start, Source: diagnosis.SourceTemplate, Count: 1}},
		},
		{
			name: "the #am-alert marker of the earlier proposal reads the same",
			msg:  inBlock("#am-alert v1 status=firing fingerprint=f startsAt=2024-11-29T23:48:00Z", "label alertname=A", "#end"),
			want: []diagnosis.Alert{{Fingerprint: "f", Status: diagnosis.Firing, Labels: map[string]string{"alertname": "A"},
				StartsAt: start, Source: diagnosis.SourceTemplate, Count: 1}},
		},
		{
			name: "blocks in the message text count too",
			msg:  intake.Message{Text: "#nightowl-alert v1 status=firing fingerprint=f startsAt=2024-11-29T23:48:00Z\r\nlabel alertname=A\r\n#end\r\n"},
			want: []diagnosis.Alert{{Fingerprint: "f", Status: diagnosis.Firing, Labels: map[string]string{"alertname": "A"},
				StartsAt: start, Source: diagnosis.SourceTemplate, Count: 1}},
		},
		{
			name: "a block missing #end is skipped and the next one still parses",
			msg: inBlock("#nightowl-alert v1 status=firing fingerprint=a startsAt=2024-11-29T23:48:00Z", "label alertname=A",
				"#nightowl-alert v1 status=firing fingerprint=b startsAt=2024-11-29T23:48:00Z", "label alertname=B", "#end"),
			want: []diagnosis.Alert{{Fingerprint: "b", Status: diagnosis.Firing, Labels: map[string]string{"alertname": "B"},
				StartsAt: start, Source: diagnosis.SourceTemplate, Count: 1}},
			problems: 1,
		},
		{
			name: "bad timestamps, missing alertnames, bad lines, odd versions and repeats are skipped one by one",
			msg: inBlock(
				"#nightowl-alert v1 status=firing fingerprint=a startsAt=yesterday", "label alertname=A", "#end",
				"#nightowl-alert v1 status=resolved fingerprint=a startsAt=2024-11-29T23:48:00Z endsAt=soon", "label alertname=A", "#end",
				"#nightowl-alert v1 status=firing fingerprint=b startsAt=2024-11-29T23:48:00Z", "label service=s", "#end",
				"#nightowl-alert v1 status=firing fingerprint=c startsAt=2024-11-29T23:48:00Z", "label alertname", "#end",
				"#nightowl-alert v2 status=firing fingerprint=d startsAt=2024-11-29T23:48:00Z", "label alertname=D", "#end",
				"#nightowl-alert v1 status=pending fingerprint=e startsAt=2024-11-29T23:48:00Z", "label alertname=E", "#end",
				"#nightowl-alert v1 status=firing fingerprint=f startsAt=2024-11-29T23:48:00Z", "label alertname=F", "#end",
				"#nightowl-alert v1 status=firing fingerprint=f startsAt=2024-11-29T23:48:00Z", "label alertname=F", "#end",
				"#nightowl-alert v1 status=firing fingerprint=g startsAt=2024-11-29T23:48:00Z", "label alertname=G", "```"),
			want: []diagnosis.Alert{{Fingerprint: "f", Status: diagnosis.Firing, Labels: map[string]string{"alertname": "F"},
				StartsAt: start, Source: diagnosis.SourceTemplate, Count: 1}},
			problems: 8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := intake.Parse(tt.msg, received, intake.Hints{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != diagnosis.SourceTemplate {
				t.Errorf("got format %q", got.Format)
			}
			MustEqualAlerts(t, got.Alerts, tt.want)
			if len(got.Problems) != tt.problems {
				t.Errorf("got %d problems, want %d: %q", len(got.Problems), tt.problems, got.Problems)
			}
			for _, p := range got.Problems {
				if !strings.HasPrefix(p, "Skipped the alert block on line ") || !strings.HasSuffix(p, ".") {
					t.Errorf("problem %q is not a sentence saying what was skipped", p)
				}
			}
		})
	}
}

func TestParseFailsWhenEveryBlockIsBad(t *testing.T) {
	msg := inBlock("#nightowl-alert v1 status=firing startsAt=2024-11-29T23:48:00Z", "label service=s", "#end",
		"#nightowl-alert v1 status=firing startsAt=never", "label alertname=A", "#end")
	res, err := intake.Parse(msg, received, intake.Hints{})
	if err == nil || errors.Is(err, intake.ErrNotAlert) {
		t.Fatalf("got %v, want an error that is not ErrNotAlert", err)
	}
	for _, why := range []string{"no alertname", `startsAt "never"`} {
		if !strings.Contains(err.Error(), why) {
			t.Errorf("error %q does not say %q", err, why)
		}
	}
	if len(res.Problems) != 2 {
		t.Errorf("got problems %q", res.Problems)
	}
}

func TestParseReadsAlertmanagersDefaultTitle(t *testing.T) {
	hints := MustGraphHints(t)
	bf := func(labels map[string]string, status diagnosis.Status, count int) diagnosis.Alert {
		a := diagnosis.Alert{Fingerprint: diagnosis.Fingerprint(labels), Status: status, Labels: labels,
			StartsAt: received, Source: diagnosis.SourceDefault, Count: count}
		if status == diagnosis.Resolved {
			a.EndsAt = received
		}
		return a
	}
	rootCause := map[string]string{"alertname": "DatabaseConnectionPoolExhausted", "service": "order-service",
		"unnamed_2": "postgres-rds", "unnamed_3": "resource", "layer": "infrastructure", "unnamed_5": "production",
		"root_cause_candidate": "true", "runbook": "RB-DB-001", "severity": "critical"}
	tests := []struct {
		name  string
		title string
		color string
		hints intake.Hints
		want  diagnosis.Alert
		probs int
	}{
		{"a firing title yields one alert counting the group's firing alerts",
			"[FIRING:2] HighErrorRate checkout-service (critical)", "danger", hints,
			bf(map[string]string{"alertname": "HighErrorRate", "service": "checkout-service", "severity": "critical"}, diagnosis.Firing, 2), 0},
		{"label names are guessed from the words and the service graph",
			"[FIRING:1] DatabaseConnectionPoolExhausted order-service (postgres-rds resource infrastructure production true RB-DB-001 critical)", "a30200", hints,
			bf(rootCause, diagnosis.Firing, 1), 0},
		{"the resolved title of the same group has the same fingerprint",
			"[RESOLVED] DatabaseConnectionPoolExhausted order-service (postgres-rds resource infrastructure production true RB-DB-001 critical)", "good", hints,
			bf(rootCause, diagnosis.Resolved, 1), 0},
		{"status comes from the title, never from the color",
			"[RESOLVED] HighErrorRate checkout-service", "danger", hints,
			bf(map[string]string{"alertname": "HighErrorRate", "service": "checkout-service"}, diagnosis.Resolved, 1), 0},
		{"without the graph the first unclaimed group value is the service",
			"[FIRING:3] HighErrorRate checkout warning (production)", "danger", intake.Hints{},
			bf(map[string]string{"alertname": "HighErrorRate", "service": "checkout", "severity": "warning", "unnamed_3": "production"}, diagnosis.Firing, 3), 0},
		{"a value the graph does not know is not a service",
			"[FIRING:1] HighErrorRate checkout (critical)", "danger", hints,
			bf(map[string]string{"alertname": "HighErrorRate", "unnamed_1": "checkout", "severity": "critical"}, diagnosis.Firing, 1), 0},
		{"a group without group labels still names its alert",
			"[FIRING:1]  (KafkaLag notification-service)", "danger", hints,
			bf(map[string]string{"alertname": "KafkaLag", "service": "notification-service"}, diagnosis.Firing, 1), 0},
		{"Slack's escaping is undone first",
			"[FIRING:1] Disk&amp;Net &lt;node-1&gt; ", "danger", intake.Hints{},
			bf(map[string]string{"alertname": "Disk&Net", "service": "<node-1>"}, diagnosis.Firing, 1), 0},
		{"a title Alertmanager cut short is read with a problem",
			"[FIRING:1] LongLabel long (ééé…", "danger", intake.Hints{},
			bf(map[string]string{"alertname": "LongLabel", "service": "long", "unnamed_2": "(ééé…"}, diagnosis.Firing, 1), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := intake.Message{Attachments: []intake.Attachment{{Title: tt.title, Color: tt.color, TitleLink: "http://am/#/alerts?receiver=x"}}}
			got, err := intake.Parse(msg, received, tt.hints)
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != diagnosis.SourceDefault || len(got.Problems) != tt.probs {
				t.Errorf("got format %q problems %q", got.Format, got.Problems)
			}
			if len(got.Alerts) == 1 && got.Alerts[0].Fingerprint == "" {
				t.Errorf("no fingerprint")
			}
			tt.want.Fingerprint = got.Alerts[0].Fingerprint // identity is tested below
			MustEqualAlerts(t, got.Alerts, []diagnosis.Alert{tt.want})
		})
	}
}

func TestDefaultTitlesOfOneGroupShareAFingerprint(t *testing.T) {
	hints := MustGraphHints(t)
	fp := func(title string) string {
		t.Helper()
		res, err := intake.Parse(intake.Message{Attachments: []intake.Attachment{{Title: title}}}, received, hints)
		if err != nil || len(res.Alerts) != 1 {
			t.Fatalf("parse %q: %v %+v", title, err, res)
		}
		return res.Alerts[0].Fingerprint
	}
	first := fp("[FIRING:1] ServiceErrorRateHigh inventory-service (application production warning)")
	same := []string{
		"[FIRING:2] ServiceErrorRateHigh inventory-service (application production)",
		"[RESOLVED] ServiceErrorRateHigh inventory-service (application production critical)",
	}
	for _, title := range same {
		if got := fp(title); got != first {
			t.Errorf("%q has fingerprint %s, want the group's %s", title, got, first)
		}
	}
	if other := fp("[FIRING:1] ServiceErrorRateHigh payment-service (application production warning)"); other == first {
		t.Errorf("another group shares fingerprint %s", first)
	}
}

func TestParseRejectsWhatIsNotAnAlert(t *testing.T) {
	tests := []struct {
		name string
		msg  intake.Message
	}{
		{"an empty message", intake.Message{}},
		{"a person talking", intake.Message{Text: "is checkout down for anyone else? [FIRING:2] lol"}},
		{"another bot's attachment", intake.Message{Attachments: []intake.Attachment{{Title: "Deploy of checkout finished", Text: "v1.2.3 is live"}}}},
		{"a title with a status word but no count", intake.Message{Attachments: []intake.Attachment{{Title: "[FIRING] HighErrorRate"}}}},
		{"a resolved title with a count", intake.Message{Attachments: []intake.Attachment{{Title: "[RESOLVED:2] HighErrorRate"}}}},
		{"a title glued to its status", intake.Message{Attachments: []intake.Attachment{{Title: "[FIRING:2]HighErrorRate"}}}},
		{"a marker that is only a prefix", intake.Message{Text: "#nightowl-alerts v1 status=firing\nlabel alertname=A\n#end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := intake.Parse(tt.msg, received, intake.Hints{})
			if !errors.Is(err, intake.ErrNotAlert) {
				t.Errorf("got %+v, %v; want ErrNotAlert", got, err)
			}
		})
	}
}

func TestParseFailsOnADefaultTitleWithoutValues(t *testing.T) {
	msg := intake.Message{Attachments: []intake.Attachment{{Title: "[FIRING:2] "}}}
	if _, err := intake.Parse(msg, received, intake.Hints{}); err == nil || errors.Is(err, intake.ErrNotAlert) {
		t.Errorf("got %v, want an error saying the title names no alert", err)
	}
}

func TestUnescapeUndoesSlacksStorageFormat(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text is unchanged", "a = b * c", "a = b * c"},
		{"entities become characters", "a &amp; b &lt;c&gt;", "a & b <c>"},
		{"entities are undone once", "&amp;lt; &amp;amp;", "&lt; &amp;"},
		{"a stray ampersand stays", "R&D &co; &", "R&D &co; &"},
		{"a wrapped URL is unwrapped", "see <http://x.example/a?b=1&amp;c=2> now", "see http://x.example/a?b=1&c=2 now"},
		{"an explicit link yields its URL", "<https://wiki.example/rb|the runbook>", "https://wiki.example/rb"},
		{"an auto-linked name yields what was written", "<http://www.example.com|www.example.com>", "www.example.com"},
		{"an auto-linked mail address yields the address", "<mailto:bob@example.com|bob@example.com>", "bob@example.com"},
		{"mentions and channels stay", "<!channel> <@U123> <#C1|general> <!subteam^S1|@sre>", "<!channel> <@U123> <#C1|general> <!subteam^S1|@sre>"},
		{"an unterminated link stays", "<http://x.example", "<http://x.example"},
		{"angle brackets that are no link stay", "a <b> c", "a <b> c"},
		{"unicode passes", "ünï <https://ü.example|ü.example> ✓", "ünï ü.example ✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := intake.Unescape(tt.in); got != tt.want {
				t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// MustEqualAlerts compares alerts field by field, times with Equal and nil
// maps as empty.
func MustEqualAlerts(tb testing.TB, got, want []diagnosis.Alert) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d alerts, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.StartsAt.Equal(w.StartsAt) || !g.EndsAt.Equal(w.EndsAt) {
			tb.Errorf("alert %d: got times %v–%v, want %v–%v", i, g.StartsAt, g.EndsAt, w.StartsAt, w.EndsAt)
		}
		g.StartsAt, g.EndsAt, w.StartsAt, w.EndsAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		g.Labels, w.Labels = orEmpty(g.Labels), orEmpty(w.Labels)
		g.Annotations, w.Annotations = orEmpty(g.Annotations), orEmpty(w.Annotations)
		if !reflect.DeepEqual(g, w) {
			tb.Errorf("alert %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
