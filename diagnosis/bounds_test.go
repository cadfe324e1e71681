package diagnosis_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// What the Grouper keeps in memory is bounded: alerts per incident,
// incidents, and how long a silent firing incident stays.

// podAlert is the i-th of many alerts on one service, each its own pod.
func podAlert(i int, service string, at time.Time) diagnosis.Alert {
	return mkAlert("KubePodCrashLooping", service, at, "pod", fmt.Sprintf("%s-%d", service, i))
}

func TestGrouperKeepsMaxAlertsOneByOneAndSummarisesTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 10 * time.Second, MaxAlerts: 10})
		now := time.Now()
		var alerts []diagnosis.Alert
		for i := range 25 {
			alerts = append(alerts, podAlert(i, "order-service", now))
		}
		outs := g.Add(alerts...)
		if outs[9].Summarised || !outs[10].Summarised || outs[10].Incident != outs[0].Incident {
			t.Fatalf("outcomes %+v … %+v, want the 11th alert summarised into the same incident", outs[9], outs[10])
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		us := sink.all()
		if len(us) != 1 || us[0].Kind != diagnosis.Opened {
			t.Fatalf("got %v, want one opened incident", sink.kinds())
		}
		in := us[0].Incident
		if len(in.Alerts) != 10 || in.More.Alerts != 15 || in.More.Firing != 15 || in.AlertCount() != 25 {
			t.Errorf("kept %d alerts, summarised %+v, want 10 kept and 15 summarised, all firing", len(in.Alerts), in.More)
		}
		if in.More.Names["KubePodCrashLooping"] != 15 || in.More.Nodes["order-service"] != 15 {
			t.Errorf("summary names %v nodes %v, want 15 of each", in.More.Names, in.More.Nodes)
		}
		if len(us[0].Changes) != 25 {
			t.Errorf("the first burst lists %d alerts, want all 25", len(us[0].Changes))
		}

		// A repeat of a summarised alert is a repeat; its resolution counts.
		if out := g.Add(alerts[20])[0]; !out.Repeat || !out.Summarised {
			t.Errorf("a summarised alert sent again: %+v, want a repeat", out)
		}
		var resolutions []diagnosis.Alert
		for _, a := range alerts {
			resolutions = append(resolutions, resolved(a, time.Now()))
		}
		g.Add(resolutions[:24]...)
		in, _ = g.Incident(in.ID)
		if in.Status != diagnosis.Firing || in.More.Firing != 1 {
			t.Fatalf("status %s with %d summarised alerts firing, want firing with 1 left", in.Status, in.More.Firing)
		}
		g.Add(resolutions[24])
		time.Sleep(10 * time.Second)
		synctest.Wait()
		us = sink.all()
		if last := us[len(us)-1]; last.Kind != diagnosis.IncidentResolved || last.Incident.More.Firing != 0 {
			t.Fatalf("got %v, want the incident resolved once its summarised alerts resolved", sink.kinds())
		}

		// A summarised alert firing again reopens the incident.
		g.Add(alerts[24])
		time.Sleep(10 * time.Second)
		synctest.Wait()
		us = sink.all()
		if last := us[len(us)-1]; last.Kind != diagnosis.Reopened || last.Incident.More.Firing != 1 {
			t.Fatalf("got %v, want the incident reopened by its summarised alert", sink.kinds())
		}
	})
}

func TestGrouperListsAtMostAThousandChangesPerUpdateAndCountsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 10 * time.Second, MaxAlerts: 100})
		now := time.Now()
		for i := range 1500 {
			g.Add(podAlert(i, "order-service", now))
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		us := sink.all()
		if len(us) != 1 {
			t.Fatalf("got %v, want one update", sink.kinds())
		}
		if got := len(us[0].Changes); got != 1000 || us[0].Unlisted.New != 500 {
			t.Errorf("listed %d changes and counted %+v, want 1000 listed and 500 counted", got, us[0].Unlisted)
		}
		if n := us[0].Incident.AlertCount(); n != 1500 {
			t.Errorf("the incident holds %d alerts, want 1500", n)
		}
	})
}

