package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
)

// The workspace the bot serves.
const (
	chAlerts    = "C0ALERTS"
	chIncidents = "C0INCIDENTS"
	uOnCall     = "U0ONCALL"
	amBot       = "B0ALERTMGR"
	botID       = "B0NIGHTOWL" // the emulator's default for the app under test
)

// harness is one emulated Slack and one nightowl process serving it.
type harness struct {
	emu  *slackemu.Server
	hook string
	dir  string
	db   string
	log  string
	cmd  *exec.Cmd
	done chan error // the process's exit
	rss  *rssSampler
	http *http.Client
	// pprof is the bot's PPROF_ADDR, where heap profiles are taken.
	pprof string
}

// buildBot compiles ./cmd/bot of the module loadgen runs in into dir.
func buildBot(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run loadgen inside the nightowl module, or pass -bot")
	}
	bin := filepath.Join(dir, "bot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/bot")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/bot: %w\n%s", err, out)
	}
	return bin, nil
}

// startHarness starts the emulator and `bot run` against it with the
// service graph of clusters clusters, and waits for its Socket Mode
// connection.
func startHarness(ctx context.Context, bin string, clusters int, groupWait time.Duration, sampleEvery time.Duration) (*harness, error) {
	dir, err := os.MkdirTemp("", "nightowl-loadgen-")
	if err != nil {
		return nil, err
	}
	h := &harness{dir: dir, db: filepath.Join(dir, "bot.db"), log: filepath.Join(dir, "bot.log"), done: make(chan error, 1),
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	graphPath := filepath.Join(dir, "graph.yaml")
	if err := os.WriteFile(graphPath, graphYAML(clusters), 0o644); err != nil {
		return nil, err
	}
	h.emu = slackemu.New(slackemu.Config{
		Channels: []slackemu.Channel{{ID: chAlerts, Name: "alerts"}, {ID: chIncidents, Name: "incidents"}},
		Users:    []slackemu.User{{ID: uOnCall, Name: "oncall", RealName: "On Call"}},
	})
	if err := h.emu.Start(); err != nil {
		return nil, fmt.Errorf("start Slack emulator: %w", err)
	}
	h.hook = h.emu.NewWebhook(chAlerts, slackemu.WebhookOwner{AppID: "A0ALERTMGR", BotID: amBot, Name: "Alertmanager"})

	logFile, err := os.Create(h.log)
	if err != nil {
		h.close()
		return nil, err
	}
	pprofAddr, err := freeAddr()
	if err != nil {
		h.close()
		return nil, err
	}
	h.pprof = pprofAddr
	h.cmd = exec.Command(bin, "run")
	h.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + os.TempDir(),
		"SLACK_APP_TOKEN=xapp-emulator", "SLACK_BOT_TOKEN=xoxb-emulator", "SLACK_API_URL=" + h.emu.APIURL(),
		"ALERTS_CHANNEL=" + chAlerts, "INCIDENTS_CHANNEL=" + chIncidents, "ALERT_SOURCES=" + amBot, "ONCALL=" + uOnCall,
		"DB_PATH=" + h.db, "SERVICE_GRAPH=" + graphPath, "GROUP_WAIT=" + groupWait.String(), "LOG_LEVEL=warn",
		"PPROF_ADDR=" + h.pprof,
		// No runbook catalog: a card's dry run would time ansible, not nightowl.
		"RUNBOOKS_DIR=" + filepath.Join(dir, "no-runbooks"), "PLAYBOOKS_DIR=" + filepath.Join(dir, "no-playbooks"),
	}
	h.cmd.Stdout, h.cmd.Stderr = logFile, logFile
	if err := h.cmd.Start(); err != nil {
		logFile.Close()
		h.close()
		return nil, fmt.Errorf("start bot: %w", err)
	}
	go func() { h.done <- h.cmd.Wait(); logFile.Close() }()
	h.rss = startRSS(h.cmd.Process.Pid, sampleEvery)

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	connected := make(chan error, 1)
	go func() { connected <- h.emu.WaitFor(wctx, func() bool { return h.emu.Connected() > 0 }) }()
	select {
	case err := <-connected:
		if err != nil {
			h.close()
			return nil, fmt.Errorf("bot did not connect: %w\n%s", err, h.logTail())
		}
	case err := <-h.done:
		h.done <- err
		h.close()
		return nil, fmt.Errorf("bot exited at start (%v):\n%s", err, h.logTail())
	}
	return h, nil
}

// post relays one notification exactly as Alertmanager 0.25's Slack
// notifier renders it with nightowl's template, grouped by service.
func (h *harness) post(ctx context.Context, body []byte) error {
	return alertmanager.Post(ctx, h.http, h.hook, body)
}

// render is n's webhook body.
func render(n notification) ([]byte, error) {
	g := alertmanager.NewGroup("slack", []string{"namespace", "service"}, n.Alerts, "http://alertmanager.test:9093")
	return alertmanager.SlackPayload(g, alertmanager.Nightowl)
}

