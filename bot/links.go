package bot

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// cardLinkItem is a link the card, its thread or a page shows.
type cardLinkItem struct{ URL, Text string }

// linksLine is the card's line of links, "" for none.
func linksLine(links []cardLinkItem) string {
	parts := make([]string, 0, len(links))
	for _, l := range links {
		// In a <url|text> link Slack reads "|" and ">" as its own.
		u := strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C", " ", "%20").Replace(l.URL)
		if len(u) > maxLinkURL {
			continue
		}
		parts = append(parts, fmt.Sprintf("<%s|%s>", strings.ReplaceAll(u, "&", "&amp;"), escape(l.Text)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "🔗 " + strings.Join(parts, " · ")
}

// maxLinkURL leaves out a link too long to be shown whole.
const maxLinkURL = 900

// alertLinks are where to look further: the alert's own graph
// (generatorURL), the incident's alerts in Alertmanager, and the Grafana
// dashboard for its likely cause.
func (b *Bot) alertLinks(in diagnosis.Incident) []cardLinkItem {
	top := ""
	if d, ok := b.diagnoses.Latest(in.ID); ok {
		if c, ok := d.Top(); ok {
			top = c.Service
		}
	}
	return incidentLinks(in, top, b.cfg.AlertmanagerURL, b.cfg.GrafanaURL, b.deps.Now())
}

// incidentLinks builds alertLinks from the incident, its likely root cause
// and the configured addresses.
func incidentLinks(in diagnosis.Incident, root, alertmanager, grafana string, now time.Time) []cardLinkItem {
	var out []cardLinkItem
	if u := generatorURL(in, root); u != "" {
		out = append(out, cardLinkItem{URL: u, Text: "Alert query"})
	}
	if alertmanager != "" {
		filter := "{" + matcherText(incidentMatchers(in)) + "}"
		out = append(out, cardLinkItem{URL: strings.TrimRight(alertmanager, "/") + "/#/alerts?filter=" + url.QueryEscape(filter), Text: "Alertmanager"})
	}
	if grafana != "" {
		from := in.StartedAt().Add(-30 * time.Minute)
		to := "now"
		if in.Status == diagnosis.Resolved && !in.ResolvedAt.IsZero() {
			to = fmt.Sprint(in.ResolvedAt.Add(15 * time.Minute).UnixMilli())
		}
		q := url.Values{"from": {fmt.Sprint(from.UnixMilli())}, "to": {to}}
		if root != "" {
			q.Set("var-service", root)
		}
		sep := "?"
		if strings.Contains(grafana, "?") {
			sep = "&"
		}
		out = append(out, cardLinkItem{URL: grafana + sep + q.Encode(), Text: "Grafana"})
	}
	return out
}

// generatorURL is the graph of the root cause's first alert, else of the
// first alert that has one.
func generatorURL(in diagnosis.Incident, root string) string {
	first := ""
	for _, a := range in.Alerts {
		u := a.GeneratorURL
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			continue
		}
		if root != "" && a.NodeOrService() == root {
			return u
		}
		if first == "" {
			first = u
		}
	}
	return first
}

// SilenceMatcher is one matcher of an Alertmanager silence.
type SilenceMatcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// silenceLabels are the labels a card's silence matches on, beside
// alertname, when every alert of the incident carries them: the labels
// nightowl groups and scopes by.
var silenceLabels = []string{diagnosis.LabelService, diagnosis.LabelNamespace, diagnosis.LabelCluster}

// incidentMatchers match the incident's alerts (those it holds one by
// one): alertname, and each of silenceLabels every alert carries; a label
// with one value is matched exactly, several by an anchored alternation.
func incidentMatchers(in diagnosis.Incident) []SilenceMatcher {
	names := []string{diagnosis.LabelAlertname}
	for _, l := range silenceLabels {
		all := len(in.Alerts) > 0
		for _, a := range in.Alerts {
			if a.Labels[l] == "" {
				all = false
				break
			}
		}
		if all {
			names = append(names, l)
		}
	}
	var out []SilenceMatcher
	for _, n := range names {
		var vals []string
		for _, a := range in.Alerts {
			if v := a.Labels[n]; v != "" && !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			continue
		}
		slices.Sort(vals)
		m := SilenceMatcher{Name: n, Value: vals[0], IsEqual: true}
		if len(vals) > 1 {
			quoted := make([]string, len(vals))
			for i, v := range vals {
				quoted[i] = regexp.QuoteMeta(v)
			}
			m.Value, m.IsRegex = strings.Join(quoted, "|"), true
		}
		out = append(out, m)
	}
	return out
}

// matcherText writes matchers as Alertmanager does: name="v", name=~"a|b".
func matcherText(ms []SilenceMatcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		op := "="
		if m.IsRegex {
			op = "=~"
		}
		parts[i] = fmt.Sprintf("%s%s%q", m.Name, op, m.Value)
	}
	return strings.Join(parts, ",")
}
