package commands

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/commands/picture"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Neighbourhood bounds: how far a /graph picture reaches, and how many nodes.
const (
	graphDepth    = 2
	graphMaxNodes = 60
	queryTimeout  = 5 * time.Second
	maxRange      = 7 * 24 * time.Hour
)

// graph answers /graph <service> and /graph query <promql> [range].
func (h *Handler) graph(ctx context.Context, r Request, args []string) (Reply, error) {
	if len(args) == 0 {
		if r.Incident == "" {
			return help("/graph"), nil
		}
		_, d, err := h.findIncident(ctx, r.Incident)
		if err != nil {
			return Reply{}, err
		}
		top, ok := d.Top()
		if !ok {
			return help("/graph"), nil
		}
		return h.graphService(ctx, top.Service, r.Incident)
	}
	if strings.EqualFold(args[0], "query") {
		expr := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(r.Text), args[0]))
		return h.graphQuery(ctx, r, expr)
	}
	if len(args) > 1 {
		return Reply{}, usage("Try /graph order-service, or /graph query <promql> [range].", "/graph takes one service, not %q.", strings.Join(args, " "))
	}
	return h.graphService(ctx, args[0], r.Incident)
}

// graphService draws a service's neighbourhood: what it calls and what calls
// it, two hops each way, coloured by alert state, the root cause marked.
func (h *Handler) graphService(ctx context.Context, name, incident string) (Reply, error) {
	svc, err := h.lookupService(name)
	if err != nil {
		return Reply{}, err
	}
	g := h.g
	in, inIncident := h.incidentOf(svc)
	if incident != "" {
		if i, _, ok := h.d.Incidents.Find(ctx, incident); ok {
			in, inIncident = i, true
		}
	}
	keep := map[string]bool{}
	for _, n := range g.Around(svc, graphDepth, graphMaxNodes) {
		keep[n] = true
	}
	state := map[string]picture.State{}
	for _, inc := range h.d.Incidents.Open() {
		for _, a := range inc.Alerts {
			n := a.NodeOrService()
			if a.Status == diagnosis.Firing {
				state[n] = picture.State("firing")
			} else if state[n] == "" {
				state[n] = picture.State("resolved")
			}
		}
	}
	root, radius := "", map[string]bool{}
	if inIncident {
		if _, d, ok := h.d.Incidents.Find(ctx, in.ID); ok {
			if top, ok := d.Top(); ok && g.Has(top.Service) {
				root = top.Service
				keep[root] = true
				for _, u := range g.Upstream(root) {
					radius[u] = true
				}
			}
		}
	}
	names := make([]string, 0, len(keep))
	for n := range keep {
		names = append(names, n)
	}
	sort.Strings(names)
	spec := picture.GraphSpec{Title: fmt.Sprintf("%s: what it calls and what calls it", svc), Legend: true}
	for _, n := range names {
		st := state[n]
		if st == "" {
			st = picture.State("ok")
		}
		node, _ := g.Node(n)
		spec.Nodes = append(spec.Nodes, picture.Node{Name: n, Kind: node.Kind, State: st, Root: n == root, Focus: n == svc, InRadius: radius[n]})
		for _, dep := range g.DependsOn(n) {
			if keep[dep] {
				spec.Edges = append(spec.Edges, picture.Edge{From: n, To: dep})
			}
		}
	}
	png, _, err := picture.DrawGraph(spec)
	if err != nil {
		return Reply{}, fmt.Errorf("draw the graph of %s: %w", svc, err)
	}
	var firing []string
	for _, n := range names {
		if state[n] == "firing" {
			firing = append(firing, n)
		}
	}
	summary := fmt.Sprintf("%s calls %s; called by %s.", svc, orNone(g.DependsOn(svc)), orNone(g.Dependents(svc)))
	lines := []Line{line(text(summary))}
	if len(firing) > 0 {
		lines = append(lines, line(text("Alerting: "+strings.Join(firing, ", ")+".")))
	}
	if root != "" {
		lines = append(lines, line(textf("Root cause of %s: %s; its impact radius: %s.", in.ID, root, orNone(g.Upstream(root)))))
	}
	lines = append(lines, h.provenance(svc)...)
	alt := fmt.Sprintf("Dependency graph around %s: %d services, %d alerting", svc, len(names), len(firing))
	return Reply{Public: true, Summary: summary, Blocks: []Block{{Lines: lines}},
		Picture: &Picture{Name: "graph-" + svc + ".png", Title: "Dependencies of " + svc, Alt: alt, PNG: png}}, nil
}

