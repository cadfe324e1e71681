package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// options are loadgen's flags.
type options struct {
	Scenario  string        // storm, one-incident, soak
	Alerts    int           // alert entries to relay; 0: the scenario's
	Duration  time.Duration // how long to relay; 0: the scenario's
	Incidents int           // storm: incidents (clusters of ten services); 0: the scenario's
	Rate      float64       // soak: alert entries a second
	PerMsg    int           // one-incident: alerts a notification
	GroupWait time.Duration
	Short     bool
	Bot       string // a built bot binary; "" builds ./cmd/bot
	Keep      bool   // keep the temp dir: the bot's log, database and graph
	Log       io.Writer
}

// scenario fills in the defaults of o's scenario (full or -short).
func (o options) scenario() options {
	pick := func(v, full, short int) int {
		if v != 0 {
			return v
		}
		if o.Short {
			return short
		}
		return full
	}
	pickD := func(v, full, short time.Duration) time.Duration {
		if v != 0 {
			return v
		}
		if o.Short {
			return short
		}
		return full
	}
	switch o.Scenario {
	case "storm":
		o.Alerts = pick(o.Alerts, 10000, 1000)
		o.Incidents = pick(o.Incidents, 20, 5)
		o.Duration = pickD(o.Duration, 60*time.Second, 10*time.Second)
	case "one-incident":
		o.Alerts = pick(o.Alerts, 100000, 5000)
		o.Incidents = 1
		o.Duration = pickD(o.Duration, 100*time.Second, 10*time.Second)
		o.PerMsg = pick(o.PerMsg, 30, 30)
	case "soak":
		o.Incidents = 20
		o.Duration = pickD(o.Duration, time.Hour, 30*time.Second)
		if o.Rate == 0 {
			o.Rate = 20
		}
	}
	if o.GroupWait == 0 {
		o.GroupWait = 10 * time.Second
	}
	return o
}

// prepared is a notification rendered into its webhook body.
type prepared struct {
	At       time.Duration
	Incident int
	Alerts   int
	Body     []byte
}

func prepare(ns []notification) ([]prepared, error) {
	out := make([]prepared, len(ns))
	for i, n := range ns {
		body, err := render(n)
		if err != nil {
			return nil, fmt.Errorf("render notification %d: %w", i, err)
		}
		out[i] = prepared{At: n.At, Incident: n.Incident, Alerts: len(n.Alerts), Body: body}
	}
	return out, nil
}

// posted is one notification as relayed.
type posted struct {
	Sent     time.Time
	Incident int
	Alerts   int
	Cum      int // alert entries relayed up to and including this one
}

// relay posts what next gives, each at its time from now, one after
// another as a single Alertmanager does; behind schedule it posts at once.
// next(until) returns the notifications due before until.
func relay(ctx context.Context, h *harness, d time.Duration, next func(until time.Duration) ([]prepared, error)) ([]posted, error) {
	start := time.Now()
	var out []posted
	cum := 0
	for chunk := time.Duration(0); chunk < d; chunk += time.Second {
		batch, err := next(min(chunk+time.Second, d))
		if err != nil {
			return out, err
		}
		for _, p := range batch {
			if wait := time.Until(start.Add(p.At)); wait > 0 {
				select {
				case <-ctx.Done():
					return out, ctx.Err()
				case <-time.After(wait):
				}
			}
			if gone, err := h.exited(); gone {
				return out, fmt.Errorf("bot exited (%v):\n%s", err, h.logTail())
			}
			sent := time.Now()
			if err := h.post(ctx, p.Body); err != nil {
				return out, fmt.Errorf("relay notification %d: %w", len(out), err)
			}
			cum += p.Alerts
			out = append(out, posted{Sent: sent, Incident: p.Incident, Alerts: p.Alerts, Cum: cum})
		}
	}
	return out, nil
}

// fixed serves a prepared plan to relay.
func fixed(plan []prepared) func(time.Duration) ([]prepared, error) {
	return func(until time.Duration) ([]prepared, error) {
		i := 0
		for i < len(plan) && plan[i].At < until {
			i++
		}
		batch := plan[:i]
		plan = plan[i:]
		return batch, nil
	}
}

