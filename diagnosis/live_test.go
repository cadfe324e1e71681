package diagnosis_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// countingDiagnoser diagnoses every incident the same way and counts
// how often it was asked.
type countingDiagnoser struct{ calls atomic.Int32 }

func (c *countingDiagnoser) Diagnose(_ context.Context, in diagnosis.Incident) diagnosis.Diagnosis {
	c.calls.Add(1)
	return diagnosis.Diagnosis{Incident: in.ID, Summary: "made anew"}
}

// archive recalls one incident that left memory.
type archive struct{ in diagnosis.Incident }

var errNotKept = errors.New("not in the archive")

func (a archive) Incident(_ context.Context, id string) (diagnosis.Incident, error) {
	if id != a.in.ID {
		return diagnosis.Incident{}, errNotKept
	}
	return a.in, nil
}

func (a archive) Diagnosis(_ context.Context, id string) (diagnosis.Diagnosis, error) {
	if id != a.in.ID {
		return diagnosis.Diagnosis{}, errNotKept
	}
	return diagnosis.Diagnosis{Incident: id, Summary: "kept"}, nil
}

func (a archive) IncidentByThread(_ context.Context, channel, ts string) (diagnosis.Incident, error) {
	if a.in.Thread != (diagnosis.Thread{Channel: channel, TS: ts}) {
		return diagnosis.Incident{}, errNotKept
	}
	return a.in, nil
}

var oldCard = diagnosis.Thread{Channel: "C1", TS: "100.000001"}

// startLive runs a Live inside the current synctest bubble.
func startLive(t *testing.T) (*diagnosis.Live, *recordSink, *countingDiagnoser) {
	t.Helper()
	d := &countingDiagnoser{}
	l := diagnosis.NewLive(diagnosis.LiveConfig{
		Grouper:   diagnosis.GrouperConfig{Wait: 10 * time.Second, Graph: graph.Example()},
		Diagnoser: d,
		Archive:   archive{in: diagnosis.Incident{ID: "INC-OLD", Status: diagnosis.Resolved, Thread: oldCard}},
	})
	sink := &recordSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = l.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })
	return l, sink, d
}

// mustOpen adds an alert, lets GROUP_WAIT pass and returns its incident.
func mustOpen(t *testing.T, l *diagnosis.Live, a diagnosis.Alert) diagnosis.Incident {
	t.Helper()
	out := l.Add(a)
	time.Sleep(11 * time.Second)
	synctest.Wait()
	in, ok := l.Incident(out[0].Incident)
	if !ok {
		t.Fatalf("incident %q of %s is not live", out[0].Incident, a.Name())
	}
	return in
}

func TestLivePublishesToWhoeverRunsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, sink, _ := startLive(t)
		in := mustOpen(t, l, mkAlert("ServiceErrorRateHigh", "payment-service", time.Now()))
		if got := sink.kinds(); len(got) != 1 || got[0] != "opened "+in.ID {
			t.Errorf("published %v, want the opening of %s", got, in.ID)
		}
		if !l.IsOpen(in.ID) || l.IsOpen("INC-NONE") {
			t.Errorf("IsOpen(%s) = %v, IsOpen(INC-NONE) = %v; want true, false", in.ID, l.IsOpen(in.ID), l.IsOpen("INC-NONE"))
		}
		if open := l.Open(); len(open) != 1 || open[0].ID != in.ID {
			t.Errorf("Open() = %v, want %s", open, in.ID)
		}
	})
}

func TestLiveFindsTheIncidentOfAThread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, _ := startLive(t)
		in := mustOpen(t, l, mkAlert("ServiceErrorRateHigh", "payment-service", time.Now()))
		card := diagnosis.Thread{Channel: "C1", TS: "200.000001"}
		l.Annotate(in.ID, func(i *diagnosis.Incident) { i.Thread = card })
		restored := diagnosis.Incident{ID: "INC-BACK", Status: diagnosis.Firing, Thread: diagnosis.Thread{Channel: "C1", TS: "150.000001"},
			Alerts: []diagnosis.AlertState{{Alert: mkAlert("KafkaConsumerLag", "kafka", time.Now())}}}
		l.Restore(restored)
		cases := []struct {
			name   string
			thread diagnosis.Thread
			want   string
		}{
			{"a live card's thread is its incident's", card, in.ID},
			{"a restored card's thread is its incident's", restored.Thread, "INC-BACK"},
			{"a card that left memory is the archive's", oldCard, "INC-OLD"},
			{"the same ts in another channel is nobody's", diagnosis.Thread{Channel: "C2", TS: card.TS}, ""},
			{"an unknown thread is nobody's", diagnosis.Thread{Channel: "C1", TS: "999.000001"}, ""},
		}
		for _, tc := range cases {
			if got, ok := l.ByThread(t.Context(), tc.thread); got != tc.want || ok != (tc.want != "") {
				t.Errorf("%s: ByThread = %q, %v; want %q", tc.name, got, ok, tc.want)
			}
		}
	})
}

func TestLiveKeepsTheLatestDiagnosis(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, d := startLive(t)
		in := mustOpen(t, l, mkAlert("ServiceErrorRateHigh", "payment-service", time.Now()))
		if _, ok := l.Latest(in.ID); ok {
			t.Fatal("a diagnosis before anyone diagnosed")
		}
		l.Diagnose(t.Context(), in)
		if got, ok := l.Latest(in.ID); !ok || got.Incident != in.ID {
			t.Errorf("Latest = %+v, %v; want the diagnosis just made", got, ok)
		}
		if _, _, ok := l.Find(t.Context(), in.ID); !ok || d.calls.Load() != 1 {
			t.Errorf("Find: ok %v after %d diagnoses, want the kept one (1 diagnosis)", ok, d.calls.Load())
		}
		l.Forget(in.ID)
		if _, _, ok := l.Find(t.Context(), in.ID); !ok || d.calls.Load() != 2 {
			t.Errorf("Find after Forget: ok %v after %d diagnoses, want one made anew (2)", ok, d.calls.Load())
		}
		if _, got, ok := l.Find(t.Context(), "INC-OLD"); !ok || got.Summary != "kept" {
			t.Errorf("Find(INC-OLD) = %+v, %v; want the archive's diagnosis", got, ok)
		}
		if _, _, ok := l.Find(t.Context(), "INC-NONE"); ok {
			t.Error("Find(INC-NONE) found something")
		}
	})
}
