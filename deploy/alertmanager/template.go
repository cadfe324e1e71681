package alertmanager

import (
	_ "embed"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// slackTmpl is nightowl's template, the file operators deploy.
//
//go:embed slack.tmpl
var slackTmpl string

// defaultTmpl holds the definitions of Alertmanager 0.25's
// template/default.tmpl that its Slack notifier uses, verbatim.
const defaultTmpl = `{{ define "__alertmanager" }}Alertmanager{{ end }}
{{ define "__alertmanagerURL" }}{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}{{ end }}

{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
{{ define "__description" }}{{ end }}

{{ define "__text_alert_list" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}


{{ define "slack.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "slack.default.username" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "slack.default.fallback" }}{{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}{{ end }}
{{ define "slack.default.callbackid" }}{{ end }}
{{ define "slack.default.pretext" }}{{ end }}
{{ define "slack.default.titlelink" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "slack.default.iconemoji" }}{{ end }}
{{ define "slack.default.iconurl" }}{{ end }}
{{ define "slack.default.text" }}{{ end }}
{{ define "slack.default.footer" }}{{ end }}
`

// The slack_configs fields that are templates.
const (
	fieldTitle      = "title"
	fieldTitleLink  = "title_link"
	fieldPretext    = "pretext"
	fieldText       = "text"
	fieldFallback   = "fallback"
	fieldCallbackID = "callback_id"
	fieldFooter     = "footer"
	fieldColor      = "color"
	fieldUsername   = "username"
	fieldIconEmoji  = "icon_emoji"
	fieldIconURL    = "icon_url"
)

// defaultConfig is DefaultSlackConfig of Alertmanager 0.25 (config/notifiers.go).
var defaultConfig = map[string]string{
	fieldColor:      `{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}`,
	fieldUsername:   `{{ template "slack.default.username" . }}`,
	fieldTitle:      `{{ template "slack.default.title" . }}`,
	fieldTitleLink:  `{{ template "slack.default.titlelink" . }}`,
	fieldIconEmoji:  `{{ template "slack.default.iconemoji" . }}`,
	fieldIconURL:    `{{ template "slack.default.iconurl" . }}`,
	fieldPretext:    `{{ template "slack.default.pretext" . }}`,
	fieldText:       `{{ template "slack.default.text" . }}`,
	fieldFallback:   `{{ template "slack.default.fallback" . }}`,
	fieldCallbackID: `{{ template "slack.default.callbackid" . }}`,
	fieldFooter:     `{{ template "slack.default.footer" . }}`,
}

// nightowlConfig is what alertmanager.yml sets on top of the defaults.
var nightowlConfig = map[string]string{
	fieldTitle:    `{{ template "nightowl.title" . }}`,
	fieldText:     `{{ template "nightowl.text" . }}`,
	fieldFallback: `{{ template "nightowl.fallback" . }}`,
}

// config returns the field templates of a receiver in format f.
func config(f Format) map[string]string {
	out := make(map[string]string, len(defaultConfig))
	for k, v := range defaultConfig {
		out[k] = v
	}
	if f == Nightowl {
		for k, v := range nightowlConfig {
			out[k] = v
		}
	}
	return out
}

// receiverTemplates holds one parsed template per slack_configs field.
type receiverTemplates struct {
	fields map[string]*template.Template
}

func (rt receiverTemplates) execute(field string, data *tmplData) (string, error) {
	t, ok := rt.fields[field]
	if !ok {
		return "", nil // an empty field template renders nothing
	}
	var b strings.Builder
	err := t.Execute(&b, data)
	return b.String(), err
}

var parsed = sync.OnceValues(func() (map[Format]receiverTemplates, error) {
	base := template.New("").Option("missingkey=zero").Funcs(funcs)
	if _, err := base.Parse(defaultTmpl); err != nil {
		return nil, fmt.Errorf("parse default template: %w", err)
	}
	if _, err := base.New("slack.tmpl").Parse(slackTmpl); err != nil {
		return nil, fmt.Errorf("parse slack.tmpl: %w", err)
	}
	out := map[Format]receiverTemplates{}
	for _, f := range []Format{Nightowl, Default} {
		rt := receiverTemplates{fields: map[string]*template.Template{}}
		for field, text := range config(f) {
			// Alertmanager's ExecuteTextString: clone the set, parse the
			// field as a new template with missingkey=zero.
			set, err := base.Clone()
			if err != nil {
				return nil, fmt.Errorf("clone templates: %w", err)
			}
			t, err := set.New("field." + field).Option("missingkey=zero").Parse(text)
			if err != nil {
				return nil, fmt.Errorf("parse %s field %s: %w", f, field, err)
			}
			rt.fields[field] = t
		}
		out[f] = rt
	}
	return out, nil
})

func templates(f Format) (receiverTemplates, error) {
	all, err := parsed()
	if err != nil {
		return receiverTemplates{}, err
	}
	rt, ok := all[f]
	if !ok {
		return receiverTemplates{}, fmt.Errorf("unknown format %s", f)
	}
	return rt, nil
}

// funcs are Alertmanager 0.25's template.DefaultFuncs.
var funcs = template.FuncMap{
	"toUpper": strings.ToUpper,
	"toLower": strings.ToLower,
	"title":   strings.Title, // deprecated, but what Alertmanager 0.25 calls
	// join is strings.Join with the arguments swapped for pipelines.
	"join": func(sep string, s []string) string {
		return strings.Join(s, sep)
	},
	"match": regexp.MatchString,
	"safeHtml": func(text string) htmltemplate.HTML {
		return htmltemplate.HTML(text)
	},
	"reReplaceAll": func(pattern, repl, text string) string {
		return compiled(pattern).ReplaceAllString(text, repl)
	},
	"stringSlice": func(s ...string) []string {
		return s
	},
}

// regexps caches reReplaceAll's patterns; Alertmanager compiles them on every
// call (and panics on a bad one, which text/template turns into an error).
var regexps sync.Map

func compiled(pattern string) *regexp.Regexp {
	if re, ok := regexps.Load(pattern); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(pattern)
	regexps.Store(pattern, re)
	return re
}

// tmplData is Alertmanager 0.25's template.Data.
type tmplData struct {
	Receiver          string
	Status            string
	Alerts            tmplAlerts
	GroupLabels       kv
	CommonLabels      kv
	CommonAnnotations kv
	ExternalURL       string
}

// tmplAlert is template.Alert.
type tmplAlert struct {
	Status       string
	Labels       kv
	Annotations  kv
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
	Fingerprint  string
}

// tmplAlerts is template.Alerts.
type tmplAlerts []tmplAlert

// Firing returns the firing alerts.
func (as tmplAlerts) Firing() []tmplAlert { return as.with(string(diagnosis.Firing)) }

// Resolved returns the resolved alerts.
func (as tmplAlerts) Resolved() []tmplAlert { return as.with(string(diagnosis.Resolved)) }

func (as tmplAlerts) with(status string) []tmplAlert {
	out := []tmplAlert{}
	for _, a := range as {
		if a.Status == status {
			out = append(out, a)
		}
	}
	return out
}

// pair is template.Pair.
type pair struct{ Name, Value string }

// pairs is template.Pairs.
type pairs []pair

// Names returns the names in order.
func (ps pairs) Names() []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// Values returns the values in order.
func (ps pairs) Values() []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Value)
	}
	return out
}

