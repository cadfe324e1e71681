package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/nightowl-sre/nightowl/"

// mustImports lists, for every package of the module (by its path inside
// the module), the packages it imports.
func mustImports(tb testing.TB) map[string][]string {
	tb.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, mod+"...").Output()
	if err != nil {
		tb.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		imports[strings.TrimPrefix(fields[0], mod)] = fields[1:]
	}
	return imports
}

// TestImportsPointDown guards the layout of ../shared STYLE: each
// third-party library lives in one package, domain packages import no
// adapter, and only cmd/bot wires adapters together.
func TestImportsPointDown(t *testing.T) {
	// library (prefix) → the packages allowed to import it
	owners := map[string][]string{
		"github.com/slack-go/slack":           {"bot", "bot/slackemu", "cmd/bot"},
		"github.com/gorilla/websocket":        {"bot/slackemu"},
		"github.com/prometheus/client_golang": {"diagnosis/prom", "metrics"},
		"github.com/prometheus/common":        {"diagnosis/prom"},
		"github.com/tmc/langchaingo":          {"diagnosis/llm"},
		"github.com/apenella/go-ansible":      {"playbooks"},
		"modernc.org/sqlite":                  {"store"},
		"github.com/benbjohnson/litestream":   {"store/replica"},
		"k8s.io/client-go":                    {"deploy/lease", "deploy/lease/leasetest"},
		"k8s.io/api":                          {"deploy/lease", "deploy/lease/leasetest"},
		"k8s.io/apimachinery":                 {"deploy/lease", "deploy/lease/leasetest"},
		mod + "store\x00":                     {"cmd/bot"},
		mod + "store/replica":                 {"cmd/bot"},
		mod + "deploy/lease":                  {"cmd/bot"},
		mod + "playbooks":                     {"cmd/bot"},
		mod + "diagnosis/prom":                {"cmd/bot", "cmd/evaluate"},
		mod + "diagnosis/llm":                 {"cmd/bot"},
		mod + "diagnosis/intake":              {"cmd/bot"},
		mod + "bot/slackemu":                  {"cmd/bot", "cmd/loadgen"},
		mod + "deploy/alertmanager":           {"cmd/bot", "cmd/loadgen"},
		mod + "deploy/pagerduty\x00":          {"cmd/bot"},
		mod + "deploy/testbed":                {"cmd/evaluate"}, // evaluate -prometheus serves hand-written metrics
		mod + "deploy/golden":                 {},
		mod + "diagnosis/scenarios/bench":     {"cmd/evaluate"},
		mod + "bot\x00":                       {"cmd/bot"}, // the bot package itself (exact match)
		mod + "commands\x00":                  {"bot", "cmd/bot"},
		mod + "commands/picture":              {"commands", "cmd/bot"},
		"gonum.org/v1/plot":                   {"commands/picture"},
	}
	for pkg, imports := range mustImports(t) {
		for _, imp := range imports {
			for lib, allowed := range owners {
				exact := strings.HasSuffix(lib, "\x00")
				lib := strings.TrimSuffix(lib, "\x00")
				match := imp == lib || (!exact && strings.HasPrefix(imp, lib+"/"))
				if !match || imp == mod+pkg {
					continue
				}
				if !slices.Contains(allowed, pkg) {
					t.Errorf("%s imports %s; only %v may", pkg, imp, allowed)
				}
			}
		}
	}
}

// The layers, bottom first: bot → commands → runbooks → diagnosis/oncall →
// diagnosis → diagnosis/graph. The first four are the domain.
var (
	layers = []string{"diagnosis/graph", "diagnosis", "diagnosis/oncall", "runbooks", "commands", "bot"}
	domain = layers[:4]
	// adapters and the domain packages each serves.
	adapters = map[string][]string{
		"store":               {"diagnosis", "diagnosis/oncall", "runbooks"},
		"playbooks":           {"runbooks"},
		"diagnosis/prom":      {"diagnosis"},
		"diagnosis/llm":       {"diagnosis"},
		"diagnosis/intake":    {"diagnosis"},
		"diagnosis/replay":    {"diagnosis"}, // alert history replayed through diagnosis.Live on a simulated clock
		"deploy/alertmanager": {"diagnosis"},
		"bot/slackemu":        {},
		"commands/picture":    {},
		"metrics":             {}, // nightowl_* instruments and /metrics, /healthz, /readyz
		"store/replica":       {}, // Litestream: the database streamed to a replica, restored from it
		"deploy/lease":        {}, // client-go: a coordination.k8s.io Lease elects the replica that speaks
		"deploy/pagerduty":    {}, // PagerDuty's Events API v2
	}
	// wiring builds programs out of everything; support feeds tests and
	// the evaluation (scenarios, a real Alertmanager and Prometheus, golden
	// files).
	wiring  = []string{"cmd/bot", "cmd/evaluate", "cmd/loadgen"}
	support = []string{"diagnosis/scenarios", "diagnosis/oncall/oncalltest", "diagnosis/scenarios/bench", "diagnosis/scenarios/synth", "deploy/testbed", "deploy/golden", "deploy/lease/leasetest", "deploy/pagerduty/pdtest"}
)

// TestEveryPackageHasAPlace makes a new package choose: a layer, an
// adapter (and the domain it serves), wiring or test support.
func TestEveryPackageHasAPlace(t *testing.T) {
	for pkg := range mustImports(t) {
		_, adapter := adapters[pkg]
		if !adapter && !slices.Contains(layers, pkg) && !slices.Contains(wiring, pkg) && !slices.Contains(support, pkg) {
			t.Errorf("package %s is in no layer, no adapter, no wiring and no support list of architecture_test.go", pkg)
		}
	}
}

