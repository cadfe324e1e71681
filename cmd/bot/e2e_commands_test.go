package main

import (
	"bytes"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// commandBed is a running nightowl with one open incident (the Black
// Friday storm's first alerts), runbooks, and optionally a Prometheus.
type commandBed struct {
	emu      *slackemu.Server
	nightowl *running
	card     slackemu.Message
	incident string
	prom     *testbed.Prometheus
	dbPath   string
	env      map[string]string
	storm    []diagnosis.Alert
}

// bedOptions shape a commandBed: a Prometheus with order-service's pool and
// request metrics, more settings, a database seeded before the start, and
// a change to the storm's first alerts.
type bedOptions struct {
	prometheus bool
	env        map[string]string
	seed       func(t *testing.T, dbPath string)
	alerts     func([]diagnosis.Alert) []diagnosis.Alert
}

func mustCommandBed(t *testing.T, withPrometheus bool) *commandBed {
	return mustBed(t, bedOptions{prometheus: withPrometheus})
}

func mustBed(t *testing.T, o bedOptions) *commandBed {
	t.Helper()
	bed := mustRunbookBed(t)
	cb := &commandBed{emu: MustWorkspace(t), dbPath: filepath.Join(t.TempDir(), "bot.db")}
	cb.env = bed.env()
	if o.prometheus {
		now := time.Now().Truncate(time.Minute)
		s := scenarios.Scenario{Start: now.Add(-30 * time.Minute)}
		order := map[string]string{"service": "order-service"}
		s.Metrics = []scenarios.MetricSpec{
			{Name: "db_pool_connections_in_use", Labels: order, Type: scenarios.Gauge,
				Points: []scenarios.MetricPoint{{At: -90 * time.Minute, Value: 20}, {At: 0, Value: 25}, {At: 5 * time.Minute, Value: 95}, {At: 30 * time.Minute, Value: 97}}, Noise: 0.03},
			{Name: "http_requests_total", Labels: map[string]string{"service": "order-service", "code": "200"}, Type: scenarios.Counter,
				Points: []scenarios.MetricPoint{{At: -90 * time.Minute, Value: 100}, {At: 30 * time.Minute, Value: 100}}, Noise: 0.05},
			{Name: "http_requests_total", Labels: map[string]string{"service": "order-service", "code": "500"}, Type: scenarios.Counter,
				Points: []scenarios.MetricPoint{{At: -90 * time.Minute, Value: 0.2}, {At: 0, Value: 0.3}, {At: 5 * time.Minute, Value: 15}, {At: 30 * time.Minute, Value: 18}}, Noise: 0.05},
		}
		cb.prom = testbed.MustStartPrometheus(t, s.OpenMetrics(scenarios.DefaultStep))
		cb.env["PROMETHEUS_URL"] = cb.prom.URL
	}
	for k, v := range o.env {
		cb.env[k] = v
	}
	if o.seed != nil {
		o.seed(t, cb.dbPath)
	}
	hook := MustAlertmanagerHook(cb.emu)
	cb.nightowl = MustRunNightowl(t, cb.emu, cb.dbPath, cb.env)
	cb.storm = stormNow(t)[:8]
	if o.alerts != nil {
		cb.storm = o.alerts(cb.storm)
	}
	MustRelay(t, hook, []string{"namespace"}, cb.storm)
	MustWait(t, cb.emu, 20*time.Second, "the card", func() bool { return len(cb.emu.Messages(chIncidents)) == 1 })
	cb.card = cb.emu.Messages(chIncidents)[0]
	cb.incident = strings.TrimSuffix(strings.Fields(strings.TrimPrefix(cb.card.Text, "🔴 "))[0], ":")
	MustWait(t, cb.emu, 20*time.Second, "the first burst in the thread", func() bool {
		return repliesWith(cb.emu, chIncidents, cb.card.TS, "grouped into "+cb.incident) > 0
	})
	return cb
}

// restart stops nightowl and starts it again on the same database.
func (cb *commandBed) restart(t *testing.T) {
	t.Helper()
	cb.nightowl.stop()
	cb.nightowl = MustRunNightowl(t, cb.emu, cb.dbPath, cb.env)
}

// slash runs a slash command and returns what its asker sees.
func (cb *commandBed) slash(t *testing.T, command, text string) (reply slackemu.Message, ack time.Duration) {
	t.Helper()
	before := len(cb.emu.Ephemerals(uLead))
	beforePublic := len(cb.emu.Messages(chIncidents))
	res, err := cb.emu.SlashCommand(t.Context(), slackemu.SlashCommand{User: uLead, Channel: chIncidents, Command: command, Text: text})
	if err != nil {
		t.Fatalf("%s %s: %v", command, text, err)
	}
	MustWait(t, cb.emu, 15*time.Second, "the answer to "+command+" "+text, func() bool {
		return len(cb.emu.Ephemerals(uLead)) > before || len(cb.emu.Messages(chIncidents)) > beforePublic
	})
	if e := cb.emu.Ephemerals(uLead); len(e) > before {
		return e[len(e)-1], res.AckedAfter
	}
	ms := cb.emu.Messages(chIncidents)
	return ms[len(ms)-1], res.AckedAfter
}

func contentOf(m slackemu.Message) string { return m.Text + " " + string(m.Blocks) }

func TestSlashCommandsAnswerEveryForm(t *testing.T) {
	testbed.MustFindBinary(t, "apt-get install prometheus", "prometheus")
	cb := mustCommandBed(t, true)
	cases := []struct {
		command, text string
		ephemeral     bool
		want          []string
		picture       bool
	}{
		{"/diag", "", true, []string{"Open incidents", cb.incident, "order-service"}, false},
		{"/diag", cb.incident, true, []string{cb.incident, "order-service", "DatabaseConnectionPoolExhausted", "Affected"}, false},
		{"/diag", "order-service", true, []string{"order-service", "Open alerts", "It calls", "postgres-rds", "Called by", "Part of"}, false},
		{"/diag", "INC-NOPE", true, []string{"No incident INC-NOPE", "open ones: " + cb.incident}, false},
		{"/diag", "help", true, []string{"/diag INC-4F2A", "/diag order-service"}, false},
		{"/diag", "one two", true, []string{"takes one incident or service"}, false},
		{"/graph", "order-service", false, []string{"order-service calls", "Alerting"}, true},
		{"/graph", ";rm -rf /", true, []string{"takes one service", ";rm"}, false},
		{"/graph", "no-such-service", true, []string{`No service "no-such-service"`}, false},
		{"/graph", `query max(db_pool_connections_in_use{service="order-service"}) 2h`, false, []string{"series over the last"}, true},
		{"/graph", `query sum(rate(http_requests_total[5m]`, true, []string{"Prometheus could not answer", "parse error"}, false},
		{"/graph", "help", true, []string{"/graph order-service", "/graph query"}, false},
		{"/runbook", "list", true, []string{"RB-DEMO-001", "RB-FAIL-001"}, false},
		{"/runbook", "show RB-DEMO-001", true, []string{"RB-DEMO-001", "demo-touch-file.yml", "demo_dir", "Approval"}, false},
		{"/runbook", "show RB-NOPE-001", true, []string{`No runbook "RB-NOPE-001"`, "RB-DEMO-001"}, false},
		{"/runbook", "run RB-DEMO-001 order-service demo_dir=/etc;reboot", true, []string{"cannot run with these parameters", "demo_dir"}, false},
		{"/runbook", "run RB-DEMO-001 order-service", true, []string{"Run request RUN-", "in the thread of " + cb.incident}, false},
		{"/runbook", "frobnicate", true, []string{`does not know "frobnicate"`}, false},
		{"/runbook", "", true, []string{"/runbook list", "/runbook run"}, false},
	}
	var acks []time.Duration
	for _, tc := range cases {
		t.Run(tc.command+" "+tc.text, func(t *testing.T) {
			files := len(cb.emu.CallLog())
			reply, ack := cb.slash(t, tc.command, tc.text)
			acks = append(acks, ack)
			if reply.Ephemeral != tc.ephemeral {
				t.Errorf("ephemeral=%v, want %v: %s", reply.Ephemeral, tc.ephemeral, reply.Text)
			}
			for _, w := range tc.want {
				if !strings.Contains(contentOf(reply), w) {
					t.Errorf("the answer lacks %q:\n%s", w, contentOf(reply))
				}
			}
			uploads := func() int {
				n := 0
				for _, c := range cb.emu.CallLog()[files:] {
					if c.Method == "files.completeUploadExternal" && c.OK {
						n++
					}
				}
				return n
			}
			if tc.picture {
				MustWait(t, cb.emu, 15*time.Second, "the picture", func() bool { return uploads() > 0 })
			}
			if tc.picture != (uploads() == 1) {
				t.Errorf("%d pictures uploaded, want picture=%v", uploads(), tc.picture)
			}
		})
	}
	for _, a := range acks {
		if a > time.Second {
			t.Errorf("a command was acked after %s", a)
		}
	}
	// The pictures decode and have sensible sizes.
	for _, m := range cb.emu.Messages(chIncidents) {
		for _, f := range m.Files {
			_, data, ok := cb.emu.File(f.ID)
			img, err := png.Decode(bytes.NewReader(data))
			if !ok || err != nil {
				t.Fatalf("file %s: %v", f.Name, err)
			}
			if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 400 || h < 200 || w > 4000 || h > 4000 {
				t.Errorf("%s is %d×%d", f.Name, w, h)
			}
		}
	}
	// The run request opened by /runbook run sits in the incident's thread.
	MustWait(t, cb.emu, 10*time.Second, "the request in the incident's thread", func() bool {
		_, ok := requestMessage(cb.emu, cb.card, "RB-DEMO-001")
		return ok
	})

	cb.prom.Stop() // Prometheus goes away
	reply, _ := cb.slash(t, "/graph", `query up 1h`)
	if !reply.Ephemeral || !strings.Contains(contentOf(reply), "refused the connection") {
		t.Errorf("with Prometheus down: %s", contentOf(reply))
	}
}

func TestMentionsInAnIncidentThreadImplyTheIncident(t *testing.T) {
	cb := mustCommandBed(t, false)
	before := len(cb.emu.Replies(chIncidents, cb.card.TS))
	if _, err := cb.emu.PostAsUser(chIncidents, uLead, "<@U0NIGHTOWL> diag", cb.card.TS); err != nil {
		t.Fatal(err)
	}
	MustWait(t, cb.emu, 15*time.Second, "the diagnosis in the thread", func() bool {
		return repliesWith(cb.emu, chIncidents, cb.card.TS, "order-service") > 0 && len(cb.emu.Replies(chIncidents, cb.card.TS)) > before
	})
	if _, err := cb.emu.PostAsUser(chIncidents, uLead, "<@U0NIGHTOWL> graph", cb.card.TS); err != nil {
		t.Fatal(err)
	}
	MustWait(t, cb.emu, 15*time.Second, "the picture in the thread", func() bool {
		for _, r := range cb.emu.Replies(chIncidents, cb.card.TS) {
			if len(r.Files) > 0 {
				return true
			}
		}
		return false
	})
}
