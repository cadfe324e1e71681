package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// TestAShortStormGivesOneCardPerIncident runs the -short storm: the real
// bot, built and run as a subprocess, serves the emulator while 1,000
// alerts on 50 services relay in 10 s. Five incidents must give exactly
// five cards, within the Web API bound and GROUP_WAIT + 2 s.
func TestAShortStormGivesOneCardPerIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bot for about 30 s")
	}
	testbed.MustFindBinary(t, "the Go toolchain", "go") // to build the bot
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, []string{"-scenario", "storm", "-short", "-json", "-quiet"}, &stdout, &stderr)
	if code != 0 {
		t.Errorf("loadgen exited %d: %s\n%s", code, stderr.String(), stdout.String())
	}
	var results []result
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil || len(results) != 1 {
		t.Fatalf("want one JSON result, got %d (%v):\n%s", len(results), err, stdout.String())
	}
	r := results[0]
	if got, want := r.Cards, 5; got != want || r.NoCard != 0 {
		t.Errorf("cards: got %d (incidents without one: %d), want %d", got, r.NoCard, want)
	}
	if got, bound := r.WebAPI, 100; got >= bound {
		t.Errorf("Web API calls: got %d %v, want < %d", got, r.ByMethod, bound)
	}
	if got, want := r.Alerts, 1000; got < want {
		t.Errorf("alerts relayed: got %d, want at least %d", got, want)
	}
	for _, tg := range r.Targets {
		if !tg.Met {
			t.Errorf("target %s missed: got %s, want %s", tg.Name, tg.Got, tg.Want)
		}
	}
}

// TestTheEstateIsTwentyUnrelatedIncidents: the graph loadgen gives the bot
// parses, has ten services a cluster, and relates no two clusters.
func TestTheEstateIsTwentyUnrelatedIncidents(t *testing.T) {
	g, err := graph.Parse(graphYAML(20))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Len(), 200; got != want {
		t.Errorf("nodes: got %d, want %d", got, want)
	}
	for k := range 20 {
		for j := range perCluster {
			a := serviceName(k, j)
			if got := clusterOf(a); got != k {
				t.Errorf("clusterOf(%s): got %d, want %d", a, got, k)
			}
			if b := serviceName(k, 0); j > 0 && !g.Related(a, b) {
				t.Errorf("%s and %s, of one incident, are not related", a, b)
			}
			if b := serviceName((k+1)%20, j); g.Related(a, b) {
				t.Errorf("%s and %s, of two incidents, are related", a, b)
			}
		}
	}
}

// TestTheStormPlanRelaysEveryAlertOfEveryIncident: the plan sends at least
// the alerts asked for within the duration, about every incident, starting
// each incident with its root cause.
func TestTheStormPlanRelaysEveryAlertOfEveryIncident(t *testing.T) {
	plan := stormPlan(time.Now(), 20, 10000, time.Minute)
	sent, first := 0, map[int]string{}
	for _, n := range plan {
		sent += len(n.Alerts)
		if n.At >= time.Minute {
			t.Fatalf("notification at %v, after the minute", n.At)
		}
		if _, ok := first[n.Incident]; !ok {
			first[n.Incident] = n.Alerts[0].Service()
		}
	}
	if sent < 10000 || sent > 10100 {
		t.Errorf("alerts sent: got %d, want 10000 (whole notifications)", sent)
	}
	for k := range 20 {
		if got, want := first[k], serviceName(k, 0); got != want {
			t.Errorf("incident %d starts on %q, want its root %q", k, got, want)
		}
	}
}
