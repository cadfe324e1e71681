package intake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
)

func TestParseWebhookReadsTheBlackFridayStorm(t *testing.T) {
	alerts := MustLoadStorm(t)
	root := alerts[2]
	want := diagnosis.Alert{Fingerprint: "00000000000bf002", Status: diagnosis.Firing,
		Labels: map[string]string{"alertname": "DatabaseConnectionPoolExhausted", "severity": "critical", "layer": "infrastructure",
			"impact_type": "resource", "root_cause_candidate": "true", "service": "order-service", "namespace": "production",
			"runbook": "RB-DB-001", "database": "postgres-rds"},
		Annotations: map[string]string{"summary": "DB connection pool at 95/100"},
		StartsAt:    time.Date(2024, 11, 29, 23, 48, 0, 0, time.UTC), GeneratorURL: "http://prometheus.monitoring:9090/graph",
		Source: diagnosis.SourceWebhook, Count: 1}
	MustEqualAlerts(t, []diagnosis.Alert{root}, []diagnosis.Alert{want})
	for _, a := range alerts {
		if a.Status != diagnosis.Firing || !a.EndsAt.IsZero() || a.Source != diagnosis.SourceWebhook {
			t.Errorf("alert %s: got status %s endsAt %v source %s", a.Fingerprint, a.Status, a.EndsAt, a.Source)
		}
	}
}

func TestParseWebhookReadsAPIv2Alerts(t *testing.T) {
	start := time.Date(2026, 11, 27, 8, 50, 16, 0, time.UTC)
	labels := map[string]string{"alertname": "DBPoolExhausted", "service": "postgres"}
	tests := []struct {
		name string
		json string
		want diagnosis.Alert
	}{
		{"an API v2 status object that is active is firing",
			`[{"labels":{"alertname":"DBPoolExhausted","service":"postgres"},"startsAt":"2026-11-27T08:50:16Z","endsAt":"2026-11-27T08:55:16Z","status":{"state":"active","silencedBy":[],"inhibitedBy":[]},"fingerprint":"d1fb6616563a1a04"}]`,
			diagnosis.Alert{Fingerprint: "d1fb6616563a1a04", Status: diagnosis.Firing, Labels: labels, StartsAt: start, Source: diagnosis.SourceWebhook, Count: 1}},
		{"a suppressed alert is still firing",
			`[{"labels":{"alertname":"DBPoolExhausted","service":"postgres"},"startsAt":"2026-11-27T08:50:16Z","status":{"state":"suppressed"}}]`,
			diagnosis.Alert{Fingerprint: diagnosis.Fingerprint(labels), Status: diagnosis.Firing, Labels: labels, StartsAt: start, Source: diagnosis.SourceWebhook, Count: 1}},
		{"without a status an alert whose endsAt has passed is resolved",
			`[{"labels":{"alertname":"DBPoolExhausted","service":"postgres"},"startsAt":"2026-11-27T08:50:16Z","endsAt":"2000-01-01T00:00:00.25Z"}]`,
			diagnosis.Alert{Fingerprint: diagnosis.Fingerprint(labels), Status: diagnosis.Resolved, Labels: labels, StartsAt: start,
				EndsAt: time.Date(2000, 1, 1, 0, 0, 0, 250_000_000, time.UTC), Source: diagnosis.SourceWebhook, Count: 1}},
		{"without a status an alert that ends in the future fires",
			`[{"labels":{"alertname":"DBPoolExhausted","service":"postgres"},"startsAt":"2026-11-27T08:50:16Z","endsAt":"2999-01-01T00:00:00Z"}]`,
			diagnosis.Alert{Fingerprint: diagnosis.Fingerprint(labels), Status: diagnosis.Firing, Labels: labels, StartsAt: start, Source: diagnosis.SourceWebhook, Count: 1}},
		{"a resolved webhook alert keeps its endsAt",
			"\ufeff" + `{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"DBPoolExhausted","service":"postgres"},"annotations":{"summary":"pool 100%"},"startsAt":"2026-11-27T08:50:16Z","endsAt":"2026-11-27T09:00:00Z","generatorURL":"http://prom:9090/graph?g0.expr=x","fingerprint":"d1fb6616563a1a04"}]}`,
			diagnosis.Alert{Fingerprint: "d1fb6616563a1a04", Status: diagnosis.Resolved, Labels: labels, Annotations: map[string]string{"summary": "pool 100%"},
				StartsAt: start, EndsAt: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), GeneratorURL: "http://prom:9090/graph?g0.expr=x",
				Source: diagnosis.SourceWebhook, Count: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := intake.ParseWebhook([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			MustEqualAlerts(t, got, []diagnosis.Alert{tt.want})
		})
	}
}

func TestParseWebhookSaysWhatIsWrong(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"empty input", "  \n", "empty input"},
		{"text that is not JSON", "alertname=HighErrorRate", "not text starting"},
		{"an object without alerts", `{"receiver":"x"}`, `no "alerts" array`},
		{"another webhook version", `{"version":"5","alerts":[]}`, `version "5"`},
		{"broken JSON says where", "{\"alerts\": [\n  {\"labels\": }]}", "line 2, column"},
		{"a label that is not a string", `[{"labels":{"alertname":5},"startsAt":"2026-11-27T08:50:16Z"}]`, "line 1, column"},
		{"an alert without alertname", `{"alerts":[{"labels":{"alertname":"A"},"startsAt":"2026-11-27T08:50:16Z"},{"labels":{"job":"x"},"startsAt":"2026-11-27T08:50:16Z"}]}`, "alerts[1]: no alertname"},
		{"an alert without startsAt", `[{"labels":{"alertname":"A"}}]`, "alerts[0]: A has no startsAt"},
		{"a bad startsAt", `[{"labels":{"alertname":"A"},"startsAt":"yesterday"}]`, `startsAt "yesterday" is not an RFC 3339 time`},
		{"a bad endsAt", `[{"labels":{"alertname":"A"},"startsAt":"2026-11-27T08:50:16Z","endsAt":"later"}]`, `endsAt "later"`},
		{"an unknown status", `[{"status":"pending","labels":{"alertname":"A"},"startsAt":"2026-11-27T08:50:16Z"}]`, `status "pending" is neither firing nor resolved`},
		{"an unknown state", `[{"status":{"state":"gone"},"labels":{"alertname":"A"},"startsAt":"2026-11-27T08:50:16Z"}]`, `state "gone"`},
		{"a status of the wrong type", `[{"status":3,"labels":{"alertname":"A"},"startsAt":"2026-11-27T08:50:16Z"}]`, "neither a string nor an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := intake.ParseWebhook([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}
