package metrics_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
)

// ruleFile is the part of a Prometheus rule file the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func mustPromtool(tb testing.TB, args ...string) string {
	tb.Helper()
	bin := testbed.MustFindBinary(tb, "apt-get install prometheus", "promtool")
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Dir(rulesFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtoolChecksTheRules(t *testing.T) {
	out := mustPromtool(t, "check", "rules", filepath.Base(rulesFile))
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules:\n%s", out)
	}
}

// TestPromtoolUnitTestsProveTheAlertsFire runs nightowl-rules.test.yaml:
// NightowlDown when every replica is down or none is scraped,
// NightowlSocketDisconnected after 2m without any connection, and the others.
func TestPromtoolUnitTestsProveTheAlertsFire(t *testing.T) {
	out := mustPromtool(t, "test", "rules", filepath.Base(rulesTestFile))
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}
	tests := string(mustRead(t, rulesTestFile))
	for _, alert := range []string{"NightowlDown", "NightowlSocketDisconnected"} {
		if !strings.Contains(tests, "alertname: "+alert) {
			t.Errorf("%s has no unit test for %s", rulesTestFile, alert)
		}
	}
}

func TestEveryRuleSaysHowBadAndWhereToRead(t *testing.T) {
	var f ruleFile
	if err := yaml.Unmarshal(mustRead(t, rulesFile), &f); err != nil {
		t.Fatal(err)
	}
	docs := anchors(string(mustRead(t, docsFile)))
	const docsURL = "https://github.com/nightowl-sre/nightowl/blob/main/docs/metrics.md#"
	var alerts []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.For == "" {
				t.Errorf("%s has no for:", r.Alert)
			}
			if !slices.Contains([]string{"critical", "warning", "none"}, r.Labels["severity"]) {
				t.Errorf("%s has severity %q, want critical, warning or none", r.Alert, r.Labels["severity"])
			}
			if r.Labels["component"] != "nightowl" {
				t.Errorf("%s has no component=nightowl label to route it around nightowl", r.Alert)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("%s has no summary", r.Alert)
			}
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], docsURL)
			if !ok || !docs[anchor] {
				t.Errorf("%s: runbook_url %q is not a heading of docs/metrics.md", r.Alert, r.Annotations["runbook_url"])
			}
		}
	}
	for _, want := range []string{"NightowlDown", "NightowlSocketDisconnected", "NightowlCardPostFailures",
		"NightowlSlackRateLimited", "NightowlRunbookFailures", "NightowlStoreErrors", "NightowlWatchdog"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no rule %s", want)
		}
	}
}

func TestRulesSelectOnlyMetricsTheRegistryDefines(t *testing.T) {
	var f ruleFile
	if err := yaml.Unmarshal(mustRead(t, rulesFile), &f); err != nil {
		t.Fatal(err)
	}
	known := knownNames()
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			for _, name := range metricsIn(r.Expr) {
				if !known[name] {
					t.Errorf("%s selects %s, which nightowl does not expose", r.Alert, name)
				}
			}
		}
	}
}
