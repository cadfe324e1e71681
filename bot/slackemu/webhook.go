package slackemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// WebhookOwner is the app that owns an incoming webhook (Alertmanager's, say). Its
// messages carry its bot_id and show its name.
type WebhookOwner struct {
	AppID string
	BotID string // default: a generated B… ID
	Name  string // default "incoming-webhook"
}

type webhook struct {
	channel string
	owner   WebhookOwner
}

// NewWebhook creates an incoming webhook posting to channelID and returns its URL,
// http://HOST/services/T…/B…/SECRET. Call it after Start.
func (s *Server) NewWebhook(channelID string, owner WebhookOwner) string {
	if owner.BotID == "" {
		owner.BotID = "B" + randString(upperAlnum, 10)
	}
	if owner.Name == "" {
		owner.Name = "incoming-webhook"
	}
	path := "/services/" + s.cfg.TeamID + "/" + owner.BotID + "/" + randString(mixedAlnum, 24)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ws.webhooks[path] = &webhook{channel: channelID, owner: owner}
	return s.url + path
}

// webhookPayload is what an incoming webhook accepts. App-owned webhooks ignore
// channel, username and icon overrides, so those are read and dropped.
type webhookPayload struct {
	Text        *string         `json:"text"`
	Blocks      json.RawMessage `json:"blocks"`
	Attachments json.RawMessage `json:"attachments"`
	ThreadTS    string          `json:"thread_ts"`
	Username    string          `json:"username"`
	Channel     string          `json:"channel"`
	IconEmoji   string          `json:"icon_emoji"`
	IconURL     string          `json:"icon_url"`
}

// serveWebhook turns a POST into a bot_message, answering in text as Slack does:
// 200 "ok", 400 "invalid_payload" / "no_text" / "invalid_blocks", 404 "no_service",
// 429 when rate limited through RateLimit("webhook", …).
func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request) {
	payload, perr := readWebhookPayload(r)
	s.mu.Lock()
	rep := s.webhookLocked(r.URL.Path, payload, perr)
	s.mu.Unlock()
	rep.write(w)
}

func (s *Server) webhookLocked(path string, p webhookPayload, perr error) reply {
	fail := func(status int, code string) reply {
		s.recordCallLocked("webhook", code)
		return textReply(status, code)
	}
	if after, limited := s.takeRateLimitLocked("webhook"); limited {
		rep := fail(http.StatusTooManyRequests, "rate_limited")
		rep.header["Retry-After"] = after
		return rep
	}
	hook, ok := s.ws.webhooks[path]
	if !ok {
		return fail(http.StatusNotFound, "no_service")
	}
	if perr != nil {
		return fail(http.StatusBadRequest, "invalid_payload")
	}
	ch := s.ws.channel(hook.channel)
	if ch == nil {
		return fail(http.StatusNotFound, "channel_not_found")
	}
	body, err := parseContent(p.Text, rawOrNil(p.Blocks), rawOrNil(p.Attachments))
	if err == nil && body.empty() {
		err = apiErr("no_text")
	}
	if err == nil {
		_, err = s.postLocked(post{channel: ch, threadTS: p.ThreadTS, from: s.botAuthor(hook.owner), body: body})
	}
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return fail(http.StatusBadRequest, ae.Code)
		}
		return fail(http.StatusInternalServerError, "internal_error")
	}
	s.recordCallLocked("webhook", "")
	return textReply(http.StatusOK, "ok")
}

// readWebhookPayload reads JSON, or a form with a "payload" field holding JSON.
func readWebhookPayload(r *http.Request) (webhookPayload, error) {
	var p webhookPayload
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		return p, err
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(data))
		if err != nil {
			return p, err
		}
		data = []byte(form.Get("payload"))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return p, errors.New("empty payload")
	}
	return p, json.Unmarshal(data, &p)
}

func rawOrNil(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// PostAsBot posts as another integration (an alert source, another app): a
// bot_message with the owner's bot_id, like a webhook post, optionally in a thread.
func (s *Server) PostAsBot(channel string, owner WebhookOwner, text string, attachments json.RawMessage, threadTS string) (string, error) {
	if owner.BotID == "" {
		owner.BotID = "B0OTHERBOT"
	}
	if owner.Name == "" {
		owner.Name = "bot"
	}
	body, err := parseContent(&text, nil, rawOrNil(attachments))
	if err != nil {
		return "", err
	}
	return s.postAs(channel, threadTS, s.botAuthor(owner), body)
}

// PostAsUser posts a person's message (text in Slack markup, e.g. "<@U0NIGHTOWL> status"),
// optionally in the thread of threadTS. Mentioning the bot user also raises app_mention.
func (s *Server) PostAsUser(channel, user, text, threadTS string) (string, error) {
	body, err := parseContent(&text, nil, nil)
	if err != nil {
		return "", err
	}
	return s.postAs(channel, threadTS, humanAuthor(user), body)
}

// postAs posts someone else's message, as Slack would show it to the app.
func (s *Server) postAs(channel, threadTS string, from author, body content) (string, error) {
	if body.empty() {
		return "", apiErr("no_text")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.ws.channel(channel)
	if ch == nil {
		return "", apiErr("channel_not_found")
	}
	m, err := s.postLocked(post{channel: ch, threadTS: threadTS, from: from, body: body})
	if err != nil {
		return "", err
	}
	return m.ts, nil
}
