package diagnosis

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Why this file is long: it is the Grouper's one state machine (add,
// update, merge, restore, publish, evict) over one lock and one tracked
// type, read best in one place; which incident an alert joins is in
// grouping.go and clues.go.

// UpdateKind says why the Grouper publishes an incident.
type UpdateKind string

// Kinds of updates, in the order an incident usually sees them.
const (
	// Opened: GROUP_WAIT gathered the first burst (or a critical root-cause
	// candidate arrived): time for the card, and the page.
	Opened UpdateKind = "opened"
	// Burst: more alerts arrived or resolved since the last update.
	Burst UpdateKind = "burst"
	// Reopened: a resolved incident's alert fired again within the flap window.
	Reopened UpdateKind = "reopened"
	// IncidentResolved: every alert of the incident has resolved.
	IncidentResolved UpdateKind = "resolved"
	// Settled: the incident resolved before its card was due; nobody is paged.
	Settled UpdateKind = "settled"
	// Retired: the incident leaves memory while still firing (nobody heard
	// from it for StaleAfter, or MaxIncidents was reached); Note says why.
	// It stays in the store; a later alert opens a new incident.
	Retired UpdateKind = "retired"
)

// ChangeKind says what happened to one alert within a burst.
type ChangeKind string

// Kinds of alert changes.
const (
	ChangeNew      ChangeKind = "new"
	ChangeResolved ChangeKind = "resolved"
	ChangeRefired  ChangeKind = "refired"
	// ChangeCount: an alert that stands for a group (Alertmanager's default
	// message) now stands for more or fewer alerts.
	ChangeCount ChangeKind = "count"
)

// Change is one alert's news within an update.
type Change struct {
	Kind  ChangeKind `json:"kind"`
	Alert AlertState `json:"alert"`
	// Was is the alert's previous Count, for ChangeCount.
	Was int `json:"was,omitempty"`
}

// Update is what the Grouper hands its Sink: a snapshot of the incident after
// a burst, and what changed in it.
type Update struct {
	Kind     UpdateKind
	Incident Incident
	Changes  []Change
	// Unlisted counts the changes beyond the first maxListedChanges, which
	// Changes does not list.
	Unlisted ChangeTally
	// Repeats counts notifications for alerts already known, unchanged.
	Repeats int
	// Note says why, for Retired.
	Note string
}

// Sink receives the Grouper's updates, one at a time, in order per incident.
type Sink interface {
	Publish(ctx context.Context, u Update)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, u Update)

// Publish calls f.
func (f SinkFunc) Publish(ctx context.Context, u Update) { f(ctx, u) }

// GrouperConfig tunes grouping; zero values take the defaults noted.
type GrouperConfig struct {
	// Wait is GROUP_WAIT: how long a new incident gathers alerts before its
	// card, and how long later bursts gather before a thread reply. Default 10s.
	Wait time.Duration
	// FlapWindow keeps a resolved incident so that its alerts firing again
	// reopen it instead of paging anew. Default 15m.
	FlapWindow time.Duration
	// MaxGap is how far apart in time (by startsAt) a related alert may be from
	// an open incident's alerts and still join it. Default 30m.
	MaxGap time.Duration
	// Graph relates services: a *graph.Graph, or the *graph.Current a
	// refresh swaps (each Add reads it once). Nil means it knows none, and
	// alerts group by their node and by clues (docs/grouping.md).
	Graph GraphSource
	// Resolver names the graph node an alert is about, with its rules over
	// the graph in effect; default: the default rules.
	Resolver *Resolver
	// MaxAlerts bounds the alerts an incident keeps one by one in memory;
	// later ones are summarised (Incident.More). Default DefaultMaxAlerts.
	MaxAlerts int
	// MaxIncidents bounds the incidents in memory (bound). Default
	// DefaultMaxIncidents.
	MaxIncidents int
	// StaleAfter retires a firing incident with a card that has had no
	// alert notification for this long. Default DefaultStaleAfter.
	StaleAfter time.Duration
	// Taken reports whether an incident ID is already used (by the store).
	Taken  func(id string) bool
	Now    func() time.Time
	Logger *slog.Logger
}

