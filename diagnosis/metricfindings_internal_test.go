package diagnosis

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var evidenceStart = time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)

// shape is a series' value at an offset from evidenceStart.
type shape func(d time.Duration) float64

// wobble is a steady level with a deterministic ±1% wobble, never constant.
func wobble(v float64) shape {
	return func(d time.Duration) float64 { return v * (1 + 0.01*math.Sin(d.Seconds()/40)) }
}

// stepUp is from until at, then climbs to to over two minutes, wobbling.
func stepUp(from, to float64, at time.Duration) shape {
	return func(d time.Duration) float64 {
		v := from
		if d > at {
			v += (to - from) * math.Min(float64(d-at)/float64(2*time.Minute), 1)
		}
		return v * (1 + 0.01*math.Sin(d.Seconds()/40))
	}
}

func (f shape) points(r Range) []Point {
	var out []Point
	for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
		out = append(out, Point{T: t, V: f(t.Sub(evidenceStart))})
	}
	return out
}

// fakeProm answers a query with the shape of the first key it contains;
// saturation shapes are tagged as the connections family.
func fakeProm(shapes map[string]shape) MetricsFunc {
	return func(_ context.Context, q string, r Range) ([]Series, error) {
		for key, f := range shapes {
			if strings.Contains(q, key) {
				labels := map[string]string{}
				if !strings.Contains(key, "http_requests_total") {
					labels[saturationTag] = "connections"
				}
				return []Series{{Labels: labels, Points: f.points(r)}}, nil
			}
		}
		return nil, nil
	}
}

func mustEngine(m Metrics) *Engine {
	return NewEngine(EngineConfig{Metrics: m, Now: func() time.Time { return evidenceStart.Add(time.Hour) }})
}

func db(name string, callers ...string) Subject {
	s := Subject{Node: name, Kind: "database", Namespace: "shop"}
	for _, c := range callers {
		s.Dependents = append(s.Dependents, Dependent{Node: c, Namespace: "shop"})
	}
	return s
}

const (
	usersDB   = `pg_stat_activity_count{service="users-db"}`
	billingDB = `pg_stat_activity_count{service="billing-db"}`
	apiErrors = `http_requests_total{service="api",code=~"5.."}`
	webErrors = `http_requests_total{service="web",code=~"5.."}`
)

