// Package golden owns nightowl's golden files: it compares what a test
// rendered (Block Kit JSON, transcripts, Alertmanager payloads, picture
// layouts, command output) with a file kept in the test's testdata, and
// rewrites those files when the tests run with -update, so that a change in
// what nightowl renders is reviewed as a diff of the files, not of Go.
//
//	go test ./bot/ -run TestCardGolden -update   # rewrite, then: git diff bot/testdata
//
// It is test support, like deploy/testbed beside it: only _test.go files
// import it (architecture_test.go holds every other package to that), which
// is why the one -update flag can live here, registered once for every test
// binary that compares golden files.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files with what the tests render (review them with git diff)")

// Updating reports whether the tests run with -update, for the few files a
// test writes without comparing them (deploy/alertmanager's captures of a
// real Alertmanager's posts).
func Updating() bool { return *update }

// Assert fails the test unless got is, byte for byte, the golden file at
// path. With -update it writes got there first (creating its directory).
func Assert(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from what the test rendered (go test -update rewrites it; review the change with git diff):\n%s",
			path, Diff(string(want), string(got)))
	}
}

// AssertJSON is Assert for JSON: got is normalised first (indented by two
// spaces, ending in one newline; keys keep their order), so that the file
// reads well in a review and the comparison does not depend on how the
// JSON was spaced. Anything but one JSON value fails the test.
func AssertJSON(tb testing.TB, path string, got []byte) {
	tb.Helper()
	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, got); err != nil {
		tb.Fatalf("%s: what the test rendered is not JSON: %v\n%s", path, err, got)
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		tb.Fatal(err)
	}
	indented.WriteByte('\n')
	Assert(tb, path, indented.Bytes())
}

// Diff shows how got differs from want, line by line: "-" lines are only
// in want, "+" lines only in got, each with its line number, at most
// maxDiffLines of them.
func Diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	emit := func(sign byte, n int, line string) {
		if shown == maxDiffLines {
			b.WriteString("…\n")
		}
		if shown < maxDiffLines {
			fmt.Fprintf(&b, "%c%4d  %s\n", sign, n, line)
		}
		shown++
	}
	if len(w)*len(g) > maxDiffCells { // too big to align: compare line by line
		for i := range max(len(w), len(g)) {
			switch {
			case i >= len(w):
				emit('+', i+1, g[i])
			case i >= len(g):
				emit('-', i+1, w[i])
			case w[i] != g[i]:
				emit('-', i+1, w[i])
				emit('+', i+1, g[i])
			}
		}
		return b.String()
	}
	// lcs[i][j] is the length of the longest common subsequence of w[i:]
	// and g[j:]; walking it forwards gives the shortest edit.
	lcs := make([][]int32, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case i < len(w) && (j == len(g) || lcs[i+1][j] >= lcs[i][j+1]):
			emit('-', i+1, w[i])
			i++
		default:
			emit('+', j+1, g[j])
			j++
		}
	}
	return b.String()
}

const (
	maxDiffLines = 40
	maxDiffCells = 4_000_000 // lines of want × lines of got worth aligning
)