// Grouper deduplicates alerts by fingerprint, groups them into incidents by
// service graph and time (grouping.go has the rule), and publishes each
// incident once per burst.
// It is the one owner of live incident state; Run owns its timer.
type Grouper struct {
	cfg  GrouperConfig
	sink Sink
	log  *slog.Logger
	kick chan struct{}

	mu    sync.Mutex
	live  map[string]*tracked // open and recently resolved incidents, by ID
	byFP  map[string]*tracked // fingerprint → the incident that keeps it
	extra map[uint64]*tracked // fpKey → the incident that summarises it
	order []*tracked          // live incidents, oldest first
	// graph is the graph the incidents' neighbourhoods were built from,
	// and resolver its Resolver; syncGraph follows a swap.
	graph    *graph.Graph
	resolver *Resolver
}

type tracked struct {
	inc Incident
	idx map[string]int // fingerprint → index in inc.Alerts
	// nodes maps the nodes (or service labels) of its alerts to the
	// namespaces its alerts placed each in: its deployments.
	nodes      map[string][]string
	near       *graph.Neighbourhood // everything Related to its nodes; nil: none the graph knows
	cluster    string               // the first cluster its alerts name
	env        string               // the first environment its alerts name
	namespaces map[string]int       // alerts per namespace label, for Scope
	placed     bool                 // an alert lives in a namespace of its own
	clues      incidentClues        // for alerts the graph cannot place
	firstAt    time.Time            // earliest alert start
	lastAt     time.Time            // latest alert start
	published  bool                 // its card exists
	// undelivered: a card was due but Slack did not take it (Undelivered).
	undelivered bool
	pending     []Change
	unlisted    ChangeTally     // changes beyond maxListedChanges
	extra       map[uint64]bool // fpKey of each alert it summarises → firing
	heard       time.Time       // its latest alert notification, by the Grouper's clock
	retire      string          // why it must leave memory at the next publish
	repeats     int
	reopened    bool
	// closed: a person resolved it (Resolve); no alert joins or reopens it.
	closed bool
	// splitOff maps the nodes a person split off it (Split) to the
	// incident they went to: their later alerts do not join it.
	splitOff  map[string]string
	dueAt     time.Time // zero: nothing to publish
	settledAt time.Time // resolved at, by the Grouper's clock
}

