package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Prometheus is a running Prometheus (Debian prometheus) serving data
// imported from OpenMetrics text. Stop it mid-test to see Prometheus down.
type Prometheus struct{ *Process }

// prometheusConfig has no scrape jobs: the imported blocks are all the data.
const prometheusConfig = "global:\n  scrape_interval: 15s\n"

// MustStartPrometheus writes openMetrics (an OpenMetrics text ending in
// "# EOF", timestamps in seconds) to a file, imports it with `promtool tsdb
// create-blocks-from openmetrics FILE DATA`, and runs prometheus on a free
// port over DATA until the test ends, waiting for /-/ready. Retention is 100
// years, so data with fixed timestamps in the past is kept; query it at those
// times, since an instant query at now finds nothing. It skips, or fails
// under NIGHTOWL_E2E=1, when prometheus or promtool is missing.
func MustStartPrometheus(tb testing.TB, openMetrics []byte) *Prometheus {
	tb.Helper()
	MustFindBinary(tb, "apt-get install prometheus", "prometheus")
	MustFindBinary(tb, "apt-get install prometheus", "promtool")
	began := time.Now()
	p, err := StartPrometheus(tb.TempDir(), openMetrics)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("prometheus log:\n%s", p.Log(4000))
		}
	})
	tb.Logf("prometheus served %d bytes of imported OpenMetrics %v after the import began", len(openMetrics), time.Since(began).Round(time.Millisecond))
	return p
}

// StartPrometheus is MustStartPrometheus for programs that are not tests
// (cmd/evaluate): its files live in dir, and the caller stops it.
func StartPrometheus(dir string, openMetrics []byte) (*Prometheus, error) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		return nil, fmt.Errorf("prometheus (apt-get install prometheus): %w", err)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		return nil, fmt.Errorf("promtool (apt-get install prometheus): %w", err)
	}
	data := filepath.Join(dir, "data")
	input := filepath.Join(dir, "metrics.om")
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(input, openMetrics, 0o644); err != nil {
		return nil, fmt.Errorf("write metrics: %w", err)
	}
	if err := os.WriteFile(cfgPath, []byte(prometheusConfig), 0o644); err != nil {
		return nil, fmt.Errorf("write prometheus config: %w", err)
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", input, data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("promtool tsdb create-blocks-from openmetrics: %w\n%s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	url := "http://" + addr
	p, err := Start(dir, "prometheus", url, "/-/ready", bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr,
		"--web.external-url="+url,
		"--log.level=info",
	)
	if err != nil {
		return nil, err
	}
	return &Prometheus{p}, nil
}

// MustStartPrometheusScraping runs prometheus on a free port scraping
// target (host:port, its /metrics) every second as job, until the test
// ends, waiting for /-/ready. It skips, or fails under NIGHTOWL_E2E=1,
// when prometheus is missing.
func MustStartPrometheusScraping(tb testing.TB, job, target string) *Prometheus {
	tb.Helper()
	bin := MustFindBinary(tb, "apt-get install prometheus", "prometheus")
	dir := tb.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: %q\n    static_configs:\n      - targets: [%q]\n", job, target)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	addr := FreeAddr(tb)
	url := "http://" + addr
	p := MustStart(tb, "prometheus", url, "/-/ready", bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.external-url="+url,
		"--log.level=info",
	)
	return &Prometheus{p}
}
