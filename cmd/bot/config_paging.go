package main

import (
	"strings"
	"time"
)

// pagingConfig is the configuration of what reaches people beyond the card
// (docs/paging.md): escalation when nobody acknowledges, PagerDuty, and
// the links and times a card shows.
type pagingConfig struct {
	// EscalateAfter pages Escalation when nobody acknowledged a card that
	// long after it paged; 0 never does.
	EscalateAfter time.Duration
	// PagerDutyRoutingKey is an Events API v2 integration key ("" for no
	// PagerDuty); PagerDutyURL is where events are sent.
	PagerDutyRoutingKey string
	PagerDutyURL        string
	// AlertmanagerExternalURL is Alertmanager's address as people reach it
	// (default ALERTMANAGER_URL); GrafanaURL a dashboard the card links to.
	AlertmanagerExternalURL string
	GrafanaURL              string
}

// pagingSettings are the rows of the configuration table for paging.
func (c *Config) pagingSettings() []setting {
	return []setting{
		{env: "ESCALATE_AFTER", unset: "never", help: "a card nobody acknowledges this long after it paged pages ESCALATION in its thread, once (such as 10m)",
			read: func(v string, p problems) {
				if v == "" {
					return
				}
				d, err := time.ParseDuration(v)
				if err != nil || d < time.Minute {
					p.add("%q is not a duration of a minute or more, such as 10m", v)
					return
				}
				if c.Escalation == "" {
					p.add("needs ESCALATION: someone to page when nobody acknowledges")
					return
				}
				c.EscalateAfter = d
			}},
		{env: "PAGERDUTY_ROUTING_KEY", secret: true, unset: "no PagerDuty", help: "PagerDuty Events API v2 integration key: each card triggers one PagerDuty incident, acknowledged and resolved with it (docs/paging.md)",
			read: func(v string, p problems) {
				if v != "" && len(v) != 32 {
					p.add("is %d characters long; an Events API v2 integration key has 32", len(v))
					return
				}
				c.PagerDutyRoutingKey = v
			}},
		{env: "PAGERDUTY_URL", def: "https://events.pagerduty.com/v2/enqueue", help: "PagerDuty Events API v2 endpoint (EU accounts: https://events.eu.pagerduty.com/v2/enqueue)",
			read: func(v string, p problems) {
				if !isHTTPURL(v) {
					p.add("%q is not an http(s) URL", v)
				}
				c.PagerDutyURL = v
			}},
		{env: "ALERTMANAGER_EXTERNAL_URL", unset: "ALERTMANAGER_URL", help: "Alertmanager's address as people reach it, for the card's links",
			read: func(v string, p problems) {
				v = strings.TrimRight(v, "/")
				if v != "" && !isHTTPURL(v) {
					p.add("%q is not an http(s) URL", v)
				}
				c.AlertmanagerExternalURL = v
			}},
		{env: "GRAFANA_URL", unset: "no link", help: "a Grafana dashboard the card links to, with the incident's time range and service (var-service)",
			read: func(v string, p problems) {
				if v != "" && !isHTTPURL(v) {
					p.add("%q is not an http(s) URL", v)
				}
				c.GrafanaURL = v
			}},
	}
}
