package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness check: nil when ready, an error saying why not.
// Return Standby(note) to be ready with a note (a replica that is not the
// leader is healthy, only idle).
type Check struct {
	Name  string // socket, store, leader …
	Ready func(ctx context.Context) error
}

// standby is the error Standby returns: ready, with a note.
type standby struct{ note string }

func (s standby) Error() string { return "standby: " + s.note }

// Standby is what a Check returns to be ready while saying why it is idle.
func Standby(note string) error { return standby{note} }

// ServerConfig configures a Server.
type ServerConfig struct {
	// Addr is where the server listens, such as ":9090"; empty turns it off.
	Addr     string
	Registry *Registry
	Checks   []Check
	// CheckTimeout bounds each check of one /readyz request (default 2s).
	CheckTimeout time.Duration
	Logger       *slog.Logger // default: discards
}

// Server serves /metrics, /healthz and /readyz.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	handler  http.Handler
	ln       net.Listener // from Listen, else opened by Run
	stopping atomic.Bool  // ShuttingDown was called
}

// NewServer returns a Server; Run starts it.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Registry == nil {
		cfg.Registry = New("unknown")
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 2 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log.With("component", "metrics")}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry.Gatherer(), promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	s.handler = mux
	return s
}

// Handler serves the three endpoints (for tests and for embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Listen opens the configured address now, so that a busy port stops the
// start before anything else begins; Run serves on it. Run listens itself
// when Listen was not called.
func (s *Server) Listen() error {
	if s.cfg.Addr == "" || s.ln != nil {
		return nil
	}
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("metrics server: %w", err)
	}
	s.ln = l
	return nil
}

// ShuttingDown makes /readyz answer 503 "shutting down" from now on, while
// /healthz and /metrics go on answering: a process draining its work
// takes no new traffic, and is not killed for being slow to stop.
func (s *Server) ShuttingDown() { s.stopping.Store(true) }

// Run serves on the configured address until ctx is done, then shuts down
// (waiting up to 5s for scrapes in flight). With no address it only waits.
func (s *Server) Run(ctx context.Context) error {
	if s.cfg.Addr == "" {
		<-ctx.Done()
		return nil
	}
	if err := s.Listen(); err != nil {
		return err
	}
	l := s.ln
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	s.log.Info("serving metrics", "addr", l.Addr().String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fmt.Errorf("metrics server: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("metrics server shutdown: %w", err)
	}
	return nil
}

// readyz answers 200 when every check passes, 503 otherwise; the body has
// one line per check: "name: ok", "name: ok (standby: …)" or
// "name: not ready: …". Once ShuttingDown was called it answers 503
// "shutting down" without checking.
func (s *Server) readyz(w http.ResponseWriter, req *http.Request) {
	if s.stopping.Load() {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "shutting down")
		return
	}
	var body strings.Builder
	ready := true
	for _, c := range s.cfg.Checks {
		ctx, cancel := context.WithTimeout(req.Context(), s.cfg.CheckTimeout)
		err := c.Ready(ctx)
		cancel()
		var note standby
		switch {
		case err == nil:
			fmt.Fprintf(&body, "%s: ok\n", c.Name)
		case errors.As(err, &note):
			fmt.Fprintf(&body, "%s: ok (%s)\n", c.Name, note.Error())
		default:
			ready = false
			fmt.Fprintf(&body, "%s: not ready: %s\n", c.Name, oneLine(err.Error()))
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprint(w, body.String())
}

// oneLine keeps a reason on its check's line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
