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
	bin := MustFindBinary(tb, "apt-get install prometheus", "prometheus")
	promtool := MustFindBinary(tb, "apt-get install prometheus", "promtool")
	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	input := filepath.Join(dir, "metrics.om")
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(input, openMetrics, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(prometheusConfig), 0o644); err != nil {
		tb.Fatal(err)
	}
	began := time.Now()
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", input, data).CombinedOutput(); err != nil {
		tb.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	imported := time.Since(began)
	addr := FreeAddr(tb)
	url := "http://" + addr
	p := MustStart(tb, "prometheus", url, "/-/ready", bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr,
		"--web.external-url="+url,
		"--log.level=info",
	)
	tb.Logf("promtool imported %d bytes of OpenMetrics in %v; prometheus was ready %v later",
		len(openMetrics), imported.Round(time.Millisecond), (time.Since(began) - imported).Round(time.Millisecond))
	return &Prometheus{p}
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
