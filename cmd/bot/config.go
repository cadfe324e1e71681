package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
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
	// GraphDiscovery is "prometheus" to discover the graph from what
	// PROMETHEUS_URL scrapes, merged with ServiceGraph, every GraphRefresh
	// over GraphWindow; "" for none.
	GraphDiscovery string
	GraphRefresh   time.Duration
	GraphWindow    time.Duration
	OnCall         string
	Escalation     string
	LLMProvider    string
	LLMModel       string
	LLMBaseURL     string
	LLMAPIKey      string
	LLMTimeout     time.Duration
	LLMBudget      int
	RedactLabels   []string
	GroupWait      time.Duration
	RunbookMaxRuns int
	LogLevel       slog.Level
	// LogFormat is "text" (logfmt-like, for a terminal) or "json" (one
	// object a line, for Loki or Elasticsearch).
	LogFormat string
	// PprofAddr serves Go's profiles (/debug/pprof/); "" for none.
	PprofAddr string
	// MetricsAddr serves /metrics, /healthz and /readyz; "" for none.
	MetricsAddr string
	// RunbookRequestTTL is how long a run request waits for approval;
	// RunbookStopGrace how long a shutdown lets running runbooks finish.
	RunbookRequestTTL time.Duration
	RunbookStopGrace  time.Duration
	// Bounds on what nightowl keeps (docs/reliability.md): alerts an
	// incident holds one by one, incidents in memory, how long a silent
	// firing incident stays, the model's tokens in any hour and requests
	// at once, and how long the raw alert log is kept (0: for good).
	IncidentMaxAlerts  int
	MaxIncidents       int
	IncidentStaleAfter time.Duration
	LLMHourlyBudget    int
	LLMConcurrency     int
	Retention          time.Duration
	// Replicas (docs/ha.md): LeaderElection is none or kubernetes; the
	// Lease's name and namespace, this replica's name and the election's
	// terms; ReplicaURL is where the database is streamed ("" for nowhere).
	LeaderElection      string
	LeaseName           string
	PodNamespace        string
	PodName             string
	LeaseDuration       time.Duration
	LeaseRenewDeadline  time.Duration
	LeaseRetryPeriod    time.Duration
	ReplicaURL          string
	ReplicaSyncInterval time.Duration
	// ReportChannel gets the weekly on-call report ("" for none); Loc is
	// TZ, the time zone of its nights, days and weeks.
	ReportChannel string
	Loc           *time.Location
	pagingConfig

	graph     *graph.Graph // loaded from ServiceGraph; empty when it is unset
	graphRead time.Time    // when it was loaded; zero without ServiceGraph
	resolver  *diagnosis.Resolver
	rules     []diagnosis.Rule // the graph file's resolve: rules
	queries   diagnosis.Queries
}

// setting is one row of the configuration table: everything about one
// variable is written here once. The flag is the variable's name in
// lower-kebab case (flagName), the -h text is made from help, unset and
// def, and the README's Configuration table is checked against the rows
// (TestREADMEDocumentsEverySetting).
type setting struct {
	env    string
	def    string // the value when neither the environment nor a flag gives one
	unset  string // what an empty value means, for -h and the README; "" when it means nothing
	help   string
	secret bool // -h never prints the environment's value
	// read parses and checks the trimmed value into the Config; each
	// problem is one sentence about the variable.
	read func(v string, p problems)
}

// problems collects one sentence per problem with one setting; each begins
// with the setting's name.
type problems struct {
	env  string
	errs *[]error
}

// add reports "ENV <sentence>".
func (p problems) add(format string, args ...any) {
	*p.errs = append(*p.errs, fmt.Errorf("%s %s", p.env, fmt.Sprintf(format, args...)))
}

// wrap reports "ENV: <err>".
func (p problems) wrap(err error) { *p.errs = append(*p.errs, fmt.Errorf("%s: %w", p.env, err)) }

