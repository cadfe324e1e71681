package commands_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// causeBook records corrections, as the bot would keep them.
type causeBook struct {
	mu   sync.Mutex
	said []string // "incident cause by"
	err  error
}

func (c *causeBook) CorrectCause(_ context.Context, incident, cause, by string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.said = append(c.said, incident+" "+cause+" "+by)
	return nil
}

// oneIncident is a fixed incident and its diagnosis.
type oneIncident struct {
	in diagnosis.Incident
	d  diagnosis.Diagnosis
}

func (o oneIncident) Open() []diagnosis.Incident { return []diagnosis.Incident{o.in} }
func (o oneIncident) Find(_ context.Context, id string) (diagnosis.Incident, diagnosis.Diagnosis, bool) {
	if id != o.in.ID {
		return diagnosis.Incident{}, diagnosis.Diagnosis{}, false
	}
	return o.in, o.d, true
}

const shopGraph = `services:
  checkout: {depends_on: [orders]}
  orders: {depends_on: [orders-db, kafka]}
  orders-db: {kind: database, aliases: [postgres]}
  kafka: {kind: queue}
`

// mustShop is an incident on the shop graph whose alerts also name a
// service the graph does not know (legacy-billing).
func mustShop(t *testing.T, causes commands.Causes) (*commands.Handler, oneIncident) {
	t.Helper()
	g, err := graph.Parse([]byte(shopGraph))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	in := diagnosis.Incident{ID: "INC-7A1", Status: diagnosis.Firing, OpenedAt: start, Thread: diagnosis.Thread{Channel: "C1", TS: "1700000000.000100"}}
	for _, l := range []map[string]string{
		{"alertname": "HighErrorRate", "service": "checkout"},
		{"alertname": "PoolExhausted", "service": "orders"},
		{"alertname": "InvoiceBacklog", "service": "legacy-billing"},
	} {
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: diagnosis.Alert{Labels: l, Status: diagnosis.Firing, StartsAt: start}, Node: l["service"]})
	}
	d := diagnosis.Diagnosis{Incident: in.ID, Summary: "orders is out of connections",
		Candidates:       []diagnosis.Candidate{{Service: "orders", Confidence: 0.7}, {Service: "orders-db", Confidence: 0.2}},
		AffectedServices: []string{"checkout", "legacy-billing", "orders"}}
	o := oneIncident{in, d}
	h := commands.New(commands.Deps{Incidents: o, Graph: g, Causes: causes, Now: func() time.Time { return start.Add(time.Hour) },
		Names: func(_ context.Context, u string) string { return map[string]string{"U1": "priya"}[u] }})
	return h, o
}

func TestACorrectionIsSaidManyWaysAndLandsInTheIncidentsThread(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ask   func(h *commands.Handler) (commands.Reply, error)
		cause string
	}{
		{"@nightowl cause <service>", func(h *commands.Handler) (commands.Reply, error) {
			r, _, err := h.Answer(t.Context(), commands.Ask{Incident: "INC-7A1", User: "U1", Text: "cause orders-db"})
			return r, err
		}, "orders-db"},
		{"the cause was <alias>", func(h *commands.Handler) (commands.Reply, error) {
			r, _, err := h.Answer(t.Context(), commands.Ask{Incident: "INC-7A1", User: "U1", Text: "the cause was postgres"})
			return r, err
		}, "orders-db"},
		{"Root cause is `<service>`.", func(h *commands.Handler) (commands.Reply, error) {
			r, _, err := h.Answer(t.Context(), commands.Ask{Incident: "INC-7A1", User: "U1", Text: "Root cause is `Kafka`."})
			return r, err
		}, "kafka"},
		{"a service only the alerts name", func(h *commands.Handler) (commands.Reply, error) {
			r, _, err := h.Answer(t.Context(), commands.Ask{Incident: "INC-7A1", User: "U1", Text: "root cause: legacy-billing"})
			return r, err
		}, "legacy-billing"},
		{"/diag INC-… cause <service>", func(h *commands.Handler) (commands.Reply, error) {
			return h.Handle(t.Context(), commands.Request{Command: "/diag", Text: "inc-7a1 cause kafka", User: "U1"})
		}, "kafka"},
		{"@nightowl diag cause <service> in the thread", func(h *commands.Handler) (commands.Reply, error) {
			return h.Handle(t.Context(), commands.Request{Command: "/diag", Text: "cause kafka", User: "U1", Incident: "INC-7A1"})
		}, "kafka"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			book := &causeBook{}
			h, o := mustShop(t, book)
			r, err := tc.ask(h)
			if err != nil {
				t.Fatal(err)
			}
			if want := "INC-7A1 " + tc.cause + " U1"; len(book.said) != 1 || book.said[0] != want {
				t.Errorf("recorded %q, want %q", book.said, want)
			}
			if !r.Public || r.Thread != o.in.Thread {
				t.Errorf("reply public=%v thread=%+v, want it public in the incident's thread %+v", r.Public, r.Thread, o.in.Thread)
			}
			if c := r.Corrected; c == nil || c.Incident != "INC-7A1" || c.RootCause != tc.cause || c.By != "U1" {
				t.Errorf("reply names the correction %+v, want INC-7A1's cause %s by U1, for the bot to redraw the card", c, tc.cause)
			}
			got := strings.TrimSpace(r.String())
			if !strings.HasPrefix(got, "✏️ Noted: priya says the root cause of INC-7A1 was "+tc.cause) || strings.Count(got, "\n") != 0 {
				t.Errorf("reply %q, want one sentence naming who and what", got)
			}
			if tc.cause != "orders" && !strings.Contains(got, "not orders (nightowl's pick)") {
				t.Errorf("reply %q does not say it overrides nightowl's pick", got)
			}
		})
	}
}

