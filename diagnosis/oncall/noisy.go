package oncall

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Noisy is an alert rule that paged for nothing: two unactioned pages or
// more in one week.
type Noisy struct {
	Rule, Owner string
	// Week is the first week (Monday, in the report's zone) it was noisy.
	Week time.Time
	// Pages and Unactioned count its pages in the period; Incidents are
	// the unactioned ones.
	Pages, Unactioned int
	Incidents         []string
	// Labels are the labels its alerts shared in those pages.
	Labels map[string]string
	Fix    Fix
}

// Kinds of fix.
const (
	FixFor     = "for"     // raise the rule's for:
	FixInhibit = "inhibit" // inhibit it while the rule that caused it fires
	FixRoute   = "route"   // route it to a receiver that does not page
)

// Fix is a ready-to-paste change that stops a noisy rule paging.
type Fix struct {
	Kind string
	// Why says what in its pages calls for this fix, in one sentence.
	Why string
	// YAML is the change, in Prometheus's or Alertmanager's configuration.
	YAML string
}

// matchKeys are the labels a fix matches on, besides alertname: those that
// say what a rule is and who owns it, not which instance fired.
var matchKeys = []string{"severity", "team", "service", "namespace", "job"}

// noisy finds the rules with two unactioned pages in one week.
func noisy(ls []Lifecycle, from, to time.Time, loc *time.Location, teamOf func(string) string) []Noisy {
	type weekRule struct {
		week time.Time
		rule string
	}
	perWeek := map[weekRule]int{}
	byRule := map[string][]Lifecycle{}
	pages := map[string]int{}
	for _, l := range ls {
		if !l.Paged {
			continue
		}
		for _, name := range l.ruleNames() {
			pages[name]++
			if l.Unactioned() {
				perWeek[weekRule{Monday(l.Card, loc), name}]++
				byRule[name] = append(byRule[name], l)
			}
		}
	}
	first := map[string]time.Time{}
	for k, n := range perWeek {
		if n < 2 {
			continue
		}
		if w, ok := first[k.rule]; !ok || k.week.Before(w) {
			first[k.rule] = k.week
		}
	}
	var out []Noisy
	for name, week := range first {
		pagesOf := byRule[name]
		n := Noisy{Rule: name, Week: week, Pages: pages[name], Unactioned: len(pagesOf), Labels: sharedLabels(name, pagesOf)}
		for _, l := range pagesOf {
			n.Incidents = append(n.Incidents, l.Incident)
			for _, ru := range l.Rules {
				if ru.Name == name && n.Owner == "" {
					n.Owner = ru.Owner(teamOf)
				}
			}
		}
		n.Fix = fixFor(n, pagesOf)
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Unactioned != out[j].Unactioned {
			return out[i].Unactioned > out[j].Unactioned
		}
		return out[i].Rule < out[j].Rule
	})
	return out
}

// sharedLabels are the labels of matchKeys that the rule's alerts share
// in every one of the pages, alertname included.
func sharedLabels(rule string, ls []Lifecycle) map[string]string {
	var shared map[string]string
	for _, l := range ls {
		for _, ru := range l.Rules {
			if ru.Name != rule {
				continue
			}
			if shared == nil {
				shared = map[string]string{}
				for _, k := range matchKeys {
					if v := ru.Labels[k]; v != "" {
						shared[k] = v
					}
				}
				continue
			}
			for k, v := range shared {
				if ru.Labels[k] != v {
					delete(shared, k)
				}
			}
		}
	}
	if shared == nil {
		shared = map[string]string{}
	}
	shared["alertname"] = rule
	return shared
}

// fixFor picks the fix its pages call for: an inhibition when it fired
// away from the diagnosed root cause and the same other rule fired on the
// root cause in every one of them (it is a symptom), a longer
// for: when they all resolved on their own within half an hour, else a
// route that does not page.
func fixFor(n Noisy, ls []Lifecycle) Fix {
	if cause, equal, ok := commonCause(n.Rule, ls); ok {
		return Fix{Kind: FixInhibit,
			Why:  fmt.Sprintf("%s fired alongside %s in each of its %d unactioned pages: page for the cause, not for its symptom.", cause, n.Rule, len(ls)),
			YAML: inhibitYAML(cause, n.Labels, equal)}
	}
	var firing []time.Duration
	for _, l := range ls {
		for _, ru := range l.Rules {
			if ru.Name == n.Rule && !l.Resolved.IsZero() && l.Ack.IsZero() {
				firing = append(firing, ru.Firing)
			}
		}
	}
	if len(firing) == len(ls) && len(firing) > 0 {
		p := stat(firing).P90
		if p <= 30*time.Minute {
			wait := roundUp(p+time.Minute, 5*time.Minute)
			return Fix{Kind: FixFor,
				Why: fmt.Sprintf("Each of its %d unactioned pages resolved on its own, after %s at the 90th percentile: wait %s before paging.",
					len(ls), shortDuration(p), shortDuration(wait)),
				YAML: forYAML(n.Rule, n.Labels, wait)}
		}
	}
	return Fix{Kind: FixRoute,
		Why:  fmt.Sprintf("Nobody acted on %d of its pages, or said they were not actionable: send it where someone reads it by day.", len(ls)),
		YAML: routeYAML(n.Owner, n.Labels)}
}

