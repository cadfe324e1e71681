package bot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// AlertChecker tells whether Alertmanager holds the alerts relayed into
// Slack; deploy/alertmanager's Client implements it with Alertmanager's API.
type AlertChecker interface {
	// Held reports, for each alert, whether Alertmanager holds it, from an
	// answer Alertmanager gave no earlier than since (when nightowl first
	// received the alerts: an older answer cannot know them). An error
	// means Alertmanager could not be asked.
	Held(ctx context.Context, alerts []diagnosis.Alert, since time.Time) ([]bool, error)
}

// AlertCheckerFunc adapts a function to AlertChecker.
type AlertCheckerFunc func(ctx context.Context, alerts []diagnosis.Alert, since time.Time) ([]bool, error)

// Held calls f.
func (f AlertCheckerFunc) Held(ctx context.Context, alerts []diagnosis.Alert, since time.Time) ([]bool, error) {
	return f(ctx, alerts, since)
}

// verifyTimeout bounds one check: a card never waits longer for
// Alertmanager, and an unreachable one makes the card unverified, not late.
const verifyTimeout = 3 * time.Second

// Notes on an unverified card, in plain words.
const noteUnreachable = "could not verify: Alertmanager unreachable"

// verifyState remembers what Alertmanager said of each alert (by
// fingerprint): held once is enough for the alert's life, since an alert
// leaves Alertmanager's API when it resolves, before nightowl hears of it;
// not held while firing here marks it suspect until Alertmanager holds it.
type verifyState struct {
	mu      sync.Mutex
	held    map[string]bool
	missing map[string]bool
}

func newVerifyState() *verifyState {
	return &verifyState{held: map[string]bool{}, missing: map[string]bool{}}
}

// verdict is whether an incident's card may offer a runbook, and if not, why.
type verdict struct {
	ok   bool
	note string
}

// verified reports whether the incident's alerts are known to Alertmanager,
// so that its card may recommend, dry-run and offer to approve a runbook.
// Alerts relayed into Slack can be forged by anyone who can post there; with
// ALERTMANAGER_URL set they are checked against Alertmanager's API. Without
// it every incident counts as verified.
func (b *Bot) verified(ctx context.Context, in diagnosis.Incident) bool {
	return b.verification(ctx, in).ok
}

// verification checks the incident's firing alerts that Alertmanager has
// not vouched for yet. The incident is verified when Alertmanager answers
// and none of its alerts was missing from Alertmanager while it fired; an
// unreachable Alertmanager leaves it unverified (the safe side), and the
// card says so.
func (b *Bot) verification(ctx context.Context, in diagnosis.Incident) verdict {
	if b.deps.Alerts == nil {
		return verdict{ok: true}
	}
	st := b.verify
	var (
		ask   []diagnosis.Alert
		since time.Time
	)
	st.mu.Lock()
	for _, a := range in.Alerts {
		if a.Status == diagnosis.Firing && !st.held[a.Fingerprint] {
			ask = append(ask, a.Alert)
			if a.FirstSeen.After(since) {
				since = a.FirstSeen
			}
		}
	}
	st.mu.Unlock()
	if len(ask) > 0 {
		vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
		held, err := b.deps.Alerts.Held(vctx, ask, since)
		cancel()
		if err == nil && len(held) != len(ask) {
			err = fmt.Errorf("%d answers for %d alerts", len(held), len(ask))
		}
		if err != nil {
			b.log.Warn("alerts not verified: Alertmanager did not answer; the card offers no runbook", keyIncident, in.ID, "alerts", len(ask), "err", err)
			return verdict{note: noteUnreachable}
		}
		st.mu.Lock()
		for i, a := range ask {
			if held[i] {
				st.held[a.Fingerprint] = true
				delete(st.missing, a.Fingerprint)
			} else {
				st.missing[a.Fingerprint] = true
			}
		}
		st.mu.Unlock()
	}
	missing := 0
	st.mu.Lock()
	for _, a := range in.Alerts {
		if st.missing[a.Fingerprint] {
			missing += max(a.Count, 1)
		}
	}
	st.mu.Unlock()
	if missing > 0 {
		b.log.Warn("alerts Alertmanager does not hold: the card offers no runbook", keyIncident, in.ID, "alerts", missing)
		return verdict{note: fmt.Sprintf("Alertmanager does not hold %s of this incident; it may have been posted by someone else", plural(missing, "alert", "alerts"))}
	}
	return verdict{ok: true}
}

// forgetVerified drops what Alertmanager said of a resolved incident's
// alerts; should one fire again, it is asked again.
func (b *Bot) forgetVerified(in diagnosis.Incident) {
	b.verify.mu.Lock()
	defer b.verify.mu.Unlock()
	for _, a := range in.Alerts {
		delete(b.verify.held, a.Fingerprint)
		delete(b.verify.missing, a.Fingerprint)
	}
}

// offered is the diagnosis as the card and its triage show it: an
// unverified card has no runbook to recommend, dry-run or approve, and a
// runbook label that cannot be a runbook ID is not recommended either.
func offered(d diagnosis.Diagnosis, v verdict) diagnosis.Diagnosis {
	if !v.ok || !runbookIDRe.MatchString(d.RecommendedRunbook) {
		d.RecommendedRunbook, d.RunbookReason = "", ""
	}
	return d
}
