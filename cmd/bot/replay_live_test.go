package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
	"github.com/nightowl-sre/nightowl/diagnosis/replay"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// blackFridayEvents is the Black Friday storm as notifications: each alert
// fires at its start and resolves twenty minutes after the storm began,
// one a second, so that the incident ends and is diagnosed whole.
func blackFridayEvents(t *testing.T) ([]replay.Event, time.Time) {
	t.Helper()
	alerts, err := intake.ParseWebhook(scenarios.BlackFriday)
	if err != nil {
		t.Fatal(err)
	}
	ivs := replay.FromAlerts(alerts)
	end := ivs[0].Start.Add(20 * time.Minute)
	for i := range ivs {
		ivs[i].End = end.Add(time.Duration(i) * time.Second)
	}
	return replay.Events(ivs, end.Add(time.Hour), 0), ivs[0].Start
}

// incidentView is what the two paths must agree on.
type incidentView struct {
	FirstAlert time.Time
	Alerts     int
	Services   []string
	Candidates []string // service and confidence, to the percent
	Paged      bool
}

func viewOf(in replay.Incident) incidentView {
	v := incidentView{FirstAlert: in.FirstAlert.UTC(), Alerts: in.Alerts, Services: in.Services, Paged: in.Paged}
	for _, c := range in.Candidates {
		v.Candidates = append(v.Candidates, fmt.Sprintf("%s %.0f%%", c.Service, c.Confidence*100))
	}
	return v
}

func TestReplayFormsTheSameIncidentsAsTheLivePathOnTheBlackFridayStorm(t *testing.T) {
	cfg, _, err := LoadConfig("replay", nil, envOf(map[string]string{"SERVICE_GRAPH": exampleGraphFile(t)}), io.Discard, needNothing)
	if err != nil {
		t.Fatal(err)
	}
	events, first := blackFridayEvents(t)
	quiet := slog.New(slog.DiscardHandler)

	replayed, err := runReplay(t.Context(), cfg, first.Add(-time.Minute), events, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The live path: `bot run`'s Live and Engine on the real clock (a
	// synctest bubble's), alerts added as they arrive, every update
	// diagnosed as the bot does.
	var live []replay.Incident
	synctest.Test(t, func(t *testing.T) {
		shift := time.Now().Sub(first)
		engine := diagnosis.NewEngine(diagnosis.EngineConfig{Graph: cfg.Graph(), Resolver: cfg.Resolver(), Queries: cfg.Queries(), Logger: quiet})
		l := diagnosis.NewLive(diagnosis.LiveConfig{
			Grouper: diagnosis.GrouperConfig{Wait: cfg.GroupWait, Graph: cfg.Graph(), Resolver: cfg.Resolver(), Logger: quiet,
				MaxAlerts: cfg.IncidentMaxAlerts, MaxIncidents: cfg.MaxIncidents, StaleAfter: cfg.IncidentStaleAfter},
			Diagnoser: engine, Logger: quiet,
		})
		var (
			mu     sync.Mutex
			latest = map[string]replay.Incident{}
			order  []string
		)
		sink := diagnosis.SinkFunc(func(ctx context.Context, u diagnosis.Update) {
			in := u.Incident
			if u.Kind == diagnosis.Opened {
				in, _ = l.Annotate(in.ID, func(in *diagnosis.Incident) { in.Thread = diagnosis.Thread{Channel: "C1", TS: "1.0"} })
			}
			d := l.Diagnose(ctx, in)
			mu.Lock()
			defer mu.Unlock()
			if _, ok := latest[in.ID]; !ok {
				order = append(order, in.ID)
			}
			ri := replay.Incident{FirstAlert: in.StartedAt().Add(-shift), Alerts: in.AlertCount(), Services: in.Nodes(), Paged: d.Alerts.Pages > 0}
			for _, c := range d.Candidates[:min(3, len(d.Candidates))] {
				ri.Candidates = append(ri.Candidates, replay.Candidate{Service: c.Service, Confidence: c.Confidence})
			}
			latest[in.ID] = ri
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); _ = l.Run(ctx, sink) }()
		for i := 0; i < len(events); {
			at := events[i].At.Add(shift)
			time.Sleep(time.Until(at))
			var batch []diagnosis.Alert
			for ; i < len(events) && events[i].At.Add(shift).Equal(at); i++ {
				a := events[i].Alert
				a.StartsAt = a.StartsAt.Add(shift)
				if !a.EndsAt.IsZero() {
					a.EndsAt = a.EndsAt.Add(shift)
				}
				batch = append(batch, a)
			}
			l.Add(batch...)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		<-done
		for _, id := range order {
			live = append(live, latest[id])
		}
	})

	var got, want []incidentView
	for _, in := range replayed {
		got = append(got, viewOf(in))
	}
	for _, in := range live {
		want = append(want, viewOf(in))
	}
	if len(want) != 1 || want[0].Alerts != 31 || len(want[0].Candidates) == 0 || want[0].Candidates[0][:len("order-service")] != "order-service" {
		t.Fatalf("the live path formed %+v, want one incident of 31 alerts caused by order-service", want)
	}
	if !slices.EqualFunc(got, want, func(a, b incidentView) bool {
		return a.FirstAlert.Equal(b.FirstAlert) && a.Alerts == b.Alerts && a.Paged == b.Paged && slices.Equal(a.Services, b.Services) && slices.Equal(a.Candidates, b.Candidates)
	}) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("replay formed\n%s\nthe live path\n%s", g, w)
	}
}

// TestReplayDiscoversTheGraphAsBotRunDoes: with no graph file but
// GRAPH_DISCOVERY and a real Prometheus holding the shop's Istio metrics,
// the replayed Black Friday storm is one incident naming order-service, as
// `bot run` would make it, with the database only the discovered graph
// knows among its candidates.
func TestReplayDiscoversTheGraphAsBotRunDoes(t *testing.T) {
	p := testbed.MustStartPrometheus(t, blackFridayMesh())
	events, first := blackFridayEvents(t)
	quiet := slog.New(slog.DiscardHandler)
	replayWith := func(env map[string]string) []replay.Incident {
		t.Helper()
		cfg, _, err := LoadConfig("replay", nil, envOf(env), io.Discard, needNothing)
		if err != nil {
			t.Fatal(err)
		}
		out, err := runReplay(t.Context(), cfg, first.Add(-time.Minute), events, quiet, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	discovered := replayWith(map[string]string{"SERVICE_GRAPH": "", "GRAPH_DISCOVERY": "prometheus", "PROMETHEUS_URL": p.URL})
	if len(discovered) != 1 || len(discovered[0].Candidates) == 0 || discovered[0].Candidates[0].Service != "order-service" {
		t.Fatalf("with the discovered graph: %+v, want one incident naming order-service", discovered)
	}
	blind := replayWith(map[string]string{"SERVICE_GRAPH": ""})
	// postgres-rds has no alert of its own: only the graph Istio's TCP
	// metrics imply makes it a candidate.
	has := func(in []replay.Incident, service string) bool {
		return len(in) > 0 && slices.ContainsFunc(in[0].Candidates, func(c replay.Candidate) bool { return c.Service == service })
	}
	if !has(discovered, "postgres-rds") || has(blind, "postgres-rds") {
		t.Errorf("postgres-rds among the candidates: %v with the discovered graph, %v without a graph; want only with it\ndiscovered %+v\nblind %+v",
			has(discovered, "postgres-rds"), has(blind, "postgres-rds"), discovered, blind)
	}
}