// commonCause is the rule that fired on the diagnosed root cause in every
// page where rule fired on another node (rule is its symptom), and the
// labels both share to scope an inhibition.
func commonCause(rule string, ls []Lifecycle) (string, []string, bool) {
	var candidates []string
	for i, l := range ls {
		var names []string
		for _, ru := range l.Rules {
			switch {
			case l.RootCause == "":
			case ru.Name == rule && ru.Node == l.RootCause:
				return "", nil, false // it fired on the cause itself
			case ru.Name != rule && ru.Node == l.RootCause:
				names = append(names, ru.Name)
			}
		}
		if i == 0 {
			candidates = names
			continue
		}
		candidates = slices.DeleteFunc(candidates, func(c string) bool { return !slices.Contains(names, c) })
	}
	if len(candidates) == 0 {
		return "", nil, false
	}
	slices.Sort(candidates)
	cause := candidates[0]
	var equal []string
	for _, k := range []string{"cluster", "namespace"} {
		same := true
		for _, l := range ls {
			var a, b string
			for _, ru := range l.Rules {
				switch ru.Name {
				case rule:
					a = ru.Labels[k]
				case cause:
					b = ru.Labels[k]
				}
			}
			same = same && a != "" && a == b
		}
		if same {
			equal = append(equal, k)
		}
	}
	return cause, equal, true
}

// matchers renders labels as Alertmanager matchers, alertname first.
func matchers(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == "alertname" })
	keys = append([]string{"alertname"}, keys...)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("'%s=%q'", k, labels[k]))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func forYAML(rule string, labels map[string]string, wait time.Duration) string {
	var b strings.Builder
	b.WriteString("# Prometheus rule file: the rule that defines " + rule + "; keep its expr as it is.\n")
	fmt.Fprintf(&b, "- alert: %s\n", rule)
	b.WriteString("  expr: <unchanged>\n")
	fmt.Fprintf(&b, "  for: %s\n", shortDuration(wait))
	if len(labels) > 1 {
		b.WriteString("  labels:\n")
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			if k != "alertname" {
				fmt.Fprintf(&b, "    %s: %s\n", k, labels[k])
			}
		}
	}
	return b.String()
}

func inhibitYAML(cause string, target map[string]string, equal []string) string {
	var b strings.Builder
	b.WriteString("# alertmanager.yml\n")
	b.WriteString("inhibit_rules:\n")
	fmt.Fprintf(&b, "  - source_matchers: ['alertname=%q']\n", cause)
	fmt.Fprintf(&b, "    target_matchers: %s\n", matchers(target))
	if len(equal) > 0 {
		fmt.Fprintf(&b, "    equal: ['%s']\n", strings.Join(equal, "', '"))
	}
	return b.String()
}

func routeYAML(owner string, labels map[string]string) string {
	receiver := "no-page"
	if owner != "" {
		receiver = owner + "-no-page"
	}
	var b strings.Builder
	b.WriteString("# alertmanager.yml: first under route.routes, so it matches before the route that pages\n")
	b.WriteString("route:\n  routes:\n")
	fmt.Fprintf(&b, "    - matchers: %s\n", matchers(labels))
	fmt.Fprintf(&b, "      receiver: %s\n", receiver)
	b.WriteString("      continue: false\n")
	b.WriteString("receivers:\n")
	fmt.Fprintf(&b, "  - name: %s   # a channel read by day, or a ticket queue: nobody is woken\n", receiver)
	return b.String()
}

func roundUp(d, unit time.Duration) time.Duration {
	return ((d + unit - 1) / unit) * unit
}

// shortDuration is "10m", "1h30m", "45s": Prometheus's duration syntax.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
		d -= m * time.Minute
	}
	if s := d / time.Second; s > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}
