// Package llm puts nightowl's diagnoses into words and answers follow-up
// questions through langchaingo, with an OpenAI-compatible endpoint or
// Ollama; the model reads, it never acts.
package llm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

var _ diagnosis.Explainer = (*Explainer)(nil)

// Providers.
const (
	ProviderOpenAI = "openai"
	ProviderOllama = "ollama"
)

// Defaults for the zero values of Config.
const (
	DefaultOpenAIModel   = "gpt-4o-mini"
	DefaultOllamaModel   = "llama3.1"
	DefaultOpenAIBaseURL = "https://api.openai.com/v1"
	DefaultOllamaBaseURL = "http://127.0.0.1:11434"
	DefaultTimeout       = 20 * time.Second
	DefaultRetries       = 2
	DefaultMaxTokens     = 800
	DefaultBudget        = 20000
	DefaultHourlyBudget  = 200000
	DefaultMaxInFlight   = 4
)

// dummyKey is sent when Config.APIKey is empty: langchaingo's openai client
// refuses to start without a token, and local servers ignore it.
const dummyKey = "nightowl-no-key"

// slog keys.
const (
	keyComponent  = "component"
	keyIncident   = "incident"
	keyModel      = "model"
	keyPurpose    = "purpose"
	keyAttempt    = "attempt"
	keyPrompt     = "prompt_tokens"
	keyCompletion = "completion_tokens"
	keyLatency    = "latency"
	keyMessages   = "messages"
	keyTools      = "tools"
	keyErr        = "err"
)

// ErrBudget is wrapped by the errors of calls refused because the incident
// has used up its token budget (Config.Budget).
var ErrBudget = errors.New("LLM token budget for this incident is used up")

// ErrHourlyBudget is wrapped, beside ErrBudget, by the errors of calls
// refused because every call of the last hour together has used up
// Config.HourlyBudget.
var ErrHourlyBudget = errors.New("LLM token budget for this hour is used up")

// Config says which model to ask and how.
type Config struct {
	Provider string // "openai" or "ollama"; the caller does not build this package for "none"
	Model    string // default "gpt-4o-mini" for openai, "llama3.1" for ollama
	// BaseURL is, for openai, any OpenAI-compatible base (".../v1", default
	// https://api.openai.com/v1); for ollama, the server URL (default
	// http://127.0.0.1:11434), to which "/v1" is appended for Ollama's
	// OpenAI-compatible API (the only one of Ollama's with tools).
	BaseURL string
	APIKey  string // optional; a dummy is sent when empty (langchaingo requires one)
	// Timeout bounds each request to the model, default 20s.
	Timeout time.Duration
	// Retries after a 429, a 5xx, a timeout or a dropped connection, with
	// backoff 100ms·2^n; default 2, negative for none.
	Retries int
	// MaxTokens caps each completion, default 800.
	MaxTokens int
	// Budget is the tokens (prompt+completion) one incident may use, default
	// 20000, negative for no limit; beyond it calls fail with ErrBudget.
	Budget int
	// HourlyBudget is the tokens every call together may use in any hour,
	// default 200000, negative for no limit; beyond it calls fail with
	// ErrHourlyBudget (and ErrBudget).
	HourlyBudget int
	// MaxInFlight bounds the requests to the model at once, default 4;
	// more wait for a slot (within their context).
	MaxInFlight int
	// Redact names labels/annotations whose values never reach the model,
	// besides password/token/secret/api-key/credential-like names.
	Redact []string
	// LegacyMaxTokens sends "max_tokens" instead of "max_completion_tokens"
	// for OpenAI-compatible servers that only read the old field; always on
	// for ollama.
	LegacyMaxTokens bool
	HTTPClient      *http.Client // optional
	Logger          *slog.Logger // optional
	// Observer hears every request sent to the model, for nightowl's own
	// metrics; nil hears nothing.
	Observer Observer
}

// Observer hears each request sent to the model (every retry is one): the
// tokens it read and wrote, and its error, nil when it answered (one that
// wraps context.DeadlineExceeded when it timed out). A call refused before
// it was sent (a budget spent, no slot in time) or cancelled is not heard.
// metrics.Registry implements it; its methods must not block.
type Observer interface {
	ModelCalled(promptTokens, completionTokens int, err error)
}

// deaf is the Observer that hears nothing.
type deaf struct{}

func (deaf) ModelCalled(int, int, error) {}

// Explainer talks to one model. It is safe for concurrent use.
type Explainer struct {
	model     llms.Model
	name      string // the model's name: Usage.Model and Triage.Source
	provider  string
	where     string // the base URL without credentials, for errors and logs
	base      string // the base URL for Ping
	apiKey    string
	http      *http.Client
	timeout   time.Duration
	retries   int
	maxTokens int
	legacy    bool
	budget    *ledger
	slots     chan struct{} // one per request in flight
	redactor  *redactor
	obs       Observer
	log       *slog.Logger
}

