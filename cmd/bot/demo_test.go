package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/deploy/golden"
	"github.com/nightowl-sre/nightowl/deploy/testbed"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// TestDemoReplaysTheStormIntoOneResolvedCard runs `bot demo` as a user
// would, checks what its transcript must say, and compares the transcript,
// normalised (normaliseDemo), with testdata/demo.golden.
func TestDemoReplaysTheStormIntoOneResolvedCard(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 12s")
	}
	testbed.MustFindBinary(t, "apt-get install ansible; the demo runs its runbook", "ansible-playbook")
	var out, errs strings.Builder
	if code := Main(t.Context(), []string{"demo"}, envOf(nil), nil, &out, &errs); code != 0 {
		t.Fatalf("demo exited %d: %s", code, errs.String())
	}
	transcript := out.String()
	if strings.TrimSpace(errs.String()) != "" {
		t.Errorf("the demo logged problems:\n%s", errs.String())
	}
	checks := []struct{ what, pattern string }{
		{"one card that names the root cause, resolved", `✅ INC-[0-9A-F]+ · DatabaseConnectionPoolExhausted on order-service · resolved`},
		{"the storm counted on the card", `31 alerts → 1 page`},
		{"the acknowledgement on the card", `Acknowledged by priya`},
		{"the first burst in the thread", `alerts grouped into INC-`},
		{"a closing reply with the duration", `resolved after \d+m \d+s\. 31 alerts`},
		{"the summary line", `Summary: 31 alerts → 1 card .*pages: 1\.`},
		{"the triage on the firing card", `\*Do now:\* .*RB-DB-001`},
		{"an answer to a follow-up question", `You asked about postgres-rds \(database\): it is candidate`},
		{"a picture in the thread", `\[file: graph-order-service\.png\]`},
		{"the refused approval, shown to dana only", `only visible to @dana\)\n\s+You cannot approve this run`},
		{"the approved run's result", `RB-DEMO-001 \(RUN-[0-9A-F]+\) succeeded`},
		{"who approved", `\*Approved by:\* marcus`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.pattern).MatchString(transcript) {
			t.Errorf("transcript lacks %s (/%s/):\n%s", c.what, c.pattern, transcript)
		}
	}
	scen, _ := diagnosisAlerts(t)
	for name := range scen {
		if !strings.Contains(transcript, name) {
			t.Errorf("alert %s is not in the thread", name)
		}
	}
	golden.Assert(t, filepath.Join("testdata", "demo.golden"), []byte(normaliseDemo(transcript)))
}

func diagnosisAlerts(t *testing.T) (map[string]bool, int) {
	var msg struct{ Alerts []diagnosis.Alert }
	if err := json.Unmarshal(scenarios.BlackFriday, &msg); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, a := range msg.Alerts {
		names[a.Name()] = true
	}
	return names, len(msg.Alerts)
}

// normaliseDemo makes the demo's transcript the same on every run and every
// machine, keeping every word that does not depend on time. The demo runs
// in real time against a real clock, so from one run to the next:
//
//   - clock times and dates differ: they become hh:mm:ss, hh:mm UTC and
//     YYYY-MM-DD (RFC 3339 times too);
//   - nightowl draws new incident and run IDs: they become INC-#1, RUN-#1,
//     RUN-#2… in the order they first appear, so one ID stays one ID;
//   - the demo's temp directory differs: it becomes $TMPDIR/nightowl-demo;
//   - how long the run and the incident took, and how soon priya
//     acknowledged, differ by a second or so: they become ‹duration›;
//   - how often a message was edited, and the summary's counts of replies,
//     edits and Web API calls, follow how the storm's bursts and the run's
//     progress updates fell: they become (edited) and N.
//
// And the thread is put in one order. The storm is still arriving (12
// relays over about 7 s, GROUP_WAIT 2 s) when the card is up and priya
// acts, so where its later bursts split and land depends on scheduling,
// under -race most of all; the demo waits for "an answer" to each
// question by counting nightowl's replies, so a burst can let it move on
// before the answer is posted; and an answer reflects the bursts the
// diagnosis had seen. So (normaliseThread):
//
//   - the later bursts become one reply right after the first burst, with
//     their alerts in the order they were posted and the sum of their new
//     alerts and absorbed repeats (which does not change);
//   - each answer (with the picture posted under it) is moved to right
//     after its question, and keeps its first line (its percentage
//     normalised); the rest is "…".
func normaliseDemo(s string) string {
	s = forEachThread(s, normaliseThread)
	for _, r := range demoClock {
		s = r.re.ReplaceAllString(s, r.with)
	}
	for _, prefix := range []string{"INC", "RUN"} {
		s = numberIDs(s, prefix)
	}
	return s
}

const duration = `(?:\d+d \d+h|\d+h \d+m|\d+m \d+s|\d+m\d+(?:\.\d+)?s|\d+(?:\.\d+)?(?:ms|s|m|h))`

