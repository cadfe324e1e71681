package playbooks

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/nightowl-sre/nightowl/runbooks"
)

// Redacted replaces every secret the runner hides.
const Redacted = "[redacted]"

// secretWord says whether a variable name looks like it holds a secret.
var secretWord = regexp.MustCompile(`(?i)(?:` + runbooks.SecretWords + `)`)

// secretAssign finds name=value, name: value and "name": "value" where the
// name looks secret. Group 1 is everything up to the value, group 2 the value.
var secretAssign = regexp.MustCompile(`(?i)(["']?[A-Za-z0-9_.-]*(?:` + runbooks.SecretWords + `)[A-Za-z0-9_.-]*["']?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|\[redacted\]|[^\s,;&'"}\]]+)`)

// minSecretLen keeps a one- or two-character "secret" from blanking out
// every occurrence of that text in the output.
const minSecretLen = 4

// redactor hides secrets in text the runner returns: assignments to
// secret-looking names, and the values of the job's secret-named variables
// wherever they appear.
type redactor struct {
	values *strings.Replacer // nil when the job has no secret values
}

func newRedactor(vars map[string]any) *redactor {
	var secrets []string
	collectSecrets(vars, false, &secrets)
	if len(secrets) == 0 {
		return &redactor{}
	}
	// Longest first, so a secret that contains another is hidden whole.
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	secrets = slices.Compact(secrets)
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, Redacted)
	}
	return &redactor{values: strings.NewReplacer(pairs...)}
}

// collectSecrets gathers the leaves of v that sit under a secret-looking
// name, both as they are and as they look inside a JSON string.
func collectSecrets(v any, secret bool, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			collectSecrets(e, secret || secretWord.MatchString(k), out)
		}
	case []any:
		for _, e := range v {
			collectSecrets(e, secret, out)
		}
	case nil:
	default:
		if !secret {
			return
		}
		s := fmt.Sprint(v)
		if len(s) < minSecretLen {
			return
		}
		*out = append(*out, s)
		if b, err := json.Marshal(s); err == nil {
			if q := string(b[1 : len(b)-1]); q != s {
				*out = append(*out, q)
			}
		}
	}
}

// String returns s with every secret replaced by [redacted].
func (r *redactor) String(s string) string {
	if s == "" {
		return s
	}
	if r.values != nil {
		s = r.values.Replace(s)
	}
	return secretAssign.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretAssign.FindStringSubmatch(m)
		prefix, value := sub[1], sub[2]
		switch {
		case strings.Contains(value, Redacted):
			return m
		case strings.HasPrefix(value, `"`):
			return prefix + `"` + Redacted + `"`
		case strings.HasPrefix(value, `'`):
			return prefix + `'` + Redacted + `'`
		}
		return prefix + Redacted
	})
}

// redactVars returns a copy of vars whose secret-named values read [redacted].
func redactVars(vars map[string]any) map[string]any {
	if vars == nil {
		return nil
	}
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		switch {
		case secretWord.MatchString(k):
			out[k] = Redacted
		default:
			if m, ok := v.(map[string]any); ok {
				out[k] = redactVars(m)
				continue
			}
			out[k] = v
		}
	}
	return out
}
