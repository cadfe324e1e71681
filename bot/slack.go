package bot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/runbooks"
)

// Message is a message the bot sends: a notification fallback and its blocks.
type Message struct {
	Channel  string
	ThreadTS string
	// Text is the fallback Slack shows in notifications; escape untrusted parts.
	Text   string
	Blocks []slack.Block
}

// Slack is the Web API calls the bot makes; WebAPI implements it with
// slack-go, and the contract suite (slack_contract_test.go) holds the
// recording fake the bot's tests use to the same behaviour.
type Slack interface {
	// Post sends a message (a thread reply when ThreadTS is set).
	Post(ctx context.Context, m Message) (ts string, err error)
	// Update replaces a message the bot posted.
	Update(ctx context.Context, channel, ts string, m Message) error
	// Ephemeral shows a message to one user only (in a thread when
	// ThreadTS is set).
	Ephemeral(ctx context.Context, channel, user string, m Message) error
	// Upload shares a file in a channel or thread.
	Upload(ctx context.Context, f Upload) error
	// History lists a channel's messages after the one at ts (all of
	// them when ts is ""), oldest first, at most maxHistory.
	History(ctx context.Context, channel, after string) ([]slack.Message, error)
}

// maxHistory bounds what one History call reads back.
const maxHistory = 2000

// People names users (and user groups) for display without mentioning
// them: "" for nobody, "group S…" for a group, the ID when Slack cannot say.
type People interface {
	DisplayName(ctx context.Context, userID string) string
}

// Responder answers a slash command or a click through its response_url:
// ephemeral unless public.
type Responder interface {
	Respond(ctx context.Context, responseURL string, m Message, public bool) error
}

// Identity is who the bot is in its workspace (auth.test).
type Identity struct {
	UserID, BotID, TeamID, Team string
	// URL is the workspace's address, which permalinks start with.
	URL string
}

// Connection is the bot's session with Slack: who it is, and the Socket
// Mode envelopes, each acked once handle has returned (so that an alert
// is on record before Slack forgets it; handle returns well within the
// 3 s Slack allows). WebAPI implements it.
type Connection interface {
	Identify(ctx context.Context) (Identity, error)
	// Listen hands every envelope to handle, in order, until ctx ends.
	Listen(ctx context.Context, handle func(ctx context.Context, evt socketmode.Event)) error
}

// WebAPIConfig says how to reach Slack; zero durations take the defaults.
type WebAPIConfig struct {
	// BotToken (xoxb-) makes Web API calls; AppToken (xapp-) opens Socket Mode.
	BotToken, AppToken string
	// APIURL is the Web API base, default slack-go's (https://slack.com/api/).
	APIURL string
	// CallTimeout bounds one call, its rate-limit waits included. Default 30s.
	CallTimeout time.Duration
	// RequestTimeout bounds each HTTP request (http.Client.Timeout). Default 15s.
	RequestTimeout time.Duration
	// Retries is how often a call Slack rate-limits (429) is tried again,
	// after its Retry-After plus up to a second of jitter. Default 5.
	Retries int
	// Observer hears every call and the connection's ups and downs, for
	// nightowl's own metrics; nil hears nothing.
	Observer SlackObserver
	Logger   *slog.Logger
}

// Defaults of WebAPIConfig.
const (
	DefaultCallTimeout    = 30 * time.Second
	DefaultRequestTimeout = 15 * time.Second
	DefaultRetries        = 5
)

// WebAPI is the slack-go implementation of Slack, People, Responder and
// Connection, and of runbooks.Directory. slack-go retries the calls Slack
// rate-limits, honouring Retry-After with jitter (OptionRetryConfig); every
// call has a deadline and every HTTP request a timeout. It counts its
// calls and caches user names.
type WebAPI struct {
	api         *slack.Client
	hooks       *http.Client // for response_urls
	log         *slog.Logger
	callTimeout time.Duration
	calls       atomic.Int64 // HTTP requests of the counted calls, retries included
	limited     atomic.Int64 // of them, answered 429
	mu          sync.Mutex
	names       map[string]string
	url         string // the workspace's, from auth.test
	obs         SlackObserver
	connected   atomic.Bool // the Socket Mode connection is up
}

var (
	_ Slack              = (*WebAPI)(nil)
	_ People             = (*WebAPI)(nil)
	_ Responder          = (*WebAPI)(nil)
	_ Connection         = (*WebAPI)(nil)
	_ runbooks.Directory = (*WebAPI)(nil)
)

