package scenarios_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// incident is one measured incident of a scenario.
type incident struct {
	s scenarios.Scenario
	e scenarios.Expected
}

func incidents(all []scenarios.Scenario) []incident {
	var out []incident
	for _, s := range all {
		for _, e := range s.Incidents {
			out = append(out, incident{s, e})
		}
	}
	return out
}

// Labels that never identify the thing an alert is about.
var contextLabels = map[string]bool{
	"alertname": true, "severity": true, "namespace": true, "exported_namespace": true, "region": true,
	"team": true, "category": true, "layer": true, "impact_type": true, "root_cause_candidate": true,
	"runbook": true, "condition": true, "status": true, "reason": true,
}

var (
	podHash  = regexp.MustCompile(`^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	dsHash   = regexp.MustCompile(`^(.+)-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	ordinal  = regexp.MustCompile(`^(.+)-\d+$`)
	withPort = regexp.MustCompile(`^(.+):\d+$`)
)

// spellings lists what a label value may name: itself, without a port, a pod's
// workload, a StatefulSet PVC's set (<template>-<set>-<ordinal>).
func spellings(v string) []string {
	out := []string{v}
	if m := withPort.FindStringSubmatch(v); m != nil {
		out = append(out, m[1])
	}
	for _, re := range []*regexp.Regexp{podHash, dsHash, ordinal} {
		if m := re.FindStringSubmatch(v); m != nil {
			out = append(out, m[1])
			if re == ordinal {
				if _, rest, ok := strings.Cut(m[1], "-"); ok {
					out = append(out, rest)
				}
			}
		}
	}
	return out
}

// names reports whether an alert names node (by its name or an alias) in an
// identifying label: service, job, pod, deployment, node, instance, provider, ….
func names(g *graph.Graph, a diagnosis.Alert, node string) bool {
	for k, v := range a.Labels {
		if contextLabels[k] {
			continue
		}
		for _, sp := range spellings(v) {
			if sp == node {
				return true
			}
			if n, ok := g.Lookup(sp); ok && n == node {
				return true
			}
		}
	}
	return false
}

func hasCandidateLabel(in incident) bool {
	for _, a := range in.e.Alerts {
		if _, ok := a.Labels[diagnosis.LabelRootCauseCandidate]; ok {
			return true
		}
	}
	return false
}

// rootFiresLate: an alert naming the root cause exists, and another alert fired before all of them.
func rootFiresLate(in incident) bool {
	first := in.e.Alerts[0].StartsAt
	for _, a := range in.e.Alerts {
		if names(in.s.Graph, a, in.e.RootCause) {
			return a.StartsAt.After(first)
		}
	}
	return false
}

func silentRoot(in incident) bool {
	for _, a := range in.e.Alerts {
		if names(in.s.Graph, a, in.e.RootCause) {
			return false
		}
	}
	return true
}

// Exporters and scrape services: a `service` label that names how an alert was collected.
var exporter = regexp.MustCompile(`exporter|metrics|kubelet|^kube-prometheus-stack`)

func missingServices(in incident) []string {
	var out []string
	for _, a := range in.e.Alerts {
		svc := a.Service()
		if _, ok := in.s.Graph.Lookup(svc); ok || svc == "" || exporter.MatchString(svc) || slices.Contains(out, svc) {
			continue
		}
		out = append(out, svc)
	}
	return out
}

// misleadingCandidate: an alert labelled root_cause_candidate="true" names
// neither the root cause nor an acceptable answer.
func misleadingCandidate(in incident) bool {
	for _, a := range in.e.Alerts {
		if !a.RootCauseCandidate() {
			continue
		}
		right := names(in.s.Graph, a, in.e.RootCause)
		for _, ok := range in.e.Acceptable {
			right = right || names(in.s.Graph, a, ok)
		}
		if !right {
			return true
		}
	}
	return false
}

// ambiguous: the root cause has a twin (same kind, same neighbours) whose
// alerts are the root's own alerts with the name swapped, at the same instant,
// and no alert carries a root_cause_candidate label.
func ambiguous(in incident) (twin string, ok bool) {
	g, root := in.s.Graph, in.e.RootCause
	rn, found := g.Node(root)
	if !found || hasCandidateLabel(in) {
		return "", false
	}
	for _, other := range g.Names() {
		on, _ := g.Node(other)
		if other == root || on.Kind != rn.Kind || !slices.Equal(g.Dependents(other), g.Dependents(root)) ||
			!slices.Equal(g.DependsOn(other), g.DependsOn(root)) {
			continue
		}
		mirrored, any := true, false
		for _, a := range in.e.Alerts {
			if a.Service() != root {
				continue
			}
			any = true
			want := map[string]string{}
			for k, v := range a.Labels {
				want[k] = v
			}
			want[diagnosis.LabelService] = other
			mirrored = mirrored && slices.ContainsFunc(in.e.Alerts, func(b diagnosis.Alert) bool {
				return b.StartsAt.Equal(a.StartsAt) && b.Fingerprint == diagnosis.Fingerprint(want)
			})
		}
		if any && mirrored {
			return other, true
		}
	}
	return "", false
}

func TestCorpusCoversEveryRequiredKind(t *testing.T) {
	all := scenarios.MustCorpus(t)
	ins := incidents(all)
	count := func(f func(incident) bool) int {
		n := 0
		for _, in := range ins {
			if f(in) {
				n++
			}
		}
		return n
	}
	topologies := map[string]int{}
	for _, s := range all {
		topologies[s.Topology]++
	}
	tests := []struct {
		name     string
		got      int
		min, max int
	}{
		{"the corpus has at least 30 scenario files", len(all), 30, 1000},
		{"the corpus spans at least 5 topologies", len(topologies), 5, 1000},
		{"the smallest topology has at least 5 scenarios", slices.Min(mapValues(topologies)), 5, 1000},
		{"at least 8 incidents carry no root_cause_candidate label", count(func(in incident) bool { return !hasCandidateLabel(in) }), 8, 1000},
		{"at least 4 root causes fire after another alert", count(rootFiresLate), 4, 1000},
		{"at least 3 root causes have no alert of their own", count(silentRoot), 3, 1000},
		{"at least 3 incidents have alerts from services missing from the graph", count(func(in incident) bool { return len(missingServices(in)) > 0 }), 3, 1000},
		{"at least one root cause is missing from the graph", count(func(in incident) bool { return !in.s.Graph.Has(in.e.RootCause) }), 1, 1000},
		{"at least 3 scenarios hold two overlapping incidents", countScenarios(all, func(s scenarios.Scenario) bool { return len(s.Incidents) == 2 }), 3, 1000},
		{"at least 5 scenarios have metrics", countScenarios(all, func(s scenarios.Scenario) bool { return len(s.Metrics) > 0 }), 5, 1000},
		{"exactly one incident is ambiguous on labels and graph", count(func(in incident) bool { _, ok := ambiguous(in); return ok }), 1, 1},
		{"one to three incidents carry a misleading root_cause_candidate", count(misleadingCandidate), 1, 3},
		{"at least 3 storms have 40 alerts or more", countScenarios(all, func(s scenarios.Scenario) bool { return len(s.AllAlerts()) >= 40 }), 3, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Logf("count: %d", tt.got)
			if tt.got < tt.min || tt.got > tt.max {
				t.Errorf("got %d, want %d..%d", tt.got, tt.min, tt.max)
			}
		})
	}
}

