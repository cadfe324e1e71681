// Package bot is the only package that speaks Slack: it reads alerts and
// envelopes from Socket Mode and turns incidents into Block Kit cards, threads
// and buttons.
package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// slog keys.
const (
	keyIncident = "incident"
	keyEnvelope = "envelope"
	keyUser     = "user"
	keyChannel  = "channel"
	keyTS       = "ts"
)

// Config is the bot's part of nightowl's configuration.
type Config struct {
	AlertsChannel    string
	IncidentsChannel string
	// AlertSources are bot IDs (B…) or app IDs (A…) trusted to post alerts;
	// AnySource trusts every bot in AlertsChannel instead (an explicit
	// opt-out). With neither, no message is read as an alert. Humans are
	// never trusted.
	AlertSources []string
	AnySource    bool
	// OnCall is paged by each new card, once; Escalation by the Escalate
	// button, and by nightowl when nobody acknowledges a card within
	// EscalateAfter (0: never).
	OnCall, Escalation string
	EscalateAfter      time.Duration
	// AlertmanagerURL and GrafanaURL are linked from cards ("" for no
	// link); Location is the time zone of "until Monday 09:00".
	AlertmanagerURL, GrafanaURL string
	Location                    *time.Location
	// Workers bounds, in each lane of its own, the clicks, the slash
	// commands and the questions handled at once (lanes.go). Default 4.
	Workers int
	// TriageWorkers bounds the model triages written at once. Default 2.
	TriageWorkers int
}

// Records is what the bot keeps on the record; the store implements it.
type Records interface {
	FirstSeen(ctx context.Context, key string, at time.Time) (bool, error)
	// RecordAlerts keeps the alerts of one message and the bot (source)
	// that relayed it, and marks the message seen, in one step: ErrSeen
	// when it was seen before (nothing is recorded then).
	RecordAlerts(ctx context.Context, channel, ts, source string, received time.Time, alerts []diagnosis.Alert) error
	// Ungrouped lists the alerts received since then that no saved
	// incident holds, oldest first: after a crash, those to group again.
	Ungrouped(ctx context.Context, since time.Time) ([]diagnosis.Alert, error)
	// LastMessage is the latest message of a channel whose alerts are on
	// record, "" when none: where reading its history resumes.
	LastMessage(ctx context.Context, channel string) (string, error)
	// AlertOrigins names, for each fingerprint ever recorded firing, the
	// source of its first firing report ("" when recorded before sources
	// were kept).
	AlertOrigins(ctx context.Context, fingerprints []string) (map[string]string, error)
	// LinkAlerts marks logged alerts as an incident's: those it summarises
	// rather than holds one by one (diagnosis.Outcome.Summarised).
	LinkAlerts(ctx context.Context, incident string, fingerprints []string) error
	Append(ctx context.Context, e diagnosis.Event) error
}

// Incidents keeps each incident's state, its diagnosis and how it ended;
// the store implements it.
type Incidents interface {
	SaveIncident(ctx context.Context, in diagnosis.Incident) error
	SaveDiagnosis(ctx context.Context, d diagnosis.Diagnosis) error
	SaveOutcome(ctx context.Context, incident, runbook, outcome string, at time.Time) error
	// RetireIncident notes that a firing incident left memory, and why: it
	// is not taken back after a restart.
	RetireIncident(ctx context.Context, id string, at time.Time, why string) error
}

// Relayed is a message from the alerts channel, in neutral form.
type Relayed struct {
	Text        string
	Attachments []RelayedAttachment
}

// RelayedAttachment is one legacy attachment of a relayed message.
type RelayedAttachment struct {
	Title, TitleLink, Text, Fallback, Pretext, Color string
}

// ErrNotAlert is what a Decoder returns for a message that is no alert.
var ErrNotAlert = errors.New("not an alert message")

// Decoder reads alerts out of a relayed message; problems are one sentence
// each about parts it had to skip.
type Decoder func(m Relayed, received time.Time) (alerts []diagnosis.Alert, problems []string, err error)

