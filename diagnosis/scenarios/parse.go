package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// The file formats.
type scenarioFile struct {
	Title       string       `yaml:"title"`
	Topology    string       `yaml:"topology"`
	RootCause   string       `yaml:"root_cause"`
	Acceptable  []string     `yaml:"acceptable"`
	RootCauseB  string       `yaml:"root_cause_b"`
	AcceptableB []string     `yaml:"acceptable_b"`
	Notes       string       `yaml:"notes"`
	Start       string       `yaml:"start"`
	Alerts      []alertFile  `yaml:"alerts"`
	Metrics     []metricFile `yaml:"metrics"`
}

type alertFile struct {
	At          string            `yaml:"at"`
	Status      string            `yaml:"status"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	ResolvedAt  string            `yaml:"resolved_at"`
}

type metricFile struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
	Type   string            `yaml:"type"`
	Points [][]string        `yaml:"points"`
	Noise  float64           `yaml:"noise"`
}

const graphDir = "graphs"

// parse loads a corpus laid out as graphs/<topology>.yaml and
// <topology>/<name>.yaml; every problem found is reported, each naming its
// file and field.
func parse(fsys fs.FS) ([]Scenario, error) {
	graphs, err := parseGraphs(fsys)
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(fsys, "*/*")
	if err != nil {
		return nil, err
	}
	var (
		out  []Scenario
		errs []error
	)
	for _, name := range files {
		if path.Dir(name) == graphDir {
			continue
		}
		if path.Ext(name) != ".yaml" {
			errs = append(errs, fmt.Errorf("%s: not a .yaml scenario file", name))
			continue
		}
		s, err := parseScenario(fsys, name, graphs)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no scenarios: expected <topology>/<name>.yaml files"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func parseGraphs(fsys fs.FS) (map[string]*graph.Graph, error) {
	files, err := fs.Glob(fsys, graphDir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no <topology>.yaml graphs", graphDir)
	}
	graphs := map[string]*graph.Graph{}
	var errs []error
	for _, name := range files {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g, err := graph.Parse(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for _, w := range g.Warnings() {
			errs = append(errs, fmt.Errorf("%s: depends_on: %s", name, w))
		}
		graphs[strings.TrimSuffix(path.Base(name), ".yaml")] = g
	}
	return graphs, errors.Join(errs...)
}

// checker collects the problems of one file.
type checker struct {
	file string
	errs []error
}

func (c *checker) fail(field, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s: %w", c.file, field, fmt.Errorf(format, args...)))
}

func (c *checker) err() error { return errors.Join(c.errs...) }

func parseScenario(fsys fs.FS, name string, graphs map[string]*graph.Graph) (Scenario, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Scenario{}, err
	}
	var f scenarioFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", name, err)
	}
	c := &checker{file: name}
	s := Scenario{
		Name:     strings.TrimSuffix(name, ".yaml"),
		Title:    strings.TrimSpace(f.Title),
		Topology: f.Topology,
		Notes:    strings.TrimSpace(f.Notes),
	}
	if s.Title == "" {
		c.fail("title", "missing")
	}
	if s.Notes == "" {
		c.fail("notes", "missing: say what happened and why the root cause is what it is")
	}
	switch dir := path.Dir(name); {
	case f.Topology == "":
		c.fail("topology", "missing")
	case f.Topology != dir:
		c.fail("topology", "%q, but the file is in %s/", f.Topology, dir)
	case graphs[f.Topology] == nil:
		c.fail("topology", "unknown %q: no %s/%s.yaml", f.Topology, graphDir, f.Topology)
	default:
		s.Graph = graphs[f.Topology]
	}
	if s.Start, err = time.Parse(time.RFC3339, f.Start); err != nil {
		c.fail("start", "want an RFC 3339 time like 2026-03-14T02:10:00Z, got %q", f.Start)
	}
	first, second := c.alerts(f.Alerts, s.Start)
	if len(first) == 0 {
		c.fail("alerts", "the first incident has no alerts")
	}
	s.Incidents = []Expected{{RootCause: f.RootCause, Acceptable: f.Acceptable, Alerts: first}}
	c.roots("", f.RootCause, f.Acceptable, s.Graph, first)
	switch {
	case len(second) > 0:
		s.Incidents = append(s.Incidents, Expected{Label: "b", RootCause: f.RootCauseB, Acceptable: f.AcceptableB, Alerts: second})
		c.roots("_b", f.RootCauseB, f.AcceptableB, s.Graph, second)
	case f.RootCauseB != "" || len(f.AcceptableB) > 0:
		c.fail("root_cause_b", "set, but no alert is labelled %s: \"b\"", IncidentLabel)
	}
	s.Metrics = c.metrics(f.Metrics)
	return s, c.err()
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// alerts converts the file's alerts, split by incident.
func (c *checker) alerts(in []alertFile, start time.Time) (first, second []diagnosis.Alert) {
	seen := map[string]int{}
	for i, a := range in {
		field := fmt.Sprintf("alerts[%d]", i)
		at, err := time.ParseDuration(a.At)
		if err != nil {
			c.fail(field+".at", "want a duration like 45s or -2m, got %q", a.At)
		}
		labels := make(map[string]string, len(a.Labels))
		for k, v := range a.Labels {
			if !labelName.MatchString(k) {
				c.fail(field+".labels", "invalid label name %q", k)
			}
			labels[k] = v
		}
		if labels[diagnosis.LabelAlertname] == "" {
			c.fail(field+".labels", "no alertname")
		}
		incident := labels[IncidentLabel]
		delete(labels, IncidentLabel)
		if incident != "" && incident != "b" {
			c.fail(field+".labels."+IncidentLabel, "%q: the only second incident is \"b\"", incident)
		}
		alert := diagnosis.Alert{
			Fingerprint: diagnosis.Fingerprint(labels),
			Status:      diagnosis.Firing,
			Labels:      labels,
			Annotations: a.Annotations,
			StartsAt:    start.Add(at),
			Source:      diagnosis.SourceWebhook,
			Count:       1,
		}
		if a.ResolvedAt != "" {
			end, err := time.ParseDuration(a.ResolvedAt)
			switch {
			case err != nil:
				c.fail(field+".resolved_at", "want a duration like 12m, got %q", a.ResolvedAt)
			case end <= at:
				c.fail(field+".resolved_at", "%s is not after at %s", a.ResolvedAt, a.At)
			}
			alert.Status, alert.EndsAt = diagnosis.Resolved, start.Add(end)
		}
		switch diagnosis.Status(a.Status) {
		case "", alert.Status:
		case diagnosis.Firing, diagnosis.Resolved:
			c.fail(field+".status", "%s contradicts resolved_at %q: an alert is resolved exactly when it has resolved_at", a.Status, a.ResolvedAt)
		default:
			c.fail(field+".status", "%q: want firing or resolved", a.Status)
		}
		if j, dup := seen[alert.Fingerprint]; dup {
			c.fail(field+".labels", "the same label set as alerts[%d]", j)
		}
		seen[alert.Fingerprint] = i
		if incident == "b" {
			second = append(second, alert)
		} else {
			first = append(first, alert)
		}
	}
	byStart := func(a, b diagnosis.Alert) int { return a.StartsAt.Compare(b.StartsAt) }
	slices.SortStableFunc(first, byStart)
	slices.SortStableFunc(second, byStart)
	return first, second
}

// roots checks an incident's root_cause and acceptable answers: each is a
// graph node (not an alias) or the service label of one of its alerts.
func (c *checker) roots(suffix, root string, acceptable []string, g *graph.Graph, alerts []diagnosis.Alert) {
	if root == "" {
		c.fail("root_cause"+suffix, "missing")
		return
	}
	check := func(field, name string) {
		if g == nil {
			return // the topology is already reported
		}
		if g.Has(name) {
			return
		}
		if node, ok := g.Lookup(name); ok {
			c.fail(field, "%q is an alias of %s: name the node", name, node)
			return
		}
		for _, a := range alerts {
			if a.Service() == name {
				return
			}
		}
		c.fail(field, "%q is neither a graph node nor the service label of one of the incident's alerts", name)
	}
	check("root_cause"+suffix, root)
	for i, a := range acceptable {
		field := fmt.Sprintf("acceptable%s[%d]", suffix, i)
		if a == root || slices.Index(acceptable, a) < i {
			c.fail(field, "%q is listed twice", a)
			continue
		}
		check(field, a)
	}
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// metrics converts the file's metric specs.
func (c *checker) metrics(in []metricFile) []MetricSpec {
	var out []MetricSpec
	types := map[string]string{}
	seen := map[string]int{}
	for i, m := range in {
		field := fmt.Sprintf("metrics[%d]", i)
		spec := MetricSpec{Name: m.Name, Labels: m.Labels, Type: m.Type, Noise: m.Noise}
		if !metricName.MatchString(m.Name) {
			c.fail(field+".name", "invalid metric name %q", m.Name)
		}
		switch m.Type {
		case Gauge:
		case Counter:
			if !strings.HasSuffix(m.Name, "_total") {
				c.fail(field+".name", "counter %q must end in _total", m.Name)
			}
		default:
			c.fail(field+".type", "%q: want gauge or counter", m.Type)
		}
		if t, ok := types[m.Name]; ok && t != m.Type {
			c.fail(field+".type", "%s is a %s in an earlier series", m.Name, t)
		}
		types[m.Name] = m.Type
		for k := range m.Labels {
			if !labelName.MatchString(k) || strings.HasPrefix(k, "__") {
				c.fail(field+".labels", "invalid label name %q", k)
			}
		}
		key := seriesKey(m.Name, m.Labels)
		if j, dup := seen[key]; dup {
			c.fail(field, "the same series as metrics[%d]", j)
		}
		seen[key] = i
		if m.Noise < 0 || m.Noise >= 1 || math.IsNaN(m.Noise) {
			c.fail(field+".noise", "%v: want 0 ≤ noise < 1", m.Noise)
		}
		spec.Points = c.points(field, m)
		out = append(out, spec)
	}
	return out
}

// points parses a metric's [offset, value] pairs.
func (c *checker) points(field string, m metricFile) []MetricPoint {
	var out []MetricPoint
	if len(m.Points) < 2 {
		c.fail(field+".points", "want at least two [offset, value] points")
	}
	for j, p := range m.Points {
		pf := fmt.Sprintf("%s.points[%d]", field, j)
		if len(p) != 2 {
			c.fail(pf, "want [offset, value], got %d elements", len(p))
			continue
		}
		at, err := time.ParseDuration(p[0])
		if err != nil {
			c.fail(pf, "want an offset like -45m, got %q", p[0])
			continue
		}
		v, err := strconv.ParseFloat(p[1], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			c.fail(pf, "want a finite number, got %q", p[1])
			continue
		}
		if m.Type == Counter && v < 0 {
			c.fail(pf, "a counter's rate cannot be negative (%v)", v)
		}
		if n := len(out); n > 0 && at <= out[n-1].At {
			c.fail(pf, "offset %s is not after the previous point's", p[0])
			continue
		}
		out = append(out, MetricPoint{At: at, Value: v})
	}
	return out
}

// seriesKey identifies a series: its name and sorted labels.
func seriesKey(name string, labels map[string]string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteString("\xff" + k + "\xff" + labels[k])
	}
	return b.String()
}
