package bot

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// spec is an alert of a test storm: its name and service, in production
// unless ns says otherwise; resolved is its resolution.
type spec struct {
	name, service, ns string
	resolved          bool
}

func (s spec) alert() diagnosis.Alert {
	ns := s.ns
	if ns == "" {
		ns = "production"
	}
	a := alertOn(s.name, s.service, "namespace", ns)
	if s.resolved {
		a = resolvedAlert(a)
	}
	return a
}

func TestTheCardPagesOnceAndEveryLaterBurstGoesInItsThread(t *testing.T) {
	var (
		errors  = spec{name: "ServiceErrorRateHigh", service: "order-service"}
		latency = spec{name: "ServiceLatencyHigh", service: "order-service"}
		pool    = spec{name: "DatabaseConnectionPoolExhausted", service: "order-service"}
		cpu     = spec{name: "HighCPUUsage", service: "order-service"}
		restart = spec{name: "PodRestarting", service: "order-service"}
		caller  = spec{name: "ServiceErrorRateHigh", service: "checkout-service"}
	)
	gone := errors
	gone.resolved = true
	staging := errors
	staging.ns = "staging"
	cases := []struct {
		name string
		// bursts come GROUP_WAIT apart; the alerts of one burst, a second apart.
		bursts [][]spec
		// cards and pages in the incidents channel, replies in their
		// threads, and edits of the cards.
		cards, pages, replies, updates int
	}{
		{"a new incident is one card that pages on-call once, with its first burst in the thread",
			[][]spec{{errors, latency}}, 1, 1, 1, 0},
		{"every later burst goes in the card's thread, updates the card and pages nobody",
			[][]spec{{errors}, {latency}, {caller}}, 1, 1, 3, 2},
		{"alerts within GROUP_WAIT make one reply and one update, not one per alert",
			[][]spec{{errors}, {latency, pool, cpu, restart, caller}}, 1, 1, 2, 1},
		{"a repeated notification is absorbed: no reply, no update",
			[][]spec{{errors}, {errors}}, 1, 1, 1, 0},
		{"the last resolution closes the thread and pages nobody",
			[][]spec{{errors}, {gone}}, 1, 1, 3, 1}, // the burst, the closing, "Was this page actionable?"
		{"the same failure in another namespace is another card and another page",
			[][]spec{{errors}, {staging}}, 2, 2, 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bt := mustRunBot(t, botOptions{})
				for _, burst := range tc.bursts {
					for _, s := range burst {
						bt.relay(s.alert())
						wait(time.Second)
					}
					wait(tGroupWait)
				}
				cards := bt.slack.posts(tIncidents)
				if len(cards) != tc.cards {
					t.Fatalf("%d cards, want %d", len(cards), tc.cards)
				}
				if got := bt.pages(tOnCall); got != tc.pages {
					t.Errorf("on-call paged %d times, want %d", got, tc.pages)
				}
				replies := 0
				for _, c := range cards {
					replies += len(bt.slack.thread(tIncidents, c.ts))
				}
				if replies != tc.replies {
					t.Errorf("%d thread replies, want %d", replies, tc.replies)
				}
				if got := len(bt.slack.recorded("chat.update")); got != tc.updates {
					t.Errorf("%d card updates, want %d", got, tc.updates)
				}
				for _, c := range bt.slack.recorded("chat.postMessage", "chat.update") {
					if c.Channel != tIncidents || c.ThreadTS != "" && !slices.ContainsFunc(cards, func(m fakeMessage) bool { return m.ts == c.ThreadTS }) {
						t.Errorf("%s in %s thread %q: want every message in the incidents channel, replies in a card's thread", c.Method, c.Channel, c.ThreadTS)
					}
				}
			})
		})
	}
}

// TestTheCardSaysWhatHappenedSinceItWasPosted: an update never pages, and
// the card names the one paged instead of mentioning them.
func TestTheCardSaysWhatHappenedSinceItWasPosted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bt := mustRunBot(t, botOptions{})
		bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
		wait(tGroupWait + time.Second)
		bt.relay(alertOn("ServiceLatencyHigh", "order-service"))
		wait(tGroupWait + time.Second)
		card := bt.card(t)
		if card.edits != 1 || mentions(card.msg, tOnCall) != 0 || !strings.Contains(words(card.msg), "Paged @oncall") {
			t.Errorf("card after one burst (%d edits): %s\nwant one edit that names @oncall without mentioning them", card.edits, words(card.msg))
		}
		first := bt.slack.recorded("chat.postMessage")[0]
		if first.TS != card.ts || mentions(first.Msg, tOnCall) == 0 {
			t.Errorf("the first post %+v: want the card, mentioning on-call", first)
		}
	})
}

