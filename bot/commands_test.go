package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/deploy/golden"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// openIncidents is what the commands know of incidents: the given ones,
// each diagnosed by the Engine at the golden files' clock.
type openIncidents struct {
	tb        testing.TB
	incidents []diagnosis.Incident
}

func (o openIncidents) Open() []diagnosis.Incident { return o.incidents }

func (o openIncidents) Find(_ context.Context, id string) (diagnosis.Incident, diagnosis.Diagnosis, bool) {
	for _, in := range o.incidents {
		if in.ID == id {
			return in, diagnose(o.tb, in), true
		}
	}
	return diagnosis.Incident{}, diagnosis.Diagnosis{}, false
}

// mustReplyGolden compares the body the bot posts to a slash command's
// response_url (Block Kit, as renderReply makes it) with
// testdata/name.json, and checks that Slack would accept its blocks.
func mustReplyGolden(tb testing.TB, name string, r commands.Reply) {
	tb.Helper()
	m := renderReply(r)
	kind := slack.ResponseTypeEphemeral
	if r.Public {
		kind = slack.ResponseTypeInChannel
	}
	got, err := json.Marshal(struct {
		ResponseType string        `json:"response_type"`
		Text         string        `json:"text"`
		Blocks       []slack.Block `json:"blocks"`
	}{kind, m.Text, m.Blocks})
	if err != nil {
		tb.Fatal(err)
	}
	blocks, _ := json.Marshal(m.Blocks)
	if err := slackemu.Validate(blocks); err != nil {
		tb.Errorf("Slack would reject %s: %v", name, err)
	}
	golden.AssertJSON(tb, filepath.Join("testdata", name+".json"), got)
}

// TestDiagRepliesGolden: /diag, /diag INC-… and /diag <service> during the
// Black Friday storm, as the asker sees them in Slack.
func TestDiagRepliesGolden(t *testing.T) {
	in := blackFridayIncident(t)
	h := commands.New(commands.Deps{
		Incidents: openIncidents{tb: t, incidents: []diagnosis.Incident{in}},
		Graph:     graph.Example(),
		Link: func(th diagnosis.Thread) string {
			return fmt.Sprintf("https://nightowl-sre.slack.com/archives/%s/p%s", th.Channel, strings.ReplaceAll(th.TS, ".", ""))
		},
		Now: func() time.Time { return at.Add(5 * time.Minute) },
	})
	tests := []struct {
		name, text, golden string
		says               []string
	}{
		{"the open incidents link to their cards", "", "diag-open-incidents",
			[]string{"<https://nightowl-sre.slack.com/archives/C0INC/p1000001|INC-4F2A>", "order-service ("}},
		{"an incident's diagnosis names its candidates and evidence", "inc-4f2a", "diag-incident",
			[]string{"*INC-4F2A*", "*1. order-service*", "*Affected: *"}},
		{"a service shows what it calls, what calls it, and its incident", "order-service", "diag-service",
			[]string{"*order-service*", "*It calls*", "*Called by*", "INC-4F2A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := h.Handle(t.Context(), commands.Request{Command: "/diag", Text: tt.text, User: "U0PRIYA", Channel: "C0INC"})
			if err != nil {
				t.Fatal(err)
			}
			blocks, _ := json.Marshal(renderReply(r).Blocks)
			for _, s := range tt.says {
				if !strings.Contains(string(blocks), jsonString(s)) {
					t.Errorf("the reply lacks %q:\n%s", s, blocks)
				}
			}
			mustReplyGolden(t, tt.golden, r)
		})
	}
}

// jsonString is s as it appears inside a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}