// provenanceShown bounds the edges whose sources /graph lists one by one.
const provenanceShown = 12

// sourceNames are the sources of edges as /graph names them.
var sourceNames = map[graph.Source]string{
	graph.SourceFile:       "the graph file",
	graph.SourceIstio:      "Istio",
	graph.SourceLinkerd:    "Linkerd",
	graph.SourceTraces:     "traces",
	graph.SourceKubernetes: "Kubernetes",
}

// provenance says where each edge of svc came from and how fresh it is,
// and when the last refresh failed. A graph read from a file alone says
// when it was read; a graph with no history at all (a test's, the demo's)
// says nothing.
func (h *Handler) provenance(svc string) []Line {
	s, now := h.snap, h.d.Now()
	var lines []Line
	if f := s.Failed; f.Err != "" {
		kept := "the last good graph is in effect"
		if at := lastRead(s); !at.IsZero() {
			kept = fmt.Sprintf("the graph in effect was read %s ago", diagnosis.Roughly(now.Sub(at)))
		}
		lines = append(lines, line(bold("The last graph refresh failed"), textf(" %s ago: %s; %s.", diagnosis.Roughly(now.Sub(f.At)), f.Err, kept)))
	}
	if s.Discovering && s.Discovered.IsZero() {
		lines = append(lines, line(text("Discovery has not read the graph from Prometheus yet: every edge here is the graph file's.")))
	}
	if s.Edges == nil && !s.Discovering {
		if !s.FileRead.IsZero() {
			lines = append(lines, line(textf("Every edge is from the graph file, read %s ago.", diagnosis.Roughly(now.Sub(s.FileRead)))))
		}
		return lines
	}
	type edge struct{ from, to string }
	var edges []edge
	for _, d := range h.g.DependsOn(svc) {
		edges = append(edges, edge{svc, d})
	}
	for _, u := range h.g.Dependents(svc) {
		edges = append(edges, edge{u, svc})
	}
	for i, e := range edges {
		if i == provenanceShown {
			lines = append(lines, line(textf("… and %d more edges.", len(edges)-provenanceShown)))
			break
		}
		var from []string
		for _, src := range s.Sources(e.from, e.to) {
			from = append(from, h.sourceSaid(src, now))
		}
		if len(from) == 0 {
			from = []string{"the graph file"} // a dependency the file names but does not declare
		}
		lines = append(lines, line(code(e.from+" → "+e.to), text(": "+strings.Join(from, "; "))))
	}
	return lines
}

// sourceSaid is "discovered from Istio 3m ago" or "from the graph file,
// read 2h 5m ago".
func (h *Handler) sourceSaid(src graph.Source, now time.Time) string {
	name := sourceNames[src]
	if name == "" {
		name = string(src)
	}
	at := h.snap.ReadAt(src)
	switch {
	case src == graph.SourceFile && at.IsZero():
		return "from the graph file"
	case src == graph.SourceFile:
		return fmt.Sprintf("from the graph file, read %s ago", diagnosis.Roughly(now.Sub(at)))
	case at.IsZero():
		return "discovered from " + name
	}
	return fmt.Sprintf("discovered from %s %s ago", name, diagnosis.Roughly(now.Sub(at)))
}

