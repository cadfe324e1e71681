package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// The fault suite: Slack, the network, Prometheus, the model and the disk
// failing the ways they do in production, through the emulator and real
// processes. Each test ends on what matters after an outage, read from
// SQLite and from the emulator's channels, never from log lines: every
// alert on the record exactly once, one card and one page per incident, no
// burst posted twice, the card in its final state. (SIGKILL, commit before
// ack and cards retried until posted have tests of their own.)

// relayOneByOne relays each alert in a message of its own, as Alertmanager
// does for alerts grouped by name and service, calling before(i) first.
func relayOneByOne(t *testing.T, hook string, alerts []diagnosis.Alert, before func(i int)) {
	t.Helper()
	for i := range alerts {
		if before != nil {
			before(i)
		}
		MustRelay(t, hook, []string{"alertname"}, alerts[i:i+1])
	}
}

// relayOne posts one alert as Alertmanager would; unlike MustRelay it may
// run outside the test's goroutine.
func relayOne(hook string, a diagnosis.Alert) error {
	g := alertmanager.NewGroup("fault", []string{"alertname"}, []diagnosis.Alert{a}, "http://alertmanager.test:9093")
	body, err := alertmanager.SlackPayload(g, alertmanager.Nightowl)
	if err != nil {
		return err
	}
	return alertmanager.Post(context.Background(), http.DefaultClient, hook, body)
}

// mustCardCounting waits until the one card counts n alerts, and returns it.
func mustCardCounting(t *testing.T, emu *slackemu.Server, n int, timeout time.Duration) slackemu.Message {
	t.Helper()
	want := fmt.Sprintf("(%d alerts → 1 page)", n)
	MustWait(t, emu, timeout, "the card to count "+want, func() bool {
		ms := emu.Messages(chIncidents)
		return len(ms) > 0 && strings.Contains(ms[0].Text, want)
	})
	return emu.Messages(chIncidents)[0]
}

// mustResolveCard relays the resolution of alerts and waits for the card to
// turn resolved and its thread to close.
func mustResolveCard(t *testing.T, emu *slackemu.Server, hook string, alerts []diagnosis.Alert, card slackemu.Message) {
	t.Helper()
	MustRelay(t, hook, []string{"namespace"}, resolveAll(alerts))
	MustWait(t, emu, 30*time.Second, "the card to turn resolved", func() bool {
		m, _ := emu.Message(chIncidents, card.TS)
		return strings.Contains(m.Text, "· resolved") && repliesWith(emu, chIncidents, card.TS, "resolved after") > 0
	})
}

// alertRows counts the alert log's rows by fingerprint and status. Call it
// once nightowl has stopped.
func alertRows(t *testing.T, dbPath string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath) // the driver store registers
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT fingerprint, status, count(*) FROM alerts GROUP BY fingerprint, status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var fp, status string
		var n int
		if err := rows.Scan(&fp, &status, &n); err != nil {
			t.Fatal(err)
		}
		out[fp+" "+status] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// burstTitle reads how many alerts a burst reply announces ("INC-…: 4
// alerts grouped into INC-…", "INC-…: 2 new alerts · 1 resolved").
var burstTitle = regexp.MustCompile(`: (\d+) (?:alerts? grouped into|new alerts?)`)

// assertWhole checks what every fault must leave intact once nightowl has
// stopped: each relayed alert (firing, and resolved when resolved) in
// SQLite exactly once and nothing else; cards top-level messages in
// #incidents, each paging on-call once; every firing alert announced in
// one burst reply only.
func assertWhole(t *testing.T, emu *slackemu.Server, dbPath string, relayed []diagnosis.Alert, cards int) {
	t.Helper()
	rows := alertRows(t, dbPath)
	want := map[string]int{}
	firing := 0
	for _, a := range relayed {
		want[a.Fingerprint+" "+string(a.Status)]++
		if a.Status == diagnosis.Firing {
			firing++
		}
	}
	for k, n := range want {
		if rows[k] != n {
			t.Errorf("alert %s: %d rows in SQLite, want %d", k, rows[k], n)
		}
	}
	for k, n := range rows {
		if want[k] == 0 {
			t.Errorf("alert %s: %d rows in SQLite, never relayed", k, n)
		}
	}
	ms := emu.Messages(chIncidents)
	if len(ms) != cards {
		t.Errorf("%d top-level messages in #incidents, want %d cards: %q", len(ms), cards, texts(ms))
	}
	if got := notifications(emu); got[uOnCall] != cards || len(got) != 1 {
		t.Errorf("notifications %v, want %d page(s) of %s only", got, cards, uOnCall)
	}
	announced := 0
	for _, card := range ms {
		closings := 0
		for _, r := range emu.Replies(chIncidents, card.TS) {
			if m := burstTitle.FindStringSubmatch(r.Text); m != nil {
				n, _ := strconv.Atoi(m[1])
				announced += n
			}
			if strings.Contains(r.Text, "resolved after") {
				closings++
			}
		}
		if closings > 1 {
			t.Errorf("card %s: %d closing replies, want at most 1", card.TS, closings)
		}
	}
	if cards > 0 && announced != firing {
		t.Errorf("the threads announce %d new alerts, want %d (a burst posted twice, or one lost):\n%s",
			announced, firing, emu.Transcript(chIncidents))
	}
}