// NewGrouper returns a Grouper that publishes to sink.
func NewGrouper(cfg GrouperConfig, sink Sink) *Grouper {
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	if cfg.FlapWindow <= 0 {
		cfg.FlapWindow = 15 * time.Minute
	}
	if cfg.MaxGap <= 0 {
		cfg.MaxGap = 30 * time.Minute
	}
	if cfg.MaxAlerts <= 0 {
		cfg.MaxAlerts = DefaultMaxAlerts
	}
	if cfg.MaxIncidents <= 0 {
		cfg.MaxIncidents = DefaultMaxIncidents
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Taken == nil {
		cfg.Taken = func(string) bool { return false }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := graphOf(cfg.Graph)
	if cfg.Resolver == nil {
		cfg.Resolver, _ = NewResolver(g, nil)
	}
	return &Grouper{
		cfg: cfg, sink: sink, log: cfg.Logger.With("component", "grouper"),
		kick: make(chan struct{}, 1),
		live: map[string]*tracked{}, byFP: map[string]*tracked{}, extra: map[uint64]*tracked{},
		graph: g, resolver: cfg.Resolver.For(g),
	}
}

// syncGraph reads the graph in effect once, under g.mu; after a swap it
// rebuilds every incident's neighbourhood, which is a set of positions in
// one graph's nodes, from the nodes the incident holds.
func (g *Grouper) syncGraph() {
	cur := graphOf(g.cfg.Graph)
	if cur == g.graph {
		return
	}
	g.graph, g.resolver = cur, g.cfg.Resolver.For(cur)
	for _, t := range g.order {
		t.near = nil
		for node := range t.nodes {
			g.neighbour(t, node)
		}
	}
	g.log.Debug("service graph swapped: neighbourhoods rebuilt", "nodes", cur.Len(), "incidents", len(g.order))
}

// Outcome says what Add did with one alert.
type Outcome struct {
	Incident string // "" when ignored
	Repeat   bool   // already known, unchanged
	Ignored  string // why the alert was not grouped, if it was not
	// Summarised: the incident counts the alert but does not keep it one by
	// one in memory (MaxAlerts); the store's alert log holds it.
	Summarised bool
}

// Add takes alerts into their incidents. It never blocks on publishing.
func (g *Grouper) Add(alerts ...Alert) []Outcome {
	now := g.cfg.Now()
	out := make([]Outcome, len(alerts))
	g.mu.Lock()
	g.syncGraph()
	for i, a := range alerts {
		out[i] = g.add(a, now)
	}
	g.mu.Unlock()
	g.wake()
	return out
}

func (g *Grouper) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

func (g *Grouper) add(a Alert, now time.Time) Outcome {
	if a.Fingerprint == "" {
		a.Fingerprint = Fingerprint(a.Labels)
	}
	if a.Status != Resolved {
		a.Status = Firing
	}
	if a.Count <= 0 {
		a.Count = 1
	}
	key := fpKey(a.Fingerprint)
	if t, ok := g.byFP[a.Fingerprint]; ok && t.closed {
		if out, kept := g.addToClosed(t, a, now); kept {
			return out
		}
	} else if t, ok := g.extra[key]; ok && t.closed {
		if out, kept := g.addToClosed(t, a, now); kept {
			return out
		}
	}
	if t, ok := g.byFP[a.Fingerprint]; ok {
		return g.update(t, a, now)
	}
	if t, ok := g.extra[key]; ok {
		return g.updateSummarised(t, key, a, now)
	}
	if a.Status == Resolved {
		return Outcome{Ignored: "resolved alert that never fired here"}
	}
	node := g.resolver.Node(a)
	f := g.factsOf(a, node, now)
	t := g.match(a, f)
	if t == nil {
		t = g.open(a, now)
	}
	t.heard = now
	g.note(t, a, f)
	if t.firstAt.IsZero() || f.start.Before(t.firstAt) {
		t.firstAt = f.start
	}
	if f.start.After(t.lastAt) {
		t.lastAt = f.start
	}
	if len(t.inc.Alerts) >= g.cfg.MaxAlerts {
		return g.summarise(t, key, a, node, now)
	}
	st := AlertState{Alert: a, Node: node, FirstSeen: now, LastSeen: now, Received: 1}
	t.idx[a.Fingerprint] = len(t.inc.Alerts)
	t.inc.Alerts = append(t.inc.Alerts, st)
	t.inc.Received++
	g.byFP[a.Fingerprint] = t
	g.pend(t, Change{Kind: ChangeNew, Alert: st})
	g.schedule(t, now, !t.published && a.Severity() == SeverityCritical && a.RootCauseCandidate())
	return Outcome{Incident: t.inc.ID}
}

// update applies news about an alert the incident already holds.
func (g *Grouper) update(t *tracked, a Alert, now time.Time) Outcome {
	i := t.idx[a.Fingerprint]
	st := &t.inc.Alerts[i]
	st.LastSeen = now
	st.Received++
	t.inc.Received++
	t.heard = now
	if a.Annotations != nil {
		st.Annotations = a.Annotations
	}
	switch {
	case st.Status == a.Status && a.Count != st.Count && a.Status == Firing:
		was := st.Count
		st.Count, st.Labels = a.Count, a.Labels
		g.pend(t, Change{Kind: ChangeCount, Alert: *st, Was: was})
	case st.Status == a.Status:
		t.repeats++
		return Outcome{Incident: t.inc.ID, Repeat: true}
	case a.Status == Resolved:
		st.Status, st.EndsAt = Resolved, a.EndsAt
		if st.EndsAt.IsZero() {
			st.EndsAt = now
		}
		g.pend(t, Change{Kind: ChangeResolved, Alert: *st})
		if !t.inc.firing() {
			t.inc.Status, t.inc.ResolvedAt, t.settledAt = Resolved, st.EndsAt, now
		}
	default: // fired again after resolving: a flap
		st.Status, st.EndsAt, st.Flaps = Firing, time.Time{}, st.Flaps+1
		if !a.StartsAt.IsZero() {
			st.StartsAt = a.StartsAt
		}
		g.pend(t, Change{Kind: ChangeRefired, Alert: *st})
		if t.inc.Status == Resolved {
			t.inc.Status, t.inc.ResolvedAt, t.settledAt = Firing, time.Time{}, time.Time{}
			t.inc.Reopened++
			t.reopened = true
		}
	}
	g.schedule(t, now, false)
	return Outcome{Incident: t.inc.ID}
}

func (g *Grouper) schedule(t *tracked, now time.Time, immediate bool) {
	switch {
	case t.undelivered && t.dueAt.After(now): // a card being retried keeps its backoff
	case immediate:
		t.dueAt = now
	case t.dueAt.IsZero():
		t.dueAt = now.Add(g.cfg.Wait)
	}
}

// merge moves every alert of from, whose card is not out yet, into into.
func (g *Grouper) merge(into, from *tracked) {
	for _, a := range from.inc.Alerts {
		g.keepOrSummarise(into, a, from)
	}
	for key, firing := range from.extra {
		if into.extra == nil {
			into.extra = map[uint64]bool{}
		}
		into.extra[key] = firing
		g.extra[key] = into
	}
	into.inc.More.merge(from.inc.More)
	into.unlisted.merge(from.unlisted)
	if from.heard.After(into.heard) {
		into.heard = from.heard
	}
	for node, nss := range from.nodes {
		g.noteNode(into, node, "")
		for _, ns := range nss {
			g.noteNode(into, node, ns)
		}
	}
	if into.cluster == "" {
		into.cluster = from.cluster
	}
	if into.env == "" {
		into.env = from.env
	}
	for ns, n := range from.namespaces {
		g.tally(into, ns, n)
	}
	into.placed = into.placed || from.placed
	into.inc.Received += from.inc.Received
	for _, c := range from.pending {
		g.pend(into, c)
	}
	into.repeats += from.repeats
	if !from.firstAt.IsZero() && (into.firstAt.IsZero() || from.firstAt.Before(into.firstAt)) {
		into.firstAt = from.firstAt
	}
	if from.lastAt.After(into.lastAt) {
		into.lastAt = from.lastAt
	}
	if from.inc.OpenedAt.Before(into.inc.OpenedAt) {
		into.inc.OpenedAt = from.inc.OpenedAt
	}
	if !from.dueAt.IsZero() && (into.dueAt.IsZero() || from.dueAt.Before(into.dueAt)) {
		into.dueAt = from.dueAt
	}
	delete(g.live, from.inc.ID)
	g.order = slices.DeleteFunc(g.order, func(t *tracked) bool { return t == from })
	g.log.Debug("incidents merged before their card", "incident", into.inc.ID, "merged", from.inc.ID)
}

func (g *Grouper) open(a Alert, now time.Time) *tracked {
	t := &tracked{
		inc: Incident{ID: g.newID(a, now), Status: Firing, OpenedAt: now},
		idx: map[string]int{}, nodes: map[string][]string{},
	}
	g.live[t.inc.ID] = t
	g.order = append(g.order, t)
	g.bound(t)
	return t
}

// newID derives a short, stable incident ID from the first alert; it grows
// when the short form is taken.
func (g *Grouper) newID(a Alert, now time.Time) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%d", a.Fingerprint, now.UnixNano())
	sum := fmt.Sprintf("%016X", h.Sum64())
	for n := 4; ; n += 2 {
		id := "INC-" + sum[:min(n, len(sum))]
		if _, dup := g.live[id]; !dup && !g.cfg.Taken(id) {
			return id
		}
		if n >= len(sum) {
			h.Write([]byte{0})
			sum = fmt.Sprintf("%016X", h.Sum64())
			n = 2
		}
	}
}

// Restore takes back incidents persisted before a restart. Incidents whose
// card was posted continue in their thread; others get their card at once.
func (g *Grouper) Restore(incidents ...Incident) {
	now := g.cfg.Now()
	g.mu.Lock()
	g.syncGraph()
	for _, in := range incidents {
		if _, dup := g.live[in.ID]; dup {
			continue
		}
		t := &tracked{inc: in.Clone(), idx: map[string]int{}, nodes: map[string][]string{}, published: !in.Thread.IsZero()}
		if len(t.inc.Alerts) > 0 {
			t.inc.Scope = Scope{} // recounted from its alerts
		}
		alerts := t.inc.Alerts
		t.inc.Alerts = make([]AlertState, 0, min(len(alerts), g.cfg.MaxAlerts))
		for _, a := range alerts {
			g.keepOrSummarise(t, a, nil) // it may have been saved with more alerts than are kept now
			g.note(t, a.Alert, g.factsOf(a.Alert, a.NodeOrService(), now))
			if a.LastSeen.After(t.heard) {
				t.heard = a.LastSeen
			}
			if s := a.StartsAt; !s.IsZero() {
				if t.firstAt.IsZero() || s.Before(t.firstAt) {
					t.firstAt = s
				}
				if s.After(t.lastAt) {
					t.lastAt = s
				}
			}
		}
		if in.Status == Resolved {
			t.settledAt = now
			t.closed = !in.Resolution.IsZero() // resolved by hand: it stays closed
		}
		if t.heard.IsZero() || t.heard.After(now) {
			t.heard = now
		}
		if !t.published && in.Status == Firing {
			// Its card goes out soon after the restart, not at once: time
			// to read back what the alerts channel said meanwhile (a
			// resolution settles it without a page). Its first reply lists
			// every alert it holds, as it would have before the restart.
			t.dueAt = now.Add(min(g.cfg.Wait, restoredWait))
			for _, a := range t.inc.Alerts {
				g.pend(t, Change{Kind: ChangeNew, Alert: a})
			}
		}
		g.live[in.ID] = t
		g.order = append(g.order, t)
	}
	// What a person split off an incident stays off it (Split).
	for _, t := range g.live {
		if from := t.inc.SplitFrom; !from.IsZero() {
			if parent, ok := g.live[from.Incident]; ok {
				if parent.splitOff == nil {
					parent.splitOff = map[string]string{}
				}
				parent.splitOff[from.Service] = t.inc.ID
			}
		}
	}
	for range len(g.live) - g.cfg.MaxIncidents {
		g.bound(nil)
	}
	g.mu.Unlock()
	g.wake()
}

// Annotate changes an incident's chat-side fields (thread, ack, escalation)
// and returns the new snapshot.
func (g *Grouper) Annotate(id string, f func(*Incident)) (Incident, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.live[id]
	if !ok {
		return Incident{}, false
	}
	f(&t.inc)
	return t.inc.Clone(), true
}

// Incident returns a snapshot of a live incident.
func (g *Grouper) Incident(id string) (Incident, bool) {
	return g.Annotate(id, func(*Incident) {})
}

// Live lists snapshots of open and recently resolved incidents, newest first.
func (g *Grouper) Live() []Incident {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Incident, 0, len(g.order))
	for i := len(g.order) - 1; i >= 0; i-- {
		out = append(out, g.order[i].inc.Clone())
	}
	return out
}