func TestGrouperRetiresAFiringIncidentNobodyHearsFrom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 10 * time.Second, StaleAfter: time.Hour})
		a := mkAlert("ServiceErrorRateHigh", "payment-service", time.Now())
		id := g.Add(a)[0].Incident
		time.Sleep(10 * time.Second)
		synctest.Wait()
		g.Annotate(id, func(in *diagnosis.Incident) { in.Thread = diagnosis.Thread{Channel: "C1", TS: "1.000001"} })

		time.Sleep(50 * time.Minute)
		g.Add(a) // Alertmanager repeats a firing alert: news
		time.Sleep(50 * time.Minute)
		synctest.Wait()
		if _, ok := g.Incident(id); !ok {
			t.Fatalf("%s left memory 50 minutes after a repeat, want it kept for an hour of silence", id)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		us := sink.all()
		last := us[len(us)-1]
		if last.Kind != diagnosis.Retired || last.Incident.ID != id || !strings.Contains(last.Note, "no alert notification for 1h") {
			t.Fatalf("got %v (%q), want %s retired after an hour of silence", sink.kinds(), last.Note, id)
		}
		if _, ok := g.Incident(id); ok {
			t.Errorf("%s is still in memory after it was retired", id)
		}
		if out := g.Add(a)[0]; out.Incident == id || out.Incident == "" {
			t.Errorf("the alert firing again joined %q, want a new incident", out.Incident)
		}
	})
}

func TestGrouperKeepsAtMostMaxIncidents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 10 * time.Second, MaxIncidents: 2})
		open := func(ns string) string {
			id := g.Add(mkAlert("ServiceErrorRateHigh", "payment-service", time.Now(), "namespace", ns))[0].Incident
			time.Sleep(10 * time.Second)
			synctest.Wait()
			g.Annotate(id, func(in *diagnosis.Incident) { in.Thread = diagnosis.Thread{Channel: "C1", TS: ns} })
			return id
		}
		a, b := open("ns-a"), open("ns-b")
		g.Add(mkAlert("ServiceErrorRateHigh", "payment-service", time.Now(), "namespace", "ns-a")) // a is heard from again
		c := open("ns-c")
		var retired []diagnosis.Update
		for _, u := range sink.all() {
			if u.Kind == diagnosis.Retired {
				retired = append(retired, u)
			}
		}
		if len(retired) != 1 || retired[0].Incident.ID != b || !strings.Contains(retired[0].Note, "limit of 2 incidents") {
			t.Fatalf("got %v, want %s (heard from least recently) retired", sink.kinds(), b)
		}
		for _, id := range []string{a, c} {
			if _, ok := g.Incident(id); !ok {
				t.Errorf("%s left memory, want it kept", id)
			}
		}

		// An incident whose card is not out yet never leaves: its page
		// must not be lost, even over the limit.
		d := g.Add(mkAlert("ServiceErrorRateHigh", "payment-service", time.Now(), "namespace", "ns-d"))[0].Incident
		e := g.Add(mkAlert("ServiceErrorRateHigh", "payment-service", time.Now(), "namespace", "ns-e"))[0].Incident
		time.Sleep(10 * time.Second)
		synctest.Wait()
		opened := map[string]bool{}
		for _, u := range sink.all() {
			if u.Kind == diagnosis.Opened {
				opened[u.Incident.ID] = true
			}
		}
		if !opened[d] || !opened[e] {
			t.Errorf("opened %v, want %s and %s opened whatever the limit", opened, d, e)
		}
	})
}