var demoClock = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile("(?:/[^/\\s`]+)*/nightowl-demo-\\d+"), "$$TMPDIR/nightowl-demo"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)`), "YYYY-MM-DDThh:mm:ssZ"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`), "YYYY-MM-DD hh:mm:ss"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d UTC`), "YYYY-MM-DD hh:mm UTC"}, // the fallback of a <!date^…> token
	{regexp.MustCompile(`\b\d\d:\d\d:\d\d\b`), "hh:mm:ss"},
	{regexp.MustCompile(`\b\d\d:\d\d UTC\b`), "hh:mm UTC"},
	{regexp.MustCompile(`\b(succeeded in|failed in|resolved after|Took) ` + duration), "$1 ‹duration›"},
	{regexp.MustCompile(`\b` + duration + ` after the start`), "‹duration› after the start"},
	{regexp.MustCompile(`\(edited \d+×\)`), "(edited)"},
	{regexp.MustCompile(`\(\d+ thread replies, card updated in place \d+×\); \d+ Web API calls \(\d+ chat\.postMessage, \d+ chat\.update\)`),
		"(N thread replies, card updated in place N×); N Web API calls (N chat.postMessage, N chat.update)"},
}

// numberIDs replaces prefix-XXXX IDs with prefix-#1, prefix-#2… in the
// order they first appear.
func numberIDs(s, prefix string) string {
	seen := map[string]string{}
	return regexp.MustCompile(`\b`+prefix+`-[0-9A-F]{4,}\b`).ReplaceAllStringFunc(s, func(id string) string {
		if _, ok := seen[id]; !ok {
			seen[id] = fmt.Sprintf("%s-#%d", prefix, len(seen)+1)
		}
		return seen[id]
	})
}

// A transcript's thread reply: its head ("  ↳ 11:57:23  nightowl [app]")
// and the lines of its body, indented under it.
type demoReply struct {
	head string
	body []string
}

func (r demoReply) lines() []string { return append([]string{r.head}, r.body...) }

func (r demoReply) first() string {
	if len(r.body) == 0 {
		return ""
	}
	return r.body[0]
}

// fromNightowl: nightowl posted it for everyone (not ephemerally).
func (r demoReply) fromNightowl() bool {
	return strings.Contains(r.head, "nightowl [app]") && !strings.Contains(r.head, "(only visible")
}

const replyIndent = "              " // under "  ↳ hh:mm:ss  "

var replyHead = regexp.MustCompile(`^  ↳ \d\d:\d\d:\d\d  `)

// forEachThread hands each run of thread replies in a transcript to edit
// and puts back the replies it returns; other lines stay as they are.
func forEachThread(s string, edit func([]demoReply) []demoReply) string {
	lines := strings.Split(s, "\n")
	var out []string
	var thread []demoReply
	flush := func() {
		for _, r := range edit(thread) {
			out = append(out, r.lines()...)
		}
		thread = nil
	}
	for i := 0; i < len(lines); {
		if !replyHead.MatchString(lines[i]) {
			if thread != nil {
				flush()
			}
			out = append(out, lines[i])
			i++
			continue
		}
		j := i + 1
		for j < len(lines) && strings.HasPrefix(lines[j], replyIndent) {
			j++
		}
		thread = append(thread, demoReply{head: lines[i], body: lines[i+1 : j]})
		i = j
	}
	if thread != nil {
		flush()
	}
	return strings.Join(out, "\n")
}

var (
	firstBurst = regexp.MustCompile(`^\s+\*\d+ alerts? grouped into INC-`)
	laterBurst = regexp.MustCompile(`^\s+\*(?:(\d+) new alerts?)?(?: · )?(?:(\d+) repeat notifications? absorbed)?\*$`)
	// notAnAnswer: the other replies nightowl posts in the demo's thread,
	// about runbooks (they name one) and the incident's end.
	notAnAnswer = regexp.MustCompile("`RB-|RB-[A-Z0-9-]+ \\(RUN-| resolved after ")
	percent     = regexp.MustCompile(`\(\d+%\)`)
)

