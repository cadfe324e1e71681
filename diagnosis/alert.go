// Package diagnosis owns nightowl's domain: alerts, the incidents they are grouped
// into, and the diagnosis that names an incident's root cause.
package diagnosis

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Status is an alert's state as Alertmanager reports it.
type Status string

// The two states an alert can be in.
const (
	Firing   Status = "firing"
	Resolved Status = "resolved"
)

// Source says where an alert was read from, and so how complete it is.
type Source string

// Sources of alerts.
const (
	// SourceTemplate is nightowl's own Alertmanager Slack template: every label,
	// annotation, status, timestamp and fingerprint.
	SourceTemplate Source = "template"
	// SourceDefault is Alertmanager's default Slack title: status, group label
	// values and common label values only (names guessed).
	SourceDefault Source = "default"
	// SourceWebhook is Alertmanager's webhook JSON (bot diagnose FILE).
	SourceWebhook Source = "webhook"
)

// Alert is one Alertmanager alert as nightowl sees it.
type Alert struct {
	Fingerprint  string            `json:"fingerprint"`
	Status       Status            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Source       Source            `json:"source,omitempty"`
	// Count is how many Alertmanager alerts this one stands for: 1, except for
	// the default template, where one title can summarise a group ("[FIRING:3]").
	Count int `json:"count,omitempty"`
}

// Well-known label names.
const (
	LabelAlertname          = "alertname"
	LabelService            = "service"
	LabelSeverity           = "severity"
	LabelNamespace          = "namespace"
	LabelCluster            = "cluster"
	LabelLayer              = "layer"
	LabelRootCauseCandidate = "root_cause_candidate"
	LabelRunbook            = "runbook"
)

// Name is the alert's alertname.
func (a Alert) Name() string { return a.Labels[LabelAlertname] }

// Service is the service label as given; diagnosis may resolve the alert to a
// different graph node (see Resolver).
func (a Alert) Service() string { return a.Labels[LabelService] }

// Severity is the alert's severity label, normalised.
func (a Alert) Severity() Severity { return ParseSeverity(a.Labels[LabelSeverity]) }

// RootCauseCandidate reports whether the alert rule marks itself as a likely cause.
func (a Alert) RootCauseCandidate() bool {
	v, err := strconv.ParseBool(a.Labels[LabelRootCauseCandidate])
	return err == nil && v
}

// Summary is the alert's one-line human description: its summary annotation,
// or its name and service.
func (a Alert) Summary() string {
	if s := strings.TrimSpace(a.Annotations["summary"]); s != "" {
		return s
	}
	if s := a.Service(); s != "" {
		return a.Name() + " on " + s
	}
	return a.Name()
}

// Scope is where an alert lives: its cluster and namespace. An incident's
// alerts may span namespaces (a cascade crosses them); the Grouper keeps
// namespaces per node, to tell two deployments of a service apart
// (docs/grouping.md).
type Scope struct {
	Cluster   string `json:"cluster,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// Scope returns the alert's cluster and namespace.
func (a Alert) Scope() Scope {
	return Scope{Cluster: a.Labels[LabelCluster], Namespace: a.Labels[LabelNamespace]}
}

func (s Scope) String() string {
	switch {
	case s.Cluster != "" && s.Namespace != "":
		return s.Cluster + "/" + s.Namespace
	case s.Cluster != "":
		return s.Cluster
	default:
		return s.Namespace
	}
}

// Severity orders alert severities; higher is worse.
type Severity int

// Severities, from least to most severe.
const (
	SeverityNone Severity = iota
	SeverityInfo
	SeverityWarning
	SeverityCritical
)

// ParseSeverity maps the usual severity label values onto Severity.
func ParseSeverity(s string) Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "page", "p1", "high", "error", "disaster", "fatal":
		return SeverityCritical
	case "warning", "warn", "p2", "p3", "medium", "major", "minor":
		return SeverityWarning
	case "info", "informational", "low", "p4", "p5", "none":
		return SeverityInfo
	}
	return SeverityNone
}

func (s Severity) String() string {
	switch s {
	case SeverityCritical:
		return "critical"
	case SeverityWarning:
		return "warning"
	case SeverityInfo:
		return "info"
	}
	return "unknown"
}

// Fingerprint hashes a label set the way Alertmanager does (FNV-1a 64 over the
// sorted names and values, 0xff separated), so alerts decoded without a
// fingerprint still deduplicate by identity.
func Fingerprint(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
		sep      = 0xff
	)
	h := uint64(offset64)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime64
		}
	}
	for _, n := range names {
		add(n)
		h ^= sep
		h *= prime64
		add(labels[n])
		h ^= sep
		h *= prime64
	}
	const hexdigits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hexdigits[h&0xf]
		h >>= 4
	}
	return string(b[:])
}
