package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
)

// syntheticStorm returns n alerts over the graph's services, in relayed
// messages of perMessage alerts as Alertmanager's Slack notifier renders them.
func syntheticStorm(tb testing.TB, g *graph.Graph, n, perMessage int) (alerts []diagnosis.Alert, messages []bot.Relayed) {
	tb.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	names := g.Names()
	start := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	for i := range n {
		svc := names[r.IntN(len(names))]
		labels := map[string]string{
			"alertname": []string{"ServiceErrorRateHigh", "ServiceLatencyHigh", "HighCPUUsage", "PodRestarting"}[i%4],
			"service":   svc, "namespace": "production", "severity": "warning", "instance": fmt.Sprintf("10.0.%d.%d:9100", i/250, i%250),
		}
		alerts = append(alerts, diagnosis.Alert{
			Status: diagnosis.Firing, Labels: labels, Annotations: map[string]string{"summary": svc + " is unhappy"},
			StartsAt: start.Add(time.Duration(i) * 50 * time.Millisecond), Fingerprint: diagnosis.Fingerprint(labels),
		})
	}
	for i := 0; i < n; i += perMessage {
		body, err := alertmanager.SlackPayload(alertmanager.NewGroup("bench", []string{"namespace"}, alerts[i:min(i+perMessage, n)], "http://am:9093"), alertmanager.Nightowl)
		if err != nil {
			tb.Fatal(err)
		}
		var p struct {
			Attachments []struct{ Title, Text, Fallback string }
		}
		if err := json.Unmarshal(body, &p); err != nil {
			tb.Fatal(err)
		}
		m := bot.Relayed{}
		for _, a := range p.Attachments {
			m.Attachments = append(m.Attachments, bot.RelayedAttachment{Title: a.Title, Text: a.Text, Fallback: a.Fallback})
		}
		messages = append(messages, m)
	}
	return alerts, messages
}