func TestMetricFindingsScoreSaturationThatLeadsDependentsErrors(t *testing.T) {
	cases := []struct {
		name      string
		shapes    map[string]shape
		subject   Subject
		low, high float64  // the score's range
		evidence  []string // substrings, in order
	}{
		{
			name:    "a saturation that leads its dependents' errors by a minute is strong evidence",
			shapes:  map[string]shape{usersDB: stepUp(0.2, 0.95, -3*time.Minute), apiErrors: stepUp(0.001, 0.3, -2*time.Minute)},
			subject: db("users-db", "api"),
			low:     0.9, high: 1,
			evidence: []string{"its database connections rose from 20% to 9", "api errors correlate with its saturation (database connections), r=", ", leading by 1m"},
		},
		{
			name:    "a saturation with no failing dependent to compare with counts half",
			shapes:  map[string]shape{usersDB: stepUp(0.2, 0.95, -3*time.Minute), apiErrors: wobble(0.001)},
			subject: db("users-db", "api"),
			low:     0.5, high: 0.5,
			evidence: []string{"its database connections rose"},
		},
		{
			name:    "a saturation that only follows its dependents' errors is more likely a consequence",
			shapes:  map[string]shape{usersDB: stepUp(0.2, 0.95, 2*time.Minute), apiErrors: stepUp(0.001, 0.3, -2*time.Minute)},
			subject: db("users-db", "api"),
			low:     0.25, high: 0.25,
			evidence: []string{"its database connections rose", "its database connections rose only 4m after api errors rose: more likely a consequence"},
		},
		{
			name:    "a falling level counts half of a rise",
			shapes:  map[string]shape{usersDB: stepUp(0.4, 0.02, -3*time.Minute), apiErrors: stepUp(0.001, 0.3, -2*time.Minute)},
			subject: db("users-db", "api"),
			low:     0.45, high: 0.5,
			evidence: []string{"its database connections fell from 40% to 2%", "api errors correlate with its saturation"},
		},
		{
			name:    "a flat saturation while the dependents' errors rise speaks against it",
			shapes:  map[string]shape{billingDB: wobble(0.35), apiErrors: stepUp(0.001, 0.3, -2*time.Minute)},
			subject: db("billing-db", "api"),
			low:     againstFlat, high: againstFlat,
			evidence: []string{"its database connections stayed flat while api errors rose"},
		},
		{
			name:    "a flat saturation with quiet dependents says nothing",
			shapes:  map[string]shape{billingDB: wobble(0.35), apiErrors: wobble(0.001)},
			subject: db("billing-db", "api"),
			low:     0, high: 0,
		},
		{
			name:    "a tiny but steady ksmMove is not an anomaly",
			shapes:  map[string]shape{billingDB: stepUp(0.35, 0.36, -3*time.Minute), apiErrors: wobble(0.001)},
			subject: db("billing-db", "api"),
			low:     0, high: 0,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			findings, status := mustEngine(fakeProm(tc.shapes)).metricFindings(t.Context(), []Subject{tc.subject}, evidenceStart)
			f, ok := findings[tc.subject.Node]
			if !ok {
				t.Fatalf("no finding for %s (status %q)", tc.subject.Node, status)
			}
			if f.Score < tc.low-1e-9 || f.Score > tc.high+1e-9 {
				t.Errorf("score %.3f, want %.2f…%.2f (evidence %q)", f.Score, tc.low, tc.high, f.Evidence)
			}
			got := strings.Join(f.Evidence, "; ")
			rest := got
			for _, w := range tc.evidence {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("evidence %q lacks %q (in order)", got, w)
					break
				}
				rest = rest[i+len(w):]
			}
			if len(tc.evidence) == 0 && len(f.Evidence) > 0 {
				t.Errorf("evidence %q, want none", got)
			}
			if status != "metrics: 2 queries answered" {
				t.Errorf("status %q", status)
			}
		})
	}
}

func TestMetricFindingsPicksTheMostAnomalousFamily(t *testing.T) {
	m := MetricsFunc(func(_ context.Context, q string, r Range) ([]Series, error) {
		return []Series{
			{Labels: map[string]string{saturationTag: "connections"}, Points: wobble(0.3).points(r)},
			{Labels: map[string]string{saturationTag: "volume"}, Points: stepUp(0.6, 0.99, -5*time.Minute).points(r)},
		}, nil
	})
	findings, _ := mustEngine(m).metricFindings(t.Context(), []Subject{db("users-db")}, evidenceStart)
	if got := findings["users-db"]; got.Score != 0.5 || len(got.Evidence) != 1 || !strings.HasPrefix(got.Evidence[0], "its volume use rose from 60% to") {
		t.Errorf("finding %+v, want the volume's rise at half weight", got)
	}
}

func TestMetricFindingsQueryEverySubjectWithItsKindTemplate(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	m := MetricsFunc(func(_ context.Context, q string, r Range) ([]Series, error) {
		mu.Lock()
		defer mu.Unlock()
		queries = append(queries, q)
		return nil, nil
	})
	e := mustEngine(m)
	e.cfg.Queries.SaturationByAlert["PoolExhausted"] = `app_pool_ratio{app="{{.Service}}",pool="{{.Label "pool"}}"}`
	subjects := []Subject{
		{Node: "users-db", Kind: "database"},
		{Node: "cache", Kind: "Cache"},
		{Node: "ip-10-0-2-14.eu-west-1.compute.internal", Kind: "host"},
		{Node: "orders", Kind: "service", Labels: map[string]string{LabelAlertname: "PoolExhausted", "pool": "main"}},
		{Node: "mystery"},
	}
	findings, status := e.metricFindings(t.Context(), subjects, evidenceStart)
	if len(findings) != 0 || status != "metrics: 5 queries answered" {
		t.Errorf("findings %v, status %q; want none from empty answers and 5 queries", findings, status)
	}
	want := []string{
		`pg_stat_activity_count{service="users-db"}`,
		`redis_connected_clients{service="cache"}`,
		`node_nf_conntrack_entries{instance=~"ip-10-0-2-14\\.eu-west-1\\.compute\\.internal(:[0-9]+)?"}`,
		`app_pool_ratio{app="orders",pool="main"}`,
		`db_pool_connections_in_use{service="mystery"}`,
	}
	for _, w := range want {
		if !slices.ContainsFunc(queries, func(q string) bool { return strings.Contains(q, w) }) {
			t.Errorf("no query selects %s", w)
		}
	}
}

