package bot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// ErrTokenRefused is what Run returns when Slack refuses the bot token at
// start (invalid_auth, not_authed, account_inactive, token_revoked):
// trying again cannot help, a person must give a good token.
var ErrTokenRefused = errors.New("Slack refuses the bot token")

// refusedToken is the error code of an answer that refuses the token, ""
// for any other failure (which may pass: Slack down, slow or unreachable).
func refusedToken(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired":
			return se.Err
		}
	}
	return ""
}

// Bounds of the waits between two auth.test calls at start.
const (
	identifyFirst = time.Second
	identifyMax   = time.Minute
)

// identifyBackoff is the wait after n failed auth.test calls: 1 s doubling
// to 1 min, each spread over [d/2, 3d/2) so that replicas restarted
// together do not knock together.
func identifyBackoff(n int) time.Duration {
	d := identifyFirst
	for i := 1; i < n && d < identifyMax; i++ {
		d *= 2
	}
	d = min(d, identifyMax)
	return d/2 + rand.N(d)
}

// startup is how far the bot is in learning who it is: what readiness
// reports until auth.test has answered.
type startup struct {
	mu    sync.Mutex
	done  bool
	err   error     // the last failure, nil before the first answer
	retry time.Time // when the next auth.test goes out
}

// Identified says whether Slack has told the bot who it is (auth.test):
// nil once it has, else why not yet, for readiness: "auth.test: … dial
// tcp …: connection refused, retrying in 8s".
func (b *Bot) Identified() error {
	s := &b.startup
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.done:
		return nil
	case s.err == nil:
		return errors.New("asking Slack who the bot is (auth.test)")
	}
	if wait := time.Until(s.retry); wait > 0 {
		return fmt.Errorf("%w, retrying in %s", s.err, wait.Round(time.Second))
	}
	return fmt.Errorf("%w, retrying now", s.err)
}

// identify asks Slack who the bot is until it answers: a Slack that cannot
// be reached or fails is asked again after identifyBackoff, a token it
// refuses ends the start with ErrTokenRefused. It returns ctx's error when
// ctx ends first.
func (b *Bot) identify(ctx context.Context) (Identity, error) {
	s := &b.startup
	for n := 1; ; n++ {
		me, err := b.conn.Identify(ctx)
		if err == nil {
			s.mu.Lock()
			s.done, s.err = true, nil
			s.mu.Unlock()
			return me, nil
		}
		if ctx.Err() != nil {
			return Identity{}, ctx.Err()
		}
		if code := refusedToken(err); code != "" {
			return Identity{}, fmt.Errorf("%w (auth.test answered %s)", ErrTokenRefused, code)
		}
		wait := identifyBackoff(n)
		s.mu.Lock()
		s.err, s.retry = err, time.Now().Add(wait)
		s.mu.Unlock()
		b.log.Warn("Slack cannot be reached: asking again", "err", err, "attempt", n, "retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Identity{}, ctx.Err()
		case <-t.C:
		}
	}
}
