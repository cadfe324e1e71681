package diagnosis

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Archive recalls incidents that have left memory; the store implements it.
type Archive interface {
	Incident(ctx context.Context, id string) (Incident, error)
	Diagnosis(ctx context.Context, id string) (Diagnosis, error)
	IncidentByThread(ctx context.Context, channel, ts string) (Incident, error)
}

// LiveConfig is what Live is built from.
type LiveConfig struct {
	// Grouper forms the incidents (GROUP_WAIT, graph, clock).
	Grouper GrouperConfig
	// Diagnoser diagnoses them; required.
	Diagnoser Diagnoser
	// Archive recalls incidents that left memory; nil recalls none.
	Archive Archive
	Logger  *slog.Logger
}

// Live owns the incidents nightowl is working on: the Grouper that forms
// them, the latest diagnosis of each, and which chat thread is whose. It
// is built before everything that reads it (the bot, the commands, the
// runbook service), each of which sees it through the few methods it
// declares, and it publishes its updates to whoever runs it.
type Live struct {
	grouper   *Grouper
	diagnoser Diagnoser
	archive   Archive
	log       *slog.Logger

	// mu guards the fields below; it is never held while calling the
	// Grouper, the Diagnoser, the Archive or the sink.
	mu      sync.Mutex
	sink    Sink
	latest  map[string]Diagnosis // incident → its latest diagnosis
	threads map[Thread]string    // a card's thread → its incident
	sweepAt int                  // forget left incidents when a map grows this big
}

// sweepMin is the smallest size at which Live looks for incidents that
// left memory, to forget their threads and diagnoses.
const sweepMin = 64

// NewLive builds the live incident state; Run starts its Grouper.
func NewLive(cfg LiveConfig) *Live {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Grouper.Logger == nil {
		cfg.Grouper.Logger = cfg.Logger
	}
	l := &Live{
		diagnoser: cfg.Diagnoser, archive: cfg.Archive, log: cfg.Logger.With("component", "live"),
		latest: map[string]Diagnosis{}, threads: map[Thread]string{}, sweepAt: sweepMin,
	}
	l.grouper = NewGrouper(cfg.Grouper, SinkFunc(l.publish))
	return l
}

// Run runs the Grouper until ctx ends, handing each of its updates to
// sink, one at a time and in order per incident.
func (l *Live) Run(ctx context.Context, sink Sink) error {
	l.mu.Lock()
	l.sink = sink
	l.mu.Unlock()
	return l.grouper.Run(ctx)
}

func (l *Live) publish(ctx context.Context, u Update) {
	l.mu.Lock()
	sink := l.sink
	l.mu.Unlock()
	if sink != nil {
		sink.Publish(ctx, u)
	}
}

// Add takes alerts into their incidents (Grouper.Add).
func (l *Live) Add(alerts ...Alert) []Outcome { return l.grouper.Add(alerts...) }

// Restore takes back incidents that were open before a restart: those
// whose card was posted continue in its thread.
func (l *Live) Restore(incidents ...Incident) {
	l.grouper.Restore(incidents...)
	for _, in := range incidents {
		if !in.Thread.IsZero() {
			l.index(in.Thread, in.ID)
		}
		l.log.Info("incident continues after restart", "incident", in.ID, "channel", in.Thread.Channel, "ts", in.Thread.TS)
	}
}

// RestoreSummarised gives a restored incident back the states of the
// alerts it summarises (Grouper.RestoreSummarised).
func (l *Live) RestoreSummarised(id string, alerts map[string]Status) {
	l.grouper.RestoreSummarised(id, alerts)
}

// Incident returns a snapshot of a live incident.
func (l *Live) Incident(id string) (Incident, bool) { return l.grouper.Incident(id) }

// Annotate changes an incident's chat-side fields (thread, ack,
// escalation) and returns the new snapshot; a new thread is indexed.
func (l *Live) Annotate(id string, f func(*Incident)) (Incident, bool) {
	in, ok := l.grouper.Annotate(id, f)
	if ok && !in.Thread.IsZero() {
		l.index(in.Thread, in.ID)
	}
	return in, ok
}

