package metrics_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func mustDashboard(tb testing.TB) dashboard {
	tb.Helper()
	var d dashboard
	if err := json.Unmarshal(mustRead(tb, dashboardFile), &d); err != nil {
		tb.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	return d
}

func TestTheDashboardAsksForItsDataSource(t *testing.T) {
	d := mustDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("the dashboard has uid %q and title %q; import needs both", d.UID, d.Title)
	}
	var found bool
	for _, v := range d.Templating.List {
		found = found || (v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus")
	}
	if !found {
		t.Error("no datasource variable of type prometheus")
	}
	for _, p := range d.Panels {
		if p.Type != "row" && p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q uses data source %q, want ${datasource}", p.Title, p.Datasource.UID)
		}
	}
}

func TestEveryPanelSelectsOnlyMetricsTheRegistryDefines(t *testing.T) {
	known := knownNames()
	d := mustDashboard(t)
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			for _, name := range metricsIn(strings.NewReplacer("label_values", "", ",", " ").Replace(q["query"].(string))) {
				if !known[name] && name != "job" {
					t.Errorf("variable %s selects %s, which nightowl does not expose", v.Name, name)
				}
			}
		}
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			names := metricsIn(tg.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q: %q selects no metric", p.Title, tg.Expr)
			}
			for _, name := range names {
				if !known[name] {
					t.Errorf("panel %q selects %s, which nightowl does not expose", p.Title, name)
				}
			}
		}
	}
}

func TestTheDashboardShowsWhatTheIssueAsks(t *testing.T) {
	var all strings.Builder
	for _, p := range mustDashboard(t).Panels {
		for _, tg := range p.Targets {
			all.WriteString(tg.Expr + "\n")
		}
	}
	for _, want := range []string{
		"nightowl_pages_sent_total",
		"nightowl_alerts_received_total",
		"histogram_quantile(0.5, sum by (le) (rate(nightowl_first_alert_to_card_seconds_bucket",
		"histogram_quantile(0.99, sum by (le) (rate(nightowl_first_alert_to_card_seconds_bucket",
		"sum by (outcome) (rate(nightowl_slack_api_calls_total",
		"nightowl_socket_connected",
		"nightowl_runbook_runs_total",
		"nightowl_model_tokens_total",
	} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no panel shows %s", want)
		}
	}
}

func TestPanelsDoNotOverlap(t *testing.T) {
	taken := map[[2]int]string{}
	for _, p := range mustDashboard(t).Panels {
		for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
			for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
				if other, ok := taken[[2]int{x, y}]; ok {
					t.Fatalf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
				}
				taken[[2]int{x, y}] = p.Title
			}
		}
		if p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q is wider than the 24 columns", p.Title)
		}
	}
}
