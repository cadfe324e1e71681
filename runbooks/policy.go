package runbooks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Directory answers who belongs to a user group; the bot asks Slack
// (usergroups.users.list).
type Directory interface {
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// Policy decides who may approve a runbook: the runbook's approvers, or
// APPROVERS, as user IDs or members of user groups (cached briefly).
type Policy struct {
	approvers []string
	dir       Directory
	ttl       time.Duration
	now       func() time.Time

	mu    sync.Mutex
	cache map[string]members
}

type members struct {
	users []string
	at    time.Time
}

// NewPolicy returns a policy with the default approvers (APPROVERS).
func NewPolicy(approvers []string, dir Directory, now func() time.Time) *Policy {
	if now == nil {
		now = time.Now
	}
	return &Policy{approvers: approvers, dir: dir, ttl: 5 * time.Minute, now: now, cache: map[string]members{}}
}

// MayApprove reports whether user may approve runs of rb, and if not, why,
// in one sentence for the person who clicked.
func (p *Policy) MayApprove(ctx context.Context, user string, rb Runbook) (bool, string) {
	list := rb.Approvals.Approvers
	if len(list) == 0 {
		list = p.approvers
	}
	if len(list) == 0 {
		return false, "nobody may approve runbooks here: APPROVERS is empty"
	}
	if slices.Contains(list, user) {
		return true, ""
	}
	var groups []string
	for _, id := range list {
		if strings.HasPrefix(id, "S") {
			groups = append(groups, id)
			users, err := p.members(ctx, id)
			if err != nil {
				return false, fmt.Sprintf("could not check the approver group %s with Slack: %v", id, err)
			}
			if slices.Contains(users, user) {
				return true, ""
			}
		}
	}
	return false, fmt.Sprintf("only approvers of %s may approve it (%s)", rb.ID, describe(list))
}

func (p *Policy) members(ctx context.Context, group string) ([]string, error) {
	p.mu.Lock()
	m, ok := p.cache[group]
	p.mu.Unlock()
	if ok && p.now().Sub(m.at) < p.ttl {
		return m.users, nil
	}
	if p.dir == nil {
		return nil, fmt.Errorf("no directory to ask")
	}
	users, err := p.dir.GroupMembers(ctx, group)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.cache[group] = members{users: users, at: p.now()}
	p.mu.Unlock()
	return users, nil
}

// ApprovalsNeeded is how many more approvals r needs under rb's rules.
// Approvals count once per person. With two_person the requester's own
// approval never counts, and at least two different people take part: the
// requester counts as one of them only when they may approve rb
// themselves (requesterApproves), so a request someone else typed, or the
// card's own request, needs two approvers.
func ApprovalsNeeded(r Request, rb Runbook, requesterApproves bool) int {
	seen := map[string]bool{}
	counted := 0
	for _, d := range r.Approvals {
		if seen[d.By] || (rb.Approvals.TwoPerson && d.By == r.RequestedBy) {
			continue
		}
		seen[d.By] = true
		counted++
	}
	need := rb.Approvals.Required - counted
	if rb.Approvals.TwoPerson {
		people := counted
		if requesterApproves {
			people++
		}
		need = max(need, 2-people)
	}
	return max(need, 0)
}

// describe lists approvers for people: "<@U1>" is not used, to mention no one.
func describe(ids []string) string {
	var users, groups []string
	for _, id := range ids {
		if strings.HasPrefix(id, "S") {
			groups = append(groups, id)
		} else {
			users = append(users, id)
		}
	}
	var parts []string
	if len(users) > 0 {
		parts = append(parts, "users "+strings.Join(users, ", "))
	}
	if len(groups) > 0 {
		parts = append(parts, "members of "+strings.Join(groups, ", "))
	}
	return strings.Join(parts, " and ")
}
