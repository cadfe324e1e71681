package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/prom"
)

// Config is nightowl's configuration: every setting is an environment
// variable and a flag of the same name in lower-kebab case (the flag wins).
type Config struct {
	SlackAppToken    string
	SlackBotToken    string
	SlackAPIURL      string
	AlertsChannel    string
	IncidentsChannel string
	AlertSources     []string
	AnyAlertSource   bool // ALERT_SOURCES=any: every bot in ALERTS_CHANNEL is trusted
	AlertmanagerURL  string
	Approvers        []string
	PrometheusURL    string
	PromQLAllow      *regexp.Regexp // nil: any metric
	MetricQueries    string
	DBPath           string
	RunbooksDir      string
	PlaybooksDir     string
	ServiceGraph     string
	OnCall           string
	Escalation       string
	LLMProvider      string
	LLMModel         string
	LLMBaseURL       string
	LLMAPIKey        string
	LLMTimeout       time.Duration
	LLMBudget        int
	RedactLabels     []string
	GroupWait        time.Duration
	RunbookMaxRuns   int
	LogLevel         slog.Level
	// RunbookRequestTTL is how long a run request waits for approval;
	// RunbookStopGrace how long a shutdown lets running runbooks finish.
	RunbookRequestTTL time.Duration
	RunbookStopGrace  time.Duration

	graph    *graph.Graph // loaded from ServiceGraph, or the built-in example
	resolver *diagnosis.Resolver
	queries  diagnosis.Queries
}

// setting describes one configuration variable.
type setting struct {
	env, def, help string
	secret         bool
	dst            *string
}

func (c *Config) settings(raw map[string]*string) []setting {
	s := func(env, def, help string) setting {
		v := new(string)
		raw[env] = v
		return setting{env: env, def: def, help: help, dst: v}
	}
	secret := func(st setting) setting { st.secret = true; return st }
	return []setting{
		secret(s("SLACK_APP_TOKEN", "", "app-level token (xapp-…) with connections:write, for Socket Mode")),
		secret(s("SLACK_BOT_TOKEN", "", "bot token (xoxb-…) for the Web API")),
		s("SLACK_API_URL", "https://slack.com/api/", "Slack Web API base URL (GovSlack: https://slack-gov.com/api/)"),
		s("ALERTS_CHANNEL", "", "channel ID where Alertmanager relays alerts"),
		s("INCIDENTS_CHANNEL", "", "channel ID for incident cards (default: ALERTS_CHANNEL)"),
		s("ALERT_SOURCES", "", "comma list of bot IDs (B…) or app IDs (A…) trusted as alert sources, or any to trust every bot in ALERTS_CHANNEL (required)"),
		s("ALERTMANAGER_URL", "", "Alertmanager base URL: a card offers a runbook only for alerts Alertmanager holds (optional)"),
		s("APPROVERS", "", "comma list of user IDs (U…) and user-group IDs (S…) who may approve runbooks (default: nobody)"),
		s("PROMETHEUS_URL", "", "Prometheus base URL for metric evidence (optional)"),
		s("PROMQL_ALLOW", "", "regular expression of the metric names /graph query and the model may query (default: any)"),
		s("METRIC_QUERIES", "", "YAML file of PromQL templates for metric evidence (default: built in; see docs/diagnosis.md)"),
		s("DB_PATH", "./bot.db", "SQLite database file"),
		s("RUNBOOKS_DIR", "./runbooks", "directory of runbook YAML files"),
		s("PLAYBOOKS_DIR", "./playbooks", "directory of Ansible playbooks"),
		s("SERVICE_GRAPH", "", "service dependency graph, YAML or JSON (default: the built-in example)"),
		s("ONCALL", "", "user (U…) or user group (S…) each new incident card pages, once"),
		s("ESCALATION", "", "user (U…) or user group (S…) the Escalate button pages"),
		s("LLM_PROVIDER", "none", "none | openai | ollama"),
		s("LLM_MODEL", "", "model name for the LLM provider"),
		s("LLM_BASE_URL", "", "base URL of the LLM endpoint (OpenAI-compatible or Ollama)"),
		secret(s("LLM_API_KEY", "", "API key for the LLM endpoint")),
		s("LLM_TIMEOUT", "20s", "how long one model request may take before nightowl retries or falls back to its rules"),
		s("LLM_TOKEN_BUDGET", "20000", "tokens the model may spend on one incident (triage and answers); -1 for no limit"),
		s("REDACT_LABELS", "", "comma list of label and annotation names whose values never reach the model (secret-like names always are redacted)"),
		s("GROUP_WAIT", "10s", "how long a new incident gathers alerts before its card"),
		s("RUNBOOK_MAX_RUNS", "2", "runbook runs at once; more wait in a queue"),
		s("LOG_LEVEL", "info", "debug | info | warn | error"),
		s("RUNBOOK_REQUEST_TTL", "30m", "how long a runbook run request may wait for approval; it also expires when its incident resolves"),
		s("RUNBOOK_STOP_GRACE", "60s", "on shutdown, how long running runbooks may finish before they are interrupted"),
	}
}

