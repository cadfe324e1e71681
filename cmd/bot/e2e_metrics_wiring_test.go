package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
)

// TestModelCallsAndStoreWritesReachMetrics: with a model and METRICS_ADDR,
// the card's triage is one model call counted ok with its 120 + 30
// tokens, and the storm's writes (its alerts, its incident) are timed by
// store method with no error.
func TestModelCallsAndStoreWritesReachMetrics(t *testing.T) {
	f := mustFakeModel(t)
	f.triage = func(w http.ResponseWriter, _ *http.Request) { modelSays(w, modelTriage) }
	f.answer = func(w http.ResponseWriter, _ modelRequest) { modelSays(w, "unused") }
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	addr := testbed.FreeAddr(t)
	env := modelEnv(f, "5s")
	env["METRICS_ADDR"] = addr
	MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), env)
	MustWait(t, emu, 10*time.Second, "the socket", func() bool { return emu.Connected() == 1 })
	storm := stormNow(t)[:5]
	MustRelay(t, hook, []string{"namespace"}, storm)
	mustCardCounting(t, emu, len(storm), 30*time.Second)
	MustWait(t, emu, 20*time.Second, "the model's triage on the card", func() bool {
		return strings.Contains(contentOf(emu.Messages(chIncidents)[0]), "Triage by test-model")
	})

	mustMetric(t, addr, "one model call", `nightowl_model_calls_total{outcome="ok"}`, 1)
	mustMetric(t, addr, "no failed model call", `nightowl_model_calls_total{outcome="error"}`, 0)
	mustMetric(t, addr, "its prompt tokens", `nightowl_model_tokens_total{kind="prompt"}`, 120)
	mustMetric(t, addr, "its completion tokens", `nightowl_model_tokens_total{kind="completion"}`, 30)
	got, err := scrape(addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"RecordAlerts", "SaveIncident", "SaveDiagnosis"} {
		if n := got[`nightowl_store_write_seconds_count{op="`+op+`"}`]; n < 1 {
			t.Errorf("%v %s writes timed, want at least 1", n, op)
		}
	}
	if n := got["nightowl_store_errors_total"]; n != 0 {
		t.Errorf("nightowl_store_errors_total = %v, want 0", n)
	}
}