// NewWebAPI builds the slack-go client: its HTTP requests time out, and a
// 429 is retried by slack-go itself.
func NewWebAPI(cfg WebAPIConfig) *WebAPI {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.Observer == nil {
		cfg.Observer = deaf{}
	}
	w := &WebAPI{log: cfg.Logger.With("component", "slack"), callTimeout: cfg.CallTimeout, names: map[string]string{}, obs: cfg.Observer}
	hc := &http.Client{Timeout: cfg.RequestTimeout, Transport: counter{next: http.DefaultTransport, w: w}}
	w.hooks = hc
	retry := slack.DefaultRetryConfig()
	retry.MaxRetries = max(cfg.Retries, 0)
	retry.RetryAfterDuration = 5 * time.Second // when Slack sends no Retry-After
	retry.RetryAfterJitter = time.Second
	// 429 only: a post that timed out or lost its connection may have
	// landed, and posting it again could page twice.
	retry.Handlers = slack.DefaultRetryHandlers(retry)
	opts := []slack.Option{slack.OptionHTTPClient(hc), slack.OptionRetryConfig(retry)} // the retries wrap the client
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	w.api = slack.New(cfg.BotToken, opts...)
	return w
}

// countedKey marks the context of a call Calls counts.
type countedKey struct{}

// counter counts the HTTP requests of counted calls, each retry included,
// and those Slack answered 429.
type counter struct {
	next http.RoundTripper
	w    *WebAPI
}

func (c counter) RoundTrip(req *http.Request) (*http.Response, error) {
	counted := req.Context().Value(countedKey{}) != nil
	if counted {
		c.w.calls.Add(1)
	}
	resp, err := c.next.RoundTrip(req)
	if counted && err == nil && resp.StatusCode == http.StatusTooManyRequests {
		c.w.limited.Add(1)
		c.w.obs.SlackAPICalled(apiMethod(req), nil, true)
		c.w.log.Debug("rate limited by Slack", "retry_after", resp.Header.Get("Retry-After"))
	}
	return resp, err
}

// bound is the context of one call: its deadline, and counted when it
// is one of the calls Calls reports.
func (w *WebAPI) bound(ctx context.Context, counted bool) (context.Context, context.CancelFunc) {
	if counted {
		ctx = context.WithValue(ctx, countedKey{}, true)
	}
	return context.WithTimeout(ctx, w.callTimeout)
}

// Identify asks Slack who the bot is (auth.test) and remembers the
// workspace's address for Permalink.
func (w *WebAPI) Identify(ctx context.Context) (Identity, error) {
	ctx, cancel := w.bound(ctx, false) // once at start: not counted
	defer cancel()
	auth, err := w.api.AuthTestContext(ctx)
	w.called("auth.test", err)
	if err != nil {
		return Identity{}, fmt.Errorf("auth.test: %w", err)
	}
	w.mu.Lock()
	w.url = auth.URL
	w.mu.Unlock()
	return Identity{UserID: auth.UserID, BotID: auth.BotID, TeamID: auth.TeamID, Team: auth.Team, URL: auth.URL}, nil
}

// Permalink is the link to a card, "" before Identify or for no card.
func (w *WebAPI) Permalink(t diagnosis.Thread) string {
	w.mu.Lock()
	url := w.url
	w.mu.Unlock()
	if t.IsZero() || url == "" {
		return ""
	}
	return fmt.Sprintf("%sarchives/%s/p%s", url, t.Channel, strings.ReplaceAll(t.TS, ".", ""))
}

// Listen holds the Socket Mode connection and hands every envelope to
// handle, then acks it: what handle commits is safe before Slack hears
// the ack (handle must return well within Slack's 3 s).
func (w *WebAPI) Listen(ctx context.Context, handle func(ctx context.Context, evt socketmode.Event)) error {
	client := socketmode.New(w.api, socketmode.OptionLog(slogPrinter{w.log}))
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	defer func() {
		if w.connected.Swap(false) {
			w.obs.SocketConnected(false)
		}
	}()
	ever := false
	for {
		select {
		case <-ctx.Done():
			<-errc
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("socket mode: %w", err)
		case evt := <-client.Events:
			arrived := time.Now()
			w.connection(evt, &ever)
			handle(ctx, evt)
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				if err := client.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
					w.log.Warn("ack envelope", keyEnvelope, evt.Request.EnvelopeID, "err", err)
				} else {
					w.obs.EnvelopeAcked(string(evt.Type), time.Since(arrived))
				}
			}
		}
	}
}

// slogPrinter routes slack-go's internal log lines to slog at debug level.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Output(_ int, s string) error {
	p.log.Debug(strings.TrimSpace(s), "source", "slack-go")
	return nil
}

// Calls reports the HTTP requests of the bot's Web API calls (posts,
// updates, ephemerals, user and group look-ups, response_urls; each retry
// counts, uploads and Socket Mode do not) and how many Slack rate-limited.
func (w *WebAPI) Calls() (calls, rateLimited int) {
	return int(w.calls.Load()), int(w.limited.Load())
}

func options(m Message) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...)}
	if m.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.ThreadTS))
	}
	return opts
}

// Post sends a message (a thread reply when ThreadTS is set).
func (w *WebAPI) Post(ctx context.Context, m Message) (string, error) {
	ctx, cancel := w.bound(ctx, true)
	defer cancel()
	_, ts, err := w.api.PostMessageContext(ctx, m.Channel, options(m)...)
	w.called("chat.postMessage", err)
	if err != nil {
		return "", fmt.Errorf("chat.postMessage to %s: %w", m.Channel, err)
	}
	return ts, nil
}

