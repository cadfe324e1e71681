package bot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// A pager rings phones beyond Slack (PagerDuty): one page per incident,
// triggered when the card pages, acknowledged when the card is, resolved
// when the incident resolves. Each event is queued in the store before it
// is sent and marked once the pager took it, so a restart sends what was
// waiting and never an action twice.

// The actions of a page.
const (
	PageTrigger     = "trigger"
	PageAcknowledge = "acknowledge"
	PageResolve     = "resolve"
)

// PageEvent is one event for the pager, in neutral form: the incident is
// its deduplication key.
type PageEvent struct {
	Incident string `json:"incident"`
	Action   string `json:"action"`
	// A trigger's description: Summary, Source (where), Severity
	// (critical, error, warning or info), Component (the likely root
	// cause), Links (the card first) and Details.
	Summary   string         `json:"summary,omitempty"`
	Source    string         `json:"source,omitempty"`
	Severity  string         `json:"severity,omitempty"`
	Component string         `json:"component,omitempty"`
	Links     []PageLink     `json:"links,omitempty"`
	Details   map[string]any `json:"details,omitempty"`
	// At is when the incident started (trigger) or the action happened.
	At time.Time `json:"at"`
}

// PageLink is a link shown with a page.
type PageLink struct {
	URL  string `json:"url"`
	Text string `json:"text"`
}

// Pager sends one event; an error with a Permanent() true method is a
// refusal that sending again cannot help.
type Pager interface {
	Send(ctx context.Context, e PageEvent) error
}

// PagerFunc is a Pager.
type PagerFunc func(ctx context.Context, e PageEvent) error

// Send calls f.
func (f PagerFunc) Send(ctx context.Context, e PageEvent) error { return f(ctx, e) }

// PageLog keeps the pager's events until they are sent; the store
// implements it. QueuePage is false when the incident has that action on
// record already, or when an acknowledge or resolve has no trigger before it.
type PageLog interface {
	QueuePage(ctx context.Context, incident, action string, event []byte, at time.Time) (bool, error)
	PendingPages(ctx context.Context) ([][]byte, error)
	PageSent(ctx context.Context, incident, action, outcome string, at time.Time) error
}

// pageSendTimeout bounds one event's sending, the pager's own retries included.
const pageSendTimeout = time.Minute

// queuePage keeps an event for the pager and wakes its sender.
func (b *Bot) queuePage(ctx context.Context, e PageEvent) {
	if b.deps.Pager == nil || b.deps.PageLog == nil {
		return
	}
	raw, err := json.Marshal(e)
	if err != nil {
		b.log.Error("page event", keyIncident, e.Incident, "action", e.Action, "err", err)
		return
	}
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	queued, err := b.deps.PageLog.QueuePage(ctx, e.Incident, e.Action, raw, b.deps.Now())
	if err != nil {
		b.log.Error("queue page event", keyIncident, e.Incident, "action", e.Action, "err", err)
		return
	}
	if !queued {
		b.log.Debug("page event already on record, or nothing to "+e.Action, keyIncident, e.Incident, "action", e.Action)
		return
	}
	select {
	case b.pageWake <- struct{}{}:
	default:
	}
}