func flagName(env string) string { return strings.ToLower(strings.ReplaceAll(env, "_", "-")) }

// LoadConfig reads the environment, then flags. It returns every problem at
// once, one sentence each; need says which parts this subcommand requires.
func LoadConfig(name string, args []string, getenv func(string) string, stderr io.Writer, need requirement) (Config, []string, error) {
	var c Config
	raw := map[string]*string{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, st := range c.settings(raw) {
		def := st.def
		if v := getenv(st.env); v != "" {
			def = v
		}
		*st.dst = def
		help := st.help + " [$" + st.env + "]"
		fs.StringVar(st.dst, flagName(st.env), def, help)
	}
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	return c, fs.Args(), c.fill(raw, need)
}

// requirement says which settings a subcommand needs.
type requirement int

const (
	needNothing requirement = iota // diagnose, version, audit
	needSlack                      // run
)

var (
	userRe    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	groupRe   = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	channelRe = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	sourceRe  = regexp.MustCompile(`^[AB][A-Z0-9]{2,}$`)
)

func (c *Config) fill(raw map[string]*string, need requirement) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	get := func(k string) string { return strings.TrimSpace(*raw[k]) }

	c.SlackAppToken, c.SlackBotToken = get("SLACK_APP_TOKEN"), get("SLACK_BOT_TOKEN")
	if need == needSlack {
		checkToken(bad, "SLACK_APP_TOKEN", c.SlackAppToken, "xapp-", "the app-level token (Basic Information → App-Level Tokens, scope connections:write)")
		checkToken(bad, "SLACK_BOT_TOKEN", c.SlackBotToken, "xoxb-", "the bot token (OAuth & Permissions → Bot User OAuth Token)")
	}
	c.SlackAPIURL = get("SLACK_API_URL")
	if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SLACK_API_URL %q is not an http(s) URL", c.SlackAPIURL)
	} else if !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/" // slack-go appends method names
	}
	c.AlertsChannel, c.IncidentsChannel = get("ALERTS_CHANNEL"), get("INCIDENTS_CHANNEL")
	if need == needSlack && c.AlertsChannel == "" {
		bad("ALERTS_CHANNEL is not set: give the ID (C…) of the channel where Alertmanager posts alerts")
	}
	for _, ch := range []struct{ name, v string }{{"ALERTS_CHANNEL", c.AlertsChannel}, {"INCIDENTS_CHANNEL", c.IncidentsChannel}} {
		if ch.v != "" && !channelRe.MatchString(ch.v) {
			bad("%s %q is not a channel ID: use the ID (C…), not the #name (channel details → About)", ch.name, ch.v)
		}
	}
	if c.IncidentsChannel == "" {
		c.IncidentsChannel = c.AlertsChannel
	}
	c.AlertSources = splitList(get("ALERT_SOURCES"))
	switch {
	case len(c.AlertSources) == 1 && strings.EqualFold(c.AlertSources[0], "any"):
		c.AlertSources, c.AnyAlertSource = nil, true
	case len(c.AlertSources) == 0 && need == needSlack:
		bad("ALERT_SOURCES is not set: give the bot ID (B…) of Alertmanager's Slack webhook, shown in one of its messages' details in the alerts channel or as bot_id in conversations.history (README, Install the Slack app, step 4), or ALERT_SOURCES=any to trust every bot there")
	}
	for _, s := range c.AlertSources {
		if !sourceRe.MatchString(s) {
			bad("ALERT_SOURCES entry %q is neither a bot ID (B…) nor an app ID (A…), and any stands alone", s)
		}
	}
	c.AlertmanagerURL = strings.TrimRight(get("ALERTMANAGER_URL"), "/")
	if c.AlertmanagerURL != "" {
		if u, err := url.Parse(c.AlertmanagerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("ALERTMANAGER_URL is not an http(s) URL such as http://alertmanager:9093") // the value may hold a password
		}
	}
	c.Approvers = splitList(get("APPROVERS"))
	for _, a := range c.Approvers {
		if !userRe.MatchString(a) && !groupRe.MatchString(a) {
			bad("APPROVERS entry %q is neither a user ID (U…) nor a user-group ID (S…)", a)
		}
	}
	c.OnCall, c.Escalation = get("ONCALL"), get("ESCALATION")
	for _, p := range []struct{ name, v string }{{"ONCALL", c.OnCall}, {"ESCALATION", c.Escalation}} {
		if p.v != "" && !userRe.MatchString(p.v) && !groupRe.MatchString(p.v) {
			bad("%s %q is neither a user ID (U…) nor a user-group ID (S…)", p.name, p.v)
		}
	}
	c.PrometheusURL = get("PROMETHEUS_URL")
	if c.PrometheusURL != "" {
		if u, err := url.Parse(c.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("PROMETHEUS_URL %q is not an http(s) URL", c.PrometheusURL)
		}
	}
	if allow := get("PROMQL_ALLOW"); allow != "" {
		re, err := regexp.Compile(`^(?:` + allow + `)$`)
		if err != nil {
			bad("PROMQL_ALLOW %q is not a regular expression: %v", allow, err)
		}
		c.PromQLAllow = re
	}
	c.MetricQueries = get("METRIC_QUERIES")
	c.queries = diagnosis.DefaultQueries()
	if c.MetricQueries != "" {
		q, err := diagnosis.LoadQueries(c.MetricQueries)
		if err != nil {
			bad("METRIC_QUERIES: %v", err)
		}
		c.queries = q
	}
	c.DBPath, c.RunbooksDir, c.PlaybooksDir = get("DB_PATH"), get("RUNBOOKS_DIR"), get("PLAYBOOKS_DIR")
	c.ServiceGraph = get("SERVICE_GRAPH")
	if err := c.loadGraph(); err != nil {
		bad("SERVICE_GRAPH: %v", err)
	}
	c.LLMProvider = strings.ToLower(get("LLM_PROVIDER"))
	switch c.LLMProvider {
	case "none", "openai", "ollama":
	default:
		bad("LLM_PROVIDER %q is not one of none, openai, ollama", c.LLMProvider)
	}
	c.LLMModel, c.LLMBaseURL, c.LLMAPIKey = get("LLM_MODEL"), get("LLM_BASE_URL"), get("LLM_API_KEY")
	if c.LLMBaseURL != "" {
		if u, err := url.Parse(c.LLMBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("LLM_BASE_URL %q is not an http(s) URL", c.LLMBaseURL)
		}
	}
	if d, err := time.ParseDuration(get("LLM_TIMEOUT")); err != nil || d <= 0 {
		bad("LLM_TIMEOUT %q is not a positive duration such as 20s", get("LLM_TIMEOUT"))
	} else {
		c.LLMTimeout = d
	}
	if n, err := strconv.Atoi(get("LLM_TOKEN_BUDGET")); err != nil || n == 0 || n < -1 {
		bad("LLM_TOKEN_BUDGET %q is not a positive number of tokens (or -1 for no limit)", get("LLM_TOKEN_BUDGET"))
	} else {
		c.LLMBudget = n
	}
	c.RedactLabels = splitList(get("REDACT_LABELS"))
	if d, err := time.ParseDuration(get("GROUP_WAIT")); err != nil || d < 0 {
		bad("GROUP_WAIT %q is not a duration such as 10s or 1m", get("GROUP_WAIT"))
	} else {
		c.GroupWait = d
	}
	if n, err := strconv.Atoi(get("RUNBOOK_MAX_RUNS")); err != nil || n < 1 || n > 20 {
		bad("RUNBOOK_MAX_RUNS %q is not a number from 1 to 20", get("RUNBOOK_MAX_RUNS"))
	} else {
		c.RunbookMaxRuns = n
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL"))); err != nil {
		bad("LOG_LEVEL %q is not one of debug, info, warn, error", get("LOG_LEVEL"))
	}
	if d, err := time.ParseDuration(get("RUNBOOK_REQUEST_TTL")); err != nil || d < time.Second || d > 7*24*time.Hour {
		bad("RUNBOOK_REQUEST_TTL %q is not a duration from 1s to 168h, such as 30m", get("RUNBOOK_REQUEST_TTL"))
	} else {
		c.RunbookRequestTTL = d
	}
	if d, err := time.ParseDuration(get("RUNBOOK_STOP_GRACE")); err != nil || d < time.Second || d > time.Hour {
		bad("RUNBOOK_STOP_GRACE %q is not a duration from 1s to 1h, such as 60s", get("RUNBOOK_STOP_GRACE"))
	} else {
		c.RunbookStopGrace = d
	}
	return errors.Join(errs...)
}

