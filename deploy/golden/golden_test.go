package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.failed, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// mustRecord runs check against a recorder, with -update set as told, and
// returns what it recorded.
func mustRecord(t *testing.T, updating bool, check func(tb testing.TB)) *recorder {
	t.Helper()
	was := *update
	*update = updating
	defer func() { *update = was }()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	return r
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAssert(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		file     string // "" for no file
		got      string
		updating bool
		fails    string // what the failure says; "" to pass
		after    string // the file afterwards
	}{
		{"the same bytes pass", "a\nb\n", "a\nb\n", false, "", "a\nb\n"},
		{"a different line fails and is shown", "a\nb\n", "a\nc\n", false, "-   2  b\n+   2  c", "a\nb\n"},
		{"a missing trailing newline fails", "a\n", "a", false, "differs", "a\n"},
		{"a missing file fails and says how to write it", "", "a\n", false, "go test -update writes it", ""},
		{"-update writes what the test rendered, and it passes", "old\n", "new\n", true, "", "new\n"},
		{"-update creates a missing file", "", "new\n", true, "", "new\n"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprint(i), "x.golden")
			if tt.file != "" {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				mustWrite(t, path, tt.file)
			}
			r := mustRecord(t, tt.updating, func(tb testing.TB) { Assert(tb, path, []byte(tt.got)) })
			switch {
			case tt.fails == "" && r.failed:
				t.Errorf("failed: %s", r.msg)
			case tt.fails != "" && (!r.failed || !strings.Contains(r.msg, tt.fails)):
				t.Errorf("got failed=%v %q, want a failure saying %q", r.failed, r.msg, tt.fails)
			}
			after, _ := os.ReadFile(path)
			if string(after) != tt.after {
				t.Errorf("the file holds %q afterwards, want %q", after, tt.after)
			}
		})
	}
}

func TestAssertJSONComparesNormalisedJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	mustWrite(t, path, "{\n  \"b\": 1,\n  \"a\": [\n    \"<x>\"\n  ]\n}\n")
	tests := []struct {
		name, got string
		fails     string
	}{
		{"the same value spaced otherwise passes", `{"b":1, "a":["<x>"]}`, ""},
		{"keys in another order fail", `{"a":["<x>"],"b":1}`, "differs"},
		{"another value fails", `{"b":2,"a":["<x>"]}`, `+   2    "b": 2,`},
		{"what is not JSON fails", `{"b":`, "is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRecord(t, false, func(tb testing.TB) { AssertJSON(tb, path, []byte(tt.got)) })
			switch {
			case tt.fails == "" && r.failed:
				t.Errorf("failed: %s", r.msg)
			case tt.fails != "" && (!r.failed || !strings.Contains(r.msg, tt.fails)):
				t.Errorf("got failed=%v %q, want a failure saying %q", r.failed, r.msg, tt.fails)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name, want, got, diff string
	}{
		{"equal texts have no diff", "a\nb", "a\nb", ""},
		{"an inserted line is the only one shown", "a\nb\nc", "a\nx\nb\nc", "+   2  x\n"},
		{"a removed line is the only one shown", "a\nb\nc", "a\nc", "-   2  b\n"},
		{"a changed line shows both", "a\nb\nc", "a\nB\nc", "-   2  b\n+   2  B\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff(tt.want, tt.got); got != tt.diff {
				t.Errorf("Diff = %q, want %q", got, tt.diff)
			}
		})
	}
	t.Run("a long diff is cut", func(t *testing.T) {
		got := Diff(strings.Repeat("a\n", 100), strings.Repeat("b\n", 100))
		if n := strings.Count(got, "\n"); n != maxDiffLines+1 || !strings.HasSuffix(got, "…\n") {
			t.Errorf("%d lines, want %d and an ellipsis:\n%s", n, maxDiffLines+1, got)
		}
	})
}
