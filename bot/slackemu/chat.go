package slackemu

import (
	"encoding/json"
	"slices"
	"strings"
)

// contentParams reads text, blocks and attachments from a Web API call.
func contentParams(req *apiRequest) (content, error) {
	var text *string
	var blocks, atts []byte
	if req.params.Has("text") {
		t := req.get("text")
		text = &t
	}
	if req.params.Has("blocks") {
		blocks = []byte(req.get("blocks"))
	}
	if req.params.Has("attachments") {
		atts = []byte(req.get("attachments"))
	}
	return parseContent(text, blocks, atts)
}

func (s *Server) channelParam(req *apiRequest, key string) (*channel, error) {
	ch := s.ws.channel(req.get(key))
	if ch == nil {
		return nil, apiErr("channel_not_found")
	}
	return ch, nil
}

func (s *Server) chatPostMessage(req *apiRequest) (map[string]any, error) {
	ch, err := s.channelParam(req, "channel")
	if err != nil {
		return nil, err
	}
	body, err := contentParams(req)
	if err != nil {
		return nil, err
	}
	if body.empty() {
		return nil, apiErr("no_text")
	}
	from := s.appAuthorLocked()
	if u := req.get("username"); u != "" {
		from.username = u
	}
	if e := req.get("icon_emoji"); e != "" {
		from.icons = map[string]string{"emoji": e}
	} else if u := req.get("icon_url"); u != "" {
		from.icons = map[string]string{"image_48": u}
	}
	var meta json.RawMessage
	if raw := req.get("metadata"); raw != "" && json.Valid([]byte(raw)) {
		meta = json.RawMessage(raw)
	}
	m, err := s.postLocked(post{
		channel: ch, threadTS: req.get("thread_ts"), broadcast: req.get("reply_broadcast") == "true",
		from: from, body: body, metadata: meta,
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": ch.id, "ts": m.ts, "message": s.wireLocked(m)}, nil
}

func (s *Server) chatUpdate(req *apiRequest) (map[string]any, error) {
	ch, err := s.channelParam(req, "channel")
	if err != nil {
		return nil, err
	}
	m := ch.byTS[req.get("ts")]
	if m == nil {
		return nil, apiErr("message_not_found")
	}
	if !m.byApp {
		return nil, apiErr("cant_update_message")
	}
	body, err := contentParams(req)
	if err != nil {
		return nil, err
	}
	if err := s.updateLocked(m, body); err != nil {
		return nil, err
	}
	return map[string]any{"channel": ch.id, "ts": m.ts, "text": m.text, "message": s.wireLocked(m)}, nil
}

func (s *Server) chatPostEphemeral(req *apiRequest) (map[string]any, error) {
	ch, err := s.channelParam(req, "channel")
	if err != nil {
		return nil, err
	}
	user := req.get("user")
	if user == "" {
		return nil, apiErr("user_not_in_channel")
	}
	body, err := contentParams(req)
	if err != nil {
		return nil, err
	}
	if body.empty() {
		return nil, apiErr("no_text")
	}
	m := s.postEphemeralLocked(ch, user, req.get("thread_ts"), body)
	return map[string]any{"message_ts": m.ts}, nil
}

func (s *Server) chatDelete(req *apiRequest) (map[string]any, error) {
	ch, err := s.channelParam(req, "channel")
	if err != nil {
		return nil, err
	}
	m := ch.byTS[req.get("ts")]
	if m == nil || m.subtype == "tombstone" {
		return nil, apiErr("message_not_found")
	}
	if !m.byApp {
		return nil, apiErr("cant_delete_message")
	}
	ts := m.ts
	s.deleteLocked(m)
	return map[string]any{"channel": ch.id, "ts": ts}, nil
}

func (s *Server) reactionsAdd(req *apiRequest) (map[string]any, error) {
	ch, err := s.channelParam(req, "channel")
	if err != nil {
		return nil, err
	}
	m := ch.byTS[req.get("timestamp")]
	if m == nil {
		return nil, apiErr("message_not_found")
	}
	name := strings.Trim(req.get("name"), ":")
	if name == "" {
		return nil, apiErr("invalid_name")
	}
	if err := s.reactLocked(m, s.cfg.BotUserID, name); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// reactLocked adds user's reaction name to m.
func (s *Server) reactLocked(m *message, user, name string) error {
	i := slices.IndexFunc(m.reactions, func(r *reaction) bool { return r.name == name })
	if i < 0 {
		m.reactions = append(m.reactions, &reaction{name: name})
		i = len(m.reactions) - 1
	}
	r := m.reactions[i]
	if slices.Contains(r.users, user) {
		return apiErr("already_reacted")
	}
	r.users = append(r.users, user)
	s.notifyLocked()
	return nil
}