// BenchmarkParseAndGroup10k measures the intake path of a 10,000-alert storm
// on one core: decoding relayed messages and grouping the alerts into incidents.
func BenchmarkParseAndGroup10k(b *testing.B) {
	g := bench.SyntheticGraph(500)
	const n = 10_000
	_, messages := syntheticStorm(b, g, n, 30)
	decode := decoder(g)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		grouper := diagnosis.NewGrouper(diagnosis.GrouperConfig{Graph: g}, diagnosis.SinkFunc(func(context.Context, diagnosis.Update) {}))
		got := 0
		for _, m := range messages {
			alerts, _, err := decode(m, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			got += len(grouper.Add(alerts...))
		}
		if got != n {
			b.Fatalf("grouped %d alerts, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkStormWebAPICalls relays a 10,000-alert storm over a 500-service
// graph through the Slack emulator to the running bot and counts the Web API
// calls it causes: they must follow incidents and bursts, not alerts.
func BenchmarkStormWebAPICalls(b *testing.B) {
	const n = 10_000
	for range b.N {
		b.StopTimer()
		emu := MustWorkspace(b)
		hook := MustAlertmanagerHook(emu)
		dir := b.TempDir()
		g := bench.SyntheticGraph(500)
		alerts, _ := syntheticStorm(b, g, n, 30)
		var graphYAML strings.Builder
		graphYAML.WriteString("services:\n")
		for _, name := range g.Names() {
			node, _ := g.Node(name)
			fmt.Fprintf(&graphYAML, "  %s: {kind: %s, depends_on: [%s]}\n", name, node.Kind, strings.Join(node.DependsOn, ", "))
		}
		env := map[string]string{"SERVICE_GRAPH": mustWriteFile(b, dir, "graph.yaml", graphYAML.String()), "LOG_LEVEL": "warn"}
		nightowl := MustRunNightowl(b, emu, filepath.Join(dir, "bot.db"), env)
		b.StartTimer()
		start := time.Now()
		for i := 0; i < n; i += 30 {
			MustRelay(b, hook, []string{"namespace"}, alerts[i:min(i+30, n)])
		}
		testbed.WaitFor(b, 2*time.Minute, "every alert grouped", func() (struct{}, bool) {
			total := 0
			for _, in := range nightowl.App.Live.Open() {
				total += in.AlertCount() // those held one by one and those summarised
			}
			return struct{}{}, total == n
		})
		took := time.Since(start)
		time.Sleep(3 * time.Second) // the last burst's GROUP_WAIT
		b.StopTimer()
		incidents := len(nightowl.App.Live.Open())
		nightowl.stop()
		calls, limited := nightowl.App.Slack.Calls()
		b.ReportMetric(float64(calls), "webapi-calls")
		b.ReportMetric(float64(limited), "rate-limited")
		b.ReportMetric(float64(incidents), "incidents")
		b.ReportMetric(float64(emu.Calls("chat.postMessage")), "posts")
		b.ReportMetric(float64(emu.Calls("chat.update")), "updates")
		b.ReportMetric(float64(n)/took.Seconds(), "alerts/s-end-to-end")
	}
}

// BenchmarkSlashCommandAck sends 1,000 slash commands to the running bot
// through the emulator as fast as 32 typists can and reports how long the
// bot took to ack them (Slack's limit is 3 s) and how long until every
// answer had arrived.
func BenchmarkSlashCommandAck(b *testing.B) {
	const n, typists = 1000, 32
	commands := []slackemu.SlashCommand{
		{Command: "/diag"}, {Command: "/runbook", Text: "list"}, {Command: "/diag", Text: "order-service"},
		{Command: "/graph", Text: "help"}, {Command: "/diag", Text: "INC-NOPE"},
	}
	for range b.N {
		b.StopTimer()
		emu := MustWorkspace(b)
		hook := MustAlertmanagerHook(emu)
		nightowl := MustRunNightowl(b, emu, filepath.Join(b.TempDir(), "bot.db"), map[string]string{"LOG_LEVEL": "warn"})
		MustRelay(b, hook, []string{"namespace"}, stormNow(b)[:8])
		MustWait(b, emu, 20*time.Second, "the card", func() bool { return len(emu.Messages(chIncidents)) == 1 })
		b.StartTimer()
		start := time.Now()
		acks := make([]time.Duration, n)
		var wg sync.WaitGroup
		next := make(chan int)
		for range typists {
			wg.Go(func() {
				for i := range next {
					c := commands[i%len(commands)]
					c.User, c.Channel = uLead, chIncidents
					res, err := emu.SlashCommand(context.Background(), c)
					if err != nil {
						b.Errorf("%s %s: %v", c.Command, c.Text, err)
					}
					acks[i] = res.AckedAfter
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		MustWait(b, emu, time.Minute, "every answer", func() bool { return len(emu.Ephemerals(uLead)) >= n })
		took := time.Since(start)
		b.StopTimer()
		nightowl.stop()
		slices.Sort(acks)
		b.ReportMetric(float64(acks[n/2].Microseconds())/1000, "ack-p50-ms")
		b.ReportMetric(float64(acks[n*99/100].Microseconds())/1000, "ack-p99-ms")
		b.ReportMetric(float64(acks[n-1].Microseconds())/1000, "ack-max-ms")
		b.ReportMetric(float64(n)/took.Seconds(), "answers/s")
	}
}

// BenchmarkCardWithAModel relays the whole Black Friday storm and measures
// when the card is posted with LLM_PROVIDER=none and with a model that
// takes 2 s per answer (the card must not wait for it), when the model's
// triage reaches the card, and how many tokens the incident's triage cost.
// The OpenAI-compatible test server counts tokens as OpenAI roughly does
// for English: one per four characters of the request's messages and of
// its reply.
func BenchmarkCardWithAModel(b *testing.B) {
	for _, withModel := range []bool{false, true} {
		name := "none"
		if withModel {
			name = "model-2s"
		}
		b.Run(name, func(b *testing.B) {
			var card, triage time.Duration
			var tokens float64
			for range b.N {
				b.StopTimer()
				emu := MustWorkspace(b)
				hook := MustAlertmanagerHook(emu)
				env := map[string]string{"LOG_LEVEL": "warn", "GROUP_WAIT": "1s"}
				var spent atomic.Int64
				if withModel {
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						raw, _ := io.ReadAll(r.Body)
						if r.URL.Path != "/v1/chat/completions" {
							writeModelJSON(w, map[string]any{"object": "list", "data": []any{}})
							return
						}
						var req modelRequest
						_ = json.Unmarshal(raw, &req)
						prompt := 0
						for _, m := range req.Messages {
							prompt += len(m.Content)
						}
						select {
						case <-time.After(2 * time.Second):
						case <-r.Context().Done():
							return
						}
						spent.Add(int64(prompt/4 + len(modelTriage)/4))
						writeModelJSON(w, map[string]any{"id": "c", "object": "chat.completion", "model": "test-model",
							"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": modelTriage}}},
							"usage":   map[string]any{"prompt_tokens": prompt / 4, "completion_tokens": len(modelTriage) / 4}})
					}))
					b.Cleanup(srv.Close)
					env["LLM_PROVIDER"], env["LLM_BASE_URL"], env["LLM_MODEL"] = "openai", srv.URL+"/v1", "test-model"
				}
				MustRunNightowl(b, emu, filepath.Join(b.TempDir(), "bot.db"), env)
				storm := stormNow(b)
				b.StartTimer()
				start := time.Now()
				for i := 0; i < len(storm); i += 8 {
					MustRelay(b, hook, []string{"namespace"}, storm[:min(i+8, len(storm))])
				}
				MustWait(b, emu, 20*time.Second, "the card", func() bool { return len(emu.Messages(chIncidents)) == 1 })
				card += time.Since(start)
				if withModel {
					MustWait(b, emu, 30*time.Second, "the model's triage", func() bool {
						return strings.Contains(string(emu.Messages(chIncidents)[0].Blocks), "Triage by test-model")
					})
					triage += time.Since(start)
					time.Sleep(3 * time.Second) // a later burst may ask for another triage
					tokens += float64(spent.Load())
				}
				b.StopTimer()
			}
			b.ReportMetric(float64(card.Milliseconds())/float64(b.N), "card-ms")
			if withModel {
				b.ReportMetric(float64(triage.Milliseconds())/float64(b.N), "model-triage-ms")
				b.ReportMetric(tokens/float64(b.N), "tokens/incident")
			}
		})
	}
}
