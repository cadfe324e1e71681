package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
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
}

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
// Mode envelopes, each acked before it is handed on (Slack wants an ack
// within 3 s, whatever the work). WebAPI implements it.
type Connection interface {
	Identify(ctx context.Context) (Identity, error)
	// Listen hands every envelope to handle, in order, until ctx ends.
	Listen(ctx context.Context, handle func(ctx context.Context, evt socketmode.Event)) error
}

// WebAPI is the slack-go implementation of Slack, People, Responder and
// Connection, and of runbooks.Directory. It retries calls that Slack
// rate-limits, honouring Retry-After, and caches user names.
type WebAPI struct {
	api     *slack.Client
	log     *slog.Logger
	retries int
	maxWait time.Duration
	mu      sync.Mutex
	names   map[string]string
	calls   int
	limited int
	url     string // the workspace's, from auth.test
}

var (
	_ Slack              = (*WebAPI)(nil)
	_ People             = (*WebAPI)(nil)
	_ Responder          = (*WebAPI)(nil)
	_ Connection         = (*WebAPI)(nil)
	_ runbooks.Directory = (*WebAPI)(nil)
)

// NewWebAPI wraps a slack-go client (bot token, app token, API URL).
func NewWebAPI(api *slack.Client, logger *slog.Logger) *WebAPI {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &WebAPI{api: api, log: logger.With("component", "slack"), retries: 5, maxWait: 30 * time.Second, names: map[string]string{}}
}

// Identify asks Slack who the bot is (auth.test) and remembers the
// workspace's address for Permalink.
func (w *WebAPI) Identify(ctx context.Context) (Identity, error) {
	auth, err := w.api.AuthTestContext(ctx) // once at start: neither retried nor counted
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

// Listen holds the Socket Mode connection, acks every envelope and hands
// it to handle.
func (w *WebAPI) Listen(ctx context.Context, handle func(ctx context.Context, evt socketmode.Event)) error {
	client := socketmode.New(w.api, socketmode.OptionLog(slogPrinter{w.log}))
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
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
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				if err := client.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
					w.log.Warn("ack envelope", keyEnvelope, evt.Request.EnvelopeID, "err", err)
				}
			}
			handle(ctx, evt)
		}
	}
}

// slogPrinter routes slack-go's internal log lines to slog at debug level.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Output(_ int, s string) error {
	p.log.Debug(strings.TrimSpace(s), "source", "slack-go")
	return nil
}

// call runs f, retrying while Slack answers 429.
func (w *WebAPI) call(ctx context.Context, f func() error) error {
	for attempt := 0; ; attempt++ {
		w.mu.Lock()
		w.calls++
		w.mu.Unlock()
		err := f()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || attempt >= w.retries {
			return err
		}
		w.mu.Lock()
		w.limited++
		w.mu.Unlock()
		wait := min(max(rl.RetryAfter, 100*time.Millisecond), w.maxWait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up waiting: %w)", err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// Calls reports Web API calls made and how many were rate-limited.
func (w *WebAPI) Calls() (calls, rateLimited int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls, w.limited
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
	var ts string
	err := w.call(ctx, func() (err error) {
		_, ts, err = w.api.PostMessageContext(ctx, m.Channel, options(m)...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("chat.postMessage to %s: %w", m.Channel, err)
	}
	return ts, nil
}

// Update replaces a message the bot posted.
func (w *WebAPI) Update(ctx context.Context, channel, ts string, m Message) error {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...)}
	err := w.call(ctx, func() error {
		_, _, _, err := w.api.UpdateMessageContext(ctx, channel, ts, opts...)
		return err
	})
	if err != nil {
		return fmt.Errorf("chat.update %s/%s: %w", channel, ts, err)
	}
	return nil
}

// Ephemeral shows a message to one user only.
func (w *WebAPI) Ephemeral(ctx context.Context, channel, user string, m Message) error {
	err := w.call(ctx, func() error {
		_, err := w.api.PostEphemeralContext(ctx, channel, user, options(m)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("chat.postEphemeral to %s in %s: %w", user, channel, err)
	}
	return nil
}

// GroupMembers lists a user group's members.
func (w *WebAPI) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	var users []string
	err := w.call(ctx, func() (err error) {
		users, err = w.api.GetUserGroupMembersContext(ctx, groupID)
		return err
	})
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
	var u *slack.User
	err := w.call(ctx, func() (err error) {
		u, err = w.api.GetUserInfoContext(ctx, userID)
		return err
	})
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
// unless public.
func (w *WebAPI) Respond(ctx context.Context, responseURL string, m Message, public bool) error {
	kind := slack.ResponseTypeEphemeral
	if public {
		kind = slack.ResponseTypeInChannel
	}
	blocks := slack.Blocks{BlockSet: m.Blocks}
	msg := &slack.WebhookMessage{Text: m.Text, Blocks: &blocks, ResponseType: kind, ThreadTimestamp: m.ThreadTS}
	err := w.call(ctx, func() error { return slack.PostWebhookCustomHTTPContext(ctx, responseURL, w.httpClient(), msg) })
	if err != nil {
		return fmt.Errorf("respond through response_url: %w", err)
	}
	return nil
}

// Upload shares a file in a channel (in a thread when ThreadTS is set)
// with the files upload v2 flow.
func (w *WebAPI) Upload(ctx context.Context, f Upload) error {
	p := slack.UploadFileParameters{Filename: f.Name, Title: f.Title, AltTxt: f.Alt, FileSize: len(f.Data),
		Reader: bytes.NewReader(f.Data), Channel: f.Channel, ThreadTimestamp: f.ThreadTS}
	if _, err := w.api.UploadFileContext(ctx, p); err != nil { // multipart uploads are not retried
		return fmt.Errorf("upload %s to %s: %w", f.Name, f.Channel, err)
	}
	return nil
}

func (w *WebAPI) httpClient() *http.Client { return http.DefaultClient }
