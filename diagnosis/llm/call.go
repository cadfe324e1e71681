package llm

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Error is one sentence saying why the model gave no answer. It never holds
// the API key, the prompt or the URL's credentials; the errors it wraps
// (ErrBudget, context.DeadlineExceeded, syscall.ECONNREFUSED, …) remain
// reachable through errors.Is.
type Error struct {
	msg   string
	errs  []error
	retry bool // a 429, a 5xx, a timeout or a dropped connection
}

func (e *Error) Error() string   { return e.msg }
func (e *Error) Unwrap() []error { return e.errs }

// request is one model call as the loops above see it: the retries below
// it are invisible to them.
type request struct {
	purpose  string // "triage" or "answer", for the logs
	incident string // "" is not charged to any budget
	msgs     []llms.MessageContent
	opts     []llms.CallOption
	tools    []string // tool names, for the logs
}

// generate sends r, retrying what may pass, and returns the first choice.
// Usage counts every request sent (Calls) and the tokens of the one that
// answered.
func (e *Explainer) generate(ctx context.Context, r request) (*llms.ContentChoice, diagnosis.Usage, error) {
	usage := diagnosis.Usage{Model: e.name}
	if err := e.budget.check(r.incident); err != nil {
		return nil, usage, err
	}
	opts := []llms.CallOption{llms.WithTemperature(0), llms.WithMaxTokens(e.maxTokens)}
	if e.legacy {
		opts = append(opts, openai.WithLegacyMaxTokensField())
	}
	opts = append(opts, r.opts...)
	e.logRequest(ctx, r)
	for attempt := 0; ; attempt++ {
		choice, u, err := e.attempt(ctx, r, opts)
		usage = usage.Add(u)
		if err == nil {
			e.budget.charge(r.incident, spent(u, r.msgs, choice))
			e.log.InfoContext(ctx, "llm call", keyPurpose, r.purpose, keyIncident, r.incident, keyAttempt, attempt+1,
				keyPrompt, u.PromptTokens, keyCompletion, u.CompletionTokens, keyLatency, u.Latency.Round(time.Millisecond))
			return choice, usage, nil
		}
		var le *Error
		if !errors.As(err, &le) || !le.retry || attempt >= e.retries {
			return nil, usage, err
		}
		wait := 100 * time.Millisecond << attempt
		e.log.DebugContext(ctx, "llm call failed, retrying", keyPurpose, r.purpose, keyIncident, r.incident,
			keyAttempt, attempt+1, "wait", wait, keyErr, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, usage, &Error{msg: fmt.Sprintf("the LLM call was canceled while waiting to retry after: %s", err), errs: []error{ctx.Err(), err}}
		case <-t.C:
		}
	}
}

// attempt sends one request, bounded by the per-call timeout, once one of
// the MaxInFlight slots is free.
func (e *Explainer) attempt(ctx context.Context, r request, opts []llms.CallOption) (*llms.ContentChoice, diagnosis.Usage, error) {
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	case <-ctx.Done():
		return nil, diagnosis.Usage{Model: e.name}, &Error{
			msg:  fmt.Sprintf("the LLM was busy with %d other calls until no time was left", cap(e.slots)),
			errs: []error{ctx.Err()},
		}
	}
	actx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	x := &exchange{}
	start := time.Now()
	resp, err := e.model.GenerateContent(withExchange(actx, x), r.msgs, opts...)
	u := diagnosis.Usage{Model: e.name, Calls: 1, Latency: time.Since(start)}
	if err != nil {
		le := e.explain(ctx, actx, x, err)
		if !errors.Is(le, context.Canceled) {
			e.obs.ModelCalled(0, 0, le)
		}
		return nil, u, le
	}
	if resp == nil || len(resp.Choices) == 0 || resp.Choices[0] == nil {
		le := &Error{msg: fmt.Sprintf("LLM endpoint at %s answered with no choices", e.where)}
		e.obs.ModelCalled(0, 0, le)
		return nil, u, le
	}
	choice := resp.Choices[0]
	u.PromptTokens = count(choice.GenerationInfo["PromptTokens"])
	u.CompletionTokens = count(choice.GenerationInfo["CompletionTokens"])
	e.obs.ModelCalled(u.PromptTokens, u.CompletionTokens, nil)
	return choice, u, nil
}

