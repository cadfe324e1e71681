package metrics_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/deploy/testbed"
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

// finalStage is the Dockerfile's last stage: what the image holds.
func finalStage(t *testing.T) string {
	t.Helper()
	df := string(mustRead(t, "../Dockerfile"))
	i := strings.LastIndex(df, "\nFROM ")
	if i < 0 {
		t.Fatal("the Dockerfile has no FROM")
	}
	return df[i:]
}

// TestTheImageHealthcheckAsksHealthz: HEALTHCHECK runs the binary the
// image copies with its healthcheck subcommand (the image has no curl),
// and METRICS_ADDR is set so that something answers /healthz.
func TestTheImageHealthcheckAsksHealthz(t *testing.T) {
	final := finalStage(t)
	copied := regexp.MustCompile(`(?m)^COPY --from=build \S+ (\S+)$`).FindStringSubmatch(final)
	if copied == nil {
		t.Fatal("the final stage copies no binary from the build stage")
	}
	want := fmt.Sprintf(`CMD [%q, "healthcheck"]`, copied[1])
	hc := regexp.MustCompile(`(?m)^HEALTHCHECK .*$`).FindAllString(final, -1)
	if len(hc) != 1 || !strings.HasSuffix(hc[0], want) {
		t.Errorf("HEALTHCHECK lines %q, want one ending %s", hc, want)
	}
	if !regexp.MustCompile(`(?m)^\s+METRICS_ADDR=:(\d+)`).MatchString(final) {
		t.Error("the image does not set METRICS_ADDR: its healthcheck would find nothing to ask")
	}
	if regexp.MustCompile(`install[^\n]*\s(curl|wget)\s`).MatchString(final) {
		t.Error("the final stage installs curl or wget: the healthcheck is nightowl's own")
	}
}

// TestPlaybooksNeedOnlyTheCollectionsTheImageCopies: the image has
// ansible-core and only the collections the Dockerfile copies out of
// Debian's "ansible" bundle; every shipped playbook passes
// ansible-playbook --syntax-check with exactly those (an unknown module
// fails the check), and the jsonl callback nightowl reads is among them.
func TestPlaybooksNeedOnlyTheCollectionsTheImageCopies(t *testing.T) {
	ap := testbed.MustFindBinary(t, "apt-get install ansible", "ansible-playbook")
	final := finalStage(t)
	if regexp.MustCompile(`install[^\n]*\sansible\s`).MatchString(final) || !strings.Contains(final, " ansible-core ") {
		t.Error("the final stage installs the whole ansible bundle, or no ansible-core")
	}
	const system = "/usr/lib/python3/dist-packages/ansible_collections/"
	copied := regexp.MustCompile(`cp -a `+regexp.QuoteMeta(system)+`(\w+/\w+) `).FindAllStringSubmatch(string(mustRead(t, "../Dockerfile")), -1)
	if len(copied) == 0 {
		t.Fatal("the Dockerfile copies no collection")
	}
	dir := filepath.Join(t.TempDir(), "ansible_collections")
	var names []string
	for _, c := range copied {
		names = append(names, strings.ReplaceAll(c[1], "/", "."))
		if _, err := os.Stat(system + c[1]); err != nil {
			t.Skipf("collection %s is not installed here (apt-get install ansible): %v", c[1], err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, c[1])), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(system+c[1], filepath.Join(dir, c[1])); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Contains(names, "ansible.posix") {
		t.Errorf("the image copies %v, without ansible.posix whose jsonl callback nightowl reads", names)
	}
	playbooks, _ := filepath.Glob("../playbooks/*.yml")
	if len(playbooks) < 3 {
		t.Fatalf("found only %v", playbooks)
	}
	for _, pb := range playbooks {
		cmd := exec.Command(ap, "--syntax-check", "-i", "localhost,", pb)
		cmd.Env = append(os.Environ(), "ANSIBLE_COLLECTIONS_PATH="+filepath.Dir(dir), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false",
			"ANSIBLE_LOCAL_TEMP="+t.TempDir(), "HOME="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s needs more than %v: %v\n%s", filepath.Base(pb), names, err, out)
		}
	}
}
