package commands

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// Request is one command as someone typed it.
type Request struct {
	Command string // "/diag", "/graph", "/runbook"
	Text    string
	User    string
	Channel string
	// Incident is the incident implied by where the command was typed (an
	// incident thread), "" when none.
	Incident string
}

// Incidents is what commands know of incidents; the bot answers from its
// live state and the store.
type Incidents interface {
	// Open lists open and recently resolved incidents, newest first.
	Open() []diagnosis.Incident
	// Find returns an incident and its latest diagnosis.
	Find(ctx context.Context, id string) (diagnosis.Incident, diagnosis.Diagnosis, bool)
}

// Graphs is the service graph in effect: a *graph.Graph, or the
// *graph.Current a refresh swaps, whose snapshot also says where each edge
// came from and how fresh it is. Each command reads it once.
type Graphs interface {
	Graph() *graph.Graph
}

// provenance is what a *graph.Current adds to Graphs.
type provenance interface {
	Load() *graph.Snapshot
}

// Deps are what the commands work with.
type Deps struct {
	Incidents Incidents
	// Graph is the service graph; nil: the empty graph.
	Graph Graphs
	// Metrics answers /graph query; nil means no Prometheus.
	Metrics diagnosis.Metrics
	// PromQLAllow, when set, is the metric names /graph query and the
	// model's query_prometheus may read (a whole-name match); a query that
	// names another metric, or whose metrics cannot be told, is refused.
	PromQLAllow *regexp.Regexp
	// Runbooks is the approval flow; nil means no catalog.
	Runbooks *runbooks.Service
	// Explainer answers follow-up questions in words; nil means the intent
	// matcher answers.
	Explainer diagnosis.Explainer
	// Withhold names the labels and annotations whose values must never
	// reach a model (REDACT_LABELS and secret-looking names): the text a
	// model reads about alerts and series leaves them out whole. Nil
	// withholds nothing.
	Withhold func(name string) bool
	// Link makes a link to an incident's card ("" when it has none).
	Link func(diagnosis.Thread) string
	// Causes keeps people's corrections of root causes; nil means they
	// are not kept.
	Causes Causes
	// Record answers /diag report and /diag timeline; nil means there is
	// no record to read.
	Record oncall.Record
	// Loc is the time zone of reports and timelines (TZ); nil is UTC.
	Loc *time.Location
	// OnCall is who a page counts for when the record names nobody.
	OnCall string
	// Names shows a user ID as a name, without mentioning anyone.
	Names  func(ctx context.Context, user string) string
	Now    func() time.Time
	Logger *slog.Logger
}

// Handler answers commands.
type Handler struct {
	d   Deps
	log *slog.Logger
	// snap and g are the graph one command reads (pin), never changing
	// while it answers.
	snap *graph.Snapshot
	g    *graph.Graph
}

// New returns a Handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Link == nil {
		d.Link = func(diagnosis.Thread) string { return "" }
	}
	if d.Names == nil {
		d.Names = func(_ context.Context, u string) string { return u }
	}
	if d.Loc == nil {
		d.Loc = time.UTC
	}
	if d.Withhold == nil {
		d.Withhold = func(string) bool { return false }
	}
	h := &Handler{d: d, log: d.Logger.With("component", "commands")}
	return h.pin()
}

// pin is the handler for one command: the graph in effect read once, so a
// refresh that swaps it meanwhile cannot mix two versions in one answer.
func (h *Handler) pin() *Handler {
	c := *h
	switch src := h.d.Graph.(type) {
	case provenance:
		c.snap = src.Load()
	case nil:
		c.snap = &graph.Snapshot{}
	default:
		c.snap = &graph.Snapshot{Graph: src.Graph()}
	}
	if c.snap.Graph == nil {
		c.snap.Graph, _ = graph.New(nil)
	}
	c.g = c.snap.Graph
	return &c
}

// Commands are the slash commands this package answers.
var Commands = []string{"/diag", "/graph", "/runbook"}

// Handle answers one command. A UsageError is the asker's mistake and is
// shown to them; any other error is nightowl's and is logged by the caller.
func (h *Handler) Handle(ctx context.Context, r Request) (Reply, error) {
	h = h.pin()
	args := fields(r.Text)
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		return help(r.Command), nil
	}
	switch r.Command {
	case "/diag":
		return h.diag(ctx, r, args)
	case "/graph":
		return h.graph(ctx, r, args)
	case "/runbook":
		return h.runbook(ctx, r, args)
	}
	return Reply{}, usage("nightowl answers /diag, /graph and /runbook.", "nightowl does not know %s.", r.Command)
}

