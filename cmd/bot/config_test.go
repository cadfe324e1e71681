package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func validEnv() map[string]string {
	return map[string]string{"SLACK_APP_TOKEN": "xapp-1", "SLACK_BOT_TOKEN": "xoxb-1", "ALERTS_CHANNEL": "C0ALERTS", "ALERT_SOURCES": "B0ALERTMGR"}
}

func TestConfigReportsEachProblemInOneSentence(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		want []string // one error line each
	}{
		{"a missing app token", map[string]string{"SLACK_APP_TOKEN": ""}, []string{"SLACK_APP_TOKEN is not set"}},
		{"a bot token where the app token goes", map[string]string{"SLACK_APP_TOKEN": "xoxb-2"}, []string{"SLACK_APP_TOKEN holds a bot token (xoxb-…)"}},
		{"an app token where the bot token goes", map[string]string{"SLACK_BOT_TOKEN": "xapp-2"}, []string{"SLACK_BOT_TOKEN holds an app-level token (xapp-…)"}},
		{"a user token", map[string]string{"SLACK_BOT_TOKEN": "xoxp-2"}, []string{"SLACK_BOT_TOKEN holds a user token"}},
		{"an unparsable duration", map[string]string{"GROUP_WAIT": "ten seconds"}, []string{`GROUP_WAIT "ten seconds" is not a duration`}},
		{"an unreadable graph file", map[string]string{"SERVICE_GRAPH": "/nonexistent/graph.yaml"}, []string{"SERVICE_GRAPH: read service graph"}},
		{"a channel name instead of an ID", map[string]string{"ALERTS_CHANNEL": "#alerts"}, []string{`ALERTS_CHANNEL "#alerts" is not a channel ID`}},
		{"a bad approver", map[string]string{"APPROVERS": "U0OK,alice"}, []string{`APPROVERS entry "alice"`}},
		{"an unknown LLM provider", map[string]string{"LLM_PROVIDER": "gpt"}, []string{`LLM_PROVIDER "gpt"`}},
		{"no alert sources", map[string]string{"ALERT_SOURCES": ""}, []string{"ALERT_SOURCES is not set: give the bot ID (B…) of Alertmanager's Slack webhook"}},
		{"any among bot IDs", map[string]string{"ALERT_SOURCES": "B0AM,any"}, []string{`ALERT_SOURCES entry "any"`}},
		{"an Alertmanager URL without a scheme", map[string]string{"ALERTMANAGER_URL": "alertmanager:9093"}, []string{"ALERTMANAGER_URL is not an http(s) URL such as http://alertmanager:9093"}},
		{"a PROMQL_ALLOW that is no regular expression", map[string]string{"PROMQL_ALLOW": "http_(requests"}, []string{`PROMQL_ALLOW "http_(requests" is not a regular expression`}},
		{"an unknown log format", map[string]string{"LOG_FORMAT": "logfmt"}, []string{`LOG_FORMAT "logfmt" is not one of text, json`}},
		{"several problems at once", map[string]string{"SLACK_APP_TOKEN": "", "GROUP_WAIT": "x", "LOG_LEVEL": "loud"},
			[]string{"SLACK_APP_TOKEN is not set", `GROUP_WAIT "x"`, `LOG_LEVEL "loud"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := validEnv()
			for k, v := range tc.set {
				env[k] = v
			}
			_, _, err := LoadConfig("run", nil, envOf(env), io.Discard, needSlack)
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Errorf("got %d problems %q, want %d", len(lines), lines, len(tc.want))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestConfigDefaultsAndFlagsOverEnvironment(t *testing.T) {
	env := validEnv()
	env["GROUP_WAIT"] = "30s"
	cfg, rest, err := LoadConfig("run", []string{"--group-wait=5s", "--incidents-channel", "C0INC", "extra"}, envOf(env), io.Discard, needSlack)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GroupWait != 5*time.Second || cfg.IncidentsChannel != "C0INC" || len(rest) != 1 {
		t.Errorf("group wait %v incidents %q rest %v: the flags must win", cfg.GroupWait, cfg.IncidentsChannel, rest)
	}
	if cfg.SlackAPIURL != "https://slack.com/api/" || cfg.DBPath != "./bot.db" || cfg.LLMProvider != "none" || cfg.Graph().Len() != 0 {
		t.Errorf("defaults: %+v", cfg)
	}
	env["SLACK_API_URL"] = "http://127.0.0.1:1/api"
	env["INCIDENTS_CHANNEL"] = ""
	cfg, _, err = LoadConfig("run", nil, envOf(env), io.Discard, needSlack)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SlackAPIURL != "http://127.0.0.1:1/api/" || cfg.IncidentsChannel != "C0ALERTS" {
		t.Errorf("API URL %q incidents %q: want a trailing slash and the alerts channel", cfg.SlackAPIURL, cfg.IncidentsChannel)
	}
}

func TestConfigTrustsAnyBotOnlyWhenToldSo(t *testing.T) {
	env := validEnv()
	env["ALERT_SOURCES"] = "ANY"
	cfg, _, err := LoadConfig("run", nil, envOf(env), io.Discard, needSlack)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.AnyAlertSource || len(cfg.AlertSources) != 0 {
		t.Errorf("ALERT_SOURCES=ANY: any %v sources %v, want every bot trusted and no list", cfg.AnyAlertSource, cfg.AlertSources)
	}
	env["ALERT_SOURCES"] = "B0AM, A0AM"
	if cfg, _, err = LoadConfig("run", nil, envOf(env), io.Discard, needSlack); err != nil || cfg.AnyAlertSource || len(cfg.AlertSources) != 2 {
		t.Errorf("ALERT_SOURCES=B0AM, A0AM: any %v sources %v err %v, want the two IDs only", cfg.AnyAlertSource, cfg.AlertSources, err)
	}
}

func TestPromQLAllowMatchesWholeMetricNames(t *testing.T) {
	env := validEnv()
	env["PROMQL_ALLOW"] = "http_.*|up"
	cfg, _, err := LoadConfig("run", nil, envOf(env), io.Discard, needSlack)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"up": true, "http_requests_total": true, "upstream_secret": false, "my_http_x": false} {
		if got := cfg.PromQLAllow.MatchString(name); got != want {
			t.Errorf("PROMQL_ALLOW=http_.*|up allows %s: %v, want %v", name, got, want)
		}
	}
}

func TestHelpNeverShowsASecretFromTheEnvironment(t *testing.T) {
	env := validEnv()
	env["SLACK_APP_TOKEN"], env["SLACK_BOT_TOKEN"], env["LLM_API_KEY"] = "xapp-SECRET-A", "xoxb-SECRET-B", "sk-SECRET-C"
	env["DB_PATH"] = "/var/lib/nightowl/bot.db"
	var help strings.Builder
	_, _, err := LoadConfig("run", []string{"-h"}, envOf(env), &help, needSlack)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v, want flag.ErrHelp", err)
	}
	if strings.Contains(help.String(), "SECRET") {
		t.Errorf("-h prints a secret from the environment:\n%s", help.String())
	}
	if !strings.Contains(help.String(), `(default "/var/lib/nightowl/bot.db")`) {
		t.Errorf("-h does not show DB_PATH from the environment as its default:\n%s", help.String())
	}
	cfg, _, err := LoadConfig("run", nil, envOf(env), io.Discard, needSlack)
	if err != nil || cfg.SlackBotToken != "xoxb-SECRET-B" || cfg.LLMAPIKey != "sk-SECRET-C" {
		t.Errorf("secrets from the environment: bot token %q, API key %q, err %v", cfg.SlackBotToken, cfg.LLMAPIKey, err)
	}
}

func TestEveryURLSettingWantsHTTP(t *testing.T) {
	for _, name := range []string{"SLACK_API_URL", "ALERTMANAGER_URL", "PROMETHEUS_URL", "LLM_BASE_URL"} {
		for v, ok := range map[string]bool{"http://host:9090": true, "https://host/api/": true, "host:9090": false, "ftp://host": false, "http://": false} {
			env := validEnv()
			env[name] = v
			_, _, err := LoadConfig("run", nil, envOf(env), io.Discard, needSlack)
			if got := err == nil; got != ok {
				t.Errorf("%s=%s: accepted %v, want %v (%v)", name, v, got, ok, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), name+" ") {
				t.Errorf("%s=%s: %q does not begin with the setting's name", name, v, err)
			}
		}
	}
}

// TestREADMEDocumentsEverySetting holds the README's Configuration table to
// the settings: each is documented with its default (a value in code, what
// an empty value means in words, or — for nothing), and nothing else is.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{} // variable → its Default cell
	_, table, _ := strings.Cut(string(readme), "\n## Configuration\n")
	table, _, _ = strings.Cut(table, "\n## ")
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	for _, row := range strings.Split(table, "\n") {
		cells := strings.SplitN(row, "|", 4)
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			if _, twice := documented[m[1]]; twice {
				t.Errorf("README documents %s twice", m[1])
			}
			documented[m[1]] = strings.TrimSpace(cells[2])
		}
	}
	for _, st := range (&Config{}).settings(needNothing) {
		cell, ok := documented[st.env]
		if !ok {
			t.Errorf("README's Configuration table does not document %s", st.env)
			continue
		}
		delete(documented, st.env)
		switch {
		case st.def != "" && cell != "`"+st.def+"`":
			t.Errorf("README says %s defaults to %s, want `%s`", st.env, cell, st.def)
		case st.def == "" && st.unset != "" && strings.ReplaceAll(cell, "`", "") != st.unset:
			t.Errorf("README says %s defaults to %s, want %s (what -h says)", st.env, cell, st.unset)
		case st.def == "" && st.unset == "" && !strings.HasPrefix(cell, "—"):
			t.Errorf("README says %s defaults to %s, want —", st.env, cell)
		}
	}
	for env := range documented {
		t.Errorf("README documents %s, which is no setting", env)
	}
}

