package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestAWrongCauseVoteOffersTheOtherCandidates(t *testing.T) {
	in := blackFridayIncident(t)
	d := unsureDiagnosis(in)
	m := wrongCauseMessage(in.ID, "order-service", d)
	raw, _ := json.Marshal(m.Blocks)
	if err := slackemu.Validate(raw); err != nil {
		t.Fatalf("Slack would reject the answer: %v", err)
	}
	sec, ok := m.Blocks[0].(*slack.SectionBlock)
	if !ok || sec.Accessory == nil || sec.Accessory.SelectElement == nil {
		t.Fatalf("blocks %s, want a section with a menu", raw)
	}
	menu := sec.Accessory.SelectElement
	if menu.ActionID != ActionCausePick {
		t.Errorf("menu action %q, want %q", menu.ActionID, ActionCausePick)
	}
	var got []string
	for _, o := range menu.Options {
		got = append(got, o.Value+" "+o.Text.Text)
	}
	want := []string{"INC-4F2A|postgres-rds postgres-rds (22%)", "INC-4F2A|kafka kafka (8%)", "INC-4F2A|payment-service payment-service (4%)", "INC-4F2A|checkout-service checkout-service"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("options %q, want the other candidates, best first, then the other affected services: %q", got, want)
	}
	if !strings.Contains(m.Text, "`@nightowl cause &lt;service&gt;`") {
		t.Errorf("text %q lacks the mention that names any service", m.Text)
	}
}

func TestTheCauseMenuStaysWithinSlackLimits(t *testing.T) {
	d := diagnosis.Diagnosis{}
	for i := range 40 {
		d.Candidates = append(d.Candidates, diagnosis.Candidate{Service: fmt.Sprintf("service-%02d-%s", i, strings.Repeat("x", 80)), Confidence: 0.01})
	}
	d.Candidates = append(d.Candidates, diagnosis.Candidate{Service: strings.Repeat("y", 200)}, diagnosis.Candidate{Service: "two words"})
	m := wrongCauseMessage("INC-1", "service-00", d)
	raw, _ := json.Marshal(m.Blocks)
	if err := slackemu.Validate(raw); err != nil {
		t.Fatalf("Slack would reject the menu: %v", err)
	}
	opts := m.Blocks[0].(*slack.SectionBlock).Accessory.SelectElement.Options
	if len(opts) != causeOptionsShown {
		t.Errorf("%d options, want %d", len(opts), causeOptionsShown)
	}
	// Nothing to offer: the words alone.
	m = wrongCauseMessage("INC-1", "only", diagnosis.Diagnosis{Candidates: []diagnosis.Candidate{{Service: "only"}}})
	if sec := m.Blocks[0].(*slack.SectionBlock); sec.Accessory != nil || !strings.Contains(m.Text, "Say `@nightowl cause &lt;service&gt;`") {
		t.Errorf("with no other candidate: %+v %q", sec.Accessory, m.Text)
	}
}
