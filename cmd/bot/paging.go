package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/deploy/pagerduty"
	"github.com/nightowl-sre/nightowl/store"
)

var _ bot.PageLog = (*store.DB)(nil)

// pagingDeps are the bot's ways to reach people beyond the card.
type pagingDeps struct {
	Pager        bot.Pager
	Silencer     bot.Silencer
	SilenceAudit bot.SilenceAudit
}

// paging builds PagerDuty (with PAGERDUTY_ROUTING_KEY) and Alertmanager
// silences (with ALERTMANAGER_URL).
func paging(cfg Config, db *store.DB) (pagingDeps, error) {
	var p pagingDeps
	var err error
	if p.Pager, err = pager(cfg); err != nil {
		return p, err
	}
	if cfg.AlertmanagerURL != "" {
		c, err := alertmanager.NewClient(alertmanager.ClientConfig{URL: cfg.AlertmanagerURL, Timeout: 5 * time.Second})
		if err != nil {
			return p, fmt.Errorf("ALERTMANAGER_URL: %w", err)
		}
		p.Silencer = silencer{c}
	}
	p.SilenceAudit = silenceAudit{db}
	return p, nil
}

// silencer is Alertmanager's API v2 behind bot.Silencer.
type silencer struct{ c *alertmanager.Client }

func (s silencer) CreateSilence(ctx context.Context, sl bot.Silence) (string, error) {
	ms := make([]alertmanager.Matcher, len(sl.Matchers))
	for i, m := range sl.Matchers {
		ms[i] = alertmanager.Matcher(m)
	}
	return s.c.CreateSilence(ctx, alertmanager.Silence{Matchers: ms, StartsAt: sl.StartsAt, EndsAt: sl.EndsAt, CreatedBy: sl.CreatedBy, Comment: sl.Comment})
}

func (s silencer) ExpireSilence(ctx context.Context, id string) error {
	return s.c.ExpireSilence(ctx, id)
}

// silenceAudit is the store behind bot.SilenceAudit.
type silenceAudit struct{ db *store.DB }

func (a silenceAudit) SaveSilence(ctx context.Context, s bot.SilenceRecord) error {
	ms, err := json.Marshal(s.Matchers)
	if err != nil {
		return fmt.Errorf("save silence %s: %w", s.ID, err)
	}
	return a.db.SaveSilence(ctx, store.SilenceRecord{ID: s.ID, Incident: s.Incident, CreatedBy: s.CreatedBy, Matchers: ms,
		StartsAt: s.StartsAt, EndsAt: s.EndsAt, CreatedAt: s.CreatedAt})
}

func (a silenceAudit) ExpireSilence(ctx context.Context, id, by string, at time.Time) error {
	return a.db.ExpireSilence(ctx, id, by, at)
}

func (a silenceAudit) IncidentSilence(ctx context.Context, incident string) (bot.SilenceRecord, bool, error) {
	s, ok, err := a.db.IncidentSilence(ctx, incident)
	if err != nil || !ok {
		return bot.SilenceRecord{}, ok, err
	}
	out := bot.SilenceRecord{ID: s.ID, Incident: s.Incident, CreatedBy: s.CreatedBy, StartsAt: s.StartsAt, EndsAt: s.EndsAt,
		CreatedAt: s.CreatedAt, ExpiredBy: s.ExpiredBy, ExpiredAt: s.ExpiredAt}
	if err := json.Unmarshal(s.Matchers, &out.Matchers); err != nil {
		return out, true, fmt.Errorf("silence %s: %w", s.ID, err)
	}
	return out, true, nil
}

// pager is PagerDuty behind bot.Pager, nil without PAGERDUTY_ROUTING_KEY.
func pager(cfg Config) (bot.Pager, error) {
	if cfg.PagerDutyRoutingKey == "" {
		return nil, nil
	}
	pd, err := pagerduty.New(pagerduty.Config{RoutingKey: cfg.PagerDutyRoutingKey, URL: cfg.PagerDutyURL})
	if err != nil {
		return nil, fmt.Errorf("PAGERDUTY_ROUTING_KEY: %w", err)
	}
	return bot.PagerFunc(func(ctx context.Context, e bot.PageEvent) error {
		return pd.Send(ctx, pagerDutyEvent(e))
	}), nil
}

// pagerDutyEvent is a page as an Events API v2 event: the incident ID is
// the dedup key, so PagerDuty holds one incident per nightowl incident.
func pagerDutyEvent(e bot.PageEvent) pagerduty.Event {
	out := pagerduty.Event{Action: e.Action, DedupKey: e.Incident}
	if e.Action != bot.PageTrigger {
		return out
	}
	out.Client = "nightowl"
	out.Payload = &pagerduty.Payload{Summary: e.Summary, Source: e.Source, Severity: e.Severity, Component: e.Component,
		Timestamp: e.At.UTC().Format(time.RFC3339), Class: "incident", CustomDetails: e.Details}
	for i, l := range e.Links {
		if i == 0 {
			out.ClientURL = l.URL
		}
		out.Links = append(out.Links, pagerduty.Link{Href: l.URL, Text: cmp.Or(l.Text, l.URL)})
	}
	return out
}
