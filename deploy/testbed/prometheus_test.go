package testbed_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
)

// start is 2026-03-01T12:00:00Z; the data covers the hour after it.
var start = time.Unix(1772366400, 0).UTC()

const (
	step        = 15 * time.Second
	samples     = 241 // an hour at 15s, both ends included
	gaugeSlope  = 0.5 // per sample
	counterStep = 3   // per sample: a rate of 0.2/s
)

// openMetrics is a gauge and a counter over an hour at 15s.
func openMetrics() []byte {
	var b bytes.Buffer
	b.WriteString("# HELP db_connections_in_use Connections in use.\n# TYPE db_connections_in_use gauge\n")
	for i := range samples {
		ts := start.Add(time.Duration(i) * step).Unix()
		fmt.Fprintf(&b, "db_connections_in_use{service=\"postgres\"} %g %d\n", 20+gaugeSlope*float64(i), ts)
	}
	b.WriteString("# HELP http_requests Requests served.\n# TYPE http_requests counter\n")
	for i := range samples {
		ts := start.Add(time.Duration(i) * step).Unix()
		fmt.Fprintf(&b, "http_requests_total{service=\"checkout\",code=\"500\"} %d %d\n", counterStep*i, ts)
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

func gaugeAt(t time.Time) float64 {
	return 20 + gaugeSlope*float64(t.Sub(start)/step)
}

func TestPrometheusServesImportedDataUntilStopped(t *testing.T) {
	began := time.Now()
	p := testbed.MustStartPrometheus(t, openMetrics())
	t.Logf("imported %d samples and started Prometheus in %v", 2*samples, time.Since(began).Round(time.Millisecond))

	c, err := prom.New(prom.Config{URL: p.URL, Timeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	r := diagnosis.Range{Start: start.Add(10 * time.Minute), End: start.Add(20 * time.Minute), Step: time.Minute}
	t.Run("The rate of the counter is its slope.", func(t *testing.T) {
		got, err := c.QueryRange(t.Context(), `sum by (service) (rate(http_requests_total[5m]))`, r)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Labels["service"] != "checkout" || len(got[0].Points) != 11 {
			t.Fatalf("got %+v, want one checkout series of 11 points", got)
		}
		for i, pt := range got[0].Points {
			if want := r.Start.Add(time.Duration(i) * r.Step); !pt.T.Equal(want) {
				t.Errorf("point %d at %v, want %v", i, pt.T, want)
			}
			if math.Abs(pt.V-counterStep/step.Seconds()) > 1e-9 {
				t.Errorf("rate at %v is %v, want %v", pt.T, pt.V, counterStep/step.Seconds())
			}
		}
	})
	t.Run("The gauge reads back at fixed times.", func(t *testing.T) {
		got, err := c.QueryRange(t.Context(), `db_connections_in_use`, r)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Labels["__name__"] != "db_connections_in_use" || len(got[0].Points) != 11 {
			t.Fatalf("got %+v, want one series of 11 points", got)
		}
		for _, pt := range got[0].Points {
			if want := gaugeAt(pt.T); pt.V != want {
				t.Errorf("gauge at %v is %v, want %v", pt.T, pt.V, want)
			}
		}
		at := start.Add(30 * time.Minute)
		inst, err := c.Query(t.Context(), `db_connections_in_use{service="postgres"}`, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(inst) != 1 || len(inst[0].Points) != 1 || inst[0].Points[0].V != gaugeAt(at) || !inst[0].Points[0].T.Equal(at) {
			t.Errorf("got %+v, want %v at %v", inst, gaugeAt(at), at)
		}
	})
	t.Run("Prometheus's own errors read as one sentence.", func(t *testing.T) {
		tests := []struct {
			name, query, want string
		}{
			{"An unclosed parenthesis.", `sum(rate(http_requests_total[5m])`, "bad PromQL: 1:34: parse error: unclosed left parenthesis"},
			{"A string literal.", `"hello"`, "bad PromQL: the query yields a string, not numbers"},
		}
		for _, tt := range tests {
			_, err := c.Query(t.Context(), tt.query, start)
			if err == nil || err.Error() != tt.want || !errors.Is(err, prom.ErrBadQuery) {
				t.Errorf("%s got %v, want %s", tt.name, err, tt.want)
			}
		}
		_, err := c.QueryRange(t.Context(), `{__name__=~".+"} * on() {__name__=~".+"}`, r)
		if err == nil || !strings.HasPrefix(err.Error(), "Prometheus could not evaluate the query: found duplicate series") {
			t.Errorf("a many-to-many match got %v", err)
		}
		t.Logf("a many-to-many match: %v", err)
	})

	began = time.Now()
	p.Stop()
	t.Logf("Prometheus stopped in %v", time.Since(began).Round(time.Millisecond))
	if log := p.Log(4000); !strings.Contains(log, "See you next time!") {
		t.Errorf("Prometheus did not shut down cleanly:\n%s", log)
	}
	began = time.Now()
	_, err = c.QueryRange(t.Context(), `db_connections_in_use`, r)
	took := time.Since(began)
	if want := "Prometheus at " + p.URL + " refused the connection"; err == nil || err.Error() != want || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after Stop got %v, want %s", err, want)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("the refusal took %v, longer than the timeout", took)
	}
	if err := c.Ready(t.Context()); err == nil {
		t.Errorf("Ready after Stop gave no error")
	}
}
