package runbooks

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Runbook is one entry of the catalog: a playbook, its typed parameters and
// the rules for running it.
type Runbook struct {
	ID          string    `yaml:"id"`
	Title       string    `yaml:"title"`
	Description string    `yaml:"description"`
	AppliesTo   AppliesTo `yaml:"applies_to"`
	// Playbook is the playbook file, relative to PLAYBOOKS_DIR.
	Playbook  string    `yaml:"playbook"`
	Params    []Param   `yaml:"parameters"`
	Risk      Risk      `yaml:"risk"`
	Approvals Approvals `yaml:"-"` // read through file.Approvals
	// DryRun: the playbook is safe in check mode, so a check run happens as
	// soon as the runbook is recommended and again before the real run.
	DryRun  bool          `yaml:"dry_run"`
	Timeout time.Duration `yaml:"-"`
	Verify  *Verify       `yaml:"-"`
	// File is where the runbook was read from.
	File string `yaml:"-"`
}

// AppliesTo says which alerts and services a runbook is for.
type AppliesTo struct {
	Alerts   []string `yaml:"alerts"`
	Services []string `yaml:"services"`
}

// Approvals says how many approvals a run needs and from whom.
type Approvals struct {
	// Required is the number of distinct approvers; default 1.
	Required int
	// Approvers are user (U…) and user-group (S…) IDs; empty means APPROVERS.
	Approvers []string
	// TwoPerson: the requester's own approval never counts, and at least
	// two different people take part (see ApprovalsNeeded). Default on
	// for risk: high.
	TwoPerson bool
}

// Verify is how to tell the run worked: a PromQL expression that returns a
// result once things are well, checked for up to Within.
type Verify struct {
	Description string        `yaml:"description"`
	PromQL      string        `yaml:"promql"`
	Within      time.Duration `yaml:"-"`
}

// file is the YAML shape, with durations as text.
type file struct {
	Runbook   `yaml:",inline"`
	Approvals approvalsFile `yaml:"approvals"`
	Timeout   string        `yaml:"timeout"`
	Verify    *struct {
		Description string `yaml:"description"`
		PromQL      string `yaml:"promql"`
		Within      string `yaml:"within"`
	} `yaml:"verify"`
}

// approvalsFile is approvals as written: two_person unset means on for
// risk: high.
type approvalsFile struct {
	Required  int      `yaml:"required"`
	Approvers []string `yaml:"approvers"`
	TwoPerson *bool    `yaml:"two_person"`
}

var (
	idPattern       = regexp.MustCompile(`^RB-[A-Z0-9]+-[0-9]{3}$`)
	approverPattern = regexp.MustCompile(`^[UWS][A-Z0-9]{2,}$`)
)

// MaxTimeout bounds how long any runbook may run.
const MaxTimeout = 2 * time.Hour

// Catalog is the set of runbooks in RUNBOOKS_DIR. It is read-only once loaded.
type Catalog struct {
	byID map[string]Runbook
	ids  []string
}

// LoadOptions tell LoadCatalog what to check runbooks against.
type LoadOptions struct {
	// PlaybooksDir is where playbook files must exist ("" skips the check).
	PlaybooksDir string
}

// LoadCatalog reads every *.yaml and *.yml file of dir. Every problem is
// reported, each naming its file and field.
func LoadCatalog(dir string, opt LoadOptions) (*Catalog, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		return nil, fmt.Errorf("runbooks %s: %w", dir, err)
	}
	sort.Strings(paths)
	c := &Catalog{byID: map[string]Runbook{}}
	var errs []error
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		rb, problems := Parse(data, opt)
		rb.File = p
		for _, pr := range problems {
			errs = append(errs, fmt.Errorf("%s: %s", filepath.Base(p), pr))
		}
		if len(problems) > 0 {
			continue
		}
		if prev, dup := c.byID[rb.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: id: %s is also the id of %s", filepath.Base(p), rb.ID, filepath.Base(prev.File)))
			continue
		}
		c.byID[rb.ID] = rb
		c.ids = append(c.ids, rb.ID)
	}
	if len(paths) == 0 {
		errs = append(errs, fmt.Errorf("runbooks %s: no *.yaml files", dir))
	}
	sort.Strings(c.ids)
	return c, errors.Join(errs...)
}

