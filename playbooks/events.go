package playbooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/nightowl-sre/nightowl/runbooks"
)

const (
	tailLines   = 40
	maxLineLen  = 300
	maxMsgLen   = 500
	diffInTail  = 8
	stderrLines = 40
)

// event is one line of the ansible.posix.jsonl stdout callback.
type event struct {
	Event string `json:"_event"`
	Play  *struct {
		Name string `json:"name"`
	} `json:"play"`
	Task *struct {
		Name string `json:"name"`
	} `json:"task"`
	Hosts map[string]json.RawMessage `json:"hosts"`
	Stats map[string]hostStats       `json:"stats"`
}

type hostStats struct {
	OK          int `json:"ok"`
	Changed     int `json:"changed"`
	Failures    int `json:"failures"`
	Unreachable int `json:"unreachable"`
	Skipped     int `json:"skipped"`
	Rescued     int `json:"rescued"`
	Ignored     int `json:"ignored"`
}

// taskEvents maps the result events to task statuses.
var taskEvents = map[string]string{
	"v2_runner_on_ok":          runbooks.TaskOK,
	"v2_runner_on_failed":      runbooks.TaskFailed,
	"v2_runner_on_skipped":     runbooks.TaskSkipped,
	"v2_runner_on_unreachable": runbooks.TaskUnreachable,
}

// recorder turns ansible-playbook's output into task results as it
// arrives: JSON events from stdout become TaskResults (each handed to
// progress at once), everything else is kept as text. It also keeps a
// human-readable tail of the run.
type recorder struct {
	red      *redactor
	progress func(runbooks.TaskResult)

	mu      sync.Mutex
	play    string
	tasks   []runbooks.TaskResult
	stats   map[string]hostStats
	started bool // a task started
	tally   tally
	// stopNote, once the runner interrupts a task, replaces the message
	// Ansible gives the task it made fail.
	stopNote string
	tail     []string
	stderr   []string
	outParts lineSplitter
	errParts lineSplitter
}

func newRecorder(red *redactor, progress func(runbooks.TaskResult)) *recorder {
	if progress == nil {
		progress = func(runbooks.TaskResult) {}
	}
	return &recorder{red: red, progress: progress}
}

// Stdout receives ansible-playbook's standard output, a line at a time.
func (r *recorder) Stdout() io.Writer { return writerFunc(r.stdoutWrite) }

// Stderr receives its standard error.
func (r *recorder) Stderr() io.Writer { return writerFunc(r.stderrWrite) }

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (r *recorder) stdoutWrite(p []byte) (int, error) {
	r.mu.Lock()
	lines := r.outParts.add(p)
	r.mu.Unlock()
	for _, l := range lines {
		r.stdoutLine(l)
	}
	return len(p), nil
}

func (r *recorder) stderrWrite(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.errParts.add(p) {
		l = strings.TrimRight(l, " \t")
		if strings.TrimSpace(l) == "" {
			continue
		}
		l = r.red.String(l)
		r.stderr = appendBounded(r.stderr, stderrLines, l)
		r.addTail(l)
	}
	return len(p), nil
}

func (r *recorder) stdoutLine(line string) {
	trimmed := strings.TrimSpace(line)
	switch {
	case trimmed == "":
		return
	case strings.HasPrefix(trimmed, "{"):
		var ev event
		if err := json.Unmarshal([]byte(trimmed), &ev); err == nil && ev.Event != "" {
			r.handle(ev)
			return
		}
	case strings.HasPrefix(trimmed, "Whoops!"):
		// go-ansible's note that the context ended; the outcome says so.
		return
	}
	r.mu.Lock()
	r.addTail(r.red.String(line))
	r.mu.Unlock()
}

func (r *recorder) handle(ev event) {
	switch {
	case ev.Event == "v2_playbook_on_play_start" && ev.Play != nil:
		r.mu.Lock()
		r.play = r.red.String(ev.Play.Name)
		r.addTail("PLAY [" + r.play + "]")
		r.mu.Unlock()
	case ev.Event == "v2_runner_on_start" || ev.Event == "v2_playbook_on_task_start" || ev.Event == "v2_playbook_on_handler_task_start":
		r.mu.Lock()
		r.started = true
		if ev.Task != nil {
			r.tally.task = r.red.String(ev.Task.Name)
		}
		r.mu.Unlock()
	case ev.Event == "v2_playbook_on_stats":
		r.mu.Lock()
		r.stats = ev.Stats
		for _, h := range slices.Sorted(maps.Keys(ev.Stats)) {
			s := ev.Stats[h]
			r.addTail(fmt.Sprintf("RECAP %s ok=%d changed=%d unreachable=%d failed=%d skipped=%d rescued=%d ignored=%d",
				h, s.OK, s.Changed, s.Unreachable, s.Failures, s.Skipped, s.Rescued, s.Ignored))
		}
		r.mu.Unlock()
	default:
		status, ok := taskEvents[ev.Event]
		if !ok || ev.Task == nil {
			return
		}
		for _, host := range slices.Sorted(maps.Keys(ev.Hosts)) {
			tr := r.taskResult(ev, host, status)
			r.mu.Lock()
			failed := status == runbooks.TaskFailed || status == runbooks.TaskUnreachable
			r.tally.results++
			r.tally.lastFailed = failed
			if failed {
				r.tally.failures++
			}
			// Loop items carry the message in their own results.
			if failed && r.stopNote != "" && bytes.Contains(ev.Hosts[host], []byte(ansibleTimeoutMsg)) {
				tr.Msg = r.stopNote
			}
			r.tasks = append(r.tasks, tr)
			r.tailTask(tr)
			r.mu.Unlock()
			r.progress(tr)
		}
	}
}

