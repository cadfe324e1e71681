package bot

import (
	"context"
	"sync"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Live is the incidents the bot turns into cards: it feeds them alerts,
// reads and marks them, and runs them to hear of every burst.
// diagnosis.Live is it.
type Live interface {
	Add(alerts ...diagnosis.Alert) []diagnosis.Outcome
	Incident(id string) (diagnosis.Incident, bool)
	Annotate(id string, f func(*diagnosis.Incident)) (diagnosis.Incident, bool)
	// Resolve resolves a firing incident by hand; its resolution is
	// published as its alerts' would be. Merge moves one incident's
	// alerts into another.
	Resolve(id string, by diagnosis.Mark) (diagnosis.Incident, bool)
	Merge(from, into string) (was, now diagnosis.Incident, err error)
	// Split moves one service's alerts out of an incident into a new
	// one, which is published as opened.
	Split(id, service string, by diagnosis.Mark) (old, split diagnosis.Incident, err error)
	Run(ctx context.Context, sink diagnosis.Sink) error
	// Undelivered hands back an incident whose card Slack did not take,
	// to be published again at retryAt.
	Undelivered(id string, changes []diagnosis.Change, retryAt time.Time) bool
}

// Diagnoses keeps the latest diagnosis of each live incident, which a
// card and its buttons show; diagnosis.Live is it.
type Diagnoses interface {
	// Diagnose diagnoses an incident and keeps the result as its latest.
	Diagnose(ctx context.Context, in diagnosis.Incident) diagnosis.Diagnosis
	Latest(id string) (diagnosis.Diagnosis, bool)
	// Forget drops a resolved incident's latest diagnosis.
	Forget(id string)
	// Find returns an incident and its diagnosis, live or from the store.
	Find(ctx context.Context, id string) (diagnosis.Incident, diagnosis.Diagnosis, bool)
}

// Index finds incidents: the one whose card starts a thread, and every
// live one; diagnosis.Live is it.
type Index interface {
	ByThread(ctx context.Context, t diagnosis.Thread) (id string, ok bool)
	Open() []diagnosis.Incident
}

var (
	_ Live      = (*diagnosis.Live)(nil)
	_ Diagnoses = (*diagnosis.Live)(nil)
	_ Index     = (*diagnosis.Live)(nil)
)

// cardLocks serialise what the bot does to one incident's card
// (diagnose, render, post or update), so that an older render never
// overwrites a newer one; cards of different incidents do not wait for
// each other. An incident's lock exists while someone holds or waits
// for it.
type cardLocks struct {
	mu sync.Mutex
	m  map[string]*cardLock
}

type cardLock struct {
	sync.Mutex
	refs int
}

// lock takes an incident's card lock and returns its release.
func (c *cardLocks) lock(id string) (unlock func()) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*cardLock{}
	}
	l := c.m[id]
	if l == nil {
		l = &cardLock{}
		c.m[id] = l
	}
	l.refs++
	c.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		c.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.m, id)
		}
		c.mu.Unlock()
	}
}
