package alertmanager_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/deploy/golden"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// capture is a Slack webhook that records what it is sent.
type capture struct {
	*httptest.Server
	mu    sync.Mutex
	posts []captured
}

type captured struct {
	Path   string
	Header http.Header
	Body   []byte
}

func newCapture(tb testing.TB) *capture {
	c := &capture{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.posts = append(c.posts, captured{r.URL.Path, r.Header.Clone(), body})
		c.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok") // what Slack's incoming webhooks answer
	}))
	tb.Cleanup(c.Close)
	return c
}

func (c *capture) on(path string) []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []captured
	for _, p := range c.posts {
		if p.Path == path {
			out = append(out, p)
		}
	}
	return out
}

// MustTestConfig builds an Alertmanager configuration from the shipped
// alertmanager.yml: its route's group_by and its nightowl receiver, posting to
// webhook+"/nightowl", plus a receiver with the default templates posting to
// webhook+"/default", both fed every alert; group_wait and group_interval are
// one second.
func MustTestConfig(tb testing.TB, webhook string) (config []byte, groupBy []string) {
	tb.Helper()
	data, err := os.ReadFile("alertmanager.yml")
	if err != nil {
		tb.Fatal(err)
	}
	var shipped struct {
		Route struct {
			GroupBy []string `yaml:"group_by"`
		} `yaml:"route"`
		Receivers []struct {
			Name         string           `yaml:"name"`
			SlackConfigs []map[string]any `yaml:"slack_configs"`
		} `yaml:"receivers"`
	}
	if err := yaml.Unmarshal(data, &shipped); err != nil {
		tb.Fatal(err)
	}
	var slack map[string]any
	for _, r := range shipped.Receivers {
		if r.Name == "nightowl" && len(r.SlackConfigs) == 1 {
			slack = r.SlackConfigs[0]
		}
	}
	if slack == nil || len(shipped.Route.GroupBy) == 0 {
		tb.Fatal("alertmanager.yml has no route group_by or no nightowl receiver with one slack_configs entry")
	}
	slack["api_url"] = webhook + "/nightowl"
	tmpl, err := filepath.Abs("slack.tmpl")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := map[string]any{
		"templates": []string{tmpl},
		"route": map[string]any{
			"receiver":        "nightowl",
			"group_by":        shipped.Route.GroupBy,
			"group_wait":      "1s",
			"group_interval":  "1s",
			"repeat_interval": "1h",
			"routes": []map[string]any{
				{"receiver": "nightowl", "continue": true},
				{"receiver": "default"},
			},
		},
		"receivers": []map[string]any{
			{"name": "nightowl", "slack_configs": []map[string]any{slack}},
			{"name": "default", "slack_configs": []map[string]any{{"api_url": webhook + "/default", "send_resolved": true}}},
		},
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return out, shipped.Route.GroupBy
}

// e2eAlerts is a slice of the Black Friday storm moved to now, a nasty alert
// that exercises escaping, and an alert whose title is too long for Slack.
func e2eAlerts(storm []diagnosis.Alert, now time.Time) []diagnosis.Alert {
	last := storm[len(storm)-1].StartsAt
	var out []diagnosis.Alert
	for _, i := range []int{0, 2, 4, 7, 8, 11, 17, 19, 30} { // services, pods, instances, topics, fewer labels, the root cause
		a := storm[i]
		a.StartsAt = now.Add(-time.Minute + a.StartsAt.Sub(last)).Truncate(time.Millisecond)
		a.Fingerprint = ""
		out = append(out, a)
	}
	out = append(out, diagnosis.Alert{
		Status:   diagnosis.Firing,
		Labels:   map[string]string{"alertname": "TargetDown", "job": "kubernetes-pods", "namespace": "production", "service": "order-service", "severity": "warning"},
		StartsAt: now.Add(-40 * time.Second).Truncate(time.Millisecond),
	}, diagnosis.Alert{
		Status: diagnosis.Firing,
		Labels: map[string]string{
			"alertname": "NastyAlert",
			"namespace": "staging & <qa>",
			"job":       "nasty-job",
			"service":   "checkout-service",
			"severity":  "critical",
			"team":      "<!channel> & <@U123> <#C123|general>",
			"expr":      "rate(x[5m]) > 0.5 == a=b=c",
			"style":     "`code` *bold* _it_ ~strike~ > quote \\ back\\slash \\n not a newline",
			"unicode":   "ünïcödé ✓ 🦉 日本語",
		},
		Annotations: map[string]string{
			"summary":     "Checkout <b>down</b> & \"quoted\" for <!here> — see https://status.example/x?a=1&b=2",
			"description": "line one\nline two\r\nline three with a tab\tand trailing space \n\nafter a blank line",
			"runbook_url": "https://wiki.example/rb?id=1&x=<y>",
			"empty":       "",
		},
		StartsAt:     now.Add(-30 * time.Second).Truncate(time.Millisecond),
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+0&g0.tab=1",
	}, diagnosis.Alert{
		Status:   diagnosis.Firing,
		Labels:   map[string]string{"alertname": "LongLabel", "namespace": "long", "detail": strings.Repeat("é", 1100)},
		StartsAt: now.Add(-20 * time.Second).Add(123456789 * time.Nanosecond).Truncate(time.Millisecond),
	})
	return out
}

func TestAlertmanagerPostsWhatSlackPayloadRenders(t *testing.T) {
	webhook := newCapture(t)
	config, groupBy := MustTestConfig(t, webhook.URL)
	am := testbed.MustStartAlertmanager(t, config)

	now := time.Now().UTC()
	alerts := e2eAlerts(MustLoadStorm(t), now)
	am.MustPostAlerts(t, alerts)
	mustReceive(t, webhook, expect(t, alerts, groupBy, am.URL))

	// Resolve them all; Alertmanager sends each group once more.
	resolvedAt := time.Now().Add(-time.Second).UTC().Truncate(time.Millisecond)
	resolved := make([]diagnosis.Alert, len(alerts))
	for i, a := range alerts {
		a.Status, a.EndsAt = diagnosis.Resolved, resolvedAt
		resolved[i] = a
	}
	am.MustPostAlerts(t, resolved)
	mustReceive(t, webhook, expect(t, resolved, groupBy, am.URL))
}

// mustReceive waits until the webhook got each expected body, byte for byte.
func mustReceive(t *testing.T, webhook *capture, exps []expectation) {
	t.Helper()
	for _, tt := range exps {
		t.Run(tt.name, func(t *testing.T) {
			got := testbed.WaitFor(t, 10*time.Second, "Alertmanager to post "+tt.name, func() (captured, bool) {
				for _, p := range webhook.on(tt.path) {
					if bytes.Equal(p.Body, tt.want) {
						return p, true
					}
				}
				return captured{}, false
			})
			if ct, ua := got.Header.Get("Content-Type"), got.Header.Get("User-Agent"); ct != "application/json" || ua != "Alertmanager/0.25.0" {
				t.Errorf("got Content-Type %q User-Agent %q", ct, ua)
			}
			if golden.Updating() {
				MustSaveCapture(t, tt.file, got.Body)
			}
		})
	}
	if t.Failed() {
		reportClosest(t, webhook, exps)
	}
}

// expectation is one Slack post the test waits for.
type expectation struct {
	name, path, file string
	want             []byte
}

func expect(t *testing.T, alerts []diagnosis.Alert, groupBy []string, amURL string) []expectation {
	var out []expectation
	for _, f := range []alertmanager.Format{alertmanager.Nightowl, alertmanager.Default} {
		for _, g := range alertmanager.Groups(f.String(), groupBy, alerts, amURL) {
			ns := g.GroupLabels["namespace"]
			name := fmt.Sprintf("%s %s group %q of %d", f, g.Status, ns, len(g.Alerts))
			file := fmt.Sprintf("am025-%s-%s-%s.json", f, g.Status, strings.Fields(ns)[0])
			out = append(out, expectation{name, "/" + f.String(), file, MustPayload(t, g, f)})
		}
	}
	return out
}

// reportClosest explains a mismatch field by field.
func reportClosest(t *testing.T, webhook *capture, exps []expectation) {
	for _, e := range exps {
		want := MustDecode(t, e.want).Attachments[0]
		for _, p := range webhook.on(e.path) {
			got := MustDecode(t, p.Body).Attachments[0]
			if bytes.Equal(p.Body, e.want) || got.Title != want.Title {
				continue
			}
			t.Logf("%s: Alertmanager sent a different body with the same title:\n text: %s\n fallback: %s\n body: %s\n want: %s",
				e.name, golden.Diff(want.Text, got.Text), golden.Diff(want.Fallback, got.Fallback), p.Body, e.want)
		}
	}
}

// MustSaveCapture stores a real Alertmanager body as a fixture of
// diagnosis/intake, which decodes what Alertmanager sends.
func MustSaveCapture(tb testing.TB, name string, body []byte) {
	tb.Helper()
	dir := filepath.Join("..", "..", "diagnosis", "intake", "testdata", "captured")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestShippedConfigPassesAmtool(t *testing.T) {
	amtool := testbed.MustFindBinary(t, "apt-get install prometheus-alertmanager", "amtool")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, amtool, "check-config", "alertmanager.yml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
}