func mapValues(m map[string]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func countScenarios(all []scenarios.Scenario, f func(scenarios.Scenario) bool) int {
	n := 0
	for _, s := range all {
		if f(s) {
			n++
		}
	}
	return n
}

// TestCorpusListing prints what each scenario covers (go test -v).
func TestCorpusListing(t *testing.T) {
	for _, in := range incidents(scenarios.MustCorpus(t)) {
		var kinds []string
		add := func(ok bool, kind string) {
			if ok {
				kinds = append(kinds, kind)
			}
		}
		add(!hasCandidateLabel(in), "no-candidate-label")
		add(rootFiresLate(in), "root-late")
		add(silentRoot(in), "silent-root")
		add(len(missingServices(in)) > 0, "missing-services:"+strings.Join(missingServices(in), ","))
		add(!in.s.Graph.Has(in.e.RootCause), "root-missing-from-graph")
		add(len(in.s.Incidents) == 2, "overlapping")
		add(len(in.s.Metrics) > 0 && in.e.Label == "", "metrics")
		_, amb := ambiguous(in)
		add(amb, "ambiguous")
		add(misleadingCandidate(in), "misleading-candidate")
		name := in.s.Name
		if in.e.Label != "" {
			name += "#" + in.e.Label
		}
		t.Logf("%-62s %3d alerts  root %-42s %s", name, len(in.e.Alerts), in.e.RootCause, strings.Join(kinds, " "))
	}
}

func TestCorpusRootCausesAreNodesOrAlertedServices(t *testing.T) {
	for _, in := range incidents(scenarios.MustCorpus(t)) {
		for _, want := range append([]string{in.e.RootCause}, in.e.Acceptable...) {
			ok := in.s.Graph.Has(want) || slices.ContainsFunc(in.e.Alerts, func(a diagnosis.Alert) bool { return a.Service() == want })
			if !ok {
				t.Errorf("%s: %q is neither a node of %s nor a service label of its alerts", in.s.Name, want, in.s.Topology)
			}
		}
	}
}

func TestCorpusGraphsParseWithoutWarnings(t *testing.T) {
	files, err := filepath.Glob("corpus/graphs/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("graphs: %v %v, want at least 5", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			g, err := graph.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if w := g.Warnings(); len(w) > 0 {
				t.Errorf("warnings: %v", w)
			}
			if g.Len() < 12 || g.Len() > 40 {
				t.Errorf("%d nodes, want 12..40", g.Len())
			}
		})
	}
}