// TestFaultTheSocketDropsMidStorm: the WebSocket is cut without a close
// frame twice while the storm is being relayed, once right after an
// envelope was written (its ack is lost) and once between envelopes.
// slack-go reconnects through apps.connections.open; Slack redelivers the
// envelope whose ack it never saw, with retry_attempt 1, and delivers what
// was posted meanwhile on the new socket; nightowl processes each message
// once.
func TestFaultTheSocketDropsMidStorm(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, nil)
	MustWait(t, emu, 10*time.Second, "the socket", func() bool { return emu.Connected() == 1 })

	storm := stormNow(t)
	relayed := make(chan error, 1)
	go func() { // as fast as Alertmanager posts, while the sockets drop
		for _, a := range storm {
			if err := relayOne(hook, a); err != nil {
				relayed <- err
				return
			}
		}
		relayed <- nil
	}()
	faults := []struct {
		at   int
		drop func()
	}{
		{8, emu.DropAfterNextEnvelope}, // an envelope nightowl may have read, whose ack is lost
		{20, emu.DropConnections},
	}
	for _, f := range faults {
		MustWait(t, emu, 20*time.Second, fmt.Sprintf("%d alerts relayed", f.at), func() bool { return len(emu.Messages(chAlerts)) >= f.at })
		f.drop()
	}
	if err := <-relayed; err != nil {
		t.Fatal(err)
	}
	card := mustCardCounting(t, emu, len(storm), 60*time.Second)
	MustWait(t, emu, 20*time.Second, "the envelope whose ack was lost, redelivered and acked", func() bool {
		for _, e := range emu.Envelopes() {
			if e.RetryAttempt > 0 && e.Acked {
				return true
			}
		}
		return false
	})
	mustResolveCard(t, emu, hook, storm, card)
	if n := emu.Calls("apps.connections.open"); n < 3 {
		t.Errorf("%d apps.connections.open calls, want a reconnection after each of the 2 drops", n)
	}
	nightowl.stop()
	assertWhole(t, emu, dbPath, append(storm, resolveAll(storm)...), 1)
}

// TestFaultSlackAsksToReconnect: Slack sends {"type":"disconnect"} with a
// reason. slack-go does the same for every reason: it closes the socket and
// opens a new one through apps.connections.open. For refresh_requested that
// is what Slack wants. For link_disabled (Socket Mode switched off for the
// app) a new connection cannot succeed until the app is enabled again:
// apps.connections.open fails, and slack-go retries with exponential
// backoff (from 100 ms, capped at 5 minutes), so nightowl neither exits nor
// spins; once Slack accepts again it reconnects, and what was relayed in
// between is delivered then. Only invalid_auth, account_inactive,
// not_authed, token_revoked or an HTTP 404 from apps.connections.open end
// slack-go's loop, and with it `bot run`, with exit code 1.
func TestFaultSlackAsksToReconnect(t *testing.T) {
	tests := []struct {
		reason  string
		refused int // apps.connections.open calls Slack refuses after the disconnect
	}{
		{"refresh_requested", 0},
		{"link_disabled", 4},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			emu := MustWorkspace(t)
			hook := MustAlertmanagerHook(emu)
			dbPath := filepath.Join(t.TempDir(), "bot.db")
			nightowl := MustRunNightowl(t, emu, dbPath, nil)
			MustWait(t, emu, 10*time.Second, "the socket", func() bool { return emu.Connected() == 1 })

			storm := stormNow(t)
			relayOneByOne(t, hook, storm, func(i int) {
				if i == 12 {
					emu.FailCalls("apps.connections.open", tt.refused, http.StatusServiceUnavailable)
					emu.Disconnect(tt.reason)
				}
			})
			card := mustCardCounting(t, emu, len(storm), 60*time.Second)
			mustResolveCard(t, emu, hook, storm, card)
			// One open at start, the refused ones, the one that worked.
			if n, want := emu.Calls("apps.connections.open"), 2+tt.refused; n != want || emu.Connected() != 1 {
				t.Errorf("%d apps.connections.open calls and %d sockets, want %d calls and 1 socket", n, emu.Connected(), want)
			}
			nightowl.stop() // fails the test if Run ended with an error
			assertWhole(t, emu, dbPath, append(storm, resolveAll(storm)...), 1)
		})
	}
}

