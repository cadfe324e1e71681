package diagnosis_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestAnIncidentResolvedByHandIsNotReopenedSilently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second, FlapWindow: 15 * time.Minute})
		now := time.Now()
		a, b := mkAlert("A", "payment-service", now), mkAlert("B", "order-service", now)
		id := g.Add(a, b)[0].Incident
		time.Sleep(2 * time.Second)
		g.Add(resolved(a, time.Now()))
		time.Sleep(2 * time.Second)
		synctest.Wait()

		by := diagnosis.Mark{By: "U0PRIYA", At: time.Now()}
		in, ok := g.Resolve(id, by)
		if !ok || in.Status != diagnosis.Resolved || in.Resolution != by || in.StillFiring() != 1 {
			t.Fatalf("Resolve: ok %v, status %s, resolution %+v, %d still firing; want resolved by priya, 1 firing", ok, in.Status, in.Resolution, in.StillFiring())
		}
		if _, again := g.Resolve(id, by); again {
			t.Error("an incident resolved twice")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		us := sink.all()
		if last := us[len(us)-1]; last.Kind != diagnosis.IncidentResolved || last.Incident.Resolution != by {
			t.Fatalf("got %v, want the resolution published with who resolved it", sink.kinds())
		}
		published := len(us)

		// B still fires: its repeats and its resolution are taken quietly.
		if out := g.Add(b)[0]; out.Incident != id || !out.Repeat {
			t.Errorf("a repeat of a still-firing alert: %+v, want a repeat of %s", out, id)
		}
		g.Add(resolved(b, time.Now()))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := len(sink.all()); n != published {
			t.Errorf("got %v after repeats and a resolution, want nothing more published", sink.kinds())
		}

		// A fires again, and a new related alert fires: a new incident, not the old one reopened.
		again := g.Add(a)[0].Incident
		joined := g.Add(mkAlert("C", "checkout-service", time.Now()))[0].Incident
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if again == id || again == "" || joined != again {
			t.Errorf("A fired again into %q and C into %q, want one new incident, not %s", again, joined, id)
		}
		us = sink.all()
		if last := us[len(us)-1]; last.Kind != diagnosis.Opened || last.Incident.ID != again {
			t.Errorf("got %v, want a new incident opened", sink.kinds())
		}
		if old, _ := g.Incident(id); old.Status != diagnosis.Resolved || old.Reopened != 0 {
			t.Errorf("the incident resolved by hand is %s, reopened %d", old.Status, old.Reopened)
		}
	})
}

func TestAMergedIncidentsAlertsFollowTheIncidentItWasMergedInto(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		now := time.Now()
		a := mkAlert("A", "payment-service", now)
		b := mkAlert("B", "search-service", now, "namespace", "search")
		from := g.Add(a)[0].Incident
		into := g.Add(b)[0].Incident
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if from == into {
			t.Fatalf("both alerts joined %s; the test needs two incidents", from)
		}
		if _, _, err := g.Merge(from, from); err == nil {
			t.Error("an incident merged into itself")
		}
		was, now2, err := g.Merge(from, into)
		if err != nil {
			t.Fatal(err)
		}
		if len(was.Alerts) != 1 || len(now2.Alerts) != 2 || now2.ID != into {
			t.Fatalf("merged %d alerts, %s holds %d; want 1 and 2", len(was.Alerts), now2.ID, len(now2.Alerts))
		}
		if _, live := g.Incident(from); live {
			t.Errorf("%s is still live after it was merged", from)
		}
		g.Add(resolved(a, time.Now()))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		us := sink.all()
		if last := us[len(us)-1]; last.Incident.ID != into || last.Kind != diagnosis.Burst {
			t.Errorf("got %v, want A's resolution in %s", sink.kinds(), into)
		}
		if _, _, err := g.Merge(from, into); err == nil {
			t.Error("a merged incident merged again")
		}
	})
}