// settings is the configuration table, in the order problems are reported.
// need says which settings the subcommand requires.
func (c *Config) settings(need requirement) []setting {
	return append([]setting{
		{env: "SLACK_APP_TOKEN", secret: true, help: "app-level token (xapp-…) with connections:write, for Socket Mode",
			read: func(v string, p problems) {
				c.SlackAppToken = v
				if need == needSlack {
					checkToken(p, v, "xapp-", "the app-level token (Basic Information → App-Level Tokens, scope connections:write)")
				}
			}},
		{env: "SLACK_BOT_TOKEN", secret: true, help: "bot token (xoxb-…) for the Web API",
			read: func(v string, p problems) {
				c.SlackBotToken = v
				if need == needSlack {
					checkToken(p, v, "xoxb-", "the bot token (OAuth & Permissions → Bot User OAuth Token)")
				}
			}},
		{env: "SLACK_API_URL", def: "https://slack.com/api/", help: "Slack Web API base URL (GovSlack: https://slack-gov.com/api/)",
			read: func(v string, p problems) {
				c.SlackAPIURL = v
				if !isHTTPURL(v) {
					p.add("%q is not an http(s) URL", v)
				} else if !strings.HasSuffix(v, "/") {
					c.SlackAPIURL += "/" // slack-go appends method names
				}
			}},
		{env: "ALERTS_CHANNEL", help: "channel ID where Alertmanager relays alerts",
			read: func(v string, p problems) {
				c.AlertsChannel = v
				if need == needSlack && v == "" {
					p.add("is not set: give the ID (C…) of the channel where Alertmanager posts alerts")
				}
				checkChannel(p, v)
			}},
		{env: "INCIDENTS_CHANNEL", unset: "ALERTS_CHANNEL", help: "channel ID for incident cards",
			read: func(v string, p problems) {
				checkChannel(p, v)
				c.IncidentsChannel = cmp.Or(v, c.AlertsChannel) // ALERTS_CHANNEL is read first
			}},
		{env: "ALERT_SOURCES", help: "comma list of bot IDs (B…) or app IDs (A…) trusted as alert sources, or any to trust every bot in ALERTS_CHANNEL (required)",
			read: func(v string, p problems) {
				c.AlertSources = splitList(v)
				switch {
				case len(c.AlertSources) == 1 && strings.EqualFold(c.AlertSources[0], "any"):
					c.AlertSources, c.AnyAlertSource = nil, true
				case len(c.AlertSources) == 0 && need == needSlack:
					p.add("is not set: give the bot ID (B…) of Alertmanager's Slack webhook, shown in one of its messages' details in the alerts channel or as bot_id in conversations.history (README, Install the Slack app, step 4), or ALERT_SOURCES=any to trust every bot there")
				}
				for _, s := range c.AlertSources {
					if !sourceRe.MatchString(s) {
						p.add("entry %q is neither a bot ID (B…) nor an app ID (A…), and any stands alone", s)
					}
				}
			}},
		{env: "ALERTMANAGER_URL", help: "Alertmanager base URL: a card offers a runbook only for alerts Alertmanager holds (optional)",
			read: func(v string, p problems) {
				c.AlertmanagerURL = strings.TrimRight(v, "/")
				if c.AlertmanagerURL != "" && !isHTTPURL(c.AlertmanagerURL) {
					p.add("is not an http(s) URL such as http://alertmanager:9093") // the value may hold a password
				}
			}},
		{env: "APPROVERS", unset: "nobody", help: "comma list of user IDs (U…) and user-group IDs (S…) who may approve runbooks",
			read: func(v string, p problems) {
				c.Approvers = splitList(v)
				for _, a := range c.Approvers {
					if !isPerson(a) {
						p.add("entry %q is neither a user ID (U…) nor a user-group ID (S…)", a)
					}
				}
			}},
		{env: "ONCALL", help: "user (U…) or user group (S…) each new incident card pages, once",
			read: func(v string, p problems) { c.OnCall = v; checkPerson(p, v) }},
		{env: "ESCALATION", help: "user (U…) or user group (S…) the Escalate button pages (and nightowl, after ESCALATE_AFTER without an acknowledgement)",
			read: func(v string, p problems) { c.Escalation = v; checkPerson(p, v) }},
		{env: "PROMETHEUS_URL", help: "Prometheus base URL for metric evidence (optional)",
			read: func(v string, p problems) { c.PrometheusURL = v; checkURL(p, v) }},
		{env: "PROMQL_ALLOW", unset: "any metric", help: "regular expression of the metric names /graph query and the model may query",
			read: func(v string, p problems) {
				if v == "" {
					return
				}
				re, err := regexp.Compile(`^(?:` + v + `)$`)
				if err != nil {
					p.add("%q is not a regular expression: %v", v, err)
				}
				c.PromQLAllow = re
			}},
		{env: "METRIC_QUERIES", unset: "built in", help: "YAML file of PromQL templates for metric evidence, see docs/diagnosis.md",
			read: func(v string, p problems) {
				c.MetricQueries, c.queries = v, diagnosis.DefaultQueries()
				if v != "" {
					q, err := diagnosis.LoadQueries(v)
					if err != nil {
						p.wrap(err)
					}
					c.queries = q
				}
			}},
		{env: "DB_PATH", def: "./bot.db", help: "SQLite database file", read: func(v string, _ problems) { c.DBPath = v }},
		{env: "RUNBOOKS_DIR", def: "./runbooks", help: "directory of runbook YAML files", read: func(v string, _ problems) { c.RunbooksDir = v }},
		{env: "PLAYBOOKS_DIR", def: "./playbooks", help: "directory of Ansible playbooks", read: func(v string, _ problems) { c.PlaybooksDir = v }},
		{env: "SERVICE_GRAPH", unset: "none: grouped by time and labels", help: "service dependency graph, YAML or JSON",
			read: func(v string, p problems) {
				c.ServiceGraph = v
				if err := c.loadGraph(); err != nil {
					p.wrap(err)
				}
			}},
		{env: "GRAPH_DISCOVERY", def: "none", help: "none | prometheus: discover the service graph from the mesh, trace and kube-state-metrics series PROMETHEUS_URL holds, merged with SERVICE_GRAPH (docs/grouping.md)",
			read: func(v string, p problems) {
				switch strings.ToLower(v) {
				case "none":
				case "prometheus":
					c.GraphDiscovery = "prometheus"
					if c.PrometheusURL == "" { // PROMETHEUS_URL is read first
						p.add("=prometheus needs PROMETHEUS_URL: set it to the Prometheus that scrapes the mesh, traces or kube-state-metrics")
					}
				default:
					p.add("%q is not one of none, prometheus", v)
				}
			}},
		{env: "GRAPH_REFRESH", def: "5m", help: "how often discovery reads the graph again (SIGHUP also reads it, and SERVICE_GRAPH, again)",
			read: func(v string, p problems) {
				if d, err := time.ParseDuration(v); err != nil || d < 10*time.Second {
					p.add("%q is not a duration of 10s or more, such as 5m", v)
				} else {
					c.GraphRefresh = d
				}
			}},
		{env: "GRAPH_WINDOW", def: "1h", help: "discovery weighs edges by request rate, and places pods, over this window",
			read: func(v string, p problems) {
				if d, err := time.ParseDuration(v); err != nil || d < time.Minute {
					p.add("%q is not a duration of a minute or more, such as 1h", v)
				} else {
					c.GraphWindow = d
				}
			}},
		{env: "LLM_PROVIDER", def: "none", help: "none | openai | ollama",
			read: func(v string, p problems) {
				c.LLMProvider = strings.ToLower(v)
				switch c.LLMProvider {
				case "none", "openai", "ollama":
				default:
					p.add("%q is not one of none, openai, ollama", c.LLMProvider)
				}
			}},
		{env: "LLM_MODEL", help: "model name for the LLM provider", read: func(v string, _ problems) { c.LLMModel = v }},
		{env: "LLM_BASE_URL", help: "base URL of the LLM endpoint (OpenAI-compatible or Ollama)",
			read: func(v string, p problems) { c.LLMBaseURL = v; checkURL(p, v) }},
		{env: "LLM_API_KEY", secret: true, help: "API key for the LLM endpoint", read: func(v string, _ problems) { c.LLMAPIKey = v }},
		{env: "LLM_TIMEOUT", def: "20s", help: "how long one model request may take before nightowl retries or falls back to its rules",
			read: func(v string, p problems) {
				if d, err := time.ParseDuration(v); err != nil || d <= 0 {
					p.add("%q is not a positive duration such as 20s", v)
				} else {
					c.LLMTimeout = d
				}
			}},
		{env: "LLM_TOKEN_BUDGET", def: "20000", help: "tokens the model may spend on one incident (triage and answers); -1 for no limit",
			read: func(v string, p problems) {
				if n, err := strconv.Atoi(v); err != nil || n == 0 || n < -1 {
					p.add("%q is not a positive number of tokens (or -1 for no limit)", v)
				} else {
					c.LLMBudget = n
				}
			}},
		{env: "REDACT_LABELS", help: "comma list of label and annotation names whose values never reach the model (secret-like names always are redacted)",
			read: func(v string, _ problems) { c.RedactLabels = splitList(v) }},
		{env: "GROUP_WAIT", def: "10s", help: "how long a new incident gathers alerts before its card",
			read: func(v string, p problems) {
				if d, err := time.ParseDuration(v); err != nil || d < 0 {
					p.add("%q is not a duration such as 10s or 1m", v)
				} else {
					c.GroupWait = d
				}
			}},
		{env: "RUNBOOK_MAX_RUNS", def: "2", help: "runbook runs at once; more wait in a queue",
			read: func(v string, p problems) {
				if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 20 {
					p.add("%q is not a number from 1 to 20", v)
				} else {
					c.RunbookMaxRuns = n
				}
			}},
		{env: "PPROF_ADDR", def: "", help: "address serving Go's profiles at /debug/pprof/ (such as 127.0.0.1:6060) for a soak or a leak hunt; off when empty; never expose it beyond the host",
			read: func(v string, p problems) {
				if v == "" {
					return
				}
				if _, _, err := net.SplitHostPort(v); err != nil {
					p.add("%q is not host:port, such as 127.0.0.1:6060", v)
					return
				}
				c.PprofAddr = v
			}},
		{env: "METRICS_ADDR", def: "", help: "address serving nightowl's metrics at /metrics and its probes at /healthz and /readyz (such as :9090; docs/metrics.md); off when empty",
			read: func(v string, p problems) {
				if v == "" {
					return
				}
				if _, _, err := net.SplitHostPort(v); err != nil {
					p.add("%q is not host:port, such as :9090", v)
					return
				}
				c.MetricsAddr = v
			}},
		{env: "LOG_LEVEL", def: "info", help: "debug | info | warn | error",
			read: func(v string, p problems) {
				if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
					p.add("%q is not one of debug, info, warn, error", v)
				}
			}},
		{env: "LOG_FORMAT", def: "text", help: "text (for a terminal) | json (one object a line, for Loki or Elasticsearch)",
			read: func(v string, p problems) {
				c.LogFormat = strings.ToLower(v)
				if c.LogFormat != "text" && c.LogFormat != "json" {
					p.add("%q is not one of text, json", v)
				}
			}},
		{env: "RUNBOOK_REQUEST_TTL", def: "30m", help: "how long a runbook run request may wait for approval; it also expires when its incident resolves",
			read: func(v string, p problems) {
				if d, err := time.ParseDuration(v); err != nil || d < time.Second || d > 7*24*time.Hour {
					p.add("%q is not a duration from 1s to 168h, such as 30m", v)
				} else {
					c.RunbookRequestTTL = d
				}
			}},
		{env: "RUNBOOK_STOP_GRACE", def: "60s", help: "on shutdown, how long running runbooks may finish before they are interrupted",
			read: func(v string, p problems) {
				if d, err := time.ParseDuration(v); err != nil || d < time.Second || d > time.Hour {
					p.add("%q is not a duration from 1s to 1h, such as 60s", v)
				} else {
					c.RunbookStopGrace = d
				}
			}},
		{env: "INCIDENT_MAX_ALERTS", def: "500", help: "alerts an incident keeps one by one in memory; the rest are counted on its card and kept in the database",
			read: func(v string, p problems) { c.IncidentMaxAlerts = readCount(p, v, 10, 100000) }},
		{env: "MAX_INCIDENTS", def: "200", help: "incidents kept in memory; past it, the firing incident heard from least recently leaves memory, not the database",
			read: func(v string, p problems) { c.MaxIncidents = readCount(p, v, 1, 100000) }},
		{env: "INCIDENT_STALE_AFTER", def: "24h", help: "a firing incident with no alert notification for this long leaves memory, not the database, and says so in its thread",
			read: func(v string, p problems) {
				if d, err := time.ParseDuration(v); err != nil || d < time.Minute {
					p.add("%q is not a duration of a minute or more, such as 24h", v)
				} else {
					c.IncidentStaleAfter = d
				}
			}},
		{env: "LLM_TOKEN_BUDGET_HOURLY", def: "200000", help: "tokens the model may spend in any hour, over every incident; -1 for no limit",
			read: func(v string, p problems) {
				if n, err := strconv.Atoi(v); err != nil || n == 0 || n < -1 {
					p.add("%q is not a positive number of tokens (or -1 for no limit)", v)
				} else {
					c.LLMHourlyBudget = n
				}
			}},
		{env: "LLM_CONCURRENCY", def: "4", help: "requests to the model at once; more wait for their turn",
			read: func(v string, p problems) { c.LLMConcurrency = readCount(p, v, 1, 64) }},
		{env: "RETENTION", def: "90d", help: "how long the raw alert log and card-update events are kept; incidents, their timeline and audit stay for good; 0 keeps everything",
			read: func(v string, p problems) {
				d, err := parseDays(v)
				if err != nil || (d != 0 && d < 24*time.Hour) {
					p.add("%q is not a number of days such as 90d (at least 1d), a duration such as 2160h, or 0 to keep everything", v)
					return
				}
				c.Retention = d
			}},
	}, append(append(c.replicaSettings(), c.reportSettings()...), c.pagingSettings()...)...)
}