func TestTheCardsButtonsDoWhatTheySay(t *testing.T) {
	cases := []struct {
		name       string
		escalation string
		press      func(t *testing.T, bt *botUnderTest, card fakeMessage)
		check      func(t *testing.T, bt *botUnderTest)
	}{
		{"Acknowledge marks the card once; a second press is told who did", "",
			func(t *testing.T, bt *botUnderTest, card fakeMessage) {
				v := button(t, card, ActionAck)
				bt.click(tPriya, card.ts, ActionAck, v)
				bt.click(tMarcus, card.ts, ActionAck, v) // a client that missed the update
			},
			func(t *testing.T, bt *botUnderTest) {
				card := bt.card(t)
				if !strings.Contains(words(card.msg), "Acknowledged by priya") || hasButton(card, ActionAck) {
					t.Errorf("card says %s\nwant it acknowledged by priya, without the button", words(card.msg))
				}
				mustSay(t, bt.slack.ephemeralsTo(tMarcus), "already acknowledged by priya")
				if n := count(bt.store.kinds(), diagnosis.EventAcked); n != 1 {
					t.Errorf("%d acks on the record, want 1", n)
				}
			}},
		{"Escalate pages the escalation group once, in the card's thread", tLeads,
			func(t *testing.T, bt *botUnderTest, card fakeMessage) {
				v := button(t, card, ActionEscalate)
				bt.click(tPriya, card.ts, ActionEscalate, v)
				bt.click(tMarcus, card.ts, ActionEscalate, v)
			},
			func(t *testing.T, bt *botUnderTest) {
				card := bt.card(t)
				if got := bt.pages(tLeads); got != 1 {
					t.Errorf("the escalation group was paged %d times, want once", got)
				}
				mustSay(t, bt.slack.thread(tIncidents, card.ts), "priya escalated")
				mustSay(t, bt.slack.ephemeralsTo(tMarcus), "already escalated by priya")
				if hasButton(card, ActionEscalate) {
					t.Error("the card still offers Escalate")
				}
			}},
		{"Escalate with nobody to escalate to says so and pages nobody", "",
			func(t *testing.T, bt *botUnderTest, card fakeMessage) {
				bt.click(tPriya, card.ts, ActionEscalate, button(t, card, ActionEscalate))
			},
			func(t *testing.T, bt *botUnderTest) {
				mustSay(t, bt.slack.ephemeralsTo(tPriya), "Nobody to escalate to")
				if n := len(bt.slack.thread(tIncidents, bt.card(t).ts)); n != 1 {
					t.Errorf("%d thread replies, want only the first burst", n)
				}
			}},
		{"a button of an incident that has left memory says it is closed", "",
			func(t *testing.T, bt *botUnderTest, card fakeMessage) {
				bt.click(tPriya, card.ts, ActionAck, "INC-GONE")
			},
			func(t *testing.T, bt *botUnderTest) {
				mustSay(t, bt.slack.ephemeralsTo(tPriya), "INC-GONE is closed")
			}},
		{"👍 and 👎 are kept and counted on the card, and a 👎 asks what the cause was", "",
			func(t *testing.T, bt *botUnderTest, card fakeMessage) {
				bt.click(tPriya, card.ts, ActionVoteUp, button(t, card, ActionVoteUp))
				bt.click(tMarcus, card.ts, ActionVoteDown, button(t, card, ActionVoteDown))
			},
			func(t *testing.T, bt *botUnderTest) {
				id := bt.live.Open()[0].ID
				bt.store.mu.Lock()
				votes := bt.store.votes[id]
				bt.store.mu.Unlock()
				if votes[tPriya] != 1 || votes[tMarcus] != -1 {
					t.Errorf("votes %v, want priya +1 and marcus -1", votes)
				}
				if !strings.Contains(words(bt.card(t).msg), "👍 1 · 👎 1") {
					t.Errorf("card says %s\nwant the votes counted", words(bt.card(t).msg))
				}
				mustSay(t, bt.slack.ephemeralsTo(tPriya), "Thanks, noted")
				mustSay(t, bt.slack.ephemeralsTo(tMarcus), "What was?")
			}},
		{"a runbook button without a runbook catalog says so", "",
			func(t *testing.T, bt *botUnderTest, card fakeMessage) {
				bt.click(tPriya, card.ts, ActionRequestApprove, "RUN-0A1B2C|0123456789abcdef")
			},
			func(t *testing.T, bt *botUnderTest) {
				mustSay(t, bt.slack.ephemeralsTo(tPriya), "no runbook catalog is configured")
			}},
		{"a button nightowl does not know changes nothing", "",
			func(t *testing.T, bt *botUnderTest, card fakeMessage) {
				bt.click(tPriya, card.ts, "somebody_elses_button", "x")
			},
			func(t *testing.T, bt *botUnderTest) {
				if calls := bt.slack.recorded("chat.update", "chat.postEphemeral"); len(calls) != 0 {
					t.Errorf("calls %+v, want none", calls)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bt := mustRunBot(t, botOptions{cfg: Config{Escalation: tc.escalation}})
				bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
				wait(tGroupWait + time.Second)
				tc.press(t, bt, bt.card(t))
				tc.check(t, bt)
			})
		})
	}
}

