package prom_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
)

// t0 is 2026-03-01T12:00:00Z.
var t0 = time.Unix(1772366400, 0).UTC()

// request is what the fake Prometheus received.
type request struct {
	Method, Path, User, Password string
	Form                         url.Values
}

// mustServe runs a fake Prometheus answering every request with status and
// body, and records the requests.
func mustServe(tb testing.TB, status int, body string) (*httptest.Server, *[]request) {
	tb.Helper()
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			tb.Errorf("parse form: %v", err)
		}
		user, pass, _ := r.BasicAuth()
		got = append(got, request{r.Method, r.URL.Path, user, pass, r.PostForm})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	tb.Cleanup(srv.Close)
	return srv, &got
}

func mustNew(tb testing.TB, cfg prom.Config) *prom.Client {
	tb.Helper()
	c, err := prom.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func success(resultType, result string, warnings ...string) string {
	w := ""
	if len(warnings) > 0 {
		w = fmt.Sprintf(`,"warnings":["%s"]`, strings.Join(warnings, `","`))
	}
	return fmt.Sprintf(`{"status":"success","data":{"resultType":%q,"result":%s}%s}`, resultType, result, w)
}

func failure(errorType, msg string) string {
	return fmt.Sprintf(`{"status":"error","errorType":%q,"error":%q}`, errorType, msg)
}

func at(sec int64) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func TestQueryRangeSendsTheRangeAndReadsTheMatrix(t *testing.T) {
	srv, reqs := mustServe(t, 200, success("matrix", fmt.Sprintf(`[
		{"metric":{"service":"postgres"},"values":[[%d,"20"],[%d,"NaN"],[%d,"+Inf"],[%d,"42.5"]]},
		{"metric":{"__name__":"up","service":"redis"},"values":[[%d,"1"]]},
		{"metric":{"service":"kafka"},"values":[[%d,"-Inf"]]}
	]`, t0.Unix(), t0.Unix()+60, t0.Unix()+120, t0.Unix()+180, t0.Unix(), t0.Unix())))
	c := mustNew(t, prom.Config{URL: srv.URL + "/prom/"})

	got, err := c.QueryRange(t.Context(), `db_connections_in_use`, diagnosis.Range{Start: t0, End: t0.Add(3 * time.Minute), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	want := []diagnosis.Series{
		{Labels: map[string]string{"service": "postgres"}, Points: []diagnosis.Point{{T: t0, V: 20}, {T: at(180), V: 42.5}}},
		{Labels: map[string]string{"__name__": "up", "service": "redis"}, Points: []diagnosis.Point{{T: t0, V: 1}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	wantReq := request{Method: "POST", Path: "/prom/api/v1/query_range", Form: url.Values{
		"query": {"db_connections_in_use"}, "start": {"1772366400"}, "end": {"1772366580"}, "step": {"60"}, "timeout": {"3s"},
	}}
	if len(*reqs) != 1 || !reflect.DeepEqual((*reqs)[0], wantReq) {
		t.Errorf("got requests %+v\nwant %+v", *reqs, wantReq)
	}
}

func TestQueryReadsEveryInstantResultType(t *testing.T) {
	tests := []struct {
		name   string
		result string
		want   []diagnosis.Series
	}{
		{"A vector gives one point per series, leaving out NaN.", success("vector", fmt.Sprintf(
			`[{"metric":{"service":"a"},"value":[%d,"0.25"]},{"metric":{"service":"b"},"value":[%d,"NaN"]}]`, t0.Unix(), t0.Unix())),
			[]diagnosis.Series{{Labels: map[string]string{"service": "a"}, Points: []diagnosis.Point{{T: t0, V: 0.25}}}}},
		{"An empty vector is no series and no error.", success("vector", `[]`), []diagnosis.Series{}},
		{"A scalar is one unlabelled series.", success("scalar", fmt.Sprintf(`[%d,"3"]`, t0.Unix())),
			[]diagnosis.Series{{Labels: map[string]string{}, Points: []diagnosis.Point{{T: t0, V: 3}}}}},
		{"A range selector gives its samples.", success("matrix", fmt.Sprintf(`[{"metric":{"job":"x"},"values":[[%d,"1"],[%d,"2"]]}]`, t0.Unix(), t0.Unix()+15)),
			[]diagnosis.Series{{Labels: map[string]string{"job": "x"}, Points: []diagnosis.Point{{T: t0, V: 1}, {T: at(15), V: 2}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := mustServe(t, 200, tt.result)
			got, err := mustNew(t, prom.Config{URL: srv.URL}).Query(t.Context(), "q", t0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if r := (*reqs)[0]; r.Path != "/api/v1/query" || r.Form.Get("time") != "1772366400" || r.Form.Get("query") != "q" {
				t.Errorf("got request %+v", r)
			}
		})
	}
}

func TestQueryOfAStringIsABadQuery(t *testing.T) {
	srv, _ := mustServe(t, 200, success("string", fmt.Sprintf(`[%d,"hello"]`, t0.Unix())))
	_, err := mustNew(t, prom.Config{URL: srv.URL}).Query(t.Context(), `"hello"`, t0)
	if !errors.Is(err, prom.ErrBadQuery) || err.Error() != "bad PromQL: the query yields a string, not numbers" {
		t.Errorf("got %v", err)
	}
}

func TestWarningsAreLoggedAtDebugAndTheAnswerKept(t *testing.T) {
	srv, _ := mustServe(t, 200, success("vector", fmt.Sprintf(`[{"metric":{},"value":[%d,"1"]}]`, t0.Unix()),
		"PromQL info: metric might not be a counter"))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("alice", "s3cret")
	c := mustNew(t, prom.Config{URL: u.String(), Logger: logger})

	got, err := c.Query(t.Context(), "rate(x[5m])", t0)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v; want one series", got, err)
	}
	out := logs.String()
	if !strings.Contains(out, `level=DEBUG msg="Prometheus warning"`) || !strings.Contains(out, "metric might not be a counter") {
		t.Errorf("the warning is not logged at debug:\n%s", out)
	}
	if strings.Contains(out, "alice") || strings.Contains(out, "s3cret") {
		t.Errorf("the log holds credentials:\n%s", out)
	}
}

func TestCredentialsInTheURLAreSentButNeverShown(t *testing.T) {
	srv, reqs := mustServe(t, 502, "<html>bad gateway</html>")
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("alice", "s3cret")
	_, err := mustNew(t, prom.Config{URL: u.String()}).QueryRange(t.Context(), "up", diagnosis.Range{Start: t0, End: t0, Step: time.Minute})

	if want := fmt.Sprintf("Prometheus at %s answered 502 Bad Gateway", srv.URL); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if r := (*reqs)[0]; r.User != "alice" || r.Password != "s3cret" {
		t.Errorf("got basic auth %q %q, want alice s3cret", r.User, r.Password)
	}

	// A closed port: net/http's own error would name alice.
	u.Host = closedAddr(t)
	_, err = mustNew(t, prom.Config{URL: u.String()}).Query(t.Context(), "up", t0)
	if err == nil || strings.Contains(err.Error(), "alice") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("got %v, want an error without credentials", err)
	}
}

func TestTheTimeoutIsSentToPrometheusInAFormItParses(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		want    string
	}{
		{"The default is three seconds.", 0, "3s"},
		{"Fractions of a second above one are dropped.", 1500 * time.Millisecond, "1s"},
		{"Milliseconds below a second are kept.", 750 * time.Millisecond, "750ms"},
		{"Minutes print as Prometheus reads them.", 90 * time.Second, "1m30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := mustServe(t, 200, success("vector", "[]"))
			if _, err := mustNew(t, prom.Config{URL: srv.URL, Timeout: tt.timeout}).Query(t.Context(), "up", t0); err != nil {
				t.Fatal(err)
			}
			if got := (*reqs)[0].Form.Get("timeout"); got != tt.want {
				t.Errorf("got timeout=%s, want %s", got, tt.want)
			}
		})
	}
}

func TestAnswersWithErrorsAreOneSentence(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string // %s is the server's URL
		is     error
	}{
		{"A syntax error is bad PromQL.", 400,
			failure("bad_data", `invalid parameter "query": 1:29: parse error: unclosed left parenthesis`),
			"bad PromQL: 1:29: parse error: unclosed left parenthesis", prom.ErrBadQuery},
		{"Another bad parameter is a rejected query.", 400,
			failure("bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
			"Prometheus rejected the query: exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)", prom.ErrBadQuery},
		{"An execution error says what went wrong.", 422,
			failure("execution", "found duplicate series for the match group {service=\"a\"} on the right hand-side of the operation"),
			"Prometheus could not evaluate the query: found duplicate series for the match group {service=\"a\"} on the right hand-side of the operation", nil},
		{"A server-side timeout is a deadline.", 503,
			failure("timeout", "query timed out in expression evaluation"),
			"Prometheus at %s gave up on the query after 3s: query timed out in expression evaluation", context.DeadlineExceeded},
		{"A server-side cancel is said so.", 503,
			failure("canceled", "query was canceled in expression evaluation"),
			"Prometheus at %s canceled the query: query was canceled in expression evaluation", nil},
		{"An internal error keeps Prometheus's message.", 500,
			failure("internal", "expanding series: too many open files"),
			"Prometheus at %s failed with an internal error: expanding series: too many open files", nil},
		{"A proxy's 502 is its status.", 502, "upstream unavailable", "Prometheus at %s answered 502 Bad Gateway", nil},
		{"A 5xx without a body is its status.", 500, "", "Prometheus at %s answered 500 Internal Server Error", nil},
		{"A wrong path prefix is a 404.", 404, "404 page not found", "Prometheus at %s answered 404 Not Found", nil},
		{"Missing credentials are a 401.", 401, "Unauthorized", "Prometheus at %s answered 401 Unauthorized", nil},
		{"An HTML page is not the API.", 200, "<html><body>Grafana</body></html>", "Prometheus at %s sent an answer that is not Prometheus API JSON", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := mustServe(t, tt.status, tt.body)
			_, err := mustNew(t, prom.Config{URL: srv.URL}).QueryRange(t.Context(), "sum(rate(x[5m])", diagnosis.Range{Start: t0, End: t0.Add(time.Hour), Step: time.Minute})
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, srv.URL)
			}
			if err == nil || err.Error() != want {
				t.Fatalf("got  %v\nwant %s", err, want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) is false", tt.is)
			}
			if tt.is != prom.ErrBadQuery && errors.Is(err, prom.ErrBadQuery) {
				t.Errorf("errors.Is(err, ErrBadQuery) is true")
			}
			var apiErr *v1.Error
			if !errors.As(err, &apiErr) {
				t.Errorf("the *v1.Error is not wrapped")
			}
		})
	}
}

func TestABadRangeIsRefusedWithoutAsking(t *testing.T) {
	tests := []struct {
		name string
		r    diagnosis.Range
		want string
	}{
		{"A zero step.", diagnosis.Range{Start: t0, End: t0}, "bad range: step 0s is not positive"},
		{"An end before the start.", diagnosis.Range{Start: t0, End: t0.Add(-time.Second), Step: time.Second}, "bad range: it ends before it starts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := mustServe(t, 200, success("matrix", "[]"))
			_, err := mustNew(t, prom.Config{URL: srv.URL}).QueryRange(t.Context(), "up", tt.r)
			if err == nil || err.Error() != tt.want || !errors.Is(err, prom.ErrBadQuery) {
				t.Errorf("got %v, want %s wrapping ErrBadQuery", err, tt.want)
			}
			if len(*reqs) != 0 {
				t.Errorf("Prometheus was asked")
			}
		})
	}
}

// closedAddr is a 127.0.0.1 address nobody listens on.
func closedAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// mustHang runs a server that accepts requests and never answers them.
func mustHang(tb testing.TB) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice the client leave
		<-r.Context().Done()
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// mustHangUp runs a server that closes every connection without answering.
func mustHangUp(tb testing.TB) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// dnsFails is an http.Client whose every lookup finds no such host.
func dnsFails() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}}}
}

