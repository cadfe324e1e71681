package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// unsureDiagnosis cannot decide between three causes and may be missing
// the real one; its words carry a broadcast that must stay text.
func unsureDiagnosis(in diagnosis.Incident) diagnosis.Diagnosis {
	return diagnosis.Diagnosis{
		Incident: in.ID, Summary: "not sure", Unsure: true, NoneOfThese: 0.25, RecommendedRunbook: "RB-DB-001",
		AffectedServices: []string{"checkout-service", "order-service", "payment-service", "postgres-rds"},
		Alerts:           diagnosis.AlertCounts{Received: 62, Distinct: 31, Firing: 31, Pages: 1},
		Candidates: []diagnosis.Candidate{
			{Service: "order-service", Confidence: 0.41, Alerts: []string{"DatabaseConnectionPoolExhausted"},
				Evidence: []string{"its alert reports a cause, not a symptom", "3 of 5 other affected services depend on it", "a third line the field leaves out"},
				Check:    "`kubectl rollout history` and order-service's logs since 23:47 UTC"},
			{Service: "postgres-rds", Confidence: 0.22, Evidence: []string{"its callers log <!channel> connection refused"},
				Check: "postgres-rds's connections, locks and slow queries since 23:47 UTC (`/graph postgres-rds`)"},
			{Service: "kafka", Confidence: 0.08, Alerts: []string{"KafkaConsumerLagHigh"}},
			{Service: "payment-service", Confidence: 0.04, Check: "never on the card"},
		},
		Changes: []diagnosis.ChangeEvent{
			{Service: "order-service", Kind: "rollout", Text: "order-service rolled out 4 min before the first alert"},
			{Service: "postgres-rds", Kind: "restart", Text: "postgres-rds restarted 9 min before the first alert <@U0EVIL>"},
			{Service: "checkout-service", Kind: "scale", Text: "checkout-service scaled from 4 to 2 replicas 20 min before the first alert"},
			{Service: "kafka", Kind: "rollout", Text: "kafka rolled out 50 min before the first alert"},
		},
	}
}

// twoRootsDiagnosis is sure, and two independent failures explain it.
func twoRootsDiagnosis(in diagnosis.Incident) diagnosis.Diagnosis {
	d := unsureDiagnosis(in)
	d.Unsure, d.NoneOfThese, d.Changes = false, 0.03, nil
	d.Candidates[0].Confidence, d.Candidates[1].Confidence = 0.72, 0.12
	d.Explanation = []string{"order-service", "kafka"}
	return d
}

func TestCardGoldenWhenUnsureOrTwoRoots(t *testing.T) {
	in := blackFridayIncident(t)
	rb := &diagnosis.RunbookBrief{ID: "RB-DB-001", Title: "Raise the pool", Risk: "medium", DryRun: true, Timeout: 10 * time.Minute}
	unsure := unsureDiagnosis(in)
	tr := diagnosis.RulesTriage(in, unsure, graph.Example(), rb)
	mustGolden(t, "card-unsure", renderCard(cardView{Incident: in, Diagnosis: unsure, Page: mention("S0ONCALL"), Now: at,
		Triage: &tr, TriageNote: "Triage by nightowl's rules", Feedback: true}))

	two := twoRootsDiagnosis(in)
	tr = diagnosis.RulesTriage(in, two, graph.Example(), rb)
	mustGolden(t, "card-two-roots-corrected", renderCard(cardView{Incident: in, Diagnosis: two, PagedName: "@oncall", Now: at,
		Triage: &tr, TriageNote: "Triage by nightowl's rules", Feedback: true, Down: 1,
		Correction: &diagnosis.Correction{Incident: in.ID, RootCause: "kafka", By: "U1", At: at}, CorrectedBy: "priya"}))
}

// cause is the card's cause section: its text and its fields.
func cause(t *testing.T, m Message) (string, []string) {
	t.Helper()
	for _, b := range m.Blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.BlockID == "card-cause" {
			var fields []string
			for _, f := range s.Fields {
				fields = append(fields, f.Text)
			}
			return s.Text.Text, fields
		}
	}
	t.Fatalf("no cause section in %+v", m.Blocks)
	return "", nil
}

func blockText(t *testing.T, m Message, id string) string {
	t.Helper()
	for _, b := range m.Blocks {
		raw, _ := json.Marshal(b)
		if strings.Contains(string(raw), `"block_id":"`+id+`"`) {
			return string(raw)
		}
	}
	return ""
}

