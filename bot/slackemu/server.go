// Package slackemu is an in-process Slack workspace that speaks Slack's real wire protocol
// (Socket Mode and the Web API) on 127.0.0.1, for nightowl's demo and end-to-end tests.
//
// The unmodified slack-go client talks to it:
//
//	api := slack.New(botToken, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(srv.APIURL()))
//	sm := socketmode.New(api)
//
// One http.Server on 127.0.0.1:0 serves the Web API (/api/<method>), the Socket Mode
// WebSocket (/link/), incoming webhooks (/services/…), response URLs (/response/…) and
// file uploads (/upload/…). Tests drive simulated people (PostAsUser, SlashCommand, Click)
// and inspect the workspace (Messages, Replies, Envelopes, Transcript), waiting on state
// with WaitFor instead of sleeping.
package slackemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Config describes the workspace and the app under test. Zero fields take the defaults noted.
type Config struct {
	TeamID     string // default "T0NIGHTOWL"
	TeamDomain string // default "nightowl"

	// The app under test.
	AppID     string // default "A0NIGHTOWL"
	BotID     string // default "B0NIGHTOWL"
	BotUserID string // default "U0NIGHTOWL"
	BotName   string // default "nightowl"

	// Tokens the app must present; requests with other tokens get invalid_auth.
	BotToken string // default "xoxb-emulator"
	AppToken string // default "xapp-emulator"

	// Channels in the workspace; default C0ALERTS "alerts" and C0INCIDENTS "incidents".
	Channels []Channel
	// Users known to users.info and to the transcript. The bot user is always added.
	Users []User
	// UserGroups maps S… IDs to member user IDs, for usergroups.users.list.
	UserGroups map[string][]string
	// UserGroupHandles maps S… IDs to handles (without "@"), for the transcript.
	UserGroupHandles map[string]string

	// RetryDelays is the redelivery schedule for unacked events_api envelopes, counted
	// from the moment an attempt times out. Default {1s, 2s, 4s}; real Slack retries
	// about immediately, after 1 minute and after 5 minutes.
	RetryDelays []time.Duration
	// AckTimeout is how long an envelope may stay unacked; default 3s, as on Slack.
	AckTimeout time.Duration
	// PingInterval is the period of WebSocket PING control frames; default 5s.
	PingInterval time.Duration

	// Now gives the time used for ts values, event times and response URL expiry;
	// default time.Now. Ack latencies and timeouts always use the real clock.
	Now func() time.Time
	// Logger receives the emulator's own logs; default discards them.
	Logger *slog.Logger
}

// Channel is a public channel of the workspace; the app is a member of every channel.
type Channel struct {
	ID   string
	Name string
}

// User is a person (or bot user) of the workspace.
type User struct {
	ID       string
	Name     string
	RealName string
	IsBot    bool
}

// slog keys.
const (
	keyEnvelope = "envelope"
	keyType     = "type"
	keyRetry    = "retry_attempt"
	keyMethod   = "method"
	keyRemote   = "remote"
	keyError    = "error"
	keyURL      = "url"
)

// Defaults used when a Config field is zero.
const (
	defaultTeamID     = "T0NIGHTOWL"
	defaultTeamDomain = "nightowl"
	defaultAppID      = "A0NIGHTOWL"
	defaultBotID      = "B0NIGHTOWL"
	defaultBotUserID  = "U0NIGHTOWL"
	defaultBotName    = "nightowl"
	defaultBotToken   = "xoxb-emulator"
	defaultAppToken   = "xapp-emulator"
)

func (c Config) withDefaults() Config {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.TeamID, defaultTeamID)
	def(&c.TeamDomain, defaultTeamDomain)
	def(&c.AppID, defaultAppID)
	def(&c.BotID, defaultBotID)
	def(&c.BotUserID, defaultBotUserID)
	def(&c.BotName, defaultBotName)
	def(&c.BotToken, defaultBotToken)
	def(&c.AppToken, defaultAppToken)
	if len(c.Channels) == 0 {
		c.Channels = []Channel{{ID: "C0ALERTS", Name: "alerts"}, {ID: "C0INCIDENTS", Name: "incidents"}}
	}
	if c.RetryDelays == nil {
		c.RetryDelays = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 3 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Server is the emulated workspace. Create it with New, then Start it; Close stops it.
// All methods are safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	started bool
	closed  bool
	changed chan struct{} // closed and replaced on every state change
	lastTS  int64         // microseconds of the last ts handed out
	ws      *workspace
	calls   []Call
	limits  map[string]*rateLimit
	faults  faults // FailCalls, FailUpdates (faults.go)
	tickets map[string]bool
	del     delivery

	ln   net.Listener
	http *http.Server
	url  string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine and in-flight handler the server owns
}

// New builds a stopped Server from cfg.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "slackemu"),
		changed: make(chan struct{}),
		limits:  map[string]*rateLimit{},
		tickets: map[string]bool{},
		ctx:     ctx,
		cancel:  cancel,
	}
	s.ws = newWorkspace(cfg)
	s.del.init()
	return s
}

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("slackemu: server closed")

// Start listens on 127.0.0.1:0 and serves until Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return errors.New("slackemu: already started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	s.started = true
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", keyError, err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.runScheduler(s.ctx)
	}()
	s.log.Info("listening", keyURL, s.url)
	return nil
}

// Close stops the listener, closes every socket, lets in-flight requests finish and
// waits for every goroutine the server started. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := s.del.allConns()
	close(s.changed) // wake every WaitFor; they see closed and return
	s.mu.Unlock()

	s.cancel()
	for _, c := range conns {
		c.close()
	}
	var err error
	if s.http != nil {
		// Shutdown waits for handlers in flight (Close would not); the sockets are
		// hijacked, so it leaves them to s.wg.
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		if err = s.http.Shutdown(ctx); err != nil {
			err = s.http.Close()
		}
		cancel()
	}
	s.wg.Wait()
	return err
}

// shutdownGrace bounds how long Close waits for requests in flight.
const shutdownGrace = 2 * time.Second

// URL is the server's base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// APIURL is the Web API base URL to pass to slack.OptionAPIURL; it ends with a slash.
func (s *Server) APIURL() string { return s.URL() + "/api/" }

// Changed returns a channel that is closed at the next change of state (a message, a
// call, an envelope, a connection). Take it before checking the state you wait for.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// WaitFor returns nil as soon as cond returns true, rechecking it after every change of
// state; it returns ctx.Err() when ctx ends first, or ErrClosed after Close.
// cond may call the Server's inspection methods.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch, closed := s.changed, s.closed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes everyone waiting on Changed.
func (s *Server) notifyLocked() {
	if s.closed {
		return
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// nextTSLocked hands out a unique, strictly increasing message timestamp derived from
// cfg.Now, bumping the microseconds when the clock repeats or goes backwards.
func (s *Server) nextTSLocked() string {
	us := s.cfg.Now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return formatTS(us)
}

func formatTS(us int64) string { return fmt.Sprintf("%010d.%06d", us/1e6, us%1e6) }

// routes is the one mux serving every endpoint. Each request counts in s.wg so Close
// waits for in-flight handlers, and none starts after Close.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("GET /link/", s.serveSocket)
	mux.HandleFunc("POST /services/{team}/{bot}/{secret}", s.serveWebhook)
	mux.HandleFunc("POST /response/{id}", s.serveResponseURL)
	mux.HandleFunc("POST /upload/{id}", s.serveUpload)
	mux.HandleFunc("GET /files/{id}/{name}", s.serveFileDownload)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "server closed", http.StatusServiceUnavailable)
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		mux.ServeHTTP(w, r)
	})
}
