package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Triager writes the card's triage; commands.Handler is one.
type Triager interface {
	// Model names the model, "" when there is none.
	Model() string
	RulesTriage(in diagnosis.Incident, d diagnosis.Diagnosis) diagnosis.Triage
	ModelTriage(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis) (diagnosis.Triage, diagnosis.Usage, error)
}

// Costs keeps every model call and the latest model triage; the store implements it.
type Costs interface {
	RecordModelCall(ctx context.Context, incident, purpose string, u diagnosis.Usage, callErr error, at time.Time) error
	ModelUsage(ctx context.Context, incident string) (diagnosis.Usage, error)
	SaveTriage(ctx context.Context, incident, key string, t diagnosis.Triage, at time.Time) error
	Triage(ctx context.Context, incident string) (key string, t diagnosis.Triage, err error)
}

// triageTimeout bounds a model's triage, retries included.
const triageTimeout = 90 * time.Second

// triageState is each incident's model triage: what it was written for,
// whether one is being written, and why the rules' one shows instead.
type triageState struct {
	mu   sync.Mutex
	byID map[string]*modelTriage
}

type modelTriage struct {
	key     string           // commands.TriageKey of the diagnosis it was written for
	t       diagnosis.Triage // zero until the model wrote one
	usage   diagnosis.Usage
	failed  string // why the model's triage is missing, "" when it is not
	pending bool
	loaded  bool // the store was asked
}

func newTriageState() *triageState { return &triageState{byID: map[string]*modelTriage{}} }

// of returns an incident's state, made on first use; call with mu held.
func (s *triageState) of(id string) *modelTriage {
	st := s.byID[id]
	if st == nil {
		st = &modelTriage{}
		s.byID[id] = st
	}
	return st
}

// forget drops a settled incident's triage (the store keeps it).
func (s *triageState) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// cardTriage is the triage to show on a card and the small print under it.
func (b *Bot) cardTriage(ctx context.Context, in diagnosis.Incident, d diagnosis.Diagnosis) (*diagnosis.Triage, string) {
	if b.triager == nil || in.Status == diagnosis.Resolved {
		return nil, "" // a resolved incident needs no instructions
	}
	rules := b.triager.RulesTriage(in, d)
	model := b.triager.Model()
	if model == "" {
		return &rules, "Triage by nightowl's rules"
	}
	key := commands.TriageKey(d)
	b.triage.mu.Lock()
	st := b.triage.of(in.ID)
	needLoad := !st.loaded && b.deps.Costs != nil
	st.loaded = true
	b.triage.mu.Unlock()
	if needLoad {
		sctx, cancel := diagnosis.Detached(ctx)
		k, t, err := b.deps.Costs.Triage(sctx, in.ID)
		cancel()
		b.triage.mu.Lock()
		if err == nil && st.key == "" {
			st.key, st.t = k, t
		}
		b.triage.mu.Unlock()
	}
	b.triage.mu.Lock()
	defer b.triage.mu.Unlock()
	switch {
	case st.key == key && st.t.Source != "":
		t := st.t
		return &t, ""
	case st.key == key && st.pending:
		return &rules, fmt.Sprintf("Triage by nightowl's rules; %s is writing its own", model)
	case st.key == key && st.failed != "":
		return &rules, fmt.Sprintf("Triage by nightowl's rules (%s)", st.failed)
	}
	return &rules, "Triage by nightowl's rules"
}

// modelTriage asks the model for the card's triage in the background, once
// per root cause and runbook, then updates the card. The card never waits;
// the triage waits in the triage queue for one of TriageWorkers.
func (b *Bot) modelTriage(in diagnosis.Incident, d diagnosis.Diagnosis) {
	if b.triager == nil || b.triager.Model() == "" || in.Status == diagnosis.Resolved {
		return
	}
	key := commands.TriageKey(d)
	b.triage.mu.Lock()
	st := b.triage.of(in.ID)
	if st.key == key && (st.pending || st.t.Source != "" || st.failed != "") {
		b.triage.mu.Unlock()
		return
	}
	st.key, st.t, st.failed, st.pending = key, diagnosis.Triage{}, "", true
	b.triage.mu.Unlock()

	b.triages.push(triageJob{in: in, d: d, key: key, st: st})
}

