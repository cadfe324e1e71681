package playbooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nightowl-sre/nightowl/runbooks"
)

// How a run is stopped, and why not the way Ctrl-C does it.
//
// ansible-playbook 2.14 does not run rescue or always sections, nor
// handlers, when it is interrupted. SIGINT to its process group (what
// Ctrl-C sends) makes the controller print "ERROR! User interrupted
// execution" and exit 99 within about 60 ms; a second SIGINT finds it gone.
// SIGINT to the controller alone does the same and leaves the running
// module and its children behind. A worker (the controller's fork that
// runs one task) that dies of a signal makes the controller stop with
// "A worker was found in a dead state", again without cleanup.
//
// What does make Ansible clean up is a task that fails. The runner makes
// the running task fail through Ansible's own task timeout: with a task
// timeout set (the runner always sets ANSIBLE_TASK_TIMEOUT), a worker
// catches SIGALRM for as long as an attempt of its task runs, and SIGALRM
// then ends the attempt with "The … action failed to execute in the
// expected time frame", skipping the task's remaining retries. Between
// attempts (an until/delay pause, templating) the worker puts SIGALRM back
// as it found it; by default that would let SIGALRM kill the worker, so
// ansible-playbook is started with SIGALRM ignored (env --ignore-signal),
// and a SIGALRM that comes between attempts is ignored. (Modules start
// while the handler is installed, so exec gives them the default back.)
// The runner reads the worker's caught-signal mask in /proc/<pid>/status,
// sends SIGALRM while it is caught, and polls until it is. It then sends
// SIGTERM to the processes the attempt started (the module and its
// children), which the task timeout would leave running; not SIGINT,
// which a process started in the background by a shell ignores. Ansible
// reports the task failed and goes on as with any failure: the block's
// rescue and always sections run, then the host is done. Handlers run only
// with force_handlers.
//
// Which task is interrupted: the first attempt in flight at or after the
// stop, every later attempt of the same task (loop items), and the next
// task too if the interrupted one still ended well (pause, failed_when:
// false), until a task fails. If the last task to finish before the stop
// had failed, Ansible is already in a rescue or always section (or
// ending), so nothing is interrupted. The runner cannot see block
// structure otherwise: a stop that comes while an always section runs
// after a block that succeeded interrupts that cleanup task.
//
// Once ansible-playbook has exited, whatever it left in its process group
// is killed at once; if it is still running when the grace runs out, the
// whole group is killed and the Stop says so.
//
// Not interruptible this way: tasks with timeout: 0 (no SIGALRM handler;
// they are killed after the grace), async tasks (their job runs outside
// the process group), and a pause, whose own SIGALRM handler ends the
// pause as if its time were up (the next task is interrupted instead).

// DefaultStopGrace is how long a stopped run may take to wind down.
const DefaultStopGrace = 60 * time.Second

// stopPoll is how often a stopping run looks at its process group.
const stopPoll = 25 * time.Millisecond

// noTaskTimeout is the task timeout of a job without a timeout: a task
// timeout must be set for the runner to interrupt tasks.
const noTaskTimeout = 365 * 24 * time.Hour

// Stop says how the runner stopped a run whose context ended while
// ansible-playbook ran.
type Stop struct {
	// Reason is runbooks.OutcomeCancelled or runbooks.OutcomeTimedOut.
	Reason string
	// Requested is when the run's context ended.
	Requested time.Time
	// Grace is how long ansible-playbook had to wind down.
	Grace time.Duration
	// Interrupted names the tasks the runner made fail, in order; empty
	// when none ran or Ansible was already handling a failure.
	Interrupted []string
	// Exited is when ansible-playbook ended, on its own or killed.
	Exited time.Time
	// Killed says ansible-playbook was still running when the grace ran
	// out and its process group was killed: its rescue or always sections
	// may not have finished. Otherwise they ran to their end.
	Killed bool
}

// note is the runner's line about the stop for the run's output.
func (s Stop) note(timeout time.Duration) string {
	var b strings.Builder
	b.WriteString("nightowl: ")
	if s.Reason == runbooks.OutcomeTimedOut {
		fmt.Fprintf(&b, "timed out after %s", timeout)
	} else {
		b.WriteString("cancelled")
	}
	if len(s.Interrupted) > 0 {
		quoted := make([]string, len(s.Interrupted))
		for i, t := range s.Interrupted {
			quoted[i] = strconv.Quote(t)
		}
		fmt.Fprintf(&b, "; interrupted %s", strings.Join(quoted, ", "))
	} else {
		b.WriteString("; interrupted no task")
	}
	if s.Killed {
		fmt.Fprintf(&b, "; ansible-playbook still ran after the %s grace: killed its process group", s.Grace)
	} else {
		fmt.Fprintf(&b, "; ansible-playbook wound down in %s", s.Exited.Sub(s.Requested).Round(time.Millisecond))
	}
	return b.String()
}

