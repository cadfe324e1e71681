package diagnosis

import (
	"context"
	"encoding/json"
	"time"
)

// Triage is the plain-words summary on the card: what an engineer woken at
// 3AM needs first. Field names follow the design article's triage package.
type Triage struct {
	OneLineSummary      string   `json:"one_line_summary"`
	WhatIsHappening     string   `json:"what_is_happening"`
	ImmediateAction     string   `json:"immediate_action"`
	Steps               []string `json:"steps"`
	DoNotDo             string   `json:"do_not_do"`
	EstimatedResolution string   `json:"estimated_resolution_time"`
	EscalateIf          string   `json:"escalate_if"`
	// Source is "rules" for the deterministic triage, or the model's name.
	Source string `json:"source"`
}

// Usage is the cost of one or more model calls.
type Usage struct {
	Model            string        `json:"model,omitempty"`
	Calls            int           `json:"calls"`
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	Latency          time.Duration `json:"latency"`
}

// Add sums usages.
func (u Usage) Add(o Usage) Usage {
	if u.Model == "" {
		u.Model = o.Model
	}
	u.Calls += o.Calls
	u.PromptTokens += o.PromptTokens
	u.CompletionTokens += o.CompletionTokens
	u.Latency += o.Latency
	return u
}

// Tokens is the total token count.
func (u Usage) Tokens() int { return u.PromptTokens + u.CompletionTokens }

// Tool is something a model may ask nightowl to do while answering: look
// things up, never act. Parameters is a JSON schema object.
type Tool struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
}

// ToolCall is a model's request to use a tool.
type ToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// ToolResult is what nightowl answers a tool call with: text for the model,
// and maybe a picture for the people in the thread.
type ToolResult struct {
	Content string `json:"content"`
	// Attachment is a picture produced by the tool (a /graph PNG), shown in
	// the thread with the answer.
	Attachment *Attachment `json:"-"`
}

// Attachment is a picture for the thread.
type Attachment struct {
	Name, Title, Alt string
	PNG              []byte
}

// ToolCaller runs a tool call; unknown tools and bad arguments come back as
// a result that says so, never as a failure of the whole answer.
type ToolCaller func(ctx context.Context, call ToolCall) ToolResult

// Turn is one message of a conversation about an incident.
type Turn struct {
	Role     string    `json:"role"` // "user" or "assistant"
	Author   string    `json:"author,omitempty"`
	Text     string    `json:"text"`
	At       time.Time `json:"at"`
	Incident string    `json:"incident,omitempty"`
}

// Question is a follow-up question about an incident, with what the
// answerer may know: the incident's context as data, and the conversation.
type Question struct {
	Incident string
	// Context is the incident's facts (alerts, diagnosis, evidence, history,
	// runbook), already redacted, as text the model reads as data.
	Context string
	History []Turn
	Text    string
}

// Explainer turns diagnoses into words; the LLM adapter implements it.
// Everything it is given is data; it can look things up through tools but
// never run or approve anything.
type Explainer interface {
	// Model names the model, for the record and the card's small print.
	Model() string
	// Triage puts an incident's context into the triage fields, charging
	// the incident's budget; on failure it returns fallback and the reason.
	Triage(ctx context.Context, incident, context string, fallback Triage) (Triage, Usage, error)
	Answer(ctx context.Context, q Question, tools []Tool, call ToolCaller) (string, Usage, error)
}
