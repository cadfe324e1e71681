package synth

import (
	"maps"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Alert roles, as the generator knows them (Incident.Roles).
const (
	RoleCause     = "cause"     // on the root, about its failure
	RolePrecursor = "precursor" // on the root, minutes or hours before
	RoleSymptom   = "symptom"   // on something the failure reached
	RoleInfra     = "infra"     // on infrastructure that merely reflects it
	RoleNoise     = "noise"     // unrelated
	RoleSLO       = "slo"
	RoleBusiness  = "business"
)

// spec is one alert to emit.
type spec struct {
	rule    rule
	style   string
	subject string        // the true node it is about; "" for none
	name    string        // the workload named when it is no graph node (a DaemonSet)
	at      time.Duration // StartsAt, from the scenario's start
	ends    time.Duration // EndsAt, 0 while firing
	sev     string        // overrides the rule's severity
	text    string        // an error text to quote
	dep     string        // the dependency the text and {dep} name
	prov    *provider
	pod     *pod
	host    string // what {host} means in the error text, when not the subject's address
	cert    string // the certificate a cert-manager alert names, and its namespace
	certNS  string
	role    string
	tags    []string
	labels  map[string]string // extra labels
}

// emitted is an alert with what the generator knows about it.
type emitted struct {
	alert   diagnosis.Alert
	subject string
	role    string
	tags    []string
}

// styleFits reports whether a subject can be named in a style.
func (g *gen) styleFits(style, subject string) bool {
	m := g.t.m(subject)
	if m == nil {
		return style == stNone || style == stKsmDeploy
	}
	switch style {
	case stKsmPod, stPod, stDBPod:
		return len(m.pods) > 0
	case stKsmDeploy:
		return len(m.pods) > 0 || m.role == roleApp
	case stRDS:
		return m.managed && g.t.style.cloud == "aws"
	case stConsumer:
		return m.consumes != "" && g.t.m(m.consumes).tech == "kafka"
	case stWorkQueue:
		return m.consumes != "" || m.role == roleApp
	case stCluster:
		return m.tech == "elasticsearch" || m.tech == "kafka" || m.tech == "rabbitmq"
	case stIstio, stApp, stSloth, stPyrra, stIngress, stALB, stJob:
		return m.role == roleApp || m.role == roleAuth || m.role == roleGateway
	}
	return true
}

// ruleFits reports whether a rule can be about the subject at all: a
// StatefulSet rule needs a StatefulSet, a Deployment rule a Deployment.
func (g *gen) ruleFits(r rule, s spec) bool {
	m := g.t.m(s.subject)
	n := strings.ToLower(r.name)
	switch {
	case strings.Contains(n, "statefulset"):
		return m != nil && m.sts
	case strings.Contains(n, "deployment"), strings.Contains(n, "rollout"), strings.Contains(n, "hpa"):
		return m != nil && !m.sts && len(m.pods) > 0
	case strings.Contains(n, "daemonset"):
		return s.name != ""
	}
	return true
}

// pickStyle picks one of the rule's styles that fits the subject, or "".
func (g *gen) pickStyle(r rule, subject string) string {
	var ok []string
	for _, s := range r.styles {
		if g.styleFits(s, subject) {
			ok = append(ok, s)
		}
	}
	if len(ok) == 0 {
		return ""
	}
	return pick(g.r, ok)
}

// emit renders a spec into an alert; it returns false when an alert with the
// same labels already exists (and so would be the same alert).
func (g *gen) emit(s spec) bool {
	if !g.ruleFits(s.rule, s) {
		return false
	}
	if s.style == "" {
		s.style = g.pickStyle(s.rule, s.subject)
		if s.style == "" {
			return false
		}
	}
	m := g.t.m(s.subject)
	if s.pod == nil && m != nil && len(m.pods) > 0 {
		s.pod = &m.pods[g.r.IntN(len(m.pods))]
	}
	v := g.values(s, m)
	labels := g.labels(s, m, v)
	name := strings.ReplaceAll(s.rule.name, "{D}", v["{D}"])
	labels[diagnosis.LabelAlertname] = name
	sev := s.rule.sev
	if s.sev != "" {
		sev = s.sev
	}
	labels[diagnosis.LabelSeverity] = sev
	for k, x := range s.labels {
		labels[k] = x
	}
	fp := diagnosis.Fingerprint(labels)
	if g.seen[fp] {
		return false
	}
	g.seen[fp] = true
	a := diagnosis.Alert{
		Fingerprint: fp, Status: diagnosis.Firing, Labels: labels,
		Annotations: g.annotations(s, v),
		StartsAt:    g.start.Add(s.at).Truncate(time.Second),
		Source:      diagnosis.SourceWebhook,
	}
	if s.ends != 0 {
		a.Status, a.EndsAt = diagnosis.Resolved, g.start.Add(s.ends).Truncate(time.Second)
	}
	g.out = append(g.out, emitted{alert: a, subject: s.subject, role: s.role, tags: s.tags})
	return true
}

// annotations fills the rule's summary and description, quoting the error
// text where the rule does not ask for it.
func (g *gen) annotations(s spec, v map[string]string) map[string]string {
	text := s.text
	if text != "" {
		vt := v
		if s.host != "" {
			vt = maps.Clone(v)
			vt["{host}"] = s.host
		}
		text = fill(text, vt)
	}
	v["{text}"] = text
	out := map[string]string{"summary": fill(s.rule.summary, v)}
	desc := s.rule.desc
	if text != "" && !strings.Contains(desc, "{text}") {
		switch g.r.IntN(3) {
		case 0:
			out["summary"] += " (" + text + ")"
		case 1:
			desc = strings.TrimSpace(desc + "\nTop error: " + text)
		default:
			desc = text
		}
	}
	if d := strings.TrimSpace(fill(desc, v)); d != "" {
		out["description"] = d
	}
	if g.r.IntN(4) == 0 {
		out["runbook_url"] = "https://runbooks." + g.t.Name + ".internal/alerts/" + strings.ToLower(strings.ReplaceAll(s.rule.name, "{D}", ""))
	}
	return out
}

// fill replaces {placeholders}; unknown ones are left for a reviewer to see.
func fill(s string, v map[string]string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		if x, ok := v[s[i:i+j+1]]; ok {
			b.WriteString(x)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// phrase picks an error text of the half, preferring the given failure mode.
func (g *gen) phrase(p phrases, mode string) string {
	all := p.half(g.half)
	var fit []string
	for _, x := range all {
		if mode != "" && phraseMode(x) == mode {
			fit = append(fit, x)
		}
	}
	if len(fit) == 0 {
		fit = all
	}
	return phraseText(pick(g.r, fit))
}

// rule picks a rule of the half, preferring the given mode.
func (g *gen) rule(rs rules, mode string) rule {
	all := rs.half(g.half)
	var fit []rule
	for _, x := range all {
		if mode != "" && x.mode == mode {
			fit = append(fit, x)
		}
	}
	if len(fit) == 0 {
		fit = all
	}
	return pick(g.r, fit)
}
