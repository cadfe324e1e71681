package bot

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/golden"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

var at = time.Date(2024, 11, 29, 23, 56, 0, 0, time.UTC)

func blackFridayIncident(tb testing.TB) diagnosis.Incident {
	tb.Helper()
	var msg struct{ Alerts []diagnosis.Alert }
	if err := json.Unmarshal(scenarios.BlackFriday, &msg); err != nil {
		tb.Fatal(err)
	}
	in := diagnosis.Incident{ID: "INC-4F2A", Status: diagnosis.Firing, OpenedAt: at, Scope: diagnosis.Scope{Namespace: "production"},
		Thread: diagnosis.Thread{Channel: "C0INC", TS: "1.000001"}}
	for _, a := range msg.Alerts {
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a, Node: a.Service(), Received: 2})
		in.Received += 2
	}
	return in
}

func diagnose(tb testing.TB, in diagnosis.Incident) diagnosis.Diagnosis {
	e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: graph.Example(), Now: func() time.Time { return at }})
	return e.Diagnose(tb.Context(), in)
}

// mustGolden compares a message's text and blocks with testdata/name.json
// (go test -update rewrites it) and checks that Slack would accept them.
func mustGolden(tb testing.TB, name string, m Message) {
	tb.Helper()
	got, err := json.Marshal(struct {
		Text   string        `json:"text"`
		Blocks []slack.Block `json:"blocks"`
	}{m.Text, m.Blocks})
	if err != nil {
		tb.Fatal(err)
	}
	blocks, _ := json.Marshal(m.Blocks)
	if err := slackemu.Validate(blocks); err != nil {
		tb.Errorf("Slack would reject %s: %v", name, err)
	}
	golden.AssertJSON(tb, filepath.Join("testdata", name+".json"), got)
}

func TestCardGolden(t *testing.T) {
	in := blackFridayIncident(t)
	d := diagnose(t, in)
	cases := []struct {
		name string
		view func() cardView
	}{
		{"card-first-post", func() cardView {
			return cardView{Incident: in, Diagnosis: d, Page: mention("S0ONCALL"), Now: at}
		}},
		{"card-acked-escalated", func() cardView {
			in := in
			in.Ack = diagnosis.Mark{By: "U1", At: at}
			in.Escalation = diagnosis.Mark{By: "U2", At: at}
			return cardView{Incident: in, Diagnosis: d, PagedName: "@oncall", AckName: "priya", EscName: "marcus", Now: at}
		}},
		{"card-model-triage-votes", func() cardView {
			// A model's words are data: a mention or broadcast in them is shown, not sent.
			tr := diagnosis.Triage{Source: "gpt-4o-mini", OneLineSummary: "order-service is out of connections",
				WhatIsHappening: "order-service's pool is full; <!channel> checkout & payment time out.",
				ImmediateAction: "Look at who holds the connections <@U123>.", Steps: []string{"Check the pool", "Consider RB-DB-001"},
				DoNotDo: "Do not restart Postgres.", EstimatedResolution: "15-30 minutes", EscalateIf: "the pool stays full 10 more minutes"}
			return cardView{Incident: in, Diagnosis: d, PagedName: "@oncall", Now: at, Triage: &tr, Feedback: true, Up: 2, Down: 1,
				Costs: diagnosis.Usage{Model: "gpt-4o-mini", Calls: 3, PromptTokens: 2400, CompletionTokens: 310, Latency: 4200 * time.Millisecond}}
		}},
		{"card-rules-triage", func() cardView {
			tr := diagnosis.RulesTriage(in, d, graph.Example(), &diagnosis.RunbookBrief{ID: "RB-DB-001", Title: "Raise the pool", Risk: "medium", DryRun: true, Timeout: 10 * time.Minute})
			return cardView{Incident: in, Diagnosis: d, Page: mention("S0ONCALL"), Now: at, Triage: &tr, TriageNote: "Triage by nightowl's rules; gpt-4o-mini is writing its own", Feedback: true}
		}},
		{"card-no-graph", func() cardView {
			e := diagnosis.NewEngine(diagnosis.EngineConfig{Now: func() time.Time { return at }})
			return cardView{Incident: in, Diagnosis: e.Diagnose(t.Context(), in), Page: mention("S0ONCALL"), Now: at}
		}},
		{"card-links-silenced", func() cardView {
			// Links to the alert's query, Alertmanager and Grafana; a silence
			// that holds, and no Silence menu while it does.
			top, _ := d.Top()
			s := SilenceRecord{ID: "5e1", Incident: in.ID, CreatedBy: "U1", StartsAt: at, EndsAt: at.Add(4 * time.Hour)}
			return cardView{Incident: in, Diagnosis: d, PagedName: "@oncall", Now: at, Silencing: true, Silence: &s, SilencedBy: "priya",
				Links: incidentLinks(in, top.Service, "http://alertmanager.example:9093", "https://grafana.example/d/shop?orgId=1", at)}
		}},
		{"card-silence-menu", func() cardView {
			return cardView{Incident: in, Diagnosis: d, PagedName: "@oncall", Now: at, Silencing: true}
		}},
		{"card-resolved", func() cardView {
			in := in
			in.Status, in.ResolvedAt = diagnosis.Resolved, at.Add(9*time.Minute)
			return cardView{Incident: in, Diagnosis: d, PagedName: "@oncall", Now: at.Add(time.Hour)}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mustGolden(t, tc.name, renderCard(tc.view())) })
	}
}

