package main

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/deploy/pagerduty"
	"github.com/nightowl-sre/nightowl/store"
)

var _ bot.PageLog = (*store.DB)(nil)

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