// Deps are the bot's collaborators, built by cmd/bot.
type Deps struct {
	// Slack makes the bot's Web API calls, People names users, Responder
	// answers response_urls and Conn is the Socket Mode session; WebAPI
	// is all four.
	Slack     Slack
	People    People
	Responder Responder
	Conn      Connection
	Records   Records
	Incidents Incidents
	// Live, Diagnoses and Index are the live incidents, their latest
	// diagnoses and where their cards are; diagnosis.Live is all three.
	Live      Live
	Diagnoses Diagnoses
	Index     Index
	Decode    Decoder
	// Commands answers /diag, /graph and /runbook (and "@nightowl diag"),
	// Answerer follow-up questions in incident threads, Triager the
	// card's triage; commands.Handler is all three. Nil turns each off.
	Commands Commander
	Answerer Answerer
	Triager  Triager
	// Runbooks runs the approval flow; nil when no catalog is configured.
	// RunbookUpdates carries its news (it is the service's Notifier); nil
	// makes one that nothing writes to.
	Runbooks       *runbooks.Service
	RunbookUpdates *RunbookUpdates
	// Command renders the ansible-playbook command of a job, for "Show command".
	Command func(runbooks.Job) string
	// Conversations, Costs, Votes and Corrections keep what was said in
	// incident threads, what the model cost, people's verdicts on
	// diagnoses and what they say the cause was; nil turns the feature off.
	Conversations Conversations
	Costs         Costs
	Votes         Votes
	Corrections   Corrections
	// Alerts verifies relayed alerts with Alertmanager before a card offers
	// a runbook; nil trusts every alert from a trusted source.
	Alerts AlertChecker
	// Silencer makes Alertmanager silences from cards and SilenceAudit
	// keeps them on the record; nil Silencer offers no Silence menu.
	Silencer     Silencer
	SilenceAudit SilenceAudit
	// Pager rings phones beyond Slack (PagerDuty) and PageLog keeps its
	// events until sent; nil turns paging off.
	Pager   Pager
	PageLog PageLog
	// Observer hears alerts, incidents, cards, pages and diagnoses, for
	// nightowl's own metrics; nil hears nothing.
	Observer Observer
	Now      func() time.Time
	Logger   *slog.Logger
}

// Bot runs nightowl on Slack.
type Bot struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	slack     Slack
	people    People
	responder Responder
	conn      Connection
	obs       Observer

	live      Live
	diagnoses Diagnoses
	index     Index

	self    Identity
	startup startup // until auth.test answers (identify.go)

	commander Commander
	answerer  Answerer
	triager   Triager
	triage    *triageState

	// life is Run's context; bg holds the background work it owns,
	// waited for when Run returns.
	life context.Context
	bg   sync.WaitGroup

	intake   chan relayedMsg  // recorded alert messages, grouped in order
	catchup  chan struct{}    // read the alerts channel's history again (catchup.go)
	unsaved  *unsavedSet      // incidents alerts joined, to save (runSaver)
	lanes    map[string]*lane // bounded work by kind (lanes.go)
	triages  *triageQueue
	outbox   *outbox // card updates and replies to try again (delivery.go)
	routes   routes
	cards    cardLocks // one per incident: renders and updates of its card
	saving   cardLocks // one per incident: its saves, in turn
	rb       *runbookState
	verify   *verifyState
	esc      *escalations
	pageWake chan struct{}
}

