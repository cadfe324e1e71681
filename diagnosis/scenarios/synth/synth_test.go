package synth_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/synth"
)

// incidents is one generated set shared by the tests: 400 of the Test half.
var incidents = sync.OnceValue(func() []synth.Incident { return synth.Generate(3, 400, synth.Test) })

func TestTheSameSeedGivesTheSameIncidents(t *testing.T) {
	a, b := synth.Generate(11, 40, synth.Tune), synth.Generate(11, 40, synth.Tune)
	if got, want := mustJSON(t, scenariosOf(a)), mustJSON(t, scenariosOf(b)); got != want {
		t.Fatal("two runs with seed 11 differ")
	}
	if got, other := mustJSON(t, scenariosOf(a)), mustJSON(t, scenariosOf(synth.Generate(12, 40, synth.Tune))); got == other {
		t.Error("seeds 11 and 12 give the same incidents")
	}
	if prefix := synth.Generate(11, 16, synth.Tune); mustJSON(t, scenariosOf(prefix)) != mustJSON(t, scenariosOf(a[:16])) {
		t.Error("the first 16 incidents of a run of 40 differ from a run of 16")
	}
}

func TestBothHalvesShareTheEstates(t *testing.T) {
	tune, test := synth.Generate(5, 24, synth.Tune), synth.Generate(5, 24, synth.Test)
	for i := range tune {
		if a, b := tune[i].Topology, test[i].Topology; a.Name != b.Name || !slices.Equal(a.True.Names(), b.True.Names()) {
			t.Fatalf("incident %d: estate %s in the tune half, %s in the test half", i, a.Name, b.Name)
		}
		if tune[i].RootType != test[i].RootType {
			t.Errorf("incident %d: root type %s in the tune half, %s in the test half", i, tune[i].RootType, test[i].RootType)
		}
	}
}

func TestVocabulariesSplitIntoDisjointHalves(t *testing.T) {
	tune, test := map[string]string{}, map[string]string{}
	for _, v := range synth.Vocabularies() {
		if len(v.Tune)+len(v.Test) < 4 || len(v.Tune) < 2 || len(v.Test) < 2 {
			t.Errorf("%s: %d tune and %d test entries, want at least 4 with 2 in each half", v.Name, len(v.Tune), len(v.Test))
		}
		for _, x := range v.Tune {
			if other, ok := tune[x]; ok && other != v.Name {
				t.Errorf("%q is in %s and %s", x, other, v.Name)
			}
			tune[x] = v.Name
		}
		for _, x := range v.Test {
			test[x] = v.Name
		}
	}
	for x, list := range tune {
		if other, ok := test[x]; ok {
			t.Errorf("%q is in the tune half of %s and the test half of %s", x, list, other)
		}
	}
	// The generated alert names follow: no name fires in both halves.
	names := func(ins []synth.Incident) map[string]bool {
		out := map[string]bool{}
		for _, in := range ins {
			for _, a := range in.Alerts() {
				out[a.Name()] = true
			}
		}
		return out
	}
	tuneNames := names(synth.Generate(3, 200, synth.Tune))
	for name := range names(incidents()) {
		if tuneNames[name] {
			t.Errorf("alert %s is generated in both halves", name)
		}
	}
}

func TestEveryRootTypeIsAnEighthOfTheIncidents(t *testing.T) {
	count := map[string]int{}
	for _, in := range incidents() {
		count[in.RootType]++
	}
	for _, typ := range synth.RootTypes() {
		if got, want := count[typ], len(incidents())/8; got < want {
			t.Errorf("%s: %d incidents, want at least %d", typ, got, want)
		}
	}
	if len(count) != len(synth.RootTypes()) {
		t.Errorf("root types %v, want exactly %v", count, synth.RootTypes())
	}
}

func TestExpectedAnswersAreTrueNodesOrNamesAnAlertCarries(t *testing.T) {
	for _, in := range incidents() {
		exp := in.Expected()
		if exp.RootType != in.RootType {
			t.Errorf("%s: Expected.RootType %q, want %q", in.Scenario.Name, exp.RootType, in.RootType)
		}
		for _, answer := range append([]string{exp.RootCause}, exp.Acceptable...) {
			if !in.Topology.True.Has(answer) && !carried(in.Alerts(), answer) {
				t.Errorf("%s: answer %q is neither a node of the true graph nor carried by an alert", in.Scenario.Name, answer)
			}
		}
		if exp.RootCause != in.Roots[0] {
			t.Errorf("%s: root cause %s, want the first root %s", in.Scenario.Name, exp.RootCause, in.Roots[0])
		}
		if in.RootType == synth.TwoRoots && !slices.Contains(exp.Acceptable, in.Roots[1]) {
			t.Errorf("%s: the second root %s is not acceptable", in.Scenario.Name, in.Roots[1])
		}
	}
}

func TestEveryIncidentIsIdentifiable(t *testing.T) {
	for _, in := range incidents() {
		if err := in.Check(); err != nil {
			t.Errorf("%s: %v", in.Scenario.Name, err)
		}
		// Spot-check the rules independently of Check.
		switch in.RootType {
		case synth.Silent:
			for i, s := range in.Subjects {
				if s == in.Roots[0] {
					t.Errorf("%s: the silent root has alert %s", in.Scenario.Name, in.Alerts()[i].Name())
				}
			}
		case synth.Node:
			if !carried(in.Alerts(), in.Roots[0]) && !carried(in.Alerts(), in.Expected().Acceptable[0]) {
				t.Errorf("%s: no alert names the failed node", in.Scenario.Name)
			}
		}
	}
}