// Open lists open and recently resolved incidents, newest first.
func (l *Live) Open() []Incident { return l.grouper.Live() }

// IsOpen reports whether an incident is live and not resolved.
func (l *Live) IsOpen(id string) bool {
	in, ok := l.grouper.Incident(id)
	return ok && in.Status != Resolved
}

// Diagnose diagnoses an incident and remembers the result as its latest.
func (l *Live) Diagnose(ctx context.Context, in Incident) Diagnosis {
	d := l.diagnoser.Diagnose(ctx, in)
	l.mu.Lock()
	l.latest[in.ID] = d
	sweep := len(l.latest) >= l.sweepAt
	l.mu.Unlock()
	if sweep {
		l.sweep()
	}
	return d
}

// Latest is an incident's latest diagnosis, if it has one in memory.
func (l *Live) Latest(id string) (Diagnosis, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.latest[id]
	return d, ok
}

// Forget drops an incident's latest diagnosis (it resolved; the store
// keeps it).
func (l *Live) Forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.latest, id)
}

// Find returns an incident and its latest diagnosis, from memory or the
// archive; a diagnosis nobody kept is made anew (and not remembered).
func (l *Live) Find(ctx context.Context, id string) (Incident, Diagnosis, bool) {
	if in, ok := l.grouper.Incident(id); ok {
		d, have := l.Latest(id)
		if !have {
			d = l.diagnoser.Diagnose(ctx, in)
		}
		return in, d, true
	}
	if l.archive == nil {
		return Incident{}, Diagnosis{}, false
	}
	in, err := l.archive.Incident(ctx, id)
	if err != nil {
		return in, Diagnosis{}, false
	}
	d, err := l.archive.Diagnosis(ctx, id)
	if err != nil {
		d = l.diagnoser.Diagnose(ctx, in)
	}
	return in, d, true
}

// ByThread finds the incident whose card starts a thread: a live one by
// the index, else one the archive recalls.
func (l *Live) ByThread(ctx context.Context, t Thread) (string, bool) {
	l.mu.Lock()
	id, ok := l.threads[t]
	l.mu.Unlock()
	if ok {
		if cur, live := l.grouper.ThreadOf(id); live && cur == t {
			return id, true
		}
	}
	if l.archive == nil {
		return "", false
	}
	in, err := l.archive.IncidentByThread(ctx, t.Channel, t.TS)
	if err != nil {
		return "", false
	}
	return in.ID, true
}

func (l *Live) index(t Thread, id string) {
	l.mu.Lock()
	l.threads[t] = id
	sweep := len(l.threads) >= l.sweepAt
	l.mu.Unlock()
	if sweep {
		l.sweep()
	}
}

// sweep forgets the threads and diagnoses of incidents that have left
// the Grouper's memory. It runs when either map has doubled since the
// last sweep, so its cost is spread over the entries it looks at. An
// entry is dropped only when the Grouper, asked after the entry was seen,
// no longer holds its incident: an incident that left never comes back.
// No incident is copied.
func (l *Live) sweep() {
	l.mu.Lock()
	seen := make(map[string]bool, len(l.threads)+len(l.latest))
	for _, id := range l.threads {
		seen[id] = true
	}
	for id := range l.latest {
		seen[id] = true
	}
	l.mu.Unlock()
	l.grouper.holds(seen) // seen[id] now says whether id is live
	l.mu.Lock()
	defer l.mu.Unlock()
	for t, id := range l.threads {
		if live, looked := seen[id]; looked && !live {
			delete(l.threads, t)
		}
	}
	for id := range l.latest {
		if live, looked := seen[id]; looked && !live {
			delete(l.latest, id)
		}
	}
	l.sweepAt = max(sweepMin, 2*max(len(l.threads), len(l.latest)))
}

// Undelivered puts back an incident whose card Slack did not take, to be
// published again at retryAt (Grouper.Undelivered).
func (l *Live) Undelivered(id string, changes []Change, retryAt time.Time) bool {
	return l.grouper.Undelivered(id, changes, retryAt)
}