// New builds a bot; Run starts it.
func New(cfg Config, deps Deps) (*Bot, error) {
	if deps.Slack == nil || deps.People == nil || deps.Responder == nil || deps.Conn == nil {
		return nil, errors.New("bot: Slack, People, Responder and Conn are required")
	}
	if deps.Records == nil || deps.Incidents == nil || deps.Live == nil || deps.Diagnoses == nil || deps.Index == nil || deps.Decode == nil {
		return nil, errors.New("bot: Records, Incidents, Live, Diagnoses, Index and Decode are required")
	}
	if cfg.AlertsChannel == "" {
		return nil, errors.New("bot: no alerts channel")
	}
	if cfg.IncidentsChannel == "" {
		cfg.IncidentsChannel = cfg.AlertsChannel
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.TriageWorkers <= 0 {
		cfg.TriageWorkers = 2
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Observer == nil {
		deps.Observer = deaf{}
	}
	if deps.RunbookUpdates == nil {
		deps.RunbookUpdates = NewRunbookUpdates(deps.Logger)
	}
	b := &Bot{
		cfg: cfg, deps: deps, log: deps.Logger.With("component", "bot"),
		intake:   make(chan relayedMsg, 1024),
		catchup:  make(chan struct{}, 1),
		unsaved:  newUnsavedSet(),
		lanes:    map[string]*lane{},
		triages:  newTriageQueue(),
		outbox:   newOutbox(),
		rb:       newRunbookState(deps.RunbookUpdates),
		verify:   newVerifyState(),
		esc:      newEscalations(),
		pageWake: make(chan struct{}, 1),
		triage:   newTriageState(),
		life:     context.Background(),
		slack:    deps.Slack, people: deps.People, responder: deps.Responder, conn: deps.Conn, obs: deps.Observer,
		live: deps.Live, diagnoses: deps.Diagnoses, index: deps.Index,
		commander: deps.Commands, answerer: deps.Answerer, triager: deps.Triager,
	}
	for _, s := range laneSpecs(cfg.Workers) {
		b.lanes[s.name] = newLane(s)
	}
	b.routes = b.newRoutes()
	return b, nil
}

// sink is the Grouper's: the card and its thread first, then the
// incident's run requests (a resolved incident's pending ones expire).
func (b *Bot) sink(ctx context.Context, u diagnosis.Update) {
	if u.Kind == diagnosis.Retired {
		b.retire(ctx, u)
		return
	}
	b.publish(ctx, u)
	b.closeRuns(ctx, u)
}

// Run connects to Slack and serves until ctx ends. A Slack it cannot reach
// at start is asked again with backoff (Identified says why it waits); a
// bot token Slack refuses ends it with ErrTokenRefused.
func (b *Bot) Run(ctx context.Context) error {
	me, err := b.identify(ctx)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	b.self = me
	b.log.Info("connected to Slack", "team", me.Team, "bot_user", me.UserID, "bot_id", me.BotID)

	b.regroup(ctx)
	g, ctx := errgroup.WithContext(ctx)
	b.life = ctx
	defer b.bg.Wait()
	g.Go(func() error { return b.live.Run(ctx, diagnosis.SinkFunc(b.sink)) })
	g.Go(func() error { return b.runIntake(ctx) })
	g.Go(func() error { return b.runUpdates(ctx) })
	g.Go(func() error { return b.runOutbox(ctx) })
	g.Go(func() error { return b.runCatchUp(ctx) })
	g.Go(func() error { return b.runSaver(ctx) })
	g.Go(func() error { return b.runEscalation(ctx) })
	g.Go(func() error { return b.runPager(ctx) })
	for _, l := range b.lanes {
		for range l.workers {
			g.Go(func() error { return l.work(ctx) })
		}
	}
	for range b.cfg.TriageWorkers {
		g.Go(func() error { return b.triages.work(ctx, b.writeTriage) })
	}
	g.Go(func() error { return b.conn.Listen(ctx, b.dispatch) })
	err = g.Wait()
	// Keep what is only in memory: incidents still gathering their first
	// burst get their card at once after a restart.
	for _, in := range b.index.Open() {
		b.save(ctx, in)
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// background runs rare work that must not hold up cards or envelopes
// (recommending a card's runbook again); it stops with Run.
func (b *Bot) background(task func(ctx context.Context)) {
	b.bg.Go(func() { task(b.life) })
}

// record appends to the incident's event log; failures are logged, not fatal.
func (b *Bot) record(ctx context.Context, incident string, kind diagnosis.EventKind, actor, detail string) {
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	err := b.deps.Records.Append(ctx, diagnosis.Event{Incident: incident, Kind: kind, Actor: actor, Detail: detail, At: b.deps.Now()})
	if err != nil {
		b.log.Error("record event", keyIncident, incident, "kind", kind, "err", err)
	}
}

// save writes an incident's latest state: its live state when it is in
// memory (which may have moved on since in was taken), else in. The saves
// of one incident take turns, each taking the state of its own turn, so a
// slow save never overwrites a newer one (a card's thread included).
func (b *Bot) save(ctx context.Context, in diagnosis.Incident) {
	defer b.saving.lock(in.ID)()
	if cur, ok := b.live.Incident(in.ID); ok {
		in = cur
	}
	b.write(ctx, in)
}

// saveLive saves an incident's live state, if it is still in memory.
func (b *Bot) saveLive(ctx context.Context, id string) {
	defer b.saving.lock(id)()
	if in, ok := b.live.Incident(id); ok {
		b.write(ctx, in)
	}
}

func (b *Bot) write(ctx context.Context, in diagnosis.Incident) {
	ctx, cancel := diagnosis.Detached(ctx)
	defer cancel()
	if err := b.deps.Incidents.SaveIncident(ctx, in); err != nil {
		b.log.Error("save incident", keyIncident, in.ID, "err", err)
	}
}
