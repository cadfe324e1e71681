package playbooks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apenella/go-ansible/v2/pkg/execute"
	"github.com/apenella/go-ansible/v2/pkg/execute/exec"
	"github.com/apenella/go-ansible/v2/pkg/execute/result"
)

// envBinary starts ansible-playbook with SIGALRM ignored: GNU env 8.31 or
// later (Debian 11 and later).
const envBinary = "env"

// waitDelay is how long after a kill the output may take to drain before
// the pipes are closed on it.
const waitDelay = 2 * time.Second

// maxOutputLine bounds one line of output (a JSON event can be large: a
// Kubernetes object with its diff); longer lines are cut.
const maxOutputLine = 8 << 20

// procExec is go-ansible's Executabler for one command. It puts
// ansible-playbook in its own process group, killed whole when the context
// ends (killing ansible-playbook alone leaves its workers and their
// children holding the output pipe open for the whole task), and gives it
// an environment built from an allowlist rather than the bot's own. With a
// stopper, the stopper's context ending first winds the run down and the
// context go-ansible holds only ends with the kill.
type procExec struct {
	env     func() []string
	onStart func(pid int)
	tmp     string   // the run's temp dir, removed by finish
	stop    *stopper // nil: the context ending kills at once

	mu  sync.Mutex
	cmd *groupCmd
}

func (p *procExec) Command(name string, args ...string) exec.Cmder {
	return p.CommandContext(context.Background(), name, args...)
}

func (p *procExec) CommandContext(ctx context.Context, name string, args ...string) exec.Cmder {
	var lookErr error
	if p.stop != nil {
		// With SIGALRM ignored from the start, a worker between two attempts
		// of its task ignores the stopper's SIGALRM instead of dying of it
		// (stop.go); env execs, so the pid stays ansible-playbook's. The
		// binary is looked up here, so that a missing one fails Start
		// rather than env.
		var path string
		path, lookErr = osexec.LookPath(name)
		name, args = envBinary, append([]string{"--ignore-signal=ALRM", path}, args...)
	}
	c := osexec.CommandContext(ctx, name, args...)
	if lookErr != nil {
		c.Err = lookErr
	}
	c.Env = p.env()
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return killGroup(c.Process.Pid) }
	c.WaitDelay = waitDelay
	g := &groupCmd{Cmd: c, onStart: p.onStart, tmp: p.tmp, stop: p.stop, exited: make(chan struct{})}
	p.mu.Lock()
	p.cmd = g
	p.mu.Unlock()
	return g
}

// last is the command go-ansible ran, nil if it made none.
func (p *procExec) last() *groupCmd {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd
}

// groupCmd is an *exec.Cmd that remembers whether it started and was
// waited for. Because it is not an *exec.Cmd itself, go-ansible leaves its
// environment and stdin alone (it would add os.Environ() and os.Stdin).
type groupCmd struct {
	*osexec.Cmd
	onStart func(pid int)
	tmp     string
	stop    *stopper
	exited  chan struct{}  // closed once the process has been waited for
	watcher sync.WaitGroup // the stopper's watch

	mu       sync.Mutex
	started  bool
	startErr error
	waited   bool
}

func (g *groupCmd) Start() error {
	err := g.Cmd.Start()
	g.mu.Lock()
	g.started, g.startErr = err == nil, err
	g.mu.Unlock()
	if err != nil {
		return err
	}
	if g.stop != nil {
		// Ends when the process has exited or the stop killed it; finish
		// waits for it.
		g.watcher.Go(func() { g.stop.watch(g) })
	}
	if g.onStart != nil {
		g.onStart(g.Process.Pid)
	}
	return nil
}

func (g *groupCmd) Wait() error {
	err := g.Cmd.Wait()
	g.mu.Lock()
	if !g.waited {
		g.waited = true
		close(g.exited)
	}
	g.mu.Unlock()
	return err
}

// leaderExited says whether ansible-playbook itself has exited (its
// process is a zombie or already waited for).
func (g *groupCmd) leaderExited() bool {
	g.mu.Lock()
	waited := g.waited
	g.mu.Unlock()
	if waited {
		return true
	}
	state, _, _, ok := procStat(g.Process.Pid)
	return !ok || state == 'Z' || state == 'X'
}

