package metrics_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// Why kubernetes manifests are tested here: package metrics owns the
// endpoints the probes, the Service and the ServiceMonitor point at.

// pendingSettings are variables the manifests set before cmd/bot reads
// them (docs/metrics.md: the metrics server is not wired yet).
var pendingSettings = []string{"METRICS_ADDR"}

// manifests are the Kubernetes objects of deploy/kubernetes (optional/
// included), by "Kind/name".
func mustManifests(tb testing.TB) map[string]map[string]any {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(kubernetesDir, "*.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	optional, _ := filepath.Glob(filepath.Join(kubernetesDir, "optional", "*.yaml"))
	out := map[string]map[string]any{}
	for _, f := range append(files, optional...) {
		if b := filepath.Base(f); b == "kustomization.yaml" || b == "graph.yaml" {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(mustRead(tb, f)))
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
			key := fmt.Sprintf("%v/%v", obj["kind"], dig(obj, "metadata", "name"))
			if obj["apiVersion"] == nil || obj["kind"] == nil || dig(obj, "metadata", "name") == nil {
				tb.Errorf("%s: an object without apiVersion, kind or metadata.name", f)
			}
			out[key] = obj
		}
	}
	return out
}

// dig walks maps by key and lists by index; nil when a step is missing.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// mustObject returns the object kind/name.
func mustObject(tb testing.TB, all map[string]map[string]any, key string) map[string]any {
	tb.Helper()
	obj, ok := all[key]
	if !ok {
		tb.Fatalf("deploy/kubernetes has no %s", key)
	}
	return obj
}

// configSettings reads the environment variables cmd/bot's configuration
// table declares (env: "NAME" in cmd/bot/config*.go).
func configSettings(tb testing.TB) []string {
	tb.Helper()
	var names []string
	files, _ := filepath.Glob("../cmd/bot/config*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, m := range regexp.MustCompile(`\benv:\s*"([A-Z][A-Z0-9_]*)"`).FindAllStringSubmatch(string(mustRead(tb, f)), -1) {
			names = append(names, m[1])
		}
	}
	if len(names) < 10 {
		tb.Fatalf("found only %v in cmd/bot/config.go; has the table changed shape?", names)
	}
	return names
}

func container(tb testing.TB, all map[string]map[string]any) map[string]any {
	tb.Helper()
	c, ok := dig(mustObject(tb, all, "Deployment/nightowl"), "spec", "template", "spec", "containers", 0).(map[string]any)
	if !ok {
		tb.Fatal("Deployment/nightowl has no container")
	}
	return c
}

func TestProbesPointAtTheMetricsServer(t *testing.T) {
	all := mustManifests(t)
	c := container(t, all)
	if got := dig(c, "ports", 0, "name"); got != "metrics" {
		t.Fatalf("the container's first port is %v, want metrics", got)
	}
	port := dig(c, "ports", 0, "containerPort")
	for _, p := range []struct{ probe, path string }{{"livenessProbe", "/healthz"}, {"readinessProbe", "/readyz"}} {
		if got := dig(c, p.probe, "httpGet", "path"); got != p.path {
			t.Errorf("%s asks %v, want %s", p.probe, got, p.path)
		}
		if got := dig(c, p.probe, "httpGet", "port"); got != "metrics" && got != port {
			t.Errorf("%s asks port %v, want metrics (%v)", p.probe, got, port)
		}
	}
	var addr string
	for _, e := range dig(c, "env").([]any) {
		if dig(e, "name") == "METRICS_ADDR" {
			addr, _ = dig(e, "value").(string)
		}
	}
	if _, p, err := net.SplitHostPort(addr); err != nil || p != fmt.Sprint(port) {
		t.Errorf("METRICS_ADDR is %q, want the metrics port %v", addr, port)
	}
	svc := mustObject(t, all, "Service/nightowl")
	if got := dig(svc, "spec", "ports", 0, "targetPort"); got != "metrics" {
		t.Errorf("the Service targets port %v, want metrics", got)
	}
	sm := mustObject(t, all, "ServiceMonitor/nightowl")
	if dig(sm, "spec", "endpoints", 0, "port") != "metrics" || dig(sm, "spec", "endpoints", 0, "path") != "/metrics" {
		t.Errorf("the ServiceMonitor scrapes %v %v, want metrics /metrics",
			dig(sm, "spec", "endpoints", 0, "port"), dig(sm, "spec", "endpoints", 0, "path"))
	}
}

