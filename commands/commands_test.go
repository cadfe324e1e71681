package commands_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// world is the Black Friday storm grouped into incidents, plus a second,
// unrelated incident that opened later.
type world struct {
	g      *graph.Graph
	engine *diagnosis.Engine
	byID   map[string]diagnosis.Incident
	order  []string // newest first
	now    time.Time
}

func (w *world) Open() []diagnosis.Incident {
	var out []diagnosis.Incident
	for _, id := range w.order {
		out = append(out, w.byID[id])
	}
	return out
}

func (w *world) Find(ctx context.Context, id string) (diagnosis.Incident, diagnosis.Diagnosis, bool) {
	in, ok := w.byID[id]
	if !ok {
		return in, diagnosis.Diagnosis{}, false
	}
	return in, w.engine.Diagnose(ctx, in), true
}

func newWorld(t *testing.T) *world {
	t.Helper()
	g, err := graph.Parse(scenarios.BlackFridayGraph)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := intake.ParseWebhook(scenarios.BlackFriday)
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].StartsAt.Before(alerts[j].StartsAt) })
	last := alerts[len(alerts)-1].StartsAt
	// A later, unrelated incident on the cache.
	alerts = append(alerts, diagnosis.Alert{Status: diagnosis.Firing, StartsAt: last.Add(time.Hour),
		Labels: map[string]string{"alertname": "RedisMemoryHigh", "service": "redis-cache", "severity": "warning"}})
	for i := range alerts {
		alerts[i].Fingerprint = diagnosis.Fingerprint(alerts[i].Labels)
	}
	now := last.Add(time.Hour + 5*time.Minute)
	w := &world{g: g, engine: diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g}), byID: map[string]diagnosis.Incident{}, now: now}
	gr := diagnosis.NewGrouper(diagnosis.GrouperConfig{Graph: g, Now: func() time.Time { return now }}, diagnosis.SinkFunc(func(context.Context, diagnosis.Update) {}))
	gr.Add(alerts...)
	live := gr.Live()
	sort.Slice(live, func(i, j int) bool { return live[i].StartedAt().After(live[j].StartedAt()) })
	for i, in := range live {
		in.Thread = diagnosis.Thread{Channel: "C1", TS: "1700000000.00000" + string(rune('1'+i))}
		w.byID[in.ID] = in
		w.order = append(w.order, in.ID)
	}
	if len(w.order) != 2 {
		t.Fatalf("the storm and the cache alert make %d incidents, want 2", len(w.order))
	}
	return w
}

func (w *world) handler(metrics diagnosis.Metrics) *commands.Handler {
	return commands.New(commands.Deps{
		Incidents: w, Graph: w.g, Metrics: metrics,
		Link: func(th diagnosis.Thread) string { return "https://emu.slack/archives/" + th.Channel + "/p" + th.TS },
		Now:  func() time.Time { return w.now },
	})
}

