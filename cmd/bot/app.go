package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
	"github.com/nightowl-sre/nightowl/diagnosis/llm"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
	"github.com/nightowl-sre/nightowl/metrics"
	"github.com/nightowl-sre/nightowl/playbooks"
	"github.com/nightowl-sre/nightowl/runbooks"
	"github.com/nightowl-sre/nightowl/store"
)

// App is nightowl wired together: the one place that knows every adapter.
type App struct {
	cfg      Config
	log      *slog.Logger
	DB       *store.DB
	Live     *diagnosis.Live
	Slack    *bot.WebAPI
	Bot      *bot.Bot
	Runbooks *runbooks.Service // nil without a runbook catalog
	Runner   *playbooks.Runner
	LLM      *llm.Explainer // nil with LLM_PROVIDER=none
	// Graph is the service graph in effect, which a refresh may swap.
	Graph  *graph.Current
	graphs *graphRefresher // nil with neither SERVICE_GRAPH nor discovery
	// hangups carries SIGHUP to graphs while Run runs.
	hangups chan os.Signal
	// Metrics holds nightowl_*; served on METRICS_ADDR when it is set.
	Metrics *metrics.Registry
}

// NewApp opens the store, builds the diagnosis engine and the bot, and takes
// back the incidents that were open when the bot last stopped.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	return newApp(ctx, cfg, log, metrics.New(version))
}

