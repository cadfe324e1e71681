// Package playbooks runs runbook playbooks with ansible-playbook through
// go-ansible, streaming per-task results. A run whose context ends (a
// cancel, a shutdown, its timeout) is wound down so that the playbook's
// rescue and always sections run, within a grace, after which the whole
// process group is killed (stop.go says how and why not with SIGINT).
package playbooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apenella/go-ansible/v2/pkg/execute"
	"github.com/apenella/go-ansible/v2/pkg/execute/configuration"
	"github.com/apenella/go-ansible/v2/pkg/execute/stdoutcallback"
	"github.com/apenella/go-ansible/v2/pkg/playbook"

	"github.com/nightowl-sre/nightowl/runbooks"
)

var _ runbooks.Runner = (*Runner)(nil)

// Log keys.
const (
	keyRun      = "run"
	keyRunbook  = "runbook"
	keyPlaybook = "playbook"
)

// DefaultBinary is the ansible-playbook looked up on PATH.
const DefaultBinary = "ansible-playbook"

// Config says where playbooks and ansible-playbook are.
type Config struct {
	// Dir is PLAYBOOKS_DIR: a Job.Playbook without a slash is a file here;
	// one with a slash is a path used as given.
	Dir string
	// Binary is ansible-playbook's name or path; default "ansible-playbook"
	// from PATH.
	Binary string
	// TempDir holds a directory per run for Ansible's local and remote
	// temp files, removed when the run ends, and is the child's HOME when
	// the bot has none; default <os temp dir>/nightowl-ansible. No secrets.
	TempDir string
	// StopGrace is how long a run whose context ended (Cancel, shutdown,
	// Job.Timeout) may take to run its rescue and always sections after
	// the runner interrupted its task, before its process group is killed;
	// zero or less means DefaultStopGrace. A run can take Job.Timeout plus
	// StopGrace in all.
	StopGrace time.Duration
	Logger    *slog.Logger
}

// Runner runs playbooks against localhost with ansible-playbook.
type Runner struct {
	dir       string
	binary    string
	tempDir   string
	stopGrace time.Duration
	log       *slog.Logger
	now       func() time.Time
	// onStart, when set, hears each ansible-playbook process start.
	onStart func(pid int)
}

