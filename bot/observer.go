package bot

import (
	"errors"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Observer hears what the bot does, for nightowl's own metrics
// (metrics.Registry implements it; cmd/bot proves the fit). Deps.Observer
// nil hears nothing. Its methods must not block: they run on the paths
// that post cards and take alerts.
type Observer interface {
	// AlertReceived counts one alert decoded from a trusted message of
	// source (accepted), or one alert message refused as untrusted.
	AlertReceived(source string, accepted bool)
	IncidentOpened()
	IncidentResolved()
	// CardPosted counts an incident card Slack took (err nil) or not,
	// sinceFirstAlert after the incident's first alert arrived.
	CardPosted(sinceFirstAlert time.Duration, err error)
	// PageSent counts a card that paged on-call, notifying that many people.
	PageSent(notified int)
	// Diagnosed observes how long one diagnosis took.
	Diagnosed(d time.Duration)
}

// SlackObserver hears the Web API calls and the Socket Mode connection of
// a WebAPI (WebAPIConfig.Observer); nil hears nothing.
type SlackObserver interface {
	// SlackAPICalled counts one Web API call of method: rate limited when
	// Slack answered 429, an error when err is not nil.
	SlackAPICalled(method string, err error, rateLimited bool)
	SocketConnected(up bool)
	// SocketReconnected counts a connection after the first one.
	SocketReconnected()
	// EnvelopeAcked observes how long an envelope of type (events_api,
	// slash_commands, interactive) took from arrival to its ack.
	EnvelopeAcked(envelopeType string, d time.Duration)
}

// deaf is the Observer and SlackObserver that hears nothing.
type deaf struct{}

func (deaf) AlertReceived(string, bool)          {}
func (deaf) IncidentOpened()                     {}
func (deaf) IncidentResolved()                   {}
func (deaf) CardPosted(time.Duration, error)     {}
func (deaf) PageSent(int)                        {}
func (deaf) Diagnosed(time.Duration)             {}
func (deaf) SlackAPICalled(string, error, bool)  {}
func (deaf) SocketConnected(bool)                {}
func (deaf) SocketReconnected()                  {}
func (deaf) EnvelopeAcked(string, time.Duration) {}

var (
	_ Observer      = deaf{}
	_ SlackObserver = deaf{}
)

// apiMethod names the Web API method of a request (its path's last part,
// chat.postMessage …), or response_url for an answer to one.
func apiMethod(req *http.Request) string {
	if strings.Contains(req.URL.Path, "/api/") {
		return path.Base(req.URL.Path)
	}
	return "response_url"
}

// called tells the observer how a call of method ended. A call Slack
// rate-limited to the end is not told again: counter told each 429.
func (w *WebAPI) called(method string, err error) {
	if _, limited := errors.AsType[*slack.RateLimitedError](err); limited {
		return
	}
	w.obs.SlackAPICalled(method, err, false)
}

// Connected says whether the Socket Mode connection is up (for readiness).
func (w *WebAPI) Connected() bool { return w.connected.Load() }

// connection follows the Socket Mode connection's state through the
// events slack-go emits: up at each connected, down while connecting
// again or failing to; every connection after the first is a reconnection.
func (w *WebAPI) connection(evt socketmode.Event, ever *bool) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		w.connected.Store(true)
		w.obs.SocketConnected(true)
		if *ever {
			w.obs.SocketReconnected()
		}
		*ever = true
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnectionError, socketmode.EventTypeDisconnect, socketmode.EventTypeInvalidAuth:
		if w.connected.Swap(false) || evt.Type == socketmode.EventTypeConnectionError {
			w.obs.SocketConnected(false)
		}
	}
}
