package metrics_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerignoreKeepsWhatTheImageCopies: the build context still holds
// what the Dockerfile copies and what go:embed compiles in.
func TestDockerignoreKeepsWhatTheImageCopies(t *testing.T) {
	var ignored []string
	for _, line := range strings.Split(string(mustRead(t, "../.dockerignore")), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, strings.TrimPrefix(line, "/"))
		}
	}
	var needed []string
	for _, m := range regexp.MustCompile(`(?m)^COPY ([^-\s]\S*)`).FindAllStringSubmatch(string(mustRead(t, "../Dockerfile")), -1) {
		if m[1] != "." {
			needed = append(needed, m[1])
		}
	}
	embedded, _ := filepath.Glob("../*/*.go")
	more, _ := filepath.Glob("../*/*/*.go")
	for _, f := range append(embedded, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, m := range regexp.MustCompile(`(?m)^//go:embed (.+)$`).FindAllStringSubmatch(string(mustRead(t, f)), -1) {
			for _, p := range strings.Fields(m[1]) {
				rel, _ := filepath.Rel("..", filepath.Join(filepath.Dir(f), p))
				needed = append(needed, filepath.ToSlash(rel))
			}
		}
	}
	if len(needed) < 5 {
		t.Fatalf("found only %v to keep; has the Dockerfile changed shape?", needed)
	}
	for _, n := range needed {
		for _, pat := range ignored {
			prefix := strings.TrimPrefix(pat, "**/")
			hit, _ := filepath.Match(pat, n)
			if hit || n == pat || strings.HasPrefix(n, pat+"/") || strings.Contains("/"+n+"/", "/"+prefix+"/") {
				t.Errorf(".dockerignore's %q drops %s, which the image needs", pat, n)
			}
		}
	}
}
