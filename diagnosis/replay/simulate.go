package replay

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Simulator replays events through a diagnosis.Live on a simulated clock:
// the Live's Grouper and its Engine must take their time from Now, and the
// Grouper its incident IDs' uniqueness from Taken.
type Simulator struct {
	now   atomic.Int64 // Unix nanoseconds
	cfg   SimConfig
	byID  map[string]*record
	order []*record
}

// SimConfig tunes a Simulator.
type SimConfig struct {
	// Start is the clock's time before the first event.
	Start time.Time
	// Settle is how long the clock runs on after the last event, so that
	// the last incidents' cards come out (GROUP_WAIT). Default 1 minute.
	Settle time.Duration
	// Progress hears, now and then, how many events have been replayed.
	Progress Progress
}

// record is what the report keeps of one incident.
type record struct {
	id         string
	first      diagnosis.AlertState // its earliest alert, as first seen
	alerts     int
	services   []string
	pagedAt    time.Time // its card was posted while it fired
	opened     time.Time // its first update
	resolvedAt time.Time
	reopened   int
	kind       diagnosis.UpdateKind // its latest update's
	pending    *diagnosis.Incident  // its latest snapshot, until diagnosed
	diagnosis  diagnosis.Diagnosis
}

// NewSimulator returns a Simulator whose clock reads cfg.Start.
func NewSimulator(cfg SimConfig) *Simulator {
	if cfg.Settle <= 0 {
		cfg.Settle = time.Minute
	}
	s := &Simulator{cfg: cfg, byID: map[string]*record{}}
	s.now.Store(cfg.Start.UnixNano())
	return s
}

// Now is the simulated clock: GrouperConfig.Now and EngineConfig.Now.
func (s *Simulator) Now() time.Time { return time.Unix(0, s.now.Load()).UTC() }

func (s *Simulator) set(t time.Time) {
	if t.UnixNano() > s.now.Load() {
		s.now.Store(t.UnixNano())
	}
}

// Taken reports whether an incident ID was used earlier in the replay:
// GrouperConfig.Taken, as the store answers it live.
func (s *Simulator) Taken(id string) bool { _, ok := s.byID[id]; return ok }

// Run feeds events, oldest first, to live as Alertmanager would have
// delivered them, publishing what falls due between them (live.Advance),
// and returns every incident nightowl would have formed, oldest first.
// Each is diagnosed by live's Diagnoser when it resolves, and at the end
// if it still fires. Nothing in it sleeps.
func (s *Simulator) Run(ctx context.Context, live *diagnosis.Live, events []Event) ([]Incident, error) {
	sink := diagnosis.SinkFunc(func(ctx context.Context, u diagnosis.Update) { s.publish(ctx, live, u) })
	batch := make([]diagnosis.Alert, 0, 64)
	for i := 0; i < len(events); {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		at := events[i].At
		s.advance(ctx, live, sink, at)
		s.set(at)
		batch = batch[:0]
		for ; i < len(events) && events[i].At.Equal(at); i++ {
			batch = append(batch, events[i].Alert)
		}
		live.Add(batch...)
		if s.cfg.Progress != nil && (i%2000 < len(batch) || i == len(events)) {
			s.cfg.Progress(i, len(events))
		}
	}
	end := s.Now().Add(s.cfg.Settle)
	s.advance(ctx, live, sink, end)
	s.set(end)
	live.Advance(ctx, sink, end)
	out := make([]Incident, 0, len(s.order))
	for _, r := range s.order {
		if r.pending != nil {
			s.diagnose(ctx, live, r)
		}
		out = append(out, r.incident())
	}
	slices.SortStableFunc(out, func(a, b Incident) int { return a.FirstAlert.Compare(b.FirstAlert) })
	return out, nil
}

// advance moves the clock to each time an update falls due up to t, and
// publishes it.
func (s *Simulator) advance(ctx context.Context, live *diagnosis.Live, sink diagnosis.Sink, t time.Time) {
	for {
		next := live.Advance(ctx, sink, s.Now())
		if next.IsZero() || next.After(t) {
			return
		}
		if !next.After(s.Now()) {
			next = s.Now().Add(time.Millisecond)
		}
		s.set(next)
	}
}

// publish is what the bot does with an update, without Slack: an opened
// card pages (it gets a thread), and an incident is diagnosed once it has
// ended (resolved, settled or retired).
func (s *Simulator) publish(ctx context.Context, live *diagnosis.Live, u diagnosis.Update) {
	in := u.Incident
	r := s.byID[in.ID]
	if r == nil {
		r = &record{id: in.ID, opened: s.Now()}
		s.byID[in.ID] = r
		s.order = append(s.order, r)
	}
	if u.Kind == diagnosis.Opened && in.Status == diagnosis.Firing {
		r.pagedAt = s.Now()
		thread := diagnosis.Thread{Channel: "replay", TS: fmt.Sprintf("%d.000000", s.Now().Unix())}
		if got, ok := live.Annotate(in.ID, func(in *diagnosis.Incident) { in.Thread = thread }); ok {
			in = got
		} else {
			in.Thread = thread
		}
	}
	if u.Kind == diagnosis.Reopened {
		r.reopened++
	}
	r.kind = u.Kind
	if r.first.StartsAt.IsZero() {
		r.note(in) // a flap moves its alert's start later: the first snapshot has the earliest
	}
	r.pending = &in
	switch u.Kind {
	case diagnosis.IncidentResolved, diagnosis.Settled, diagnosis.Retired:
		s.diagnose(ctx, live, r)
	}
}

func (s *Simulator) diagnose(ctx context.Context, live *diagnosis.Live, r *record) {
	r.note(*r.pending)
	r.diagnosis = live.Diagnose(ctx, *r.pending)
	r.pending = nil
}

// note keeps what the report says of the incident's latest snapshot.
func (r *record) note(in diagnosis.Incident) {
	r.alerts = in.AlertCount()
	r.resolvedAt = in.ResolvedAt
	seen := map[string]bool{}
	r.services = r.services[:0]
	for _, a := range in.Alerts {
		// A flap moves its alert's start: the incident began at the earliest.
		if r.first.StartsAt.IsZero() || a.StartsAt.Before(r.first.StartsAt) {
			r.first = a
		}
		n := a.NodeOrService()
		if n != "" && !seen[n] {
			seen[n] = true
			r.services = append(r.services, n)
		}
	}
	for n := range in.More.Nodes {
		if n != diagnosis.TallyOther && !seen[n] {
			seen[n] = true
			r.services = append(r.services, n)
		}
	}
	slices.Sort(r.services)
}
