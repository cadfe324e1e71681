package bot

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/runbooks"
)

var riskBadge = map[runbooks.Risk]string{runbooks.RiskLow: "🟢 low risk", runbooks.RiskMedium: "🟠 medium risk", runbooks.RiskHigh: "🔴 high risk"}

// requestView is everything a run request's message shows.
type requestView struct {
	Request  runbooks.Request
	Runbook  runbooks.Runbook
	Names    func(string) string // user ID → display name
	Tasks    []runbooks.TaskResult
	DryRun   *runbooks.Result // the pre-decision check run, if any
	Checking bool             // the tasks belong to the check run
}

func (v requestView) name(id string) string {
	if id == "" || v.Names == nil {
		return id
	}
	return v.Names(id)
}

// renderRequest is the request's one message in the thread: what it will
// do, who decided, how it runs, how it ended.
func renderRequest(v requestView) Message {
	r, rb := v.Request, v.Runbook
	var b strings.Builder
	icon, state := requestState(r)
	fmt.Fprintf(&b, "%s *%s* `%s` — %s\n", icon, escape(rb.Title), escape(rb.ID), state)
	fmt.Fprintf(&b, "%s · requested by %s · run %s\n", riskBadge[rb.Risk], escape(v.name(r.RequestedBy)), code(r.ID))
	fmt.Fprintf(&b, "*Parameters:* %s", paramsLine(r.Vars))
	if len(r.Approvals) > 0 {
		var who []string
		for _, d := range r.Approvals {
			who = append(who, escape(v.name(d.By)))
		}
		fmt.Fprintf(&b, "\n*Approved by:* %s", strings.Join(who, ", "))
	}
	if r.State == runbooks.StatePending {
		need := rb.Approvals.Required
		rule := ""
		if rb.Approvals.TwoPerson {
			rule = " (not the requester)"
		}
		fmt.Fprintf(&b, "\n*Needs:* %d approval(s)%s", need, rule)
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(b.String(), maxSectionText)), nil, nil)}
	if v.DryRun != nil && r.State == runbooks.StatePending {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate("*The dry run says it would:*\n"+changeLines(*v.DryRun, 8), maxSectionText)), nil, nil))
	}
	if len(v.Tasks) > 0 && r.State.Open() {
		head := "*Progress*"
		if v.Checking {
			head = "*Progress (check run, nothing changes yet)*"
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(head+"\n"+taskLines(v.Tasks, 12), maxSectionText)), nil, nil))
	}
	if res := finalResult(r); res != nil && !r.State.Open() {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(resultLines(r, *res), maxSectionText)), nil, nil))
	}
	if act := requestActions(r); act != nil {
		blocks = append(blocks, act)
	}
	return Message{Text: escape(fmt.Sprintf("%s %s %s: %s", icon, rb.ID, r.ID, state)), Blocks: blocks}
}

func requestState(r runbooks.Request) (icon, state string) {
	switch r.State {
	case runbooks.StatePending:
		return "📝", "waiting for approval"
	case runbooks.StateQueued:
		return "⏳", "approved, waiting for a free runner"
	case runbooks.StateRunning:
		return "▶️", "running"
	case runbooks.StateSucceeded:
		return "✅", "succeeded"
	case runbooks.StateFailed:
		return "❌", "failed"
	case runbooks.StateCancelled:
		return "⏹️", "cancelled"
	case runbooks.StateTimedOut:
		return "⌛", "timed out"
	case runbooks.StateRejected:
		return "🚫", "rejected"
	case runbooks.StateInterrupted:
		return "⚠️", "interrupted"
	}
	return "•", string(r.State)
}

func requestActions(r runbooks.Request) slack.Block {
	var els []slack.BlockElement
	switch r.State {
	case runbooks.StatePending:
		els = append(els,
			slack.NewButtonBlockElement(ActionRequestApprove, r.ID, plainText("Approve")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement(ActionRequestReject, r.ID, plainText("Reject")).WithStyle(slack.StyleDanger))
	case runbooks.StateQueued, runbooks.StateRunning:
		els = append(els, slack.NewButtonBlockElement(ActionRunCancel, r.ID, plainText("Cancel run")).WithStyle(slack.StyleDanger))
	default:
		return nil
	}
	return slack.NewActionBlock("request-"+r.ID, els...)
}

func finalResult(r runbooks.Request) *runbooks.Result {
	if r.Result != nil {
		return r.Result
	}
	return r.Check
}

func paramsLine(vars map[string]any) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		switch k {
		case "incident_id", "requested_by", "runbook_id", "run_id":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "_none_"
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := fmt.Sprint(vars[k])
		if runbooks.Secret(k) {
			v = "[redacted]"
		}
		parts = append(parts, code(k+"="+v))
	}
	return strings.Join(parts, " ")
}

