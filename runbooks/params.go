package runbooks

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Param is a typed runbook parameter. Values reach Ansible as extra vars in
// one JSON argument, never through a shell; types keep them sane anyway.
type Param struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Type is string, integer, enum, boolean or service (a graph node).
	Type string `yaml:"type"`
	// From names where the default comes from: root_cause (the diagnosed
	// service), namespace (the incident's) or incident (its ID).
	From     string   `yaml:"from"`
	Default  string   `yaml:"default"`
	Required bool     `yaml:"required"`
	Min      *int     `yaml:"min"`
	Max      *int     `yaml:"max"`
	Values   []string `yaml:"values"`
	Pattern  string   `yaml:"pattern"`
	re       *regexp.Regexp
}

// Parameter types.
const (
	ParamString  = "string"
	ParamInteger = "integer"
	ParamEnum    = "enum"
	ParamBool    = "boolean"
	ParamService = "service"
)

var (
	paramName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)
	// safeString is the default pattern of string parameters: names, IDs,
	// durations, timestamps. Nothing a shell would find interesting.
	safeString = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,127}$`)
	reserved   = []string{VarIncidentID, VarRequestedBy, VarRunbookID, VarRunID}
)

// The variables nightowl sets itself on every run, beside the runbook's
// parameters: no parameter may take their names, and people are not shown
// them as parameters.
const (
	VarIncidentID  = "incident_id"
	VarRequestedBy = "requested_by"
	VarRunbookID   = "runbook_id"
	VarRunID       = "run_id"
)

// ReservedParam reports whether name is one of the variables nightowl sets
// itself (VarIncidentID, VarRequestedBy, VarRunbookID, VarRunID).
func ReservedParam(name string) bool { return slices.Contains(reserved, name) }

func (p *Param) check() []string {
	var out []string
	if !paramName.MatchString(p.Name) {
		out = append(out, fmt.Sprintf("name %q must be lower_snake_case", p.Name))
	}
	if ReservedParam(p.Name) {
		out = append(out, fmt.Sprintf("name %q is set by nightowl itself", p.Name))
	}
	switch p.Type {
	case ParamString:
		p.re = safeString
		if p.Pattern != "" {
			re, err := regexp.Compile("^(?:" + p.Pattern + ")$")
			if err != nil {
				out = append(out, fmt.Sprintf("pattern: %v", err))
			}
			p.re = re
		}
	case ParamInteger:
		if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
			out = append(out, fmt.Sprintf("min %d is above max %d", *p.Min, *p.Max))
		}
	case ParamEnum:
		if len(p.Values) == 0 {
			out = append(out, "an enum needs values")
		}
	case ParamBool, ParamService:
	case "":
		out = append(out, "type: missing (string, integer, enum, boolean or service)")
	default:
		out = append(out, fmt.Sprintf("type %q is not string, integer, enum, boolean or service", p.Type))
	}
	switch p.From {
	case "", "root_cause", "namespace", "incident":
	default:
		out = append(out, fmt.Sprintf("from %q is not root_cause, namespace or incident", p.From))
	}
	if p.Default != "" && len(out) == 0 {
		if _, err := p.parse(p.Default, nil); err != nil {
			out = append(out, fmt.Sprintf("default: %v", err))
		}
	}
	return out
}

// parse turns text into the parameter's typed value, or says why not in
// one sentence. isService answers for the service type (nil accepts any
// safe name).
func (p Param) parse(v string, isService func(string) bool) (any, error) {
	v = strings.TrimSpace(v)
	switch p.Type {
	case ParamInteger:
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("%s must be a whole number, not %q", p.Name, v)
		}
		if (p.Min != nil && n < *p.Min) || (p.Max != nil && n > *p.Max) {
			return nil, fmt.Errorf("%s must be between %s and %s, not %d", p.Name, bound(p.Min, "-∞"), bound(p.Max, "∞"), n)
		}
		return n, nil
	case ParamEnum:
		if !slices.Contains(p.Values, v) {
			return nil, fmt.Errorf("%s must be one of %s, not %q", p.Name, strings.Join(p.Values, ", "), v)
		}
		return v, nil
	case ParamBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s must be true or false, not %q", p.Name, v)
		}
		return b, nil
	case ParamService:
		if !safeString.MatchString(v) {
			return nil, fmt.Errorf("%s must be a service name, not %q", p.Name, v)
		}
		if isService != nil && !isService(v) {
			return nil, fmt.Errorf("%s %q is not a service in the service graph", p.Name, v)
		}
		return v, nil
	default:
		re := p.re
		if re == nil {
			re = safeString
		}
		if !re.MatchString(v) {
			return nil, fmt.Errorf("%s %q is not allowed (letters, digits and . _ : / @ + = - only)", p.Name, v)
		}
		return v, nil
	}
}

func bound(n *int, none string) string {
	if n == nil {
		return none
	}
	return strconv.Itoa(*n)
}

// Context is what parameter defaults can come from.
type Context struct {
	Incident, RootCause, Namespace, RequestedBy, RunID string
	// IsService says whether a name is a node of the service graph.
	IsService func(string) bool
}

// Vars validates the given inputs against the runbook's parameters and
// fills the rest from their sources and defaults. Every problem is listed.
func (rb Runbook) Vars(inputs map[string]string, c Context) (map[string]any, error) {
	out := map[string]any{VarIncidentID: c.Incident, VarRequestedBy: c.RequestedBy, VarRunbookID: rb.ID, VarRunID: c.RunID}
	var problems []string
	for k := range inputs {
		if !slices.ContainsFunc(rb.Params, func(p Param) bool { return p.Name == k }) {
			problems = append(problems, fmt.Sprintf("%s has no parameter %q", rb.ID, k))
		}
	}
	for _, p := range rb.Params {
		raw, given := inputs[p.Name]
		if !given {
			switch p.From {
			case "root_cause":
				raw = c.RootCause
			case "namespace":
				raw = c.Namespace
			case "incident":
				raw = c.Incident
			}
			if raw == "" {
				raw = p.Default
			}
		}
		if raw == "" {
			if p.Required {
				problems = append(problems, fmt.Sprintf("%s is required", p.Name))
			}
			continue
		}
		v, err := p.parse(raw, c.IsService)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		out[p.Name] = v
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return out, nil
}
