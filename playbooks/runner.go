// Package playbooks runs runbook playbooks with ansible-playbook through
// go-ansible, streaming per-task results and killing the whole process
// group on timeout or cancel.
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
	Logger  *slog.Logger
}

// Runner runs playbooks against localhost with ansible-playbook.
type Runner struct {
	dir     string
	binary  string
	tempDir string
	log     *slog.Logger
	now     func() time.Time
	// onStart, when set, hears each ansible-playbook process start.
	onStart func(pid int)
}

// New checks the configuration and prepares the temp directory. Whether
// ansible-playbook can run is Preflight's business.
func New(cfg Config) (*Runner, error) {
	r := &Runner{dir: cfg.Dir, binary: cfg.Binary, tempDir: cfg.TempDir, log: cfg.Logger, now: time.Now}
	if r.binary == "" {
		r.binary = DefaultBinary
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
// not start.
func (r *Runner) Run(ctx context.Context, job runbooks.Job, progress func(runbooks.TaskResult)) (runbooks.Result, error) {
	res, _, err := r.run(ctx, job, progress)
	return res, err
}

func (r *Runner) run(ctx context.Context, job runbooks.Job, progress func(runbooks.TaskResult)) (runbooks.Result, snapshot, error) {
	started := r.now()
	path, err := r.resolve(job.Playbook)
	if err != nil {
		return runbooks.Result{}, snapshot{}, err
	}
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if job.Timeout > 0 {
		runCtx, cancel = context.WithTimeoutCause(ctx, job.Timeout, errJobTimeout)
	}
	defer cancel()

	rec := newRecorder(newRedactor(job.Vars), progress)
	var settings []configuration.ConfigurationSettingsFunc
	if job.Timeout > 0 {
		settings = append(settings, configuration.WithAnsibleTaskTimeout(int(math.Ceil(job.Timeout.Seconds()))))
	}
	proc, execErr := r.execute(runCtx, r.playbookCmd(path, job.Vars, job.Check, false), rec, true, settings...)
	if proc == nil {
		return runbooks.Result{}, snapshot{}, fmt.Errorf("run %s: go-ansible made no command", filepath.Base(path))
	}
	exit := proc.finish()
	if proc.startErr != nil && runCtx.Err() == nil {
		// Our own words: go-ansible's error text lists the environment.
		return runbooks.Result{}, snapshot{}, fmt.Errorf("start %s for %s: %w", r.binary, filepath.Base(path), proc.startErr)
	}

	res := runbooks.Result{ExitCode: exit, Started: started}
	switch {
	case execErr != nil && runCtx.Err() != nil && errors.Is(context.Cause(runCtx), errJobTimeout):
		res.Outcome = runbooks.OutcomeTimedOut
		rec.note(fmt.Sprintf("nightowl: timed out after %s; killed ansible-playbook's process group", job.Timeout))
	case execErr != nil && runCtx.Err() != nil:
		res.Outcome = runbooks.OutcomeCancelled
		rec.note("nightowl: cancelled; killed ansible-playbook's process group")
	case exit == 99 || proc.signaled():
		res.Outcome = runbooks.OutcomeInterrupted
		rec.note(fmt.Sprintf("nightowl: ansible-playbook was interrupted (exit %d)", exit))
	}
	snap := rec.snapshot()
	summarize(&res, snap, execErr)
	res.Ended = r.now()
	r.log.Info("playbook run ended", keyRun, job.RunID, keyRunbook, job.Runbook, keyPlaybook, path,
		"outcome", res.Outcome, "exit_code", exit, "check", job.Check, "tasks", len(res.Tasks),
		"failed", res.Failed, "changed", res.Changed, "duration", res.Ended.Sub(started))
	return res, snap, nil
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
func (r *Runner) execute(ctx context.Context, cmd execute.Commander, rec *recorder, jsonl bool, extra ...configuration.ConfigurationSettingsFunc) (*groupCmd, error) {
	// A temp dir per run, so a killed run leaves nothing behind either.
	tmp, err := os.MkdirTemp(r.tempDir, "run-")
	if err != nil {
		return nil, fmt.Errorf("ansible temp dir: %w", err)
	}
	proc := &procExec{onStart: r.onStart, tmp: tmp}
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