// fields splits command text at spaces; Slack sends it as typed.
func fields(s string) []string { return strings.Fields(strings.TrimSpace(s)) }

func isIncidentID(s string) bool {
	return strings.HasPrefix(strings.ToUpper(s), "INC-") && len(s) > 4
}

// openIDs lists the open incidents' IDs for "did you mean" answers.
func (h *Handler) openIDs() string {
	var ids []string
	for _, in := range h.d.Incidents.Open() {
		if in.Status == diagnosis.Firing {
			ids = append(ids, in.ID)
		}
	}
	switch {
	case len(ids) == 0:
		return "there are no open incidents"
	case len(ids) > 5:
		return "open ones: " + strings.Join(ids[:5], ", ") + " …"
	}
	return "open ones: " + strings.Join(ids, ", ")
}

// findIncident looks an incident up, or says in one sentence why not.
func (h *Handler) findIncident(ctx context.Context, id string) (diagnosis.Incident, diagnosis.Diagnosis, error) {
	id = strings.ToUpper(id)
	in, d, ok := h.d.Incidents.Find(ctx, id)
	if !ok {
		return in, d, usage("", "No incident %s; %s.", id, h.openIDs())
	}
	return in, d, nil
}

// lookupService resolves a service name or alias, or says which ones exist.
func (h *Handler) lookupService(name string) (string, error) {
	if n, ok := h.g.Lookup(name); ok {
		return n, nil
	}
	if n, ok := h.g.Lookup(strings.ToLower(name)); ok {
		return n, nil
	}
	var near []string
	for _, n := range h.g.Names() {
		if strings.Contains(n, strings.ToLower(name)) || strings.Contains(strings.ToLower(name), n) {
			near = append(near, n)
		}
	}
	hint := "Try /graph help, or a service of the graph."
	if len(near) > 0 {
		hint = "Did you mean " + strings.Join(near[:min(3, len(near))], ", ") + "?"
	}
	return "", usage(hint, "No service %q in the service graph.", name)
}

// incidentOf finds the open incident that involves a service.
func (h *Handler) incidentOf(service string) (diagnosis.Incident, bool) {
	for _, in := range h.d.Incidents.Open() {
		if in.Status != diagnosis.Firing {
			continue
		}
		if slices.Contains(in.Nodes(), service) {
			return in, true
		}
	}
	return diagnosis.Incident{}, false
}

func help(command string) Reply {
	lines := map[string][]Line{
		"/diag": {
			line(code("/diag"), text(" — the open incidents, newest first, with links to their cards")),
			line(code("/diag INC-4F2A"), text(" — the full diagnosis: candidates, evidence, history")),
			line(code("/diag order-service"), text(" — a service: its open alerts, its dependencies and dependents, its incident")),
			line(code("/diag INC-4F2A cause postgres-rds"), text(" — say what the root cause was: similar incidents learn from it")),
			line(code("/diag report 7d payments"), text(" — on-call health over 7d or 30d, for one team or all: pages, MTTA, MTTR, night pages, noisy alerts and their fixes, with charts")),
			line(code("/diag timeline INC-4F2A"), text(" — the incident's timeline as a postmortem draft in Markdown, ready to paste")),
			line(text("In an incident's thread, mention the bot instead: "), code("@nightowl diag"), text(", "), code("@nightowl cause postgres-rds"), text(" (Slack does not tell bots which thread a slash command came from).")),
		},
		"/graph": {
			line(code("/graph order-service"), text(" — a picture of the service's neighbourhood: what it calls, what calls it, alert states, the root cause; where each edge came from")),
			line(code(`/graph query sum(rate(http_requests_total{code=~"5.."}[5m])) by (service) 6h`), text(" — a chart of a PromQL query over a range (default 1h, up to 7d)")),
		},
		"/runbook": {
			line(code("/runbook list"), text(" — every runbook: ID, title, risk")),
			line(code("/runbook show RB-DB-001"), text(" — what it does, its playbook, parameters, risk, who may approve")),
			line(code("/runbook run RB-DB-001 order-service replicas=4"), text(" — ask to run it: opens the same approval request as the card's Approve button, in the incident's thread when the service is in one")),
		},
	}
	var blocks []Block
	for _, c := range Commands {
		if command != "" && c != command {
			continue
		}
		blocks = append(blocks, Block{Heading: c, Lines: lines[c]})
	}
	return Reply{Summary: "How to use " + command, Blocks: blocks}
}
