package prom

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// ErrBadQuery is wrapped by the errors of queries Prometheus cannot parse or
// accept (PromQL syntax, a bad range), which only the asker can fix.
var ErrBadQuery = errors.New("bad query")

// Error is one sentence saying why Prometheus gave no answer, written to
// follow "metrics unavailable: ". It never holds the URL's credentials; the
// errors it wraps (context.DeadlineExceeded, ErrBadQuery, *v1.Error,
// syscall.ECONNREFUSED, …) remain reachable through errors.Is and errors.As.
type Error struct {
	msg  string
	errs []error
}

func (e *Error) Error() string   { return e.msg }
func (e *Error) Unwrap() []error { return e.errs }

// explain turns a failed request into an Error. ctx is the bounded context
// the request ran under and budget the time it was given.
func (c *Client) explain(ctx context.Context, budget time.Duration, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if errors.Is(ctxErr, context.Canceled) || (ctxErr == nil && errors.Is(err, context.Canceled)) {
			return &Error{msg: fmt.Sprintf("the query to Prometheus at %s was canceled", c.where), errs: []error{err, context.Canceled}}
		}
		if budget <= 0 {
			return &Error{msg: fmt.Sprintf("no time was left to ask Prometheus at %s", c.where), errs: []error{err, context.DeadlineExceeded}}
		}
		return &Error{msg: fmt.Sprintf("Prometheus at %s did not answer within %s", c.where, diagnosis.Precise(budget)), errs: []error{err, context.DeadlineExceeded}}
	}
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		return c.explainAPI(apiErr, budget)
	}
	return c.explainTransport(err)
}

// explainAPI explains an error Prometheus (or a proxy in front of it)
// answered with.
func (c *Client) explainAPI(e *v1.Error, budget time.Duration) error {
	wrap := func(format string, args ...any) *Error {
		return &Error{msg: fmt.Sprintf(format, args...), errs: []error{e}}
	}
	switch e.Type {
	case v1.ErrBadData:
		const prefix = `invalid parameter "query": `
		if rest, ok := strings.CutPrefix(e.Msg, prefix); ok {
			return &Error{msg: "bad PromQL: " + rest, errs: []error{e, ErrBadQuery}}
		}
		return &Error{msg: "Prometheus rejected the query: " + e.Msg, errs: []error{e, ErrBadQuery}}
	case v1.ErrExec:
		return wrap("Prometheus could not evaluate the query: %s", e.Msg)
	case v1.ErrTimeout:
		err := wrap("Prometheus at %s gave up on the query after %s: %s", c.where, diagnosis.Precise(budget), e.Msg)
		err.errs = append(err.errs, context.DeadlineExceeded)
		return err
	case v1.ErrCanceled:
		return wrap("Prometheus at %s canceled the query: %s", c.where, e.Msg)
	case v1.ErrServer, v1.ErrClient:
		// Prometheus answers timeouts (503), internal errors (500) and
		// others with its JSON envelope, which client_golang only decodes
		// for 400 and 422; a proxy answers with anything.
		var body struct {
			Status    string       `json:"status"`
			ErrorType v1.ErrorType `json:"errorType"`
			Error     string       `json:"error"`
		}
		if json.Unmarshal([]byte(e.Detail), &body) == nil && body.Status == "error" && body.ErrorType != "" {
			inner := &v1.Error{Type: body.ErrorType, Msg: body.Error}
			if inner.Type == v1.ErrServer || inner.Type == v1.ErrClient || inner.Type == "internal" {
				return wrap("Prometheus at %s failed with an internal error: %s", c.where, body.Error)
			}
			return c.explainAPI(inner, budget)
		}
		return wrap("Prometheus at %s answered %s", c.where, statusOf(e.Msg))
	case v1.ErrBadResponse:
		if strings.Contains(e.Msg, `unexpected value type "string"`) { // client_golang reads no strings
			return &Error{msg: "bad PromQL: the query yields a string, not numbers", errs: []error{e, ErrBadQuery}}
		}
		return wrap("Prometheus at %s sent an answer that is not Prometheus API JSON", c.where)
	}
	return wrap("Prometheus at %s answered with an error: %s", c.where, e.Error())
}

// statusOf turns client_golang's "server error: 502" into "502 Bad Gateway".
func statusOf(msg string) string {
	i := strings.LastIndexByte(msg, ' ')
	var code int
	if _, err := fmt.Sscanf(msg[i+1:], "%d", &code); err == nil {
		if text := http.StatusText(code); text != "" {
			return fmt.Sprintf("%d %s", code, text)
		}
		return fmt.Sprintf("HTTP %d", code)
	}
	return msg
}

// explainTransport explains a request that got no HTTP answer.
func (c *Client) explainTransport(err error) error {
	wrap := func(format string, args ...any) error {
		return &Error{msg: fmt.Sprintf(format, args...), errs: []error{err}}
	}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return wrap("Prometheus at %s refused the connection", c.where)
	case errors.As(err, &dnsErr):
		return wrap("Prometheus at %s could not be found: DNS lookup of %s: %s", c.where, dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return wrap("Prometheus at %s closed the connection before answering", c.where)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return wrap("Prometheus at %s cannot be reached from here (no route to host)", c.where)
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return wrap("Prometheus at %s presented a TLS certificate nightowl does not trust", c.where)
	}
	// url.Error repeats the URL (with the username); keep only its cause.
	cause := err
	var uerr *url.Error
	if errors.As(err, &uerr) {
		cause = uerr.Err
	}
	return wrap("could not reach Prometheus at %s: %v", c.where, cause)
}
