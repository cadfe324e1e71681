package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/llm"
	"github.com/nightowl-sre/nightowl/metrics"
	"github.com/nightowl-sre/nightowl/runbooks"
	"github.com/nightowl-sre/nightowl/store"
)

// The Registry is what the bot reports to: bot declares the methods it
// calls and never imports metrics.
var (
	_ bot.Observer        = (*metrics.Registry)(nil)
	_ bot.SlackObserver   = (*metrics.Registry)(nil)
	_ llm.Observer        = (*metrics.Registry)(nil)
	_ store.WriteObserver = (*metrics.Registry)(nil)
)

// serveMetrics serves METRICS_ADDR from now until stop is called: before
// Slack is reached, so that /healthz answers and /readyz says why nightowl
// is not ready yet, and on through the drain after ctx ends, when /readyz
// answers "shutting down". Without METRICS_ADDR it does nothing.
func (a *App) serveMetrics(ctx context.Context) (stop func(), err error) {
	if a.cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	srv := metrics.NewServer(metrics.ServerConfig{Addr: a.cfg.MetricsAddr, Registry: a.Metrics, Checks: a.readiness(), Logger: a.log})
	if err := srv.Listen(); err != nil {
		return nil, fmt.Errorf("METRICS_ADDR %s: %w", a.cfg.MetricsAddr, err)
	}
	serveCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Run(serveCtx); err != nil {
			a.log.Error("metrics server stopped: /healthz, /readyz and /metrics do not answer", "err", err)
		}
	}()
	unhook := context.AfterFunc(ctx, srv.ShuttingDown)
	return func() {
		unhook()
		cancel()
		<-done
	}, nil
}

// readiness is what /readyz checks: Slack has said who the bot is (until
// then, why not: unreachable, retrying in …), the Socket Mode connection
// is up (no alert, command or click reaches a disconnected bot) and the
// database takes a write now (store.DB.Writable: a row inserted and
// rolled back).
func (a *App) readiness() []metrics.Check {
	return []metrics.Check{
		{Name: "slack", Ready: func(context.Context) error { return a.Bot.Identified() }},
		{Name: "socket", Ready: func(context.Context) error {
			if !a.Slack.Connected() {
				return errors.New("Socket Mode is not connected")
			}
			return nil
		}},
		{Name: "store", Ready: a.DB.Writable},
	}
}

// instantQuerier is the Prometheus adapter's instant query, which runbook
// verification uses when it is there.
type instantQuerier interface {
	Query(ctx context.Context, query string, at time.Time) ([]diagnosis.Series, error)
}

// observeQueries counts the PromQL queries that fail, evidence and runbook
// verification alike (nightowl_prometheus_query_failures_total); nil
// stays nil (no PROMETHEUS_URL).
func observeQueries(m diagnosis.Metrics, reg *metrics.Registry) diagnosis.Metrics {
	if m == nil {
		return nil
	}
	r := observedRange{next: m, reg: reg}
	if q, ok := m.(instantQuerier); ok {
		return observedQueries{observedRange: r, instant: q}
	}
	return r
}

type observedRange struct {
	next diagnosis.Metrics
	reg  *metrics.Registry
}

func (o observedRange) QueryRange(ctx context.Context, query string, r diagnosis.Range) ([]diagnosis.Series, error) {
	series, err := o.next.QueryRange(ctx, query, r)
	if err != nil && ctx.Err() == nil {
		o.reg.PrometheusQueryFailed()
	}
	return series, err
}

type observedQueries struct {
	observedRange
	instant instantQuerier
}

func (o observedQueries) Query(ctx context.Context, query string, at time.Time) ([]diagnosis.Series, error) {
	series, err := o.instant.Query(ctx, query, at)
	if err != nil && ctx.Err() == nil {
		o.reg.PrometheusQueryFailed()
	}
	return series, err
}

var _ instantQuerier = observedQueries{}

// observedRunbooks counts the runbook service's news on its way to the
// bot: requests, approvals (each new one a request carries when it is
// approved, queued or started), rejections and finished runs with their
// outcome and duration.
type observedRunbooks struct {
	next runbooks.Notifier
	reg  *metrics.Registry

	mu        sync.Mutex
	approvals map[string]int // approvals counted, by request, until it ends
}

func observeRunbooks(next runbooks.Notifier, reg *metrics.Registry) *observedRunbooks {
	return &observedRunbooks{next: next, reg: reg, approvals: map[string]int{}}
}

func (o *observedRunbooks) RunbookUpdate(ctx context.Context, u runbooks.Update) {
	rq := u.Request
	switch u.Kind {
	case runbooks.UpdateOpened:
		o.reg.RunbookRequested(rq.Runbook)
	case runbooks.UpdateRejected:
		o.reg.RunbookRefused(rq.Runbook)
	case runbooks.UpdateFinished:
		if rq.Result != nil {
			o.reg.RunbookRan(rq.Runbook, rq.Result.Outcome, rq.Result.Ended.Sub(rq.Result.Started))
		}
	}
	o.mu.Lock()
	switch u.Kind {
	case runbooks.UpdateApproved, runbooks.UpdateQueued, runbooks.UpdateStarted: // what an approval leads to
		for range len(rq.Approvals) - o.approvals[rq.ID] {
			o.reg.RunbookApproved(rq.Runbook)
		}
		o.approvals[rq.ID] = max(o.approvals[rq.ID], len(rq.Approvals))
	case runbooks.UpdateFinished, runbooks.UpdateRejected, runbooks.UpdateExpired, runbooks.UpdateInterrupted:
		delete(o.approvals, rq.ID) // it ended: no approval comes after
	}
	o.mu.Unlock()
	o.next.RunbookUpdate(ctx, u)
}

var _ runbooks.Notifier = (*observedRunbooks)(nil)

// observedAudit counts the clicks the approval policy refuses (an approval,
// rejection or cancel by someone who may not, the requester's own approval
// of a two-person runbook, a stale digest) as they go on the record: they
// change no request, so the notifier never hears of them.
type observedAudit struct {
	runbooks.Audit
	reg *metrics.Registry
}

func (o observedAudit) AppendAudit(ctx context.Context, e runbooks.AuditEvent) error {
	if e.Kind == runbooks.AuditRefused {
		o.reg.RunbookRefused(e.Runbook)
	}
	return o.Audit.AppendAudit(ctx, e)
}

var _ runbooks.Audit = observedAudit{}