func TestBurstGolden(t *testing.T) {
	in := blackFridayIncident(t)
	u := diagnosis.Update{Kind: diagnosis.Burst, Incident: in, Repeats: 4}
	for _, a := range in.Alerts[5:12] {
		u.Changes = append(u.Changes, diagnosis.Change{Kind: diagnosis.ChangeNew, Alert: a})
	}
	u.Changes = append(u.Changes, diagnosis.Change{Kind: diagnosis.ChangeResolved, Alert: in.Alerts[0]})
	mustGolden(t, "burst", renderBurst(u))
}

func TestOnlyTheFirstPostMentionsAnyone(t *testing.T) {
	in := blackFridayIncident(t)
	d := diagnose(t, in)
	tr := diagnosis.Triage{Source: "m", ImmediateAction: "tell <!here> and <@U9>", Steps: []string{"<!subteam^S1>"}, WhatIsHappening: "<@U8>"}
	first := renderCard(cardView{Incident: in, Diagnosis: d, Page: mention("U0ONCALL"), Now: at, Triage: &tr})
	later := renderCard(cardView{Incident: in, Diagnosis: d, PagedName: "@oncall", AckName: "x", Now: at, Triage: &tr})
	count := func(m Message) int {
		raw, _ := json.Marshal(m.Blocks)
		var generic any
		if err := json.Unmarshal(raw, &generic); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(generic); err != nil {
			t.Fatal(err)
		}
		all := m.Text + b.String()
		// <!date^…> shows a time in the reader's zone: no mention.
		return strings.Count(all, "<@") + strings.Count(all, "<!") - strings.Count(all, "<!date^")
	}
	if count(first) != 1 || count(later) != 0 {
		t.Errorf("mentions: first post %d, update %d; want 1 and 0", count(first), count(later))
	}
}

func TestHugeBurstsStayWithinSlackLimits(t *testing.T) {
	in := diagnosis.Incident{ID: "INC-BIG", Status: diagnosis.Firing}
	u := diagnosis.Update{Kind: diagnosis.Burst, Incident: in}
	for i := range 5000 {
		a := diagnosis.Alert{Status: diagnosis.Firing, Labels: map[string]string{"alertname": strings.Repeat("X", 200), "service": "svc"},
			Annotations: map[string]string{"summary": strings.Repeat("é", 500)}, Fingerprint: string(rune(i))}
		u.Changes = append(u.Changes, diagnosis.Change{Kind: diagnosis.ChangeNew, Alert: diagnosis.AlertState{Alert: a}})
	}
	m := renderBurst(u)
	blocks, _ := json.Marshal(m.Blocks)
	if err := slackemu.Validate(blocks); err != nil {
		t.Errorf("Slack would reject a 5,000-alert burst: %v", err)
	}
	if !strings.Contains(string(blocks), "more, all recorded") {
		t.Errorf("the reply does not say how many alerts it left out")
	}
}

func TestEscapeMakesMentionsInert(t *testing.T) {
	cases := []struct{ in, want string }{
		{"<!channel> & <@U1>", "&lt;!channel&gt; &amp; &lt;@U1&gt;"},
		{"plain", "plain"},
	}
	for _, c := range cases {
		if got := escape(c.in); got != c.want {
			t.Errorf("escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := code("a`b *c*\nd"); got != "`aˋb *c* d`" {
		t.Errorf("code() = %q", got)
	}
	if got := truncate("abc&amp;def", 6); got != "abc…" {
		t.Errorf("truncate cut an entity in half: %q", got)
	}
}