// Update replaces a message the bot posted.
func (w *WebAPI) Update(ctx context.Context, channel, ts string, m Message) error {
	ctx, cancel := w.bound(ctx, true)
	defer cancel()
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...)}
	_, _, _, err := w.api.UpdateMessageContext(ctx, channel, ts, opts...)
	w.called("chat.update", err)
	if err != nil {
		return fmt.Errorf("chat.update %s/%s: %w", channel, ts, err)
	}
	return nil
}

// Ephemeral shows a message to one user only.
func (w *WebAPI) Ephemeral(ctx context.Context, channel, user string, m Message) error {
	ctx, cancel := w.bound(ctx, true)
	defer cancel()
	_, err := w.api.PostEphemeralContext(ctx, channel, user, options(m)...)
	w.called("chat.postEphemeral", err)
	if err != nil {
		return fmt.Errorf("chat.postEphemeral to %s in %s: %w", user, channel, err)
	}
	return nil
}

// GroupMembers lists a user group's members.
func (w *WebAPI) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	ctx, cancel := w.bound(ctx, true)
	defer cancel()
	users, err := w.api.GetUserGroupMembersContext(ctx, groupID)
	w.called("usergroups.users.list", err)
	if err != nil {
		return nil, fmt.Errorf("usergroups.users.list %s: %w", groupID, err)
	}
	return users, nil
}

// DisplayName returns a user's display name, or the ID when Slack cannot
// say; a user group (S…) shows as "group S…", nobody ("") as "".
func (w *WebAPI) DisplayName(ctx context.Context, userID string) string {
	if userID == "" {
		return ""
	}
	if userID[0] == 'S' {
		return "group " + userID
	}
	w.mu.Lock()
	name, ok := w.names[userID]
	w.mu.Unlock()
	if ok {
		return name
	}
	ctx, cancel := w.bound(ctx, true)
	defer cancel()
	u, err := w.api.GetUserInfoContext(ctx, userID)
	w.called("users.info", err)
	if err != nil || u == nil {
		return userID
	}
	name = u.Profile.DisplayName
	if name == "" {
		name = u.Name
	}
	if name == "" {
		name = userID
	}
	w.mu.Lock()
	w.names[userID] = name
	w.mu.Unlock()
	return name
}

// Upload is a file for files upload v2.
type Upload struct {
	Channel, ThreadTS string
	Name, Title, Alt  string
	Data              []byte
}

// Respond posts to a slash command's or button's response_url: ephemeral
// unless public. It is not retried (slack-go's retries serve its Web API
// client, and Slack takes at most five answers to one response_url).
func (w *WebAPI) Respond(ctx context.Context, responseURL string, m Message, public bool) error {
	kind := slack.ResponseTypeEphemeral
	if public {
		kind = slack.ResponseTypeInChannel
	}
	blocks := slack.Blocks{BlockSet: m.Blocks}
	msg := &slack.WebhookMessage{Text: m.Text, Blocks: &blocks, ResponseType: kind, ThreadTimestamp: m.ThreadTS}
	ctx, cancel := w.bound(ctx, true)
	defer cancel()
	err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, w.hooks, msg)
	w.called("response_url", err)
	if err != nil {
		return fmt.Errorf("respond through response_url: %w", err)
	}
	return nil
}

// Upload shares a file in a channel (in a thread when ThreadTS is set)
// with the files upload v2 flow.
func (w *WebAPI) Upload(ctx context.Context, f Upload) error {
	ctx, cancel := w.bound(ctx, false)
	defer cancel()
	p := slack.UploadFileParameters{Filename: f.Name, Title: f.Title, AltTxt: f.Alt, FileSize: len(f.Data),
		Reader: bytes.NewReader(f.Data), Channel: f.Channel, ThreadTimestamp: f.ThreadTS}
	_, err := w.api.UploadFileContext(ctx, p) // the file's own upload is not retried
	w.called("files.uploadV2", err)           // its three requests, as one call
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", f.Name, f.Channel, err)
	}
	return nil
}

// History reads conversations.history after a message, page by page,
// oldest first; a channel with more than maxHistory newer messages gives
// its newest maxHistory, and says so in the log.
func (w *WebAPI) History(ctx context.Context, channel, after string) ([]slack.Message, error) {
	ctx, cancel := w.bound(ctx, true)
	defer cancel()
	p := &slack.GetConversationHistoryParameters{ChannelID: channel, Oldest: after, Limit: 200}
	var out []slack.Message
	for {
		res, err := w.api.GetConversationHistoryContext(ctx, p)
		w.called("conversations.history", err)
		if err != nil {
			return nil, fmt.Errorf("conversations.history %s after %s: %w", channel, after, err)
		}
		out = append(out, res.Messages...)
		next := res.ResponseMetaData.NextCursor
		if !res.HasMore || next == "" {
			break
		}
		if len(out) >= maxHistory {
			w.log.Warn("channel history longer than nightowl reads back; older messages skipped", keyChannel, channel, "after", after, "read", len(out))
			break
		}
		p.Cursor = next
	}
	slices.Reverse(out)
	return out, nil
}