func TestTheDeploymentSetsOnlySettingsNightowlReads(t *testing.T) {
	all := mustManifests(t)
	known := append(configSettings(t), pendingSettings...)
	c := container(t, all)
	for _, e := range dig(c, "env").([]any) {
		if name := dig(e, "name").(string); !slices.Contains(known, name) {
			t.Errorf("the Deployment sets %s, which cmd/bot/config.go does not read", name)
		}
	}
	env := mustObject(t, all, "ConfigMap/nightowl-env")
	for name := range dig(env, "data").(map[string]any) {
		if !slices.Contains(known, name) {
			t.Errorf("ConfigMap nightowl-env sets %s, which cmd/bot/config.go does not read", name)
		}
	}
	if got := dig(c, "envFrom", 0, "configMapRef", "name"); got != "nightowl-env" {
		t.Errorf("the container reads its environment from %v, want nightowl-env", got)
	}
}

func TestSlackTokensComeFromASecretNotTheManifests(t *testing.T) {
	all := mustManifests(t)
	for key := range all {
		if strings.HasPrefix(key, "Secret/") {
			t.Errorf("%s is in the manifests; secrets are created by hand (kustomization.yaml)", key)
		}
	}
	for _, name := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"} {
		var found bool
		for _, e := range dig(container(t, all), "env").([]any) {
			if dig(e, "name") == name {
				found = true
				if dig(e, "value") != nil || dig(e, "valueFrom", "secretKeyRef", "key") != name {
					t.Errorf("%s is not read from a Secret's key %s", name, name)
				}
			}
		}
		if !found {
			t.Errorf("the Deployment does not set %s", name)
		}
	}
}

func TestThePodRunsLockedDown(t *testing.T) {
	all := mustManifests(t)
	dep := mustObject(t, all, "Deployment/nightowl")
	pod := dig(dep, "spec", "template", "spec")
	c := container(t, all)
	checks := []struct {
		what string
		got  any
		want any
	}{
		{"replicas", dig(dep, "spec", "replicas"), 2},
		{"pod runAsNonRoot", dig(pod, "securityContext", "runAsNonRoot"), true},
		{"pod runAsUser (the Dockerfile's user)", dig(pod, "securityContext", "runAsUser"), 10001},
		{"readOnlyRootFilesystem", dig(c, "securityContext", "readOnlyRootFilesystem"), true},
		{"allowPrivilegeEscalation", dig(c, "securityContext", "allowPrivilegeEscalation"), false},
		{"dropped capabilities", dig(c, "securityContext", "capabilities", "drop", 0), "ALL"},
		{"service account", dig(pod, "serviceAccountName"), "nightowl"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	for _, r := range []string{"requests", "limits"} {
		if dig(c, "resources", r, "memory") == nil || dig(c, "resources", r, "cpu") == nil {
			t.Errorf("the container has no cpu and memory %s", r)
		}
	}
	volumes := map[string]any{}
	for _, v := range dig(pod, "volumes").([]any) {
		volumes[dig(v, "name").(string)] = v
	}
	mounts := map[string]string{}
	for _, m := range dig(c, "volumeMounts").([]any) {
		mounts[dig(m, "mountPath").(string)] = dig(m, "name").(string)
	}
	if dig(volumes[mounts["/data"]], "persistentVolumeClaim", "claimName") != "nightowl-data" {
		t.Error("/data is not the PersistentVolumeClaim nightowl-data")
	}
	mustObject(t, all, "PersistentVolumeClaim/nightowl-data")
	if dig(volumes[mounts["/tmp"]], "emptyDir") == nil {
		t.Error("/tmp is not an emptyDir (the root filesystem is read-only)")
	}
	if dig(volumes[mounts["/etc/nightowl/runbooks"]], "configMap", "name") != "nightowl-runbooks" {
		t.Error("/etc/nightowl/runbooks is not the ConfigMap nightowl-runbooks")
	}
	if got := dig(mustObject(t, all, "PodDisruptionBudget/nightowl"), "spec", "minAvailable"); got != 1 {
		t.Errorf("the PodDisruptionBudget keeps %v replicas, want 1", got)
	}
}

func TestTheDefaultRoleGrantsLeasesOnly(t *testing.T) {
	all := mustManifests(t)
	rules := dig(mustObject(t, all, "Role/nightowl-leases"), "rules").([]any)
	for _, r := range rules {
		if fmt.Sprint(dig(r, "apiGroups")) != "[coordination.k8s.io]" || fmt.Sprint(dig(r, "resources")) != "[leases]" {
			t.Errorf("Role nightowl-leases grants %v on %v; only leases", dig(r, "apiGroups"), dig(r, "resources"))
		}
	}
	var k struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(kubernetesDir, "kustomization.yaml")), &k); err != nil {
		t.Fatal(err)
	}
	for _, r := range k.Resources {
		if strings.HasPrefix(r, "optional/") {
			t.Errorf("kustomization.yaml applies %s; what runbooks may change is opt-in", r)
		}
	}
}