// TestLayersImportOnlyLayersBelow: imports point down, and domain packages
// import only the standard library, the YAML decoder (the files they own
// are YAML) and lower domain packages.
func TestLayersImportOnlyLayersBelow(t *testing.T) {
	all := mustImports(t)
	for rank, pkg := range layers {
		for _, imp := range all[pkg] {
			inner, ours := strings.CutPrefix(imp, mod)
			switch below := slices.Index(layers, inner); {
			case ours && below >= 0 && below >= rank:
				t.Errorf("%s imports %s, which is not below it (%s)", pkg, inner, strings.Join(layers, " < "))
			case ours && below < 0 && slices.Contains(domain, pkg):
				t.Errorf("domain package %s imports %s, which is no domain package", pkg, inner)
			case !ours && slices.Contains(domain, pkg) && !stdlib(imp) && imp != "gopkg.in/yaml.v3":
				t.Errorf("domain package %s imports %s: the domain imports only the standard library and gopkg.in/yaml.v3", pkg, imp)
			}
		}
	}
}

// TestAdaptersImportOnlyTheDomainTheyServe: an adapter imports the domain
// packages it serves and never another adapter.
func TestAdaptersImportOnlyTheDomainTheyServe(t *testing.T) {
	all := mustImports(t)
	for pkg, serves := range adapters {
		for _, imp := range all[pkg] {
			if inner, ours := strings.CutPrefix(imp, mod); ours && !slices.Contains(serves, inner) {
				t.Errorf("adapter %s imports %s; it serves only %v", pkg, inner, serves)
			}
		}
	}
}

// stdlib reports whether an import path belongs to the standard library:
// its first element has no dot.
func stdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestOnlyCmdBotImportsTheBot: the bot speaks Slack for nightowl and
// nothing depends on it; cmd/bot builds it last, from what the others
// built (tests included: no package's tests reach into the bot either).
func TestOnlyCmdBotImportsTheBot(t *testing.T) {
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`,
		mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const bot = mod + "bot"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		if pkg == bot || pkg == mod+"cmd/bot" {
			continue
		}
		for _, imp := range fields[1:] {
			if imp == bot {
				t.Errorf("%s imports %s; only cmd/bot may", pkg, bot)
			}
		}
	}
}

// TestNothingIsSetAfterConstruction: collaborators are constructor
// dependencies, never plugged in later (no Use… setters), so that a type
// is whole once New returns.
func TestNothingIsSetAfterConstruction(t *testing.T) {
	setter := regexp.MustCompile(`^Use[A-Z]`)
	forEachGoFile(t, func(path string, f *ast.File, _ *token.FileSet, _ []byte) {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && fn.Recv != nil && setter.MatchString(fn.Name.Name) {
				t.Errorf("%s: method %s plugs a collaborator in after construction; make it a constructor dependency", path, fn.Name.Name)
			}
		}
	})
}

// TestLongFilesSayWhy: a file over 500 lines usually hides a second
// responsibility (../shared STYLE); one that does not says why it is long
// in a comment starting "Why this file is long:".
func TestLongFilesSayWhy(t *testing.T) {
	const most = 500
	forEachGoFile(t, func(path string, _ *ast.File, _ *token.FileSet, src []byte) {
		if n := strings.Count(string(src), "\n"); n > most && !strings.Contains(string(src), "// Why this file is long:") {
			t.Errorf("%s has %d lines and no comment saying why (// Why this file is long: …)", path, n)
		}
	})
}

// TestGoldenFilesHaveOneUpdateFlag: every golden file is compared by
// deploy/golden, whose -update rewrites them all; no test declares its own.
func TestGoldenFilesHaveOneUpdateFlag(t *testing.T) {
	forEachCall(t, func(path string, pkg, fn string, call *ast.CallExpr) {
		if pkg != "flag" || !strings.HasPrefix(fn, "Bool") || path == filepath.Join("deploy", "golden", "golden.go") {
			return
		}
		for _, arg := range call.Args {
			if lit, ok := arg.(*ast.BasicLit); ok && lit.Value == `"update"` {
				t.Errorf("%s declares its own -update flag; compare golden files with deploy/golden", path)
			}
		}
	})
}

// TestTestsFindRealToolsThroughTestbed: a test that needs a real program
// (alertmanager, prometheus, promtool, ansible-playbook, sqlite3) finds it
// with testbed.MustFindBinary, which skips without it but fails under
// NIGHTOWL_E2E=1 (./scripts/test), so that no end-to-end test is skipped
// silently where it should run.
func TestTestsFindRealToolsThroughTestbed(t *testing.T) {
	forEachCall(t, func(path string, pkg, fn string, _ *ast.CallExpr) {
		if pkg == "exec" && fn == "LookPath" && strings.HasSuffix(path, "_test.go") {
			t.Errorf("%s looks a program up with exec.LookPath; use testbed.MustFindBinary", path)
		}
	})
}

// forEachCall visits every call of a package-level function (pkg.Fn) in
// the module's Go files.
func forEachCall(t *testing.T, visit func(path string, pkg, fn string, call *ast.CallExpr)) {
	t.Helper()
	forEachGoFile(t, func(path string, f *ast.File, _ *token.FileSet, _ []byte) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok {
					visit(path, x.Name, sel.Sel.Name, call)
				}
			}
			return true
		})
	})
}

// forEachGoFile parses every Go file of the module, comments included.
func forEachGoFile(t *testing.T, visit func(path string, f *ast.File, fset *token.FileSet, src []byte)) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		visit(rel, f, fset, src)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
