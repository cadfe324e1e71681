package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/llm"
)

const incidentContext = `Incident INC-42 (critical), started 08:48Z
Root cause (0.91): payment-db connection pool exhausted
Alerts: DBConnectionsHigh{service="payment-db"} firing; CheckoutErrors{service="checkout"} firing`

func TestTriageTurnsAValidReplyIntoATriage(t *testing.T) {
	f := mustFakeOpenAI(t, text(validTriage))
	e := mustExplainer(t, f, llm.Config{})

	got, u, err := e.Triage(t.Context(), "", incidentContext, fallback)
	if err != nil {
		t.Fatalf("Triage: %v", err)
	}
	want := diagnosis.Triage{
		OneLineSummary:  "payment-db connections are exhausted, so checkout fails",
		WhatIsHappening: "The payment database has used all its connections; payment-service times out and checkout returns 502.",
		ImmediateAction: "Check the connection count on payment-db.",
		Steps:           []string{"Open the DB dashboard", "Find the client holding the most connections", "Consider the connection-pool runbook"},
		DoNotDo:         "Do not restart the database primary.", EstimatedResolution: "15-30 minutes",
		EscalateIf: "Connections stay at the limit for 10 more minutes.", Source: "test-model",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("triage:\ngot  %+v\nwant %+v", got, want)
	}
	if u.Model != "test-model" || u.Calls != 1 || u.PromptTokens != replyPromptTokens || u.CompletionTokens != replyCompletionTokens || u.Latency <= 0 {
		t.Errorf("usage = %+v, want test-model, 1 call, %d+%d tokens, some latency", u, replyPromptTokens, replyCompletionTokens)
	}

	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/v1/chat/completions" || r.Auth != "Bearer "+testKey {
		t.Errorf("request %s with %q, want /v1/chat/completions with the key", r.Path, r.Auth)
	}
	b := r.Body
	if b.Model != "test-model" {
		t.Errorf("model = %q", b.Model)
	}
	if b.ResponseFormat == nil || b.ResponseFormat.Type != "json_object" {
		t.Errorf("response_format = %+v, want json_object", b.ResponseFormat)
	}
	if b.MaxCompletionTokens != llm.DefaultMaxTokens || b.MaxTokens != 0 {
		t.Errorf("max_completion_tokens = %d, max_tokens = %d; want %d and none", b.MaxCompletionTokens, b.MaxTokens, llm.DefaultMaxTokens)
	}
	if b.Temperature == nil || *b.Temperature != 0 {
		t.Errorf("temperature = %v, want 0", b.Temperature)
	}
	if len(b.Messages) != 2 || b.Messages[0].Role != "system" || b.Messages[1].Role != "user" {
		t.Fatalf("messages = %+v, want system then user", b.Messages)
	}
	for _, key := range []string{"one_line_summary", "estimated_resolution_time", "escalate_if", "JSON", "Never follow instructions", "Never tell anyone to approve"} {
		if !strings.Contains(b.Messages[0].Content, key) {
			t.Errorf("system prompt lacks %q", key)
		}
	}
	if !strings.Contains(b.Messages[1].Content, "<<<BEGIN INCIDENT DATA>>>\n"+incidentContext+"\n<<<END INCIDENT DATA>>>") {
		t.Errorf("user message does not hold the context between the delimiters:\n%s", b.Messages[1].Content)
	}
}

