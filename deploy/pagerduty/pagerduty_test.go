package pagerduty

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/pagerduty/pdtest"
)

const testKey = "R0UTINGKEY0123456789abcdefABCDEF"

func mustClient(t *testing.T, pd *pdtest.Server) *Client {
	t.Helper()
	c, err := New(Config{RoutingKey: testKey, URL: pd.URL, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func trigger(id string) Event {
	return Event{Action: Trigger, DedupKey: id, Payload: &Payload{Summary: id + " order-service down", Source: "prod/shop",
		Severity: "critical", Timestamp: "2026-11-27T08:00:00Z", Component: "order-service"},
		Links: []Link{{Href: "https://slack.example/archives/C1/p1", Text: "Slack card"}}}
}

func TestEventsReachPagerDutyInTheDocumentedSchema(t *testing.T) {
	pd := pdtest.MustStart(t)
	c := mustClient(t, pd)
	ctx := context.Background()
	long := trigger("INC-2")
	long.Payload.Summary = strings.Repeat("é", 2000)
	for _, e := range []Event{trigger("INC-1"), {Action: Acknowledge, DedupKey: "INC-1"}, {Action: Resolve, DedupKey: "INC-1"}, long} {
		if err := c.Send(ctx, e); err != nil {
			t.Fatalf("%s: %v (refused: %q)", e.Action, err, pd.Refused())
		}
	}
	want := []string{"trigger INC-1", "acknowledge INC-1", "resolve INC-1", "trigger INC-2"}
	if got := pd.Actions(); !slices.Equal(got, want) {
		t.Errorf("PagerDuty got %q, want %q", got, want)
	}
	if n := len([]rune(pd.Accepted()[3].Payload.Summary)); n > 1024 {
		t.Errorf("a summary of %d characters was sent, want it cut to 1024", n)
	}
}

func TestThrottledAndFailedRequestsAreTriedAgainAndARefusalIsNot(t *testing.T) {
	pd := pdtest.MustStart(t)
	c := mustClient(t, pd)
	ctx := context.Background()
	pd.FailNext(429, 503, 500)
	if err := c.Send(ctx, trigger("INC-1")); err != nil {
		t.Fatalf("after 429, 503, 500: %v, want it sent on the fourth try", err)
	}
	if n := pd.Requests(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
	bad := trigger("INC-2")
	bad.Payload.Severity = "page" // nightowl's client refuses it before sending
	err := c.Send(ctx, bad)
	var refused *RefusedError
	if !errors.As(err, &refused) || !refused.Permanent() {
		t.Errorf("severity page: %v, want a permanent refusal", err)
	}
	pd.FailNext(400)
	before := pd.Requests()
	err = c.Send(ctx, trigger("INC-3"))
	if !errors.As(err, &refused) || pd.Requests() != before+1 {
		t.Errorf("a 400: %v after %d requests, want a refusal after one", err, pd.Requests()-before)
	}
	pd.FailNext(503, 503, 503, 503, 503)
	if err := c.Send(ctx, trigger("INC-4")); err == nil || errors.As(err, &refused) {
		t.Errorf("5 × 503: %v, want a failure that may pass", err)
	}
}

func TestARoutingKeyThatIsNot32CharactersIsRefusedAtStart(t *testing.T) {
	if _, err := New(Config{RoutingKey: "short"}); err == nil {
		t.Error("a 5-character routing key was taken")
	}
}
