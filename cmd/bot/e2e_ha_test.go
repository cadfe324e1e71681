package main

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/lease"
	"github.com/nightowl-sre/nightowl/deploy/lease/leasetest"
	"github.com/nightowl-sre/nightowl/metrics"
)

// Two replicas, one voice (docs/ha.md): two in-process replicas of the
// real run loop elect each other through client-go's fake clientset and
// serve one emulated workspace; the store follows the leader through a
// Litestream file replica.

// The election's terms in these tests: short, with the lease outlasting
// the renew deadline by as much as the deadline, so that a leader cut off
// has stopped speaking before a standby may take over even on a busy
// machine (the defaults, 15s, 10s and 2s, leave 5 s).
const (
	haLease = 4 * time.Second
	haRenew = 2 * time.Second
	haRetry = 400 * time.Millisecond
)

// haReplica is one replica running in the test process.
type haReplica struct {
	id      string
	run     *replicaRun
	elector *lease.Elector
	dbPath  string
	stop    func() // as on SIGTERM: stop, ship the last writes, give the lease up
}

// haBed is the workspace, the API server holding the Lease, and the
// replica both replicas stream the store to.
type haBed struct {
	emu        *slackemu.Server
	hook       string
	cluster    *leasetest.Cluster
	dir        string
	replicaURL string
}

func mustHABed(t *testing.T) *haBed {
	t.Helper()
	emu := MustWorkspace(t)
	dir := t.TempDir()
	return &haBed{emu: emu, hook: MustAlertmanagerHook(emu), cluster: leasetest.New(), dir: dir,
		replicaURL: "file://" + filepath.Join(dir, "replica")}
}

// mustReplica starts replica id: its own database file and log, the
// shared Lease and replica.
func (b *haBed) mustReplica(t *testing.T, id string) *haReplica {
	t.Helper()
	dbPath := filepath.Join(b.dir, id, "bot.db")
	env := map[string]string{
		"SLACK_APP_TOKEN": "xapp-emulator", "SLACK_BOT_TOKEN": "xoxb-emulator", "SLACK_API_URL": b.emu.APIURL(),
		"ALERTS_CHANNEL": chAlerts, "INCIDENTS_CHANNEL": chIncidents, "ALERT_SOURCES": amBot,
		"ONCALL": uOnCall, "ESCALATION": sLeads, "DB_PATH": dbPath, "GROUP_WAIT": "1s", "LOG_LEVEL": "debug",
		"SERVICE_GRAPH": exampleGraphFile(t), "RUNBOOKS_DIR": filepath.Join(b.dir, "no-runbooks"),
		"LEADER_ELECTION": "kubernetes", "POD_NAME": id, "POD_NAMESPACE": "nightowl",
		"REPLICA_URL": b.replicaURL, "REPLICA_SYNC_INTERVAL": "100ms",
	}
	cfg, _, err := LoadConfig("test", nil, func(k string) string { return env[k] }, io.Discard, needSlack)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o750); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(filepath.Dir(dbPath), "nightowl.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := newLogger(logFile, cfg.LogLevel, cfg.LogFormat).With("replica", id)
	elector, err := lease.New(lease.Config{Client: b.cluster.Client(id), Namespace: "nightowl", Name: cfg.LeaseName, Identity: id,
		LeaseDuration: haLease, RenewDeadline: haRenew, RetryPeriod: haRetry, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r := &haReplica{id: id, run: newReplicaRun(cfg, log, elector), elector: elector, dbPath: dbPath}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.run.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("replica %s stopped with: %v", id, err)
			}
			logFile.Close()
		})
	}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			s := string(out)
			if len(s) > 6000 {
				s = "…" + s[len(s)-6000:]
			}
			t.Logf("replica %s log:\n%s", id, s)
		}
	})
	return r
}

// crash kills the replica as a crash does, as far as the others can
// tell: it reaches the API server no more (so it never gives the lease
// up) and stops.
func (b *haBed) crash(r *haReplica) {
	b.cluster.Cut(r.id)
	r.stop()
}

func (r *haReplica) leading() bool { _, on := r.elector.Holder(); return on }

// serving: it leads and its App is up.
func (r *haReplica) serving() bool {
	r.run.mu.Lock()
	defer r.run.mu.Unlock()
	return r.run.app != nil
}

// readyz is the replica's /readyz answer.
func (r *haReplica) readyz() (int, string) {
	srv := metrics.NewServer(metrics.ServerConfig{Registry: r.run.reg, Checks: r.run.checks()})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	return rec.Code, rec.Body.String()
}

