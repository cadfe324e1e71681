package playbooks

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/runbooks"
)

func TestRenderDiff(t *testing.T) {
	tests := []struct {
		name string
		diff string // the diff key of a module result, as JSON
		want string
	}{
		{
			name: "an appended line shows as one added line under its file",
			diff: `{"before": "a\nb\n", "after": "a\nb\nc\n", "before_header": "f (content)", "after_header": "f (content)"}`,
			want: "f (content):\n+ c",
		},
		{
			name: "a changed line shows as removed then added",
			diff: `{"before": "x=1\ny=2\n", "after": "x=1\ny=3\n"}`,
			want: "- y=2\n+ y=3",
		},
		{
			name: "a directory to create shows its state change under its path",
			diff: `{"before": {"path": "/tmp/d", "state": "absent"}, "after": {"path": "/tmp/d", "state": "directory"}}`,
			want: "/tmp/d:\nstate: absent → directory",
		},
		{
			name: "a Kubernetes patch shows changed leaves without bookkeeping",
			diff: `{"before": {"metadata": {"resourceVersion": "1", "annotations": {}}, "spec": {"template": {"spec": {"containers": [{"env": [{"name": "DB_POOL_SIZE", "value": "10"}]}]}}}},
			        "after": {"metadata": {"resourceVersion": "2", "annotations": {"nightowl.dev/incident": "INC-1"}}, "spec": {"template": {"spec": {"containers": [{"env": [{"name": "DB_POOL_SIZE", "value": "15"}]}]}}}}}`,
			want: "- metadata.annotations: {}\n+ metadata.annotations.nightowl.dev/incident: INC-1\nspec.template.spec.containers[0].env[0].value: 10 → 15",
		},
		{
			name: "a list of diffs is rendered in order and empty entries are dropped",
			diff: `[{"before": "", "after": "new\n"}, {"before_header": "f (file attributes)", "after_header": "f (file attributes)"}]`,
			want: "+ new",
		},
		{
			name: "a prepared diff is passed through",
			diff: `{"prepared": "--- a\n+++ b\n"}`,
			want: "--- a\n+++ b",
		},
		{
			name: "no diff renders nothing",
			diff: `null`,
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.diff), &v); err != nil {
				t.Fatal(err)
			}
			if got := renderDiff(v); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRenderDiffCapsLongDiffs(t *testing.T) {
	after := strings.Repeat("line\n", 500) + "x\n"
	got := renderDiff(map[string]any{"before": "", "after": after})
	lines := strings.Split(got, "\n")
	if len(lines) != maxDiffLines+1 || !strings.HasPrefix(lines[maxDiffLines], "… ") {
		t.Errorf("got %d lines ending %q, want %d and a count", len(lines), lines[len(lines)-1], maxDiffLines+1)
	}
}

func TestRecorderTurnsEventsIntoTaskResults(t *testing.T) {
	stream := strings.Join([]string{
		`{"_event":"v2_playbook_on_play_start","play":{"name":"demo"}}`,
		`{"_event":"v2_runner_on_start","task":{"name":"first"},"hosts":{}}`,
		`{"_event":"v2_runner_on_ok","task":{"name":"first"},"hosts":{"localhost":{"changed":false,"msg":"hello"}}}`,
		`{"_event":"v2_runner_on_ok","task":{"name":"second"},"hosts":{"localhost":{"changed":true,"diff":{"before":"","after":"x\n"}}}}`,
		`[WARNING]: something printed to stdout`,
		`{"_event":"v2_runner_on_failed","task":{"name":"third"},"hosts":{"localhost":{"msg":"non-zero return code","rc":2,"stderr":"boom\n","password":"pw"}}}`,
		`{"_event":"v2_runner_on_skipped","task":{"name":"fourth"},"hosts":{"localhost":{"skip_reason":"Conditional result was False"}}}`,
		`{"_event":"v2_playbook_on_stats","stats":{"localhost":{"ok":2,"changed":1,"failures":1,"skipped":1}}}`,
		``,
		`Whoops! context canceled`,
	}, "\n") + "\n"
	var got []runbooks.TaskResult
	rec := newRecorder(newRedactor(nil), func(tr runbooks.TaskResult) { got = append(got, tr) })
	// Writes need not follow line boundaries.
	for chunk := range slices.Chunk([]byte(stream), 37) {
		if _, err := rec.Stdout().Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	want := []runbooks.TaskResult{
		{Play: "demo", Task: "first", Host: "localhost", Status: runbooks.TaskOK, Msg: "hello"},
		{Play: "demo", Task: "second", Host: "localhost", Status: runbooks.TaskChanged, Diff: "+ x"},
		{Play: "demo", Task: "third", Host: "localhost", Status: runbooks.TaskFailed, Msg: "non-zero return code; stderr: boom; rc=2"},
		{Play: "demo", Task: "fourth", Host: "localhost", Status: runbooks.TaskSkipped},
	}
	if !slices.Equal(got, want) {
		t.Errorf("progress got\n%+v\nwant\n%+v", got, want)
	}
	snap := rec.snapshot()
	if !slices.Equal(snap.tasks, want) {
		t.Errorf("tasks got %+v", snap.tasks)
	}
	if !snap.started || snap.stats["localhost"].Failures != 1 {
		t.Errorf("started %v, stats %+v", snap.started, snap.stats)
	}
	for _, s := range []string{"PLAY [demo]", "ok: [localhost] first => hello", "    + x", "[WARNING]: something printed to stdout", "RECAP localhost ok=2 changed=1"} {
		if !strings.Contains(snap.output, s) {
			t.Errorf("output lacks %q:\n%s", s, snap.output)
		}
	}
	if strings.Contains(snap.output, "Whoops") {
		t.Errorf("output keeps go-ansible's cancellation note:\n%s", snap.output)
	}
}

func TestRecorderKeepsOnlyTheTail(t *testing.T) {
	rec := newRecorder(newRedactor(nil), nil)
	for i := range 100 {
		rec.Stderr().Write([]byte(strings.Repeat("x", i) + "\n"))
	}
	if got := strings.Count(rec.snapshot().output, "\n") + 1; got != tailLines {
		t.Errorf("got %d lines, want %d", got, tailLines)
	}
}

func TestChildEnv(t *testing.T) {
	tests := []struct {
		name    string
		parent  []string
		want    []string
		wantNot []string
	}{
		{
			name:    "the bot's secrets stay out and Kubernetes settings go in",
			parent:  []string{"PATH=/bin", "HOME=/home/bot", "SLACK_BOT_TOKEN=xoxb-1", "OPENAI_API_KEY=sk", "KUBECONFIG=/k/config", "LANG=C.UTF-8"},
			want:    []string{"PATH=/bin", "HOME=/home/bot", "KUBECONFIG=/k/config", "LANG=C.UTF-8"},
			wantNot: []string{"SLACK_BOT_TOKEN=xoxb-1", "OPENAI_API_KEY=sk", "LC_ALL=C.UTF-8"},
		},
		{
			name:   "a C locale becomes C.UTF-8",
			parent: []string{"PATH=/bin", "HOME=/h", "LC_ALL=C", "LANG=en_US.UTF-8"},
			want:   []string{"LC_ALL=C.UTF-8", "LANG=C.UTF-8"},
		},
		{
			name:   "no locale at all becomes C.UTF-8",
			parent: []string{"PATH=/bin", "HOME=/h"},
			want:   []string{"LC_ALL=C.UTF-8"},
		},
		{
			name:   "no HOME falls back to the temp dir and no PATH to the usual one",
			parent: nil,
			want:   []string{"HOME=/tmp/home", "PATH=/usr/local/bin:/usr/bin:/bin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := childEnv(tt.parent, "/tmp/home")
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("env %v lacks %s", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if slices.Contains(got, w) {
					t.Errorf("env %v has %s", got, w)
				}
			}
		})
	}
}

func TestAnsibleErrorIsOneLineFromERROR(t *testing.T) {
	got := ansibleError([]string{
		"[WARNING]: Found variable using reserved name: namespace",
		"ERROR! We were unable to read either as JSON nor YAML, these are the errors we got from each:",
		"JSON: Expecting value: line 1 column 1 (char 0)",
		"",
		"Syntax Error while loading YAML.",
		"  did not find expected key",
	})
	if want := "Syntax Error while loading YAML. did not find expected key"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