// Run publishes due incidents until ctx ends.
func (g *Grouper) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		updates, next := g.due(g.cfg.Now())
		for _, u := range updates {
			if ctx.Err() != nil {
				return nil
			}
			g.sink.Publish(ctx, u)
		}
		if len(updates) > 0 {
			continue // publishing took time: look again before sleeping
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(g.cfg.Now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-g.kick:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
	}
}

// Flush publishes every pending update now, whatever its due time: for
// one-shot runs such as `bot diagnose`, and for orderly shutdown.
func (g *Grouper) Flush(ctx context.Context) {
	g.mu.Lock()
	for _, t := range g.order {
		if !t.dueAt.IsZero() {
			t.dueAt = time.Time{}.Add(1)
		}
	}
	g.mu.Unlock()
	updates, _ := g.due(g.cfg.Now())
	for _, u := range updates {
		g.sink.Publish(ctx, u)
	}
}

// due collects the updates whose time has come, evicts incidents past their
// flap window, and returns when the next update is due.
func (g *Grouper) due(now time.Time) ([]Update, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var (
		updates []Update
		next    time.Time
		keep    = g.order[:0]
	)
	for _, t := range g.order {
		if why := g.retireWhy(t, now); why != "" {
			updates = append(updates, g.retired(t, why))
			g.evict(t)
			continue
		}
		if !t.dueAt.IsZero() && !t.dueAt.After(now) {
			if u, ok := g.take(t); ok {
				updates = append(updates, u)
			}
		}
		if t.inc.Status == Resolved && t.dueAt.IsZero() && !t.settledAt.IsZero() && now.Sub(t.settledAt) >= g.cfg.FlapWindow {
			g.evict(t)
			continue
		}
		keep = append(keep, t)
		if !t.dueAt.IsZero() && (next.IsZero() || t.dueAt.Before(next)) {
			next = t.dueAt
		}
		if t.inc.Status == Resolved && t.dueAt.IsZero() && !t.settledAt.IsZero() {
			if ev := t.settledAt.Add(g.cfg.FlapWindow); next.IsZero() || ev.Before(next) {
				next = ev
			}
		}
		if st := g.staleAt(t); !st.IsZero() && (next.IsZero() || st.Before(next)) {
			next = st
		}
	}
	clear(g.order[len(keep):])
	g.order = keep
	return updates, next
}