func TestDefaultQueriesAreKeyedByKindNotAlertName(t *testing.T) {
	q := DefaultQueries()
	if len(q.SaturationByAlert) != 0 {
		t.Errorf("default saturation_by_alert %v, want none", q.SaturationByAlert)
	}
	for _, kind := range []string{"database", "cache", "queue", "node", "service", "storage", "default"} {
		if q.SaturationByKind[kind] == "" {
			t.Errorf("no default saturation template for kind %q", kind)
		}
	}
	if err := q.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestLoadQueriesOverridesOnlyWhatTheFileGives(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queries.yaml")
	file := `saturation_by_alert:
  PoolExhausted: 'max(app_pool_ratio{app="{{.Service}}"})'
saturation_by_kind:
  database: 'max({{.Workload "my_db_busy{%s}"}})'
changes: 'label_replace(max(my_deploys{app="{{.Service}}"}), "change", "generation", "", "")'
`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	q, err := LoadQueries(path)
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultQueries()
	if q.SaturationByAlert["PoolExhausted"] == "" || q.SaturationByKind["cache"] != def.SaturationByKind["cache"] || q.Errors != def.Errors || !strings.Contains(q.Changes, "my_deploys") {
		t.Errorf("loaded %+v", q)
	}
	got, _ := render(q.SaturationByKind["database"], varsOf(Subject{Node: "users-db", Namespace: "a.b"}))
	if want := `max((my_db_busy{service="users-db"} or my_db_busy{namespace=~"a\\.b",pod=~"users-db(-[a-z0-9]{1,10}-[a-z0-9]{5}|-[a-z0-9]{5}|-[0-9]+)"}))`; got != want {
		t.Errorf("rendered\n%s\nwant\n%s", got, want)
	}

	if err := os.WriteFile(path, []byte(`saturation_by_kind: {database: 'max({{.Workload "my_db_busy"}})'}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadQueries(path); err == nil || !strings.Contains(err.Error(), "saturation_by_kind.database") || !strings.Contains(err.Error(), "has no %s") {
		t.Errorf("a Workload without %%s: error %v, want it named", err)
	}
}

func TestMetricFindingsStatus(t *testing.T) {
	refused := errors.New("Prometheus at http://127.0.0.1:1 refused the connection")
	cases := []struct {
		name string
		m    MetricsFunc
		want string
	}{
		{"every query refused", func(context.Context, string, Range) ([]Series, error) { return nil, refused },
			"metrics unavailable: Prometheus at http://127.0.0.1:1 refused the connection"},
		{"one query rejected", func(_ context.Context, q string, r Range) ([]Series, error) {
			if strings.Contains(q, "http_requests_total") {
				return nil, errors.New("bad_data: parse error")
			}
			return nil, nil
		}, "metrics: 2 queries answered, 1 failed (errors of api: bad_data: parse error)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, status := mustEngine(tc.m).metricFindings(t.Context(), []Subject{db("users-db", "api"), db("billing-db", "api")}, evidenceStart)
			if status != tc.want {
				t.Errorf("status %q, want %q", status, tc.want)
			}
		})
	}
	if f, status := NewEngine(EngineConfig{}).metricFindings(t.Context(), []Subject{db("users-db")}, evidenceStart); f != nil || status != "" {
		t.Errorf("without Prometheus: %v %q, want nothing", f, status)
	}
}