// kv is template.KV.
type kv map[string]string

// SortedPairs returns the pairs with alertname first and the rest by name.
func (m kv) SortedPairs() pairs {
	names := make([]string, 0, len(m))
	start := 0
	for n := range m {
		if n == diagnosis.LabelAlertname {
			names = append([]string{n}, names...)
			start = 1
		} else {
			names = append(names, n)
		}
	}
	sort.Strings(names[start:])
	out := make(pairs, 0, len(names))
	for _, n := range names {
		out = append(out, pair{n, m[n]})
	}
	return out
}

// Remove returns a copy without the given names.
func (m kv) Remove(names []string) kv {
	drop := make(map[string]bool, len(names))
	for _, n := range names {
		drop[n] = true
	}
	out := kv{}
	for n, v := range m {
		if !drop[n] {
			out[n] = v
		}
	}
	return out
}

// Names returns the sorted names (alertname first).
func (m kv) Names() []string { return m.SortedPairs().Names() }

// Values returns the values in the order of Names.
func (m kv) Values() []string { return m.SortedPairs().Values() }

// newData is template.(*Template).Data for a group.
func newData(g Group) *tmplData {
	d := &tmplData{
		Receiver:          regexp.QuoteMeta(g.Receiver),
		Status:            g.Status,
		Alerts:            make(tmplAlerts, 0, len(g.Alerts)),
		GroupLabels:       clone(g.GroupLabels),
		CommonLabels:      clone(g.CommonLabels),
		CommonAnnotations: clone(g.CommonAnnotations),
		ExternalURL:       g.ExternalURL,
	}
	for _, a := range g.Alerts {
		ta := tmplAlert{
			Status:       string(diagnosis.Firing),
			Labels:       clone(a.Labels),
			Annotations:  clone(a.Annotations),
			StartsAt:     a.StartsAt,
			GeneratorURL: a.GeneratorURL,
			Fingerprint:  diagnosis.Fingerprint(a.Labels),
		}
		if a.Status == diagnosis.Resolved {
			ta.Status = string(diagnosis.Resolved)
			ta.EndsAt = a.EndsAt
		}
		d.Alerts = append(d.Alerts, ta)
	}
	return d
}

func clone(m map[string]string) kv {
	out := make(kv, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