// explain turns a failed request into an Error. parent is the caller's
// context and bounded the same with the per-call timeout.
func (e *Explainer) explain(parent, bounded context.Context, x *exchange, err error) *Error {
	where := e.where
	switch {
	case errors.Is(parent.Err(), context.Canceled):
		return &Error{msg: "the LLM call was canceled", errs: []error{context.Canceled}}
	case parent.Err() != nil:
		return &Error{msg: fmt.Sprintf("no time was left to wait for the LLM at %s", where), errs: []error{context.DeadlineExceeded}}
	case bounded.Err() != nil:
		return &Error{msg: fmt.Sprintf("the LLM at %s did not answer within %s", where, diagnosis.Precise(e.timeout)), errs: []error{context.DeadlineExceeded}, retry: true}
	case x.err != nil:
		return explainTransport(where, x.err)
	case x.status != 0 && x.status != http.StatusOK:
		return e.explainStatus(x.status, err)
	case errors.Is(err, openai.ErrEmptyResponse) || err.Error() == "empty response": // the latter from openaiclient, internal
		return &Error{msg: fmt.Sprintf("LLM endpoint at %s answered with no choices", where), errs: []error{err}}
	}
	return &Error{msg: fmt.Sprintf("LLM endpoint at %s sent an answer nightowl cannot read: %s", where, diagnosis.Truncate(e.redactor.text(err.Error()), 200)), errs: []error{err}}
}

// explainStatus explains a non-200 answer; langchaingo's error reads
// "API returned unexpected status code: 500: <the server's message>".
func (e *Explainer) explainStatus(code int, err error) *Error {
	detail := ""
	if _, rest, ok := strings.Cut(err.Error(), "status code: "); ok {
		if _, msg, ok := strings.Cut(rest, ": "); ok {
			detail = ": " + diagnosis.Truncate(e.redactor.text(msg), 200)
		}
	}
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return &Error{msg: fmt.Sprintf("LLM endpoint at %s rejected the API key (%s)%s", e.where, status(code), detail)}
	case code == http.StatusTooManyRequests || code >= 500:
		return &Error{msg: fmt.Sprintf("LLM endpoint at %s answered %s%s", e.where, status(code), detail), retry: true}
	}
	return &Error{msg: fmt.Sprintf("LLM endpoint at %s answered %s%s", e.where, status(code), detail)}
}

// explainTransport explains a request that got no HTTP answer.
func explainTransport(where string, err error) *Error {
	wrap := func(retry bool, format string, args ...any) *Error {
		return &Error{msg: fmt.Sprintf(format, args...), errs: []error{err}, retry: retry}
	}
	var dnsErr *net.DNSError
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return wrap(false, "LLM endpoint at %s refused the connection", where)
	case errors.As(err, &dnsErr):
		return wrap(false, "LLM endpoint at %s could not be found: DNS lookup of %s: %s", where, dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return wrap(true, "LLM endpoint at %s closed the connection before answering", where)
	case errors.As(err, &netErr) && netErr.Timeout():
		return wrap(true, "the LLM at %s did not answer in time", where)
	case errors.As(err, &certErr), errors.As(err, &unknownAuth):
		return wrap(false, "LLM endpoint at %s presented a TLS certificate nightowl does not trust", where)
	}
	cause := err
	var uerr *url.Error
	if errors.As(err, &uerr) {
		cause = uerr.Err // url.Error repeats the URL
	}
	return wrap(false, "could not reach the LLM endpoint at %s: %v", where, cause)
}

// status prints 502 as "502 Bad Gateway".
func status(code int) string {
	if text := http.StatusText(code); text != "" {
		return fmt.Sprintf("%d %s", code, text)
	}
	return fmt.Sprintf("HTTP %d", code)
}