// Parse decodes and checks one runbook; problems name the field.
func Parse(data []byte, opt LoadOptions) (Runbook, []string) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Runbook{}, []string{yamlProblem(err)}
	}
	rb := f.Runbook
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch {
	case rb.ID == "":
		bad("id: missing")
	case !idPattern.MatchString(rb.ID):
		bad("id: %q is not like RB-DB-001", rb.ID)
	}
	// A title is one line on a card: folded or literal YAML scalars and
	// stray spaces come down to single spaces.
	rb.Title = strings.Join(strings.Fields(rb.Title), " ")
	if rb.Title == "" {
		bad("title: missing")
	}
	rb.Description = freeText(rb.Description)
	for i := range rb.Params {
		rb.Params[i].Description = freeText(rb.Params[i].Description)
	}
	switch {
	case rb.Playbook == "":
		bad("playbook: missing")
	case filepath.IsAbs(rb.Playbook) || strings.Contains(rb.Playbook, ".."):
		bad("playbook: %q must be a file name inside PLAYBOOKS_DIR", rb.Playbook)
	case opt.PlaybooksDir != "":
		if _, err := os.Stat(filepath.Join(opt.PlaybooksDir, rb.Playbook)); err != nil {
			bad("playbook: %s is not in %s", rb.Playbook, opt.PlaybooksDir)
		}
	}
	switch rb.Risk {
	case "":
		rb.Risk = RiskMedium
	case RiskLow, RiskMedium, RiskHigh:
	default:
		bad("risk: %q is not low, medium or high", rb.Risk)
	}
	rb.Approvals = Approvals{Required: f.Approvals.Required, Approvers: f.Approvals.Approvers, TwoPerson: rb.Risk == RiskHigh}
	if f.Approvals.TwoPerson != nil {
		rb.Approvals.TwoPerson = *f.Approvals.TwoPerson
	}
	if rb.Approvals.Required == 0 {
		rb.Approvals.Required = 1
	}
	if rb.Approvals.Required < 1 || rb.Approvals.Required > 5 {
		bad("approvals.required: %d is not between 1 and 5", rb.Approvals.Required)
	}
	for _, a := range rb.Approvals.Approvers {
		if !approverPattern.MatchString(a) {
			bad("approvals.approvers: %q is neither a user ID (U…) nor a user-group ID (S…)", a)
		}
	}
	rb.Timeout = 10 * time.Minute
	if f.Timeout != "" {
		d, err := time.ParseDuration(f.Timeout)
		switch {
		case err != nil:
			bad("timeout: %q is not a duration such as 10m", f.Timeout)
		case d <= 0 || d > MaxTimeout:
			bad("timeout: %s is not between 0 and %s", d, MaxTimeout)
		default:
			rb.Timeout = d
		}
	}
	if f.Verify != nil {
		rb.Verify = &Verify{Description: freeText(f.Verify.Description), PromQL: f.Verify.PromQL, Within: 5 * time.Minute}
		if f.Verify.Within != "" {
			d, err := time.ParseDuration(f.Verify.Within)
			if err != nil || d <= 0 || d > time.Hour {
				bad("verify.within: %q is not a duration up to 1h", f.Verify.Within)
			} else {
				rb.Verify.Within = d
			}
		}
		if rb.Verify.Description == "" && rb.Verify.PromQL == "" {
			bad("verify: give a description or a promql check")
		}
	}
	seen := map[string]bool{}
	for i := range rb.Params {
		p := &rb.Params[i]
		for _, pr := range p.check() {
			bad("parameters[%d] (%s): %s", i, p.Name, pr)
		}
		if seen[p.Name] {
			bad("parameters[%d]: %s is declared twice", i, p.Name)
		}
		seen[p.Name] = true
	}
	return rb, problems
}

// yamlProblem turns a YAML error into "line N: …" without the package prefix.
func yamlProblem(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.ReplaceAll(s, "unmarshal errors:\n  ", "")
	s = strings.ReplaceAll(s, "in type runbooks.file", "")
	s = strings.ReplaceAll(s, "in type runbooks.approvalsFile", "in approvals")
	s = strings.ReplaceAll(s, "into runbooks.file", "into a runbook")
	s = strings.ReplaceAll(s, "\n  ", "; ")
	return escapeControls(s) // a value quoted in the message may hold a newline or a carriage return: one line each
}

// escapeControls writes control characters as Go escapes (\n, \r, \x00).
func escapeControls(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Get returns a runbook by ID.
func (c *Catalog) Get(id string) (Runbook, bool) {
	rb, ok := c.byID[id]
	return rb, ok
}

// List returns every runbook, by ID.
func (c *Catalog) List() []Runbook {
	out := make([]Runbook, 0, len(c.ids))
	for _, id := range c.ids {
		out = append(out, c.byID[id])
	}
	return out
}

// RunbookFor maps an alert (and its service) to a runbook: the first, by ID,
// that applies to the alert name and whose services, if any, include the
// service.
func (c *Catalog) RunbookFor(alertname, service string) (string, bool) {
	for _, id := range c.ids {
		rb := c.byID[id]
		if !slices.Contains(rb.AppliesTo.Alerts, alertname) {
			continue
		}
		if len(rb.AppliesTo.Services) == 0 || slices.Contains(rb.AppliesTo.Services, service) {
			return id, true
		}
	}
	return "", false
}

// freeText is a description as written, less what YAML cannot write back
// the same way: blank lines and spaces around it and at the ends of its
// lines (a folded scalar that opens with an empty line came back shorter
// each time it was written).
func freeText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