func checkToken(bad func(string, ...any), name, v, prefix, what string) {
	switch {
	case v == "":
		bad("%s is not set: it must hold %s, starting %s", name, what, prefix)
	case strings.HasPrefix(v, "xapp-") && prefix != "xapp-":
		bad("%s holds an app-level token (xapp-…) but must hold %s", name, what)
	case strings.HasPrefix(v, "xoxb-") && prefix != "xoxb-":
		bad("%s holds a bot token (xoxb-…) but must hold %s", name, what)
	case strings.HasPrefix(v, "xoxp-"):
		bad("%s holds a user token (xoxp-…) but must hold %s", name, what)
	case !strings.HasPrefix(v, prefix):
		bad("%s does not look like %s (it should start %s)", name, what, prefix)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// loadGraph reads the service graph and its optional `resolve:` rules.
func (c *Config) loadGraph() error {
	c.graph = graph.Example()
	var rules []diagnosis.Rule
	if c.ServiceGraph != "" {
		data, err := os.ReadFile(c.ServiceGraph)
		if err != nil {
			return fmt.Errorf("read service graph: %w", err)
		}
		if c.graph, err = graph.Parse(data); err != nil {
			return fmt.Errorf("%s: %w", c.ServiceGraph, err)
		}
		if rules, err = diagnosis.ParseRules(data); err != nil {
			return fmt.Errorf("%s: %w", c.ServiceGraph, err)
		}
	}
	r, err := diagnosis.NewResolver(c.graph, rules)
	if err != nil {
		return fmt.Errorf("%s: %w", c.ServiceGraph, err)
	}
	c.resolver = r
	return nil
}

// Metrics is the Prometheus adapter, or nil when PROMETHEUS_URL is unset.
func (c Config) Metrics(log *slog.Logger) (diagnosis.Metrics, error) {
	if c.PrometheusURL == "" {
		return nil, nil
	}
	p, err := prom.New(prom.Config{URL: c.PrometheusURL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("PROMETHEUS_URL: %w", err)
	}
	return p, nil
}

// Graph is the service graph in effect.
func (c Config) Graph() *graph.Graph { return c.graph }

// Queries are the PromQL templates metric evidence uses.
func (c Config) Queries() diagnosis.Queries { return c.queries }

// Resolver names the graph node of each alert.
func (c Config) Resolver() *diagnosis.Resolver { return c.resolver }

// newLogger builds the process logger: text for people, at LOG_LEVEL.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
