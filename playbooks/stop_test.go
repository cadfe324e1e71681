package playbooks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/runbooks"
)

// stopCase is one playbook stopped while it runs.
type stopCase struct {
	name string
	// body is the play's tasks; {{hang}} and {{cleanup_hang}} become sleeps
	// with markers, {{file}} the file the cleanup writes.
	body         string
	timeout      time.Duration // Job.Timeout; with cancelOn set, the cancel comes first
	cleanupSleep string        // the cleanup's sleep; default 299 s
	// cancelOn is the marker whose sleep must run before the context is
	// cancelled: "hang" or "cleanup_hang"; empty for a timeout case.
	cancelOn string
	grace    time.Duration
	// jobGrace, when set, is the Job's own StopGrace: the runner's is then
	// an hour, and the job's must win.
	jobGrace time.Duration

	wantOutcome     string
	wantInterrupted []string // Stop.Interrupted
	wantKilled      bool     // Stop.Killed
	wantFile        bool     // the cleanup wrote its file
	// wantCleanupStarted: the cleanup's own sleep was seen running.
	wantCleanupStarted bool
	// within bounds the time from the cancel (or from Run for a timeout)
	// to Run's return; atLeast is its lower bound.
	within, atLeast time.Duration
	wantNotRun      []string // tasks that must not have run
}

// stopBlock is a block whose task hangs, with an always section that
// writes a file, and tasks after it that a stopped run must not reach.
const stopBlock = `    - name: Say hello
      ansible.builtin.debug:
        msg: starting
    - name: Roll out
      block:
        - name: Hang
          ansible.builtin.command:
            argv: [sleep, "{{hang}}"]
        - name: Never reached
          ansible.builtin.debug:
            msg: unreachable
      always:
        - name: Clean up
          ansible.builtin.copy:
            dest: "{{file}}"
            content: cleaned
    - name: After the block
      ansible.builtin.debug:
        msg: after
`

func stopCases() []stopCase {
	return []stopCase{
		{
			name:     "cancelling the context runs the always task and says cancelled",
			body:     stopBlock,
			timeout:  time.Minute,
			cancelOn: "hang", grace: 30 * time.Second,
			wantOutcome: runbooks.OutcomeCancelled, wantInterrupted: []string{"Hang"}, wantFile: true,
			within: 8 * time.Second, wantNotRun: []string{"Never reached", "After the block"},
		},
		{
			name: "a job timeout runs the always task and says timed_out",
			body: stopBlock,
			// The job's timeout is each task's too (ANSIBLE_TASK_TIMEOUT):
			// 4 s was too little for the cleanup task itself once, on a
			// loaded machine running the suite in parallel.
			timeout:     8 * time.Second,
			grace:       30 * time.Second,
			wantOutcome: runbooks.OutcomeTimedOut, wantInterrupted: []string{"Hang"}, wantFile: true,
			within: 8*time.Second + 10*time.Second, atLeast: 8 * time.Second,
			wantNotRun: []string{"Never reached", "After the block"},
		},
		{
			name: "an always task that hangs is killed after the grace",
			body: strings.Replace(stopBlock, "      always:\n", `      always:
        - name: Hang in cleanup
          ansible.builtin.command:
            argv: [sleep, "{{cleanup_hang}}"]
`, 1),
			timeout:  time.Minute,
			cancelOn: "hang", grace: 3 * time.Second,
			wantOutcome: runbooks.OutcomeCancelled, wantInterrupted: []string{"Hang"}, wantKilled: true, wantCleanupStarted: true,
			within: 3*time.Second + 4*time.Second, atLeast: 3 * time.Second,
			wantNotRun: []string{"Never reached", "Clean up", "After the block"},
		},
		{
			name: "the job's own stop grace wins over the runner's",
			body: strings.Replace(stopBlock, "      always:\n", `      always:
        - name: Hang in cleanup
          ansible.builtin.command:
            argv: [sleep, "{{cleanup_hang}}"]
`, 1),
			timeout:  time.Minute,
			cancelOn: "hang", grace: 3 * time.Second, jobGrace: 3 * time.Second,
			wantOutcome: runbooks.OutcomeCancelled, wantInterrupted: []string{"Hang"}, wantKilled: true, wantCleanupStarted: true,
			within: 3*time.Second + 4*time.Second, atLeast: 3 * time.Second,
			wantNotRun: []string{"Never reached", "Clean up", "After the block"},
		},
		{
			name: "a task retrying with until is interrupted once, not retried until the grace",
			body: strings.Replace(stopBlock, `        - name: Hang
          ansible.builtin.command:
            argv: [sleep, "{{hang}}"]
`, `        - name: Hang
          ansible.builtin.command:
            argv: [sleep, "{{hang}}"]
          register: attempt
          until: false
          retries: 100
          delay: 1
`, 1),
			timeout:  time.Minute,
			cancelOn: "hang", grace: 30 * time.Second,
			wantOutcome: runbooks.OutcomeCancelled, wantInterrupted: []string{"Hang"}, wantFile: true,
			within: 8 * time.Second, wantNotRun: []string{"Never reached", "After the block"},
		},
		{
			name: "a loop task is interrupted item after item",
			body: strings.Replace(stopBlock, `            argv: [sleep, "{{hang}}"]
`, `            argv: [sleep, "{{hang}}"]
          loop: [1, 2, 3, 4]
`, 1),
			timeout:  time.Minute,
			cancelOn: "hang", grace: 30 * time.Second,
			wantOutcome: runbooks.OutcomeCancelled, wantInterrupted: []string{"Hang"}, wantFile: true,
			within: 8 * time.Second, wantNotRun: []string{"Never reached", "After the block"},
		},
		{
			name: "a stop during the cleanup of a failed block lets the cleanup finish",
			body: `    - name: Roll out
      block:
        - name: Break
          ansible.builtin.fail:
            msg: the rollout broke
      always:
        - name: Slow cleanup
          ansible.builtin.command:
            argv: [sleep, "{{cleanup_hang}}"]
        - name: Clean up
          ansible.builtin.copy:
            dest: "{{file}}"
            content: cleaned
`,
			timeout:  time.Minute,
			cancelOn: "cleanup_hang", grace: 30 * time.Second,
			wantOutcome: runbooks.OutcomeCancelled, wantFile: true, wantCleanupStarted: true,
			cleanupSleep: "3",
			within:       3*time.Second + 8*time.Second, atLeast: time.Second,
		},
	}
}