// writeTriage has the model write one triage, keeps it and updates the
// card; a newer diagnosis that asked for another meanwhile wins.
func (b *Bot) writeTriage(ctx context.Context, job triageJob) {
	in, d, key, st := job.in, job.d, job.key, job.st
	tctx, cancel := context.WithTimeout(ctx, triageTimeout)
	t, u, err := b.triager.ModelTriage(tctx, in, d)
	cancel()
	log := b.log.With(keyIncident, in.ID, "model", u.Model, "tokens", u.Tokens(), "calls", u.Calls, "took", u.Latency.Round(time.Millisecond))
	b.recordCost(ctx, in.ID, "triage", u, err)
	b.triage.mu.Lock()
	if st.key != key { // a newer diagnosis asked for another triage meanwhile
		b.triage.mu.Unlock()
		return
	}
	st.pending = false
	st.usage = st.usage.Add(u)
	if err != nil {
		st.failed = "the model did not help: " + oneSentence(err)
		log.Warn("model triage failed; the rules' triage stays on the card", "err", err)
	} else {
		st.t = t
		log.Info("model triage written")
	}
	b.triage.mu.Unlock()
	if err == nil && b.deps.Costs != nil {
		sctx, cancel := diagnosis.Detached(ctx)
		if err := b.deps.Costs.SaveTriage(sctx, in.ID, key, t, b.deps.Now()); err != nil {
			b.log.Error("save triage", keyIncident, in.ID, "err", err)
		}
		cancel()
	}
	if ctx.Err() == nil {
		b.refreshCard(ctx, in.ID)
	}
}

// triageJob is one triage to write: the incident and the diagnosis it is
// for, and the state it fills in.
type triageJob struct {
	in  diagnosis.Incident
	d   diagnosis.Diagnosis
	key string
	st  *modelTriage
}

// triageQueue holds at most one triage to write per incident, oldest
// first: a newer diagnosis replaces its incident's waiting request in
// place. It is never longer than the incidents in memory, and nothing
// waits per incident (one goroutine per incident, as before, had no cap).
type triageQueue struct {
	mu    sync.Mutex
	jobs  map[string]triageJob
	order []string
	wake  chan struct{}
}

func newTriageQueue() *triageQueue {
	return &triageQueue{jobs: map[string]triageJob{}, wake: make(chan struct{}, 1)}
}

func (q *triageQueue) push(j triageJob) {
	q.mu.Lock()
	if _, queued := q.jobs[j.in.ID]; !queued {
		q.order = append(q.order, j.in.ID)
	}
	q.jobs[j.in.ID] = j
	q.mu.Unlock()
	q.signal()
}

func (q *triageQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *triageQueue) pop() (triageJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return triageJob{}, false
	}
	id := q.order[0]
	q.order = q.order[1:]
	j := q.jobs[id]
	delete(q.jobs, id)
	if len(q.order) > 0 {
		q.signal() // another worker may take the next
	}
	return j, true
}

// len is how many triages wait.
func (q *triageQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}

// work writes queued triages until ctx ends.
func (q *triageQueue) work(ctx context.Context, write func(context.Context, triageJob)) error {
	for {
		j, ok := q.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-q.wake:
			}
			continue
		}
		write(ctx, j)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// recordCost keeps a model call on the record.
func (b *Bot) recordCost(ctx context.Context, incident, purpose string, u diagnosis.Usage, callErr error) {
	if b.deps.Costs == nil || (u.Calls == 0 && callErr == nil) {
		return
	}
	sctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := b.deps.Costs.RecordModelCall(sctx, incident, purpose, u, callErr, b.deps.Now()); err != nil {
		b.log.Error("record model call", keyIncident, incident, "err", err)
	}
}

// cardCosts is what the model has cost an incident so far, for the footer.
func (b *Bot) cardCosts(ctx context.Context, id string) diagnosis.Usage {
	if b.deps.Costs == nil {
		return diagnosis.Usage{}
	}
	sctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	u, err := b.deps.Costs.ModelUsage(sctx, id)
	if err != nil {
		b.log.Warn("model usage", keyIncident, id, "err", err)
	}
	return u
}

// oneSentence shortens an error to its first sentence for a card.
func oneSentence(err error) string {
	s := err.Error()
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i]
	}
	return truncate(strings.TrimSuffix(s, "."), 160)
}
