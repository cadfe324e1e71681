// Package metrics owns what nightowl tells Prometheus about itself: the
// nightowl_* instruments, and the HTTP server of /metrics, /healthz and /readyz.
//
// It is the only package that imports client_golang's registry and promhttp.
// The bot never sees a prometheus type: it calls methods of Registry that
// take strings, counts, durations and errors, through small interfaces it
// declares itself. Every label value is bounded, either by a closed set
// (outcome="ok"|"error") or by a cap on how many distinct values one label
// keeps (the rest become "other"); docs/metrics.md lists them.
package metrics

import (
	"context"
	"errors"
	"runtime"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// namespace prefixes every instrument of nightowl's own.
const namespace = "nightowl"

// Outcome label values.
const (
	outcomeOK          = "ok"
	outcomeError       = "error"
	outcomeRateLimited = "rate_limited" // Slack answered HTTP 429
	outcomeAccepted    = "accepted"
	outcomeRefused     = "refused"
	outcomeTimeout     = "timeout"
)

// runbookOutcomes are the outcomes of runbooks.Result (runbooks/runbooks.go).
var runbookOutcomes = []string{"succeeded", "failed", "cancelled", "timed_out", "interrupted"}

// envelopeTypes are the Socket Mode envelopes nightowl acknowledges.
var envelopeTypes = []string{"events_api", "slash_commands", "interactive"}

// Bucket layouts, in seconds unless said.
var (
	// fastBuckets: an envelope must be acked within 3 s; a store write
	// should take milliseconds.
	fastBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	// cardBuckets: GROUP_WAIT (30 s by default) dominates first alert → card.
	cardBuckets = []float64{1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600}
	// diagnosisBuckets: the graph alone takes milliseconds, Prometheus
	// evidence up to its 3 s deadline, a model up to LLM_TIMEOUT.
	diagnosisBuckets = []float64{.01, .05, .1, .25, .5, 1, 2, 3, 5, 10, 20, 30, 60}
	// runBuckets: a runbook runs for seconds to its timeout (15 m).
	runBuckets = []float64{1, 5, 10, 30, 60, 120, 300, 600, 900, 1800}
	// notifiedBuckets: how many people one page notified.
	notifiedBuckets = []float64{0, 1, 2, 3, 5, 8, 13, 21, 50}
)

// Caps on the distinct values of open labels.
const (
	maxSources  = 16 // ALERT_SOURCES bot and app IDs
	maxMethods  = 32 // Slack Web API methods nightowl calls (about ten)
	maxRunbooks = 64 // runbook IDs of the catalog
	maxStoreOps = 32 // store methods that write
)

// Registry holds every nightowl_* instrument in a prometheus.Registry of its
// own (not the global default), with the Go runtime and process collectors.
// Its methods are safe for concurrent use.
type Registry struct {
	reg         *prometheus.Registry
	instruments []Instrument

	alertsReceived    *prometheus.CounterVec
	incidentsOpened   prometheus.Counter
	incidentsResolved prometheus.Counter
	pagesSent         prometheus.Counter
	pageNotified      prometheus.Histogram
	cardPosts         *prometheus.CounterVec
	firstAlertToCard  prometheus.Histogram
	slackCalls        *prometheus.CounterVec
	socketConnected   prometheus.Gauge
	socketReconnects  prometheus.Counter
	envelopeAck       *prometheus.HistogramVec
	diagnosisSeconds  prometheus.Histogram
	promQueryFailures prometheus.Counter
	runbookRequests   *prometheus.CounterVec
	runbookApprovals  *prometheus.CounterVec
	runbookRefusals   *prometheus.CounterVec
	runbookRuns       *prometheus.CounterVec
	runbookRunSeconds *prometheus.HistogramVec
	modelCalls        *prometheus.CounterVec
	modelTokens       *prometheus.CounterVec
	storeWriteSeconds *prometheus.HistogramVec
	storeErrors       *prometheus.CounterVec

	sources, methods, runbooks, storeOps *capped
}

// Instrument describes one nightowl_* metric: for the docs and the tests
// that check dashboards and rules against what exists.
type Instrument struct {
	Name   string
	Type   string // counter, gauge or histogram
	Labels []string
}

// New returns a Registry with every instrument registered and
// nightowl_build_info set for version (main.version).
func New(version string) *Registry {
	r := &Registry{
		reg:      prometheus.NewRegistry(),
		sources:  newCapped(maxSources),
		methods:  newCapped(maxMethods),
		runbooks: newCapped(maxRunbooks),
		storeOps: newCapped(maxStoreOps),
	}
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	build := r.gaugeVec("build_info", "1 for the running build: its version and the Go version it was built with.", "version", "go_version")
	build.WithLabelValues(version, runtime.Version()).Set(1)

	r.alertsReceived = r.counterVec("alerts_received_total", "Alerts decoded from trusted alert messages (accepted) and alert messages dropped as untrusted or unreadable (refused), by source.", "source", "outcome")
	r.incidentsOpened = r.counter("incidents_opened_total", "Incidents opened (a new card).")
	r.incidentsResolved = r.counter("incidents_resolved_total", "Incidents whose alerts all resolved.")
	r.pagesSent = r.counter("pages_sent_total", "Pages: incident cards posted with a mention of on-call.")
	r.pageNotified = r.histogram("page_notifications", "People one page notified (members of the on-call group, escalations included).", notifiedBuckets)
	r.cardPosts = r.counterVec("card_posts_total", "Incident cards posted, by outcome.", "outcome")
	r.firstAlertToCard = r.histogram("first_alert_to_card_seconds", "Time from an incident's first alert to its card in Slack.", cardBuckets)
	r.slackCalls = r.counterVec("slack_api_calls_total", "Slack Web API calls, by method and outcome.", "method", "outcome")
	r.socketConnected = r.gauge("socket_connected", "1 while the Socket Mode connection is up, 0 otherwise.")
	r.socketReconnects = r.counter("socket_reconnects_total", "Socket Mode reconnections after the first connection.")
	r.envelopeAck = r.histogramVec("envelope_ack_seconds", "Time from receiving a Socket Mode envelope to acknowledging it, by envelope type.", fastBuckets, "type")
	r.diagnosisSeconds = r.histogram("diagnosis_seconds", "Time one diagnosis took, evidence and model included.", diagnosisBuckets)
	r.promQueryFailures = r.counter("prometheus_query_failures_total", "PromQL queries for evidence or verification that failed.")
	r.runbookRequests = r.counterVec("runbook_requests_total", "Runbook run requests, by runbook.", "runbook")
	r.runbookApprovals = r.counterVec("runbook_approvals_total", "Approvals given to runbook requests, by runbook.", "runbook")
	r.runbookRefusals = r.counterVec("runbook_refusals_total", "Runbook requests rejected or refused by policy, by runbook.", "runbook")
	r.runbookRuns = r.counterVec("runbook_runs_total", "Runbook runs that ended, by runbook and outcome.", "runbook", "outcome")
	r.runbookRunSeconds = r.histogramVec("runbook_run_duration_seconds", "How long runbook runs took, by runbook.", runBuckets, "runbook")
	r.modelCalls = r.counterVec("model_calls_total", "Calls to the language model, by outcome.", "outcome")
	r.modelTokens = r.counterVec("model_tokens_total", "Tokens the language model read (prompt) and wrote (completion).", "kind")
	r.storeWriteSeconds = r.histogramVec("store_write_seconds", "Time SQLite writes took, by store operation.", fastBuckets, "op")
	r.storeErrors = r.counterVec("store_errors_total", "SQLite writes that failed, by store operation.", "op")

	// Series whose labels are a closed set exist from the start, so that
	// rate() and the rules see 0 rather than nothing.
	for _, o := range []string{outcomeOK, outcomeError} {
		r.cardPosts.WithLabelValues(o)
	}
	for _, o := range []string{outcomeOK, outcomeError, outcomeTimeout} {
		r.modelCalls.WithLabelValues(o)
	}
	for _, k := range []string{"prompt", "completion"} {
		r.modelTokens.WithLabelValues(k)
	}
	for _, t := range envelopeTypes {
		r.envelopeAck.WithLabelValues(t)
	}
	return r
}

// Gatherer is what promhttp serves.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Instruments lists nightowl's own metrics, sorted by name.
func (r *Registry) Instruments() []Instrument {
	out := append([]Instrument(nil), r.instruments...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AlertReceived counts one alert from source (a bot or app ID): accepted
// when it was decoded from a trusted message, refused when dropped.
func (r *Registry) AlertReceived(source string, accepted bool) {
	r.alertsReceived.WithLabelValues(r.sources.value(source), pick(accepted, outcomeAccepted, outcomeRefused)).Inc()
}

// IncidentOpened counts a new incident.
func (r *Registry) IncidentOpened() { r.incidentsOpened.Inc() }

// IncidentResolved counts an incident whose alerts all resolved.
func (r *Registry) IncidentResolved() { r.incidentsResolved.Inc() }

// PageSent counts one page and how many people it notified.
func (r *Registry) PageSent(notified int) {
	r.pagesSent.Inc()
	r.pageNotified.Observe(float64(max(notified, 0)))
}

// CardPosted counts an incident card posted (err nil) or not, and, when it
// was, how long after the incident's first alert.
func (r *Registry) CardPosted(sinceFirstAlert time.Duration, err error) {
	if err != nil {
		r.cardPosts.WithLabelValues(outcomeError).Inc()
		return
	}
	r.cardPosts.WithLabelValues(outcomeOK).Inc()
	r.firstAlertToCard.Observe(sinceFirstAlert.Seconds())
}

// SlackAPICalled counts one Web API call of method (chat.postMessage …):
// rate limited when Slack answered 429, an error when err is not nil.
func (r *Registry) SlackAPICalled(method string, err error, rateLimited bool) {
	outcome := outcomeOK
	switch {
	case rateLimited:
		outcome = outcomeRateLimited
	case err != nil:
		outcome = outcomeError
	}
	r.slackCalls.WithLabelValues(r.methods.value(method), outcome).Inc()
}

// SocketConnected sets the Socket Mode connection state.
func (r *Registry) SocketConnected(up bool) { r.socketConnected.Set(pick(up, 1.0, 0.0)) }

// SocketReconnected counts a reconnection (not the first connection).
func (r *Registry) SocketReconnected() { r.socketReconnects.Inc() }

// EnvelopeAcked observes how long acknowledging an envelope of type
// (events_api, slash_commands, interactive) took after it arrived.
func (r *Registry) EnvelopeAcked(envelopeType string, d time.Duration) {
	r.envelopeAck.WithLabelValues(oneOf(envelopeType, envelopeTypes)).Observe(d.Seconds())
}

// Diagnosed observes how long one diagnosis took.
func (r *Registry) Diagnosed(d time.Duration) { r.diagnosisSeconds.Observe(d.Seconds()) }

// PrometheusQueryFailed counts a PromQL query that failed.
func (r *Registry) PrometheusQueryFailed() { r.promQueryFailures.Inc() }

// RunbookRequested counts a run request of runbook (its ID).
func (r *Registry) RunbookRequested(runbook string) {
	r.runbookRequests.WithLabelValues(r.runbooks.value(runbook)).Inc()
}

// RunbookApproved counts one approval given to a request of runbook.
func (r *Registry) RunbookApproved(runbook string) {
	r.runbookApprovals.WithLabelValues(r.runbooks.value(runbook)).Inc()
}

// RunbookRefused counts a request of runbook rejected by a person or
// refused by policy.
func (r *Registry) RunbookRefused(runbook string) {
	r.runbookRefusals.WithLabelValues(r.runbooks.value(runbook)).Inc()
}

// RunbookRan counts a finished run of runbook with its outcome (one of
// runbooks.Outcome…) and observes how long it took.
func (r *Registry) RunbookRan(runbook, outcome string, d time.Duration) {
	id := r.runbooks.value(runbook)
	r.runbookRuns.WithLabelValues(id, oneOf(outcome, runbookOutcomes)).Inc()
	r.runbookRunSeconds.WithLabelValues(id).Observe(d.Seconds())
}

// ModelCalled counts a call to the language model and the tokens it used;
// err nil is ok, a deadline is a timeout, anything else an error.
func (r *Registry) ModelCalled(promptTokens, completionTokens int, err error) {
	outcome := outcomeOK
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		outcome = outcomeTimeout
	case err != nil:
		outcome = outcomeError
	}
	r.modelCalls.WithLabelValues(outcome).Inc()
	r.modelTokens.WithLabelValues("prompt").Add(float64(max(promptTokens, 0)))
	r.modelTokens.WithLabelValues("completion").Add(float64(max(completionTokens, 0)))
}

// StoreWrote observes a SQLite write of op (the store method, such as
// RecordAlerts) and counts it as an error when err is not nil.
func (r *Registry) StoreWrote(op string, d time.Duration, err error) {
	op = r.storeOps.value(op)
	r.storeWriteSeconds.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		r.storeErrors.WithLabelValues(op).Inc()
	}
}

func pick[T any](cond bool, yes, no T) T {
	if cond {
		return yes
	}
	return no
}
