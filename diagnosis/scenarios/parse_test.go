package scenarios_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

const testGraph = `services:
  api: {kind: service, depends_on: [pg]}
  pg: {kind: database, aliases: [orders-db]}
`

const validScenario = `title: pg pool exhausted
topology: shop
root_cause: pg
acceptable: [api]
root_cause_b: billing
notes: >
  Because.
start: 2026-03-14T02:10:00Z
alerts:
  - at: 45s
    labels: {alertname: PoolExhausted, service: pg, severity: critical}
    annotations: {summary: "pool at 95/100"}
  - at: -1m
    labels: {alertname: ErrorsHigh, service: api}
    resolved_at: 12m
  - at: 2m
    labels: {alertname: ErrorsHigh, service: billing, corpus_incident: b}
metrics:
  - name: http_requests_total
    labels: {service: api, code: "500"}
    type: counter
    points: [[-1m, 0], [1m, 2]]
    noise: 0.05
`

func corpus(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

func TestParseReadsAScenario(t *testing.T) {
	all, err := scenarios.Parse(corpus(map[string]string{"graphs/shop.yaml": testGraph, "shop/01-pool.yaml": validScenario}))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("got %d scenarios, want 1", len(all))
	}
	s := all[0]
	start := time.Date(2026, 3, 14, 2, 10, 0, 0, time.UTC)
	a, b := s.Incidents[0], s.Incidents[1]
	b0 := b.Alerts[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"the name is the topology and the file name", s.Name, "shop/01-pool"},
		{"the graph is the topology's", s.Graph.Has("pg"), true},
		{"the start is parsed", s.Start, start},
		{"the first incident has no label", a.Label, ""},
		{"acceptable answers are kept", strings.Join(a.Acceptable, ","), "api"},
		{"alerts are sorted by StartsAt", a.Alerts[0].Name(), "ErrorsHigh"},
		{"StartsAt is start plus at", a.Alerts[0].StartsAt, start.Add(-time.Minute)},
		{"resolved_at sets EndsAt", a.Alerts[0].EndsAt, start.Add(12 * time.Minute)},
		{"an alert with resolved_at is resolved", a.Alerts[0].Status, diagnosis.Resolved},
		{"an alert without it is firing", a.Alerts[1].Status, diagnosis.Firing},
		{"annotations are kept", a.Alerts[1].Summary(), "pool at 95/100"},
		{"alerts come from the webhook", a.Alerts[1].Source, diagnosis.SourceWebhook},
		{"each alert stands for one", a.Alerts[1].Count, 1},
		{"the second incident is labelled b", b.Label, "b"},
		{"the second incident has its root cause", b.RootCause, "billing"},
		{"the corpus_incident label is removed", b0.Labels[scenarios.IncidentLabel], ""},
		{"the fingerprint is of the remaining labels", b0.Fingerprint, diagnosis.Fingerprint(map[string]string{"alertname": "ErrorsHigh", "service": "billing"})},
		{"metrics are parsed", s.Metrics[0].Points[1], scenarios.MetricPoint{At: time.Minute, Value: 2}},
		{"noise is parsed", s.Metrics[0].Noise, 0.05},
		{"all alerts are merged by StartsAt", s.AllAlerts()[2].Labels["service"], "billing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestParseNamesTheFileAndFieldOfEachProblem(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(validScenario, old) {
			panic("test edit does not apply: " + old)
		}
		return strings.Replace(validScenario, old, new, 1)
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"an unknown topology", map[string]string{"graphs/shop.yaml": testGraph, "mall/01.yaml": edit("topology: shop", "topology: mall")},
			[]string{"mall/01.yaml: topology: unknown \"mall\""}},
		{"a topology that is not the directory", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("topology: shop", "topology: mall")},
			[]string{"shop/01.yaml: topology:", "in shop/"}},
		{"a bad duration", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("at: 45s", "at: 45q")},
			[]string{"shop/01.yaml: alerts[0].at:", `"45q"`}},
		{"a bad resolved_at", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("resolved_at: 12m", "resolved_at: -2m")},
			[]string{"shop/01.yaml: alerts[1].resolved_at:"}},
		{"a status that contradicts resolved_at", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("resolved_at: 12m", "resolved_at: 12m\n    status: firing")},
			[]string{"shop/01.yaml: alerts[1].status:"}},
		{"a missing root cause", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("root_cause: pg\n", "")},
			[]string{"shop/01.yaml: root_cause: missing"}},
		{"a root cause that is neither a node nor an alerted service", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("root_cause: pg", "root_cause: redis")},
			[]string{"shop/01.yaml: root_cause:", `"redis" is neither a graph node`}},
		{"a root cause named by an alias", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("root_cause: pg", "root_cause: orders-db")},
			[]string{"shop/01.yaml: root_cause:", "alias of pg"}},
		{"an acceptable answer that is the root cause", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("acceptable: [api]", "acceptable: [pg]")},
			[]string{"shop/01.yaml: acceptable[0]:"}},
		{"a second incident without its root cause", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("root_cause_b: billing\n", "")},
			[]string{"shop/01.yaml: root_cause_b: missing"}},
		{"an unknown incident label", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("corpus_incident: b", "corpus_incident: c")},
			[]string{"shop/01.yaml: alerts[2].labels.corpus_incident:"}},
		{"duplicate alert label sets", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("service: billing, corpus_incident: b", "service: api")},
			[]string{"shop/01.yaml: alerts[2].labels: the same label set as alerts[1]"}},
		{"an alert without alertname", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("alertname: PoolExhausted, ", "")},
			[]string{"shop/01.yaml: alerts[0].labels: no alertname"}},
		{"a metric type that is not gauge or counter", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("type: counter", "type: histogram")},
			[]string{"shop/01.yaml: metrics[0].type:", `"histogram"`}},
		{"a counter not named _total", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("name: http_requests_total", "name: http_requests")},
			[]string{"shop/01.yaml: metrics[0].name:"}},
		{"metric points out of order", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("[[-1m, 0], [1m, 2]]", "[[1m, 0], [-1m, 2]]")},
			[]string{"shop/01.yaml: metrics[0].points[1]:"}},
		{"a bad metric value", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("[1m, 2]", "[1m, lots]")},
			[]string{"shop/01.yaml: metrics[0].points[1]:", `"lots"`}},
		{"noise of 100%", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("noise: 0.05", "noise: 1")},
			[]string{"shop/01.yaml: metrics[0].noise:"}},
		{"an unknown field", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("title:", "severity: high\ntitle:")},
			[]string{"shop/01.yaml:", "field severity not found"}},
		{"a bad start", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": edit("start: 2026-03-14T02:10:00Z", "start: yesterday")},
			[]string{"shop/01.yaml: start:"}},
		{"a file that is not YAML", map[string]string{"graphs/shop.yaml": testGraph, "shop/01.yaml": validScenario, "shop/notes.txt": "x"},
			[]string{"shop/notes.txt: not a .yaml scenario file"}},
		{"a graph with an undeclared dependency", map[string]string{"graphs/shop.yaml": testGraph + "  web: {depends_on: [cdn]}\n", "shop/01.yaml": validScenario},
			[]string{"graphs/shop.yaml: depends_on: web depends on cdn"}},
		{"no graphs", map[string]string{"shop/01.yaml": validScenario},
			[]string{"graphs: no <topology>.yaml graphs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scenarios.Parse(corpus(tt.files))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
