package commands

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Causes keeps what people say an incident's root cause was; the store
// does (cmd/bot adapts it). The answer names what it kept
// (Reply.Corrected), and the bot redraws the card.
type Causes interface {
	CorrectCause(ctx context.Context, incident, cause, by string) error
}

// correctionForm is how people say what the cause was: "cause X",
// "the cause was X", "root cause is X", "root cause: X".
var correctionForm = regexp.MustCompile("(?i)^\\s*(?:the\\s+)?(?:root\\s+)?cause(?:\\s+(?:was|is)|\\s*[:=])?\\s+[`'\"]?([a-z0-9][a-z0-9._:/-]*)[`'\"]?\\s*[.!]?\\s*$")

// correctionIn reads a correction of the root cause out of what someone
// typed; ok is false for anything else (a question about the cause, say).
func correctionIn(s string) (service string, ok bool) {
	m := correctionForm.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// choicesShown bounds the services named when a correction names none.
const choicesShown = 8

// correct records that user says the root cause of an incident was name,
// and says so in one sentence, in the incident's thread.
func (h *Handler) correct(ctx context.Context, id, name, user string) (Reply, error) {
	in, d, err := h.findIncident(ctx, id)
	if err != nil {
		return Reply{}, err
	}
	cause, ok := h.causeOf(in, d, name)
	if !ok {
		choices := causeChoices(in, d)
		if len(choices) > choicesShown {
			choices = append(choices[:choicesShown:choicesShown], "…")
		}
		return Reply{}, usage("", "%s is not a service of the graph or of %s's alerts: say one of %s.",
			name, in.ID, strings.Join(choices, ", "))
	}
	if h.d.Causes == nil {
		return Reply{}, usage("", "Corrections of the root cause are not kept here.")
	}
	if err := h.d.Causes.CorrectCause(ctx, in.ID, cause, user); err != nil {
		return Reply{}, fmt.Errorf("correct the root cause of %s: %w", in.ID, err)
	}
	who := h.d.Names(ctx, user)
	top, _ := d.Top()
	l := line(textf("✏️ Noted: %s says the root cause of %s was ", who, in.ID), code(cause))
	if top.Service != "" && top.Service != cause {
		l = append(l, text(", not "), code(top.Service), text(" (nightowl's pick)"))
	}
	l = append(l, text("; similar incidents will learn from it."))
	r := Reply{Public: true, Blocks: []Block{{Lines: []Line{l}}}, Thread: in.Thread,
		Corrected: &diagnosis.Correction{Incident: in.ID, RootCause: cause, By: user}}
	r.Summary = strings.TrimSpace(r.String())
	return r, nil
}

// causeOf resolves a name to a root cause: a node or alias of the graph,
// or a service the incident's alerts name.
func (h *Handler) causeOf(in diagnosis.Incident, d diagnosis.Diagnosis, name string) (string, bool) {
	if n, ok := h.g.Lookup(name); ok {
		return n, true
	}
	if n, ok := h.g.Lookup(strings.ToLower(name)); ok {
		return n, true
	}
	for _, s := range causeChoices(in, d) {
		if strings.EqualFold(s, name) {
			return s, true
		}
	}
	return "", false
}

// causeChoices are the services a correction most likely names: the
// candidates, best first, then the other services the alerts name.
func causeChoices(in diagnosis.Incident, d diagnosis.Diagnosis) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, c := range d.Candidates {
		add(c.Service)
	}
	var rest []string
	for _, a := range in.Alerts {
		for _, s := range []string{a.NodeOrService(), a.Service()} {
			if s != "" && !slices.Contains(out, s) && !slices.Contains(rest, s) {
				rest = append(rest, s)
			}
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}
