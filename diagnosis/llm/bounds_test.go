package llm_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis/llm"
)

// What the model may cost and hold is bounded: tokens per incident, tokens
// per hour over every incident, and requests at once.

func TestTheHourlyBudgetRefusesCallsWhateverTheIncident(t *testing.T) {
	f := mustFakeOpenAI(t, text(validTriage))
	e := mustExplainer(t, f, llm.Config{Budget: -1, HourlyBudget: 200}) // each reply costs 120
	ctx := t.Context()
	for _, id := range []string{"INC-1", "INC-2"} {
		if _, _, err := e.Triage(ctx, id, incidentContext, fallback); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	_, _, err := e.Triage(ctx, "INC-3", incidentContext, fallback)
	if !errors.Is(err, llm.ErrHourlyBudget) || !errors.Is(err, llm.ErrBudget) {
		t.Fatalf("a third incident's triage: %v, want the hourly budget used up", err)
	}
	if want := "have used 240 of the 200 tokens they may use in an hour"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("requests = %d, want 2: a refused call never reaches the server", n)
	}
}

func TestAtMostMaxInFlightRequestsReachTheModel(t *testing.T) {
	var now, most atomic.Int32
	slow := func(w http.ResponseWriter, r *http.Request, body wireRequest) {
		n := now.Add(1)
		defer now.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		stall(100*time.Millisecond, text(validTriage))(w, r, body)
	}
	f := mustFakeOpenAI(t, slow)
	e := mustExplainer(t, f, llm.Config{MaxInFlight: 2})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if _, _, err := e.Triage(t.Context(), fmt.Sprint("INC-", i), incidentContext, fallback); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := most.Load(); got != 2 {
		t.Errorf("%d requests reached the model at once, want at most (and at best) 2", got)
	}
}
