package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
	"github.com/nightowl-sre/nightowl/store"
)

// App is nightowl wired together: the one place that knows every adapter.
type App struct {
	cfg Config
	log *slog.Logger
	DB  *store.DB
	Bot *bot.Bot
}

// NewApp opens the store, builds the diagnosis engine and the bot, and takes
// back the incidents that were open when the bot last stopped.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	db, err := store.Open(ctx, cfg.DBPath)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, DB: db}
	g := cfg.Graph()
	for _, w := range g.Warnings() {
		log.Warn("service graph", "warning", w)
	}
	metrics, err := cfg.Metrics(log)
	if err != nil {
		db.Close()
		return nil, err
	}
	engine := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Resolver: cfg.Resolver(), History: db, Metrics: metrics, Queries: cfg.Queries(), Logger: log})
	api := slack.New(cfg.SlackBotToken, slack.OptionAppLevelToken(cfg.SlackAppToken), slack.OptionAPIURL(cfg.SlackAPIURL))
	a.Bot, err = bot.New(bot.Config{
		AlertsChannel: cfg.AlertsChannel, IncidentsChannel: cfg.IncidentsChannel, AlertSources: cfg.AlertSources,
		OnCall: cfg.OnCall, Escalation: cfg.Escalation, GroupWait: cfg.GroupWait,
	}, bot.Deps{
		API: api, Records: records{db}, Incidents: db, Diagnoser: engine, Decode: decoder(g), Graph: g, Resolve: cfg.Resolver().Node,
		Taken: func(id string) bool {
			ok, err := db.IncidentExists(context.Background(), id)
			return err == nil && ok
		},
		Logger: log,
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
	a.Bot.Restore(active)
	return a, nil
}

// Run serves Slack until ctx ends, then closes the store.
func (a *App) Run(ctx context.Context) error {
	defer a.DB.Close()
	a.log.Info("nightowl starting", "alerts_channel", a.cfg.AlertsChannel, "incidents_channel", a.cfg.IncidentsChannel,
		"db", a.cfg.DBPath, "graph_nodes", a.cfg.Graph().Len(), "group_wait", a.cfg.GroupWait)
	return a.Bot.Run(ctx)
}

// records adapts the store to the bot's Records seam.
type records struct{ *store.DB }

func (r records) RecordAlerts(ctx context.Context, channel, ts string, received time.Time, alerts []diagnosis.Alert) error {
	return r.DB.RecordAlerts(ctx, store.AlertReceipt{Channel: channel, MessageTS: ts, Received: received, Alerts: alerts})
}

// decoder adapts intake to the bot's Decoder seam; the graph helps read
// Alertmanager's default message, whose label names are lost.
func decoder(g *graph.Graph) bot.Decoder {
	hints := intake.Hints{IsService: func(s string) bool { _, ok := g.Lookup(s); return ok }}
	return func(m bot.Relayed, at time.Time) ([]diagnosis.Alert, []string, error) {
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