// runPager sends the queued events in order, trying again with a backoff
// while the pager fails; it returns at once without a pager.
func (b *Bot) runPager(ctx context.Context) error {
	if b.deps.Pager == nil || b.deps.PageLog == nil {
		return nil
	}
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-b.pageWake:
		}
		wait := time.Hour // until a new event is queued
		if b.sendPages(ctx) {
			failures = 0
		} else if ctx.Err() == nil {
			failures++
			wait = backoff(failures)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// permanent is an error that trying again cannot help.
type permanent interface{ Permanent() bool }

// sendPages sends every queued event, each incident's in order; false when
// one failed in a way that may pass (it and its incident's later events
// wait for the next round).
func (b *Bot) sendPages(ctx context.Context) bool {
	pending, err := b.deps.PageLog.PendingPages(ctx)
	if err != nil {
		b.log.Error("pending page events", "err", err)
		return false
	}
	ok := true
	stuck := map[string]bool{}
	for _, raw := range pending {
		var e PageEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			b.log.Error("unreadable page event; skipped", "err", err)
			continue
		}
		if ctx.Err() != nil {
			return false // the rest is sent after the restart
		}
		if stuck[e.Incident] {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, pageSendTimeout)
		err := b.deps.Pager.Send(sctx, e)
		cancel()
		outcome := "sent"
		var p permanent
		switch {
		case err == nil:
			b.log.Info("page event sent", keyIncident, e.Incident, "action", e.Action)
		case errors.As(err, &p) && p.Permanent():
			outcome = "refused: " + err.Error()
			b.log.Error("the pager refused an event; not sending it again", keyIncident, e.Incident, "action", e.Action, "err", err)
		default:
			if ctx.Err() == nil {
				b.log.Warn("page event not sent; will try again", keyIncident, e.Incident, "action", e.Action, "err", err)
			}
			stuck[e.Incident], ok = true, false
			continue
		}
		mctx, cancel := diagnosis.Detached(ctx)
		if err := b.deps.PageLog.PageSent(mctx, e.Incident, e.Action, outcome, b.deps.Now()); err != nil {
			b.log.Error("mark page event sent", keyIncident, e.Incident, "action", e.Action, "err", err)
		}
		cancel()
	}
	return ok
}

// permalinker links to a card; WebAPI is one.
type permalinker interface {
	Permalink(t diagnosis.Thread) string
}

// cardLink is the link to an incident's card, "" when Slack cannot say.
func (b *Bot) cardLink(in diagnosis.Incident) string {
	if p, ok := b.slack.(permalinker); ok && !in.Thread.IsZero() {
		return p.Permalink(in.Thread)
	}
	return ""
}

// triggerEvent describes a paged incident for the pager.
func (b *Bot) triggerEvent(in diagnosis.Incident, d diagnosis.Diagnosis) PageEvent {
	e := PageEvent{Incident: in.ID, Action: PageTrigger, Severity: pageSeverity(in), At: in.StartedAt(),
		Source: cmp.Or(in.Scope.String(), "nightowl")}
	e.Summary = fmt.Sprintf("%s: %s (%s)", in.ID, cardHeadline(d), plural(len(in.Alerts)+in.More.Alerts, "alert", "alerts"))
	var top []map[string]any
	if c, ok := d.Top(); ok {
		e.Component = c.Service
	}
	for i, c := range d.Candidates {
		if i == 3 {
			break
		}
		top = append(top, map[string]any{"service": c.Service, "confidence": fmt.Sprintf("%.0f%%", 100*c.Confidence), "alerts": c.Alerts})
	}
	e.Details = map[string]any{"incident": in.ID, "alerts": len(in.Alerts) + in.More.Alerts, "candidates": top,
		"affected": d.AffectedServices}
	if link := b.cardLink(in); link != "" {
		e.Links = append(e.Links, PageLink{URL: link, Text: "Slack card " + in.ID})
		e.Details["card"] = link
	}
	for _, l := range b.alertLinks(in) {
		e.Links = append(e.Links, PageLink{URL: l.URL, Text: l.Text})
	}
	return e
}

// pageSeverity maps the firing alerts' severity labels onto a pager's
// four: the gravest wins, and a page with none is an error.
func pageSeverity(in diagnosis.Incident) string {
	rank := map[string]int{"info": 1, "warning": 2, "error": 3, "critical": 4}
	best := ""
	for _, a := range in.Alerts {
		if a.Status != diagnosis.Firing {
			continue
		}
		s := ""
		switch strings.ToLower(a.Labels[diagnosis.LabelSeverity]) {
		case "critical", "page", "fatal", "emergency", "p1", "sev1":
			s = "critical"
		case "error", "high", "major", "p2", "sev2":
			s = "error"
		case "warning", "warn", "medium", "minor", "p3", "sev3":
			s = "warning"
		case "info", "low", "none", "notice", "p4", "p5":
			s = "info"
		}
		if rank[s] > rank[best] {
			best = s
		}
	}
	return cmp.Or(best, "error")
}
