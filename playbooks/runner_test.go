package playbooks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// Why this file is long: each test runs the real ansible-playbook through
// the Runner for one promise it makes (check mode, failures, hangs,
// progress, redaction, environment, commands), sharing MustRunner.

// MustRunner returns a Runner over this directory's playbooks, skipping
// the test without ansible-playbook (failing it when NIGHTOWL_E2E=1).
func MustRunner(tb testing.TB) *Runner {
	tb.Helper()
	testbed.MustFindBinary(tb, "Debian package ansible", DefaultBinary)
	r, err := New(Config{Dir: ".", TempDir: filepath.Join(os.TempDir(), "nightowl-ansible-test")})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// MustWritePlaybook writes a playbook into a temp dir and returns its path.
func MustWritePlaybook(tb testing.TB, body string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "play.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

const playHead = `- name: test play
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
`

// mentions says whether any task's message or diff contains s.
func mentions(tasks []runbooks.TaskResult, s string) bool {
	return slices.ContainsFunc(tasks, func(t runbooks.TaskResult) bool {
		return strings.Contains(t.Msg, s) || strings.Contains(t.Diff, s)
	})
}

func TestShippedPlaybooksSayWhatTheyWouldChangeInCheckMode(t *testing.T) {
	r := MustRunner(t)
	base := map[string]any{"namespace": "shop", "incident_id": "INC-4711", "requested_by": "U123", "run_id": "run-1"}
	tests := []struct {
		name     string
		playbook string
		vars     map[string]any
		want     []string
	}{
		{
			name:     "RB-DB-001 names the Deployment and the pool variable it would raise",
			playbook: "db-connection-pool-fix.yml",
			vars:     map[string]any{"service": "order-service", "runbook_id": "RB-DB-001", "pool_multiplier": 1.5, "max_pool": 40},
			want:     []string{"Would patch Deployment shop/order-service", "DB_POOL_SIZE", "gives 15"},
		},
		{
			name:     "RB-APP-001 names the Deployment it would restart",
			playbook: "app-restart-graceful.yml",
			vars:     map[string]any{"service": "checkout", "runbook_id": "RB-APP-001"},
			want:     []string{"Would restart Deployment shop/checkout", "restartedAt"},
		},
		{
			name:     "RB-APP-002 names the Deployment and the replicas it would scale to",
			playbook: "app-scale-horizontal.yml",
			vars:     map[string]any{"service": "checkout", "runbook_id": "RB-APP-002", "replicas": 8},
			want:     []string{"Would scale Deployment shop/checkout out to 8 replicas", "maxReplicas to 8"},
		},
		{
			name:     "RB-KAFKA-001 names the group, the topic and the reset it would run",
			playbook: "kafka-consumer-reset.yml",
			vars: map[string]any{"service": "order-consumer", "runbook_id": "RB-KAFKA-001", "consumer_group": "orders",
				"topic": "orders.v1", "reset_to": "2026-11-27T08:00:00Z", "kafka_pod": "kafka-0"},
			want: []string{"Would reset consumer group orders on topic orders.v1", "--to-datetime 2026-11-27T08:00:00.000Z", "Deployment shop/order-consumer to 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]any{}
			for k, v := range base {
				vars[k] = v
			}
			for k, v := range tt.vars {
				vars[k] = v
			}
			began := time.Now()
			res, err := r.Run(t.Context(), runbooks.Job{Playbook: tt.playbook, Vars: vars, Check: true, Timeout: 2 * time.Minute}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != runbooks.OutcomeSucceeded || res.Failed != 0 || res.ExitCode != 0 {
				t.Fatalf("outcome %s, exit %d, %d failed; output:\n%s", res.Outcome, res.ExitCode, res.Failed, res.Output)
			}
			for _, w := range tt.want {
				if !mentions(res.Tasks, w) {
					t.Errorf("no task says %q; output:\n%s", w, res.Output)
				}
			}
			for _, task := range res.Tasks {
				if strings.HasPrefix(task.Msg, "Would") {
					t.Logf("%s (%v): %s", tt.playbook, time.Since(began).Round(time.Millisecond), task.Msg)
				}
			}
		})
	}
}

func TestDemoPlaybook(t *testing.T) {
	r := MustRunner(t)
	tests := []struct {
		name        string
		check       bool
		wantChanged bool // the file's content changed
	}{
		{name: "a real run appends the incident line and reports changed", check: false, wantChanged: true},
		{name: "a check run leaves the file alone and shows the line as a diff", check: true, wantChanged: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, "nightowl-demo.log")
			if err := os.WriteFile(file, []byte("earlier line\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			job := runbooks.Job{RunID: "run-demo", Runbook: "RB-DEMO-001", Playbook: "demo-touch-file.yml", Check: tt.check, Timeout: time.Minute,
				Vars: map[string]any{"demo_dir": dir, "incident_id": "INC-2024", "service": "checkout", "requested_by": "U42"}}
			began := time.Now()
			res, err := r.Run(t.Context(), job, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("check=%v run took %v", tt.check, time.Since(began).Round(time.Millisecond))
			if res.Outcome != runbooks.OutcomeSucceeded {
				t.Fatalf("outcome %s; output:\n%s", res.Outcome, res.Output)
			}
			content, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			changed := string(content) != "earlier line\n"
			if changed != tt.wantChanged {
				t.Errorf("file changed %v, want %v; content:\n%s", changed, tt.wantChanged, content)
			}
			if tt.wantChanged && !strings.Contains(string(content), "incident=INC-2024") {
				t.Errorf("file lacks the incident id:\n%s", content)
			}
			i := slices.IndexFunc(res.Tasks, func(t runbooks.TaskResult) bool { return t.Status == runbooks.TaskChanged })
			if i < 0 || res.Changed == 0 {
				t.Fatalf("no task changed; output:\n%s", res.Output)
			}
			if d := res.Tasks[i].Diff; !strings.Contains(d, "+ ") || !strings.Contains(d, "incident=INC-2024") {
				t.Errorf("diff %q does not show the added line", d)
			}
		})
	}
}

func TestFailingPlaybookReportsTheFailedTask(t *testing.T) {
	r := MustRunner(t)
	t.Parallel()
	path := MustWritePlaybook(t, playHead+`    - name: Say hello
      ansible.builtin.debug:
        msg: hello
    - name: Give up
      ansible.builtin.fail:
        msg: the pool is on fire
    - name: Never reached
      ansible.builtin.debug:
        msg: unreachable
`)
	res, err := r.Run(t.Context(), runbooks.Job{Playbook: path, Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != runbooks.OutcomeFailed || res.ExitCode != 2 || res.Failed != 1 {
		t.Fatalf("outcome %s, exit %d, %d failed; want failed, 2, 1", res.Outcome, res.ExitCode, res.Failed)
	}
	last := res.Tasks[len(res.Tasks)-1]
	if last.Task != "Give up" || last.Status != runbooks.TaskFailed || last.Msg != "the pool is on fire" {
		t.Errorf("last task %+v", last)
	}
	if !strings.Contains(res.Output, "failed: [localhost] Give up => the pool is on fire") {
		t.Errorf("output:\n%s", res.Output)
	}
}

// hangingPlaybook runs a sleep nobody else runs: its argument is the
// marker looked for in /proc.
func hangingPlaybook(tb testing.TB) (path, marker string) {
	marker = fmt.Sprintf("300.%09d", time.Now().UnixNano()%1e9)
	return MustWritePlaybook(tb, playHead+`    - name: Say hello
      ansible.builtin.debug:
        msg: starting
    - name: Hang
      ansible.builtin.command:
        argv: [sleep, "`+marker+`"]
`), marker
}

// processes lists the pids whose command line contains marker.
func processes(marker string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(marker)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// groupMembers lists the live processes of a process group.
func groupMembers(pgid int) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// A stopped run without rescue or always sections ends as soon as its
// interrupted task has failed; TestAStoppedRunRunsItsCleanupAndLeavesNothingBehind
// has the sections and the grace.
func TestHangingPlaybookIsStoppedWithItsProcessGroup(t *testing.T) {
	r := MustRunner(t)
	tests := []struct {
		name    string
		timeout time.Duration
		cancel  bool // cancel the context once the sleep runs
		want    string
		within  time.Duration
	}{
		{name: "a job timeout stops the run, leaves no process and says timed_out", timeout: 3 * time.Second, want: runbooks.OutcomeTimedOut, within: 5 * time.Second},
		{name: "cancelling the context stops the run, leaves no process and says cancelled", timeout: time.Minute, cancel: true, want: runbooks.OutcomeCancelled, within: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, marker := hangingPlaybook(t)
			var pgid int
			rr := *r
			rr.onStart = func(pid int) { pgid = pid }
			rr.tempDir = t.TempDir()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var cancelled time.Time
			var wg sync.WaitGroup
			if tt.cancel {
				wg.Go(func() {
					testbed.WaitFor(t, 20*time.Second, "the sleep to start", func() (bool, bool) { return true, len(processes(marker)) > 0 })
					cancelled = time.Now()
					cancel()
				})
			}
			began := time.Now()
			res, err := rr.Run(ctx, runbooks.Job{Playbook: path, Timeout: tt.timeout}, nil)
			took := time.Since(began)
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			// 2: ansible-playbook exited on its own once the interrupted task failed.
			if res.Outcome != tt.want || res.ExitCode != 2 {
				t.Errorf("outcome %s, exit %d; want %s, 2; output:\n%s", res.Outcome, res.ExitCode, tt.want, res.Output)
			}
			if took > tt.within {
				t.Errorf("Run took %v, want under %v", took, tt.within)
			}
			if tt.cancel {
				t.Logf("Run returned %v after the cancel", time.Since(cancelled).Round(time.Millisecond))
				if d := time.Since(cancelled); d > 3*time.Second {
					t.Errorf("Run returned %v after the cancel, want under 3s", d)
				}
			} else {
				t.Logf("Run returned after %v with a %v timeout", took.Round(time.Millisecond), tt.timeout)
			}
			if len(res.Tasks) == 0 || res.Tasks[0].Task != "Say hello" {
				t.Errorf("the finished first task is missing: %+v", res.Tasks)
			}
			if left := processes(marker); len(left) > 0 {
				t.Errorf("sleep %s still runs: pids %v", marker, left)
			}
			if left := groupMembers(pgid); pgid == 0 || len(left) > 0 {
				t.Errorf("process group %d still has %v", pgid, left)
			}
			if strings.Contains(res.Output, "Whoops") {
				t.Errorf("output keeps go-ansible's note:\n%s", res.Output)
			}
			if left, _ := os.ReadDir(rr.tempDir); len(left) > 0 {
				t.Errorf("the killed run left %v in its temp dir", left)
			}
		})
	}
}

func TestProgressIsCalledOncePerTaskInOrderBeforeRunReturns(t *testing.T) {
	r := MustRunner(t)
	t.Parallel()
	path := MustWritePlaybook(t, playHead+`    - name: one
      ansible.builtin.debug:
        msg: "1"
    - name: two
      ansible.builtin.command: "true"
      changed_when: false
    - name: three
      ansible.builtin.debug:
        msg: "3"
      when: false
    - name: four
      ansible.builtin.set_fact:
        x: 1
`)
	var mu sync.Mutex
	var seen []runbooks.TaskResult
	returned := false
	res, err := r.Run(t.Context(), runbooks.Job{Playbook: path, Timeout: time.Minute}, func(tr runbooks.TaskResult) {
		mu.Lock()
		defer mu.Unlock()
		if returned {
			t.Errorf("progress for %s after Run returned", tr.Task)
		}
		seen = append(seen, tr)
	})
	mu.Lock()
	returned = true
	got := slices.Clone(seen)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range got {
		names = append(names, tr.Task+":"+tr.Status)
	}
	if want := []string{"one:ok", "two:ok", "three:skipped", "four:ok"}; !slices.Equal(names, want) {
		t.Errorf("progress saw %v, want %v", names, want)
	}
	if !slices.Equal(got, res.Tasks) {
		t.Errorf("progress and Result.Tasks differ:\n%+v\n%+v", got, res.Tasks)
	}
	if res.OK != 3 || res.Skipped != 1 || res.Outcome != runbooks.OutcomeSucceeded {
		t.Errorf("ok %d skipped %d outcome %s", res.OK, res.Skipped, res.Outcome)
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	r := MustRunner(t)
	t.Parallel()
	path := MustWritePlaybook(t, playHead+`    - name: Leak on purpose
      ansible.builtin.debug:
        msg: "connecting as app with {{ db_password }} and bearer {{ api_token }}"
    - name: Leak as assignments
      ansible.builtin.debug:
        msg: "password=literal-pw other_token: literal-tok"
    - name: Leak in a failure
      ansible.builtin.fail:
        msg: "login failed for {{ db_password }}"
`)
	vars := map[string]any{"db_password": "hunter2-very-secret", "api_token": "tok-abcdef-123"}
	res, err := r.Run(t.Context(), runbooks.Job{Playbook: path, Vars: vars, Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	everything := res.Output
	for _, tr := range res.Tasks {
		everything += "\n" + tr.Task + "\n" + tr.Msg + "\n" + tr.Diff
	}
	for _, secret := range []string{"hunter2-very-secret", "tok-abcdef-123", "literal-pw", "literal-tok"} {
		if strings.Contains(everything, secret) {
			t.Errorf("%q leaked:\n%s", secret, everything)
		}
	}
	if got := res.Tasks[0].Msg; got != "connecting as app with [redacted] and bearer [redacted]" {
		t.Errorf("msg %q", got)
	}
	if !strings.Contains(res.Output, "login failed for [redacted]") {
		t.Errorf("output:\n%s", res.Output)
	}
}

func TestTheChildSeesNoBotSecretsAndAUTF8Locale(t *testing.T) {
	r := MustRunner(t)
	// t.Setenv: not parallel.
	t.Setenv("NIGHTOWL_TEST_SLACK_TOKEN", "xoxb-should-not-leak")
	t.Setenv("LC_ALL", "C")
	path := MustWritePlaybook(t, playHead+`    - name: Look at the environment
      ansible.builtin.debug:
        msg: "leak=[{{ lookup('env', 'NIGHTOWL_TEST_SLACK_TOKEN') }}] lc_all={{ lookup('env', 'LC_ALL') }}"
`)
	res, err := r.Run(t.Context(), runbooks.Job{Playbook: path, Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != runbooks.OutcomeSucceeded || len(res.Tasks) != 1 {
		t.Fatalf("outcome %s; output:\n%s", res.Outcome, res.Output)
	}
	if got, want := res.Tasks[0].Msg, "leak=[] lc_all=C.UTF-8"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAHugeTaskResultIsStillRead(t *testing.T) {
	r := MustRunner(t)
	t.Parallel()
	// One JSON event of about 300 KB: go-ansible's own jsonl reader stops at 64 KiB.
	path := MustWritePlaybook(t, playHead+`    - name: Big
      ansible.builtin.debug:
        msg: "{{ 'x' * 300000 }}"
    - name: After
      ansible.builtin.debug:
        msg: done
`)
	res, err := r.Run(t.Context(), runbooks.Job{Playbook: path, Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != runbooks.OutcomeSucceeded || len(res.Tasks) != 2 || res.Tasks[1].Msg != "done" {
		t.Fatalf("outcome %s, %d tasks; output:\n%s", res.Outcome, len(res.Tasks), res.Output)
	}
	if n := len([]rune(res.Tasks[0].Msg)); n != maxMsgLen {
		t.Errorf("the big message is %d runes, want it shortened to %d", n, maxMsgLen)
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	r, err := New(Config{Dir: dir, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		job     runbooks.Job
		want    []string
		wantNot []string
	}{
		{
			name: "a check job shows check, diff, the JSON vars, the inventory and the playbook path",
			job:  runbooks.Job{Playbook: "app-restart-graceful.yml", Check: true, Vars: map[string]any{"service": "order-service"}},
			want: []string{"ansible-playbook", "--check", "--diff", `--extra-vars='{"service":"order-service"}'`,
				"--inventory=localhost,", "--connection=local", " " + filepath.Join(dir, "app-restart-graceful.yml")},
		},
		{
			name:    "a real job has no --check and a path is used as given",
			job:     runbooks.Job{Playbook: "./other/site.yml", Vars: map[string]any{"service": "x"}},
			want:    []string{" ./other/site.yml"},
			wantNot: []string{"--check", dir},
		},
		{
			name:    "secret-named vars are shown redacted",
			job:     runbooks.Job{Playbook: "p.yml", Vars: map[string]any{"db_password": "hunter2"}},
			want:    []string{`"db_password":"[redacted]"`},
			wantNot: []string{"hunter2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Command(tt.job)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s\nlacks %s", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("%s\nhas %s", got, w)
				}
			}
		})
	}
	t.Log(r.Command(tests[0].job))
}

func TestSyntaxCheck(t *testing.T) {
	r := MustRunner(t)
	shipped, err := filepath.Glob("*.yml")
	if err != nil || len(shipped) != 5 {
		t.Fatalf("want the five shipped playbooks, got %v (%v)", shipped, err)
	}
	for _, p := range shipped {
		t.Run("shipped "+p+" passes", func(t *testing.T) {
			t.Parallel()
			if err := r.SyntaxCheck(t.Context(), p); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("broken YAML fails naming the file and the YAML error", func(t *testing.T) {
		t.Parallel()
		path := MustWritePlaybook(t, playHead+"    - name: x\n      ansible.builtin.debug: {msg: [unclosed\n")
		err := r.SyntaxCheck(t.Context(), path)
		if err == nil {
			t.Fatal("no error")
		}
		t.Log(err)
		for _, w := range []string{path, "Syntax Error while loading YAML"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
	})
	t.Run("a missing playbook fails without running ansible", func(t *testing.T) {
		t.Parallel()
		if err := r.SyntaxCheck(t.Context(), "no-such.yml"); err == nil || !strings.Contains(err.Error(), "no-such.yml not found") {
			t.Errorf("got %v", err)
		}
	})
}

func TestPreflight(t *testing.T) {
	r := MustRunner(t)
	t.Parallel()
	began := time.Now()
	if err := r.Preflight(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("preflight took %v", time.Since(began).Round(time.Millisecond))

	missing, err := New(Config{Binary: "/nonexistent/ansible-playbook", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := missing.Preflight(t.Context()); err == nil || !strings.Contains(err.Error(), "/nonexistent/ansible-playbook not found") {
		t.Errorf("got %v", err)
	}
}

func TestRunRefusesAMissingPlaybook(t *testing.T) {
	r, err := New(Config{Dir: t.TempDir(), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(t.Context(), runbooks.Job{Playbook: "nope.yml"}, nil); err == nil || !strings.Contains(err.Error(), "nope.yml not found") {
		t.Errorf("got %v", err)
	}
}

// TestStartLatency measures how long Run takes to start ansible-playbook,
// and a real RB-DEMO-001 run end to end.
func TestStartLatency(t *testing.T) {
	r := MustRunner(t)
	var mu sync.Mutex
	var startedAt time.Time
	rr := *r
	rr.onStart = func(int) {
		mu.Lock()
		startedAt = time.Now()
		mu.Unlock()
	}
	var starts, totals []time.Duration
	for range 3 {
		began := time.Now()
		res, err := rr.Run(t.Context(), runbooks.Job{Playbook: "demo-touch-file.yml", Timeout: time.Minute,
			Vars: map[string]any{"demo_dir": t.TempDir(), "incident_id": "INC-1"}}, nil)
		if err != nil || res.Outcome != runbooks.OutcomeSucceeded {
			t.Fatalf("%v %s:\n%s", err, res.Outcome, res.Output)
		}
		mu.Lock()
		starts = append(starts, startedAt.Sub(began))
		mu.Unlock()
		totals = append(totals, time.Since(began))
	}
	t.Logf("Run() to ansible-playbook start: %v; RB-DEMO-001 real run: %v", starts, totals)
}

func TestAContextCancelledBeforehandStartsNothing(t *testing.T) {
	r := MustRunner(t)
	var started bool
	rr := *r
	rr.onStart = func(int) { started = true }
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := rr.Run(ctx, runbooks.Job{Playbook: "demo-touch-file.yml", Vars: map[string]any{"demo_dir": t.TempDir()}}, nil)
	if err != nil || res.Outcome != runbooks.OutcomeCancelled || started {
		t.Errorf("err %v, outcome %s, started %v; want nil, cancelled, false", err, res.Outcome, started)
	}
}