func (r *recorder) taskResult(ev event, host, status string) runbooks.TaskResult {
	var res map[string]any
	dec := json.NewDecoder(bytes.NewReader(ev.Hosts[host]))
	dec.UseNumber()
	_ = dec.Decode(&res)
	if status == runbooks.TaskOK && res["changed"] == true {
		status = runbooks.TaskChanged
	}
	r.mu.Lock()
	play := r.play
	r.mu.Unlock()
	return runbooks.TaskResult{
		Play:   play,
		Task:   r.red.String(ev.Task.Name),
		Host:   host,
		Status: status,
		Msg:    runbooks.Truncate(r.red.String(message(res, status)), maxMsgLen),
		Diff:   r.red.String(renderDiff(res["diff"])),
	}
}

// message is what a module said: its msg, or for command-like modules the
// end of stdout (and of stderr when it failed), or a summary of loop items.
func message(res map[string]any, status string) string {
	var parts []string
	if m := value(res["msg"]); res["msg"] != nil && m != `""` {
		parts = append(parts, m)
	}
	if items, ok := res["results"].([]any); ok && len(parts) == 0 {
		var msgs []string
		for _, it := range items {
			if im, ok := it.(map[string]any); ok && im["msg"] != nil {
				msgs = append(msgs, value(im["msg"]))
			}
		}
		parts = append(parts, fmt.Sprintf("%d items", len(items)))
		parts = append(parts, msgs...)
	}
	if s, ok := res["stdout"].(string); ok && s != "" && len(parts) == 0 {
		parts = append(parts, lastLines(s, 3))
	}
	if status == runbooks.TaskFailed || status == runbooks.TaskUnreachable {
		if s, ok := res["stderr"].(string); ok && strings.TrimSpace(s) != "" {
			parts = append(parts, "stderr: "+lastLines(s, 3))
		}
		if rc, ok := res["rc"].(json.Number); ok && rc.String() != "0" {
			parts = append(parts, "rc="+rc.String())
		}
	}
	return strings.Join(parts, "; ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func (r *recorder) tailTask(tr runbooks.TaskResult) {
	line := fmt.Sprintf("%s: [%s] %s", tr.Status, tr.Host, tr.Task)
	if tr.Msg != "" {
		line += " => " + tr.Msg
	}
	r.addTail(line)
	if tr.Diff == "" {
		return
	}
	diff := strings.Split(tr.Diff, "\n")
	if len(diff) > diffInTail {
		diff = append(diff[:diffInTail], "…")
	}
	for _, d := range diff {
		r.addTail("    " + d)
	}
}

// addTail keeps the last lines of the run; r.mu is held.
func (r *recorder) addTail(line string) {
	for _, l := range strings.Split(line, "\n") {
		r.tail = appendBounded(r.tail, tailLines, runbooks.Truncate(l, maxLineLen))
	}
}

// tally is what the run has reported so far, for stopping it.
type tally struct {
	results    int    // task results (per host)
	failures   int    // of which failed or unreachable
	lastFailed bool   // the last result was a failure
	task       string // the task started last
}

func (r *recorder) soFar() tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tally
}

// ansibleTimeoutMsg is in the message of a task Ansible's task timeout
// ended, the way the runner interrupts tasks.
const ansibleTimeoutMsg = "failed to execute in the expected time frame"

// interrupting says the runner is about to make tasks fail, and why.
func (r *recorder) interrupting(why string) {
	r.mu.Lock()
	r.stopNote = "interrupted by nightowl: " + why
	r.mu.Unlock()
}

// note adds the runner's own line to the tail.
func (r *recorder) note(line string) {
	r.mu.Lock()
	r.addTail(line)
	r.mu.Unlock()
}

func appendBounded(s []string, n int, v string) []string {
	s = append(s, v)
	if len(s) > n {
		s = slices.Delete(s, 0, len(s)-n)
	}
	return s
}

// snapshot is what the recorder saw, for the Result.
type snapshot struct {
	tasks   []runbooks.TaskResult
	stats   map[string]hostStats
	started bool
	output  string
	stderr  []string
}

func (r *recorder) snapshot() snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A last line without a newline still counts.
	if l := r.errParts.flush(); l != "" {
		r.stderr = appendBounded(r.stderr, stderrLines, r.red.String(l))
		r.addTail(r.red.String(l))
	}
	return snapshot{
		tasks:   slices.Clone(r.tasks),
		stats:   r.stats,
		started: r.started,
		output:  strings.Join(r.tail, "\n"),
		stderr:  slices.Clone(r.stderr),
	}
}

// lineSplitter cuts a byte stream into lines.
type lineSplitter struct{ buf []byte }

func (s *lineSplitter) add(p []byte) []string {
	s.buf = append(s.buf, p...)
	var lines []string
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, strings.TrimSuffix(string(s.buf[:i]), "\r"))
		s.buf = s.buf[i+1:]
	}
	if len(s.buf) == 0 {
		s.buf = nil
	}
	return lines
}

func (s *lineSplitter) flush() string {
	l := string(s.buf)
	s.buf = nil
	return l
}