// stopper winds one run down when the run's context ends while
// ansible-playbook runs: it interrupts the running task, waits up to the
// grace for ansible-playbook to exit, then kills its process group.
type stopper struct {
	ctx     context.Context // the run's: its end asks for the stop
	grace   time.Duration
	rec     *recorder
	kill    context.CancelFunc // ends go-ansible's context after the group is killed
	now     func() time.Time
	stopped *Stop // set by the watcher, read after it has ended
}

// watch waits for the run's context to end or the process to exit,
// whichever comes first, and winds the run down in the first case.
func (s *stopper) watch(g *groupCmd) {
	select {
	case <-g.exited:
		return
	case <-s.ctx.Done():
	}
	pid := g.Process.Pid
	if g.leaderExited() {
		// It finished before the stop; only leftovers remain.
		_ = killGroup(pid)
		return
	}
	st := &Stop{Reason: stopReason(s.ctx), Requested: s.now(), Grace: s.grace}
	s.stopped = st
	in := newInterrupter(pid, s.rec)
	s.rec.interrupting(st.Reason)
	deadline := time.NewTimer(s.grace)
	defer deadline.Stop()
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	for {
		if g.leaderExited() {
			st.Exited = s.now()
			_ = killGroup(pid) // what it left behind
			break
		}
		if task, ok := in.step(); ok && (len(st.Interrupted) == 0 || st.Interrupted[len(st.Interrupted)-1] != task) {
			st.Interrupted = append(st.Interrupted, task)
		}
		select {
		case <-g.exited:
		case <-tick.C:
		case <-deadline.C:
			_ = killGroup(pid)
			s.kill()
			st.Exited, st.Killed = s.now(), true
			return
		}
	}
}

// stopReason is the outcome of a run whose context ended.
func stopReason(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), errJobTimeout) {
		return runbooks.OutcomeTimedOut
	}
	return runbooks.OutcomeCancelled
}

// interrupter makes the task that runs when a stop comes fail (see the
// comment at the top of this file).
type interrupter struct {
	leader int
	rec    *recorder
	// failing: Ansible was already handling a failure at the stop.
	failing        bool
	failuresAtStop int
	alarmed        map[int]bool // workers sent SIGALRM
	resultsAtAlarm int          // task results seen when a new worker was last alarmed
	done           bool
}

func newInterrupter(leader int, rec *recorder) *interrupter {
	t := rec.soFar()
	return &interrupter{leader: leader, rec: rec, failing: t.lastFailed, failuresAtStop: t.failures, alarmed: map[int]bool{}}
}

// step sends SIGALRM to each worker in a task attempt that should fail,
// and SIGTERM to the processes those attempts started. It returns the task
// it interrupted, if any.
func (in *interrupter) step() (task string, ok bool) {
	if in.failing || in.done {
		return "", false
	}
	t := in.rec.soFar()
	if len(in.alarmed) > 0 && t.failures > in.failuresAtStop {
		in.done = true // the interrupted task failed: Ansible takes over
		return "", false
	}
	// Workers are forks of the controller: same command line. Read it each
	// time: just after the start it may still be env's.
	leaderCmd := cmdline(in.leader)
	var workers, started []int
	for _, p := range groupProcs(in.leader) {
		switch {
		case p.pid == in.leader:
		case p.ppid == in.leader && len(leaderCmd) > 0 && bytes.Equal(cmdline(p.pid), leaderCmd):
			workers = append(workers, p.pid)
		default:
			started = append(started, p.pid)
		}
	}
	for _, w := range workers {
		fresh := !in.alarmed[w]
		// A new worker runs the next task: interrupt it only once the one
		// interrupted before has reported (it ended well: pause, or
		// failed_when: false).
		if fresh && len(in.alarmed) > 0 && t.results == in.resultsAtAlarm {
			continue
		}
		if !catchesAlarm(w) || syscall.Kill(w, syscall.SIGALRM) != nil {
			continue
		}
		ok = true
		if fresh {
			in.alarmed[w] = true
			in.resultsAtAlarm = t.results
		}
	}
	if ok {
		for _, p := range started {
			_ = syscall.Kill(p, syscall.SIGTERM)
		}
	}
	return t.task, ok
}

// proc is a live member of a process group.
type proc struct{ pid, ppid int }

// groupProcs lists the live (not zombie) processes of a process group.
func groupProcs(pgid int) []proc {
	var ps []proc
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, ppid, pgrp, ok := procStat(pid)
		if ok && pgrp == pgid && state != 'Z' && state != 'X' {
			ps = append(ps, proc{pid: pid, ppid: ppid})
		}
	}
	return ps
}

// procStat reads a process's state, parent and process group.
func procStat(pid int) (state byte, ppid, pgrp int, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, false
	}
	// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	return f[0][0], ppid, pgrp, err1 == nil && err2 == nil
}

func cmdline(pid int) []byte {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return b
}

// catchesAlarm says whether a process has a handler for SIGALRM: an
// Ansible worker has one while an attempt of its task runs.
func catchesAlarm(pid int) bool {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(syscall.SIGALRM)-1)) != 0
		}
	}
	return false
}
