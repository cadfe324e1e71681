package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
)

// TestASlackUnreachableAtStartIsAskedAgainWhileTheProbesSayWhy: nightowl
// starts while nothing answers at SLACK_API_URL. It does not exit: it
// asks again with backoff while /healthz answers 200 and /readyz 503 with
// the reason and when it asks again; once Slack answers, /readyz turns
// 200 and a storm gets its card.
func TestASlackUnreachableAtStartIsAskedAgainWhileTheProbesSayWhy(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	slackAddr, addr := testbed.FreeAddr(t), testbed.FreeAddr(t)
	MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), map[string]string{
		"METRICS_ADDR": addr, "SLACK_API_URL": "http://" + slackAddr + "/api/",
	})
	mustReadiness(t, addr, http.StatusServiceUnavailable, "slack: not ready: auth.test: ")
	body := mustReadinessBody(t, addr)
	t.Logf("/readyz while Slack is unreachable:\n%s", body)
	if !strings.Contains(body, "connection refused, retrying in ") {
		t.Errorf("/readyz says %q, want the refused connection and when nightowl asks again", body)
	}
	if code, _ := mustGetStatus(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while Slack is unreachable, want 200", code)
	}

	// Slack comes up at the address nightowl was given.
	target, err := url.Parse(emu.URL())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", slackAddr)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = proxy.Serve(ln) }()
	t.Cleanup(func() { proxy.Close() })
	began := time.Now()
	mustReadiness(t, addr, http.StatusOK, "slack: ok\nsocket: ok\nstore: ok\n")
	t.Logf("ready %s after Slack came up", time.Since(began).Round(time.Millisecond))

	storm := stormNow(t)[:5]
	MustRelay(t, hook, []string{"namespace"}, storm)
	mustCardCounting(t, emu, len(storm), 30*time.Second)
	got, err := scrape(addr)
	if err != nil {
		t.Fatal(err)
	}
	if n := got[`nightowl_slack_api_calls_total{method="auth.test",outcome="error"}`]; n < 1 {
		t.Errorf("%v failed auth.test calls counted, want at least 1", n)
	}
}

// TestABotTokenSlackRefusesStopsTheStartInOneSentence: invalid_auth is
// not worth asking again: `bot run` exits 1 at once with one line naming
// the setting, what Slack answered and where to find a good token.
func TestABotTokenSlackRefusesStopsTheStartInOneSentence(t *testing.T) {
	emu := MustWorkspace(t)
	env := map[string]string{
		"SLACK_APP_TOKEN": "xapp-emulator", "SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_API_URL": emu.APIURL(),
		"ALERTS_CHANNEL": chAlerts, "ALERT_SOURCES": amBot, "DB_PATH": filepath.Join(t.TempDir(), "bot.db"),
		"METRICS_ADDR": testbed.FreeAddr(t),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	began := time.Now()
	code := Main(ctx, []string{"run"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &stderr)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	want := "nightowl: SLACK_BOT_TOKEN: Slack refuses the bot token (auth.test answered invalid_auth); copy the Bot User OAuth Token (xoxb-…) again from the app's OAuth & Permissions page"
	if code != 1 || last != want {
		t.Errorf("exit %d, last line %q; want 1 and %q", code, last, want)
	}
	if took := time.Since(began); ctx.Err() != nil || took > 5*time.Second {
		t.Errorf("bot run took %s to give up on a refused token", took)
	}
	if n := emu.Calls("auth.test"); n != 1 {
		t.Errorf("%d auth.test calls, want 1", n)
	}
}

// mustReadinessBody is what /readyz says now.
func mustReadinessBody(t *testing.T, addr string) string {
	t.Helper()
	_, body := mustGetStatus(t, "http://"+addr+"/readyz")
	return body
}

func mustGetStatus(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
