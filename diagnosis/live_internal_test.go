package diagnosis

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

type sameDiagnoser struct{}

func (sameDiagnoser) Diagnose(_ context.Context, in Incident) Diagnosis {
	return Diagnosis{Incident: in.ID}
}

// TestLiveForgetsIncidentsThatLeftMemory: the thread index and the latest
// diagnoses do not outgrow the Grouper's memory.
func TestLiveForgetsIncidentsThatLeftMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLive(LiveConfig{Grouper: GrouperConfig{Wait: time.Second, FlapWindow: time.Minute}, Diagnoser: sameDiagnoser{}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = l.Run(ctx, SinkFunc(func(context.Context, Update) {})) }()
		defer func() { cancel(); <-done }()

		alert := func(ns string) Alert {
			labels := map[string]string{"alertname": "Down", "service": "svc", "namespace": ns}
			return Alert{Status: Firing, Labels: labels, StartsAt: time.Now(), Fingerprint: Fingerprint(labels)}
		}
		var ids []string
		for i := range 3 {
			id := l.Add(alert(fmt.Sprint("ns-", i)))[0].Incident
			time.Sleep(2 * time.Second)
			in, _ := l.Annotate(id, func(in *Incident) { in.Thread = Thread{Channel: "C1", TS: fmt.Sprint(i, ".000001")} })
			l.Diagnose(t.Context(), in)
			ids = append(ids, id)
		}
		// The first two resolve and leave memory after the flap window;
		// the third fires on.
		for i := range 2 {
			a := alert(fmt.Sprint("ns-", i))
			a.Status, a.EndsAt = Resolved, time.Now()
			l.Add(a)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if _, ok := l.Incident(ids[0]); ok {
			t.Fatalf("%s is still in memory after its flap window", ids[0])
		}

		l.mu.Lock()
		l.sweepAt = len(l.threads) // the next thread indexed sweeps
		l.mu.Unlock()
		l.Annotate(ids[2], func(in *Incident) {})
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.threads) != 1 || l.threads[Thread{Channel: "C1", TS: "2.000001"}] != ids[2] {
			t.Errorf("threads %v, want only %s's", l.threads, ids[2])
		}
		if _, ok := l.latest[ids[2]]; len(l.latest) != 1 || !ok {
			t.Errorf("latest diagnoses of %v, want only %s's", keys(l.latest), ids[2])
		}
		if l.sweepAt < sweepMin {
			t.Errorf("next sweep at %d entries, want at least %d", l.sweepAt, sweepMin)
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