// exited reports whether the bot process has ended, and how.
func (h *harness) exited() (bool, error) {
	select {
	case err := <-h.done:
		h.done <- err
		return true, err
	default:
		return false, nil
	}
}

// close ends the bot with SIGTERM (SIGKILL after 20 s) and the emulator.
func (h *harness) close() {
	if h.cmd != nil && h.cmd.Process != nil {
		if gone, _ := h.exited(); !gone {
			h.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-h.done:
			case <-time.After(20 * time.Second):
				h.cmd.Process.Kill()
				<-h.done
			}
		}
	}
	if h.rss != nil {
		h.rss.stop()
	}
	if h.emu != nil {
		h.emu.Close()
	}
}

// remove deletes the temp dir.
func (h *harness) remove() { os.RemoveAll(h.dir) }

// logTail is the end of the bot's log.
func (h *harness) logTail() string {
	b, _ := os.ReadFile(h.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// rssSample is the bot's resident memory at a moment.
type rssSample struct {
	At  time.Duration `json:"at_ns"`
	RSS int64         `json:"rss_kb"`
}

// rssSampler reads /proc/<pid>/status: VmRSS every period, VmHWM (the
// peak) on demand.
type rssSampler struct {
	pid     int
	start   time.Time
	mu      sync.Mutex
	samples []rssSample
	hwm     int64
	quit    chan struct{}
	wg      sync.WaitGroup
}

func startRSS(pid int, every time.Duration) *rssSampler {
	r := &rssSampler{pid: pid, start: time.Now(), quit: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			r.sample()
			select {
			case <-r.quit:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

func (r *rssSampler) sample() {
	rss, hwm, err := procMemory(r.pid)
	if err != nil || rss == 0 {
		return // gone, or not yet running the bot
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, rssSample{At: time.Since(r.start), RSS: rss})
	r.hwm = max(r.hwm, hwm)
}

func (r *rssSampler) stop() {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	r.wg.Wait()
}

// peak is the bot's VmHWM so far, in kB, read now.
func (r *rssSampler) peak() int64 {
	r.sample()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hwm
}

func (r *rssSampler) all() []rssSample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rssSample(nil), r.samples...)
}

// procMemory reads VmRSS and VmHWM (kB) of pid.
func procMemory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			rss = kb
		case "VmHWM":
			hwm = kb
		}
	}
	return rss, hwm, sc.Err()
}

// rowWatcher polls the bot's database, read-only through the sqlite3
// program, for the highest alert row: when it reaches an alert's row, the
// alert is recorded. It is nil when sqlite3 is not installed.
type rowWatcher struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	mu   sync.Mutex
	seen []rowSample
	quit chan struct{}
	wg   sync.WaitGroup
}

type rowSample struct {
	At  time.Time
	Max int64
}

func watchRows(db string, every time.Duration) *rowWatcher {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		return nil
	}
	w := &rowWatcher{cmd: exec.Command("sqlite3", "-readonly", db), quit: make(chan struct{})}
	var err error
	if w.in, err = w.cmd.StdinPipe(); err != nil {
		return nil
	}
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		return nil
	}
	if err := w.cmd.Start(); err != nil {
		return nil
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		lines := bufio.NewScanner(out)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-w.quit:
				return
			case <-t.C:
			}
			if _, err := io.WriteString(w.in, "SELECT coalesce(max(id),0) FROM alerts;\n"); err != nil || !lines.Scan() {
				return
			}
			n, err := strconv.ParseInt(strings.TrimSpace(lines.Text()), 10, 64)
			if err != nil {
				continue // "Error: …" while the schema is created
			}
			w.mu.Lock()
			w.seen = append(w.seen, rowSample{At: time.Now(), Max: n})
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *rowWatcher) stop() []rowSample {
	if w == nil {
		return nil
	}
	close(w.quit)
	w.wg.Wait()
	w.in.Close()
	w.cmd.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

// freeAddr is a 127.0.0.1 address nothing listens on (for the bot's
// PPROF_ADDR).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// heapProfile has the bot collect its garbage and write its heap profile
// into the harness's directory as name.pb.gz, and returns the bytes of
// heap in use it reports (runtime.MemStats.HeapInuse).
func (h *harness) heapProfile(ctx context.Context, name string) (inuse int64, path string, err error) {
	get := func(query string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.pprof+"/debug/pprof/heap?"+query, nil)
		if err != nil {
			return nil, err
		}
		resp, err := h.http.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("heap profile: HTTP %d", resp.StatusCode)
		}
		return io.ReadAll(resp.Body)
	}
	raw, err := get("gc=1")
	if err != nil {
		return 0, "", err
	}
	path = filepath.Join(h.dir, name+".pb.gz")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return 0, "", err
	}
	text, err := get("debug=1")
	if err != nil {
		return 0, path, err
	}
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, "# HeapInuse = "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, path, err
		}
	}
	return 0, path, errors.New("heap profile: no HeapInuse line")
}