// mustOneLeader waits for one replica of the two to serve Slack and
// returns it and the standby.
func mustOneLeader(t *testing.T, emu *slackemu.Server, a, b *haReplica) (leader, standby *haReplica) {
	t.Helper()
	MustWait(t, emu, 20*time.Second, "a leader's socket", func() bool { return emu.Connected() == 1 })
	waitUntil(t, 10*time.Second, "the standby to see the leader", func() bool {
		ha, _ := a.elector.Holder()
		hb, _ := b.elector.Holder()
		return ha != "" && ha == hb
	})
	if a.leading() {
		return a, b
	}
	return b, a
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("gave up after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestWhenTheLeaderCrashesTheStandbyTakesOverTheIncidentWithinTheLease:
// the leader posts the storm's card and crashes (it never gives the lease
// up); alerts relayed while nobody leads wait in Slack; the standby takes
// the lease when it expires, restores the store from the replica, reads
// the alerts back, threads them under the same card and pages nobody
// again. One Socket Mode connection at most, throughout.
func TestWhenTheLeaderCrashesTheStandbyTakesOverTheIncidentWithinTheLease(t *testing.T) {
	t.Parallel()
	bed := mustHABed(t)
	a := bed.mustReplica(t, "nightowl-a")
	b := bed.mustReplica(t, "nightowl-b")
	leader, standby := mustOneLeader(t, bed.emu, a, b)

	if code, body := standby.readyz(); code != 200 || !strings.Contains(body, "leader: ok (standby: "+leader.id+" holds the lease)") {
		t.Errorf("the standby's /readyz: %d\n%s", code, body)
	}
	storm := stormNow(t)
	half := len(storm) / 2
	n := relayEach(t, bed.hook, storm[:half])
	MustWait(t, bed.emu, 20*time.Second, "the card", func() bool { return len(bed.emu.Messages(chIncidents)) == 1 })
	waitForRows(t, leader.dbPath, n, "the first half on record")

	crashed := time.Now()
	bed.crash(leader)
	n += relayEach(t, bed.hook, storm[half:]) // while nobody leads
	took := waitUntil(t, 3*haLease, "the standby to open its socket", func() bool { return bed.emu.Connected() == 1 })
	t.Logf("takeover after a crash: %v from the crash to the standby's socket (lease %v, renew deadline %v, retry %v)",
		took.Round(time.Millisecond), haLease, haRenew, haRetry)
	if took > haLease+haRenew {
		t.Errorf("the standby took %v to take over; want within the lease (%v) and the time to restore and connect", took, haLease)
	}
	if d := time.Since(crashed); d < haLease/2 {
		t.Errorf("the standby took over %v after the crash, before the lease could expire", d)
	}

	waitForRows(t, standby.dbPath, n, "the alerts relayed while nobody led, read back")
	card := bed.emu.Messages(chIncidents)[0]
	MustWait(t, bed.emu, 20*time.Second, "a reply for the alerts relayed while nobody led", func() bool {
		return len(bed.emu.Replies(chIncidents, card.TS)) >= 2
	})
	time.Sleep(2 * time.Second) // time for a second card or page, were there one
	if cards := bed.emu.Messages(chIncidents); len(cards) != 1 {
		t.Errorf("%d cards, want the one the crashed leader posted", len(cards))
	}
	if pages := notifications(bed.emu)[uOnCall]; pages != 1 {
		t.Errorf("on-call paged %d times, want once", pages)
	}
	rows, distinct := recordedRows(t, standby.dbPath)
	if rows != n || distinct != n {
		t.Errorf("%d alert rows (%d distinct) in the new leader's store, want each of the %d relayed exactly once", rows, distinct, n)
	}
	if peak := bed.emu.PeakConnected(); peak != 1 {
		t.Errorf("%d Socket Mode connections open at once, want 1", peak)
	}
}

// TestOnShutdownTheLeaderStopsReadinessFirstAndHandsOverAtOnce: SIGTERM
// turns the leader's readiness false at once; it stops speaking, ships
// its last writes and gives the lease up, and the standby takes over
// well within the lease duration; the thread goes on.
func TestOnShutdownTheLeaderStopsReadinessFirstAndHandsOverAtOnce(t *testing.T) {
	t.Parallel()
	bed := mustHABed(t)
	a := bed.mustReplica(t, "nightowl-a")
	b := bed.mustReplica(t, "nightowl-b")
	leader, standby := mustOneLeader(t, bed.emu, a, b)
	waitUntil(t, 10*time.Second, "the leader to be ready", func() bool { code, _ := leader.readyz(); return code == 200 })
	storm := stormNow(t)
	half := len(storm) / 2
	n := relayEach(t, bed.hook, storm[:half])
	MustWait(t, bed.emu, 20*time.Second, "the card", func() bool { return len(bed.emu.Messages(chIncidents)) == 1 })
	waitForRows(t, leader.dbPath, n, "the first half on record")

	// SIGTERM, as the kubelet sends it: readiness is false before anything
	// else happens.
	stopped := make(chan struct{})
	go func() { leader.stop(); close(stopped) }()
	waitUntil(t, time.Second, "the leader's readiness to turn false", func() bool {
		code, body := leader.readyz()
		return code == 503 && strings.Contains(body, "leader: not ready: shutting down")
	})
	took := waitUntil(t, 3*haLease, "the standby to serve", func() bool { return standby.serving() && bed.emu.Connected() == 1 })
	<-stopped
	t.Logf("handover on shutdown: %v from SIGTERM to the standby's socket", took.Round(time.Millisecond))
	if took >= haLease {
		t.Errorf("the standby took %v to take over from a leader that gave the lease up; want less than the lease (%v)", took, haLease)
	}

	n += relayEach(t, bed.hook, storm[half:])
	waitForRows(t, standby.dbPath, n, "the second half on record")
	card := bed.emu.Messages(chIncidents)[0]
	MustWait(t, bed.emu, 20*time.Second, "a reply for the second half", func() bool {
		return len(bed.emu.Replies(chIncidents, card.TS)) >= 2
	})
	time.Sleep(2 * time.Second)
	if cards := bed.emu.Messages(chIncidents); len(cards) != 1 {
		t.Errorf("%d cards, want one", len(cards))
	}
	if pages := notifications(bed.emu)[uOnCall]; pages != 1 {
		t.Errorf("on-call paged %d times, want once", pages)
	}
	if rows, distinct := recordedRows(t, standby.dbPath); rows != n || distinct != n {
		t.Errorf("%d alert rows (%d distinct), want each of the %d relayed exactly once", rows, distinct, n)
	}
	if peak := bed.emu.PeakConnected(); peak != 1 {
		t.Errorf("%d Socket Mode connections open at once, want 1", peak)
	}
}

// TestALeaderCutOffFromTheAPIServerFallsSilentBeforeTheStandbySpeaks: a
// leader that cannot renew the lease (a network partition) closes its
// socket within the renew deadline, before the lease expires and the
// standby takes it: the two never speak at once. Back on the network, it
// stands by.
func TestALeaderCutOffFromTheAPIServerFallsSilentBeforeTheStandbySpeaks(t *testing.T) {
	t.Parallel()
	bed := mustHABed(t)
	a := bed.mustReplica(t, "nightowl-a")
	b := bed.mustReplica(t, "nightowl-b")
	leader, standby := mustOneLeader(t, bed.emu, a, b)
	waitUntil(t, 10*time.Second, "the leader to be ready", func() bool { code, _ := leader.readyz(); return code == 200 })

	bed.cluster.Cut(leader.id)
	silent := waitUntil(t, 3*haLease, "the cut-off leader to close its socket", func() bool { return !leader.serving() })
	took := waitUntil(t, 3*haLease, "the standby's socket", func() bool { return standby.serving() && bed.emu.Connected() == 1 })
	t.Logf("partition: the old leader fell silent after %v, the standby spoke %v later (lease %v, renew deadline %v)",
		silent.Round(time.Millisecond), took.Round(time.Millisecond), haLease, haRenew)
	if peak := bed.emu.PeakConnected(); peak != 1 {
		t.Errorf("%d Socket Mode connections open at once, want 1", peak)
	}
	bed.cluster.Mend(leader.id)
	time.Sleep(2 * haLease)
	if leader.leading() || !standby.leading() {
		t.Errorf("after the partition: %s leads %v, %s leads %v; want the new leader to keep the lease", leader.id, leader.leading(), standby.id, standby.leading())
	}
	if code, body := leader.readyz(); code != 200 || !strings.Contains(body, "standby: "+standby.id+" holds the lease") {
		t.Errorf("the old leader's /readyz: %d\n%s", code, body)
	}
	MustRelay(t, bed.hook, []string{"alertname"}, stormNow(t)[:1])
	MustWait(t, bed.emu, 20*time.Second, "the new leader's card", func() bool { return len(bed.emu.Messages(chIncidents)) == 1 })
}
