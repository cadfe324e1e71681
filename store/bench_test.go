package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// benchAlert is a realistic template-sourced alert.
func benchAlert(i int) diagnosis.Alert {
	labels := map[string]string{
		"alertname": "KubePodCrashLooping", "service": fmt.Sprintf("svc-%d", i%7), "severity": "critical",
		"namespace": "shop", "cluster": "prod-eu", "pod": fmt.Sprintf("pod-%d", i), "container": "app",
	}
	return diagnosis.Alert{
		Fingerprint:  diagnosis.Fingerprint(labels),
		Status:       diagnosis.Firing,
		Labels:       labels,
		Annotations:  map[string]string{"summary": "Pod is crash looping", "description": "Pod restarted 5 times in 10 minutes"},
		StartsAt:     t0,
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=rate%28kube_pod_container_status_restarts_total%5B5m%5D%29",
		Source:       diagnosis.SourceTemplate,
		Count:        1,
	}
}

func BenchmarkRecordAlerts(b *testing.B) {
	const batch = 30
	ctx := context.Background()
	db := MustOpen(b)
	alerts := make([]diagnosis.Alert, batch)
	for i := range alerts {
		alerts[i] = benchAlert(i)
	}
	n := 0
	for b.Loop() {
		r := AlertReceipt{Channel: "C0ALERTS", MessageTS: fmt.Sprint(n), Received: t0.Add(time.Duration(n)), Alerts: alerts}
		if err := db.RecordAlerts(ctx, r); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*batch)/b.Elapsed().Seconds(), "alerts/s")
}

func BenchmarkSaveIncident(b *testing.B) {
	ctx := context.Background()
	db := MustOpen(b)
	in := diagnosis.Incident{
		ID:       "inc-bench",
		Scope:    diagnosis.Scope{Cluster: "prod-eu", Namespace: "shop"},
		Status:   diagnosis.Firing,
		OpenedAt: t0,
		Thread:   diagnosis.Thread{Channel: "C0INCIDENTS", TS: "1710383400.000100"},
	}
	for i := range 31 {
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: benchAlert(i), Node: "svc", FirstSeen: t0, LastSeen: t0, Received: 1})
	}
	n := 0
	for b.Loop() {
		in.Received = n
		if err := db.SaveIncident(ctx, in); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "saves/s")
}