func TestAnUnsureCardShowsTheTopThreeSideBySideWithTheirChecks(t *testing.T) {
	in := blackFridayIncident(t)
	d := unsureDiagnosis(in)
	text, fields := cause(t, renderCard(cardView{Incident: in, Diagnosis: d, Now: at}))
	if !strings.Contains(text, "nightowl is not sure of the root cause") || strings.Contains(text, "Likely root cause") {
		t.Errorf("cause text %q, want it to say plainly that nightowl is not sure", text)
	}
	if !strings.Contains(text, "or something nightowl cannot see (25%)") {
		t.Errorf("cause text %q lacks the chance it is none of these", text)
	}
	if len(fields) != 3 {
		t.Fatalf("%d fields, want the top three side by side: %q", len(fields), fields)
	}
	for i, want := range []struct{ service, confidence, check string }{
		{"`order-service`", "41%", "*Check:* `kubectl rollout history` and order-service's logs since 23:47 UTC"},
		{"`postgres-rds`", "22%", "*Check:* postgres-rds's connections, locks and slow queries since 23:47 UTC (`/graph postgres-rds`)"},
		{"`kafka`", "8%", ""},
	} {
		f := fields[i]
		if !strings.Contains(f, want.service) || !strings.Contains(f, want.confidence) || !strings.Contains(f, want.check) {
			t.Errorf("field %d %q, want %s at %s with %q", i, f, want.service, want.confidence, want.check)
		}
	}
	if strings.Contains(fields[0], "a third line") {
		t.Errorf("field %q shows more than %d evidence lines", fields[0], suspectEvidence)
	}
	if strings.Contains(fields[1], "<!channel>") || !strings.Contains(fields[1], "&lt;!channel&gt;") {
		t.Errorf("field %q lets a broadcast through", fields[1])
	}

	// A small chance of "none of these" is not worth a word.
	d.NoneOfThese = 0.1
	if text, _ := cause(t, renderCard(cardView{Incident: in, Diagnosis: d, Now: at})); strings.Contains(text, "cannot see") {
		t.Errorf("cause text %q mentions a 10%% chance of none of these", text)
	}
	// The others line starts after the three shown.
	if others := blockText(t, renderCard(cardView{Incident: in, Diagnosis: d, Now: at}), "card-others"); !strings.Contains(others, "payment-service") || strings.Contains(others, "postgres-rds") {
		t.Errorf("also considered %s, want only what the fields do not show", others)
	}
}

func TestASureCardKeepsItsLayoutAndAddsTheCheck(t *testing.T) {
	in := blackFridayIncident(t)
	d := twoRootsDiagnosis(in)
	d.Explanation = nil
	text, fields := cause(t, renderCard(cardView{Incident: in, Diagnosis: d, Now: at}))
	if len(fields) != 0 || strings.Contains(text, "not sure") {
		t.Errorf("a sure card shows %d fields and %q", len(fields), text)
	}
	want := "*Likely root cause:* `order-service` — `DatabaseConnectionPoolExhausted`\n*Confidence:* 🟡 72%"
	if !strings.HasPrefix(text, want) {
		t.Errorf("cause text %q, want it to start %q", text, want)
	}
	if !strings.HasSuffix(text, "\n*To confirm:* `kubectl rollout history` and order-service's logs since 23:47 UTC") {
		t.Errorf("cause text %q does not end with the top candidate's check", text)
	}
	if strings.Contains(text, "Two independent") {
		t.Errorf("cause text %q names two roots that the diagnosis does not", text)
	}
}

func TestATwoRootCardNamesBothFailuresAndACorrection(t *testing.T) {
	in := blackFridayIncident(t)
	for _, unsure := range []bool{false, true} {
		d := twoRootsDiagnosis(in)
		d.Unsure = unsure
		text, _ := cause(t, renderCard(cardView{Incident: in, Diagnosis: d, Now: at,
			Correction: &diagnosis.Correction{RootCause: "kafka", By: "U1"}, CorrectedBy: "<@U1> priya"}))
		lines := strings.Split(text, "\n")
		if len(lines) < 3 || lines[0] != "✏️ *&lt;@U1&gt; priya says the root cause was* `kafka`" || lines[1] != "*Two independent failures:* `order-service` and `kafka`" {
			t.Errorf("unsure=%v: cause text %q, want the correction, then both roots", unsure, text)
		}
	}
}

func TestTheCardListsAtMostThreeChanges(t *testing.T) {
	in := blackFridayIncident(t)
	m := renderCard(cardView{Incident: in, Diagnosis: unsureDiagnosis(in), Now: at})
	changes := blockText(t, m, "card-changes")
	for _, want := range []string{"order-service rolled out 4 min before the first alert", "postgres-rds restarted", "checkout-service scaled", "… and 1 more"} {
		if !strings.Contains(changes, want) {
			t.Errorf("changes %s lack %q", changes, want)
		}
	}
	if strings.Contains(changes, "kafka rolled out") || strings.Contains(changes, "<@U0EVIL>") {
		t.Errorf("changes %s show a fourth change or a live mention", changes)
	}
	if d := twoRootsDiagnosis(in); blockText(t, renderCard(cardView{Incident: in, Diagnosis: d, Now: at}), "card-changes") != "" {
		t.Error("a card without changes has a changes block")
	}
}

func TestTheCauseSectionStaysWithinSlackLimitsWhateverTheEngineWrites(t *testing.T) {
	in := blackFridayIncident(t)
	huge := strings.Repeat("<é>", 5000)
	for _, unsure := range []bool{false, true} {
		d := unsureDiagnosis(in)
		d.Unsure = unsure
		d.Explanation = []string{huge, huge}
		for i := range d.Candidates {
			d.Candidates[i].Service = "svc-" + huge[:300]
			d.Candidates[i].Evidence = []string{huge, huge, huge}
			d.Candidates[i].Check = huge
			d.Candidates[i].Alerts = []string{huge}
		}
		for range 60 {
			d.Changes = append(d.Changes, diagnosis.ChangeEvent{Text: huge})
		}
		m := renderCard(cardView{Incident: in, Diagnosis: d, Now: at, Correction: &diagnosis.Correction{RootCause: huge}, CorrectedBy: huge})
		raw, _ := json.Marshal(m.Blocks)
		if err := slackemu.Validate(raw); err != nil {
			t.Errorf("unsure=%v: Slack would reject the card: %v", unsure, err)
		}
		text, fields := cause(t, m)
		if !unsure && !strings.Contains(text, "\n*To confirm:* ") {
			t.Errorf("the check was cut from the cause section")
		}
		for _, f := range fields {
			if !strings.Contains(f, "\n*Check:* ") {
				t.Errorf("the check was cut from a field")
			}
		}
	}
}
