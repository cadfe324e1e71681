package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func mustTurns(tb testing.TB, db *DB, incident string, limit int) []diagnosis.Turn {
	tb.Helper()
	got, err := db.Turns(context.Background(), incident, limit)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

func TestTurnsComeBackInOrder(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	var all []diagnosis.Turn
	for i, text := range []string{"why is checkout down?", "orders-db ran out of connections.", "what do I do? 🦉", "run RB-DB-001.", "done"} {
		turn := diagnosis.Turn{Role: "user", Author: "U0ALICE", Text: text, At: t0.Add(time.Duration(i) * time.Minute).In(tokyo), Incident: "inc-1"}
		var u diagnosis.Usage
		if i%2 == 1 {
			turn.Role, turn.Author = "assistant", ""
			u = diagnosis.Usage{Model: "gpt-test", Calls: 1, PromptTokens: 100 + i, CompletionTokens: 20, Latency: time.Second}
		}
		if err := db.AppendTurn(ctx, turn, u); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendTurn(ctx, diagnosis.Turn{Role: "user", Text: "elsewhere", At: t0, Incident: "inc-2"}, diagnosis.Usage{}); err != nil {
			t.Fatal(err)
		}
		turn.At = turn.At.UTC()
		all = append(all, turn)
	}

	for _, tc := range []struct {
		name  string
		limit int
		want  []diagnosis.Turn
	}{
		{"no limit returns the whole conversation, times in UTC", 0, all},
		{"a negative limit returns the whole conversation", -1, all},
		{"a limit returns the last turns, oldest first", 2, all[3:]},
		{"a limit past the end returns them all", 50, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustEqual(t, "Turns", mustTurns(t, db, "inc-1", tc.limit), tc.want)
		})
	}
	t.Run("an incident without a conversation has no turns", func(t *testing.T) {
		if got := mustTurns(t, db, "inc-none", 0); len(got) != 0 {
			t.Errorf("Turns(inc-none) = %v, want none", got)
		}
	})
}

func TestAppendTurnKeepsTheModelsCost(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	u := diagnosis.Usage{Model: "llama3", Calls: 2, PromptTokens: 1200, CompletionTokens: 345, Latency: 1234567890 * time.Nanosecond}
	if err := db.AppendTurn(ctx, diagnosis.Turn{Role: "assistant", Text: "it is orders-db", At: t0, Incident: "inc-1"}, u); err != nil {
		t.Fatal(err)
	}
	var (
		model                  string
		prompt, completion, ms int64
	)
	if err := db.read.QueryRowContext(ctx, `SELECT model, prompt_tokens, completion_tokens, latency_ms FROM conversation_turns`).
		Scan(&model, &prompt, &completion, &ms); err != nil {
		t.Fatal(err)
	}
	if model != "llama3" || prompt != 1200 || completion != 345 || ms != 1235 {
		t.Errorf("stored cost %q %d+%d tokens %dms, want llama3 1200+345 tokens 1235ms (rounded)", model, prompt, completion, ms)
	}
}

func TestAppendTurnRefuses(t *testing.T) {
	ctx := context.Background()
	ok := diagnosis.Turn{Role: "user", Author: "U0ALICE", Text: "hi", At: t0, Incident: "inc-1"}
	for _, tc := range []struct {
		name    string
		edit    func(*diagnosis.Turn)
		wantErr string
	}{
		{"a turn of no incident", func(t *diagnosis.Turn) { t.Incident = "" }, "empty incident"},
		{"a turn with no role", func(t *diagnosis.Turn) { t.Role = "" }, `role ""`},
		{"a system turn", func(t *diagnosis.Turn) { t.Role = "system" }, `role "system"`},
		{"a text over 64 KiB", func(t *diagnosis.Turn) { t.Text = strings.Repeat("x", 64<<10+1) }, "65537 bytes"},
		{"a time past year 9999", func(t *diagnosis.Turn) { t.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "outside years"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpen(t)
			turn := ok
			tc.edit(&turn)
			err := db.AppendTurn(ctx, turn, diagnosis.Usage{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("AppendTurn = %v, want an error containing %q", err, tc.wantErr)
			}
			if got := mustTurns(t, db, turn.Incident, 0); len(got) != 0 {
				t.Errorf("a refused turn was kept: %v", got)
			}
		})
	}

	t.Run("a text of exactly 64 KiB is kept whole", func(t *testing.T) {
		db := MustOpen(t)
		turn := ok
		turn.Text = strings.Repeat("é", 32<<10) // two bytes each
		if err := db.AppendTurn(ctx, turn, diagnosis.Usage{}); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "Turns", mustTurns(t, db, "inc-1", 0), []diagnosis.Turn{turn})
	})
}

func TestConversationRecordsAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	if err := db.AppendTurn(ctx, diagnosis.Turn{Role: "user", Text: "hi", At: t0, Incident: "inc-1"}, diagnosis.Usage{}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordModelCall(ctx, "inc-1", "answer", diagnosis.Usage{Model: "m", Calls: 1}, nil, t0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sql  string
	}{
		{"a turn cannot be changed", `UPDATE conversation_turns SET text = 'rewritten'`},
		{"a turn cannot be removed", `DELETE FROM conversation_turns`},
		{"a model call cannot be changed", `UPDATE model_calls SET prompt_tokens = 0`},
		{"a model call cannot be removed", `DELETE FROM model_calls`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.write.ExecContext(ctx, tc.sql)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("%s: err = %v, want append-only", tc.sql, err)
			}
		})
	}
	if got := mustTurns(t, db, "inc-1", 0); len(got) != 1 || got[0].Text != "hi" {
		t.Errorf("turns after the attempts: %v", got)
	}
	if u, err := db.ModelUsage(ctx, "inc-1"); err != nil || u.Calls != 1 {
		t.Errorf("model usage after the attempts: %+v, %v", u, err)
	}
}

func TestConversationMode(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	mode := func(incident string) bool {
		t.Helper()
		on, err := db.Conversation(ctx, incident)
		if err != nil {
			t.Fatal(err)
		}
		return on
	}
	if mode("inc-1") {
		t.Error("conversation mode is on before anyone set it")
	}
	for i, on := range []bool{true, true, false, true} {
		if err := db.SetConversation(ctx, "inc-1", on, "U0ALICE", t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := mode("inc-1"); got != on {
			t.Errorf("after setting %v (step %d), Conversation = %v", on, i, got)
		}
	}
	if mode("inc-2") {
		t.Error("turning inc-1's conversation on turned on inc-2's")
	}
	if err := db.SetConversation(ctx, "", true, "U0ALICE", t0); err == nil {
		t.Error("SetConversation of no incident succeeded")
	}
}

func TestModelUsage(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)

	got, err := db.ModelUsage(ctx, "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "usage with no calls", got, diagnosis.Usage{})

	for i, c := range []struct {
		purpose string
		u       diagnosis.Usage
		err     error
	}{
		{"triage", diagnosis.Usage{Model: "gpt-a", Calls: 1, PromptTokens: 1000, CompletionTokens: 200, Latency: 1500 * time.Microsecond}, nil},
		{"answer", diagnosis.Usage{Model: "gpt-b", Calls: 3, PromptTokens: 3000, CompletionTokens: 400, Latency: 2 * time.Second}, nil},
		{"answer", diagnosis.Usage{Calls: 1, PromptTokens: 50, Latency: 30 * time.Second}, context.DeadlineExceeded},
	} {
		if err := db.RecordModelCall(ctx, "inc-1", c.purpose, c.u, c.err, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordModelCall(ctx, "inc-2", "triage", diagnosis.Usage{Model: "other", Calls: 7, PromptTokens: 7}, nil, t0); err != nil {
		t.Fatal(err)
	}
	got, err = db.ModelUsage(ctx, "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	// 1.5ms rounds to 2ms; the failed call has no model name, so the one before it names the model.
	mustEqual(t, "usage of inc-1", got, diagnosis.Usage{Model: "gpt-b", Calls: 5, PromptTokens: 4050, CompletionTokens: 600, Latency: 32002 * time.Millisecond})

	t.Run("a failed call is kept with its error", func(t *testing.T) {
		var (
			ok  bool
			msg string
		)
		if err := db.read.QueryRowContext(ctx, `SELECT ok, error FROM model_calls WHERE incident_id = 'inc-1' ORDER BY id`).Scan(&ok, &msg); err != nil {
			t.Fatal(err)
		}
		if !ok || msg != "" {
			t.Errorf("the first call: ok %v error %q, want ok and no error", ok, msg)
		}
		if err := db.read.QueryRowContext(ctx, `SELECT ok, error FROM model_calls WHERE incident_id = 'inc-1' ORDER BY id DESC`).Scan(&ok, &msg); err != nil {
			t.Fatal(err)
		}
		if ok || msg != context.DeadlineExceeded.Error() {
			t.Errorf("the failed call: ok %v error %q, want not ok and %q", ok, msg, context.DeadlineExceeded)
		}
	})

	for _, tc := range []struct {
		name, incident, purpose, wantErr string
	}{
		{"a call of no incident is refused", "", "answer", "empty incident"},
		{"a call for another purpose is refused", "inc-1", "chat", `purpose "chat"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.RecordModelCall(ctx, tc.incident, tc.purpose, diagnosis.Usage{Calls: 1}, nil, t0)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("RecordModelCall = %v, want an error containing %q", err, tc.wantErr)
			}
			if got, _ := db.ModelUsage(ctx, "inc-1"); got.Calls != 5 {
				t.Errorf("a refused call was counted: %+v", got)
			}
		})
	}
}

func TestTriageKeepsTheLatest(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)

	_, _, err := db.Triage(ctx, "inc-1")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "inc-1") {
		t.Fatalf("Triage before any was saved: %v, want ErrNotFound naming inc-1", err)
	}

	llm := diagnosis.Triage{
		OneLineSummary: "orders-db ran out of connections", WhatIsHappening: `checkout "fails"`, ImmediateAction: "run RB-DB-001",
		Steps: []string{"open the runbook", "approve it 🦉"}, DoNotDo: "restart checkout", EstimatedResolution: "10 minutes",
		EscalateIf: "errors stay up", Source: "gpt-test",
	}
	mustAllSet(t, llm)
	rules := diagnosis.Triage{OneLineSummary: "kafka is down", Steps: []string{}, Source: "rules"}

	for _, tc := range []struct {
		name    string
		key     string
		triage  diagnosis.Triage
		at      time.Time
		wantKey string
		want    diagnosis.Triage
	}{
		{"the first triage is kept whole", "orders-db|RB-DB-001", llm, t0, "orders-db|RB-DB-001", llm},
		{"a newer triage replaces it", "kafka|", rules, t0.Add(time.Minute), "kafka|", rules},
		{"an older triage does not", "orders-db|RB-DB-001", llm, t0.Add(30 * time.Second), "kafka|", rules},
		{"one made at the same time does", "orders-db|RB-DB-001", llm, t0.Add(time.Minute), "orders-db|RB-DB-001", llm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.SaveTriage(ctx, "inc-1", tc.key, tc.triage, tc.at); err != nil {
				t.Fatal(err)
			}
			key, got, err := db.Triage(ctx, "inc-1")
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "key", key, tc.wantKey)
			mustEqual(t, "triage", got, tc.want)
		})
	}

	if _, _, err := db.Triage(ctx, "inc-2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Triage of another incident: %v, want ErrNotFound", err)
	}
	if err := db.SaveTriage(ctx, "", "k", rules, t0); err == nil {
		t.Error("SaveTriage of no incident succeeded")
	}
}

func TestVotes(t *testing.T) {
	ctx := context.Background()
	type vote struct {
		user, rootCause string
		vote            int
		at              time.Duration
	}
	for _, tc := range []struct {
		name           string
		votes          []vote
		wantUp, wantDn int
	}{
		{"no votes", nil, 0, 0},
		{"one of each", []vote{{"U1", "orders-db", 1, 0}, {"U2", "orders-db", -1, 0}}, 1, 1},
		{"a person's latest vote wins", []vote{{"U1", "orders-db", 1, 0}, {"U1", "orders-db", -1, time.Minute}}, 0, 1},
		{"a person voting twice the same way counts once", []vote{{"U1", "orders-db", 1, 0}, {"U1", "orders-db", 1, time.Minute}}, 1, 0},
		{"an earlier vote arriving late does not replace a later one", []vote{{"U1", "orders-db", -1, time.Minute}, {"U1", "orders-db", 1, 0}}, 0, 1},
		{"votes on every root cause count", []vote{{"U1", "orders-db", 1, 0}, {"U2", "kafka", 1, 0}, {"U3", "kafka", -1, 0}}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpen(t)
			for _, v := range tc.votes {
				if err := db.Vote(ctx, "inc-1", v.user, v.vote, v.rootCause, t0.Add(v.at)); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Vote(ctx, "inc-2", "U9", -1, "orders-db", t0); err != nil {
				t.Fatal(err)
			}
			up, down, err := db.Votes(ctx, "inc-1")
			if err != nil {
				t.Fatal(err)
			}
			if up != tc.wantUp || down != tc.wantDn {
				t.Errorf("Votes = 👍%d 👎%d, want 👍%d 👎%d", up, down, tc.wantUp, tc.wantDn)
			}
		})
	}

	for _, tc := range []struct {
		name, incident, user string
		vote                 int
		wantErr              string
	}{
		{"a vote of zero", "inc-1", "U1", 0, "vote 0"},
		{"a vote of two", "inc-1", "U1", 2, "vote 2"},
		{"a vote of minus two", "inc-1", "U1", -2, "vote -2"},
		{"a vote by nobody", "inc-1", "", 1, "empty user"},
		{"a vote on no incident", "", "U1", 1, "empty incident"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			db := MustOpen(t)
			err := db.Vote(ctx, tc.incident, tc.user, tc.vote, "orders-db", t0)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Vote = %v, want an error containing %q", err, tc.wantErr)
			}
			if up, down, _ := db.Votes(ctx, tc.incident); up != 0 || down != 0 {
				t.Errorf("a refused vote was counted: 👍%d 👎%d", up, down)
			}
		})
	}
}