func TestCorpusStormSizes(t *testing.T) {
	for _, s := range scenarios.MustCorpus(t) {
		if n := len(s.AllAlerts()); n < 3 || n > 60 {
			t.Errorf("%s: %d alerts, want 3..60", s.Name, n)
		}
	}
}

func TestCorpusHasRealisticLabelShapes(t *testing.T) {
	var alerts []diagnosis.Alert
	for _, s := range scenarios.MustCorpus(t) {
		alerts = append(alerts, s.AllAlerts()...)
	}
	has := func(f func(diagnosis.Alert) bool) bool { return slices.ContainsFunc(alerts, f) }
	named := func(name string) func(diagnosis.Alert) bool {
		return func(a diagnosis.Alert) bool { return a.Name() == name }
	}
	label := func(k string) func(diagnosis.Alert) bool {
		return func(a diagnosis.Alert) bool { _, ok := a.Labels[k]; return ok }
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"kube-state-metrics crash loops name the pod, not the service", has(func(a diagnosis.Alert) bool {
			return a.Name() == "KubePodCrashLooping" && strings.Contains(a.Service(), "kube-state-metrics") && podHash.MatchString(a.Labels["pod"])
		})},
		{"StatefulSet pods carry an ordinal", has(func(a diagnosis.Alert) bool { return ordinal.MatchString(a.Labels["pod"]) })},
		{"KubeDeploymentReplicasMismatch", has(named("KubeDeploymentReplicasMismatch"))},
		{"KubePodNotReady", has(named("KubePodNotReady"))},
		{"KubeContainerWaiting", has(named("KubeContainerWaiting"))},
		{"CPUThrottlingHigh", has(named("CPUThrottlingHigh"))},
		{"KubePersistentVolumeFillingUp from the kubelet", has(func(a diagnosis.Alert) bool {
			return a.Name() == "KubePersistentVolumeFillingUp" && a.Labels["job"] == "kubelet"
		})},
		{"KubeNodeNotReady", has(named("KubeNodeNotReady"))},
		{"NodeFilesystemSpaceFillingUp", has(named("NodeFilesystemSpaceFillingUp"))},
		{"NodeMemoryHighUtilization", has(named("NodeMemoryHighUtilization"))},
		{"TargetDown", has(named("TargetDown"))},
		{"node-exporter alerts with an IP:port instance", has(func(a diagnosis.Alert) bool {
			return a.Labels["job"] == "node-exporter" && withPort.MatchString(a.Labels["instance"])
		})},
		{"ingress alerts name the backend in exported_service", has(label("exported_service"))},
		{"SLO alerts from Sloth", has(label("sloth_service"))},
		{"SLO alerts from Pyrra", has(label("slo"))},
		{"Kafka consumer group alerts", has(func(a diagnosis.Alert) bool { return a.Labels["consumergroup"] != "" && a.Labels["topic"] != "" })},
		{"blackbox probes with a URL instance", has(func(a diagnosis.Alert) bool {
			return strings.HasPrefix(a.Labels["job"], "blackbox") && strings.HasPrefix(a.Labels["instance"], "https://")
		})},
		{"cert-manager CertificateExpiry", has(named("CertificateExpiry"))},
		{"CoreDNSErrorsHigh", has(named("CoreDNSErrorsHigh"))},
		{"external provider checks", has(label("provider"))},
		{"resolved alerts", has(func(a diagnosis.Alert) bool { return a.Status == diagnosis.Resolved })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Error("no alert in the corpus has this shape")
			}
		})
	}
}

func TestCorpusAlertsAreWebhookAlerts(t *testing.T) {
	for _, s := range scenarios.MustCorpus(t) {
		for _, a := range s.AllAlerts() {
			switch {
			case a.Fingerprint != diagnosis.Fingerprint(a.Labels):
				t.Errorf("%s: %s: fingerprint %s is not the label set's", s.Name, a.Name(), a.Fingerprint)
			case a.Labels[scenarios.IncidentLabel] != "":
				t.Errorf("%s: %s still carries %s", s.Name, a.Name(), scenarios.IncidentLabel)
			case a.Source != diagnosis.SourceWebhook || a.Count != 1:
				t.Errorf("%s: %s: source %q count %d", s.Name, a.Name(), a.Source, a.Count)
			case (a.Status == diagnosis.Resolved) != !a.EndsAt.IsZero():
				t.Errorf("%s: %s: status %s with endsAt %v", s.Name, a.Name(), a.Status, a.EndsAt)
			}
		}
	}
}

func TestCorpusFilesAreTheEmbeddedOnes(t *testing.T) {
	files, err := filepath.Glob("corpus/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		if filepath.Dir(f) != filepath.Join("corpus", "graphs") {
			want = append(want, strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(f), "corpus/"), ".yaml"))
		}
	}
	var got []string
	for _, s := range scenarios.MustCorpus(t) {
		got = append(got, s.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("scenarios %v, files %v", got, want)
	}
	if _, err := os.Stat("corpus/README.md"); err != nil {
		t.Errorf("corpus/README.md: %v", err)
	}
}
