package slackemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNoAck means the app did not ack a slash command or click within AckTimeout;
	// Slack would show the user an error and never retry.
	ErrNoAck = errors.New("slackemu: app did not ack in time")
	// ErrNoSuchButton means the message's current blocks have no such button.
	ErrNoSuchButton = errors.New("slackemu: no such button on the message")
	// ErrNoConfirm means a click asked to deny a confirmation dialog the
	// button does not have.
	ErrNoConfirm = errors.New("slackemu: the button has no confirm dialog")
)

// SlashCommand is a person typing a slash command in a channel.
type SlashCommand struct {
	User    string
	Channel string
	Command string // "/diag"
	Text    string // what follows the command
	// ThreadTS is set when the command is typed in a thread's composer: in_channel
	// responses then land in that thread. Slack does not put it in the payload.
	ThreadTS string
}

// SlashResult is what became of a slash command.
type SlashResult struct {
	EnvelopeID  string
	Ack         json.RawMessage // the ack payload; nil for an empty ack
	AckedAfter  time.Duration
	ResponseURL string
	// Response is the message the ack payload produced (ephemeral or in_channel), if any.
	Response *Message
}

// SlashCommand sends a slash_commands envelope and waits for the ack (at most
// AckTimeout). An ack payload with text or blocks is the immediate response.
func (s *Server) SlashCommand(ctx context.Context, cmd SlashCommand) (SlashResult, error) {
	s.mu.Lock()
	ch := s.ws.channel(cmd.Channel)
	if ch == nil {
		s.mu.Unlock()
		return SlashResult{}, apiErr("channel_not_found")
	}
	url, rec := s.newResponseURLLocked(ch.id, cmd.User, cmd.ThreadTS, nil)
	payload := marshal(map[string]any{
		"token": verificationToken, "team_id": s.cfg.TeamID, "team_domain": s.cfg.TeamDomain,
		"channel_id": ch.id, "channel_name": ch.name, "user_id": cmd.User, "user_name": s.ws.userName(cmd.User),
		"command": cmd.Command, "text": cmd.Text, "api_app_id": s.cfg.AppID, "is_enterprise_install": "false",
		"response_url": url, "trigger_id": newTriggerID(),
	})
	env := newEnvelope(kindSlash, payload, true, "")
	s.enqueueLocked(env)
	s.mu.Unlock()

	ack, after, err := s.deliverAndWait(ctx, env)
	res := SlashResult{EnvelopeID: env.id, Ack: ack, AckedAfter: after, ResponseURL: url}
	if err != nil || ack == nil {
		return res, err
	}
	var body responseBody
	if err := json.Unmarshal(ack, &body); err != nil {
		return res, fmt.Errorf("ack payload: %w", err)
	}
	if !body.isMessage() {
		return res, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.respondLocked(rec, body)
	if m != nil {
		exp := m.export()
		res.Response = &exp
	}
	return res, err
}

// Click is a person pressing a button, or picking an option of a
// static_select menu.
type Click struct {
	User      string
	Channel   string
	MessageTS string // a channel message, or one of the user's ephemeral messages
	ActionID  string
	// Value, when set, must match the button's value (to pick among similar
	// cards); for a static_select it is the value of the option picked.
	Value string
	// Deny answers the button's confirm dialog with its deny button: Slack
	// then sends nothing. Without Deny a dialog is confirmed.
	Deny bool
	// Seen are the blocks the person's client shows, when it missed an
	// update (a stale client); default the message's current blocks.
	Seen json.RawMessage
}

// ClickResult is what became of a click.
type ClickResult struct {
	EnvelopeID  string
	Ack         json.RawMessage
	AckedAfter  time.Duration
	ResponseURL string
	// Confirm is the dialog Slack showed before it sent the click, if the
	// element has one.
	Confirm *Confirm
}

// Confirm is a confirmation dialog as the person saw it.
type Confirm struct {
	Title, Text, Confirm, Deny, Style string
}

// Click presses the button with ActionID in the current blocks of the message, sends the
// block_actions payload and waits for the ack (at most AckTimeout). It returns
// ErrNoSuchButton when the message has no such button now, so tests cannot press a
// button an update removed.
func (s *Server) Click(ctx context.Context, c Click) (ClickResult, error) {
	s.mu.Lock()
	env, url, dialog, err := s.clickLocked(c)
	s.mu.Unlock()
	if err != nil || env == nil {
		return ClickResult{Confirm: dialog}, err
	}
	ack, after, err := s.deliverAndWait(ctx, env)
	return ClickResult{EnvelopeID: env.id, Ack: ack, AckedAfter: after, ResponseURL: url, Confirm: dialog}, err
}

// dialogOf reads an element's confirm dialog (validated when posted).
func dialogOf(el map[string]any) *Confirm {
	c, ok := el["confirm"].(map[string]any)
	if !ok {
		return nil
	}
	text := func(k string) string {
		t, _ := c[k].(map[string]any)
		s, _ := t["text"].(string)
		return s
	}
	style, _ := c["style"].(string)
	return &Confirm{Title: text("title"), Text: text("text"), Confirm: text("confirm"), Deny: text("deny"), Style: style}
}

func (s *Server) clickLocked(c Click) (*envelope, string, *Confirm, error) {
	ch := s.ws.channel(c.Channel)
	if ch == nil {
		return nil, "", nil, apiErr("channel_not_found")
	}
	m, ephemeral := ch.byTS[c.MessageTS], false
	if m == nil {
		for _, e := range s.ws.ephemerals[c.User] {
			if e.ts == c.MessageTS && e.channel == ch.id {
				m, ephemeral = e, true
			}
		}
	}
	if m == nil {
		return nil, "", nil, fmt.Errorf("click %s on %s/%s: %w", c.ActionID, ch.id, c.MessageTS, apiErr("message_not_found"))
	}
	shown := m.blocks
	if len(c.Seen) > 0 {
		shown = c.Seen
	}
	blockID, button, ok := findButton(shown, c.ActionID, c.Value)
	if !ok {
		return nil, "", nil, fmt.Errorf("click %s on %s/%s: %w", c.ActionID, ch.id, c.MessageTS, ErrNoSuchButton)
	}
	dialog := dialogOf(button)
	switch {
	case c.Deny && dialog == nil:
		return nil, "", nil, fmt.Errorf("click %s on %s/%s: %w", c.ActionID, ch.id, c.MessageTS, ErrNoConfirm)
	case c.Deny:
		return nil, "", dialog, nil // the person thought better of it: Slack sends nothing
	}
	threadTS := ""
	if !m.isTopLevel() {
		threadTS = m.threadTS
	}
	url, _ := s.newResponseURLLocked(ch.id, c.User, threadTS, m)
	action := map[string]any{"type": "button", "block_id": blockID, "action_ts": s.nextTSLocked()}
	for _, k := range []string{"action_id", "text", "value", "style", "url"} {
		if v, ok := button[k]; ok {
			action[k] = v
		}
	}
	if button["type"] == "static_select" {
		action = map[string]any{"type": "static_select", "block_id": blockID, "action_ts": s.nextTSLocked(),
			"action_id": button["action_id"], "selected_option": button["selected_option"]}
		if p, ok := button["placeholder"]; ok {
			action["placeholder"] = p
		}
	}
	container := map[string]any{"type": "message", "message_ts": m.ts, "channel_id": ch.id, "is_ephemeral": ephemeral}
	if threadTS != "" {
		container["thread_ts"] = threadTS
	}
	name := s.ws.userName(c.User)
	payload := map[string]any{
		"type":                  "block_actions",
		"user":                  map[string]any{"id": c.User, "username": name, "name": name, "team_id": s.cfg.TeamID},
		"api_app_id":            s.cfg.AppID,
		"token":                 verificationToken,
		"container":             container,
		"trigger_id":            newTriggerID(),
		"team":                  map[string]any{"id": s.cfg.TeamID, "domain": s.cfg.TeamDomain},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": ch.id, "name": ch.name},
		"state":                 map[string]any{"values": map[string]any{}},
		"response_url":          url,
		"actions":               []any{action},
	}
	if !ephemeral { // Slack sends no message for a click on an ephemeral message
		payload["message"] = s.wireLocked(m)
	}
	env := newEnvelope(kindInteractive, marshal(payload), false, "")
	s.enqueueLocked(env)
	return env, url, dialog, nil
}

// findButton finds the button with actionID (and value, if set) in stored blocks,
// in actions blocks and section accessories.
func findButton(blocks json.RawMessage, actionID, value string) (blockID string, button map[string]any, ok bool) {
	var bs []map[string]any
	if len(blocks) == 0 || json.Unmarshal(blocks, &bs) != nil {
		return "", nil, false
	}
	match := func(e any) bool {
		el, _ := e.(map[string]any)
		if el["type"] == "static_select" && el["action_id"] == actionID && value != "" {
			opts, _ := el["options"].([]any)
			for _, o := range opts {
				if opt, _ := o.(map[string]any); opt["value"] == value {
					button = map[string]any{"type": "static_select", "action_id": actionID, "selected_option": opt, "placeholder": el["placeholder"]}
					return true
				}
			}
			return false
		}
		if el["type"] != "button" || el["action_id"] != actionID {
			return false
		}
		if v, _ := el["value"].(string); value != "" && v != value {
			return false
		}
		button = el
		return true
	}
	for _, b := range bs {
		id, _ := b["block_id"].(string)
		if elems, _ := b["elements"].([]any); b["type"] == "actions" {
			for _, e := range elems {
				if match(e) {
					return id, button, true
				}
			}
		}
		if b["type"] == "section" && match(b["accessory"]) {
			return id, button, true
		}
	}
	return "", nil, false
}
