package llm_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/llm"
)

// testKey is the API key the tests configure; it must never show up in
// errors or logs.
const testKey = "sk-test-0123456789abcdefghij"

// Token counts every scripted reply reports.
const (
	replyPromptTokens     = 100
	replyCompletionTokens = 20
)

// fakeOpenAI is an OpenAI-compatible chat-completions endpoint on
// 127.0.0.1 that answers from a script and records what it receives.
type fakeOpenAI struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	replies []reply // in order; the last one repeats
}

// received is one request as the server saw it.
type received struct {
	Method, Path, Auth string
	Raw                []byte
	Body               wireRequest
}

// wireRequest is the part of a chat-completions request the tests read.
type wireRequest struct {
	Model          string        `json:"model"`
	Messages       []wireMessage `json:"messages"`
	ResponseFormat *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	MaxCompletionTokens int      `json:"max_completion_tokens"`
	MaxTokens           int      `json:"max_tokens"`
	Temperature         *float64 `json:"temperature"`
	Tools               []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string         `json:"name"`
			Description string         `json:"description"`
			Parameters  map[string]any `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice any `json:"tool_choice"`
}

type wireMessage struct {
	Role       string         `json:"role"`
	Content    string         `json:"content"`
	ToolCalls  []wireToolCall `json:"tool_calls"`
	ToolCallID string         `json:"tool_call_id"`
}

type wireToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// reply answers one request.
type reply func(w http.ResponseWriter, r *http.Request, body wireRequest)

// mustFakeOpenAI starts a server answering with replies in order.
func mustFakeOpenAI(tb testing.TB, replies ...reply) *fakeOpenAI {
	tb.Helper()
	f := &fakeOpenAI{replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.Close)
	return f
}

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body wireRequest
	if r.Method == http.MethodPost {
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
			return
		}
	}
	f.mu.Lock()
	f.got = append(f.got, received{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Raw: raw, Body: body})
	n := len(f.got)
	f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{map[string]any{"id": "test-model", "object": "model"}}})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions" && len(f.replies) > 0:
		f.replies[min(n, len(f.replies))-1](w, r, body)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"message": "no route " + r.URL.Path}})
	}
}

// requests returns what the server has received so far.
func (f *fakeOpenAI) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

// sent is every request body the server received, in one string.
func (f *fakeOpenAI) sent() string {
	var b strings.Builder
	for _, r := range f.requests() {
		b.Write(r.Raw)
		b.WriteByte('\n')
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func usage() map[string]any {
	return map[string]any{"prompt_tokens": replyPromptTokens, "completion_tokens": replyCompletionTokens,
		"total_tokens": replyPromptTokens + replyCompletionTokens}
}

// text answers with an assistant message.
func text(content string) reply {
	return func(w http.ResponseWriter, _ *http.Request, _ wireRequest) {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": content}}},
			"usage": usage(),
		})
	}
}

// toolCall asks for one tool call.
func toolCall(id, name, arguments string) reply {
	return func(w http.ResponseWriter, _ *http.Request, _ wireRequest) {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": "chatcmpl-2", "object": "chat.completion", "model": "test-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls",
				"message": map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{
					map[string]any{"id": id, "type": "function", "function": map[string]any{"name": name, "arguments": arguments}},
				}}}},
			"usage": usage(),
		})
	}
}

// fail answers with an HTTP error in OpenAI's error envelope.
func fail(code int, message string) reply {
	return func(w http.ResponseWriter, _ *http.Request, _ wireRequest) {
		writeJSON(w, code, map[string]any{"error": map[string]any{"message": message, "type": "server_error"}})
	}
}

// stall answers after d, or never if the client gives up first.
func stall(d time.Duration, then reply) reply {
	return func(w http.ResponseWriter, r *http.Request, body wireRequest) {
		select {
		case <-r.Context().Done():
		case <-time.After(d):
			then(w, r, body)
		}
	}
}

// validTriage is a reply that passes every check.
const validTriage = `{
 "one_line_summary": "payment-db connections are exhausted, so checkout fails",
 "what_is_happening": "The payment database has used all its connections; payment-service times out and checkout returns 502.",
 "immediate_action": "Check the connection count on payment-db.",
 "steps": ["Open the DB dashboard", "Find the client holding the most connections", "Consider the connection-pool runbook"],
 "do_not_do": "Do not restart the database primary.",
 "estimated_resolution_time": "15-30 minutes",
 "escalate_if": "Connections stay at the limit for 10 more minutes."
}`

// fallback is the deterministic triage the caller passes.
var fallback = diagnosis.Triage{OneLineSummary: "rules say: payment-db", Steps: []string{"look"}, Source: "rules"}

// mustExplainer builds an Explainer for the fake server; cfg's zero fields
// get test defaults.
func mustExplainer(tb testing.TB, f *fakeOpenAI, cfg llm.Config) *llm.Explainer {
	tb.Helper()
	if cfg.Provider == "" {
		cfg.Provider = llm.ProviderOpenAI
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = f.URL + "/v1"
	}
	if cfg.Model == "" && cfg.Provider == llm.ProviderOpenAI {
		cfg.Model = "test-model"
	}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	e, err := llm.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return e
}

// refusedURL is a base URL nothing listens on.
func refusedURL(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr + "/v1"
}

// logBuffer is a goroutine-safe sink for a slog text handler.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func debugLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
