package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Message is a message the bot sends: a notification fallback and its blocks.
type Message struct {
	Channel  string
	ThreadTS string
	// Text is the fallback Slack shows in notifications; escape untrusted parts.
	Text   string
	Blocks []slack.Block
}

// Slack is the Web API the bot calls; WebAPI implements it with slack-go.
type Slack interface {
	Post(ctx context.Context, m Message) (ts string, err error)
	Update(ctx context.Context, channel, ts string, m Message) error
	Ephemeral(ctx context.Context, channel, user string, m Message) error
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// People names users for display without mentioning them.
type People interface {
	DisplayName(ctx context.Context, userID string) string
}

// WebAPI is the slack-go implementation of Slack and People. It retries calls
// that Slack rate-limits, honouring Retry-After, and caches user names.
type WebAPI struct {
	api     *slack.Client
	retries int
	maxWait time.Duration
	mu      sync.Mutex
	names   map[string]string
	calls   int
	limited int
}

var (
	_ Slack  = (*WebAPI)(nil)
	_ People = (*WebAPI)(nil)
)

// NewWebAPI wraps a slack-go client.
func NewWebAPI(api *slack.Client) *WebAPI {
	return &WebAPI{api: api, retries: 5, maxWait: 30 * time.Second, names: map[string]string{}}
}

// Client is the underlying slack-go client, for Socket Mode.
func (w *WebAPI) Client() *slack.Client { return w.api }

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

// DisplayName returns a user's display name, or the ID when Slack cannot say.
func (w *WebAPI) DisplayName(ctx context.Context, userID string) string {
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

// Responder answers through a response_url and uploads files; WebAPI
// implements it.
type Responder interface {
	Respond(ctx context.Context, responseURL string, m Message, public bool) error
	Upload(ctx context.Context, f Upload) error
}

// Upload is a file for files upload v2.
type Upload struct {
	Channel, ThreadTS string
	Name, Title, Alt  string
	Data              []byte
}

var _ Responder = (*WebAPI)(nil)

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
