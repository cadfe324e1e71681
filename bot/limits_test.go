package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

func TestTruncateCountsAsSlackDoes(t *testing.T) {
	cases := []struct {
		name, in string
		n        int
		want     string
	}{
		{"a short string stays", "abc", 3, "abc"},
		{"a long one ends with an ellipsis", "abcdef", 4, "abc…"},
		{"an emoji counts two, as in UTF-16", "😀😀😀", 5, "😀😀…"},
		{"an emoji is never split", "a😀😀", 3, "a…"},
		{"an entity is never split", "abc&amp;def", 6, "abc…"},
		{"a whole entity stays", "a&lt;bcdef", 6, "a&lt;…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := truncate(tc.in, tc.n)
			if got != tc.want || slackLen(got) > tc.n {
				t.Errorf("truncate(%q, %d) = %q (%d units), want %q", tc.in, tc.n, got, slackLen(got), tc.want)
			}
		})
	}
}

// huge is a label value of n characters with everything that grows when
// escaped or counted as Slack does: mentions, entities, emoji.
func huge(prefix string, n int) string {
	s := prefix + " <!channel> <@U0EVIL> & "
	for len([]rune(s)) < n {
		s += "😀x<y>"
	}
	return string([]rune(s)[:n])
}

// hugeIncident is a firing incident whose alerts carry 5,000-character
// labels and annotations everywhere a card or a thread reply shows one.
func hugeIncident() diagnosis.Incident {
	in := diagnosis.Incident{ID: "INC-HUGE", Status: diagnosis.Firing, OpenedAt: at,
		Scope: diagnosis.Scope{Cluster: huge("cluster", 5000), Namespace: huge("ns", 5000)}}
	for i, svc := range []string{huge("svc-a", 5000), huge("svc-b", 5000)} {
		a := diagnosis.Alert{Fingerprint: string(rune('a' + i)), Status: diagnosis.Firing, StartsAt: at.Add(time.Duration(i) * time.Minute),
			Labels: map[string]string{"alertname": huge("Alert", 5000), "service": svc, "namespace": huge("ns", 5000), "severity": "critical",
				"runbook": huge("RB-", 5000), "root_cause_candidate": "true", "instance": huge("host", 5000)},
			Annotations: map[string]string{"summary": huge("summary", 5000)}}
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a, Node: svc, Received: 1})
		in.Received++
	}
	return in
}

func mustValid(tb testing.TB, what string, m Message) {
	tb.Helper()
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		tb.Fatal(err)
	}
	if err := slackemu.Validate(raw); err != nil {
		tb.Errorf("Slack would reject %s: %v", what, err)
	}
	if slackLen(m.Text) > maxSectionText {
		tb.Errorf("%s: notification text of %d characters", what, slackLen(m.Text))
	}
	for _, b := range m.Blocks {
		act, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		for _, e := range act.Elements.ElementSet {
			if btn, ok := e.(*slack.ButtonBlockElement); ok && len(btn.Value) > 100 {
				tb.Errorf("%s: button %s carries a value of %d bytes, want IDs only", what, btn.ActionID, len(btn.Value))
			}
		}
	}
}

// TestNoLabelMakesACardInvalid renders every card and thread reply of an
// incident whose labels are 5,000 characters long: Slack must accept each.
func TestNoLabelMakesACardInvalid(t *testing.T) {
	in := hugeIncident()
	d := diagnose(t, in)
	name := huge("priya", 5000)
	triage := diagnosis.Triage{Source: huge("model", 5000), WhatIsHappening: huge("what", 5000), ImmediateAction: huge("do", 5000),
		Steps: []string{huge("step", 5000), huge("step", 5000)}, DoNotDo: huge("dont", 5000), EscalateIf: huge("esc", 5000)}
	unsure := d
	unsure.Unsure, unsure.Explanation = true, []string{huge("root-a", 5000), huge("root-b", 5000)}
	for i := range unsure.Candidates {
		unsure.Candidates[i].Evidence = []string{huge("evidence", 5000), huge("evidence", 5000)}
		unsure.Candidates[i].Check = huge("check", 5000)
	}
	unsure.Changes = []diagnosis.ChangeEvent{{Text: huge("change", 5000)}, {Text: huge("change", 5000)}}
	resolved := in
	resolved.Status, resolved.ResolvedAt = diagnosis.Resolved, at.Add(time.Hour)
	acked := in
	acked.Ack, acked.Escalation = diagnosis.Mark{By: "U1", At: at}, diagnosis.Mark{By: "U2", At: at}
	cases := []struct {
		name string
		v    cardView
	}{
		{"the first post", cardView{Incident: in, Diagnosis: d, Page: mention("U0ONCALL"), Now: at, Feedback: true, Triage: &triage}},
		{"an update, acknowledged, escalated, with a run and a correction", cardView{Incident: acked, Diagnosis: d, PagedName: name, AckName: name, EscName: name,
			Now: at, Feedback: true, Up: 3, Down: 1, Triage: &triage, TriageNote: huge("note", 5000),
			Run: &runbooks.Request{ID: "RUN-1", Runbook: huge("RB-", 5000), State: runbooks.StatePending}, RunBy: name,
			Correction: &diagnosis.Correction{RootCause: huge("cause", 5000)}, CorrectedBy: name}},
		{"unsure, with two roots and changes", cardView{Incident: in, Diagnosis: unsure, PagedName: name, Now: at, Feedback: true}},
		{"unverified", cardView{Incident: in, Diagnosis: d, Now: at, Feedback: true, Unverified: true, VerifyNote: huge("note", 5000)}},
		{"resolved", cardView{Incident: resolved, Diagnosis: d, PagedName: name, Now: at.Add(2 * time.Hour), Feedback: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mustValid(t, "the card", renderCard(tc.v)) })
	}

	u := diagnosis.Update{Kind: diagnosis.Opened, Incident: in}
	for _, a := range in.Alerts {
		u.Changes = append(u.Changes, diagnosis.Change{Kind: diagnosis.ChangeNew, Alert: a})
	}
	mustValid(t, "the first thread reply", renderBurst(u))
	mustValid(t, "the closing reply", renderClosing(acked, d, at.Add(time.Hour), name, name))
	mustValid(t, "the 👎 answer", wrongCauseMessage(in.ID, huge("svc-a", 5000), d))
}

// TestAVoteMeansTheCandidateTheVoterSaw: the vote buttons name the
// candidate by a short reference, which finds it among the candidates.
func TestAVoteMeansTheCandidateTheVoterSaw(t *testing.T) {
	in := hugeIncident()
	d := diagnose(t, in)
	top, _ := d.Top()
	m := renderCard(cardView{Incident: in, Diagnosis: d, Now: at, Feedback: true})
	raw, _ := json.Marshal(m.Blocks)
	if !strings.Contains(string(raw), `"value":"INC-HUGE|`+candidateRef(top.Service)+`"`) {
		t.Errorf("the vote buttons do not name the top candidate by its reference: %s", raw)
	}
	if candidateRef(top.Service) == candidateRef(d.Candidates[1].Service) {
		t.Errorf("two candidates share a reference")
	}
}