// New checks the configuration and prepares the temp directory. Whether
// ansible-playbook can run is Preflight's business.
func New(cfg Config) (*Runner, error) {
	r := &Runner{dir: cfg.Dir, binary: cfg.Binary, tempDir: cfg.TempDir, stopGrace: cfg.StopGrace, log: cfg.Logger, now: time.Now}
	if r.stopGrace <= 0 {
		r.stopGrace = DefaultStopGrace
	}
	if r.binary == "" {
		r.binary = DefaultBinary
	}
	if strings.ContainsRune(r.binary, '=') {
		// env, which starts it, would take it for a variable.
		return nil, fmt.Errorf("ansible-playbook binary %q: a name with = is not supported", r.binary)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("component", "playbooks")
	if r.dir != "" {
		st, err := os.Stat(r.dir)
		if err != nil {
			return nil, fmt.Errorf("playbooks dir: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("playbooks dir %s is not a directory", r.dir)
		}
	}
	if r.tempDir == "" {
		r.tempDir = filepath.Join(os.TempDir(), "nightowl-ansible")
	}
	if err := os.MkdirAll(r.tempDir, 0o700); err != nil {
		return nil, fmt.Errorf("ansible temp dir: %w", err)
	}
	return r, nil
}

// errJobTimeout is the cause of a run's context when Job.Timeout expires.
var errJobTimeout = errors.New("job timeout")

// Run runs job.Playbook against localhost with --diff (and --check when
// job.Check), calling progress once per finished task, in order, before it
// returns. progress runs on the goroutine reading ansible-playbook's
// output, so it should return quickly. A run that fails, times out or is
// cancelled returns a Result saying so; the error is for runs that could
// not start. A run whose context ends is wound down as RunReport says.
func (r *Runner) Run(ctx context.Context, job runbooks.Job, progress func(runbooks.TaskResult)) (runbooks.Result, error) {
	rep, _, err := r.run(ctx, job, progress)
	return rep.Result, err
}

// Report is a run's Result and, when its context ended while
// ansible-playbook ran, how the runner stopped it.
type Report struct {
	runbooks.Result
	// Stop is nil when the run was not stopped.
	Stop *Stop
}

// RunReport is Run, also saying how a stopped run was stopped. When ctx
// ends (or job.Timeout passes) while ansible-playbook runs, the runner
// makes the running task fail, so that the playbook's rescue and always
// sections run, and gives ansible-playbook StopGrace to exit before it
// kills the process group. The Outcome is then cancelled or timed_out
// whatever ansible-playbook's exit code, the output ends with a line
// saying what was interrupted and whether the grace ran out, and
// Report.Stop says the same as values.
func (r *Runner) RunReport(ctx context.Context, job runbooks.Job, progress func(runbooks.TaskResult)) (Report, error) {
	rep, _, err := r.run(ctx, job, progress)
	return rep, err
}

func (r *Runner) run(ctx context.Context, job runbooks.Job, progress func(runbooks.TaskResult)) (Report, snapshot, error) {
	started := r.now()
	path, err := r.resolve(job.Playbook)
	if err != nil {
		return Report{}, snapshot{}, err
	}
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if job.Timeout > 0 {
		runCtx, cancel = context.WithTimeoutCause(ctx, job.Timeout, errJobTimeout)
	}
	defer cancel()
	rec := newRecorder(newRedactor(job.Vars), progress)
	if runCtx.Err() != nil {
		rec.note("nightowl: " + stopReason(runCtx) + " before ansible-playbook started")
		res := runbooks.Result{Outcome: stopReason(runCtx), ExitCode: -1, Started: started, Ended: r.now()}
		res.Output = rec.snapshot().output
		return Report{Result: res}, snapshot{}, nil
	}

	// go-ansible's context ends only with the kill; the stopper watches
	// the run's context and winds the run down first.
	killCtx, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	grace := r.stopGrace
	if job.StopGrace > 0 {
		grace = job.StopGrace // the job's own grace (RUNBOOK_STOP_GRACE) over the runner's default
	}
	stop := &stopper{ctx: runCtx, grace: grace, rec: rec, kill: kill, now: r.now}
	// The stopper interrupts tasks through Ansible's task timeout, so there
	// always is one.
	taskTimeout := noTaskTimeout
	if job.Timeout > 0 {
		taskTimeout = job.Timeout
	}
	proc, execErr := r.execute(killCtx, r.playbookCmd(path, job.Vars, job.Check, false), rec, true, stop,
		configuration.WithAnsibleTaskTimeout(int(math.Ceil(taskTimeout.Seconds()))))
	if proc == nil {
		return Report{}, snapshot{}, fmt.Errorf("run %s: go-ansible made no command", filepath.Base(path))
	}
	exit := proc.finish()
	if proc.startErr != nil {
		// Our own words: go-ansible's error text lists the environment.
		return Report{}, snapshot{}, fmt.Errorf("start %s for %s: %w", r.binary, filepath.Base(path), proc.startErr)
	}

	rep := Report{Result: runbooks.Result{ExitCode: exit, Started: started}, Stop: stop.stopped}
	switch {
	case rep.Stop != nil:
		rep.Outcome = rep.Stop.Reason
		rec.note(rep.Stop.note(job.Timeout))
	case exit == 99 || proc.signaled():
		rep.Outcome = runbooks.OutcomeInterrupted
		rec.note(fmt.Sprintf("nightowl: ansible-playbook was interrupted (exit %d)", exit))
	}
	snap := rec.snapshot()
	summarize(&rep.Result, snap, execErr)
	rep.Ended = r.now()
	attrs := []any{keyRun, job.RunID, keyRunbook, job.Runbook, keyPlaybook, path,
		"outcome", rep.Outcome, "exit_code", exit, "check", job.Check, "tasks", len(rep.Tasks),
		"failed", rep.Failed, "changed", rep.Changed, "duration", rep.Ended.Sub(started)}
	if s := rep.Stop; s != nil {
		attrs = append(attrs, "interrupted", s.Interrupted, "wind_down", s.Exited.Sub(s.Requested), "killed", s.Killed)
	}
	r.log.Info("playbook run ended", attrs...)
	return rep, snap, nil
}

// summarize fills in the tasks, their counts and the output, and decides
// the outcome of a run that was neither stopped nor interrupted: failed on
// a non-zero exit, a failed host or output we could not read.
func summarize(res *runbooks.Result, snap snapshot, execErr error) {
	res.Tasks = snap.tasks
	res.Output = snap.output
	for _, t := range res.Tasks {
		switch t.Status {
		case runbooks.TaskOK:
			res.OK++
		case runbooks.TaskChanged:
			res.Changed++
		case runbooks.TaskFailed:
			res.Failed++
		case runbooks.TaskSkipped:
			res.Skipped++
		case runbooks.TaskUnreachable:
			res.Unreachable++
		}
	}
	if res.Outcome != "" {
		return
	}
	res.Outcome = runbooks.OutcomeSucceeded
	// Exit 0 without a recap means the output was not what we expect.
	if res.ExitCode != 0 || execErr != nil || snap.stats == nil || hostsFailed(snap, *res) {
		res.Outcome = runbooks.OutcomeFailed
	}
}

// hostsFailed reads Ansible's recap when there is one (it leaves out
// failures a task chose to ignore), the task list otherwise.
func hostsFailed(snap snapshot, res runbooks.Result) bool {
	if snap.stats == nil {
		return res.Failed > 0 || res.Unreachable > 0
	}
	for _, s := range snap.stats {
		if s.Failures > 0 || s.Unreachable > 0 {
			return true
		}
	}
	return false
}

// Command is the command an engineer would type to do what Run does (the
// output format aside), paths as given and secret-named variables shown as
// [redacted].
func (r *Runner) Command(job runbooks.Job) string {
	return r.playbookCmd(r.path(job.Playbook), redactVars(job.Vars), job.Check, false).String()
}

// path places a bare file name in Dir and leaves paths alone.
func (r *Runner) path(p string) string {
	if r.dir == "" || strings.ContainsRune(p, filepath.Separator) {
		return p
	}
	return filepath.Join(r.dir, p)
}

func (r *Runner) resolve(p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", errors.New("no playbook given")
	}
	path := r.path(p)
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return "", fmt.Errorf("playbook %s not found", path)
	case st.IsDir():
		return "", fmt.Errorf("playbook %s is a directory", path)
	}
	return path, nil
}