func TestTheNetworkPolicyLetsInOnlyScrapesFromMonitoring(t *testing.T) {
	np := mustObject(t, mustManifests(t), "NetworkPolicy/nightowl")
	ingress := dig(np, "spec", "ingress").([]any)
	if len(ingress) != 1 {
		t.Fatalf("%d ingress rules, want the one for scrapes", len(ingress))
	}
	if got := dig(ingress[0], "from", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"); got != "monitoring" {
		t.Errorf("ingress from %v, want the monitoring namespace", got)
	}
	if got := dig(ingress[0], "ports", 0, "port"); got != "metrics" {
		t.Errorf("ingress to port %v, want metrics", got)
	}
	if !slices.Contains(dig(np, "spec", "policyTypes").([]any), any("Egress")) || dig(np, "spec", "egress") == nil {
		t.Error("the policy does not allow egress")
	}
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	var k struct {
		Resources          []string `yaml:"resources"`
		ConfigMapGenerator []struct {
			Name  string   `yaml:"name"`
			Files []string `yaml:"files"`
		} `yaml:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(kubernetesDir, "kustomization.yaml")), &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(kubernetesDir, "*.yaml"))
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && b != "graph.yaml" && !slices.Contains(k.Resources, b) {
			t.Errorf("kustomization.yaml does not list %s", b)
		}
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(kubernetesDir, r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
	generated := map[string][]string{}
	for _, g := range k.ConfigMapGenerator {
		generated[g.Name] = g.Files
	}
	copies, _ := filepath.Glob(filepath.Join(kubernetesDir, "runbooks", "*.yaml"))
	for _, c := range copies {
		if rel, _ := filepath.Rel(kubernetesDir, c); !slices.Contains(generated["nightowl-runbooks"], filepath.ToSlash(rel)) {
			t.Errorf("ConfigMap nightowl-runbooks leaves out %s", rel)
		}
	}
	if !slices.Contains(generated["nightowl-graph"], "graph.yaml") {
		t.Error("no ConfigMap nightowl-graph from graph.yaml")
	}
}

// TestTheRunbookConfigMapMatchesTheShippedRunbooks: the copies are the
// repository's production runbooks, byte for byte (after a change there:
// cp runbooks/RB-*.yaml deploy/kubernetes/runbooks/, RB-DEMO-* left out).
func TestTheRunbookConfigMapMatchesTheShippedRunbooks(t *testing.T) {
	shipped, _ := filepath.Glob("../runbooks/RB-*.yaml")
	for _, s := range shipped {
		if strings.HasPrefix(filepath.Base(s), "RB-DEMO-") {
			continue
		}
		c := filepath.Join(kubernetesDir, "runbooks", filepath.Base(s))
		got, err := os.ReadFile(c)
		if err != nil {
			t.Errorf("no copy of %s in deploy/kubernetes/runbooks", filepath.Base(s))
			continue
		}
		if !bytes.Equal(got, mustRead(t, s)) {
			t.Errorf("%s differs from %s", c, s)
		}
	}
	cat, err := runbooks.LoadCatalog(filepath.Join(kubernetesDir, "runbooks"), runbooks.LoadOptions{PlaybooksDir: "../playbooks"})
	if err != nil {
		t.Fatalf("the runbook ConfigMap does not load: %v", err)
	}
	g, err := graph.Load(filepath.Join(kubernetesDir, "graph.yaml"))
	if err != nil {
		t.Fatalf("graph.yaml: %v", err)
	}
	if w := g.Warnings(); len(w) > 0 {
		t.Errorf("graph.yaml: %v", w)
	}
	for _, name := range g.Names() {
		n, _ := g.Node(name)
		for _, id := range n.Runbooks {
			if _, ok := cat.Get(id); !ok {
				t.Errorf("graph.yaml names runbook %s for %s, which the ConfigMap does not hold", id, name)
			}
		}
	}
}
