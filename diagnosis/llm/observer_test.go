package llm_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/llm"
)

// heardCalls records what an Observer hears, one line per request.
type heardCalls struct {
	mu    sync.Mutex
	calls []string
}

func (h *heardCalls) ModelCalled(prompt, completion int, err error) {
	outcome := "ok"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		outcome = "timeout"
	case err != nil:
		outcome = "error"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, fmt.Sprintf("%s %d+%d", outcome, prompt, completion))
}

func (h *heardCalls) heard() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

var _ llm.Observer = (*heardCalls)(nil)

// TestTheObserverHearsEveryRequestSent: each request to the model, each
// retry included, is heard once with its tokens and how it ended; a call
// the budget refuses is never sent, so never heard.
func TestTheObserverHearsEveryRequestSent(t *testing.T) {
	ok := fmt.Sprintf("ok %d+%d", replyPromptTokens, replyCompletionTokens)
	tests := []struct {
		name    string
		cfg     llm.Config
		replies []reply
		want    []string
	}{
		{"an answer at once", llm.Config{}, []reply{text(validTriage)}, []string{ok}},
		{"a 500, then an answer", llm.Config{}, []reply{fail(500, "boom"), text(validTriage)}, []string{"error 0+0", ok}},
		{"a 401 is one failure", llm.Config{}, []reply{fail(401, "bad key")}, []string{"error 0+0"}},
		{"a model too slow twice", llm.Config{Timeout: 100 * time.Millisecond, Retries: 1},
			[]reply{stall(5*time.Second, text(validTriage))}, []string{"timeout 0+0", "timeout 0+0"}},
		{"a spent budget sends nothing", llm.Config{Budget: 1}, []reply{text(validTriage)}, []string{ok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &heardCalls{}
			tt.cfg.Observer = h
			f := mustFakeOpenAI(t, tt.replies...)
			e := mustExplainer(t, f, tt.cfg)
			_, _, _ = e.Triage(t.Context(), "INC-1", incidentContext, fallback)
			if tt.cfg.Budget == 1 { // the first call spent it: the second is refused before it is sent
				if _, _, err := e.Triage(t.Context(), "INC-1", incidentContext, fallback); !errors.Is(err, llm.ErrBudget) {
					t.Fatalf("second triage = %v, want ErrBudget", err)
				}
			}
			if got := h.heard(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("heard %q, want %q", got, tt.want)
			}
			if n := len(f.requests()); n != len(tt.want) {
				t.Errorf("%d requests sent, %d heard", n, len(tt.want))
			}
		})
	}
}
