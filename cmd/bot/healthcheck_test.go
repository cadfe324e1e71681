package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
)

// runHealthcheck runs `bot healthcheck args…` with METRICS_ADDR=metricsAddr
// and returns its exit code and its one line of output.
func runHealthcheck(t *testing.T, metricsAddr string, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), append([]string{"healthcheck"}, args...), func(k string) string {
		if k == "METRICS_ADDR" {
			return metricsAddr
		}
		return ""
	}, strings.NewReader(""), &stdout, &stderr)
	out := stdout.String() + stderr.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("healthcheck wrote %q, want one line", out)
	}
	return code, strings.TrimSpace(out)
}

// TestHealthcheckAsksTheRunningProcess: `bot healthcheck` exits 0 while
// nightowl serves /healthz on METRICS_ADDR (":port" is asked on
// 127.0.0.1), and 1 with one line saying why once it has stopped.
func TestHealthcheckAsksTheRunningProcess(t *testing.T) {
	emu := MustWorkspace(t)
	addr := testbed.FreeAddr(t)
	nightowl := MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), map[string]string{"METRICS_ADDR": addr})
	mustReadiness(t, addr, http.StatusOK, "socket: ok")
	_, port, _ := strings.Cut(addr, ":")
	code, out := runHealthcheck(t, ":"+port)
	if want := "nightowl: healthy: http://127.0.0.1:" + port + "/healthz answered 200 OK"; code != 0 || out != want {
		t.Errorf("healthcheck while running = %d %q, want 0 %q", code, out, want)
	}
	nightowl.stop()
	code, out = runHealthcheck(t, "0.0.0.0:"+port)
	if code != 1 || !strings.HasPrefix(out, "nightowl: unhealthy: ") || !strings.Contains(out, "connection refused") {
		t.Errorf("healthcheck after the stop = %d %q, want 1 and connection refused", code, out)
	}
}

func TestHealthcheckSaysWhyInOneLine(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	tests := []struct {
		name        string
		metricsAddr string
		args        []string
		want        string
	}{
		{"no METRICS_ADDR", "", nil, "nightowl: unhealthy: METRICS_ADDR is not set, so nothing serves /healthz: set it (such as :9090) or give --url"},
		{"a METRICS_ADDR that is no address", "9090", nil, `nightowl: unhealthy: METRICS_ADDR "9090" is not host:port, such as :9090`},
		{"a 503", "", []string{"--url", failing.URL + "/healthz"}, "nightowl: unhealthy: " + failing.URL + "/healthz answered 503 Service Unavailable"},
		{"no answer in time", "", []string{"--url", failing.URL + "/slow", "--timeout", "100ms"}, "nightowl: unhealthy: " + failing.URL + "/slow did not answer within 100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out := runHealthcheck(t, tt.metricsAddr, tt.args...); code != 1 || out != tt.want {
				t.Errorf("healthcheck = %d %q, want 1 %q", code, out, tt.want)
			}
		})
	}
}