// stoppedRun is what happened to a playbook stopped while it ran.
type stoppedRun struct {
	rep            Report
	err            error
	file           string // the cleanup's file
	hang, cleanup  string // the sleeps' markers
	pgid           int
	tempDir        string
	from           time.Time     // the cancel, or Run's start for a timeout
	returned       time.Duration // from from to Run's return
	interrupted    time.Duration // from from to the "Hang" task's failure; 0 if none
	cleanedUp      time.Duration // from from to the "Clean up" task's result; 0 if none
	groupGone      time.Duration // from from to the process group having no live process
	cleanupStarted bool          // the cleanup's sleep was seen running
}

// MustStop runs tc's playbook with r and stops it: it cancels the context
// once tc.cancelOn's sleep runs, or lets Job.Timeout do it.
func MustStop(tb testing.TB, r *Runner, tc stopCase) stoppedRun {
	tb.Helper()
	dir := tb.TempDir()
	stamp := time.Now().UnixNano() % 1e9
	cleanupSleep := tc.cleanupSleep
	if cleanupSleep == "" {
		cleanupSleep = "299"
	}
	sr := stoppedRun{
		file:    filepath.Join(dir, "cleaned"),
		hang:    fmt.Sprintf("300.%09d", stamp),
		cleanup: fmt.Sprintf("%s.%09d", cleanupSleep, stamp),
		tempDir: tb.TempDir(),
	}
	body := strings.NewReplacer("{{hang}}", sr.hang, "{{cleanup_hang}}", sr.cleanup, "{{file}}", sr.file).Replace(tc.body)
	path := MustWritePlaybook(tb, playHead+body)

	var mu sync.Mutex // guards pgid, from, cleanedAt, goneAt, cleanupStarted
	var interruptedAt, cleanedAt, goneAt time.Time
	rr := *r
	rr.stopGrace = tc.grace
	rr.tempDir = sr.tempDir
	rr.onStart = func(pid int) {
		mu.Lock()
		sr.pgid = pid
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(tb.Context())
	defer cancel()
	progress := func(tr runbooks.TaskResult) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case tr.Task == "Clean up":
			cleanedAt = time.Now()
		case tr.Task == "Hang" && tr.Status == runbooks.TaskFailed:
			interruptedAt = time.Now()
		}
	}

	// The watcher cancels once the sleep named runs, and notes when the
	// cleanup's sleep runs and when the group is gone.
	watchCtx, stopWatch := context.WithCancel(tb.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		marker := map[string]string{"hang": sr.hang, "cleanup_hang": sr.cleanup}[tc.cancelOn]
		for watchCtx.Err() == nil {
			mu.Lock()
			if len(processes(sr.cleanup)) > 0 {
				sr.cleanupStarted = true
			}
			if marker != "" && sr.from.IsZero() && len(processes(marker)) > 0 {
				sr.from = time.Now()
				cancel()
			}
			if (!sr.from.IsZero() || tc.cancelOn == "") && sr.pgid != 0 && goneAt.IsZero() && len(groupMembers(sr.pgid)) == 0 {
				goneAt = time.Now()
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	})

	began := time.Now()
	job := runbooks.Job{Playbook: path, Timeout: tc.timeout}
	if tc.jobGrace > 0 {
		rr.stopGrace, job.StopGrace = time.Hour, tc.jobGrace
	}
	sr.rep, sr.err = rr.RunReport(ctx, job, progress)
	returned := time.Now()
	// One more look for the group, then stop watching.
	waitUntil(20*time.Millisecond, 2*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !goneAt.IsZero() || sr.pgid == 0
	})
	stopWatch()
	wg.Wait()
	if tc.cancelOn == "" {
		sr.from = began
	}
	if sr.from.IsZero() {
		tb.Fatalf("the %s sleep never ran; err %v, output:\n%s", tc.cancelOn, sr.err, sr.rep.Output)
	}
	sr.returned = returned.Sub(sr.from)
	if !interruptedAt.IsZero() {
		sr.interrupted = interruptedAt.Sub(sr.from)
	}
	if !cleanedAt.IsZero() {
		sr.cleanedUp = cleanedAt.Sub(sr.from)
	}
	if !goneAt.IsZero() {
		sr.groupGone = goneAt.Sub(sr.from)
	}
	return sr
}