func TestGrouperRestoresAnIncidentWithMoreAlertsThanItKeeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: 10 * time.Second, MaxAlerts: 3})
		now := time.Now()
		in := diagnosis.Incident{ID: "INC-OLD", Status: diagnosis.Firing, OpenedAt: now, Thread: diagnosis.Thread{Channel: "C1", TS: "1.000001"}}
		var alerts []diagnosis.Alert
		for i := range 5 {
			a := podAlert(i, "order-service", now)
			alerts = append(alerts, a)
			in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a, Node: "order-service", FirstSeen: now, LastSeen: now, Received: 1})
		}
		// Two more that only the store's alert log holds.
		extra := []diagnosis.Alert{podAlert(5, "order-service", now), podAlert(6, "order-service", now)}
		in.More = diagnosis.AlertTally{Alerts: 2, Firing: 2}
		g.Restore(in)
		g.RestoreSummarised(in.ID, map[string]diagnosis.Status{extra[0].Fingerprint: diagnosis.Firing, extra[1].Fingerprint: diagnosis.Resolved})
		got, _ := g.Incident(in.ID)
		if len(got.Alerts) != 3 || got.More.Alerts != 4 || got.More.Firing != 3 {
			t.Fatalf("restored %d alerts, summary %+v, want 3 kept and 4 summarised of which 3 fire", len(got.Alerts), got.More)
		}
		for _, a := range append(alerts, extra[0]) {
			g.Add(resolved(a, time.Now()))
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		us := sink.all()
		if len(us) == 0 || us[len(us)-1].Kind != diagnosis.IncidentResolved {
			t.Fatalf("got %v, want the restored incident resolved by its summarised alerts", sink.kinds())
		}
	})
}

// TestLiveFindsAThreadWithoutCopyingTheIncident: a human reply in a busy
// thread looks its incident up by map; it never copies the incident.
func TestLiveFindsAThreadWithoutCopyingTheIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := diagnosis.NewLive(diagnosis.LiveConfig{
			Grouper:   diagnosis.GrouperConfig{Wait: time.Second, Graph: graph.Example(), MaxAlerts: 5000},
			Diagnoser: diagnosis.NewEngine(diagnosis.EngineConfig{Graph: graph.Example()}),
		})
		now := time.Now()
		alerts := make([]diagnosis.Alert, 2000)
		for i := range alerts {
			alerts[i] = podAlert(i, "order-service", now)
		}
		id := l.Add(alerts...)[0].Incident
		thread := diagnosis.Thread{Channel: "C1", TS: "1.000001"}
		l.Annotate(id, func(in *diagnosis.Incident) { in.Thread = thread })
		ctx := context.Background()
		allocs := testing.AllocsPerRun(50, func() {
			if got, ok := l.ByThread(ctx, thread); !ok || got != id {
				t.Fatalf("ByThread = %q, %v; want %s", got, ok, id)
			}
		})
		if allocs > 2 {
			t.Errorf("ByThread allocated %v times per lookup on a 2,000-alert incident, want no copy of it", allocs)
		}
	})
}

// BenchmarkOneIncidentOf100kAlerts adds 100,000 distinct alerts on one
// service, 30 a message, and reports the heap they leave behind
// (retained-MB, after a collection) and the largest heap seen while
// adding them (peak-MB, sampled every message), with the default
// MaxAlerts and with every alert kept one by one (as before the bound).
func BenchmarkOneIncidentOf100kAlerts(b *testing.B) {
	for _, bc := range []struct {
		name string
		max  int
	}{{"bounded", 0}, {"unbounded", 1 << 30}} {
		b.Run(bc.name, func(b *testing.B) {
			const n, perMessage = 100_000, 30
			var retained, peak float64
			for range b.N {
				g := diagnosis.NewGrouper(diagnosis.GrouperConfig{Graph: graph.Example(), MaxAlerts: bc.max},
					diagnosis.SinkFunc(func(context.Context, diagnosis.Update) {}))
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base := ms.HeapAlloc
				now := time.Now()
				batch := make([]diagnosis.Alert, 0, perMessage)
				for i := range n {
					batch = append(batch, podAlert(i, "order-service", now))
					if len(batch) == perMessage || i == n-1 {
						g.Add(batch...)
						batch = batch[:0]
						if i%3000 < perMessage {
							runtime.ReadMemStats(&ms)
							peak = max(peak, float64(ms.HeapAlloc-base)/(1<<20))
						}
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&ms)
				retained = float64(ms.HeapAlloc-base) / (1 << 20)
				in := g.Live()[0]
				if in.AlertCount() != n {
					b.Fatalf("the incident holds %d alerts, want %d", in.AlertCount(), n)
				}
				runtime.KeepAlive(g)
			}
			b.ReportMetric(retained, "retained-MB")
			b.ReportMetric(peak, "peak-MB")
		})
	}
}
