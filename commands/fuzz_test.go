package commands_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// nopAudit keeps nothing: the fuzzed requests are forgotten.
type nopAudit struct{}

func (nopAudit) Commit(context.Context, runbooks.Request, ...runbooks.AuditEvent) error { return nil }
func (nopAudit) AppendAudit(context.Context, runbooks.AuditEvent) error                 { return nil }
func (nopAudit) OpenRequests(context.Context) ([]runbooks.Request, error)               { return nil, nil }
func (nopAudit) SaveOutcome(context.Context, string, string, string, time.Time) error   { return nil }

var (
	fuzzWorldOnce sync.Once
	fuzzWorld     *world
	fuzzCatalog   *runbooks.Catalog
)

// fuzzHandler answers like the bot's commands do in the Black Friday
// storm: the shipped runbooks, a Prometheus with one series, PROMQL_ALLOW
// set, corrections kept. A new runbook service each time, so that no
// request a fuzzed command opens outlives it.
func fuzzHandler(t *testing.T) (*commands.Handler, *world) {
	fuzzWorldOnce.Do(func() {
		fuzzWorld = newWorld(t)
		cat, err := runbooks.LoadCatalog(filepath.Join("..", "runbooks"), runbooks.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fuzzCatalog = cat
	})
	w := fuzzWorld
	noop := runbooks.RunnerFunc(func(context.Context, runbooks.Job, func(runbooks.TaskResult)) (runbooks.Result, error) {
		return runbooks.Result{Outcome: runbooks.OutcomeSucceeded}, nil
	})
	svc := runbooks.NewService(runbooks.Config{IsService: w.g.Has, Now: func() time.Time { return w.now }}, fuzzCatalog,
		runbooks.NewPolicy([]string{"U0MARCUS"}, nil, nil), noop, nopAudit{}, nil)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("runbook service: %v", err)
		}
	})
	metrics := diagnosis.MetricsFunc(func(_ context.Context, q string, r diagnosis.Range) ([]diagnosis.Series, error) {
		return []diagnosis.Series{{Labels: map[string]string{"__name__": "up", "service": "order-service"},
			Points: []diagnosis.Point{{T: r.Start, V: 1}, {T: r.End, V: 0}}}}, nil
	})
	h := commands.New(commands.Deps{
		Incidents: w, Graph: w.g, Metrics: metrics, Runbooks: svc, Causes: &causeBook{},
		PromQLAllow: regexp.MustCompile(`up|http_requests_total|db_.*`),
		Link:        func(th diagnosis.Thread) string { return "https://emu.slack/archives/" + th.Channel + "/p" + th.TS },
		Now:         func() time.Time { return w.now },
	})
	return h, w
}

// FuzzCommandText types arbitrary text after /diag, /graph, /runbook, an
// unknown command, and as a mention in the storm's thread ("cause X",
// questions), $INC standing for the storm's ID. Every answer is a reply
// or a one-line UsageError of bounded size, and a kept correction names a
// service of the graph or of the storm's alerts.

// replyBound is how much a reply may say beyond twice what was typed.
const replyBound = 64 << 10

func FuzzCommandText(f *testing.F) {
	for _, s := range []string{
		"", "help", "-h", "list", "INC-", "inc-x", "order-service", "Order-Service", "postgres-rds", "order service",
		"INC-0000 cause postgres-rds", "$INC cause postgres-rds", "$inc", "cause postgres-rds", "the root cause was `postgres-rds`.", "root cause: order-service!",
		"cause is what?", "why do you think it is the database?", "what changed in the last hour", "show me a graph of the errors",
		"query", `query sum(rate(http_requests_total{code=~"5.."}[5m])) by (service) 6h`, "query up 9999w", "query up 0m",
		"query {__name__=~\"u.*\"}", "query secret_metric 1h", "query up offset 5m @ start()", "query rate(up[5m] 90m",
		"show RB-DB-001", "show rb-kafka-001", "show", "run", "run RB-DB-001 order-service max_pool=40",
		"run RB-DB-001 order-service checkout-service", "run RB-APP-002 payment-service replicas=x =y",
		"run RB-KAFKA-001 <!channel> <@U0PRIYA> group=\n", "ls extra words here", "\u00a0INC-\u200b",
	} {
		for i := range fuzzCommands[:4] {
			f.Add(uint8(i), s)
		}
		f.Add(uint8(128), s) // /diag in the storm's thread
		f.Add(uint8(129), s) // /graph in the storm's thread
	}
	f.Fuzz(func(t *testing.T, which uint8, text string) {
		h, w := fuzzHandler(t)
		storm := w.order[1]
		text = strings.NewReplacer("$INC", storm, "$inc", strings.ToLower(storm)).Replace(text)
		cmd := fuzzCommands[int(which)%len(fuzzCommands)]
		var (
			r   commands.Reply
			err error
		)
		if cmd == "@nightowl" { // a mention in the incident's thread
			r, _, err = h.Answer(t.Context(), commands.Ask{Incident: storm, User: "U0PRIYA", Text: text})
		} else {
			incident := ""
			if which >= 128 {
				incident = storm
			}
			r, err = h.Handle(t.Context(), commands.Request{Command: cmd, Text: text, User: "U0PRIYA", Channel: "C1", Incident: incident})
		}
		if err != nil {
			var u commands.UsageError
			if !errors.As(err, &u) {
				t.Fatalf("%s %q: %v, want a UsageError", cmd, text, err)
			}
			if u.Msg == "" || strings.ContainsAny(u.Msg+u.Hint, "\r\n") {
				t.Errorf("%s %q: usage %q / %q is not one line", cmd, text, u.Msg, u.Hint)
			}
			if len(u.Msg)+len(u.Hint) > replyBound+2*len(text) {
				t.Errorf("%s %q: a usage error of %d bytes", cmd, text, len(u.Msg)+len(u.Hint))
			}
			return
		}
		if n := len(r.String()); n > replyBound+2*len(text) {
			t.Errorf("%s %q: a reply of %d bytes", cmd, text, n)
		}
		if r.Summary == "" && len(r.Blocks) == 0 {
			t.Errorf("%s %q: an empty reply", cmd, text)
		}
		if c := r.Corrected; c != nil && (c.Incident != storm || !(w.g.Has(c.RootCause) || mentionedBy(w, c.RootCause))) {
			t.Errorf("%s %q: kept the correction %+v", cmd, text, *c)
		}
	})
}

// fuzzCommands are what FuzzCommandText's which picks from.
var fuzzCommands = []string{"/diag", "/graph", "/runbook", "@nightowl", "/weather"}

// mentionedBy reports whether an alert of the storm names service.
func mentionedBy(w *world, service string) bool {
	for _, a := range w.byID[w.order[1]].Alerts {
		if a.NodeOrService() == service || a.Service() == service {
			return true
		}
	}
	return false
}
