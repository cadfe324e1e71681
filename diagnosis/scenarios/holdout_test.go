package scenarios

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

func TestHoldoutLoads(t *testing.T) {
	all, err := Holdout()
	if err != nil {
		t.Fatal(err)
	}
	incidents, topologies := 0, map[string]bool{}
	for _, s := range all {
		topologies[s.Topology] = true
		incidents += len(s.Incidents)
		if s.Graph == nil {
			t.Errorf("%s: no graph", s.Name)
			continue
		}
		if !strings.HasPrefix(s.Name, s.Topology+"/") {
			t.Errorf("%s: topology %q is not its directory", s.Name, s.Topology)
		}
		for _, in := range s.Incidents {
			if len(in.Alerts) == 0 {
				t.Errorf("%s%s: no alerts", s.Name, in.Label)
			}
			if !rootCauseKnown(s.Graph, in) {
				t.Errorf("%s%s: root cause %q is neither a graph node nor the service label of one of its alerts",
					s.Name, in.Label, in.RootCause)
			}
			for _, a := range in.Acceptable {
				if !s.Graph.Has(a) {
					t.Errorf("%s%s: acceptable %q is not a graph node", s.Name, in.Label, a)
				}
			}
		}
	}
	if len(all) < 12 || incidents < 12 {
		t.Errorf("%d scenarios with %d incidents, want at least 12", len(all), incidents)
	}
	if len(topologies) < 3 {
		t.Errorf("%d topologies, want at least 3", len(topologies))
	}
}

func rootCauseKnown(g *graph.Graph, in Expected) bool {
	if in.RootCause == "" {
		return false
	}
	if g.Has(in.RootCause) {
		return true
	}
	for _, a := range in.Alerts {
		if a.Service() == in.RootCause {
			return true
		}
	}
	return false
}

// Every graph of the held-out set parses without warnings, and every one is
// used by a scenario directory.
func TestHoldoutGraphsParseCleanly(t *testing.T) {
	fsys, err := fs.Sub(holdoutFS, "holdout")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(fsys, "graphs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("%d graphs, want at least 3", len(files))
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			t.Fatal(err)
		}
		g, err := graph.Parse(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if w := g.Warnings(); len(w) > 0 {
			t.Errorf("%s: warnings %q", f, w)
		}
		topology := strings.TrimSuffix(path.Base(f), ".yaml")
		if _, err := fs.Stat(fsys, topology); err != nil {
			t.Errorf("%s: no scenario directory %s/", f, topology)
		}
	}
}