// take turns an incident's pending changes into one update.
func (g *Grouper) take(t *tracked) (Update, bool) {
	u := Update{Changes: t.pending, Unlisted: t.unlisted, Repeats: t.repeats}
	t.pending, t.unlisted, t.repeats, t.dueAt = nil, ChangeTally{}, 0, time.Time{}
	sort.SliceStable(u.Changes, func(i, j int) bool { return u.Changes[i].Alert.StartsAt.Before(u.Changes[j].Alert.StartsAt) })
	resolved := t.inc.Status == Resolved
	switch {
	case !t.published && resolved && !t.undelivered:
		u.Kind = Settled
	case !t.published:
		u.Kind = Opened
		t.published, t.undelivered = true, false
	case resolved:
		u.Kind = IncidentResolved
	case t.reopened:
		u.Kind = Reopened
	case len(u.Changes) == 0 && u.Unlisted.IsZero():
		return Update{}, false
	default:
		u.Kind = Burst
	}
	t.reopened = false
	if sortAlerts(t.inc.Alerts, t.idx) {
		t.clues = incidentClues{} // its alerts moved: rebuilt on demand
	}
	u.Incident = t.inc.Clone()
	return u, true
}

func (g *Grouper) evict(t *tracked) {
	delete(g.live, t.inc.ID)
	for fp := range t.idx {
		if g.byFP[fp] == t {
			delete(g.byFP, fp)
		}
	}
	for key := range t.extra {
		if g.extra[key] == t {
			delete(g.extra, key)
		}
	}
	g.log.Debug("incident leaves memory", "incident", t.inc.ID)
}

// sortAlerts orders alerts by start then fingerprint and rebuilds the
// index; it reports whether any alert moved.
func sortAlerts(alerts []AlertState, idx map[string]int) bool {
	if slices.IsSortedFunc(alerts, cmpAlert) {
		return false
	}
	slices.SortStableFunc(alerts, cmpAlert)
	for i, a := range alerts {
		idx[a.Fingerprint] = i
	}
	return true
}

func cmpAlert(a, b AlertState) int {
	if c := a.StartsAt.Compare(b.StartsAt); c != 0 {
		return c
	}
	return strings.Compare(a.Fingerprint, b.Fingerprint)
}
