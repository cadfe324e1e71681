package bot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// flakyConn answers auth.test with its errors in turn, then with who the
// bot is; it records when each call came.
type flakyConn struct {
	errs  []error
	calls []time.Time
}

func (c *flakyConn) Identify(context.Context) (Identity, error) {
	c.calls = append(c.calls, time.Now())
	if len(c.errs) > 0 {
		err := c.errs[0]
		c.errs = c.errs[1:]
		return Identity{}, err
	}
	return Identity{UserID: "U0NIGHTOWL", BotID: "B0NIGHTOWL"}, nil
}

func (c *flakyConn) Listen(ctx context.Context, _ func(context.Context, socketmode.Event)) error {
	<-ctx.Done()
	return nil
}

func errText(err error) string {
	if err == nil {
		return "ready"
	}
	return err.Error()
}

var errRefused = errors.New(`Post "http://127.0.0.1:1/api/auth.test": dial tcp 127.0.0.1:1: connect: connection refused`)

func TestIdentifyAsksAgainUntilSlackAnswersAndStopsAtARefusedToken(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		wantErr   error // nil: identified
	}{
		{"a Slack that answers at once is asked once", nil, 1, nil},
		{"a Slack that cannot be reached is asked again until it answers",
			[]error{errRefused, errRefused, errRefused}, 4, nil},
		{"a Slack that fails with 503 is asked again", []error{slack.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}}, 2, nil},
		{"invalid_auth ends the start at once", []error{slack.SlackErrorResponse{Err: "invalid_auth"}}, 1, ErrTokenRefused},
		{"a revoked token ends the start after an unreachable Slack", []error{errRefused, slack.SlackErrorResponse{Err: "token_revoked"}}, 2, ErrTokenRefused},
		{"account_inactive ends the start", []error{slack.SlackErrorResponse{Err: "account_inactive"}}, 1, ErrTokenRefused},
		{"not_authed ends the start", []error{slack.SlackErrorResponse{Err: "not_authed"}}, 1, ErrTokenRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				conn := &flakyConn{errs: tt.errs}
				b := &Bot{conn: conn, log: slog.New(slog.DiscardHandler)}
				if got := errText(b.Identified()); !strings.Contains(got, "asking Slack who the bot is") {
					t.Errorf("before the first call Identified = %q", got)
				}
				me, err := b.identify(t.Context())
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && me.BotID != "B0NIGHTOWL") {
					t.Fatalf("identify = %+v, %v; want %v", me, err, tt.wantErr)
				}
				if len(conn.calls) != tt.wantCalls {
					t.Errorf("%d auth.test calls, want %d", len(conn.calls), tt.wantCalls)
				}
				for i := 1; i < len(conn.calls); i++ {
					wait, d := conn.calls[i].Sub(conn.calls[i-1]), identifyFirst<<(i-1)
					if wait < d/2 || wait >= d*3/2 {
						t.Errorf("wait before call %d = %v, want in [%v, %v)", i+1, wait, d/2, d*3/2)
					}
				}
				if tt.wantErr == nil && b.Identified() != nil {
					t.Errorf("identified, yet Identified = %v", b.Identified())
				}
				if tt.wantErr != nil && !strings.Contains(err.Error(), "auth.test answered ") {
					t.Errorf("error %q does not say what Slack answered", err)
				}
			})
		})
	}
}

// TestIdentifiedSaysWhyAndWhenItAsksAgain: while Slack cannot be reached,
// readiness reads the last failure and the time left before the next try.
func TestIdentifiedSaysWhyAndWhenItAsksAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := &flakyConn{errs: []error{errRefused, errRefused, errRefused, errRefused}}
		b := &Bot{conn: conn, log: slog.New(slog.DiscardHandler)}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { _, err := b.identify(ctx); done <- err }()
		time.Sleep(2500 * time.Millisecond) // three calls: at 0, ~1s, ~3s
		synctest.Wait()
		got := errText(b.Identified())
		if !strings.Contains(got, "connection refused, retrying in ") || !strings.HasSuffix(got, "s") {
			t.Errorf("Identified = %q, want the failure and when it asks again", got)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("identify after cancel = %v", err)
		}
	})
}

func TestIdentifyBackoffGrowsToAMinute(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 7: time.Minute, 30: time.Minute} {
		for range 50 {
			if got := identifyBackoff(n); got < want/2 || got >= want*3/2 {
				t.Fatalf("identifyBackoff(%d) = %v, want in [%v, %v)", n, got, want/2, want*3/2)
			}
		}
	}
}