// TestFaultARedeliveredAlertMessageIsRecordedOnce: Slack delivers the same
// alert message again with retry_attempt set (it missed nightowl's ack),
// once at once and once after the card is out. nightowl records the alerts
// once and posts one card and one burst.
func TestFaultARedeliveredAlertMessageIsRecordedOnce(t *testing.T) {
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, nil)
	storm := stormNow(t)[:5]
	MustRelay(t, hook, []string{"namespace"}, storm)
	relayed := emu.Messages(chAlerts)
	if len(relayed) != 1 {
		t.Fatalf("%d messages relayed, want 1", len(relayed))
	}
	ts := relayed[0].TS
	MustWait(t, emu, 10*time.Second, "nightowl's ack", func() bool {
		envs := emu.MessageEnvelopes(chAlerts, ts)
		return len(envs) == 1 && envs[0].Acked
	})
	if err := emu.Redeliver(chAlerts, ts, "timeout"); err != nil {
		t.Fatal(err)
	}
	card := mustCardCounting(t, emu, len(storm), 20*time.Second)
	if err := emu.Redeliver(chAlerts, ts, "http_error"); err != nil {
		t.Fatal(err)
	}
	MustWait(t, emu, 10*time.Second, "the acks of both redeliveries", func() bool {
		envs := emu.MessageEnvelopes(chAlerts, ts)
		return len(envs) == 3 && envs[1].Acked && envs[2].Acked
	})
	// A repeat would show within GROUP_WAIT (1s) as a burst or a new count.
	time.Sleep(2 * time.Second)
	if m, _ := emu.Message(chIncidents, card.TS); !strings.Contains(m.Text, fmt.Sprintf("(%d alerts → 1 page)", len(storm))) {
		t.Errorf("the card now says %q", m.Text)
	}
	if n := repliesWith(emu, chIncidents, card.TS, "repeat notification"); n != 0 {
		t.Errorf("%d replies count a redelivery as a repeat notification", n)
	}
	nightowl.stop()
	assertWhole(t, emu, dbPath, storm, 1)
}

// TestFaultPostsAreRateLimitedForAMinute: Slack answers chat.postMessage
// with 429 and Retry-After: 10 six times in a row, a minute of refusals
// from the moment the card is first tried. The card lands after it, once,
// with one page. It runs in parallel with the other slow fault tests; the
// minute is real because slack-go's waits (Retry-After plus up to a second
// of jitter) and nightowl's per-call deadline (30 s) are real.
func TestFaultPostsAreRateLimitedForAMinute(t *testing.T) {
	t.Parallel()
	emu := MustWorkspace(t)
	hook := MustAlertmanagerHook(emu)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	nightowl := MustRunNightowl(t, emu, dbPath, nil)
	const refusals, retryAfter = 6, 10 * time.Second
	emu.RateLimit("chat.postMessage", refusals, retryAfter)
	storm := stormNow(t)[:5]
	start := time.Now()
	MustRelay(t, hook, []string{"namespace"}, storm)
	card := mustCardCounting(t, emu, len(storm), 150*time.Second)
	took := time.Since(start)
	limited := 0
	for _, c := range emu.CallLog() {
		if c.Method == "chat.postMessage" && c.Error == "ratelimited" {
			limited++
		}
	}
	if limited != refusals || took < (refusals-1)*retryAfter {
		t.Errorf("card after %s and %d rate-limited posts, want it after all %d (about a minute)", took.Round(time.Second), limited, refusals)
	}
	t.Logf("the card landed %s after the relay, after %d answers 429", took.Round(time.Millisecond), limited)
	mustResolveCard(t, emu, hook, storm, card)
	nightowl.stop()
	assertWhole(t, emu, dbPath, append(storm, resolveAll(storm)...), 1)
}

// TestFaultAFailedCardUpdateIsRetriedUntilTheCardIsResolved: Slack's
// servers fail chat.update of the card (HTTP 500 or 503) just as the
// incident resolves; the card must still end resolved, without a second
// card or page.
func TestFaultAFailedCardUpdateIsRetriedUntilTheCardIsResolved(t *testing.T) {
	tests := []struct {
		name string
		n    int
		f    slackemu.Failure
	}{
		{"HTTP 500 three times", 3, slackemu.Failure{Status: http.StatusInternalServerError}},
		{"HTTP 503 once", 1, slackemu.Failure{Status: http.StatusServiceUnavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := MustWorkspace(t)
			hook := MustAlertmanagerHook(emu)
			dbPath := filepath.Join(t.TempDir(), "bot.db")
			nightowl := MustRunNightowl(t, emu, dbPath, nil)
			storm := stormNow(t)[:5]
			MustRelay(t, hook, []string{"namespace"}, storm)
			card := mustCardCounting(t, emu, len(storm), 20*time.Second)
			emu.FailUpdates(chIncidents, card.TS, tt.n, tt.f)
			mustResolveCard(t, emu, hook, storm, card)
			failed := 0
			for _, c := range emu.CallLog() {
				if c.Method == "chat.update" && !c.OK {
					failed++
				}
			}
			if failed != tt.n {
				t.Errorf("%d chat.update calls failed, want the %d injected", failed, tt.n)
			}
			nightowl.stop()
			assertWhole(t, emu, dbPath, append(storm, resolveAll(storm)...), 1)
		})
	}
}
