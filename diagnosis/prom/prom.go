// Package prom answers diagnosis's metric queries from Prometheus through
// client_golang's api/prometheus/v1.
package prom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

var _ diagnosis.Metrics = (*Client)(nil)

// DefaultTimeout bounds each query when Config.Timeout is zero.
const DefaultTimeout = 3 * time.Second

// slog keys.
const (
	keyComponent  = "component"
	keyPrometheus = "prometheus"
	keyQuery      = "query"
	keySeries     = "series"
	keyTook       = "took"
	keyWarning    = "warning"
	keyInfo       = "info"
)

// Config says which Prometheus to ask and how.
type Config struct {
	URL     string        // Prometheus base URL (a path prefix is allowed)
	Timeout time.Duration // per query, default 3s; also sent as the server-side timeout
	Client  *http.Client  // optional
	Logger  *slog.Logger  // optional
}

// Client asks one Prometheus. It is safe for concurrent use.
type Client struct {
	api     v1.API
	raw     api.Client
	where   string // the URL without credentials, for errors and logs
	timeout time.Duration
	log     *slog.Logger
}

// New checks cfg and returns a Client; it never dials. Credentials in the
// URL's userinfo are sent as basic auth and never appear in errors or logs.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the raw URL, credentials and all
		}
		return nil, fmt.Errorf("Prometheus URL: %w", err)
	}
	where := redact(u)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("Prometheus URL %q: scheme must be http or https", where)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("Prometheus URL %q: no host", where)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("Prometheus timeout %v: must not be negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	raw, err := api.NewClient(api.Config{Address: u.String(), Client: cfg.Client})
	if err != nil {
		return nil, fmt.Errorf("Prometheus client for %s: %w", where, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		api:     v1.NewAPI(raw),
		raw:     raw,
		where:   where,
		timeout: cfg.Timeout,
		log:     logger.With(keyComponent, "prom", keyPrometheus, where),
	}, nil
}

// redact is u without userinfo, query or fragment.
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	c.Path, c.RawPath = strings.TrimRight(u.Path, "/"), ""
	return c.String()
}

// QueryRange evaluates query over r. Series hold only finite samples; a
// series without any is left out.
func (c *Client) QueryRange(ctx context.Context, query string, r diagnosis.Range) ([]diagnosis.Series, error) {
	if r.Step <= 0 {
		return nil, &Error{msg: fmt.Sprintf("bad range: step %v is not positive", r.Step), errs: []error{ErrBadQuery}}
	}
	if r.End.Before(r.Start) {
		return nil, &Error{msg: "bad range: it ends before it starts", errs: []error{ErrBadQuery}}
	}
	val, err := c.do(ctx, query, func(ctx context.Context, opt v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
		return c.api.QueryRange(ctx, query, v1.Range{Start: r.Start, End: r.End, Step: r.Step}, opt)
	})
	if err != nil {
		return nil, err
	}
	m, ok := val.(model.Matrix)
	if !ok {
		return nil, c.unexpected("range query", val)
	}
	return fromMatrix(m), nil
}

// Query evaluates query at the instant at (now if zero): one point per
// series. A scalar becomes one unlabelled series.
func (c *Client) Query(ctx context.Context, query string, at time.Time) ([]diagnosis.Series, error) {
	val, err := c.do(ctx, query, func(ctx context.Context, opt v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
		return c.api.Query(ctx, query, at, opt)
	})
	if err != nil {
		return nil, err
	}
	switch v := val.(type) {
	case model.Vector:
		return fromVector(v), nil
	case *model.Scalar:
		return fromScalar(v), nil
	case model.Matrix: // a range selector such as up[5m]
		return fromMatrix(v), nil
	}
	return nil, c.unexpected("instant query", val)
}