func TestDiagnoseNeedsNoSlackSettings(t *testing.T) {
	_, _, err := LoadConfig("diagnose", nil, envOf(map[string]string{}), io.Discard, needNothing)
	if err != nil {
		t.Errorf("diagnose without Slack settings: %v", err)
	}
}

func TestMainExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		out  string
	}{
		{"version", []string{"version"}, nil, 0, "nightowl"},
		{"an unknown command", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"run without configuration", []string{"run"}, map[string]string{}, 2, "SLACK_APP_TOKEN is not set"},
		{"diagnose without a file", []string{"diagnose"}, nil, 2, "diagnose needs one file"},
		{"diagnose a missing file", []string{"diagnose", filepath.Join(t.TempDir(), "none.json")}, nil, 1, "read alerts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			code := Main(t.Context(), tc.args, envOf(tc.env), strings.NewReader(""), &out, &out)
			if code != tc.code || !strings.Contains(out.String(), tc.out) {
				t.Errorf("exit %d output %q, want exit %d and %q", code, out.String(), tc.code, tc.out)
			}
		})
	}
}

// TestLogFormatJSONWritesOneObjectALine: LOG_FORMAT=json gives a log
// pipeline one JSON object a line with the structured fields as keys;
// text, the default, stays key=value for a terminal.
func TestLogFormatJSONWritesOneObjectALine(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   func(t *testing.T, line string)
	}{
		{"json", func(t *testing.T, line string) {
			var got map[string]any
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("not one JSON object: %q: %v", line, err)
			}
			if got["msg"] != "card posted" || got["level"] != "INFO" || got["incident"] != "INC-1" || got["alerts"] != 3.0 || got["time"] == nil {
				t.Errorf("line %v lacks msg, level, time or the fields", got)
			}
		}},
		{"text", func(t *testing.T, line string) {
			if !strings.Contains(line, `msg="card posted" incident=INC-1 alerts=3`) {
				t.Errorf("line %q is not key=value", line)
			}
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			env := validEnv()
			if tc.format != "text" {
				env["LOG_FORMAT"] = tc.format
			}
			cfg, _, err := LoadConfig("run", nil, envOf(env), io.Discard, needSlack)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			log := newLogger(&buf, cfg.LogLevel, cfg.LogFormat)
			log.Debug("not at info")
			log.Info("card posted", "incident", "INC-1", "alerts", 3)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d lines, want 1: %q", len(lines), buf.String())
			}
			tc.want(t, lines[0])
		})
	}
}
