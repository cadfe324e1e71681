package diagnosis_test

import (
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/bench"
)

// BenchmarkDiagnose1000AlertsOn500Services: one incident of 1,000 alerts
// over a 500-service graph, alerts only (target: under 20ms).
func BenchmarkDiagnose1000AlertsOn500Services(b *testing.B) {
	g := bench.SyntheticGraph(500)
	start := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	r, _ := diagnosis.NewResolver(g, nil)
	in := bench.IncidentOf(r, bench.SyntheticStorm(g, 1000, start))
	e := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: g, Resolver: r, Now: func() time.Time { return start.Add(time.Hour) }})
	b.ReportAllocs()
	for b.Loop() {
		if d := e.Diagnose(b.Context(), in); len(d.Candidates) == 0 {
			b.Fatal("no candidates")
		}
	}
}