// plain flattens a reply to its words.
func plain(r commands.Reply) string {
	var b strings.Builder
	b.WriteString(r.Summary + "\n")
	for _, bl := range r.Blocks {
		b.WriteString(bl.Heading + "\n")
		for _, l := range bl.Lines {
			for _, s := range l {
				b.WriteString(s.Text)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestDiagListsOpenIncidentsNewestFirstWithLinks(t *testing.T) {
	w := newWorld(t)
	r, err := w.handler(nil).Handle(t.Context(), commands.Request{Command: "/diag"})
	if err != nil {
		t.Fatal(err)
	}
	lines := r.Blocks[0].Lines
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per open incident:\n%s", len(lines), plain(r))
	}
	for i, id := range w.order {
		if lines[i][0].Text != id || !strings.HasPrefix(lines[i][0].Link, "https://emu.slack/archives/C1/p") {
			t.Errorf("line %d starts with %+v, want a link to %s", i, lines[i][0], id)
		}
	}
	if !strings.Contains(plain(r), "order-service (") {
		t.Errorf("the storm's line does not name its cause:\n%s", plain(r))
	}
}

func TestDiagOfAnIncidentShowsEvidenceAndAffected(t *testing.T) {
	w := newWorld(t)
	storm := w.order[1]
	r, err := w.handler(nil).Handle(t.Context(), commands.Request{Command: "/diag", Text: strings.ToLower(storm)})
	if err != nil {
		t.Fatal(err)
	}
	out := plain(r)
	for _, want := range []string{storm, "1. order-service", "Affected: ", "postgres-rds", "•"} {
		if !strings.Contains(out, want) {
			t.Errorf("the diagnosis lacks %q:\n%s", want, out)
		}
	}
	// In an incident thread, no argument means that incident.
	implied, err := w.handler(nil).Handle(t.Context(), commands.Request{Command: "/diag", Incident: storm})
	if err != nil || plain(implied) != out {
		t.Errorf("in the thread /diag answered differently (%v):\n%s\n---- not\n%s", err, plain(implied), out)
	}
}

func TestDiagOfAServiceShowsItsNeighbours(t *testing.T) {
	w := newWorld(t)
	r, err := w.handler(nil).Handle(t.Context(), commands.Request{Command: "/diag", Text: "order-service"})
	if err != nil {
		t.Fatal(err)
	}
	out := plain(r)
	for _, want := range []string{"postgres-rds", "checkout-service", w.order[1]} {
		if !strings.Contains(out, want) {
			t.Errorf("/diag order-service lacks %q:\n%s", want, out)
		}
	}
}

func TestJunkGetsAUsageErrorThatNamesTheFix(t *testing.T) {
	w := newWorld(t)
	h := w.handler(nil)
	cases := []struct {
		command, text string
		want          []string
	}{
		{"/diag", "INC-NOPE", []string{"No incident INC-NOPE", "open ones: " + w.order[0] + ", " + w.order[1]}},
		{"/diag", "no-such-service", []string{"no-such-service"}},
		{"/diag", "a b c", []string{"takes one incident or service"}},
		{"/graph", ";rm -rf /", []string{"takes one service"}},
		{"/graph", "`whoami`", []string{"whoami"}},
		{"/graph", "query up", []string{"Prometheus"}},
		{"/runbook", "show RB-NOPE-001", []string{"RUNBOOKS_DIR"}},
		{"/frobnicate", "", []string{"/diag, /graph and /runbook"}},
	}
	for _, tc := range cases {
		_, err := h.Handle(t.Context(), commands.Request{Command: tc.command, Text: tc.text})
		var ue commands.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%s %s: %v, want a usage error", tc.command, tc.text, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(ue.Error(), w) {
				t.Errorf("%s %s: %q lacks %q", tc.command, tc.text, ue.Error(), w)
			}
		}
	}
}

// A range used to come back in Go's syntax: "8d" was "192h0m0s".
func TestGraphQueryNamesATooLongRangeAsPeopleWriteIt(t *testing.T) {
	w := newWorld(t)
	h := w.handler(diagnosis.MetricsFunc(func(context.Context, string, diagnosis.Range) ([]diagnosis.Series, error) { return nil, nil }))
	_, err := h.Handle(t.Context(), commands.Request{Command: "/graph", Text: "query up 8d"})
	var ue commands.UsageError
	if !errors.As(err, &ue) || !strings.Contains(ue.Error(), "A range of 8d is too long") {
		t.Errorf("/graph query up 8d: %v, want a usage error saying \"A range of 8d is too long\"", err)
	}
}

func TestHelpNamesEveryForm(t *testing.T) {
	h := newWorld(t).handler(nil)
	for cmd, forms := range map[string][]string{
		"/diag":    {"/diag INC-", "/diag order-service"},
		"/graph":   {"/graph order-service", "/graph query"},
		"/runbook": {"/runbook list", "/runbook show", "/runbook run"},
	} {
		r, err := h.Handle(t.Context(), commands.Request{Command: cmd, Text: "help"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forms {
			if !strings.Contains(plain(r), f) {
				t.Errorf("%s help lacks %q:\n%s", cmd, f, plain(r))
			}
		}
	}
}

func TestGraphOfAServiceIsAPictureWithATextFallback(t *testing.T) {
	h := newWorld(t).handler(nil)
	r, err := h.Handle(t.Context(), commands.Request{Command: "/graph", Text: "order-service"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Picture == nil || len(r.Picture.PNG) < 1000 || !strings.HasPrefix(string(r.Picture.PNG), "\x89PNG") {
		t.Fatalf("no PNG: %+v", r.Picture)
	}
	if r.Picture.Alt == "" || !strings.Contains(plain(r), "postgres-rds") {
		t.Errorf("the text fallback does not describe the neighbourhood:\n%s\nalt: %s", plain(r), r.Picture.Alt)
	}
}

// The intent matcher answers the follow-up questions without a model.
func TestAnswersWithoutAModel(t *testing.T) {
	w := newWorld(t)
	h := w.handler(nil)
	storm := w.order[1]
	cases := []struct{ q, want string }{
		{"why do you think it's the database?", "I think it is order-service"},
		{"why do you think it's the database?", "You asked about postgres-rds (database): it is candidate"},
		{"why do you think it's the database?", "it has no alert of its own"},
		{"what changed in the last hour?", "Nothing changed in the last hour. The incident's timeline"},
		{"what changed in the last hour?", "DatabaseConnectionPoolExhausted started on order-service"},
		{"show me order-service errors", "ServiceErrorRateHigh"},
		{"what is affected?", "checkout-service"},
		{"has this happened before?", "past incident"},
		{"which runbook should I run?", "runbook"},
		{"draw me the graph of checkout", "checkout"},
	}
	for _, tc := range cases {
		r, usage, err := h.Answer(t.Context(), commands.Ask{Incident: storm, Text: tc.q})
		if err != nil {
			t.Errorf("%q: %v", tc.q, err)
			continue
		}
		if usage != (diagnosis.Usage{}) {
			t.Errorf("%q cost %+v without a model", tc.q, usage)
		}
		if !strings.Contains(strings.ToLower(plain(r)), strings.ToLower(tc.want)) {
			t.Errorf("%q: the answer lacks %q:\n%s", tc.q, tc.want, plain(r))
		}
	}
	if _, _, err := h.Answer(t.Context(), commands.Ask{Incident: "INC-GONE", Text: "why"}); err == nil {
		t.Error("a question about an unknown incident was answered")
	}
}

func TestDiagMergeAndSplitHandTheActToTheBot(t *testing.T) {
	w := newWorld(t)
	a, b := w.order[0], w.order[1]
	h := w.handler(nil)
	for _, tc := range []struct {
		name, text string
		want       *commands.Regroup
	}{
		{"merge names the incident merged into", a + " merge " + b, &commands.Regroup{Incident: a, Into: b, By: "U1"}},
		{"merge takes an optional into, in any case", strings.ToLower(a) + " MERGE into " + strings.ToLower(b), &commands.Regroup{Incident: a, Into: b, By: "U1"}},
		{"split names the service", a + " split order-service", &commands.Regroup{Split: true, Incident: a, Service: "order-service", By: "U1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := h.Handle(t.Context(), commands.Request{Command: "/diag", Text: tc.text, User: "U1"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Regroup == nil || *r.Regroup != *tc.want || r.Public {
				t.Errorf("got %+v (public %v), want %+v answered to the asker", r.Regroup, r.Public, tc.want)
			}
		})
	}
	for _, text := range []string{a + " merge", a + " merge " + b + " " + a, a + " merge INC-NOPE", "INC-NOPE split order-service", a + " split", a + " split a b"} {
		t.Run("refused: "+text, func(t *testing.T) {
			_, err := h.Handle(t.Context(), commands.Request{Command: "/diag", Text: text, User: "U1"})
			var ue commands.UsageError
			if !errors.As(err, &ue) || strings.Count(ue.Msg, ".") > 2 {
				t.Errorf("got %v, want a one-sentence usage error", err)
			}
		})
	}
}
