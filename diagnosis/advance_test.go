package diagnosis_test

import (
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func TestAdvancePublishesWhatIsDueOnTheGroupersClockWithoutSleeping(t *testing.T) {
	start := time.Date(2024, 6, 3, 9, 0, 0, 0, time.UTC)
	now := start
	sink := &recordSink{}
	g := diagnosis.NewGrouper(diagnosis.GrouperConfig{Wait: 10 * time.Second, Graph: graph.Example(), Now: func() time.Time { return now }}, sink)
	a := mkAlert("ServiceErrorRateHigh", "payment-service", start)
	g.Add(a)
	next := g.Advance(t.Context(), now)
	if got := sink.kinds(); len(got) != 0 || !next.Equal(start.Add(10*time.Second)) {
		t.Fatalf("before GROUP_WAIT: published %v, next due %v; want nothing, due at %v", got, next, start.Add(10*time.Second))
	}
	now = next
	g.Advance(t.Context(), now)
	if us := sink.all(); len(us) != 1 || us[0].Kind != diagnosis.Opened {
		t.Fatalf("at GROUP_WAIT got %v, want the card", sink.kinds())
	}
	now = now.Add(time.Minute)
	g.Add(resolved(a, now))
	resolvedAt := now
	now = now.Add(10 * time.Second)
	next = g.Advance(t.Context(), now)
	if us := sink.all(); len(us) != 2 || us[1].Kind != diagnosis.IncidentResolved {
		t.Fatalf("after the resolution got %v, want it resolved", sink.kinds())
	}
	if want := resolvedAt.Add(15 * time.Minute); !next.Equal(want) {
		t.Errorf("next due %v, want the end of the flap window %v", next, want)
	}
}