// demoCatalog is a catalog of one runbook that needs one approval, by
// marcus, and has no dry run.
func demoCatalog(t *testing.T) *runbooks.Catalog {
	t.Helper()
	dir := t.TempDir()
	doc := "id: RB-DEMO-001\ntitle: Write a line to a demo file\nplaybook: demo.yml\nrisk: low\napprovals: {required: 1}\ndry_run: false\ntimeout: 2m\n"
	if err := os.WriteFile(filepath.Join(dir, "RB-DEMO-001.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := runbooks.LoadCatalog(dir, runbooks.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestApproveOnTheCardRunsItsRunbookForAnApproverOnly(t *testing.T) {
	cat := demoCatalog(t)
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		runner := runbooks.RunnerFunc(func(_ context.Context, job runbooks.Job, progress func(runbooks.TaskResult)) (runbooks.Result, error) {
			runs.Add(1)
			start := time.Now()
			progress(runbooks.TaskResult{Task: "write the line", Host: "localhost", Status: runbooks.TaskChanged})
			return runbooks.Result{Outcome: runbooks.OutcomeSucceeded, Changed: 1, Started: start, Ended: start.Add(time.Second)}, nil
		})
		bt := mustRunBot(t, botOptions{runbooks: func(live *diagnosis.Live, updates *RunbookUpdates) *runbooks.Service {
			return runbooks.NewService(runbooks.Config{IncidentOpen: live.IsOpen}, cat,
				runbooks.NewPolicy([]string{tMarcus}, nil, nil), runner, newMemStore(), updates)
		}})
		// A critical root-cause candidate posts its card at once; its
		// runbook label makes the card recommend RB-DEMO-001.
		bt.relay(alertOn("DatabaseConnectionPoolExhausted", "order-service", "severity", "critical",
			"root_cause_candidate", "true", "runbook", "RB-DEMO-001"))
		card := bt.card(t)
		value := button(t, card, ActionRunbookApprove)
		mustSay(t, bt.slack.thread(tIncidents, card.ts), "waiting for approval")

		bt.click(tPriya, card.ts, ActionRunbookApprove, value)
		mustSay(t, bt.slack.ephemeralsTo(tPriya), "You cannot approve this run")
		if n := runs.Load(); n != 0 {
			t.Fatalf("%d runs after priya's click, want none: she is no approver", n)
		}

		bt.click(tMarcus, card.ts, ActionRunbookApprove, value)
		wait(time.Second)
		if n := runs.Load(); n != 1 {
			t.Fatalf("%d runs after marcus's click, want 1", n)
		}
		mustSay(t, bt.slack.thread(tIncidents, card.ts), "RB-DEMO-001 (RUN-")
		mustSay(t, bt.slack.thread(tIncidents, card.ts), "succeeded: 1 changed, 0 failed")
		if hasButton(bt.card(t), ActionRunbookApprove) {
			t.Error("the card still offers Approve after the run")
		}
	})
}

// TestRunProgressEditsAreCoalesced: a run's message is edited at most
// once per progressEvery while it runs, whatever the number of tasks.
func TestRunProgressEditsAreCoalesced(t *testing.T) {
	cat := demoCatalog(t)
	synctest.Test(t, func(t *testing.T) {
		const tasks = 20 // one every 500 ms: 10 s of progress
		runner := runbooks.RunnerFunc(func(_ context.Context, job runbooks.Job, progress func(runbooks.TaskResult)) (runbooks.Result, error) {
			start := time.Now()
			for i := range tasks {
				time.Sleep(500 * time.Millisecond)
				progress(runbooks.TaskResult{Task: "task " + string(rune('a'+i)), Host: "localhost", Status: runbooks.TaskOK})
			}
			return runbooks.Result{Outcome: runbooks.OutcomeSucceeded, Started: start, Ended: time.Now()}, nil
		})
		bt := mustRunBot(t, botOptions{runbooks: func(live *diagnosis.Live, updates *RunbookUpdates) *runbooks.Service {
			return runbooks.NewService(runbooks.Config{IncidentOpen: live.IsOpen}, cat,
				runbooks.NewPolicy([]string{tMarcus}, nil, nil), runner, newMemStore(), updates)
		}})
		bt.relay(alertOn("DatabaseConnectionPoolExhausted", "order-service", "severity", "critical",
			"root_cause_candidate", "true", "runbook", "RB-DEMO-001"))
		card := bt.card(t)
		request := bt.slack.thread(tIncidents, card.ts)[1] // after the first burst
		bt.click(tMarcus, card.ts, ActionRunbookApprove, button(t, card, ActionRunbookApprove))
		before := edits(bt, request.ts)
		wait(tasks*500*time.Millisecond + 2*time.Second)
		during := edits(bt, request.ts) - before
		// Its 10 s allow an edit every 3 s (progressEvery) and the ones
		// that say it started and how it ended: far fewer than the tasks.
		if during < 2 || during > 6 {
			t.Errorf("the request's message was edited %d times for %d tasks, want 2 to 6", during, tasks)
		}
		mustSay(t, bt.slack.thread(tIncidents, card.ts), "succeeded")
	})
}

