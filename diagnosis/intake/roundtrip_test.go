package intake_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
)

// MustRoundTrip renders alerts as one Alertmanager group with nightowl's
// template, passes the text through Slack (or not), parses it back and
// checks that every alert survived: labels, annotations, status, times,
// generator URL and the fingerprint Alertmanager computes.
func MustRoundTrip(t *testing.T, alerts []diagnosis.Alert, stored bool) {
	t.Helper()
	body := MustRender(t, alerts, []string{"namespace"}, alertmanager.Nightowl)
	res, err := intake.Parse(MustMessage(t, body, stored), received, intake.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Errorf("problems: %q", res.Problems)
	}
	byFingerprint := map[string]diagnosis.Alert{}
	for _, a := range res.Alerts {
		byFingerprint[a.Fingerprint] = a
	}
	if len(byFingerprint) != len(alerts) {
		t.Fatalf("got %d alerts back, want %d", len(byFingerprint), len(alerts))
	}
	for _, want := range alerts {
		want.Fingerprint = diagnosis.Fingerprint(want.Labels)
		want.Source, want.Count = diagnosis.SourceTemplate, 1
		if want.Status == diagnosis.Firing {
			want.EndsAt = time.Time{}
		}
		got, ok := byFingerprint[want.Fingerprint]
		if !ok {
			t.Errorf("alert %q is missing", want.Labels)
			continue
		}
		MustEqualAlerts(t, []diagnosis.Alert{got}, []diagnosis.Alert{want})
	}
}

func TestRoundTripOfTheBlackFridayStorm(t *testing.T) {
	storm := MustLoadStorm(t)
	resolved := make([]diagnosis.Alert, len(storm))
	for i, a := range storm {
		a.Status, a.EndsAt = diagnosis.Resolved, received.Add(time.Duration(i)*time.Millisecond)
		resolved[i] = a
	}
	tests := []struct {
		name   string
		alerts []diagnosis.Alert
		stored bool
	}{
		{"the firing storm survives Slack", storm, true},
		{"the firing storm reads the same before Slack", storm, false},
		{"the resolved storm survives Slack", resolved, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { MustRoundTrip(t, tt.alerts, tt.stored) })
	}
	t.Run("each alert alone survives Slack", func(t *testing.T) {
		for _, a := range storm {
			MustRoundTrip(t, []diagnosis.Alert{a}, true)
		}
	})
}

// nasty are the pieces random values are made of.
var nasty = []string{
	"=", "==", "\\", "\\n", "\\\\", "\n", "\r", "\r\n", "\t", " ", "&", "<", ">", "&amp;", "&lt;", "&gt;", "&#38;",
	"<!channel>", "<@U123>", "<#C1|general>", "|", "`", "```", "*", "_", "~", "\"", "'", "(", ")", "é", "🦉", "日本",
	"http://x.example/a?b=1&c=2", "https://wiki.example/rb|x", "www.example.com", "mailto:a@b.c", "#end", "\n#end\n",
	"#nightowl-alert v1", "label a=b", "annotation x=y", "generatorURL", "a", "Z", "0", "ok",
}

func randomString(r *rand.Rand, max int) string {
	var b strings.Builder
	for n := r.IntN(max + 1); n > 0; n-- {
		b.WriteString(nasty[r.IntN(len(nasty))])
	}
	return b.String()
}

func randomName(r *rand.Rand) string {
	if r.IntN(8) == 0 { // names Alertmanager 0.25 would refuse, but newer ones may send
		return "n" + randomString(r, 3)
	}
	const first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
	const rest = first + "0123456789"
	b := []byte{first[r.IntN(len(first))]}
	for n := r.IntN(12); n > 0; n-- {
		b = append(b, rest[r.IntN(len(rest))])
	}
	return string(b)
}

func randomAlert(r *rand.Rand, i int) diagnosis.Alert {
	a := diagnosis.Alert{
		Status:      diagnosis.Firing,
		Labels:      map[string]string{"alertname": "A" + randomString(r, 4)},
		Annotations: map[string]string{},
		StartsAt:    time.Unix(1_700_000_000+int64(i), int64(r.IntN(1e9))).UTC(),
	}
	for n := r.IntN(8); n > 0; n-- {
		a.Labels[randomName(r)] = randomString(r, 6)
	}
	for n := r.IntN(4); n > 0; n-- {
		a.Annotations[randomName(r)] = randomString(r, 12)
	}
	if r.IntN(2) == 0 {
		a.GeneratorURL = "http://prometheus:9090/graph?g0.expr=" + randomString(r, 3)
	}
	if r.IntN(3) == 0 {
		a.Status, a.EndsAt = diagnosis.Resolved, a.StartsAt.Add(time.Duration(r.IntN(1e12)))
	}
	a.Labels["alertname"] += "x" + strconv.Itoa(i) // unique: Alertmanager keeps one alert per label set
	return a
}

func TestRoundTripOfArbitraryValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 40; round++ {
		var alerts []diagnosis.Alert
		for i := 0; i < 10; i++ {
			alerts = append(alerts, randomAlert(r, i))
		}
		for _, stored := range []bool{true, false} {
			MustRoundTrip(t, alerts, stored)
		}
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
	}
}

