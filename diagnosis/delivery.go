package diagnosis

import "time"

// restoredWait is the most a restored incident whose card is not out yet
// waits for it: enough to read back the alerts channel after a restart.
const restoredWait = 5 * time.Second

// Undelivered puts back an incident whose card Slack did not take: it is
// published again at retryAt, carrying the changes of the update that
// failed before any that came since. Until a card lands the incident stays
// unpublished, so its next update is an Opened one that pages; if it
// resolves meanwhile, that update is still an Opened one (its card is
// posted as resolved, without a page) rather than Settled, because people
// may have seen nothing of an incident that did happen. It reports whether
// the incident is still in memory.
func (g *Grouper) Undelivered(id string, changes []Change, retryAt time.Time) bool {
	g.mu.Lock()
	t, ok := g.live[id]
	if ok {
		t.published, t.undelivered = false, true
		for i := len(changes) - 1; i >= 0; i-- { // before the newer ones
			t.pending = append([]Change{changes[i]}, t.pending...)
		}
		t.dueAt = retryAt
	}
	g.mu.Unlock()
	g.wake()
	return ok
}
