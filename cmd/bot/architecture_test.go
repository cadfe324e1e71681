package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsPointDown guards the layout of ../shared STYLE: each
// third-party library lives in one package, domain packages import no
// adapter, and only cmd/bot wires adapters together.
func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/nightowl-sre/nightowl/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/nightowl-sre/nightowl/"
	// library (prefix) → the packages allowed to import it
	owners := map[string][]string{
		"github.com/slack-go/slack":           {"bot", "bot/slackemu", "cmd/bot"},
		"github.com/gorilla/websocket":        {"bot/slackemu"},
		"github.com/prometheus/client_golang": {"diagnosis/prom"},
		"github.com/prometheus/common":        {"diagnosis/prom"},
		"github.com/tmc/langchaingo":          {"diagnosis/llm"},
		"github.com/apenella/go-ansible":      {"playbooks"},
		"modernc.org/sqlite":                  {"store"},
		mod + "store":                         {"cmd/bot"},
		mod + "playbooks":                     {"cmd/bot"},
		mod + "diagnosis/prom":                {"cmd/bot"},
		mod + "diagnosis/llm":                 {"cmd/bot"},
		mod + "diagnosis/intake":              {"cmd/bot"},
		mod + "bot/slackemu":                  {"cmd/bot"},
		mod + "deploy/alertmanager":           {"cmd/bot"},
		mod + "deploy/testbed":                {},
		mod + "diagnosis/scenarios/bench":     {"cmd/evaluate"},
		mod + "bot\x00":                       {"cmd/bot"}, // the bot package itself (exact match)
		mod + "commands\x00":                  {"bot", "cmd/bot"},
		mod + "commands/picture":              {"commands"},
		"gonum.org/v1/plot":                   {"commands/picture"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		for _, imp := range fields[1:] {
			for lib, allowed := range owners {
				exact := strings.HasSuffix(lib, "\x00")
				lib := strings.TrimSuffix(lib, "\x00")
				match := imp == lib || (!exact && strings.HasPrefix(imp, lib+"/"))
				if !match || imp == mod+pkg {
					continue
				}
				ok := false
				for _, a := range allowed {
					if pkg == a {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s imports %s; only %v may", pkg, imp, allowed)
				}
			}
		}
	}
}