// count reads a token count from langchaingo's GenerationInfo.
func count(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

// spent is what a call costs the budget: the tokens the server reported, or
// about four characters a token when it reported none.
func spent(u diagnosis.Usage, msgs []llms.MessageContent, choice *llms.ContentChoice) int {
	if n := u.Tokens(); n > 0 {
		return n
	}
	chars := len(choice.Content)
	for _, m := range msgs {
		for _, p := range m.Parts {
			switch p := p.(type) {
			case llms.TextContent:
				chars += len(p.Text)
			case llms.ToolCallResponse:
				chars += len(p.Content)
			}
		}
	}
	return chars/4 + 1
}

// logRequest logs at debug exactly what is sent: the messages after
// redaction, never the key.
func (e *Explainer) logRequest(ctx context.Context, r request) {
	if !e.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	type line struct {
		Role       string   `json:"role"`
		Content    string   `json:"content,omitempty"`
		ToolCalls  []string `json:"tool_calls,omitempty"`
		ToolCallID string   `json:"tool_call_id,omitempty"`
	}
	wire := map[llms.ChatMessageType]string{
		llms.ChatMessageTypeSystem: "system", llms.ChatMessageTypeHuman: "user",
		llms.ChatMessageTypeAI: "assistant", llms.ChatMessageTypeTool: "tool",
	}
	lines := make([]line, 0, len(r.msgs))
	for _, m := range r.msgs {
		l := line{Role: cmp.Or(wire[m.Role], string(m.Role))}
		for _, p := range m.Parts {
			switch p := p.(type) {
			case llms.TextContent:
				l.Content += p.Text
			case llms.ToolCall:
				l.ToolCalls = append(l.ToolCalls, p.FunctionCall.Name+" "+p.FunctionCall.Arguments)
			case llms.ToolCallResponse:
				l.ToolCallID, l.Content = p.ToolCallID, p.Content
			}
		}
		lines = append(lines, l)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(lines)
	e.log.DebugContext(ctx, "llm request", keyPurpose, r.purpose, keyIncident, r.incident,
		keyMessages, strings.TrimSpace(b.String()), keyTools, r.tools)
}

// exchange is what the wire said about one request. langchaingo turns
// transport errors into "network error: failed to reach API server" and
// statuses into text, so the transport keeps the facts retries depend on.
type exchange struct {
	status int
	err    error
}

type exchangeKey struct{}

func withExchange(ctx context.Context, x *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, x)
}

// observer is a RoundTripper that records each exchange in the request's
// context.
type observer struct{ next http.RoundTripper }

func (o observer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(req)
	if x, ok := req.Context().Value(exchangeKey{}).(*exchange); ok {
		if err != nil {
			x.err = err
		} else {
			x.status = resp.StatusCode
		}
	}
	return resp, err
}

// observed returns a copy of hc (or a new client) whose transport records
// exchanges.
func observed(hc *http.Client) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = observer{next: next}
	return c
}

// ledger keeps the tokens each incident has used, and every call's in the
// last hour. The check is soft: calls already under way when a budget runs
// out still finish.
type ledger struct {
	mu     sync.Mutex
	limit  int // per incident; negative: no limit
	used   map[string]int
	order  []string // oldest first, to forget long-gone incidents
	hourly int      // every call's tokens in any hour; negative: no limit
	// minutes are the last hour's tokens, one bucket a minute: bucket
	// i holds minute at[i] (Unix minutes).
	minutes [60]int
	at      [60]int64
	now     func() time.Time
}

// maxIncidents bounds the ledger; the oldest incident is forgotten first.
const maxIncidents = 4096

func newLedger(limit, hourly int) *ledger {
	return &ledger{limit: limit, hourly: hourly, used: map[string]int{}, now: time.Now}
}

func (l *ledger) check(incident string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if spent := l.lastHour(); l.hourly >= 0 && spent >= l.hourly {
		return &Error{msg: fmt.Sprintf("nightowl's LLM calls have used %d of the %d tokens they may use in an hour", spent, l.hourly),
			errs: []error{ErrBudget, ErrHourlyBudget}}
	}
	if l.limit < 0 || incident == "" {
		return nil
	}
	if used := l.used[incident]; used >= l.limit {
		return &Error{msg: fmt.Sprintf("incident %s has used %d of its %d LLM tokens", incident, used, l.limit), errs: []error{ErrBudget}}
	}
	return nil
}

// lastHour is the tokens spent in the last 60 minutes; call with mu held.
func (l *ledger) lastHour() int {
	now := l.now().Unix() / 60
	total := 0
	for i, m := range l.at {
		if now-m < 60 {
			total += l.minutes[i]
		}
	}
	return total
}

func (l *ledger) charge(incident string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	minute := l.now().Unix() / 60
	if i := minute % 60; l.at[i] != minute {
		l.at[i], l.minutes[i] = minute, n
	} else {
		l.minutes[i] += n
	}
	if incident == "" {
		return
	}
	if _, ok := l.used[incident]; !ok {
		l.order = append(l.order, incident)
		if len(l.order) > maxIncidents {
			delete(l.used, l.order[0])
			l.order = l.order[1:]
		}
	}
	l.used[incident] += n
}

func (l *ledger) spent(incident string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used[incident]
}

// Spent is the tokens the incident has used so far.
func (e *Explainer) Spent(incident string) int { return e.budget.spent(incident) }
