package oncall

import (
	"context"
	"log/slog"
	"time"
)

// Ledger remembers which weeks' reports were posted, so that a restart
// never posts one twice; the store implements it.
type Ledger interface {
	// ClaimWeek takes a week's report for posting: false when it was
	// posted already, or another claim on it is still fresh.
	ClaimWeek(ctx context.Context, week string, at time.Time) (bool, error)
	// PostedWeek marks a claimed week's report posted.
	PostedWeek(ctx context.Context, week string, at time.Time) error
	// ReleaseWeek gives up a claim whose post failed, to try again.
	ReleaseWeek(ctx context.Context, week string) error
}

// WeeklyConfig configures the weekly report.
type WeeklyConfig struct {
	// Loc is the time zone of Monday 09:00; nil is UTC.
	Loc *time.Location
	Now func() time.Time
	// Ledger keeps the weeks posted; Post posts the report of [from, to).
	Ledger Ledger
	Post   func(ctx context.Context, from, to time.Time) error
	// Retry is how long a failed post waits to try again; default 15m.
	Retry time.Duration
	// CatchUp is how late a report missed while nightowl was down is
	// still posted when it starts; default 24h. Later, it waits for the
	// next Monday.
	CatchUp time.Duration
	Logger  *slog.Logger
}

// Weekly posts the report of the week before, each Monday at 09:00; a
// Monday missed while nightowl was down is posted when it starts, within
// CatchUp.
type Weekly struct {
	cfg WeeklyConfig
	log *slog.Logger
}

// NewWeekly builds the weekly report's schedule; Run runs it.
func NewWeekly(cfg WeeklyConfig) *Weekly {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 15 * time.Minute
	}
	if cfg.CatchUp <= 0 {
		cfg.CatchUp = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Weekly{cfg: cfg, log: cfg.Logger.With("component", "weekly_report")}
}

// Slot is the time this week's report is due: Monday 09:00 in loc of the
// week t falls in.
func Slot(t time.Time, loc *time.Location) time.Time {
	m := Monday(t, loc)
	return time.Date(m.Year(), m.Month(), m.Day(), 9, 0, 0, 0, loc)
}

// Run posts each week's report when it is due, until ctx ends.
func (w *Weekly) Run(ctx context.Context) error {
	for {
		now := w.cfg.Now()
		slot := Slot(now, w.cfg.Loc)
		next := slot
		if !now.Before(slot) {
			next = Slot(slot.AddDate(0, 0, 7), w.cfg.Loc)
			if now.Sub(slot) < w.cfg.CatchUp && !w.post(ctx, slot) {
				next = now.Add(w.cfg.Retry)
			}
		}
		t := time.NewTimer(next.Sub(w.cfg.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// post posts the report due at slot unless it was posted; false when it
// failed and should be tried again.
func (w *Weekly) post(ctx context.Context, slot time.Time) bool {
	monday := Monday(slot, w.cfg.Loc)
	week := monday.Format(time.DateOnly)
	log := w.log.With("week", week)
	ok, err := w.cfg.Ledger.ClaimWeek(ctx, week, w.cfg.Now())
	switch {
	case ctx.Err() != nil:
		return true
	case err != nil:
		log.Error("claim the weekly report", "err", err)
		return false
	case !ok:
		return true // posted already
	}
	from := Monday(monday.AddDate(0, 0, -1), w.cfg.Loc)
	if err := w.cfg.Post(ctx, from, monday); err != nil {
		log.Error("post the weekly report; will try again", "err", err, "retry", w.cfg.Retry)
		if err := w.cfg.Ledger.ReleaseWeek(context.WithoutCancel(ctx), week); err != nil {
			log.Error("release the weekly report's claim", "err", err)
		}
		return false
	}
	if err := w.cfg.Ledger.PostedWeek(context.WithoutCancel(ctx), week, w.cfg.Now()); err != nil {
		log.Error("mark the weekly report posted", "err", err)
	}
	log.Info("weekly report posted", "from", from, "to", monday)
	return true
}