// finish reaps the process if go-ansible returned without waiting for it
// (it does when reading the output fails), kills whatever is left of its
// process group, removes the run's temp dir and returns the exit code: -1
// when it was killed or never started.
func (g *groupCmd) finish() int {
	defer os.RemoveAll(g.tmp)
	g.mu.Lock()
	started, waited := g.started, g.waited
	g.mu.Unlock()
	if !started {
		return -1
	}
	if !waited {
		_ = killGroup(g.Process.Pid)
		_ = g.Wait()
	}
	g.watcher.Wait()
	if !waited && g.stop != nil && g.stop.stopped != nil {
		// Killed above, whatever the watcher saw.
		g.stop.stopped.Killed = true
	}
	// Anything ansible-playbook left running in its group goes too.
	_ = killGroup(g.Process.Pid)
	return g.ProcessState.ExitCode()
}

func (g *groupCmd) signaled() bool {
	if g.ProcessState == nil {
		return false
	}
	ws, ok := g.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// passEnv are the parent's variables ansible-playbook may see: where
// programs and the home directory are, the time zone, and how the
// Kubernetes modules find the cluster (a kubeconfig path, or the in-cluster
// service variables). Tokens, keys and the rest of the bot's environment
// stay out.
var passEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "TZ", "TMPDIR",
	"KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT",
	"ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_ROLES_PATH",
}

var localeEnv = []string{"LC_ALL", "LC_CTYPE", "LANG"}

// childEnv builds ansible-playbook's environment from the parent's: the
// allowlisted variables, HOME defaulting to home, and a UTF-8 locale
// (Ansible refuses to start without one).
func childEnv(parent []string, home string) []string {
	get := func(k string) string {
		for _, kv := range parent {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	var env []string
	for _, k := range passEnv {
		if v := get(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	if get("HOME") == "" {
		env = append(env, "HOME="+home)
	}
	if get("PATH") == "" {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	// The effective character set comes from the first locale variable set.
	effective := ""
	for _, k := range localeEnv {
		if v := get(k); v != "" {
			effective = v
			break
		}
	}
	if u := strings.ToUpper(effective); strings.Contains(u, "UTF-8") || strings.Contains(u, "UTF8") {
		for _, k := range localeEnv {
			if v := get(k); v != "" {
				env = append(env, k+"="+v)
			}
		}
		return env
	}
	return append(env, "LC_ALL=C.UTF-8", "LANG=C.UTF-8")
}

// lineOutput is the ResultsOutputer for every command: it copies output
// to the writer one whole line per Write. Unlike go-ansible's readers it
// accepts long lines and non-JSON lines; after the context ends it drains
// what the killed processes left for up to waitDelay, then gives up.
type lineOutput struct{}

var _ result.ResultsOutputer = lineOutput{}

func (lineOutput) Print(ctx context.Context, r io.Reader, w io.Writer, _ ...result.OptionsFunc) error {
	lines := make(chan []byte)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	// The reader ends at EOF, when the pipe is closed under it (cmd.Wait, or
	// go-ansible's deferred Close), or once Print has returned.
	go func() {
		defer close(lines)
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := readLine(br)
			if len(line) > 0 {
				select {
				case lines <- line:
				case <-done:
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	ctxDone := ctx.Done()
	var grace <-chan time.Time
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				err := <-readErr
				if err == io.EOF || errors.Is(err, os.ErrClosed) {
					return nil
				}
				return err
			}
			if _, err := w.Write(append(line, '\n')); err != nil {
				return err
			}
		case <-ctxDone:
			ctxDone = nil
			grace = time.After(waitDelay)
		case <-grace:
			return ctx.Err()
		}
	}
}

// readLine reads one line without its newline, cutting it at maxOutputLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if room := maxOutputLine - len(line); room > 0 {
			line = append(line, chunk[:min(len(chunk), room)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

// keepOutput lets go-ansible's jsonl stdout-callback executor set the
// callback and quiet the command, but keeps lineOutput as the reader.
// go-ansible's jsonl reader stops reading at a line over 64 KiB (a 300 KB
// task result then hung the run until its timeout, with no task reported),
// and on a non-JSON line it fails, after which DefaultExecute returns
// without waiting for ansible-playbook.
type keepOutput struct{ *execute.DefaultExecute }

func (keepOutput) WithOutput(result.ResultsOutputer) {}

// envThrough hands the configuration settings to the DefaultExecute under
// the stdout-callback executor, which has no AddEnvVar of its own.
type envThrough struct {
	execute.Executor
	env *execute.DefaultExecute
}

func (e envThrough) AddEnvVar(key, value string) { e.env.AddEnvVar(key, value) }