// Ready returns nil when Prometheus says it is ready to serve queries.
func (c *Client) Ready(ctx context.Context) error {
	ctx, cancel, budget := c.bound(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.raw.URL("/-/ready", nil).String(), nil)
	if err != nil {
		return fmt.Errorf("readiness request for %s: %w", c.where, err)
	}
	resp, _, err := c.raw.Do(ctx, req)
	if err != nil {
		return c.explain(ctx, budget, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &Error{msg: fmt.Sprintf("Prometheus at %s is not ready: it answered %s", c.where, resp.Status)}
	}
	return nil
}

// bound applies the per-query timeout on top of ctx, and says how long the
// query may take.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	budget := c.timeout
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	return ctx, cancel, budget
}

type call func(ctx context.Context, opt v1.Option) (model.Value, v1.Warnings, v1.Infos, error)

// do runs one query under the timeout, logs what Prometheus warns about and
// explains failures.
func (c *Client) do(ctx context.Context, query string, run call) (model.Value, error) {
	qctx, cancel, budget := c.bound(ctx)
	defer cancel()
	start := time.Now()
	val, warns, infos, err := run(qctx, v1.WithTimeout(serverTimeout(budget)))
	for _, w := range warns {
		c.log.DebugContext(ctx, "Prometheus warning", keyQuery, query, keyWarning, w)
	}
	for _, i := range infos {
		c.log.DebugContext(ctx, "Prometheus info", keyQuery, query, keyInfo, i)
	}
	if err != nil {
		return nil, c.explain(qctx, budget, err)
	}
	c.log.DebugContext(ctx, "query", keyQuery, query, keyTook, time.Since(start), keySeries, seriesCount(val))
	return val, nil
}

// serverTimeout is d in a form Prometheus parses: client_golang sends
// d.String(), and Prometheus rejects fractions such as "1.5s".
func serverTimeout(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Truncate(time.Second)
	}
	return max(d.Truncate(time.Millisecond), time.Millisecond)
}

func (c *Client) unexpected(what string, val model.Value) error {
	typ := "nothing"
	if val != nil {
		typ = val.Type().String()
	}
	return &Error{msg: fmt.Sprintf("Prometheus at %s answered the %s with a %s, which nightowl does not read", c.where, what, typ)}
}

func seriesCount(val model.Value) int {
	switch v := val.(type) {
	case model.Matrix:
		return len(v)
	case model.Vector:
		return len(v)
	case *model.Scalar:
		return 1
	}
	return 0
}

func finite(v model.SampleValue) bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

func labels(m model.Metric) map[string]string {
	l := make(map[string]string, len(m))
	for k, v := range m {
		l[string(k)] = string(v)
	}
	return l
}

func fromMatrix(m model.Matrix) []diagnosis.Series {
	out := make([]diagnosis.Series, 0, len(m))
	for _, ss := range m {
		var pts []diagnosis.Point
		for _, p := range ss.Values {
			if finite(p.Value) {
				pts = append(pts, diagnosis.Point{T: p.Timestamp.Time().UTC(), V: float64(p.Value)})
			}
		}
		if len(pts) > 0 {
			out = append(out, diagnosis.Series{Labels: labels(ss.Metric), Points: pts})
		}
	}
	return out
}

func fromVector(v model.Vector) []diagnosis.Series {
	out := make([]diagnosis.Series, 0, len(v))
	for _, s := range v {
		if s.Histogram != nil || !finite(s.Value) {
			continue
		}
		out = append(out, diagnosis.Series{
			Labels: labels(s.Metric),
			Points: []diagnosis.Point{{T: s.Timestamp.Time().UTC(), V: float64(s.Value)}},
		})
	}
	return out
}

func fromScalar(s *model.Scalar) []diagnosis.Series {
	if !finite(s.Value) {
		return []diagnosis.Series{}
	}
	return []diagnosis.Series{{
		Labels: map[string]string{},
		Points: []diagnosis.Point{{T: s.Timestamp.Time().UTC(), V: float64(s.Value)}},
	}}
}