// playbookCmd is the ansible-playbook command line for one playbook,
// always against localhost over the local connection. --diff is on for
// real runs too, so the record says what changed.
func (r *Runner) playbookCmd(path string, vars map[string]any, check, syntaxOnly bool) *playbook.AnsiblePlaybookCmd {
	opts := &playbook.AnsiblePlaybookOptions{
		Inventory:   "localhost,",
		Connection:  "local",
		Check:       check,
		Diff:        !syntaxOnly,
		SyntaxCheck: syntaxOnly,
	}
	if len(vars) > 0 {
		opts.ExtraVars = vars
	}
	return playbook.NewAnsiblePlaybookCmd(
		playbook.WithBinary(r.binary),
		playbook.WithPlaybooks(path),
		playbook.WithPlaybookOptions(opts),
	)
}

// execute runs one command through go-ansible, with the JSON-lines stdout
// callback when jsonl, and returns the process it ran (nil if none); the
// caller must finish it.
// go-ansible's error may quote the command and environment: callers only
// test it against nil.
// A non-nil stop winds the run down when its own context ends; ctx should
// then end only with the kill.
func (r *Runner) execute(ctx context.Context, cmd execute.Commander, rec *recorder, jsonl bool, stop *stopper, extra ...configuration.ConfigurationSettingsFunc) (*groupCmd, error) {
	// A temp dir per run, so a killed run leaves nothing behind either.
	tmp, err := os.MkdirTemp(r.tempDir, "run-")
	if err != nil {
		return nil, fmt.Errorf("ansible temp dir: %w", err)
	}
	proc := &procExec{onStart: r.onStart, tmp: tmp, stop: stop}
	de := execute.NewDefaultExecute(
		execute.WithCmd(cmd),
		execute.WithExecutable(proc),
		execute.WithOutput(lineOutput{}),
		execute.WithWrite(rec.Stdout()),
		execute.WithWriteError(rec.Stderr()),
	)
	proc.env = func() []string { return append(childEnv(os.Environ(), r.tempDir), de.EnvVars.Environ()...) }
	// No go-ansible helper exists for the remote temp; with the local
	// connection it is a directory here too and must be writable.
	de.AddEnvVar("ANSIBLE_REMOTE_TEMP", tmp)

	var inner configuration.ExecutorEnvVarSetter = de
	if jsonl {
		inner = envThrough{Executor: stdoutcallback.NewAnsiblePosixJsonlStdoutCallbackExecute(keepOutput{de}), env: de}
	}
	settings := append([]configuration.ConfigurationSettingsFunc{
		configuration.WithNoColor(),
		configuration.WithoutAnsibleHostKeyChecking(),
		configuration.WithAnsibleLocalTemp(tmp),
		configuration.WithAnsiblePythonInterpreter("auto_silent"),
		configuration.WithoutAnsibleLocalhostWarning(),
		configuration.WithAnsibleRetryFilesEnabled("false"),
	}, extra...)
	err = configuration.NewAnsibleWithConfigurationSettingsExecute(inner, settings...).Execute(ctx)
	if proc.last() == nil {
		_ = os.RemoveAll(tmp)
	}
	return proc.last(), err
}
