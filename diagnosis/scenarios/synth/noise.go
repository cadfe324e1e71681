package synth

import (
	"maps"
	"slices"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// noise adds what real storms also carry: unrelated alerts in the same
// window, warnings that have fired for hours, a flapping alert, business and
// SLO alerts, symptoms that dip below their threshold and resolve, and
// root_cause_candidate labels that are sometimes wrong.
func (g *gen) noise(faults []fault) {
	t, r := g.t, g.r
	busy := map[string]bool{}
	var entries []string
	last := time.Duration(0)
	for _, f := range faults {
		busy[f.root] = true
		for _, h := range f.hits {
			busy[h.node] = true
			if m := t.m(h.node); (m.role == roleApp && m.tier == 0) || m.role == roleGateway {
				entries = append(entries, h.node)
			}
			last = max(last, h.at)
		}
	}
	var quiet []string
	for _, n := range t.byRole(roleApp, roleStore, roleAuth) {
		if !busy[n] {
			quiet = append(quiet, n)
		}
	}
	if len(quiet) > 0 {
		for k := pickWeighted(r, []int{0, 1, 2, 3}, []float64{0.3, 0.35, 0.25, 0.1}); k > 0; k-- {
			g.fire(noiseWindow, "", dur(r, -15*time.Minute, 20*time.Minute), spec{subject: pick(r, quiet), role: RoleNoise})
		}
	}
	for k := pickWeighted(r, []int{0, 1, 2}, []float64{0.4, 0.4, 0.2}); k > 0; k-- {
		s := spec{role: RoleNoise, sev: "warning"}
		rl := g.rule(noiseLong, "")
		if rl.styles[0] != stNone {
			pool := quiet
			if len(pool) == 0 || chance(r, 0.3) {
				pool = slices.Collect(maps.Keys(busy))
				slices.Sort(pool)
			}
			s.subject = pick(r, pool)
		}
		s.rule, s.at = rl, -dur(r, 2*time.Hour, 96*time.Hour)
		g.emit(s)
	}
	if len(quiet) > 0 && chance(r, 0.3) {
		g.flap(pick(r, quiet))
	}
	if chance(r, 0.5) && len(entries) > 0 {
		g.fire(symptomBusiness, "", last+dur(r, time.Minute, 6*time.Minute), spec{style: stNone, role: RoleBusiness})
	}
	if chance(r, 0.4) && len(entries) > 0 {
		g.fire(symptomSLO, "", last, spec{subject: pick(r, entries), role: RoleSLO})
	}
	for i := range g.out {
		if e := &g.out[i]; e.role == RoleSymptom && len(e.tags) == 0 && e.alert.EndsAt.IsZero() && chance(r, 0.06) {
			e.alert.Status, e.alert.EndsAt = diagnosis.Resolved, e.alert.StartsAt.Add(dur(r, 2*time.Minute, 8*time.Minute))
		}
	}
	if chance(r, 0.2) {
		var symptoms []int
		for i, e := range g.out {
			if e.role == RoleSymptom && e.alert.Severity() == diagnosis.SeverityCritical {
				symptoms = append(symptoms, i)
			}
		}
		if len(symptoms) > 0 && g.relabel(pick(r, symptoms), diagnosis.LabelRootCauseCandidate, "true") {
			g.hard = append(g.hard, "a symptom carries root_cause_candidate=\"true\"")
		}
	}
	if chance(r, 0.15) {
		for i, e := range g.out {
			if e.role == RoleCause {
				g.relabel(i, diagnosis.LabelRootCauseCandidate, "true")
				break
			}
		}
	}
}

// flap emits an unrelated alert that fired, resolved and fired again: the
// same labels twice, the first resolved.
func (g *gen) flap(subject string) {
	r := g.r
	n := len(g.out)
	rs := pick(r, []rules{symptomLatency, noiseWindow})
	first := -dur(r, 10*time.Minute, 40*time.Minute)
	if !g.fire(rs, "", first, spec{subject: subject, role: RoleNoise}) {
		return
	}
	e := g.out[n]
	g.out[n].alert.Status = diagnosis.Resolved
	g.out[n].alert.EndsAt = e.alert.StartsAt.Add(dur(r, 3*time.Minute, 8*time.Minute))
	again := e
	again.alert.Labels = maps.Clone(e.alert.Labels)
	again.alert.Annotations = maps.Clone(e.alert.Annotations)
	again.alert.StartsAt = g.out[n].alert.EndsAt.Add(dur(r, 2*time.Minute, 12*time.Minute))
	g.out = append(g.out, again)
}

// relabel sets a label on an emitted alert, unless that would make it the
// same alert as another.
func (g *gen) relabel(i int, name, value string) bool {
	a := &g.out[i].alert
	labels := maps.Clone(a.Labels)
	labels[name] = value
	fp := diagnosis.Fingerprint(labels)
	if g.seen[fp] {
		return false
	}
	g.seen[fp] = true
	a.Labels, a.Fingerprint = labels, fp
	return true
}