// settle waits until the bot has made no Web API call for quiet, and at
// least after since+after, or until limit.
func settle(ctx context.Context, h *harness, since time.Time, after, quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		last := since
		for _, c := range h.emu.CallLog() {
			if c.Method != "webhook" && c.At.After(last) {
				last = c.At
			}
		}
		if time.Since(since) >= after && time.Since(last) >= quiet {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runScenario runs one scenario from start to report.
func runScenario(ctx context.Context, o options) (*result, error) {
	o = o.scenario()
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "loadgen: "+format+"\n", args...)
		}
	}
	base := time.Now()
	var next func(time.Duration) ([]prepared, error)
	switch o.Scenario {
	case "storm":
		plan, err := prepare(stormPlan(base, o.Incidents, o.Alerts, o.Duration))
		if err != nil {
			return nil, err
		}
		next = fixed(plan)
	case "one-incident":
		plan, err := prepare(oneIncidentPlan(base, o.Alerts, o.PerMsg, o.Duration))
		if err != nil {
			return nil, err
		}
		next = fixed(plan)
	case "soak":
		s := newSoak(base, o.Incidents, o.Rate)
		next = func(until time.Duration) ([]prepared, error) { return prepare(s.advance(until)) }
	default:
		return nil, fmt.Errorf("unknown scenario %q: storm, one-incident or soak", o.Scenario)
	}
	sampleEvery := time.Second
	if o.Scenario == "soak" && !o.Short {
		sampleEvery = 10 * time.Second
	}
	logf("%s: starting nightowl (%s)", o.Scenario, o.Bot)
	h, err := startHarness(ctx, o.Bot, max(o.Incidents, 1), o.GroupWait, sampleEvery)
	if err != nil {
		return nil, err
	}
	if o.Keep {
		logf("%s: keeping %s", o.Scenario, h.dir)
	} else {
		defer h.remove()
	}
	defer h.close()
	var rows *rowWatcher
	if o.Scenario == "one-incident" {
		rows = watchRows(h.db, 10*time.Millisecond)
	}
	logf("%s: relaying for %v", o.Scenario, o.Duration)
	var heaps heapPair
	if o.Scenario == "soak" {
		// The first profile after a sixth of the soak, once the bot holds a
		// steady set of incidents; the second at the end.
		heaps.start(ctx, h, o.Duration/6, logf)
	}
	posts, err := relay(ctx, h, o.Duration, next)
	if err != nil {
		rows.stop()
		return nil, err
	}
	relayed := time.Now()
	logf("%s: %d notifications relayed; waiting for the bot to settle", o.Scenario, len(posts))
	settle(ctx, h, relayed, o.GroupWait+2*time.Second, 3*time.Second, 2*o.GroupWait+90*time.Second)
	r := measure(h, o, posts, rows.stop())
	if o.Scenario == "soak" {
		heaps.finish(ctx, h, r, logf)
	}
	r.RelayedIn = relayed.Sub(posts[0].Sent)
	if gone, err := h.exited(); gone {
		return r, fmt.Errorf("bot exited (%v):\n%s", err, h.logTail())
	}
	r.judge(o)
	return r, nil
}

// heapPair takes the soak's two heap profiles.
type heapPair struct {
	done   chan struct{}
	before int64
	path   string
	err    error
}

func (p *heapPair) start(ctx context.Context, h *harness, after time.Duration, logf func(string, ...any)) {
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		select {
		case <-ctx.Done():
			p.err = ctx.Err()
			return
		case <-time.After(after):
		}
		p.before, p.path, p.err = h.heapProfile(ctx, "heap-before")
		logf("soak: heap profile %s: %d bytes in use", p.path, p.before)
	}()
}

// finish takes the second profile and puts both on the result.
func (p *heapPair) finish(ctx context.Context, h *harness, r *result, logf func(string, ...any)) {
	<-p.done
	after, path, err := h.heapProfile(ctx, "heap-after")
	if err = errors.Join(p.err, err); err != nil {
		logf("soak: heap profiles: %v", err)
		return
	}
	logf("soak: heap profile %s: %d bytes in use", path, after)
	r.HeapBefore, r.HeapAfter = p.before, after
	r.HeapProfiles = []string{p.path, path}
	if !r.Short {
		r.Targets = append(r.Targets, target{Name: "heap flat (after GC)", Want: "grows < 10% from a sixth of the soak to its end",
			Got: fmt.Sprintf("%.1f MB → %.1f MB", float64(p.before)/(1<<20), float64(after)/(1<<20)), Met: after < p.before*11/10})
	}
}
