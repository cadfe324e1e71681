package bot

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
)

func TestAResolvedIncidentAsksWhetherItsPageWasActionableAndKeepsTheAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		a := alertOn("ServiceErrorRateHigh", "order-service")
		bt.relay(a)
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		for _, m := range bt.slack.thread(tIncidents, card.ts) {
			if hasButton(m, ActionPageActionable) {
				t.Fatal("the question is asked while the incident fires")
			}
		}
		bt.relay(resolvedAlert(a))
		wait(tGroupWait + time.Second)
		var question fakeMessage
		for _, m := range bt.slack.thread(tIncidents, card.ts) {
			if hasButton(m, ActionPageActionable) && hasButton(m, ActionPageNotActionable) {
				question = m
			}
		}
		if question.ts == "" {
			t.Fatal("no Yes/No question in the resolved incident's thread")
		}
		id := button(t, question, ActionPageNotActionable)
		bt.click(tPriya, question.ts, ActionPageNotActionable, id)
		bt.click(tMarcus, question.ts, ActionPageActionable, button(t, question, ActionPageActionable))

		bt.store.mu.Lock()
		var got []string
		for _, e := range bt.store.events {
			if e.Kind == oncall.EventVerdict {
				got = append(got, e.Incident+" "+e.Actor+" "+e.Detail)
			}
		}
		bt.store.mu.Unlock()
		want := []string{id + " " + tPriya + " not actionable", id + " " + tMarcus + " actionable"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("answers on the record:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		var shown string
		for _, m := range bt.slack.thread(tIncidents, card.ts) {
			if m.ts == question.ts {
				shown = words(m.msg)
			}
		}
		if !strings.Contains(shown, "marcus answered: actionable") {
			t.Errorf("the question shows %s\nwant the latest answer", shown)
		}
		if n := count(bt.store.kinds(), diagnosis.EventResolved); n != 1 {
			t.Errorf("%d resolutions on the record, want 1", n)
		}
	})
}