func TestWhatIsNotACorrectionRecordsNothing(t *testing.T) {
	book := &causeBook{}
	h, _ := mustShop(t, book)
	for _, q := range []string{"what is the root cause?", "why is the cause orders?", "root cause?", "the cause was probably orders"} {
		if _, _, err := h.Answer(t.Context(), commands.Ask{Incident: "INC-7A1", User: "U1", Text: q}); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
	if len(book.said) != 0 {
		t.Errorf("questions recorded corrections: %q", book.said)
	}
}

func TestACorrectionThatNamesNoServiceSaysWhichOnesAreThere(t *testing.T) {
	book := &causeBook{}
	h, _ := mustShop(t, book)
	for _, tc := range []struct {
		name string
		ask  func() error
		want []string
	}{
		{"an unknown service", func() error {
			_, _, err := h.Answer(t.Context(), commands.Ask{Incident: "INC-7A1", User: "U1", Text: "cause billing"})
			return err
		}, []string{"billing is not a service of the graph or of INC-7A1's alerts: say one of orders, orders-db, checkout, legacy-billing."}},
		{"a cause without an incident", func() error {
			_, err := h.Handle(t.Context(), commands.Request{Command: "/diag", Text: "cause kafka", User: "U1"})
			return err
		}, []string{"Say which incident: /diag INC-… cause kafka"}},
		{"an incident that does not exist", func() error {
			_, err := h.Handle(t.Context(), commands.Request{Command: "/diag", Text: "INC-NOPE cause kafka", User: "U1"})
			return err
		}, []string{"No incident INC-NOPE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ue commands.UsageError
			if err := tc.ask(); !errors.As(err, &ue) {
				t.Fatalf("%v, want a usage error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(ue.Error(), w) {
					t.Errorf("%q lacks %q", ue.Error(), w)
				}
			}
		})
	}
	if len(book.said) != 0 {
		t.Errorf("recorded %q", book.said)
	}

	// Where corrections are not kept, and where keeping one fails.
	h, _ = mustShop(t, nil)
	var ue commands.UsageError
	if _, err := h.Handle(t.Context(), commands.Request{Command: "/diag", Text: "INC-7A1 cause kafka", User: "U1"}); !errors.As(err, &ue) || !strings.Contains(ue.Msg, "not kept") {
		t.Errorf("without a place to keep corrections: %v", err)
	}
	h, _ = mustShop(t, &causeBook{err: errors.New("disk full")})
	if _, err := h.Handle(t.Context(), commands.Request{Command: "/diag", Text: "INC-7A1 cause kafka", User: "U1"}); err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("a failed save: %v, want nightowl's error with its cause", err)
	}
}

func TestDiagOfAnUnsureIncidentShowsChecksChangesAndWhoConfirmedHistory(t *testing.T) {
	_, o := mustShop(t, nil)
	o.d.Unsure, o.d.NoneOfThese = true, 0.3
	o.d.Explanation = []string{"orders", "kafka"}
	o.d.Candidates[0].Check = "`kubectl rollout history` and orders's logs"
	o.d.Changes = []diagnosis.ChangeEvent{{Service: "orders", Kind: "rollout", Text: "orders rolled out 4 min before the first alert"}}
	o.d.History = []diagnosis.HistoryMatch{
		{Incident: "INC-OLD1", Similarity: 0.9, RootCause: "orders-db", Confirmed: diagnosis.ConfirmedByCorrection},
		{Incident: "INC-OLD2", Similarity: 0.8, RootCause: "orders", Confirmed: diagnosis.ConfirmedByRunbook, Runbook: "RB-1", Outcome: "fixed"},
		{Incident: "INC-OLD3", Similarity: 0.7},
	}
	g, _ := graph.Parse([]byte(shopGraph))
	h := commands.New(commands.Deps{Incidents: o, Graph: g})
	r, err := h.Handle(t.Context(), commands.Request{Command: "/diag", Text: "INC-7A1"})
	if err != nil {
		t.Fatal(err)
	}
	out := plain(r)
	for _, want := range []string{
		"Two independent failures: orders and kafka",
		"nightowl is not sure of the root cause: run the checks of these 2 to confirm or rule each out; it may be something nightowl cannot see (30%).",
		"To confirm: `kubectl rollout history` and orders's logs",
		"Changes before the first alert\n• orders rolled out 4 min before the first alert",
		"INC-OLD1 90% alike · root cause orders-db (confirmed by a person's correction)",
		"INC-OLD2 80% alike · root cause orders (confirmed by the runbook that fixed it) · RB-1 fixed",
		"INC-OLD3 70% alike · root cause not confirmed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/diag lacks %q:\n%s", want, out)
		}
	}
	// Sure, it says nothing of doubt.
	o.d.Unsure = false
	r, _ = commands.New(commands.Deps{Incidents: o, Graph: g}).Handle(t.Context(), commands.Request{Command: "/diag", Text: "INC-7A1"})
	if strings.Contains(plain(r), "not sure") {
		t.Errorf("a sure diagnosis says it is not sure:\n%s", plain(r))
	}
}
