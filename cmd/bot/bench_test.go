package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot"
	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// syntheticGraph builds a layered graph of n services: a few databases and
// queues at the bottom, applications in the middle, gateways on top.
func syntheticGraph(tb testing.TB, n int) *graph.Graph {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	nodes := make([]graph.Node, n)
	for i := range nodes {
		nodes[i].Name = fmt.Sprintf("svc-%03d", i)
		switch {
		case i < n/10:
			nodes[i].Kind = "database"
		case i > n*9/10:
			nodes[i].Kind = "ingress"
		default:
			nodes[i].Kind = "service"
		}
		for d := 0; d < 3 && i > 0; d++ { // depend on lower-numbered nodes only: a DAG
			nodes[i].DependsOn = append(nodes[i].DependsOn, nodes[r.IntN(i)].Name)
		}
	}
	g, err := graph.New(nodes)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

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
	g := syntheticGraph(b, 500)
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
