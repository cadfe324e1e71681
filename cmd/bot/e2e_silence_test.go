package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// amNotices records Alertmanager's webhook notifications, counted by
// alert name (the group's), each with the instances it listed.
type amNotices struct {
	mu   sync.Mutex
	byGr map[string][]string
}

func mustWebhookReceiver(t *testing.T) (*amNotices, string) {
	t.Helper()
	n := &amNotices{byGr: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			GroupLabels map[string]string `json:"groupLabels"`
			Alerts      []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var inst []string
		for _, a := range msg.Alerts {
			inst = append(inst, a.Labels["instance"])
		}
		n.mu.Lock()
		n.byGr[msg.GroupLabels["alertname"]] = append(n.byGr[msg.GroupLabels["alertname"]], strings.Join(inst, ","))
		n.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return n, srv.URL
}

func (n *amNotices) of(alertname string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.byGr[alertname]...)
}

// waitNotified waits until alertname's group was notified more than after times.
func (n *amNotices) waitNotified(t *testing.T, alertname string, after int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(n.of(alertname)) <= after {
		if time.Now().After(deadline) {
			t.Fatalf("%s was notified %d times, want more than %d", alertname, len(n.of(alertname)), after)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// silenceAlertmanagerConfig relays DatabaseConnectionsHigh to Slack (with
// nightowl's template) and to the webhook, and DiskFull to the webhook only.
func silenceAlertmanagerConfig(t *testing.T, hook, webhook string) []byte {
	t.Helper()
	tmpl, err := filepath.Abs(filepath.Join("..", "..", "deploy", "alertmanager", "slack.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	slack := map[string]any{"api_url": hook, "send_resolved": true, "title": `{{ template "nightowl.title" . }}`,
		"text": `{{ template "nightowl.text" . }}`, "fallback": `{{ template "nightowl.fallback" . }}`}
	wh := []map[string]any{{"url": webhook, "send_resolved": false}}
	cfg := map[string]any{
		"templates": []string{tmpl},
		"route": map[string]any{
			"receiver": "slack", "group_by": []string{"alertname", "service"},
			"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h",
			"routes": []map[string]any{{"matchers": []string{`alertname="DiskFull"`}, "receiver": "webhook"}},
		},
		"receivers": []map[string]any{
			{"name": "slack", "slack_configs": []map[string]any{slack}, "webhook_configs": wh},
			{"name": "webhook", "webhook_configs": wh},
		},
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// amSilence is a silence as Alertmanager's API v2 lists it.
type amSilence struct {
	ID     string `json:"id"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
	Matchers []struct {
		Name    string `json:"name"`
		Value   string `json:"value"`
		IsRegex bool   `json:"isRegex"`
		IsEqual bool   `json:"isEqual"`
	} `json:"matchers"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	EndsAt    time.Time `json:"endsAt"`
}

func mustSilences(t *testing.T, am *testbed.Alertmanager) []amSilence {
	t.Helper()
	resp, err := http.Get(am.URL + "/api/v2/silences")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []amSilence
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestASilenceFromTheCardMutesItsGroupInAlertmanagerUntilExpired: Silence
// 1 hour on a card creates a silence in the real Alertmanager matching the
// incident's alerts, posted in the thread with who and until when; the
// group's next notification is suppressed while another group's is not;
// Expire silence in the thread ends it and the group notifies again.
func TestASilenceFromTheCardMutesItsGroupInAlertmanagerUntilExpired(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	got, webhook := mustWebhookReceiver(t)
	am := testbed.MustStartAlertmanager(t, silenceAlertmanagerConfig(t, hook, webhook))
	MustRunNightowl(t, emu, filepath.Join(t.TempDir(), "bot.db"), map[string]string{"ALERTMANAGER_URL": am.URL})

	now := time.Now().Add(-time.Minute)
	db := func(i string) diagnosis.Alert {
		return alertOn("DatabaseConnectionsHigh", "postgres-rds", "critical", now, "instance", "db-"+i)
	}
	disk := func(i string) diagnosis.Alert {
		return alertOn("DiskFull", "warehouse", "warning", now, "instance", "disk-"+i)
	}
	am.MustPostAlerts(t, []diagnosis.Alert{db("1"), disk("1")})
	var card slackemu.Message
	MustWait(t, emu, 30*time.Second, "the card", func() bool {
		ms := emu.Messages(chIncidents)
		if len(ms) > 0 {
			card = ms[0]
		}
		return len(ms) > 0 && strings.Contains(string(ms[0].Blocks), bot.ActionSilence)
	})
	got.waitNotified(t, "DatabaseConnectionsHigh", 0)
	got.waitNotified(t, "DiskFull", 0)
	id := incidentOf(card)

	press(t, emu, slackemu.Click{User: uOnCall, MessageTS: card.TS, ActionID: bot.ActionSilence, Value: id + "|1h"})
	var reply slackemu.Message
	MustWait(t, emu, 20*time.Second, "the silence in the thread", func() bool {
		for _, r := range emu.Replies(chIncidents, card.TS) {
			if strings.Contains(r.Text, "silenced") && strings.Contains(string(r.Blocks), bot.ActionSilenceExpire) {
				reply = r
				return true
			}
		}
		return false
	})
	if !strings.Contains(reply.Text, "<!date^") {
		t.Errorf("the thread says %q, want the end as a <!date^…> token", reply.Text)
	}
	sils := mustSilences(t, am)
	if len(sils) != 1 || sils[0].Status.State != "active" {
		t.Fatalf("Alertmanager holds %+v, want one active silence", sils)
	}
	s := sils[0]
	matchers := map[string]string{}
	for _, m := range s.Matchers {
		if !m.IsEqual || m.IsRegex {
			t.Errorf("matcher %+v, want an equality", m)
		}
		matchers[m.Name] = m.Value
	}
	if matchers["alertname"] != "DatabaseConnectionsHigh" || matchers["service"] != "postgres-rds" || matchers["namespace"] != "prod" {
		t.Errorf("matchers %v, want the incident's alertname, service and namespace", matchers)
	}
	if s.CreatedBy == "" || s.CreatedBy == uOnCall || !strings.Contains(s.Comment, id) {
		t.Errorf("createdBy %q, comment %q: want the person's name and the incident", s.CreatedBy, s.Comment)
	}
	if d := time.Until(s.EndsAt); d < 55*time.Minute || d > 61*time.Minute {
		t.Errorf("the silence ends in %v, want an hour", d)
	}
	MustWait(t, emu, 10*time.Second, "the card to say it is silenced", func() bool {
		m, _ := emu.Message(chIncidents, card.TS)
		return strings.Contains(string(m.Blocks), "Silenced by")
	})

	// The next notification of the silenced group is suppressed; the
	// other group's goes out.
	nDB, nDisk := len(got.of("DatabaseConnectionsHigh")), len(got.of("DiskFull"))
	am.MustPostAlerts(t, []diagnosis.Alert{db("2"), disk("2")})
	got.waitNotified(t, "DiskFull", nDisk)
	time.Sleep(3 * time.Second) // three group intervals
	if n := len(got.of("DatabaseConnectionsHigh")); n != nDB {
		t.Fatalf("the silenced group was notified %d more times: %q", n-nDB, got.of("DatabaseConnectionsHigh"))
	}

	press(t, emu, slackemu.Click{User: uLead, MessageTS: reply.TS, ActionID: bot.ActionSilenceExpire})
	MustWait(t, emu, 20*time.Second, "the expiry in the thread", func() bool {
		return repliesWith(emu, chIncidents, card.TS, "expired the silence") == 1
	})
	if sils := mustSilences(t, am); len(sils) != 1 || sils[0].Status.State != "expired" {
		t.Fatalf("Alertmanager holds %+v, want the silence expired", sils)
	}
	am.MustPostAlerts(t, []diagnosis.Alert{db("3")})
	got.waitNotified(t, "DatabaseConnectionsHigh", nDB)
	if last := got.of("DatabaseConnectionsHigh"); !strings.Contains(last[len(last)-1], "db-3") {
		t.Errorf("after the expiry the group notified %q, want db-3 listed", last)
	}
	MustWait(t, emu, 10*time.Second, "the card to drop the silence", func() bool {
		m, _ := emu.Message(chIncidents, card.TS)
		return !strings.Contains(string(m.Blocks), "Silenced by")
	})
}
