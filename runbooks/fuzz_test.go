package runbooks_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nightowl-sre/nightowl/runbooks"
)

// runbookDoc is a runbook in the shape of its YAML file.
type runbookDoc struct {
	ID          string             `yaml:"id"`
	Title       string             `yaml:"title"`
	Description string             `yaml:"description,omitempty"`
	AppliesTo   runbooks.AppliesTo `yaml:"applies_to"`
	Playbook    string             `yaml:"playbook"`
	Params      []runbooks.Param   `yaml:"parameters"`
	Risk        runbooks.Risk      `yaml:"risk"`
	Approvals   struct {
		Required  int      `yaml:"required"`
		Approvers []string `yaml:"approvers"`
		TwoPerson bool     `yaml:"two_person"`
	} `yaml:"approvals"`
	DryRun  bool   `yaml:"dry_run"`
	Timeout string `yaml:"timeout"`
	Verify  *struct {
		Description string `yaml:"description"`
		PromQL      string `yaml:"promql"`
		Within      string `yaml:"within"`
	} `yaml:"verify,omitempty"`
}

// renderRunbook writes a runbook back as a runbook file, every default
// spelled out.
func renderRunbook(tb testing.TB, rb runbooks.Runbook) []byte {
	tb.Helper()
	d := runbookDoc{ID: rb.ID, Title: rb.Title, Description: rb.Description, AppliesTo: rb.AppliesTo,
		Playbook: rb.Playbook, Params: rb.Params, Risk: rb.Risk, DryRun: rb.DryRun, Timeout: rb.Timeout.String()}
	d.Approvals.Required, d.Approvals.Approvers, d.Approvals.TwoPerson = rb.Approvals.Required, rb.Approvals.Approvers, rb.Approvals.TwoPerson
	if v := rb.Verify; v != nil {
		d.Verify = &struct {
			Description string `yaml:"description"`
			PromQL      string `yaml:"promql"`
			Within      string `yaml:"within"`
		}{v.Description, v.PromQL, v.Within.String()}
	}
	out, err := yaml.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func FuzzRunbookYAML(f *testing.F) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no shipped runbooks: %v", err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `id: RB-X-001`, "id: RB-A-001\nid: RB-A-002\n",
		"id: RB-A-001\ntitle: t\nplaybook: p.yml\nnope: 1\n",
		"id: RB-A-001\ntitle: t\nplaybook: ../p.yml\ntimeout: 3h\napprovals: {required: 9, approvers: [x]}\n",
		"id: RB-A-001\ntitle: t\nplaybook: p.yml\nverify: {within: -1s}\nparameters:\n  - {name: a, type: string, pattern: '('}\n  - {name: a, type: integer, min: 5, max: 1}\n",
		"id: RB-A-001\ntitle: t\nplaybook: p.yml\nparameters:\n  - {name: run_id, type: enum, from: nowhere, default: x}\n",
	} {
		f.Add([]byte(s))
	}
	ctx := runbooks.Context{Incident: "INC-1", RootCause: "order-service", Namespace: "production", RequestedBy: "U1", RunID: "RUN-1",
		IsService: func(s string) bool { return s == "order-service" }}
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, problems := runbooks.Parse(data, runbooks.LoadOptions{})
		for _, p := range problems {
			if p == "" || strings.ContainsAny(p, "\r\n") {
				t.Errorf("problem %q is not one line", p)
			}
		}
		if len(problems) > 0 {
			return
		}
		if rb.ID == "" || rb.Timeout <= 0 || rb.Timeout > runbooks.MaxTimeout || rb.Approvals.Required < 1 || rb.Approvals.Required > 5 ||
			(rb.Risk != runbooks.RiskLow && rb.Risk != runbooks.RiskMedium && rb.Risk != runbooks.RiskHigh) {
			t.Errorf("a runbook without problems breaks its rules: %+v", rb)
		}
		if _, err := rb.Vars(nil, ctx); err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("Vars says %q, not one line", err)
		}
		// Written back, it reads the same, and writes the same again.
		once := renderRunbook(t, rb)
		again, problems := runbooks.Parse(once, runbooks.LoadOptions{})
		if len(problems) > 0 {
			t.Fatalf("written back, it has problems %q:\n%s", problems, once)
		}
		if twice := renderRunbook(t, again); !bytes.Equal(once, twice) {
			t.Errorf("written back twice, it changed:\n%s\nthen\n%s", once, twice)
		}
	})
}
