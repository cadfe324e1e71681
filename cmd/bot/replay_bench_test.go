package main

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/replay"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// BenchmarkReplayAWeekOf20000AlertsOver500Services measures `bot replay`'s
// simulation (grouping on the simulated clock and a diagnosis per
// incident) on the size the issue names: under 10 s on 2 cores.
func BenchmarkReplayAWeekOf20000AlertsOver500Services(b *testing.B) {
	graph, alerts := scenarios.LargeWeek(1, 500, 20000)
	cfg, _, err := LoadConfig("replay", nil, envOf(map[string]string{"SERVICE_GRAPH": mustWriteTemp(b, "graph.yaml", graph)}), io.Discard, needNothing)
	if err != nil {
		b.Fatal(err)
	}
	ivs := make([]replay.Interval, len(alerts))
	for i, a := range alerts {
		ivs[i] = replay.Interval{Labels: a.Labels, Start: a.Start, End: a.End}
	}
	since := time.Date(2024, 6, 3, 0, 0, 0, 0, time.UTC)
	until := since.AddDate(0, 0, 7)
	quiet := slog.New(slog.DiscardHandler)
	var incidents []replay.Incident
	for b.Loop() {
		events := replay.Events(ivs, until, 0)
		incidents, err = runReplay(b.Context(), cfg, since, events, quiet, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(incidents)), "incidents")
}