// waitUntil polls ok every interval until it holds or timeout passes.
func waitUntil(interval, timeout time.Duration, ok func() bool) {
	for deadline := time.Now().Add(timeout); !ok() && time.Now().Before(deadline); {
		time.Sleep(interval)
	}
}

func TestAStoppedRunRunsItsCleanupAndLeavesNothingBehind(t *testing.T) {
	r := MustRunner(t)
	for _, tt := range stopCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sr := MustStop(t, r, tt)
			if sr.err != nil {
				t.Fatal(sr.err)
			}
			rep := sr.rep
			what := map[bool]string{true: "cancel", false: "start"}[tt.cancelOn != ""]
			t.Logf("after the %s: task failed %v, cleanup reported %v, Run returned %v, group gone %v", what, sr.interrupted.Round(time.Millisecond),
				sr.cleanedUp.Round(time.Millisecond), sr.returned.Round(time.Millisecond), sr.groupGone.Round(time.Millisecond))

			if rep.Outcome != tt.wantOutcome {
				t.Errorf("outcome %s, want %s; output:\n%s", rep.Outcome, tt.wantOutcome, rep.Output)
			}
			if rep.Stop == nil {
				t.Fatalf("no Stop; output:\n%s", rep.Output)
			}
			if s := rep.Stop; s.Reason != tt.wantOutcome || s.Killed != tt.wantKilled || !slices.Equal(s.Interrupted, tt.wantInterrupted) || s.Grace != tt.grace {
				t.Errorf("Stop %+v, want reason %s, killed %v, interrupted %q, grace %v", *s, tt.wantOutcome, tt.wantKilled, tt.wantInterrupted, tt.grace)
			}
			if _, err := os.Stat(sr.file); (err == nil) != tt.wantFile {
				t.Errorf("the cleanup's file exists: %v, want %v; output:\n%s", err == nil, tt.wantFile, rep.Output)
			}
			if sr.cleanupStarted != tt.wantCleanupStarted {
				t.Errorf("the cleanup's sleep ran: %v, want %v", sr.cleanupStarted, tt.wantCleanupStarted)
			}
			if sr.returned > tt.within || sr.returned < tt.atLeast {
				t.Errorf("Run returned %v after the %s, want between %v and %v", sr.returned, what, tt.atLeast, tt.within)
			}
			wantExit := 2 // ansible-playbook's own: a host failed
			if tt.wantKilled {
				wantExit = -1
			}
			if rep.ExitCode != wantExit {
				t.Errorf("exit code %d, want %d", rep.ExitCode, wantExit)
			}
			lines := strings.Split(rep.Output, "\n")
			wantNote := "; ansible-playbook wound down in "
			if tt.wantKilled {
				wantNote = fmt.Sprintf("; ansible-playbook still ran after the %s grace: killed its process group", tt.grace)
			}
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "nightowl: ") || !strings.Contains(last, wantNote) {
				t.Errorf("the output's last line %q does not say %q", last, wantNote)
			}
			for _, name := range tt.wantInterrupted {
				i := slices.IndexFunc(rep.Tasks, func(tr runbooks.TaskResult) bool { return tr.Task == name })
				if want := "interrupted by nightowl: " + tt.wantOutcome; i < 0 || rep.Tasks[i].Status != runbooks.TaskFailed || rep.Tasks[i].Msg != want {
					t.Errorf("task %q is not reported failed with %q: %+v", name, want, rep.Tasks)
				}
			}
			for _, name := range tt.wantNotRun {
				if slices.ContainsFunc(rep.Tasks, func(tr runbooks.TaskResult) bool { return tr.Task == name }) {
					t.Errorf("task %q ran after the stop; tasks: %+v", name, rep.Tasks)
				}
			}
			for _, m := range []string{sr.hang, sr.cleanup} {
				if left := processes(m); len(left) > 0 {
					t.Errorf("sleep %s still runs: pids %v", m, left)
				}
			}
			if left := groupMembers(sr.pgid); sr.pgid == 0 || len(left) > 0 {
				t.Errorf("process group %d still has %v", sr.pgid, left)
			}
			if left, _ := os.ReadDir(sr.tempDir); len(left) > 0 {
				t.Errorf("the stopped run left %v in its temp dir", left)
			}
		})
	}
}

