package bot

import (
	"fmt"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// Block Kit limits of what runbook messages build, enforced where they are
// built: button values are kept far below Slack's 2,000 characters (some
// surfaces allow 255 for an action's value), labels to 75, and a confirm
// dialog's title, text and buttons to 100, 300 and 30.
const (
	runbookValueMax  = 255
	runbookLabelMax  = 75
	confirmTitleMax  = 100
	confirmTextMax   = 300
	confirmButtonMax = 30
	commandTextMax   = 1200 // each command in "Show command", so both fit one section
)

var riskBadge = map[runbooks.Risk]string{runbooks.RiskLow: "🟢 low risk", runbooks.RiskMedium: "🟠 medium risk", runbooks.RiskHigh: "🔴 high risk"}

// stateIcon goes with runbooks.State.Words, the one wording of states.
var stateIcon = map[runbooks.State]string{
	runbooks.StatePending: "📝", runbooks.StateQueued: "⏳", runbooks.StateRunning: "▶️", runbooks.StateSucceeded: "✅",
	runbooks.StateFailed: "❌", runbooks.StateCancelled: "⏹️", runbooks.StateTimedOut: "⌛", runbooks.StateRejected: "🚫",
	runbooks.StateInterrupted: "⚠️", runbooks.StateExpired: "⌛",
}

// requestView is everything a run request's message shows.
type requestView struct {
	Request runbooks.Request
	Runbook runbooks.Runbook
	Names   func(string) string // user ID → display name
}

func (v requestView) name(id string) string {
	if id == "" || v.Names == nil || id == runbooks.Recommender {
		return id
	}
	return v.Names(id)
}

// requestValue is what every button of a request carries: the request and
// the digest of its parameters, 23 characters.
func requestValue(r runbooks.Request) string {
	return r.ID + "|" + r.Digest
}

// ParseRequestValue splits a request button's value "RUN-…|digest".
func ParseRequestValue(v string) (id, digest string, ok bool) {
	id, digest, ok = strings.Cut(v, "|")
	return id, digest, ok && strings.HasPrefix(id, "RUN-") && digest != ""
}

// renderRequest is the request's one message in the thread: what it will
// do with which parameters, what its dry run says, who decided, how it
// runs, how it ended.
func renderRequest(v requestView) Message {
	r, rb := v.Request, v.Runbook
	var b strings.Builder
	icon, state := requestState(r)
	fmt.Fprintf(&b, "%s *%s* `%s` — %s\n", icon, escape(rb.Title), escape(rb.ID), escape(state))
	who := "requested by " + escape(v.name(r.RequestedBy))
	if r.Source == runbooks.SourceCard {
		who = "the card's recommendation"
	}
	fmt.Fprintf(&b, "%s · %s · run %s\n", riskBadge[rb.Risk], who, code(r.ID))
	if t := target(r.Vars); t != "" {
		fmt.Fprintf(&b, "*Target:* %s\n", code(t))
	}
	fmt.Fprintf(&b, "*Parameters:* %s", paramsLine(r.Vars))
	if len(r.Approvals) > 0 {
		var who []string
		for _, d := range r.Approvals {
			who = append(who, escape(v.name(d.By)))
		}
		fmt.Fprintf(&b, "\n*Approved by:* %s", strings.Join(who, ", "))
	}
	if r.State == runbooks.StatePending {
		rule := ""
		if rb.Approvals.TwoPerson {
			rule = " from approvers other than the requester (two-person rule)"
		}
		fmt.Fprintf(&b, "\n*Needs:* %d more approval(s)%s · expires %s UTC", r.Needed, rule, r.ExpiresAt.UTC().Format("15:04"))
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(b.String(), maxSectionText)), nil, nil)}
	if r.State == runbooks.StatePending {
		switch {
		case r.DryRun != nil:
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate("*The dry run with these parameters says it would:*\n"+changeLines(*r.DryRun, 8), maxSectionText)), nil, nil))
		case rb.DryRun:
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn("_Dry run with these parameters (check mode) is waiting for its turn or running…_"), nil, nil))
		}
	}
	if len(r.Progress) > 0 && r.State.Open() {
		head := "*Progress*"
		if r.Checking {
			head = "*Progress (check run, nothing changes yet)*"
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(head+"\n"+taskLines(r.Progress, 12), maxSectionText)), nil, nil))
	}
	if !r.State.Open() {
		if text := endLines(r); text != "" {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(text, maxSectionText)), nil, nil))
		}
	}
	if act := requestActions(r, rb, v.name(r.RequestedBy)); act != nil {
		blocks = append(blocks, act)
	}
	return Message{Text: escape(fmt.Sprintf("%s %s %s: %s", icon, rb.ID, r.ID, state)), Blocks: blocks}
}

// requestState is a request's icon and words.
func requestState(r runbooks.Request) (icon, state string) {
	icon, ok := stateIcon[r.State]
	if !ok {
		icon = "•"
	}
	return icon, r.State.Words()
}