var statusIcon = map[string]string{
	runbooks.TaskOK: "✔️", runbooks.TaskChanged: "🔧", runbooks.TaskFailed: "❌", runbooks.TaskSkipped: "⏭️", runbooks.TaskUnreachable: "📵",
}

// taskLines lists the last n tasks, one line each.
func taskLines(tasks []runbooks.TaskResult, n int) string {
	var lines []string
	if len(tasks) > n {
		lines = append(lines, fmt.Sprintf("… %d earlier tasks", len(tasks)-n))
		tasks = tasks[len(tasks)-n:]
	}
	for _, t := range tasks {
		line := fmt.Sprintf("%s %s", statusIcon[t.Status], escape(t.Task))
		if t.Msg != "" && (t.Status == runbooks.TaskFailed || t.Status == runbooks.TaskChanged) {
			line += " — " + escape(truncate(oneLine(t.Msg), 160))
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// changeLines says what a check run would change.
func changeLines(res runbooks.Result, n int) string {
	if res.Outcome != runbooks.OutcomeSucceeded {
		return fmt.Sprintf("❌ the check run %s: %s", res.Outcome, escape(truncate(oneLine(lastLine(res.Output)), 300)))
	}
	changes := runbooks.WouldChange(res)
	var lines []string
	for i, t := range changes {
		if i == n {
			lines = append(lines, fmt.Sprintf("… and %d more", len(changes)-n))
			break
		}
		what := t.Msg
		if what == "" {
			what = t.Diff
		}
		lines = append(lines, fmt.Sprintf("🔧 %s — %s", escape(t.Task), escape(truncate(oneLine(what), 240))))
	}
	for _, t := range res.Tasks { // checks that report what they would do without changing
		if t.Status == runbooks.TaskOK && strings.HasPrefix(strings.ToLower(t.Msg), "would ") && len(lines) < n {
			lines = append(lines, "🔎 "+escape(truncate(oneLine(t.Msg), 300)))
		}
	}
	if len(lines) == 0 {
		return "nothing: every task is already in the desired state"
	}
	return strings.Join(lines, "\n")
}

func resultLines(r runbooks.Request, res runbooks.Result) string {
	var b strings.Builder
	took := res.Ended.Sub(res.Started).Round(100 * time.Millisecond)
	fmt.Fprintf(&b, "*Result:* %s in %s — %d changed, %d failed, %d ok, %d skipped (exit %d)", res.Outcome, took, res.Changed, res.Failed, res.OK, res.Skipped, res.ExitCode)
	if r.Result == nil && r.Check != nil {
		b.WriteString("\nThe check run stopped it before anything changed.")
	}
	if r.EndedBy != "" && (r.State == runbooks.StateCancelled || r.State == runbooks.StateRejected) {
		fmt.Fprintf(&b, "\n%s by %s.", requestWord(r.State), escape(r.EndedBy))
	}
	if r.Verified != "" {
		fmt.Fprintf(&b, "\n*Verification:* %s", escape(r.Verified))
	}
	for _, t := range res.Tasks {
		if t.Status == runbooks.TaskFailed {
			fmt.Fprintf(&b, "\n❌ %s — %s", escape(t.Task), escape(truncate(oneLine(t.Msg), 300)))
		}
	}
	if tail := tailLines(res.Output, 8); tail != "" {
		fmt.Fprintf(&b, "\n```%s```", escape(strings.ReplaceAll(truncate(tail, 1200), "```", "ˋˋˋ")))
	}
	return b.String()
}

func requestWord(s runbooks.State) string {
	if s == runbooks.StateRejected {
		return "Rejected"
	}
	return "Cancelled"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// renderDryRun is the thread reply with a check run's findings, before
// anyone is asked to decide.
func renderDryRun(rb runbooks.Runbook, res runbooks.Result, incident string) Message {
	head := fmt.Sprintf("🧪 *Dry run of %s* (%s, check mode: nothing was changed)", escape(rb.ID), escape(rb.Title))
	body := head + "\nIt would:\n" + changeLines(res, 8)
	if res.Outcome == runbooks.OutcomeSucceeded {
		body += fmt.Sprintf("\nTo run it for real, an approver presses *Approve %s* on the card of %s.", escape(rb.ID), escape(incident))
	}
	return Message{Text: escape(fmt.Sprintf("Dry run of %s: %s", rb.ID, res.Outcome)),
		Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(body, maxSectionText)), nil, nil)}}
}
