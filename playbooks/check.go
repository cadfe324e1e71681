package playbooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/runbooks"
)

// SyntaxCheck runs ansible-playbook --syntax-check on a playbook (a bare
// file name in Dir, or a path). The error names the file and carries
// Ansible's message.
func (r *Runner) SyntaxCheck(ctx context.Context, playbook string) error {
	path, err := r.resolve(playbook)
	if err != nil {
		return fmt.Errorf("syntax check: %w", err)
	}
	rec := newRecorder(&redactor{}, nil)
	proc, execErr := r.execute(ctx, r.playbookCmd(path, nil, false, true), rec, false, nil)
	if proc == nil {
		return fmt.Errorf("syntax check of %s: go-ansible made no command", path)
	}
	exit := proc.finish()
	switch {
	case proc.startErr != nil:
		return fmt.Errorf("syntax check of %s: start %s: %w", path, r.binary, proc.startErr)
	case ctx.Err() != nil:
		return fmt.Errorf("syntax check of %s: %w", path, ctx.Err())
	case execErr == nil && exit == 0:
		return nil
	}
	return fmt.Errorf("syntax check of %s failed (exit %d): %s", path, exit, ansibleError(rec.snapshot().stderr))
}

var spaces = regexp.MustCompile(`\s+`)

// ansibleError is Ansible's error message from its standard error, on one
// line: from the first "ERROR!" on, warnings left out.
func ansibleError(stderr []string) string {
	start := -1
	for i, l := range stderr {
		if strings.HasPrefix(strings.TrimSpace(l), "ERROR!") {
			start = i
			break
		}
	}
	var lines []string
	if start >= 0 {
		lines = stderr[start:]
	} else {
		for _, l := range stderr {
			if !strings.HasPrefix(l, "[WARNING]") && !strings.HasPrefix(l, "[DEPRECATION WARNING]") {
				lines = append(lines, l)
			}
		}
	}
	msg := strings.TrimSpace(spaces.ReplaceAllString(strings.Join(lines, " "), " "))
	if msg == "" {
		return "ansible-playbook printed no error"
	}
	msg = strings.TrimPrefix(msg, "ERROR! ")
	// Ansible tries JSON first; the YAML complaint is the useful half.
	if i := strings.Index(msg, "Syntax Error while loading YAML."); i > 0 {
		msg = msg[i:]
	}
	return runbooks.Truncate(msg, 600)
}

// preflightPlay is the smallest play: it loads the stdout callback and
// touches the temp directory without connecting anywhere.
const preflightPlay = `- name: nightowl preflight
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.debug:
        msg: preflight
`

// Preflight checks that ansible-playbook is on PATH and runs, and that the
// ansible.posix.jsonl stdout callback Run depends on is installed, by
// running a one-task play the way Run does. It returns one error saying
// what to fix.
func (r *Runner) Preflight(ctx context.Context) error {
	if _, err := exec.LookPath(r.binary); err != nil {
		return fmt.Errorf("preflight: %s not found; install Ansible (Debian package ansible) or set its path", r.binary)
	}
	dir, err := os.MkdirTemp(r.tempDir, "preflight-")
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "preflight.yml")
	if err := os.WriteFile(path, []byte(preflightPlay), 0o600); err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	res, snap, err := r.run(ctx, runbooks.Job{RunID: "preflight", Playbook: path, Timeout: time.Minute}, nil)
	switch {
	case err != nil:
		return fmt.Errorf("preflight: %w", err)
	case res.Outcome == runbooks.OutcomeSucceeded && len(res.Tasks) == 1:
		return nil
	case res.Outcome == runbooks.OutcomeCancelled:
		return fmt.Errorf("preflight: %w", context.Cause(ctx))
	case res.Outcome == runbooks.OutcomeTimedOut:
		return errors.New("preflight: ansible-playbook did not finish a one-task play within a minute")
	}
	msg := ansibleError(snap.stderr)
	if strings.Contains(msg, "ignore-signal") {
		return errors.New("preflight: env does not know --ignore-signal, which Run starts ansible-playbook with; install GNU coreutils 8.31 or later")
	}
	if strings.Contains(msg, "Invalid callback for stdout") {
		return errors.New("preflight: the ansible.posix.jsonl stdout callback is missing; install the ansible.posix collection " +
			"(Debian package ansible, or ansible-galaxy collection install ansible.posix)")
	}
	if len(res.Tasks) == 0 && res.ExitCode == 0 {
		msg = "no task results came back through the ansible.posix.jsonl callback"
	}
	return fmt.Errorf("preflight: %s does not run a play (exit %d): %s", r.binary, res.ExitCode, msg)
}
