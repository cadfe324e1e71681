package commands_test

import (
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestDiagWithoutAGraphSaysHowItGrouped(t *testing.T) {
	w := newWorld(t)
	w.engine = diagnosis.NewEngine(diagnosis.EngineConfig{}) // no graph
	storm := w.order[1]
	r, err := w.handler(nil).Handle(t.Context(), commands.Request{Command: "/diag", Text: storm})
	if err != nil {
		t.Fatal(err)
	}
	out := plain(r)
	if !strings.Contains(out, "No service graph: grouped by time and labels") || strings.Contains(out, "Not in graph") {
		t.Errorf("want the no-graph line and no \"Not in graph\" list:\n%s", out)
	}
}
