// Package testbed runs the real third-party processes nightowl's end-to-end
// tests (and cmd/evaluate -prometheus) use (Alertmanager, Prometheus) on
// 127.0.0.1, and fails a test instead of skipping it when NIGHTOWL_E2E=1 and
// one of them is not installed.
package testbed

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// E2EEnv makes a missing binary a failure instead of a skip; ./scripts/test sets it.
const E2EEnv = "NIGHTOWL_E2E"

// MustFindBinary returns the path of the first program found on PATH. With
// none, it skips the test, or fails it when NIGHTOWL_E2E=1.
func MustFindBinary(tb testing.TB, hint string, names ...string) string {
	tb.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("none of %v on PATH (%s)", names, hint)
	if os.Getenv(E2EEnv) == "1" {
		tb.Fatalf("%s=1 but %s", E2EEnv, msg)
	}
	tb.Skip(msg)
	return ""
}

// WaitFor polls probe until it reports done, failing the test after timeout.
func WaitFor[T any](tb testing.TB, timeout time.Duration, what string, probe func() (T, bool)) T {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, ok := probe()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreeAddr returns a 127.0.0.1 address with a port nobody listens on now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := freeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free address: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Process is a running program that the test owns: it is stopped (SIGINT,
// then SIGKILL after 5s) when the test ends, and its log is shown on failure.
type Process struct {
	URL    string
	Dir    string
	log    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// MustStart starts bin with args, logging to a file in a temp dir, and waits
// until GET url+readyPath answers 200.
func MustStart(tb testing.TB, name, url, readyPath, bin string, args ...string) *Process {
	tb.Helper()
	p, err := Start(tb.TempDir(), name, url, readyPath, bin, args...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("%s log:\n%s", name, p.Log(4000))
		}
	})
	return p
}

// Start is MustStart for programs that are not tests: it logs to a file in
// dir and waits up to 30 s for url+readyPath; the caller stops the process.
func Start(dir, name, url, readyPath, bin string, args ...string) (*Process, error) {
	p := &Process{URL: url, Dir: dir, log: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); logFile.Close(); close(p.exited) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited:\n%s", name, p.Log(4000))
		default:
		}
		if resp, err := http.Get(url + readyPath); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("gave up after 30s waiting for %s to be ready:\n%s", name, p.Log(4000))
		}
	}
}

// Stop interrupts the process and waits for it; it is safe to call twice.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Log returns the last n bytes of the process's output.
func (p *Process) Log(n int) string {
	out, _ := os.ReadFile(p.log)
	if len(out) > n {
		return "…" + string(out[len(out)-n:])
	}
	return string(out)
}