// flagName is a variable's flag: GROUP_WAIT → group-wait.
func flagName(env string) string { return strings.ToLower(strings.ReplaceAll(env, "_", "-")) }

// usage is a setting's -h text; flag adds the default when there is one.
func (st setting) usage() string {
	help := st.help
	if st.unset != "" {
		help += " (default: " + st.unset + ")"
	}
	return help + " [$" + st.env + "]"
}

// LoadConfig reads the environment, then flags. It returns every problem at
// once, one sentence each; need says which parts this subcommand requires.
func LoadConfig(name string, args []string, getenv func(string) string, stderr io.Writer, need requirement) (Config, []string, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := c.settings(need)
	raw := make([]string, len(table))
	for i, st := range table {
		v := cmp.Or(getenv(st.env), st.def)
		if st.secret {
			fs.StringVar(&raw[i], flagName(st.env), st.def, st.usage()) // -h shows the default, never the secret
			raw[i] = v
		} else {
			fs.StringVar(&raw[i], flagName(st.env), v, st.usage())
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	var errs []error
	for i, st := range table {
		st.read(strings.TrimSpace(raw[i]), problems{env: st.env, errs: &errs})
	}
	return c, fs.Args(), errors.Join(errs...)
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

// newLogger builds the process logger at LOG_LEVEL: text for people, or
// with LOG_FORMAT=json one JSON object a line for a log pipeline.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