// endLines says how a request ended: its note, its result, who ended it.
func endLines(r runbooks.Request) string {
	var parts []string
	if r.Note != "" {
		parts = append(parts, escape(upperFirst(r.Note)))
	}
	if res := finalResult(r); res != nil {
		parts = append(parts, resultLines(r, *res))
	} else if r.EndedBy != "" && r.State == runbooks.StateRejected {
		parts = append(parts, fmt.Sprintf("Rejected by %s.", escape(r.EndedBy)))
	}
	return strings.Join(parts, "\n")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// target is what a run acts on, as its confirm dialog and message name it.
func target(vars map[string]any) string {
	svc, _ := vars["service"].(string)
	ns, _ := vars["namespace"].(string)
	switch {
	case svc != "" && ns != "":
		return svc + " in " + ns
	case svc != "":
		return svc
	}
	return ns
}

// requestActions are a request's buttons: Approve (with a confirm dialog
// naming the runbook, target and parameters), Reject and Show command
// while it waits; Cancel (confirmed too) while it is queued or runs.
func requestActions(r runbooks.Request, rb runbooks.Runbook, by string) slack.Block {
	var els []slack.BlockElement
	switch r.State {
	case runbooks.StatePending:
		els = append(els,
			approveButton(ActionRequestApprove, r, rb, "Approve", by),
			slack.NewButtonBlockElement(ActionRequestReject, requestValue(r), plainText("Reject")).WithStyle(slack.StyleDanger),
			commandButton(r))
	case runbooks.StateQueued, runbooks.StateRunning:
		els = append(els, cancelButton(r, rb))
	default:
		return nil
	}
	return slack.NewActionBlock("request-"+r.ID, els...)
}

// approveButton approves exactly request r: its value names r and the
// digest of its parameters, and Slack asks the approver to confirm what
// runs where first.
// by names the requester for people.
func approveButton(actionID string, r runbooks.Request, rb runbooks.Runbook, label, by string) *slack.ButtonBlockElement {
	what := r.Runbook
	if rb.Title != "" {
		what += " (" + rb.Title + ")"
	}
	who := "The card's recommendation."
	if r.Source != runbooks.SourceCard {
		who = "Requested by " + by + "."
	}
	text := fmt.Sprintf("%s on %s for %s with %s. %s It runs once enough approvers agree; you can cancel it while it runs.",
		what, orNothing(target(r.Vars)), orNothing(r.Incident), plainParams(r.Vars), who)
	confirmStyle := slack.StylePrimary
	if rb.Risk == runbooks.RiskHigh {
		confirmStyle = slack.StyleDanger
	}
	c := confirm(fmt.Sprintf("Run %s on %s?", r.Runbook, orNothing(target(r.Vars))), text, "Approve", "Not now").WithStyle(confirmStyle)
	return slack.NewButtonBlockElement(actionID, requestValue(r), plainText(truncate(label, runbookLabelMax))).WithStyle(slack.StylePrimary).WithConfirm(c)
}

func cancelButton(r runbooks.Request, rb runbooks.Runbook) *slack.ButtonBlockElement {
	text := fmt.Sprintf("%s on %s stops now: ansible-playbook is interrupted, then killed. Tasks already done stay done; check the system afterwards.",
		r.Runbook, orNothing(target(r.Vars)))
	c := confirm("Cancel "+r.ID+"?", text, "Cancel the run", "Keep it running").WithStyle(slack.StyleDanger)
	return slack.NewButtonBlockElement(ActionRunCancel, requestValue(r), plainText("Cancel run")).WithStyle(slack.StyleDanger).WithConfirm(c)
}

func commandButton(r runbooks.Request) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(ActionRunbookManual, requestValue(r), plainText("Show command"))
}

// confirm is a confirmation dialog within Slack's limits; untrusted parts
// are escaped before they are cut, so no entity is cut in half.
func confirm(title, text, yes, no string) *slack.ConfirmationBlockObject {
	return slack.NewConfirmationBlockObject(
		plainText(truncate(escape(title), confirmTitleMax)),
		plainText(truncate(escape(text), confirmTextMax)),
		plainText(truncate(yes, confirmButtonMax)),
		plainText(truncate(no, confirmButtonMax)))
}

func orNothing(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func finalResult(r runbooks.Request) *runbooks.Result {
	if r.Result != nil {
		return r.Result
	}
	return r.Check
}

// shownParams are the parameters people set, sorted, secrets hidden.
func shownParams(vars map[string]any) []string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		if runbooks.ReservedParam(k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := fmt.Sprint(vars[k])
		if runbooks.Secret(k) {
			v = "[redacted]"
		}
		parts = append(parts, k+"="+v)
	}
	return parts
}

func paramsLine(vars map[string]any) string {
	parts := shownParams(vars)
	if len(parts) == 0 {
		return "_none_"
	}
	for i, p := range parts {
		parts[i] = code(p)
	}
	return strings.Join(parts, " ")
}

func plainParams(vars map[string]any) string {
	parts := shownParams(vars)
	if len(parts) == 0 {
		return "no parameters"
	}
	return strings.Join(parts, ", ")
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
		line := fmt.Sprintf("%s %s", statusIcon[t.Status], escape(truncate(oneLine(t.Task), 200)))
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
		lines = append(lines, fmt.Sprintf("🔧 %s — %s", escape(truncate(oneLine(t.Task), 200)), escape(truncate(oneLine(what), 240))))
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
	took := diagnosis.Precise(res.Ended.Sub(res.Started))
	fmt.Fprintf(&b, "*Result:* %s in %s — %d changed, %d failed, %d ok, %d skipped (exit %d)", escape(res.Outcome), took, res.Changed, res.Failed, res.OK, res.Skipped, res.ExitCode)
	if r.Result == nil && r.Check != nil {
		b.WriteString("\nThe check run stopped it before anything changed.")
	}
	if r.EndedBy != "" && (r.State == runbooks.StateCancelled || r.State == runbooks.StateRejected) {
		fmt.Fprintf(&b, "\n%s by %s.", requestWord(r.State), escape(r.EndedBy))
	}
	if r.Verified != "" {
		fmt.Fprintf(&b, "\n*Verification:* %s", escape(truncate(r.Verified, 300)))
	}
	for _, t := range res.Tasks {
		if t.Status == runbooks.TaskFailed {
			fmt.Fprintf(&b, "\n❌ %s — %s", escape(truncate(oneLine(t.Task), 200)), escape(truncate(oneLine(t.Msg), 300)))
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