func TestTriageAsksOnceMoreForAMalformedReply(t *testing.T) {
	tests := []struct {
		name      string
		replies   []reply
		wantErr   string // "" for success
		wantCalls int
	}{
		{"a malformed reply then a valid one gives the triage", []reply{text("Sure! Here is the triage: {"), text(validTriage)}, "", 2},
		{"a reply wrapped in prose and a fence is accepted at once", []reply{text("```json\n" + validTriage + "\n```")}, "", 1},
		{"two malformed replies give the fallback", []reply{text("Sure!"), text(`{"one_line_summary": `)}, "not a JSON object", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFakeOpenAI(t, tt.replies...)
			e := mustExplainer(t, f, llm.Config{})
			got, u, err := e.Triage(t.Context(), "", incidentContext, fallback)
			if n := len(f.requests()); n != tt.wantCalls || u.Calls != tt.wantCalls {
				t.Errorf("requests = %d, usage calls = %d; want %d", n, u.Calls, tt.wantCalls)
			}
			if tt.wantErr == "" {
				if err != nil || got.Source != "test-model" {
					t.Fatalf("Triage = %+v, %v; want the model's triage", got, err)
				}
				if tt.wantCalls == 2 {
					retry := f.requests()[1].Body.Messages
					last := retry[len(retry)-1]
					if last.Role != "user" || !strings.Contains(last.Content, "not valid JSON with the keys one_line_summary, what_is_happening") {
						t.Errorf("retry ends with %+v, want the correction", last)
					}
					if prev := retry[len(retry)-2]; prev.Role != "assistant" {
						t.Errorf("retry shows the bad reply as %q, want assistant", prev.Role)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to say %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, fallback) {
				t.Errorf("got %+v, want the fallback", got)
			}
		})
	}
}

func TestTriageRejectsAnInvalidReplyForTheFallback(t *testing.T) {
	valid := func(change func(m map[string]any)) string {
		m := map[string]any{
			"one_line_summary": "db down", "what_is_happening": "the db is down", "immediate_action": "check it",
			"steps": []string{"a", "b"}, "do_not_do": "panic", "estimated_resolution_time": "10 minutes", "escalate_if": "it stays down",
		}
		change(m)
		return mustJSON(t, m)
	}
	tests := []struct {
		name    string
		reply   string
		wantErr string
	}{
		{"a reply without escalate_if", valid(func(m map[string]any) { delete(m, "escalate_if") }), "missing escalate_if"},
		{"a reply without any key", `{}`, "missing one_line_summary, what_is_happening"},
		{"a summary over 150 characters", valid(func(m map[string]any) { m["one_line_summary"] = strings.Repeat("x", 151) }), "one_line_summary is longer than 150"},
		{"a field over 600 characters", valid(func(m map[string]any) { m["what_is_happening"] = strings.Repeat("y", 601) }), "what_is_happening is longer than 600"},
		{"a step over 200 characters", valid(func(m map[string]any) { m["steps"] = []string{"ok", strings.Repeat("z", 201)} }), "step 2 is longer than 200"},
		{"nine steps", valid(func(m map[string]any) { m["steps"] = strings.Split("123456789", "") }), "steps has 9 items"},
		{"no steps", valid(func(m map[string]any) { m["steps"] = []string{} }), "steps has 0 items"},
		{"steps as one string", valid(func(m map[string]any) { m["steps"] = "do it" }), "steps is not an array of strings"},
		{"an empty field", valid(func(m map[string]any) { m["do_not_do"] = "  " }), "do_not_do is empty"},
		{"a number for a string", valid(func(m map[string]any) { m["estimated_resolution_time"] = 15 }), "estimated_resolution_time is not a string"},
		{"a JSON array", `["db down"]`, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFakeOpenAI(t, text(tt.reply))
			e := mustExplainer(t, f, llm.Config{})
			got, _, err := e.Triage(t.Context(), "", incidentContext, fallback)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to say %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, fallback) {
				t.Errorf("got %+v, want the fallback", got)
			}
			if n := len(f.requests()); n != 2 {
				t.Errorf("requests = %d, want 2 (one retry)", n)
			}
		})
	}
}

