package bot

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// An incident's alerts beyond what memory keeps one by one are counted on
// the card and in the thread, and linked to it in the alert log.

func TestAlertsAnIncidentSummarisesAreLinkedToItInTheLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{grouper: func(c *diagnosis.GrouperConfig) { c.MaxAlerts = 3 }})
		var alerts []diagnosis.Alert
		for _, pod := range []string{"a", "b", "c", "d", "e"} {
			alerts = append(alerts, alertOn("KubePodCrashLooping", "order-service", "pod", pod))
		}
		bt.relay(alerts...)
		wait(tGroupWait + time.Second)
		id := bt.live.Open()[0].ID
		bt.store.mu.Lock()
		linked := slices.Clone(bt.store.linked[id])
		bt.store.mu.Unlock()
		slices.Sort(linked)
		want := []string{alerts[3].Fingerprint, alerts[4].Fingerprint}
		slices.Sort(want)
		if !slices.Equal(linked, want) {
			t.Errorf("linked %v to %s, want the two alerts it summarises %v", linked, id, want)
		}
		card := bt.card(t)
		if !strings.Contains(words(card.msg), "5 alerts") {
			t.Errorf("the card says %q, want all 5 alerts counted", card.msg.Text)
		}
	})
}

func TestABurstCountsTheChangesItDoesNotList(t *testing.T) {
	a := alertOn("KubePodCrashLooping", "order-service", "pod", "a")
	u := diagnosis.Update{Kind: diagnosis.Burst, Incident: diagnosis.Incident{ID: "INC-1"},
		Changes:  []diagnosis.Change{{Kind: diagnosis.ChangeNew, Alert: diagnosis.AlertState{Alert: a}}},
		Unlisted: diagnosis.ChangeTally{New: 500, Resolved: 20}}
	got := words(renderBurst(u))
	for _, want := range []string{"501 new alerts", "20 resolved", "… and 520 more"} {
		if !strings.Contains(got, want) {
			t.Errorf("the burst reply says %q, want %q", got, want)
		}
	}
}