// BenchmarkStop measures a cancel of a run whose block hangs: how long
// until the hanging task is reported failed, until its always task has
// reported, until Run returns and until the process group is gone. Run it with -benchtime=5x: each run starts
// ansible-playbook.
func BenchmarkStop(b *testing.B) {
	r := MustRunner(b)
	tc := stopCases()[0]
	var interrupted, cleaned, returned, gone time.Duration
	for b.Loop() {
		sr := MustStop(b, r, tc)
		if sr.err != nil || sr.rep.Stop == nil || sr.rep.Stop.Killed || sr.cleanedUp == 0 || sr.groupGone == 0 {
			b.Fatalf("err %v, stop %+v, cleanup %v, gone %v; output:\n%s", sr.err, sr.rep.Stop, sr.cleanedUp, sr.groupGone, sr.rep.Output)
		}
		interrupted += sr.interrupted
		cleaned += sr.cleanedUp
		returned += sr.returned
		gone += sr.groupGone
	}
	n := float64(b.N)
	b.ReportMetric(float64(interrupted.Milliseconds())/n, "ms-to-task-failed")
	b.ReportMetric(float64(cleaned.Milliseconds())/n, "ms-to-cleanup")
	b.ReportMetric(float64(returned.Milliseconds())/n, "ms-to-return")
	b.ReportMetric(float64(gone.Milliseconds())/n, "ms-to-group-gone")
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		wantGrace time.Duration
		wantErr   string
	}{
		{name: "no stop grace means the default", cfg: Config{}, wantGrace: DefaultStopGrace},
		{name: "a stop grace is kept", cfg: Config{StopGrace: 5 * time.Second}, wantGrace: 5 * time.Second},
		{name: "a binary name with = is refused: env would take it for a variable",
			cfg: Config{Binary: "/opt/a=b/ansible-playbook"}, wantErr: "a name with = is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.TempDir = t.TempDir()
			r, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.stopGrace != tt.wantGrace {
				t.Errorf("stop grace %v, want %v", r.stopGrace, tt.wantGrace)
			}
		})
	}
}

func TestRunWithoutAnsiblePlaybookIsAnErrorNotAFailedRun(t *testing.T) {
	r, err := New(Config{Binary: "/nonexistent/ansible-playbook", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	path := MustWritePlaybook(t, playHead+"    - ansible.builtin.debug: {msg: hi}\n")
	res, err := r.Run(t.Context(), runbooks.Job{Playbook: path, Timeout: time.Minute}, nil)
	if err == nil || !strings.Contains(err.Error(), "start /nonexistent/ansible-playbook") {
		t.Errorf("got %v and outcome %q, want a start error", err, res.Outcome)
	}
}