func TestTheEngineGraphMisses10To20PercentOfEdges(t *testing.T) {
	seen := map[string]bool{}
	absentNodes := 0
	for _, in := range incidents() {
		topo := in.Topology
		if seen[topo.Name] {
			continue
		}
		seen[topo.Name] = true
		if n := topo.True.Len(); n < 20 || n > 500 {
			t.Errorf("%s: %d nodes, want 20–500", topo.Name, n)
		}
		if share := float64(len(topo.Missing)) / float64(topo.Edges); share < 0.10 || share > 0.20 {
			t.Errorf("%s: %d of %d edges missing (%.1f%%), want 10–20%%", topo.Name, len(topo.Missing), topo.Edges, 100*share)
		}
		for _, e := range topo.Missing {
			if !topo.True.DependsTransitively(e.From, e.To) || slices.Contains(topo.Engine.DependsOn(e.From), e.To) {
				t.Errorf("%s: missing edge %s → %s is not a true edge left out", topo.Name, e.From, e.To)
			}
		}
		for _, n := range topo.Absent {
			if topo.Engine.Has(n) {
				t.Errorf("%s: absent node %s is in the engine graph", topo.Name, n)
			}
			if topo.True.Kind(n) == "node" {
				absentNodes++
			}
		}
		if w := topo.Engine.Warnings(); len(w) > 0 {
			t.Errorf("%s: the engine graph has warnings %v", topo.Name, w)
		}
	}
	if absentNodes == 0 {
		t.Error("no estate leaves its worker nodes out of the graph file")
	}
}

// TestStormsHaveTheShapesOfRealOnes checks that the generator produces the
// hard shapes at all: late root alerts, severity inversions, misleading
// root_cause_candidate labels, alerts naming no service, subjects only in
// kube-state-metrics labels, resolved and flapping alerts, old warnings.
func TestStormsHaveTheShapesOfRealOnes(t *testing.T) {
	shapes := map[string]int{}
	for _, in := range incidents() {
		alerts := in.Alerts()
		first := alerts[0].StartsAt
		fps := map[string]int{}
		for i, a := range alerts {
			if i > 0 && a.StartsAt.Before(alerts[i-1].StartsAt) {
				t.Fatalf("%s: alerts are not sorted by StartsAt", in.Scenario.Name)
			}
			if fps[a.Fingerprint]++; fps[a.Fingerprint] == 2 {
				shapes["flapping alert"]++
			}
			if a.Fingerprint != diagnosis.Fingerprint(a.Labels) {
				t.Errorf("%s: %s has a stale fingerprint", in.Scenario.Name, a.Name())
			}
			role := in.Roles[i]
			switch {
			case a.Status == diagnosis.Resolved:
				shapes["resolved alert"]++
			case a.StartsAt.Sub(in.Scenario.Start).Hours() < -2:
				shapes["warning firing for hours"]++
			}
			if role == synth.RoleSymptom && a.RootCauseCandidate() {
				shapes["symptom labelled root_cause_candidate"]++
			}
			if a.Service() == "" && in.Subjects[i] == "" {
				shapes["alert naming no service"]++
			}
			if strings.Contains(a.Service(), "kube-state-metrics") {
				shapes["subject only in kube-state-metrics labels"]++
			}
		}
		for i, a := range alerts {
			if in.Roles[i] == synth.RoleCause && in.Subjects[i] == in.Roots[0] {
				if a.StartsAt.After(first) && a.StartsAt.Sub(in.Scenario.Start).Minutes() > 8 {
					shapes["root alert fires after the symptoms"]++
				}
				if a.Severity() == diagnosis.SeverityWarning {
					shapes["root alert only a warning"]++
				}
				break
			}
		}
		if strings.Contains(in.Note, "stayed broken") {
			shapes["root recovered, dependent stuck"]++
		}
	}
	for _, shape := range []string{
		"flapping alert", "resolved alert", "warning firing for hours", "symptom labelled root_cause_candidate",
		"alert naming no service", "subject only in kube-state-metrics labels", "root alert fires after the symptoms",
		"root alert only a warning", "root recovered, dependent stuck",
	} {
		if shapes[shape] == 0 {
			t.Errorf("no %s in %d incidents", shape, len(incidents()))
		}
	}
	t.Logf("shapes in %d incidents: %v", len(incidents()), shapes)
}

func TestParseHalf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want synth.Half
		ok   bool
	}{{"test", synth.Test, true}, {"Tune", synth.Tune, true}, {"both", synth.Tune, false}} {
		got, err := synth.ParseHalf(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseHalf(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func carried(alerts []diagnosis.Alert, name string) bool {
	for _, a := range alerts {
		for _, v := range labelValues(a) {
			if strings.Contains(v, name) {
				return true
			}
		}
	}
	return false
}

func labelValues(a diagnosis.Alert) []string {
	var out []string
	for _, v := range a.Labels {
		out = append(out, v)
	}
	for _, v := range a.Annotations {
		out = append(out, v)
	}
	return out
}

func scenariosOf(ins []synth.Incident) []any {
	var out []any
	for _, in := range ins {
		out = append(out, in.Expected(), in.Scenario.Name, in.Note, in.Subjects)
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
