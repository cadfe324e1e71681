package alertmanager_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

func mustClient(tb testing.TB, cfg alertmanager.ClientConfig) *alertmanager.Client {
	tb.Helper()
	c, err := alertmanager.NewClient(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestClientTellsWhichAlertsTheRealAlertmanagerHolds asks a real
// Alertmanager 0.25 about alerts it holds, alerts it never had, alerts that
// borrow a real fingerprint for other labels, and alerts read from its
// default message.
func TestClientTellsWhichAlertsTheRealAlertmanagerHolds(t *testing.T) {
	hook := newCapture(t)
	cfg, _ := MustTestConfig(t, hook.URL)
	am := testbed.MustStartAlertmanager(t, cfg)
	now := time.Now()
	firing := diagnosis.Alert{Status: diagnosis.Firing, StartsAt: now.Add(-time.Minute),
		Labels: map[string]string{"alertname": "DBPoolExhausted", "service": "order-service", "namespace": "shop", "severity": "critical"}}
	gone := diagnosis.Alert{Status: diagnosis.Resolved, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(-time.Minute),
		Labels: map[string]string{"alertname": "DiskFull", "service": "db", "namespace": "shop"}}
	am.MustPostAlerts(t, []diagnosis.Alert{firing, gone})

	relayed := func(a diagnosis.Alert) diagnosis.Alert {
		a.Fingerprint, a.Source = diagnosis.Fingerprint(a.Labels), diagnosis.SourceTemplate
		return a
	}
	borrowed := relayed(firing)
	borrowed.Labels = map[string]string{"alertname": "DBPoolExhausted", "service": "payment-service", "namespace": "shop", "severity": "critical"}
	defaultMsg := func(values ...string) diagnosis.Alert {
		labels := map[string]string{}
		for i, v := range values {
			labels[[]string{"alertname", "service", "severity"}[i]] = v
		}
		return diagnosis.Alert{Fingerprint: "0123456789abcdef", Source: diagnosis.SourceDefault, Status: diagnosis.Firing, Labels: labels}
	}
	cases := []struct {
		name  string
		alert diagnosis.Alert
		want  bool
	}{
		{"an alert it holds, by fingerprint and labels", relayed(firing), true},
		{"an alert it never had", relayed(diagnosis.Alert{Labels: map[string]string{"alertname": "Forged", "service": "order-service"}}), false},
		{"a real fingerprint with other labels", borrowed, false},
		{"an alert that resolved", relayed(gone), false},
		{"a default message whose values one alert carries", defaultMsg("DBPoolExhausted", "order-service", "critical"), true},
		{"a default message with a value no alert carries", defaultMsg("DBPoolExhausted", "payment-service", "critical"), false},
	}
	c := mustClient(t, alertmanager.ClientConfig{URL: am.URL})
	alerts := make([]diagnosis.Alert, len(cases))
	for i, tc := range cases {
		alerts[i] = tc.alert
	}
	var got []bool
	testbed.WaitFor(t, 10*time.Second, "Alertmanager to hold the posted alert", func() ([]bool, bool) {
		c = mustClient(t, alertmanager.ClientConfig{URL: am.URL}) // no cached answer
		held, err := c.Held(t.Context(), alerts, time.Time{})
		got = held
		return held, err == nil && held[0]
	})
	for i, tc := range cases {
		if got[i] != tc.want {
			t.Errorf("%s: held %v, want %v", tc.name, got[i], tc.want)
		}
	}
}

// TestClientReusesAnswersAndFailuresBriefly: within the TTL one request
// answers every question, a failure included; after it Alertmanager is
// asked again. Errors never show the URL's password.
func TestClientReusesAnswersAndFailuresBriefly(t *testing.T) {
	var requests atomic.Int32
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/api/v2/alerts" {
			http.NotFound(w, r)
			return
		}
		if failing.Load() {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`[{"fingerprint":"aa","labels":{"alertname":"A"},"status":{"state":"active"}}]`))
	}))
	defer srv.Close()
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	c := mustClient(t, alertmanager.ClientConfig{URL: srv.URL + "/", TTL: 5 * time.Second, Now: clock})
	a := diagnosis.Alert{Fingerprint: "aa", Labels: map[string]string{"alertname": "A"}}

	for range 3 {
		if held, err := c.Held(t.Context(), []diagnosis.Alert{a}, now); err != nil || !held[0] {
			t.Fatalf("held %v err %v, want held", held, err)
		}
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests for three questions within the TTL, want 1", n)
	}
	now = now.Add(time.Second)
	if _, err := c.Held(t.Context(), []diagnosis.Alert{a}, now); err != nil || requests.Load() != 2 {
		t.Errorf("err %v, %d requests: an alert that arrived after the last answer must be asked about again", err, requests.Load())
	}
	failing.Store(true)
	for range 2 {
		now = now.Add(3 * time.Second) // alerts newer than the last answer; the second time, within the failure's TTL
		if _, err := c.Held(t.Context(), []diagnosis.Alert{a}, now); err == nil || !strings.Contains(err.Error(), "503") {
			t.Errorf("err %v, want Alertmanager's 503", err)
		}
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3: a failure is reused within the TTL, even for newer alerts", n)
	}

	down := mustClient(t, alertmanager.ClientConfig{URL: "http://nightowl:s3cret@" + testbed.FreeAddr(t), Timeout: time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	_, err := down.Held(ctx, []diagnosis.Alert{a}, time.Time{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err %v, want an error without the password", err)
	}
}
