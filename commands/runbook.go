package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// runbook answers /runbook list, show ID and run ID [service] [key=value …].
func (h *Handler) runbook(ctx context.Context, r Request, args []string) (Reply, error) {
	if h.d.Runbooks == nil {
		return Reply{}, usage("Set RUNBOOKS_DIR to a directory of runbook YAML files.", "No runbook catalog is configured.")
	}
	if len(args) == 0 {
		return help("/runbook"), nil
	}
	switch strings.ToLower(args[0]) {
	case "list", "ls":
		return h.runbookList(), nil
	case "show":
		if len(args) != 2 {
			return Reply{}, usage("Try /runbook show RB-DB-001.", "/runbook show takes one runbook ID.")
		}
		return h.runbookShow(args[1])
	case "run":
		return h.runbookRun(ctx, r, args[1:])
	}
	return Reply{}, usage("Try /runbook list, /runbook show RB-…, or /runbook run RB-… [service].", "/runbook does not know %q.", args[0])
}

func (h *Handler) runbookList() Reply {
	var lines []Line
	for _, rb := range h.d.Runbooks.Catalog().List() {
		lines = append(lines, line(code(rb.ID), text(" — "+rb.Title+" · "), text(string(rb.Risk)+" risk")))
	}
	return Reply{Summary: fmt.Sprintf("%d runbooks", len(lines)), Blocks: []Block{{Heading: "Runbooks", Lines: lines}}}
}

func (h *Handler) get(id string) (runbooks.Runbook, error) {
	rb, ok := h.d.Runbooks.Catalog().Get(strings.ToUpper(id))
	if !ok {
		var ids []string
		for _, r := range h.d.Runbooks.Catalog().List() {
			ids = append(ids, r.ID)
		}
		return rb, usage("Runbooks: "+strings.Join(ids, ", ")+".", "No runbook %q.", id)
	}
	return rb, nil
}

func (h *Handler) runbookShow(id string) (Reply, error) {
	rb, err := h.get(id)
	if err != nil {
		return Reply{}, err
	}
	lines := []Line{
		line(bold(rb.ID), text(" — "+rb.Title)),
		line(text(strings.TrimSpace(rb.Description))),
		line(bold("Playbook: "), code(rb.Playbook), textf(" · timeout %s · check run first: %v", diagnosis.Precise(rb.Timeout), rb.DryRun)),
		line(bold("Risk: "), text(string(rb.Risk))),
	}
	approvers := "APPROVERS"
	if len(rb.Approvals.Approvers) > 0 {
		approvers = strings.Join(rb.Approvals.Approvers, ", ")
	}
	who := fmt.Sprintf("%d approval(s) from %s", rb.Approvals.Required, approvers)
	if rb.Approvals.TwoPerson {
		who += ", not the requester's own"
	}
	lines = append(lines, line(bold("Approval: "), text(who)))
	if len(rb.AppliesTo.Alerts) > 0 {
		lines = append(lines, line(bold("For alerts: "), text(strings.Join(rb.AppliesTo.Alerts, ", "))))
	}
	var params []Line
	for _, p := range rb.Params {
		l := line(code(p.Name), text(" "+p.Type))
		switch {
		case p.Type == runbooks.ParamEnum:
			l = append(l, text(" of "+strings.Join(p.Values, ", ")))
		case p.Min != nil && p.Max != nil:
			l = append(l, textf(" from %d to %d", *p.Min, *p.Max))
		}
		if p.From != "" {
			l = append(l, text(" · default: the incident's "+strings.ReplaceAll(p.From, "_", " ")))
		}
		if p.Default != "" {
			l = append(l, text(" · default "+p.Default))
		}
		if p.Required {
			l = append(l, text(" · required"))
		}
		if p.Description != "" {
			l = append(l, text(" — "+p.Description))
		}
		params = append(params, l)
	}
	blocks := []Block{{Lines: lines}}
	if len(params) > 0 {
		blocks = append(blocks, Block{Heading: "Parameters", Lines: params})
	}
	if rb.Verify != nil {
		blocks = append(blocks, Block{Context: true, Lines: []Line{line(text("Verified after the run: " + rb.Verify.Description))}})
	}
	return Reply{Summary: rb.ID + ": " + rb.Title, Blocks: blocks}, nil
}

// runbookRun opens a new run request with the given parameters, in the
// incident's thread when there is one. It never joins another request: an
// approver approves exactly these parameters on its own message.
func (h *Handler) runbookRun(ctx context.Context, r Request, args []string) (Reply, error) {
	if len(args) == 0 {
		return Reply{}, usage("Try /runbook run RB-DB-001 order-service.", "/runbook run needs a runbook ID.")
	}
	rb, err := h.get(args[0])
	if err != nil {
		return Reply{}, err
	}
	inputs := map[string]string{}
	service := ""
	for _, a := range args[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			inputs[k] = v
			continue
		}
		if service != "" {
			return Reply{}, usage("Give one service, then key=value parameters.", "%q is a second service.", a)
		}
		s, err := h.lookupService(a)
		if err != nil {
			return Reply{}, err
		}
		service = s
	}
	var (
		in        diagnosis.Incident
		haveInc   bool
		rootCause string
	)
	if r.Incident != "" {
		inc, d, err := h.findIncident(ctx, r.Incident)
		if err != nil {
			return Reply{}, err
		}
		in, haveInc = inc, true
		if top, ok := d.Top(); ok {
			rootCause = top.Service
		}
	} else if service != "" {
		in, haveInc = h.incidentOf(service)
	}
	if service != "" {
		rootCause = service
		if _, given := inputs["service"]; !given && hasParam(rb, "service") {
			inputs["service"] = service
		}
	}
	o := runbooks.Open{Runbook: rb.ID, Inputs: inputs, By: r.User, RootCause: rootCause,
		Thread: diagnosis.Thread{Channel: r.Channel}}
	if haveInc {
		o.Incident, o.Thread, o.Namespace = in.ID, in.Thread, in.NamespaceOf(rootCause)
	}
	req, err := h.d.Runbooks.Open(ctx, o)
	switch {
	case errors.Is(err, runbooks.ErrUnknownRunbook):
		return Reply{}, usage("", "No runbook %s.", rb.ID)
	case errors.Is(err, runbooks.ErrStopping):
		return Reply{}, usage("Ask again once it is back.", "nightowl is shutting down and opens no run requests.")
	case errors.Is(err, runbooks.ErrNotRecorded):
		return Reply{}, usage("Try again once the database can be written.", "nightowl could not write the request to its record, so nothing was opened.")
	case err != nil:
		return Reply{}, usage("See /runbook show "+rb.ID+" for its parameters.", "%s cannot run with these parameters: %v.", rb.ID, err)
	}
	where := "here"
	if haveInc {
		where = "in the thread of " + in.ID
	}
	return Reply{Summary: fmt.Sprintf("Run request %s opened", req.ID), Blocks: []Block{{Lines: []Line{
		line(textf("Run request %s for %s opened %s with exactly these parameters; ", req.ID, rb.ID, where),
			text("an approver approves it on its own message there (its own dry run, the same policy and record as the card's Approve button).")),
	}}}}, nil
}

func hasParam(rb runbooks.Runbook, name string) bool {
	for _, p := range rb.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}