func TestSplittingAServiceOffOpensANewIncidentThatItsLaterAlertsJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, sink := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second})
		now := time.Now()
		a, b := mkAlert("A", "payment-service", now), mkAlert("B", "order-service", now)
		id := g.Add(a, b)[0].Incident
		time.Sleep(2 * time.Second)
		synctest.Wait()
		by := diagnosis.Mark{By: "U0PRIYA", At: time.Now()}

		if _, _, err := g.Split(id, "search-service", by); err == nil {
			t.Error("split off a service the incident has no alert of")
		}
		old, split, err := g.Split(id, "order-service", by)
		if err != nil {
			t.Fatal(err)
		}
		if len(old.Alerts) != 1 || old.Alerts[0].Name() != "A" || old.ID != id {
			t.Errorf("%s keeps %v, want A only", old.ID, old.Nodes())
		}
		want := diagnosis.Split{Incident: id, Service: "order-service", Mark: by}
		if len(split.Alerts) != 1 || split.Alerts[0].Name() != "B" || split.ID == id || split.SplitFrom != want {
			t.Fatalf("the new incident %s holds %v, split from %+v; want B alone, split from %s by priya", split.ID, split.Nodes(), split.SplitFrom, id)
		}
		synctest.Wait()
		us := sink.all()
		if last := us[len(us)-1]; last.Kind != diagnosis.Opened || last.Incident.ID != split.ID || len(last.Incident.Alerts) != 1 {
			t.Fatalf("got %v, want %s opened at once with B (its card pages)", sink.kinds(), split.ID)
		}

		// B's repeats, and a new alert of order-service, go to the new
		// incident; payment-service's stay in the old one.
		if out := g.Add(b)[0]; out.Incident != split.ID {
			t.Errorf("a repeat of B went to %q, want %s", out.Incident, split.ID)
		}
		if got := g.Add(mkAlert("C", "order-service", time.Now()))[0].Incident; got != split.ID {
			t.Errorf("a new order-service alert joined %q, want %s (not %s)", got, split.ID, id)
		}
		if got := g.Add(mkAlert("D", "payment-service", time.Now()))[0].Incident; got != id {
			t.Errorf("a new payment-service alert joined %q, want %s", got, id)
		}

		if _, _, err := g.Split(id, "payment-service", by); err == nil {
			t.Error("split an incident's last service off it")
		}
		if _, ok := g.Resolve(id, by); !ok {
			t.Fatal("resolve the old incident")
		}
		if _, _, err := g.Split(id, "payment-service", by); err == nil {
			t.Error("split a resolved incident")
		}
	})
}

// TestWhatPeopleDidByHandOutlivesARestart: restored from the record, an
// incident resolved by hand stays closed, and a service split off an
// incident stays off it.
func TestWhatPeopleDidByHandOutlivesARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := startGrouper(t, diagnosis.GrouperConfig{Wait: time.Second, FlapWindow: 15 * time.Minute})
		now := time.Now()
		a := mkAlert("A", "payment-service", now)
		pay, ord := mkAlert("P", "payment-service", now), mkAlert("O", "order-service", now)
		closed := diagnosis.Incident{ID: "INC-CLOSED", Status: diagnosis.Resolved, OpenedAt: now, ResolvedAt: now,
			Thread:     diagnosis.Thread{Channel: "C1", TS: "1.1"},
			Resolution: diagnosis.Mark{By: "U0PRIYA", At: now},
			Alerts:     []diagnosis.AlertState{{Alert: resolved(a, now), Node: "payment-service", FirstSeen: now, LastSeen: now, Received: 2}}}
		parent := diagnosis.Incident{ID: "INC-PARENT", Status: diagnosis.Firing, OpenedAt: now,
			Thread: diagnosis.Thread{Channel: "C1", TS: "2.1"},
			Alerts: []diagnosis.AlertState{{Alert: pay, Node: "payment-service", FirstSeen: now, LastSeen: now, Received: 1}}}
		child := diagnosis.Incident{ID: "INC-CHILD", Status: diagnosis.Firing, OpenedAt: now,
			Thread:    diagnosis.Thread{Channel: "C1", TS: "3.1"},
			SplitFrom: diagnosis.Split{Incident: "INC-PARENT", Service: "order-service", Mark: diagnosis.Mark{By: "U0PRIYA", At: now}},
			Alerts:    []diagnosis.AlertState{{Alert: ord, Node: "order-service", FirstSeen: now, LastSeen: now, Received: 1}}}
		g.Restore(closed, parent, child)

		if got := g.Add(a)[0].Incident; got == "INC-CLOSED" {
			t.Error("an alert of the incident resolved by hand before the restart fired again and reopened it")
		}
		if got := g.Add(mkAlert("O2", "order-service", time.Now()))[0].Incident; got == "INC-PARENT" {
			t.Error("an alert of the service split off before the restart went back to the incident it was split from")
		}
	})
}