func TestFailuresToGetAnAnswerAreOneSentence(t *testing.T) {
	refused := "http://" + closedAddr(t)
	hang := mustHang(t).URL
	hangUp := mustHangUp(t).URL
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		cfg     prom.Config
		ctx     func(t *testing.T) context.Context
		want    string
		is      error
		maxTook time.Duration
	}{
		{"A closed port refuses the connection.", prom.Config{URL: refused},
			nil, "Prometheus at " + refused + " refused the connection", syscall.ECONNREFUSED, time.Second},
		{"An unknown host is a DNS failure.", prom.Config{URL: "http://prometheus.monitoring:9090", Client: dnsFails()},
			nil, "Prometheus at http://prometheus.monitoring:9090 could not be found: DNS lookup of prometheus.monitoring: no such host", nil, time.Second},
		{"A silent server times out after the per-query timeout.", prom.Config{URL: hang, Timeout: 200 * time.Millisecond},
			nil, "Prometheus at " + hang + " did not answer within 200ms", context.DeadlineExceeded, time.Second},
		{"A caller's shorter deadline wins.", prom.Config{URL: hang},
			func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			}, "Prometheus at " + hang + " did not answer within ~300ms", context.DeadlineExceeded, time.Second},
		{"The per-query timeout applies on top of a longer deadline.", prom.Config{URL: hang, Timeout: 200 * time.Millisecond},
			func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				t.Cleanup(cancel)
				return ctx
			}, "Prometheus at " + hang + " did not answer within 200ms", context.DeadlineExceeded, time.Second},
		{"A caller's cancel is a cancel.", prom.Config{URL: hang},
			func(*testing.T) context.Context { return canceled }, "the query to Prometheus at " + hang + " was canceled", context.Canceled, time.Second},
		{"A server hanging up closed the connection.", prom.Config{URL: hangUp},
			nil, "Prometheus at " + hangUp + " closed the connection before answering", nil, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(t)
			}
			start := time.Now()
			_, err := mustNew(t, tt.cfg).QueryRange(ctx, "up", diagnosis.Range{Start: t0, End: t0.Add(time.Hour), Step: time.Minute})
			took := time.Since(start)
			if err == nil || !sameSentence(err.Error(), tt.want) {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) is false", tt.is)
			}
			if took > tt.maxTook {
				t.Errorf("took %v, want under %v", took, tt.maxTook)
			}
		})
	}
}

