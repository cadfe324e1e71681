package diagnosis

import (
	"context"
	"time"
)

// Advance publishes to sink, as Run does, every update due by now on the
// Grouper's clock, and returns when the next one is due (zero: none). It
// is Run for a simulated clock: `bot replay` moves GrouperConfig.Now
// forward and calls Advance, so GROUP_WAIT, flap windows and retirement
// happen as they would live, without sleeping. Never call it while Run runs.
func (l *Live) Advance(ctx context.Context, sink Sink, now time.Time) time.Time {
	l.mu.Lock()
	l.sink = sink
	l.mu.Unlock()
	return l.grouper.Advance(ctx, now)
}

// Advance publishes every update due by now and returns when the next one
// is due (zero: none); see Live.Advance.
func (g *Grouper) Advance(ctx context.Context, now time.Time) time.Time {
	for {
		updates, next := g.due(now)
		for _, u := range updates {
			g.sink.Publish(ctx, u)
		}
		if len(updates) == 0 {
			return next
		}
	}
}