func TestDefaultMessagesOfTheStormFindTheRootCause(t *testing.T) {
	storm := MustLoadStorm(t)
	hints := MustGraphHints(t)
	groupBy := []string{"alertname", "service"}
	read := func(alerts []diagnosis.Alert) map[string]diagnosis.Alert {
		out := map[string]diagnosis.Alert{}
		for _, g := range alertmanager.Groups("slack", groupBy, alerts, "http://am:9093") {
			body, err := alertmanager.SlackPayload(g, alertmanager.Default)
			if err != nil {
				t.Fatal(err)
			}
			res, err := intake.Parse(MustMessage(t, body, true), received, hints)
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != diagnosis.SourceDefault || len(res.Alerts) != 1 || len(res.Problems) > 0 {
				t.Fatalf("got %+v", res)
			}
			a := res.Alerts[0]
			out[g.GroupLabels["alertname"]+"/"+g.GroupLabels["service"]] = a
		}
		return out
	}
	firing := read(storm)
	if len(firing) != 27 {
		t.Errorf("got %d groups, want 27", len(firing))
	}
	count := 0
	for key, a := range firing {
		count += a.Count
		if a.Status != diagnosis.Firing || key != a.Name()+"/"+a.Service() {
			t.Errorf("group %s read as %s %s/%s", key, a.Status, a.Name(), a.Service())
		}
	}
	if count != len(storm) {
		t.Errorf("counts add up to %d, want %d", count, len(storm))
	}
	root := firing["DatabaseConnectionPoolExhausted/order-service"]
	if root.Severity() != diagnosis.SeverityCritical || !root.RootCauseCandidate() ||
		root.Labels["layer"] != "infrastructure" || root.Labels["runbook"] != "RB-DB-001" {
		t.Errorf("root cause read as %+v", root)
	}

	resolved := make([]diagnosis.Alert, len(storm))
	for i, a := range storm {
		a.Status, a.EndsAt = diagnosis.Resolved, received
		resolved[i] = a
	}
	for key, a := range read(resolved) {
		if a.Status != diagnosis.Resolved || a.Fingerprint != firing[key].Fingerprint {
			t.Errorf("group %s resolved as %s with fingerprint %s, fired with %s", key, a.Status, a.Fingerprint, firing[key].Fingerprint)
		}
	}
}

func TestParseReadsWhatAlertmanagerSent(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "captured", "am025-*.json"))
	if err != nil || len(files) != 12 {
		t.Fatalf("got captured files %v, %v; want 12 (go test -update ./deploy/alertmanager/ writes them)", files, err)
	}
	hints := MustGraphHints(t)
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		parts := strings.Split(name, "-") // am025, format, status, namespace
		wantFormat, wantStatus := diagnosis.SourceDefault, diagnosis.Status(parts[2])
		wantAlerts := map[string]int{"production": 1, "staging": 1, "long": 1}[parts[3]]
		if parts[1] == "nightowl" {
			wantFormat = diagnosis.SourceTemplate
			wantAlerts = map[string]int{"production": 10, "staging": 1, "long": 1}[parts[3]]
		}
		for _, stored := range []bool{false, true} {
			res, err := intake.Parse(MustMessage(t, body, stored), received, hints)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if res.Format != wantFormat || len(res.Alerts) != wantAlerts {
				t.Errorf("%s: got format %s with %d alerts, want %s with %d", name, res.Format, len(res.Alerts), wantFormat, wantAlerts)
			}
			for _, a := range res.Alerts {
				if a.Status != wantStatus {
					t.Errorf("%s: got status %s", name, a.Status)
				}
				if wantFormat == diagnosis.SourceTemplate && a.Fingerprint != diagnosis.Fingerprint(a.Labels) {
					t.Errorf("%s: fingerprint %s is not Alertmanager's for %v", name, a.Fingerprint, a.Labels)
				}
				if parts[3] == "staging" && wantFormat == diagnosis.SourceTemplate {
					mustBeTheNastyAlert(t, a)
				}
			}
		}
	}
}

// mustBeTheNastyAlert checks the escaping test alert of deploy/alertmanager's
// end-to-end test.
func mustBeTheNastyAlert(t *testing.T, a diagnosis.Alert) {
	t.Helper()
	want := map[string]string{
		"alertname": "NastyAlert",
		"namespace": "staging & <qa>",
		"job":       "nasty-job",
		"service":   "checkout-service",
		"severity":  "critical",
		"team":      "<!channel> & <@U123> <#C123|general>",
		"expr":      "rate(x[5m]) > 0.5 == a=b=c",
		"style":     "`code` *bold* _it_ ~strike~ > quote \\ back\\slash \\n not a newline",
		"unicode":   "ünïcödé ✓ 🦉 日本語",
	}
	wantAnn := map[string]string{
		"summary":     "Checkout <b>down</b> & \"quoted\" for <!here> — see https://status.example/x?a=1&b=2",
		"description": "line one\nline two\r\nline three with a tab\tand trailing space \n\nafter a blank line",
		"runbook_url": "https://wiki.example/rb?id=1&x=<y>",
		"empty":       "",
	}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, a.Labels[k], v)
		}
	}
	for k, v := range wantAnn {
		if got, ok := a.Annotations[k]; !ok || got != v {
			t.Errorf("annotation %s = %q, want %q", k, got, v)
		}
	}
	if a.GeneratorURL != "http://prometheus:9090/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+0&g0.tab=1" {
		t.Errorf("generatorURL = %q", a.GeneratorURL)
	}
}
