package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/metrics"
)

// mustGet returns the status and body of GET url.
func mustGet(tb testing.TB, url string) (int, string) {
	tb.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// mustServe serves cfg's endpoints on an httptest server.
func mustServe(tb testing.TB, cfg metrics.ServerConfig) string {
	tb.Helper()
	srv := httptest.NewServer(metrics.NewServer(cfg).Handler())
	tb.Cleanup(srv.Close)
	return srv.URL
}

// switchable is a readiness check a test turns off and on.
type switchable struct{ err atomic.Pointer[error] }

func (s *switchable) set(err error) { s.err.Store(&err) }

func (s *switchable) ready(context.Context) error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

func TestHealthzSaysOKWhateverTheChecks(t *testing.T) {
	url := mustServe(t, metrics.ServerConfig{Checks: []metrics.Check{
		{Name: "socket", Ready: func(context.Context) error { return errors.New("disconnected") }},
	}})
	if code, body := mustGet(t, url+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", code, body)
	}
}

func TestReadyzFlipsWhenACheckFailsAndRecovers(t *testing.T) {
	socket := &switchable{}
	url := mustServe(t, metrics.ServerConfig{Checks: []metrics.Check{
		{Name: "socket", Ready: socket.ready},
		{Name: "store", Ready: func(context.Context) error { return nil }},
	}})
	steps := []struct {
		name     string
		err      error
		wantCode int
		wantBody string
	}{
		{"every check passes", nil, 200, "socket: ok\nstore: ok\n"},
		{"the socket drops", errors.New("socket mode disconnected\nreconnecting"), 503,
			"socket: not ready: socket mode disconnected reconnecting\nstore: ok\n"},
		{"the socket is back", nil, 200, "socket: ok\nstore: ok\n"},
	}
	for _, s := range steps {
		socket.set(s.err)
		if code, body := mustGet(t, url+"/readyz"); code != s.wantCode || body != s.wantBody {
			t.Errorf("%s: GET /readyz = %d %q, want %d %q", s.name, code, body, s.wantCode, s.wantBody)
		}
	}
}

func TestAStandbyIsReadyWithANote(t *testing.T) {
	url := mustServe(t, metrics.ServerConfig{Checks: []metrics.Check{
		{Name: "leader", Ready: func(context.Context) error { return metrics.Standby("nightowl-1 holds the lease") }},
	}})
	code, body := mustGet(t, url+"/readyz")
	if want := "leader: ok (standby: nightowl-1 holds the lease)\n"; code != 200 || body != want {
		t.Errorf("GET /readyz = %d %q, want 200 %q", code, body, want)
	}
}

func TestASlowCheckIsNotReadyAfterItsTimeout(t *testing.T) {
	url := mustServe(t, metrics.ServerConfig{CheckTimeout: 50 * time.Millisecond, Checks: []metrics.Check{
		{Name: "store", Ready: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}})
	code, body := mustGet(t, url+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store: not ready: context deadline exceeded") {
		t.Errorf("GET /readyz = %d %q, want 503 saying the store check timed out", code, body)
	}
}

func TestWithoutChecksItIsReady(t *testing.T) {
	if code, _ := mustGet(t, mustServe(t, metrics.ServerConfig{})+"/readyz"); code != 200 {
		t.Errorf("GET /readyz = %d, want 200", code)
	}
}

func TestRunServesUntilItsContextEnds(t *testing.T) {
	addr := testbed.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- metrics.NewServer(metrics.ServerConfig{Addr: addr}).Run(ctx) }()
	testbed.WaitFor(t, 5*time.Second, "the metrics server", func() (bool, bool) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false, false
		}
		resp.Body.Close()
		return true, resp.StatusCode == 200
	})
	if code, body := mustGet(t, "http://"+addr+"/metrics"); code != 200 || !strings.Contains(body, "nightowl_build_info") {
		t.Errorf("GET /metrics = %d without nightowl_build_info", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	http.DefaultClient.CloseIdleConnections()
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("the server still answers after Run returned")
	}
}

func TestRunWithoutAnAddressIsOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := metrics.NewServer(metrics.ServerConfig{}).Run(ctx); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func TestRunReportsAnAddressInUse(t *testing.T) {
	url := mustServe(t, metrics.ServerConfig{})
	err := metrics.NewServer(metrics.ServerConfig{Addr: strings.TrimPrefix(url, "http://")}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "metrics server") {
		t.Errorf("Run on a busy address = %v, want a metrics server error", err)
	}
}

// TestShuttingDownIsNotReadyYetStillAlive: from ShuttingDown on, /readyz
// answers 503 "shutting down" whatever the checks say, so that traffic
// leaves before the drain, while /healthz and /metrics still answer.
func TestShuttingDownIsNotReadyYetStillAlive(t *testing.T) {
	srv := metrics.NewServer(metrics.ServerConfig{Checks: []metrics.Check{
		{Name: "socket", Ready: func(context.Context) error { return nil }},
	}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	if code, _ := mustGet(t, hs.URL+"/readyz"); code != http.StatusOK {
		t.Fatalf("GET /readyz = %d before the shutdown, want 200", code)
	}
	srv.ShuttingDown()
	if code, body := mustGet(t, hs.URL+"/readyz"); code != http.StatusServiceUnavailable || body != "shutting down\n" {
		t.Errorf("GET /readyz = %d %q while shutting down, want 503 \"shutting down\\n\"", code, body)
	}
	if code, _ := mustGet(t, hs.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz = %d while shutting down, want 200", code)
	}
	if code, _ := mustGet(t, hs.URL+"/metrics"); code != http.StatusOK {
		t.Errorf("GET /metrics = %d while shutting down, want 200", code)
	}
}

// TestListenReportsAnAddressInUseBeforeRun: Listen fails at once on a busy
// port, so that a start stops before it reaches Slack.
func TestListenReportsAnAddressInUseBeforeRun(t *testing.T) {
	url := mustServe(t, metrics.ServerConfig{})
	err := metrics.NewServer(metrics.ServerConfig{Addr: strings.TrimPrefix(url, "http://")}).Listen()
	if err == nil || !strings.Contains(err.Error(), "metrics server") {
		t.Errorf("Listen on a busy address = %v, want a metrics server error", err)
	}
}
