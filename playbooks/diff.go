package playbooks

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nightowl-sre/nightowl/runbooks"
)

const (
	maxDiffLines = 30
	maxDiffValue = 160
	// maxLCS bounds the line-diff table; bigger changes are shown as all
	// removed, then all added.
	maxLCS = 250_000
)

// renderDiff turns the diff of a module result (before/after as text or
// objects, or Ansible's prepared text; one or a list) into a few lines:
// "-"/"+" lines for text, "path: old → new" for objects.
func renderDiff(v any) string {
	var lines []string
	switch d := v.(type) {
	case []any:
		for _, e := range d {
			lines = append(lines, diffLines(e)...)
		}
	default:
		lines = diffLines(d)
	}
	if len(lines) > maxDiffLines {
		n := len(lines) - maxDiffLines
		lines = append(lines[:maxDiffLines], fmt.Sprintf("… %d more lines", n))
	}
	return strings.Join(lines, "\n")
}

func diffLines(v any) []string {
	d, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if p, ok := d["prepared"].(string); ok && strings.TrimSpace(p) != "" {
		return strings.Split(strings.TrimRight(p, "\n"), "\n")
	}
	before, hasBefore := d["before"]
	after, hasAfter := d["after"]
	if !hasBefore && !hasAfter {
		return nil
	}
	header, _ := d["after_header"].(string)
	if header == "" {
		header, _ = d["before_header"].(string)
	}
	var body []string
	bm, bIsMap := before.(map[string]any)
	am, aIsMap := after.(map[string]any)
	if bIsMap || aIsMap {
		if header == "" {
			header = samePath(bm, am)
		}
		body = objectDiff(bm, am)
	} else {
		body = textDiff(text(before), text(after))
	}
	if len(body) == 0 {
		return nil
	}
	if header != "" {
		body = append([]string{header + ":"}, body...)
	}
	return body
}

// samePath names the file a file-module diff is about.
func samePath(before, after map[string]any) string {
	p, _ := after["path"].(string)
	if q, _ := before["path"].(string); p == "" || q != p {
		return ""
	}
	delete(before, "path")
	delete(after, "path")
	return p
}

func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return value(v)
}

// textDiff lists removed and added lines, without context: common leading
// and trailing lines are dropped, the middle is diffed by longest common
// subsequence while it is small.
func textDiff(before, after string) []string {
	a, b := splitLines(before), splitLines(after)
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	var out []string
	if len(a)*len(b) > maxLCS {
		for _, l := range a {
			out = append(out, "- "+runbooks.Truncate(l, maxDiffValue))
		}
		for _, l := range b {
			out = append(out, "+ "+runbooks.Truncate(l, maxDiffValue))
		}
		return out
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "- "+runbooks.Truncate(a[i], maxDiffValue))
			i++
		default:
			out = append(out, "+ "+runbooks.Truncate(b[j], maxDiffValue))
			j++
		}
	}
	return out
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// objectDiff compares two objects leaf by leaf: "path: old → new",
// "+ path: new", "- path: old". Kubernetes bookkeeping is left out.
func objectDiff(before, after map[string]any) []string {
	b, a := map[string]string{}, map[string]string{}
	flatten("", before, b)
	flatten("", after, a)
	k8s := before["metadata"] != nil || after["metadata"] != nil
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		if k8s && k8sBookkeeping(k) {
			continue
		}
		old, hadOld := b[k]
		now, hasNow := a[k]
		switch {
		case hadOld && hasNow && old != now:
			out = append(out, fmt.Sprintf("%s: %s → %s", k, old, now))
		case hasNow && !hadOld:
			out = append(out, fmt.Sprintf("+ %s: %s", k, now))
		case hadOld && !hasNow:
			out = append(out, fmt.Sprintf("- %s: %s", k, old))
		}
	}
	return out
}

func k8sBookkeeping(path string) bool {
	for _, p := range []string{"metadata.managedFields", "metadata.resourceVersion", "metadata.generation",
		"metadata.creationTimestamp", "metadata.uid", "status"} {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

func flatten(prefix string, v any, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 && prefix != "" {
			out[prefix] = "{}"
		}
		for k, e := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		if len(v) == 0 {
			out[prefix] = "[]"
		}
		for i, e := range v {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		if prefix != "" {
			out[prefix] = runbooks.Truncate(value(v), maxDiffValue)
		}
	}
}

// value renders a JSON leaf: strings bare (empty ones as ""), the rest as JSON.
func value(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return `""`
		}
		return v
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