// normaliseThread puts a thread in the order normaliseDemo describes.
func normaliseThread(thread []demoReply) []demoReply {
	var kept, later []demoReply
	news, repeats := 0, 0
	for _, r := range thread {
		m := laterBurst.FindStringSubmatch(r.first())
		if !r.fromNightowl() || m == nil || (m[1] == "" && m[2] == "") {
			kept = append(kept, r)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		k, _ := strconv.Atoi(m[2])
		news, repeats = news+n, repeats+k
		later = append(later, r)
	}
	var out []demoReply
	claimed := map[int]bool{}
	for i, r := range kept {
		if claimed[i] {
			continue
		}
		out = append(out, r)
		switch {
		case firstBurst.MatchString(r.first()) && len(later) > 0:
			merged := demoReply{head: "  ↳ hh:mm:ss  nightowl [app]  (the later bursts, merged)",
				body: []string{fmt.Sprintf("%s*%d new alerts · %d repeat notifications absorbed*", replyIndent, news, repeats)}}
			for _, b := range later {
				merged.body = append(merged.body, b.body[1:]...)
			}
			out = append(out, merged)
		case !strings.Contains(r.head, "[app]"): // a person's question: its answer follows it
			for j := i + 1; j < len(kept); j++ {
				a := kept[j]
				if claimed[j] || !a.fromNightowl() || firstBurst.MatchString(a.first()) || notAnAnswer.MatchString(a.first()) ||
					strings.HasPrefix(strings.TrimSpace(a.first()), "[file: ") {
					continue
				}
				claimed[j] = true
				out = append(out, demoReply{head: a.head, body: []string{percent.ReplaceAllString(a.first(), "(‹n›%)")}})
				if len(a.body) > 1 {
					out[len(out)-1].body = append(out[len(out)-1].body, replyIndent+"…")
				}
				if j+1 < len(kept) && !claimed[j+1] && strings.HasPrefix(strings.TrimSpace(kept[j+1].first()), "[file: ") {
					claimed[j+1] = true
					out = append(out, kept[j+1])
				}
				break
			}
		}
	}
	return out
}

// TestNormaliseDemoForgetsTheClockAndTheScheduling: two runs that differ
// only in times, IDs, edit counts, where the bursts split and when the
// answer came normalise to the same transcript.
func TestNormaliseDemoForgetsTheClockAndTheScheduling(t *testing.T) {
	runs := []string{`
01:02:03  nightowl [app]  (edited 3×)
          🔴 INC-AB12 · started 2026-01-02 01:02:03 UTC
  ↳ 01:02:03  nightowl [app]
              *2 alerts grouped into INC-AB12*
              🔴 A
              🔴 B
  ↳ 01:02:05  nightowl [app]
              *1 new alert · 2 repeat notifications absorbed*
              🔴 C
  ↳ 01:02:06  priya
              @nightowl why?
  ↳ 01:02:06  nightowl [app]
              I think it is x (91%) because:
              • 2 of 4
  ↳ 01:02:07  nightowl [app]
              *1 new alert · 5 repeat notifications absorbed*
              🔴 D
  ↳ 01:02:08  nightowl [app]  (edited 4×)
              ✅ *Demo* ` + "`RB-DEMO-001`" + ` — succeeded in 952ms in /tmp/nightowl-demo-42/out
Summary: 31 alerts → 1 card (5 thread replies, card updated in place 3×); 9 Web API calls (6 chat.postMessage, 3 chat.update); pages: 1. Took 12.3s.
`, `
11:12:13  nightowl [app]  (edited 4×)
          🔴 INC-CD34 · started 2026-01-02 11:12:13 UTC
  ↳ 11:12:13  nightowl [app]
              *2 alerts grouped into INC-CD34*
              🔴 A
              🔴 B
  ↳ 11:12:15  nightowl [app]
              *2 new alerts · 7 repeat notifications absorbed*
              🔴 C
              🔴 D
  ↳ 11:12:16  priya
              @nightowl why?
  ↳ 11:12:17  nightowl [app]  (edited 6×)
              ✅ *Demo* ` + "`RB-DEMO-001`" + ` — succeeded in 1.2s in /var/folders/x/T/nightowl-demo-7/out
  ↳ 11:12:18  nightowl [app]
              I think it is x (72%) because:
              • 3 of 5
Summary: 31 alerts → 1 card (4 thread replies, card updated in place 4×); 8 Web API calls (5 chat.postMessage, 3 chat.update); pages: 1. Took 9.1s.
`}
	want := `
hh:mm:ss  nightowl [app]  (edited)
          🔴 INC-#1 · started YYYY-MM-DD hh:mm:ss UTC
  ↳ hh:mm:ss  nightowl [app]
              *2 alerts grouped into INC-#1*
              🔴 A
              🔴 B
  ↳ hh:mm:ss  nightowl [app]  (the later bursts, merged)
              *2 new alerts · 7 repeat notifications absorbed*
              🔴 C
              🔴 D
  ↳ hh:mm:ss  priya
              @nightowl why?
  ↳ hh:mm:ss  nightowl [app]
              I think it is x (‹n›%) because:
              …
  ↳ hh:mm:ss  nightowl [app]  (edited)
              ✅ *Demo* ` + "`RB-DEMO-001`" + ` — succeeded in ‹duration› in $TMPDIR/nightowl-demo/out
Summary: 31 alerts → 1 card (N thread replies, card updated in place N×); N Web API calls (N chat.postMessage, N chat.update); pages: 1. Took ‹duration›.
`
	for i, run := range runs {
		if got := normaliseDemo(run); got != want {
			t.Errorf("run %d normalises to something else:\n%s", i+1, golden.Diff(want, got))
		}
	}
}
