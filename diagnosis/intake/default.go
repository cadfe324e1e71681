package intake

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Alertmanager's default Slack title (template/default.tmpl, "__subject") is
//
//	[FIRING:<firing count>] <group label values> (<other common label values>)
//	[RESOLVED] <group label values> (<other common label values>)
//
// with the values ordered alertname first, then by label name, and the
// parenthesis only when some common label is not a group label. Label names,
// annotations and the alerts themselves are not sent, so parseDefault makes
// one alert for the whole group and guesses the names of the values:
//
//   - the first value is the alertname (right when group_by has alertname,
//     or when the group shares one and has no other group label);
//   - the first value Hints.IsService accepts is the service; without
//     IsService, the first group value after the alertname that no rule
//     below claims;
//   - the first severity word (critical, warning, info, … as
//     diagnosis.ParseSeverity knows them) is the severity;
//   - infrastructure, application or business is the layer;
//   - a value starting with "RB-" is the runbook;
//   - true or false is root_cause_candidate;
//   - any other value keeps its place as label "unnamed_<i>", i its index
//     among the title's values.
//
// The fingerprint is that of the group label values alone (see
// groupFingerprint), so the group's later titles update the same alert.
//
// Values that contain spaces split into several values; nothing can tell.
const unnamedPrefix = "unnamed_"

// Layer words that the default title may carry as the layer label's value.
var layers = map[string]bool{"infrastructure": true, "application": true, "business": true}

// subject is a parsed default title.
type subject struct {
	status diagnosis.Status
	firing int
	group  []string // group label values
	common []string // other common label values
	cut    bool     // Alertmanager truncated the title
}

// parseSubject reads a title in Alertmanager's default form.
func parseSubject(title string) (subject, bool) {
	t := strings.TrimSpace(Unescape(title))
	rest, ok := strings.CutPrefix(t, "[")
	if !ok {
		return subject{}, false
	}
	head, rest, ok := strings.Cut(rest, "]")
	if !ok || (rest != "" && rest[0] != ' ') {
		return subject{}, false
	}
	var s subject
	switch word, count, counted := strings.Cut(head, ":"); {
	case word == "FIRING" && counted:
		n, err := strconv.Atoi(count)
		if err != nil || n < 0 || count[0] == '+' {
			return subject{}, false
		}
		s.status, s.firing = diagnosis.Firing, n
	case word == "RESOLVED" && !counted:
		s.status = diagnosis.Resolved
	default:
		return subject{}, false
	}
	s.cut = strings.HasSuffix(rest, "…")
	group := rest
	if strings.HasSuffix(rest, ")") {
		if i := strings.Index(rest, " ("); i >= 0 {
			group = rest[:i]
			s.common = strings.Fields(rest[i+2 : len(rest)-1])
		}
	}
	s.group = strings.Fields(group)
	return s, true
}

// parseDefault makes one alert of a group from a default title. ok is false
// when the title is not one.
func parseDefault(title string, received time.Time, h Hints) (res Result, ok bool, err error) {
	s, ok := parseSubject(title)
	if !ok {
		return Result{}, false, nil
	}
	res.Format = diagnosis.SourceDefault
	values := make([]string, 0, len(s.group)+len(s.common))
	values = append(append(values, s.group...), s.common...)
	if len(values) == 0 {
		return res, true, fmt.Errorf("the title %q of Alertmanager's default message names no alert", title)
	}
	if s.cut {
		res.Problems = append(res.Problems, "Alertmanager cut the title at 1024 characters, so the last label values are missing or incomplete.")
	}
	labels := map[string]string{diagnosis.LabelAlertname: values[0]}
	service := -1
	for i := 1; i < len(values) && h.IsService != nil; i++ {
		if h.IsService(values[i]) {
			service = i
			labels[diagnosis.LabelService] = values[i]
			break
		}
	}
	for i := 1; i < len(values); i++ {
		if i == service {
			continue
		}
		v := values[i]
		name := guessName(v, labels)
		if name == "" && service < 0 && h.IsService == nil && i < len(s.group) {
			name, service = diagnosis.LabelService, i
		}
		if name == "" {
			name = unnamedPrefix + strconv.Itoa(i)
		}
		labels[name] = v
	}
	a := diagnosis.Alert{
		Fingerprint: groupFingerprint(s.group, values),
		Status:      s.status,
		Labels:      labels,
		StartsAt:    received,
		Source:      diagnosis.SourceDefault,
		Count:       max(s.firing, 1),
	}
	if a.Status == diagnosis.Resolved {
		a.EndsAt = received
	}
	res.Alerts = []diagnosis.Alert{a}
	return res, true, nil
}

// groupFingerprint identifies the group, not its current members: the group
// label values are what Alertmanager keys a group by, so "[FIRING:1] X svc
// (warning)" and a later "[FIRING:2] X svc" or "[RESOLVED] X svc" are the
// same alert growing, shrinking and resolving. Without group values (an
// empty group_by) the whole title is the key.
func groupFingerprint(group, values []string) string {
	key := group
	if len(key) == 0 {
		key = values
	}
	labels := make(map[string]string, len(key))
	for i, v := range key {
		labels["group_"+strconv.Itoa(i)] = v
	}
	return diagnosis.Fingerprint(labels)
}

// guessName names a title value by the words it is made of, unless that name
// is taken already.
func guessName(v string, taken map[string]string) string {
	name := ""
	switch lower := strings.ToLower(v); {
	case diagnosis.ParseSeverity(v) != diagnosis.SeverityNone:
		name = diagnosis.LabelSeverity
	case layers[lower]:
		name = diagnosis.LabelLayer
	case strings.HasPrefix(v, "RB-"):
		name = diagnosis.LabelRunbook
	case v == "true" || v == "false":
		name = diagnosis.LabelRootCauseCandidate
	}
	if _, ok := taken[name]; ok {
		return ""
	}
	return name
}
