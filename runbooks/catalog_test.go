package runbooks_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/runbooks"
)

func TestTheShippedCatalogLoads(t *testing.T) {
	cat, err := runbooks.LoadCatalog(".", runbooks.LoadOptions{PlaybooksDir: filepath.Join("..", "playbooks")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, rb := range cat.List() {
		ids = append(ids, rb.ID)
	}
	if strings.Join(ids, " ") != "RB-APP-001 RB-APP-002 RB-DB-001 RB-DEMO-001 RB-KAFKA-001" {
		t.Errorf("catalog %v", ids)
	}
	if id, ok := cat.RunbookFor("DatabaseConnectionPoolExhausted", "order-service"); !ok || id != "RB-DB-001" {
		t.Errorf("RunbookFor pool exhaustion = %q %v", id, ok)
	}
	kafka, _ := cat.Get("RB-KAFKA-001")
	// Its description promises "two approvals, from two different people".
	if !kafka.Approvals.TwoPerson || kafka.Approvals.Required != 2 || kafka.Risk != runbooks.RiskHigh {
		t.Errorf("RB-KAFKA-001: %+v", kafka.Approvals)
	}
}

func TestTheTwoPersonRuleIsOnByDefaultForHighRisk(t *testing.T) {
	cases := []struct {
		name, doc string
		want      bool
	}{
		{"high risk", "risk: high\n", true},
		{"high risk, turned off on purpose", "risk: high\napprovals: {two_person: false}\n", false},
		{"medium risk", "risk: medium\n", false},
		{"medium risk, turned on", "risk: medium\napprovals: {two_person: true}\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rb, problems := runbooks.Parse([]byte("id: RB-X-001\ntitle: t\nplaybook: a.yml\n"+tc.doc), runbooks.LoadOptions{})
			if len(problems) > 0 || rb.Approvals.TwoPerson != tc.want || rb.Approvals.Required != 1 {
				t.Errorf("approvals %+v, problems %v; want two_person %v", rb.Approvals, problems, tc.want)
			}
		})
	}
}

func TestABrokenRunbookNamesItsFileAndField(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"a typo in a field name", "id: RB-X-001\ntitle: t\nplaybok: a.yml\n", "broken.yaml: line 3: field playbok not found"},
		{"an id of the wrong shape", "id: db-fix\ntitle: t\nplaybook: a.yml\n", `broken.yaml: id: "db-fix" is not like RB-DB-001`},
		{"a playbook that does not exist", "id: RB-X-001\ntitle: t\nplaybook: missing.yml\n", "broken.yaml: playbook: missing.yml is not in"},
		{"a playbook outside the directory", "id: RB-X-001\ntitle: t\nplaybook: ../../etc/passwd\n", "must be a file name inside PLAYBOOKS_DIR"},
		{"min above max", "id: RB-X-001\ntitle: t\nplaybook: a.yml\nparameters:\n  - {name: n, type: integer, min: 5, max: 1}\n", "parameters[0] (n): min 5 is above max 1"},
		{"an unknown parameter type", "id: RB-X-001\ntitle: t\nplaybook: a.yml\nparameters:\n  - {name: n, type: float}\n", `type "float" is not`},
		{"a default out of range", "id: RB-X-001\ntitle: t\nplaybook: a.yml\nparameters:\n  - {name: n, type: integer, max: 3, default: '9'}\n", "default: n must be between"},
		{"a bad timeout", "id: RB-X-001\ntitle: t\nplaybook: a.yml\ntimeout: forever\n", `timeout: "forever" is not a duration`},
		{"a bad approver", "id: RB-X-001\ntitle: t\nplaybook: a.yml\napprovals: {approvers: [alice]}\n", `approvals.approvers: "alice"`},
		{"a reserved parameter", "id: RB-X-001\ntitle: t\nplaybook: a.yml\nparameters:\n  - {name: incident_id, type: string}\n", "is set by nightowl itself"},
		{"a document that is one folded string (a problem quoting a newline stays one line)", ">\n 00\n", "broken.yaml: line 1: cannot unmarshal !!str `00\\n` into a runbook"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "a.yml"), []byte("- hosts: localhost\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := runbooks.LoadCatalog(dir, runbooks.LoadOptions{PlaybooksDir: dir})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestTwoRunbooksWithOneIDAreRefused(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.yaml", "b.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("id: RB-X-001\ntitle: t\nplaybook: p.yml\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := runbooks.LoadCatalog(dir, runbooks.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "b.yaml: id: RB-X-001 is also the id of a.yaml") {
		t.Errorf("err %v", err)
	}
}

func TestTheReservedParametersAreTheVariablesNightowlSets(t *testing.T) {
	cat, err := runbooks.LoadCatalog(".", runbooks.LoadOptions{PlaybooksDir: filepath.Join("..", "playbooks")})
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := cat.Get("RB-DEMO-001")
	vars, err := rb.Vars(nil, runbooks.Context{Incident: "INC-1", RootCause: "order-service", RequestedBy: "U1", RunID: "RUN-A", IsService: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	var set []string
	for k := range vars {
		if runbooks.ReservedParam(k) {
			set = append(set, k)
		}
	}
	slices.Sort(set)
	if want := []string{runbooks.VarIncidentID, runbooks.VarRequestedBy, runbooks.VarRunID, runbooks.VarRunbookID}; !slices.Equal(set, want) {
		t.Errorf("Vars sets the reserved %v, want %v", set, want)
	}
	for _, p := range rb.Params {
		if runbooks.ReservedParam(p.Name) {
			t.Errorf("parameter %s of %s is reserved", p.Name, rb.ID)
		}
	}
}