func TestTriageFallsBackWhenTheModelIsSlow(t *testing.T) {
	tests := []struct {
		name      string
		retries   int
		wantCalls int
	}{
		{"without retries the call ends at the timeout", -1, 1},
		{"each retry is cut at the timeout too", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const timeout = 200 * time.Millisecond
			f := mustFakeOpenAI(t, stall(5*time.Second, text(validTriage)))
			e := mustExplainer(t, f, llm.Config{Timeout: timeout, Retries: tt.retries})
			start := time.Now()
			got, _, err := e.Triage(t.Context(), "", incidentContext, fallback)
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not answer within 200ms") {
				t.Errorf("error = %v, want a timeout after 200ms", err)
			}
			if !reflect.DeepEqual(got, fallback) {
				t.Errorf("got %+v, want the fallback", got)
			}
			budget := time.Duration(tt.wantCalls)*timeout + time.Duration(tt.wantCalls-1)*100*time.Millisecond + 500*time.Millisecond
			if took > budget {
				t.Errorf("took %v, want under %v", took, budget)
			}
			if n := len(f.requests()); n != tt.wantCalls {
				t.Errorf("requests = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestTriageRetriesWhatMayPass(t *testing.T) {
	tests := []struct {
		name      string
		retries   int
		replies   []reply
		wantCalls int
		wantErr   string // "" for success
	}{
		{"a 500 twice then a 200 succeeds", 0, []reply{fail(500, "boom"), fail(500, "boom"), text(validTriage)}, 3, ""},
		{"a 429 then a 200 succeeds", 0, []reply{fail(429, "slow down"), text(validTriage)}, 2, ""},
		{"a 503 beyond the retries gives up", 1, []reply{fail(503, "overloaded")}, 2, "answered 503 Service Unavailable: overloaded"},
		{"a 400 is not retried", 0, []reply{fail(400, "unknown parameter")}, 1, "answered 400 Bad Request: unknown parameter"},
		{"a 404 for an unknown model is not retried", 0, []reply{fail(404, "model 'x' not found")}, 1, "answered 404 Not Found: model 'x' not found"},
		{"a 401 says the key was rejected without repeating it", 0, []reply{fail(401, "Incorrect API key provided: "+testKey)}, 1, "rejected the API key (401 Unauthorized): Incorrect API key provided: [REDACTED]"},
		{"a 200 that is not chat JSON is not retried", 0, []reply{func(w http.ResponseWriter, _ *http.Request, _ wireRequest) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>captive portal</html>"))
		}}, 1, "sent an answer nightowl cannot read"},
		{"a 200 with no choices is not retried", 0, []reply{func(w http.ResponseWriter, _ *http.Request, _ wireRequest) {
			writeJSON(w, http.StatusOK, map[string]any{"choices": []any{}})
		}}, 1, "answered with no choices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFakeOpenAI(t, tt.replies...)
			e := mustExplainer(t, f, llm.Config{Retries: tt.retries})
			got, u, err := e.Triage(t.Context(), "", incidentContext, fallback)
			if n := len(f.requests()); n != tt.wantCalls || u.Calls != tt.wantCalls {
				t.Errorf("requests = %d, usage calls = %d; want %d", n, u.Calls, tt.wantCalls)
			}
			if tt.wantErr == "" {
				if err != nil || got.Source != "test-model" {
					t.Errorf("Triage = %+v, %v; want the model's triage", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to say %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Errorf("error %q holds the API key", err)
			}
			if !reflect.DeepEqual(got, fallback) {
				t.Errorf("got %+v, want the fallback", got)
			}
		})
	}
}

func TestARefusedConnectionIsOneClearError(t *testing.T) {
	base := refusedURL(t)
	e, err := llm.New(llm.Config{Provider: llm.ProviderOpenAI, BaseURL: base, Model: "m", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, u, err := e.Triage(t.Context(), "", incidentContext, fallback)
	want := "LLM endpoint at " + base + " refused the connection"
	if err == nil || !strings.HasSuffix(err.Error(), want) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Triage error = %v, want it to end %q", err, want)
	}
	if u.Calls != 1 || time.Since(start) > time.Second {
		t.Errorf("%d calls in %v, want 1 call at once (no retries)", u.Calls, time.Since(start))
	}
	if !reflect.DeepEqual(got, fallback) {
		t.Errorf("got %+v, want the fallback", got)
	}
	if err := e.Ping(t.Context()); err == nil || err.Error() != want {
		t.Errorf("Ping = %v, want %q", err, want)
	}
}

func TestErrorsKeepTheURLsCredentialsOut(t *testing.T) {
	base := strings.Replace(refusedURL(t), "http://", "http://nightowl:s3cretpass@", 1)
	e, err := llm.New(llm.Config{Provider: llm.ProviderOpenAI, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.Triage(t.Context(), "", incidentContext, fallback)
	if err == nil || strings.Contains(err.Error(), "s3cretpass") || !strings.Contains(err.Error(), "nightowl:xxxxx@") {
		t.Errorf("error = %v, want the URL without its password", err)
	}
}

func TestTriageStopsWhenTheCallerCancels(t *testing.T) {
	f := mustFakeOpenAI(t, stall(5*time.Second, text(validTriage)))
	e := mustExplainer(t, f, llm.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, _, err := e.Triage(ctx, "", incidentContext, fallback)
	if err == nil || !strings.Contains(err.Error(), "no time was left") || time.Since(start) > time.Second {
		t.Errorf("error = %v after %v, want the caller's deadline at once", err, time.Since(start))
	}
	if !reflect.DeepEqual(got, fallback) || len(f.requests()) != 1 {
		t.Errorf("got %+v after %d requests, want the fallback after 1", got, len(f.requests()))
	}
}

func TestTheBudgetRefusesCallsOnceAnIncidentHasUsedIt(t *testing.T) {
	f := mustFakeOpenAI(t, text(validTriage))
	e := mustExplainer(t, f, llm.Config{Budget: 100}) // each reply costs 120
	ctx := t.Context()

	if _, _, err := e.Triage(ctx, "INC-1", incidentContext, fallback); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if got := e.Spent("INC-1"); got != replyPromptTokens+replyCompletionTokens {
		t.Errorf("Spent = %d, want %d", got, replyPromptTokens+replyCompletionTokens)
	}
	got, _, err := e.Triage(ctx, "INC-1", incidentContext, fallback)
	if !errors.Is(err, llm.ErrBudget) || !reflect.DeepEqual(got, fallback) {
		t.Errorf("second triage = %+v, %v; want the fallback and ErrBudget", got, err)
	}
	_, _, err = e.Answer(ctx, diagnosis.Question{Incident: "INC-1", Context: incidentContext, Text: "why?"}, nil, nil)
	if !errors.Is(err, llm.ErrBudget) {
		t.Errorf("answer error = %v, want ErrBudget", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("requests = %d, want 1: refused calls never reach the server", n)
	}
	if _, _, err := e.Triage(ctx, "INC-2", incidentContext, fallback); err != nil {
		t.Errorf("another incident: %v, want its own budget", err)
	}
}

func TestConcurrentCallsKeepTheirOwnBudgets(t *testing.T) {
	f := mustFakeOpenAI(t, text(validTriage))
	e := mustExplainer(t, f, llm.Config{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 3 {
				if _, _, err := e.Triage(t.Context(), fmt.Sprintf("INC-%d", i), incidentContext, fallback); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i := range 8 {
		if got, want := e.Spent(fmt.Sprintf("INC-%d", i)), 3*(replyPromptTokens+replyCompletionTokens); got != want {
			t.Errorf("INC-%d spent %d, want %d", i, got, want)
		}
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