// New checks cfg and returns an Explainer; it never dials.
func New(cfg Config) (*Explainer, error) {
	cfg.Provider = strings.ToLower(strings.TrimSpace(cfg.Provider))
	switch cfg.Provider {
	case ProviderOpenAI:
		cfg.Model = cmp.Or(strings.TrimSpace(cfg.Model), DefaultOpenAIModel)
		cfg.BaseURL = cmp.Or(strings.TrimSpace(cfg.BaseURL), DefaultOpenAIBaseURL)
	case ProviderOllama:
		cfg.Model = cmp.Or(strings.TrimSpace(cfg.Model), DefaultOllamaModel)
		cfg.BaseURL = cmp.Or(strings.TrimSpace(cfg.BaseURL), DefaultOllamaBaseURL)
		cfg.LegacyMaxTokens = true // Ollama's /v1 reads max_tokens only
	default:
		return nil, fmt.Errorf("LLM provider %q: want %q or %q", cfg.Provider, ProviderOpenAI, ProviderOllama)
	}
	base, where, err := baseURL(cfg.Provider, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Provider == ProviderOpenAI && cfg.APIKey == "" && strings.HasPrefix(base, DefaultOpenAIBaseURL) {
		return nil, errors.New("LLM provider openai at api.openai.com needs an API key")
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("LLM timeout %v: must not be negative", cfg.Timeout)
	case cfg.MaxTokens < 0:
		return nil, fmt.Errorf("LLM max tokens %d: must not be negative", cfg.MaxTokens)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	cfg.Retries = max(cfg.Retries, 0)
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.Budget == 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.HourlyBudget == 0 {
		cfg.HourlyBudget = DefaultHourlyBudget
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	key := cfg.APIKey
	if key == "" {
		key = dummyKey
	}
	hc := observed(cfg.HTTPClient)
	model, err := openai.New(
		openai.WithBaseURL(base),
		openai.WithToken(key),
		openai.WithModel(cfg.Model),
		openai.WithOrganization(""), // ignore $OPENAI_ORGANIZATION: Config is the whole truth
		openai.WithHTTPClient(hc),
	)
	if err != nil {
		return nil, fmt.Errorf("LLM client: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	obs := cfg.Observer
	if obs == nil {
		obs = deaf{}
	}
	return &Explainer{
		model:     model,
		name:      cfg.Model,
		provider:  cfg.Provider,
		where:     where,
		base:      base,
		apiKey:    cfg.APIKey,
		http:      hc,
		timeout:   cfg.Timeout,
		retries:   cfg.Retries,
		maxTokens: cfg.MaxTokens,
		legacy:    cfg.LegacyMaxTokens,
		budget:    newLedger(cfg.Budget, cfg.HourlyBudget),
		slots:     make(chan struct{}, cfg.MaxInFlight),
		redactor:  newRedactor(cfg.Redact, cfg.APIKey),
		obs:       obs,
		log:       logger.With(keyComponent, "llm", keyModel, cfg.Model),
	}, nil
}

// Model is the name of the model the Explainer asks.
func (e *Explainer) Model() string { return e.name }

// Withholds reports whether the values of the label or annotation called
// name must never reach the model: the names in Config.Redact (any case)
// and secret-looking ones (db_password, api-key, x-auth-token, …). Whoever
// writes the model's text about alerts leaves such labels out whole: a
// value may hold spaces, commas or quotes that no pattern over the finished
// text can bound.
func (e *Explainer) Withholds(name string) bool { return e.redactor.withholds(name) }

// Ping checks that the endpoint answers and accepts the key by listing its
// models, which costs no tokens. The caller logs "LLM provider unreachable: "
// and the error.
func (e *Explainer) Ping(ctx context.Context) error {
	bounded, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	x := &exchange{}
	req, err := http.NewRequestWithContext(withExchange(bounded, x), http.MethodGet, e.base+"/models", nil)
	if err != nil {
		return fmt.Errorf("LLM endpoint at %s: %w", e.where, err)
	}
	key := e.apiKey
	if key == "" {
		key = dummyKey
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := e.http.Do(req)
	if err != nil {
		return e.explain(ctx, bounded, x, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &Error{msg: fmt.Sprintf("LLM endpoint at %s rejected the API key (%s)", e.where, status(resp.StatusCode))}
	default:
		return &Error{msg: fmt.Sprintf("LLM endpoint at %s answered %s to a list of models", e.where, status(resp.StatusCode))}
	}
}

// baseURL checks raw and returns the base URL langchaingo posts to (without
// a trailing slash) and the same without credentials.
func baseURL(provider, raw string) (base, where string, err error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the raw URL, credentials and all
		}
		return "", "", fmt.Errorf("LLM base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", fmt.Errorf("LLM base URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("LLM base URL %q: no host", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if provider == ProviderOllama && !strings.HasSuffix(u.Path, "/v1") {
		u.Path += "/v1"
	}
	u.RawPath = ""
	return u.String(), u.Redacted(), nil
}