// lastRead is when the graph in effect was read: its discovery, else its file.
func lastRead(s *graph.Snapshot) time.Time {
	if !s.Discovered.IsZero() {
		return s.Discovered
	}
	return s.FileRead
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

var rangeArg = regexp.MustCompile(`^([0-9]{1,4})(m|h|d|w)$`)

// parseRange reads "90m", "6h", "2d", "1w".
func parseRange(s string) (time.Duration, bool) {
	m := rangeArg.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, true
}

// graphQuery charts a PromQL range query; in an incident's thread the
// incident's window is shaded.
func (h *Handler) graphQuery(ctx context.Context, r Request, expr string) (Reply, error) {
	if h.d.Metrics == nil {
		return Reply{}, usage("Set PROMETHEUS_URL to chart metrics.", "No Prometheus is configured.")
	}
	if expr == "" {
		return Reply{}, usage(`Try /graph query rate(http_requests_total[5m]) 6h.`, "/graph query needs a PromQL expression.")
	}
	span := time.Hour
	if i := strings.LastIndexByte(expr, ' '); i > 0 {
		if d, ok := parseRange(expr[i+1:]); ok {
			span, expr = d, strings.TrimSpace(expr[:i])
		}
	}
	if span > maxRange || span < time.Minute {
		return Reply{}, usage("Ranges go from 1m to 7d.", "A range of %s is too long.", diagnosis.Roughly(span))
	}
	if err := h.allowPromQL(expr); err != nil {
		return Reply{}, usage("", "%s.", err)
	}
	end := h.d.Now()
	var window *picture.Window
	if r.Incident != "" {
		if in, _, ok := h.d.Incidents.Find(ctx, r.Incident); ok {
			start := in.StartedAt()
			stop := end
			if in.Status == diagnosis.Resolved && !in.ResolvedAt.IsZero() {
				stop = in.ResolvedAt
			}
			window = &picture.Window{From: start, To: stop}
			if stop.Add(span / 4).Before(end) { // show the incident, not the hours since
				end = stop.Add(span / 4)
			}
		}
	}
	step := max((span / 300).Round(time.Second), 15*time.Second)
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	series, err := h.d.Metrics.QueryRange(qctx, expr, diagnosis.Range{Start: end.Add(-span), End: end, Step: step})
	if err != nil {
		return Reply{}, usage("Check the expression in Prometheus's UI, or try a shorter range.", "Prometheus could not answer: %v.", err)
	}
	spec := picture.ChartSpec{Title: expr, YLabel: "value", Shade: window}
	sort.SliceStable(series, func(i, j int) bool { return seriesName(series[i]) < seriesName(series[j]) })
	for _, s := range series {
		ps := make([]picture.Point, len(s.Points))
		for i, p := range s.Points {
			ps[i] = picture.Point{T: p.T, V: p.V}
		}
		spec.Series = append(spec.Series, picture.Series{Name: seriesName(s), Points: ps})
	}
	png, err := picture.DrawChart(spec)
	if err != nil {
		return Reply{}, fmt.Errorf("draw the chart: %w", err)
	}
	summary := fmt.Sprintf("%d series over the last %s", len(series), diagnosis.Roughly(span))
	if len(series) == 0 {
		summary = fmt.Sprintf("No data for that query over the last %s.", diagnosis.Roughly(span))
	}
	return Reply{Public: true, Summary: summary, Blocks: []Block{{Lines: []Line{line(code(expr), text(" — "+summary))}}},
		Picture: &Picture{Name: "chart.png", Title: expr, Alt: "Chart of " + expr + ": " + summary, PNG: png}}, nil
}

// seriesName is a series' labels as people write them.
func seriesName(s diagnosis.Series) string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+s.Labels[k])
	}
	name := s.Labels["__name__"]
	if len(parts) == 0 {
		if name == "" {
			return "value"
		}
		return name
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}
