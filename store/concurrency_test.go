package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestConcurrentWriters(t *testing.T) {
	const (
		writers = 8
		rounds  = 100
		batch   = 3
	)
	ctx := context.Background()
	db := MustOpen(t)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				id := fmt.Sprintf("inc-%d", w)
				at := t0.Add(time.Duration(i) * time.Second)
				var alerts []diagnosis.Alert
				for j := range batch {
					alerts = append(alerts, diagnosis.Alert{
						Fingerprint: fmt.Sprintf("fp-%d-%d", w, j),
						Status:      diagnosis.Firing,
						Labels:      map[string]string{"alertname": "Load", "writer": fmt.Sprint(w)},
						StartsAt:    at,
					})
				}
				if err := db.RecordAlerts(ctx, AlertReceipt{Channel: "C1", MessageTS: fmt.Sprintf("%d.%d", w, i), Received: at, Alerts: alerts}); err != nil {
					fail(err)
					return
				}
				in := diagnosis.Incident{ID: id, Status: diagnosis.Firing, OpenedAt: t0, Received: (i + 1) * batch, Alerts: states(alerts...)}
				if err := db.SaveIncident(ctx, in); err != nil {
					fail(err)
					return
				}
				if err := db.Append(ctx, diagnosis.Event{Incident: id, Kind: diagnosis.EventCardUpdated, Detail: fmt.Sprint(i), At: at}); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	// Readers run beside the writers, as the bot's handlers do.
	for r := range 4 {
		wg.Go(func() {
			for range rounds {
				id := fmt.Sprintf("inc-%d", r)
				if _, err := db.Incident(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
					fail(err)
					return
				}
				if _, err := db.Events(ctx, id); err != nil {
					fail(err)
					return
				}
				if _, err := db.ActiveIncidents(ctx, t0); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	s, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "stats", s, Stats{AlertsReceived: writers * rounds * batch, Incidents: writers, OpenIncidents: writers, Events: writers * rounds})
	for w := range writers {
		id := fmt.Sprintf("inc-%d", w)
		events := mustEvents(t, db, id)
		for i, e := range events {
			if e.Detail != fmt.Sprint(i) {
				t.Fatalf("%s: event %d has detail %q: out of order", id, i, e.Detail)
			}
		}
		if in := mustIncident(t, db, id); in.Received != rounds*batch {
			t.Errorf("%s: received %d, want %d (the last save)", id, in.Received, rounds*batch)
		}
		if log := mustAlertLog(t, db, id); len(log) != rounds*batch {
			t.Errorf("%s: %d alerts in the log, want %d", id, len(log), rounds*batch)
		}
	}
}