// newApp is NewApp reporting to reg, which outlives it when replicas take
// turns to lead (replicas.go).
func newApp(ctx context.Context, cfg Config, log *slog.Logger, reg *metrics.Registry) (*App, error) {
	db, err := store.Open(ctx, cfg.DBPath, store.ObserveWrites(reg))
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, DB: db, Metrics: reg}
	// The graph in effect: everything below reads it once per operation.
	a.Graph = graph.NewCurrent(cfg.GraphSnapshot())
	g := a.Graph
	for _, w := range g.Graph().Warnings() {
		log.Warn("service graph", "warning", w)
	}
	if err := a.useGraphRefresh(ctx); err != nil {
		db.Close()
		return nil, err
	}
	prometheus, err := cfg.Metrics(log)
	if err != nil {
		db.Close()
		return nil, err
	}
	prometheus = observeQueries(prometheus, a.Metrics)
	catalog, err := loadCatalog(cfg, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	var index diagnosis.RunbookIndex
	if catalog != nil {
		index = catalog
	}
	engine := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Resolver: cfg.Resolver(), History: db, Metrics: prometheus,
		Queries: cfg.Queries(), Runbooks: index, Logger: log})
	checker, err := alertChecker(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	// Built first, read by what comes after: the live incidents, Slack,
	// and the queue that carries the runbook service's news to the bot.
	a.Live = diagnosis.NewLive(diagnosis.LiveConfig{
		Grouper: diagnosis.GrouperConfig{Wait: cfg.GroupWait, Graph: g, Resolver: cfg.Resolver(), Logger: log,
			MaxAlerts: cfg.IncidentMaxAlerts, MaxIncidents: cfg.MaxIncidents, StaleAfter: cfg.IncidentStaleAfter,
			Taken: func(id string) bool {
				ok, err := db.IncidentExists(context.Background(), id)
				return err == nil && ok
			}},
		Diagnoser: engine, Archive: db, Logger: log,
	})
	a.Slack = bot.NewWebAPI(bot.WebAPIConfig{BotToken: cfg.SlackBotToken, AppToken: cfg.SlackAppToken, APIURL: cfg.SlackAPIURL,
		Observer: a.Metrics, Logger: log})
	updates := bot.NewRunbookUpdates(log)
	var command func(runbooks.Job) string
	if catalog != nil {
		if err := a.useRunbooks(ctx, catalog, prometheus, observeRunbooks(updates, a.Metrics)); err != nil {
			db.Close()
			return nil, err
		}
		command = a.Runner.Command
	}
	var explainer diagnosis.Explainer
	if cfg.LLMProvider != "none" {
		a.LLM, err = llm.New(llm.Config{Provider: cfg.LLMProvider, Model: cfg.LLMModel, BaseURL: cfg.LLMBaseURL, APIKey: cfg.LLMAPIKey,
			Timeout: cfg.LLMTimeout, Budget: cfg.LLMBudget, HourlyBudget: cfg.LLMHourlyBudget, MaxInFlight: cfg.LLMConcurrency,
			Redact: cfg.RedactLabels, Observer: a.Metrics, Logger: log})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("LLM_PROVIDER %s: %w", cfg.LLMProvider, err)
		}
		explainer = a.LLM
	}
	var withhold func(string) bool
	if a.LLM != nil {
		withhold = a.LLM.Withholds
	}
	words := commands.New(commands.Deps{
		Incidents: a.Live, Graph: g, Metrics: prometheus, PromQLAllow: cfg.PromQLAllow, Runbooks: a.Runbooks,
		Explainer: explainer, Withhold: withhold, Link: a.Slack.Permalink, Names: a.Slack.DisplayName, Causes: causes{db}, Logger: log,
		Record: db, Loc: cfg.Loc, OnCall: cfg.OnCall,
	})
	reach, err := paging(cfg, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	a.Bot, err = bot.New(bot.Config{
		AlertsChannel: cfg.AlertsChannel, IncidentsChannel: cfg.IncidentsChannel,
		AlertSources: cfg.AlertSources, AnySource: cfg.AnyAlertSource,
		OnCall: cfg.OnCall, Escalation: cfg.Escalation, EscalateAfter: cfg.EscalateAfter,
		AlertmanagerURL: cmp.Or(cfg.AlertmanagerExternalURL, cfg.AlertmanagerURL), GrafanaURL: cfg.GrafanaURL, Location: cfg.Loc,
	}, bot.Deps{
		Slack: a.Slack, People: a.Slack, Responder: a.Slack, Conn: a.Slack,
		Live: a.Live, Diagnoses: a.Live, Index: a.Live,
		Commands: words, Answerer: words, Triager: words,
		Runbooks: a.Runbooks, RunbookUpdates: updates, Command: command,
		Records: records{db}, Incidents: db, Decode: decoder(g), Alerts: checker,
		Conversations: db, Costs: db, Votes: db, Corrections: db,
		Pager: reach.Pager, PageLog: db, Silencer: reach.Silencer, SilenceAudit: reach.SilenceAudit,
		Observer: a.Metrics, Logger: log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	active, err := db.ActiveIncidents(ctx, time.Now().Add(-15*time.Minute))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load open incidents: %w", err)
	}
	a.Live.Restore(active...)
	if err := restoreSummarised(ctx, db, a.Live, active); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// restoreSummarised gives each restored incident back, from the alert log,
// the states of the alerts it summarises rather than holds one by one.
func restoreSummarised(ctx context.Context, db *store.DB, live *diagnosis.Live, active []diagnosis.Incident) error {
	for _, in := range active {
		if in.More.IsZero() {
			continue
		}
		alerts, err := db.SummarisedAlerts(ctx, in.ID)
		if err != nil {
			return fmt.Errorf("load open incidents: %w", err)
		}
		live.RestoreSummarised(in.ID, alerts)
	}
	return nil
}

// Run serves Slack (and runs runbooks) until ctx ends, then closes the store.
func (a *App) Run(ctx context.Context) error {
	defer a.DB.Close()
	a.log.Info("nightowl starting", "alerts_channel", a.cfg.AlertsChannel, "incidents_channel", a.cfg.IncidentsChannel,
		"db", a.cfg.DBPath, "graph_nodes", a.Graph.Graph().Len(), "group_wait", a.cfg.GroupWait, "runbooks", a.Runbooks != nil,
		"alert_sources", a.cfg.AlertSources, "alertmanager_verifies", a.cfg.AlertmanagerURL != "")
	if a.cfg.AnyAlertSource {
		a.log.Warn("ALERT_SOURCES=any: every bot in the alerts channel is trusted to post alerts that page on-call; list Alertmanager's bot ID instead",
			"alerts_channel", a.cfg.AlertsChannel)
	}
	if a.Graph.Graph().Len() == 0 {
		a.log.Warn("no service graph: grouping by time and labels, diagnosing without graph signals; set SERVICE_GRAPH to a graph file (docs/grouping.md)")
	}
	if a.Runbooks != nil && a.cfg.AlertmanagerURL == "" {
		a.log.Info("ALERTMANAGER_URL is not set: cards offer runbooks for alerts from trusted sources without asking Alertmanager")
	}
	stopMetrics, err := a.serveMetrics(ctx) // before Slack: the probes answer while it is reached
	if err != nil {
		return err
	}
	defer stopMetrics()
	g, ctx := errgroup.WithContext(ctx)
	// On shutdown the runbook service stops first: it lets running runs
	// finish (RUNBOOK_STOP_GRACE) and tells their threads how they ended;
	// the bot, which speaks to Slack for it, stops after it.
	botCtx, stopBot := ctx, context.CancelFunc(func() {})
	if a.Runbooks != nil {
		botCtx, stopBot = context.WithCancel(context.WithoutCancel(ctx))
		g.Go(func() error {
			defer stopBot()
			return a.Runbooks.Run(ctx)
		})
	}
	g.Go(func() error {
		defer stopBot()
		return a.Bot.Run(botCtx)
	})
	if a.LLM != nil {
		g.Go(func() error { a.pingLLM(ctx); return nil })
	}
	if a.graphs != nil {
		signal.Notify(a.hangups, syscall.SIGHUP) // read the service graph again
		defer signal.Stop(a.hangups)
		g.Go(func() error { return a.graphs.Run(ctx) })
	}
	if a.cfg.ReportChannel != "" {
		g.Go(func() error { return a.weeklyReport().Run(ctx) })
	}
	retention := store.NewRetention(a.DB, store.RetentionConfig{Keep: a.cfg.Retention, Logger: a.log})
	g.Go(func() error { return retention.Run(ctx) })
	if a.cfg.PprofAddr != "" {
		g.Go(func() error { return servePprof(ctx, a.cfg.PprofAddr, a.log) })
	}
	return g.Wait()
}

// useGraphRefresh keeps the graph in effect fresh when there is a graph
// file or discovery (startGraph).
func (a *App) useGraphRefresh(ctx context.Context) error {
	a.hangups = make(chan os.Signal, 1)
	refresher, err := startGraph(ctx, a.cfg, a.Graph, a.hangups, a.log)
	if err != nil {
		return err
	}
	a.graphs = refresher
	return nil
}

// startGraph makes current the graph in effect at start and returns what
// keeps it fresh (nil with neither a graph file nor discovery): with
// GRAPH_DISCOVERY, discovery's first read happens now, so the first alerts
// meet the discovered graph; when it fails, the graph file alone is in
// effect and the log says so.
func startGraph(ctx context.Context, cfg Config, current *graph.Current, hangups <-chan os.Signal, log *slog.Logger) (*graphRefresher, error) {
	var discover discoverFunc
	if cfg.GraphDiscovery == "prometheus" {
		client, err := prom.New(prom.Config{URL: cfg.PrometheusURL, Timeout: discoveryQueryTimeout, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("GRAPH_DISCOVERY: %w", err)
		}
		discover = promDiscovery(client, cfg.GraphWindow)
	}
	if cfg.ServiceGraph == "" && discover == nil {
		return nil, nil
	}
	refresher := newGraphRefresher(cfg, current, discover, cfg.rules, hangups, log)
	if discover != nil {
		first, cancel := context.WithTimeout(ctx, firstRefreshTimeout)
		defer cancel()
		refresher.refresh(first, "start", false)
	}
	return refresher, nil
}

// servePprof serves Go's profiles on addr until ctx ends.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("PPROF_ADDR %s: %w", addr, err)
	}
	log.Info("serving Go's profiles", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("PPROF_ADDR %s: %w", addr, err)
	}
	return nil
}

// pingLLM says at start whether the model answers; cards never wait for it
// either way.
func (a *App) pingLLM(ctx context.Context) {
	if err := a.LLM.Ping(ctx); err != nil {
		if ctx.Err() == nil {
			a.log.Warn("LLM provider unreachable: cards and answers use nightowl's rules until it answers", "provider", a.cfg.LLMProvider, "model", a.LLM.Model(), "err", err)
		}
		return
	}
	a.log.Info("LLM provider answers", "provider", a.cfg.LLMProvider, "model", a.LLM.Model())
}

// loadCatalog reads RUNBOOKS_DIR. A missing directory means no runbooks (a
// warning); a directory with a broken runbook stops the start, naming the
// file and field.
func loadCatalog(cfg Config, log *slog.Logger) (*runbooks.Catalog, error) {
	if _, err := os.Stat(cfg.RunbooksDir); err != nil {
		log.Warn("no runbook catalog: the Approve button will say so", "runbooks_dir", cfg.RunbooksDir, "err", err)
		return nil, nil
	}
	cat, err := runbooks.LoadCatalog(cfg.RunbooksDir, runbooks.LoadOptions{PlaybooksDir: cfg.PlaybooksDir})
	if err != nil {
		return nil, fmt.Errorf("runbook catalog %s is not usable:\n  %s", cfg.RunbooksDir, indentJoin(err))
	}
	return cat, nil
}

// useRunbooks builds the approval flow: the go-ansible runner, the policy
// (APPROVERS, with user groups looked up in Slack), the store as audit log
// and notify, the queue the bot reads, as notifier.
func (a *App) useRunbooks(ctx context.Context, catalog *runbooks.Catalog, prometheus diagnosis.Metrics, notify runbooks.Notifier) error {
	runner, err := playbooks.New(playbooks.Config{Dir: a.cfg.PlaybooksDir, Logger: a.log})
	if err != nil {
		return fmt.Errorf("playbooks: %w", err)
	}
	if err := runner.Preflight(ctx); err != nil {
		a.log.Warn("runbooks will not run until Ansible works", "err", err)
	}
	var verify runbooks.Verifier
	if q, ok := prometheus.(interface {
		Query(ctx context.Context, query string, at time.Time) ([]diagnosis.Series, error)
	}); ok {
		verify = func(ctx context.Context, promql string) (bool, error) {
			series, err := q.Query(ctx, promql, time.Time{})
			return len(series) > 0, err
		}
	}
	g := a.Graph
	policy := runbooks.NewPolicy(a.cfg.Approvers, a.Slack, nil)
	a.Runner = runner
	a.Runbooks = runbooks.NewService(runbooks.Config{
		PlaybooksDir: a.cfg.PlaybooksDir, MaxRuns: a.cfg.RunbookMaxRuns, Verify: verify, Logger: a.log,
		RequestTTL: a.cfg.RunbookRequestTTL, StopGrace: a.cfg.RunbookStopGrace,
		IsService:    func(s string) bool { _, ok := g.Graph().Lookup(s); return ok },
		IncidentOpen: a.Live.IsOpen,
	}, catalog, policy, runner, observedAudit{a.DB, a.Metrics}, notify)
	return nil
}

// records adapts the store to the bot's Records seam.
type records struct{ *store.DB }

// RecordAlerts records a message's alerts and marks it seen in one
// transaction.
func (r records) RecordAlerts(ctx context.Context, channel, ts, source string, received time.Time, alerts []diagnosis.Alert) error {
	err := r.DB.RecordAlerts(ctx, store.AlertReceipt{Channel: channel, MessageTS: ts, RelayedBy: source, Received: received,
		Alerts: alerts, Key: "msg:" + channel + ":" + ts})
	if errors.Is(err, store.ErrRepeated) {
		return bot.ErrSeen
	}
	return err
}

// causes adapts the store to the commands' Causes seam: a correction is
// on the record before the answer says so.
type causes struct{ db *store.DB }

func (c causes) CorrectCause(ctx context.Context, incident, cause, by string) error {
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := c.db.CorrectCause(ctx, diagnosis.Correction{Incident: incident, RootCause: cause, By: by, At: time.Now()}); err != nil {
		return fmt.Errorf("keep the correction of %s: %w", incident, err)
	}
	return nil
}

var (
	_ commands.Incidents = (*diagnosis.Live)(nil)
	_ commands.Causes    = causes{}
	_ bot.Records        = records{}
	_ bot.AlertChecker   = (*alertmanager.Client)(nil)
)

// alertChecker is Alertmanager's API behind the bot's AlertChecker seam, or
// nil when ALERTMANAGER_URL is unset.
func alertChecker(cfg Config) (bot.AlertChecker, error) {
	if cfg.AlertmanagerURL == "" {
		return nil, nil
	}
	c, err := alertmanager.NewClient(alertmanager.ClientConfig{URL: cfg.AlertmanagerURL})
	if err != nil {
		return nil, fmt.Errorf("ALERTMANAGER_URL: %w", err)
	}
	return c, nil
}

// decoder adapts intake to the bot's Decoder seam; the graph in effect,
// read once per message, helps read Alertmanager's default message, whose
// label names are lost.
func decoder(graphs diagnosis.GraphSource) bot.Decoder {
	return func(m bot.Relayed, at time.Time) ([]diagnosis.Alert, []string, error) {
		g := graphs.Graph()
		hints := intake.Hints{IsService: func(s string) bool { _, ok := g.Lookup(s); return ok }}
		msg := intake.Message{Text: m.Text}
		for _, a := range m.Attachments {
			msg.Attachments = append(msg.Attachments, intake.Attachment{
				Title: a.Title, TitleLink: a.TitleLink, Text: a.Text, Fallback: a.Fallback, Pretext: a.Pretext, Color: a.Color,
			})
		}
		res, err := intake.Parse(msg, at, hints)
		if errors.Is(err, intake.ErrNotAlert) {
			return nil, nil, bot.ErrNotAlert
		}
		return res.Alerts, res.Problems, err
	}
}
