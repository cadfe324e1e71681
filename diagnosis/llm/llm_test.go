package llm_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/llm"
)

func TestNewRefusesABadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     llm.Config
		wantErr string
	}{
		{"an unknown provider", llm.Config{Provider: "anthropic"}, `LLM provider "anthropic": want "openai" or "ollama"`},
		{"no provider", llm.Config{}, `LLM provider "": want`},
		{"a base URL without a scheme", llm.Config{Provider: "openai", BaseURL: "localhost:8080/v1", APIKey: "k"}, "scheme must be http or https"},
		{"a base URL without a host", llm.Config{Provider: "ollama", BaseURL: "http:///v1"}, "no host"},
		{"OpenAI itself without a key", llm.Config{Provider: "openai"}, "needs an API key"},
		{"a negative timeout", llm.Config{Provider: "ollama", Timeout: -1}, "must not be negative"},
		{"a negative max tokens", llm.Config{Provider: "ollama", MaxTokens: -1}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := llm.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New = %v, want an error saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewFillsInDefaults(t *testing.T) {
	tests := []struct {
		name      string
		cfg       llm.Config
		wantModel string
	}{
		{"openai defaults to gpt-4o-mini", llm.Config{Provider: "openai", APIKey: "k"}, llm.DefaultOpenAIModel},
		{"ollama defaults to llama3.1", llm.Config{Provider: "Ollama"}, llm.DefaultOllamaModel},
		{"a model given is kept", llm.Config{Provider: "ollama", Model: "qwen2.5:7b"}, "qwen2.5:7b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := llm.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if e.Model() != tt.wantModel {
				t.Errorf("model = %q, want %q", e.Model(), tt.wantModel)
			}
		})
	}
}

func TestOllamaIsAskedThroughItsOpenAICompatibleAPI(t *testing.T) {
	f := mustFakeOpenAI(t, text(validTriage))
	e := mustExplainer(t, f, llm.Config{Provider: llm.ProviderOllama, BaseURL: f.URL, APIKey: "-"})

	got, _, err := e.Triage(t.Context(), "", incidentContext, fallback)
	if err != nil || got.Source != llm.DefaultOllamaModel {
		t.Fatalf("Triage = %+v, %v", got, err)
	}
	if err := e.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].Path != "/v1/chat/completions" || reqs[1].Method != http.MethodGet || reqs[1].Path != "/v1/models" {
		t.Fatalf("requests = %+v, want POST /v1/chat/completions then GET /v1/models", reqs)
	}
	b := reqs[0].Body
	if b.Model != llm.DefaultOllamaModel || b.MaxTokens != llm.DefaultMaxTokens || b.MaxCompletionTokens != 0 {
		t.Errorf("model %q, max_tokens %d, max_completion_tokens %d; want llama3.1 with the legacy max_tokens field (Ollama reads only that)",
			b.Model, b.MaxTokens, b.MaxCompletionTokens)
	}
}

func TestOllamaWithoutAKeyGetsADummyOne(t *testing.T) {
	f := mustFakeOpenAI(t, text("ok"))
	e, err := llm.New(llm.Config{Provider: llm.ProviderOllama, BaseURL: f.URL + "/v1/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Answer(t.Context(), diagnosis.Question{Context: "c", Text: "q"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if r := f.requests()[0]; r.Path != "/v1/chat/completions" || !strings.HasPrefix(r.Auth, "Bearer ") || len(r.Auth) <= len("Bearer ") {
		t.Errorf("request %s with %q, want /v1/chat/completions with some bearer token", r.Path, r.Auth)
	}
}

func TestPingSaysWhatIsWrong(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string // "" for success
	}{
		{"a models list is fine", nil, ""},
		{"a rejected key is said so", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }, "rejected the API key (401 Unauthorized)"},
		{"a server error is said so", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, "answered 502 Bad Gateway to a list of models"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFakeOpenAI(t)
			base := f.URL + "/v1"
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				t.Cleanup(srv.Close)
				base = srv.URL + "/v1"
			}
			e := mustExplainer(t, f, llm.Config{BaseURL: base})
			err := e.Ping(t.Context())
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Ping = %v", err)
				}
				if r := f.requests(); len(r) != 1 || r[0].Auth != "Bearer "+testKey {
					t.Errorf("requests = %+v, want one with the key", r)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), testKey) {
				t.Errorf("Ping = %v, want it to say %q", err, tt.wantErr)
			}
		})
	}
}