func TestReadySaysWhetherPrometheusServes(t *testing.T) {
	refused := "http://" + closedAddr(t)
	tests := []struct {
		name   string
		status int
		url    string
		want   string // %s is the server's URL; empty for ready
	}{
		{"A 200 is ready.", 200, "", ""},
		{"A 503 while replaying the WAL is not ready.", 503, "", "Prometheus at %s is not ready: it answered 503 Service Unavailable"},
		{"A closed port refuses the connection.", 0, refused, "Prometheus at " + refused + " refused the connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			var reqs *[]request
			if u == "" {
				var srv *httptest.Server
				srv, reqs = mustServe(t, tt.status, "Prometheus Server is Ready.\n")
				u = srv.URL + "/prom"
			}
			err := mustNew(t, prom.Config{URL: u}).Ready(t.Context())
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, u)
			}
			if (err == nil) != (want == "") || (err != nil && err.Error() != want) {
				t.Errorf("got %v, want %q", err, want)
			}
			if reqs != nil && ((*reqs)[0].Path != "/prom/-/ready" || (*reqs)[0].Method != "GET") {
				t.Errorf("got request %+v", (*reqs)[0])
			}
		})
	}
}

func TestNewRefusesUnusableConfigs(t *testing.T) {
	tests := []struct {
		name string
		cfg  prom.Config
		want string
	}{
		{"An empty URL has no scheme.", prom.Config{}, `Prometheus URL "": scheme must be http or https`},
		{"A URL without a host.", prom.Config{URL: "http:///api"}, `Prometheus URL "http:///api": no host`},
		{"A host without a scheme.", prom.Config{URL: "prometheus:9090"}, `Prometheus URL "prometheus:9090": scheme must be http or https`},
		{"An unparsable URL hides its credentials.", prom.Config{URL: "http://alice:s3cret@prometheus:90x0"}, `Prometheus URL: invalid port ":90x0" after host`},
		{"A negative timeout.", prom.Config{URL: "http://prometheus:9090", Timeout: -time.Second}, "Prometheus timeout -1s: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := prom.New(tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

// sameSentence compares an error with what a test wants; "~300ms" in want
// is the caller's budget, whatever of it the query still had when it began
// (a few milliseconds go before it does): 250 to 300 ms.
func sameSentence(got, want string) bool {
	before, after, approx := strings.Cut(want, "~300ms")
	if !approx {
		return got == want
	}
	if !strings.HasPrefix(got, before) || !strings.HasSuffix(got, after) {
		return false
	}
	d, err := time.ParseDuration(strings.TrimSuffix(strings.TrimPrefix(got, before), after))
	return err == nil && d > 250*time.Millisecond && d <= 300*time.Millisecond
}
