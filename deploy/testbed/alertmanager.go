package testbed

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Alertmanager is a running Alertmanager (Debian prometheus-alertmanager).
type Alertmanager struct{ *Process }

// MustStartAlertmanager runs Alertmanager with config on a free port until
// the test ends; clustering is off.
func MustStartAlertmanager(tb testing.TB, config []byte) *Alertmanager {
	tb.Helper()
	bin := MustFindBinary(tb, "apt-get install prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
	dir := tb.TempDir()
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, config, 0o644); err != nil {
		tb.Fatal(err)
	}
	addr := FreeAddr(tb)
	url := "http://" + addr
	p := MustStart(tb, "alertmanager", url, "/-/ready", bin,
		"--config.file="+cfgPath,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.external-url="+url,
		"--cluster.listen-address=",
		"--log.level=debug",
	)
	return &Alertmanager{p}
}

// MustPostAlerts pushes alerts through Alertmanager's API v2; an alert with
// an EndsAt in the past resolves.
func (am *Alertmanager) MustPostAlerts(tb testing.TB, alerts []diagnosis.Alert) {
	tb.Helper()
	type postable struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations,omitempty"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt,omitzero"`
		GeneratorURL string            `json:"generatorURL,omitempty"`
	}
	body := make([]postable, 0, len(alerts))
	for _, a := range alerts {
		body = append(body, postable{a.Labels, a.Annotations, a.StartsAt, a.EndsAt, a.GeneratorURL})
	}
	data, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.Post(am.URL+"/api/v2/alerts", "application/json", bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		tb.Fatalf("POST /api/v2/alerts: %s: %s", resp.Status, msg)
	}
}