// edits counts the chat.update calls on one message.
func edits(bt *botUnderTest, ts string) int {
	n := 0
	for _, c := range bt.slack.recorded("chat.update") {
		if c.TS == ts {
			n++
		}
	}
	return n
}

func mustSay(t *testing.T, ms []fakeMessage, s string) {
	t.Helper()
	for _, m := range ms {
		if strings.Contains(words(m.msg), s) {
			return
		}
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.msg.Text)
	}
	t.Errorf("no message says %q; got %q", s, got)
}

func count[T comparable](xs []T, x T) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// commander answers every command with its reply, and records what it was asked.
type commander struct {
	reply commands.Reply
	asked []commands.Request
}

func (c *commander) Handle(_ context.Context, r commands.Request) (commands.Reply, error) {
	c.asked = append(c.asked, r)
	return c.reply, nil
}

// slash has user type a command in the incidents channel.
func (bt *botUnderTest) slash(user, command, text string) {
	url := bt.slack.responseURL(tIncidents, user, "")
	bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeSlashCommand,
		Data: slack.SlashCommand{Command: command, Text: text, UserID: user, ChannelID: tIncidents, ResponseURL: url}})
	synctest.Wait()
}

func TestSlashCommandsAreRoutedAndAnswered(t *testing.T) {
	cases := []struct {
		name    string
		command string
		reply   commands.Reply
		check   func(t *testing.T, bt *botUnderTest, c *commander)
	}{
		{"a command nightowl answers goes to the commands, and the answer to the asker", "/diag",
			commands.Reply{Summary: "no open incidents"},
			func(t *testing.T, bt *botUnderTest, c *commander) {
				if len(c.asked) != 1 || c.asked[0].Command != "/diag" || c.asked[0].User != tPriya {
					t.Errorf("the commands were asked %+v, want priya's /diag", c.asked)
				}
				if got := bt.slack.recorded("response_url"); len(got) != 1 || got[0].Public || got[0].Msg.Text != "no open incidents" {
					t.Errorf("answered %+v, want one ephemeral answer through the response_url", got)
				}
			}},
		{"a command nightowl does not know is said so, and the commands are not asked", "/weather",
			commands.Reply{},
			func(t *testing.T, bt *botUnderTest, c *commander) {
				if len(c.asked) != 0 {
					t.Errorf("the commands were asked %+v, want nothing", c.asked)
				}
				mustSay(t, bt.slack.ephemeralsTo(tPriya), "does not know /weather")
			}},
		{"a correction an answer kept is on the record and on the card before the answer is", "/diag",
			commands.Reply{Summary: "noted", Public: true, Corrected: &diagnosis.Correction{RootCause: "postgres-rds", By: tPriya}},
			func(t *testing.T, bt *botUnderTest, c *commander) {
				if n := count(bt.store.kinds(), diagnosis.EventKind("cause_corrected")); n != 1 {
					t.Errorf("%d corrections on the record, want 1", n)
				}
				calls := bt.slack.recorded("chat.update", "response_url")
				if len(calls) != 2 || calls[0].Method != "chat.update" || calls[1].Method != "response_url" {
					t.Errorf("calls %+v, want the card updated, then the answer", calls)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := &commander{reply: tc.reply}
				bt := mustRunBot(t, botOptions{commands: c})
				bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
				wait(tGroupWait + time.Second)
				if tc.reply.Corrected != nil {
					c.reply.Corrected.Incident = bt.live.Open()[0].ID
				}
				bt.slash(tPriya, tc.command, "")
				tc.check(t, bt, c)
			})
		})
	}
}
