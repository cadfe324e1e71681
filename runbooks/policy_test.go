package runbooks_test

import (
	"testing"

	"github.com/nightowl-sre/nightowl/runbooks"
)

func TestApprovalsNeeded(t *testing.T) {
	approved := func(by ...string) runbooks.Request {
		r := runbooks.Request{RequestedBy: "U0REQ"}
		for _, b := range by {
			r.Approvals = append(r.Approvals, runbooks.Decision{By: b})
		}
		return r
	}
	rules := func(required int, two bool) runbooks.Runbook {
		return runbooks.Runbook{Approvals: runbooks.Approvals{Required: required, TwoPerson: two}}
	}
	cases := []struct {
		name              string
		r                 runbooks.Request
		rb                runbooks.Runbook
		requesterApproves bool
		want              int
	}{
		{"one approval of one needed", approved("U1"), rules(1, false), false, 0},
		{"the requester may approve their own without the two-person rule", approved("U0REQ"), rules(1, false), true, 0},
		{"the same approver twice counts once", approved("U1", "U1"), rules(2, false), false, 1},
		{"two distinct approvers", approved("U1", "U2"), rules(2, false), false, 0},
		{"two-person: the requester's own approval never counts", approved("U0REQ"), rules(1, true), true, 1},
		{"two-person: an approver's request and one other approver", approved("U1"), rules(1, true), true, 0},
		{"two-person: a non-approver's request needs two approvers", approved("U1"), rules(1, true), false, 1},
		{"two-person: a non-approver's request with two approvers", approved("U1", "U2"), rules(1, true), false, 0},
		{"two-person, two required: two others besides the requester", approved("U0REQ", "U1"), rules(2, true), true, 1},
		{"nothing yet, two required", approved(), rules(2, true), false, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := runbooks.ApprovalsNeeded(tc.r, tc.rb, tc.requesterApproves); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestADigestNamesTheRunbookAndParametersNotTheRequest(t *testing.T) {
	base := map[string]any{"service": "order-service", "namespace": "prod", "incident_id": "INC-1", "run_id": "RUN-A", "requested_by": "U1"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	d := runbooks.Digest("RB-APP-001", base)
	cases := []struct {
		name  string
		rb    string
		vars  map[string]any
		equal bool
	}{
		{"another request by someone else", "RB-APP-001", with("run_id", "RUN-B"), true},
		{"another requester", "RB-APP-001", with("requested_by", "U2"), true},
		{"another service", "RB-APP-001", with("service", "payments"), false},
		{"another namespace", "RB-APP-001", with("namespace", "default"), false},
		{"another incident", "RB-APP-001", with("incident_id", "INC-2"), false},
		{"a number instead of a string", "RB-APP-001", with("namespace", 5), false},
		{"another runbook", "RB-APP-002", base, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := runbooks.Digest(tc.rb, tc.vars)
			if (got == d) != tc.equal || len(got) != 12 {
				t.Errorf("digest %s vs %s, want equal=%v", got, d, tc.equal)
			}
		})
	}
}
