package alertmanager

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// SlackPayload(…, Nightowl) must render what alertmanager.yml configures;
// the end-to-end test proves it against Alertmanager, this test without it.
func TestShippedConfigUsesTheTemplatesSlackPayloadRenders(t *testing.T) {
	data, err := os.ReadFile("alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Templates []string `yaml:"templates"`
		Receivers []struct {
			Name         string              `yaml:"name"`
			SlackConfigs []map[string]string `yaml:"slack_configs"`
		} `yaml:"receivers"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Templates) != 1 || cfg.Templates[0] != "slack.tmpl" {
		t.Errorf("got templates %q, want the slack.tmpl beside the file", cfg.Templates)
	}
	if len(cfg.Receivers) != 1 || len(cfg.Receivers[0].SlackConfigs) != 1 {
		t.Fatalf("want one receiver with one slack_configs entry, got %+v", cfg.Receivers)
	}
	got := cfg.Receivers[0].SlackConfigs[0]
	for field, want := range nightowlConfig {
		if got[field] != want {
			t.Errorf("%s: got %q, want %q", field, got[field], want)
		}
	}
	if got["send_resolved"] != "true" {
		t.Error("send_resolved must be true: nightowl closes incidents when their alerts resolve")
	}
	for _, field := range []string{"color", "title_link", "pretext", "username", "mrkdwn_in", "channel"} {
		if _, ok := got[field]; ok {
			t.Errorf("%s is set, but SlackPayload renders Alertmanager's default", field)
		}
	}
}
