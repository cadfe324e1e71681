package synth

import (
	"fmt"
	"slices"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// fault is one root cause and what it did.
type fault struct {
	typ, root   string
	answers     []string // other names that are right (aliases, a stuck dependent)
	title, note string
	evidence    string
	hits        []hit
}

// candidates lists nodes for which ok holds and avoid does not, with weights.
func (g *gen) candidates(avoid func(string) bool, weight func(m *meta) float64) (names []string, w []float64) {
	for _, n := range g.t.order {
		if avoid(n) {
			continue
		}
		if x := weight(g.t.m(n)); x > 0 {
			names, w = append(names, n), append(w, x)
		}
	}
	return names, w
}

func (g *gen) choose(names []string, w []float64) (string, bool) {
	if len(names) == 0 {
		return "", false
	}
	return names[weightedIndex(g.r, w)], true
}

// rootAlert emits a cause alert on the root, trying the half's rules of the
// vocabulary (those of mode first) until one can name the root.
func (g *gen) rootAlert(rs rules, mode string, onset time.Duration, s spec) (rule, bool) {
	all := slices.Clone(rs.half(g.half))
	g.r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	slices.SortStableFunc(all, func(a, b rule) int { return boolInt(b.mode == mode) - boolInt(a.mode == mode) })
	for _, r := range all {
		s.rule, s.at, s.style = r, g.at(onset, r), ""
		if g.emit(s) {
			return r, true
		}
	}
	return rule{}, false
}

// saturation: a datastore, queue or service runs out of connections, memory,
// disk or CPU.
func (g *gen) saturation(t0 time.Duration, avoid func(string) bool) (fault, bool) {
	root, ok := g.choose(g.candidates(avoid, func(m *meta) float64 {
		users := len(g.callers(m.name))
		switch {
		case m.role == roleStore && users > 0:
			return 1 + float64(users)
		case (m.role == roleApp || m.role == roleAuth) && users >= 2:
			return 0.7
		}
		return 0
	}))
	if !ok {
		return fault{}, false
	}
	m := g.t.m(root)
	cr := causeByTech(m.tech)
	first := g.rule(cr, "")
	mode := first.mode
	sev := first.sev
	if chance(g.r, 0.4) {
		sev = "warning"
	}
	if chance(g.r, 0.35) {
		pr, pmode := precursorStore, m.tech
		if m.role != roleStore {
			pr, pmode = precursorService, mode
		}
		if r, ok := g.precursor(pr, pmode); ok {
			g.emit(spec{rule: r, subject: root, at: t0 - dur(g.r, 5*time.Minute, 45*time.Minute), sev: "warning", role: RolePrecursor})
		}
	}
	text := ""
	if m.role != roleStore {
		text = g.phrase(textOverloadRoot, mode)
	}
	lag := dur(g.r, -time.Minute, 2*time.Minute)
	r1, ok := g.rootAlert(rules{tune: []rule{first}, test: []rule{first}}, mode, t0+lag, spec{subject: root, sev: sev, text: text, role: RoleCause})
	if !ok {
		if r1, ok = g.rootAlert(cr, mode, t0+lag, spec{subject: root, sev: sev, text: text, role: RoleCause}); !ok {
			return fault{}, false
		}
	}
	if chance(g.r, 0.35) {
		g.rootAlert(cr, mode, t0+lag+dur(g.r, 0, 3*time.Minute), spec{subject: root, role: RoleCause})
	}
	if r1.forDur >= 10*time.Minute {
		g.hard = append(g.hard, fmt.Sprintf("the root's %s has `for: %s`, so it fires after its callers' alerts", r1.name, r1.forDur))
	}
	if sev == "warning" {
		g.hard = append(g.hard, "the root's alert is only a warning")
	}
	hits := g.cascade([]hit{{node: root, at: t0}}, 0.9, 0.65, 14)
	texts := textByTech(m.tech)
	g.symptoms(hits, func(h hit) (string, string, string, string) {
		if chance(g.r, 0.6) {
			return g.phrase(texts, mode), "", root, "kind:" + root
		}
		return "", "", "", ""
	}, 0.85)
	f := fault{typ: Saturation, root: root, hits: hits, answers: g.aliasAnswers(root)}
	what := map[string]string{"conn": "connections", "mem": "memory", "disk": "disk", "cpu": "CPU"}[mode]
	if what == "" {
		what = "capacity"
	}
	tech := m.tech
	if tech == "" {
		tech = "service"
	}
	f.title = fmt.Sprintf("%s (%s) runs out of %s", root, tech, what)
	f.note = fmt.Sprintf("%s, a %s, ran out of %s; %d services it serves were reached.", root, tech, what, len(hits))
	f.evidence = fmt.Sprintf("cause alert %s on the root; %d alerting dependents, %d quoting its errors",
		r1.name, g.alertingAmong(hits), g.tagged("kind:"+root))
	g.maybeRecover(&f)
	return f, true
}

func (g *gen) precursor(rs rules, mode string) (rule, bool) {
	for _, r := range rs.half(g.half) {
		if r.mode == mode {
			return r, true
		}
	}
	return rule{}, false
}

// badDeploy: a rollout breaks a service.
func (g *gen) badDeploy(t0 time.Duration, avoid func(string) bool) (fault, bool) {
	root, ok := g.choose(g.candidates(avoid, func(m *meta) float64 {
		if (m.role != roleApp && m.role != roleAuth) || len(g.callers(m.name)) == 0 {
			return 0
		}
		return 1 + float64(min(m.tier, 2))
	}))
	if !ok {
		return fault{}, false
	}
	g.version = pick(g.r, []string{
		fmt.Sprintf("v%d.%d.%d", 1+g.r.IntN(9), g.r.IntN(40), g.r.IntN(20)),
		fmt.Sprintf("%d.%02d.%d-%s", 2026, 1+g.r.IntN(12), g.r.IntN(9), randString(g.r, hexAlphabet, 7)),
	})
	crash := chance(g.r, 0.35)
	n := 0
	if !crash || chance(g.r, 0.5) {
		text := ""
		if chance(g.r, 0.75) {
			text = g.phrase(textDeployRoot, "")
		}
		if g.fire(symptomErrors, "", t0, spec{subject: root, text: text, role: RoleCause, tags: []string{"deploy"}}) {
			n++
		}
	}
	if crash || chance(g.r, 0.5) {
		mode := "errors"
		if crash {
			mode = "crash"
		}
		if _, ok := g.rootAlert(causeDeploy, mode, t0, spec{subject: root, text: g.phrase(textDeployRoot, ""), role: RoleCause}); ok {
			n++
		}
	}
	if n == 0 {
		if _, ok := g.rootAlert(causeDeploy, "", t0, spec{subject: root, role: RoleCause}); !ok {
			return fault{}, false
		}
	}
	p0 := 0.85
	if crash {
		p0 = 0.6 // the rolling update stalls; old pods keep serving part of the traffic
	}
	hits := g.cascade([]hit{{node: root, at: t0}}, p0, 0.6, 12)
	g.symptoms(hits, func(h hit) (string, string, string, string) {
		if chance(g.r, 0.6) {
			return g.phrase(textDeployCaller, ""), "", root, "names:" + root
		}
		return "", "", "", ""
	}, 0.85)
	f := fault{typ: BadDeploy, root: root, hits: hits, answers: g.aliasAnswers(root)}
	how := "returns errors"
	if crash {
		how = "crash-loops"
	}
	f.title = fmt.Sprintf("%s %s after rolling out %s", root, how, g.version)
	f.note = fmt.Sprintf("A rollout of %s (%s) %s; %d callers were reached.", root, g.version, how, len(hits))
	f.evidence = fmt.Sprintf("%d alerts on the root itself; %d alerting callers, %d naming it", g.on(root), g.alertingAmong(hits), g.tagged("names:"+root))
	g.maybeRecover(&f)
	return f, true
}

// external: a third-party provider fails.
func (g *gen) external(t0 time.Duration, avoid func(string) bool) (fault, bool) {
	t := g.t
	root, ok := g.choose(g.candidates(avoid, func(m *meta) float64 {
		if m.role == roleExternal && len(g.callers(m.name)) > 0 {
			return 1
		}
		return 0
	}))
	if !ok {
		return fault{}, false
	}
	m := t.m(root)
	var hits []hit
	for _, c := range g.callers(root) {
		if avoid(c) || !chance(g.r, 0.9) && len(hits) > 0 {
			continue
		}
		h := hit{node: c, via: root, hop: 1, at: t0 + dur(g.r, 15*time.Second, 90*time.Second)}
		hits = append(hits, h)
		text := ""
		if chance(g.r, 0.75) {
			text = g.phrase(textExternal, "")
		}
		s := spec{subject: c, text: text, host: m.host, prov: m.prov, dep: root, role: RoleSymptom, tags: []string{"names:" + root}}
		if chance(g.r, 0.6) {
			g.fire(symptomExternal, "", h.at, s)
		} else {
			g.fire(symptomErrors, "", h.at, s)
		}
		if chance(g.r, 0.35) {
			g.fire(symptomLatency, "", h.at, spec{subject: c, role: RoleSymptom})
		}
	}
	if len(hits) == 0 {
		return fault{}, false
	}
	if chance(g.r, 0.35) {
		g.rootAlert(causeExternal, "", t0+dur(g.r, time.Minute, 10*time.Minute), spec{subject: root, role: RoleCause})
	}
	more := g.cascade(hits, 0.6, 0.5, 10)
	g.symptoms(more, nil, 0.8)
	f := fault{typ: External, root: root, hits: append(hits, more...), answers: g.aliasAnswers(root)}
	f.title = fmt.Sprintf("%s (%s provider) fails", m.prov.label, m.tech)
	f.note = fmt.Sprintf("The %s provider %s (%s) failed; %d of its callers alert.", m.tech, root, m.host, g.alertingAmong(hits))
	if !t.inEngine(root) {
		f.note += " The provider is not in the graph file."
	}
	f.evidence = fmt.Sprintf("%d alerts naming the provider by label or host; %d alerting callers", g.naming(root), g.alertingAmong(hits))
	g.maybeRecover(&f)
	return f, true
}

// silent: a dependency with no alert of its own.
func (g *gen) silent(t0 time.Duration, avoid func(string) bool) (fault, bool) {
	t := g.t
	root, ok := g.choose(g.candidates(avoid, func(m *meta) float64 {
		if !t.inEngine(m.name) || len(g.callers(m.name)) < 2 {
			return 0
		}
		switch m.role {
		case roleStore:
			return 1.5
		case roleApp, roleAuth:
			if m.tier >= 1 {
				return 1
			}
		}
		return 0
	}))
	if !ok {
		return fault{}, false
	}
	m := t.m(root)
	hits := g.cascade([]hit{{node: root, at: t0}}, 0.85, 0.65, 14)
	texts := textUpstream
	if m.role == roleStore {
		texts = textByTech(m.tech)
	}
	g.symptoms(hits, func(h hit) (string, string, string, string) {
		if chance(g.r, 0.35) {
			return g.phrase(texts, ""), "", root, "names:" + root
		}
		return "", "", "", ""
	}, 0.75)
	f := fault{typ: Silent, root: root, hits: hits}
	f.title = fmt.Sprintf("%s fails without an alert of its own", root)
	f.note = fmt.Sprintf("%s (%s) failed and has no alert of its own (no exporter, no rule); %d of its %d callers were reached.", root, m.kind, countHop(hits, 1), len(g.callers(root)))
	f.evidence = fmt.Sprintf("no alert of its own; %d alerting branches below it in the graph file; %d alerts naming it", g.branches(root), g.naming(root))
	return f, true
}

// maybeRecover turns a fault, now and then, into the shape where the root
// recovered but a dependent stays stuck: the root's alerts resolve, most
// symptoms too, and one direct caller keeps failing with its own error.
func (g *gen) maybeRecover(f *fault) {
	if !chance(g.r, 0.12) {
		return
	}
	var direct []string
	for _, h := range f.hits {
		if h.hop == 1 && g.on(h.node) > 0 && g.t.m(h.node).role != roleIngress {
			direct = append(direct, h.node)
		}
	}
	if len(direct) == 0 {
		return
	}
	stuck := pick(g.r, direct)
	var onset time.Duration
	for _, h := range f.hits {
		onset = max(onset, h.at)
	}
	last := g.start.Add(onset)
	for _, e := range g.out {
		if e.subject == f.root && e.alert.StartsAt.After(last) {
			last = e.alert.StartsAt
		}
	}
	end := last.Add(dur(g.r, 3*time.Minute, 10*time.Minute))
	reached := map[string]bool{}
	for _, h := range f.hits {
		reached[h.node] = true
	}
	for i := range g.out {
		e := &g.out[i]
		switch {
		case e.subject == f.root && e.alert.StartsAt.Before(end):
			e.alert.Status, e.alert.EndsAt = diagnosis.Resolved, end
		case reached[e.subject] && e.subject != stuck && chance(g.r, 0.7):
			if at := end.Add(dur(g.r, time.Minute, 4*time.Minute)); e.alert.StartsAt.Before(at) {
				e.alert.Status, e.alert.EndsAt = diagnosis.Resolved, at
			}
		}
	}
	g.fire(symptomErrors, "", end.Sub(g.start)+dur(g.r, time.Minute, 4*time.Minute), spec{
		subject: stuck, sev: "critical", text: g.phrase(textStuck, ""), dep: f.root, role: RoleSymptom, tags: []string{"stuck"},
	})
	f.answers = append(f.answers, stuck)
	f.note += fmt.Sprintf(" %s recovered, but %s stayed broken; both answers count.", f.root, stuck)
	g.hard = append(g.hard, "the root's alerts have resolved while a dependent still fires")
}

// aliasAnswers are the names an alert may use for a node the engine graph
// lacks: its aliases and address.
func (g *gen) aliasAnswers(node string) []string {
	if g.t.inEngine(node) {
		return nil
	}
	m := g.t.m(node)
	out := slices.Clone(m.aliases)
	if m.ip != "" {
		out = append(out, m.ip)
	}
	return uniq(out, node)
}

func countHop(hits []hit, hop int) int {
	n := 0
	for _, h := range hits {
		if h.hop == hop {
			n++
		}
	}
	return n
}
