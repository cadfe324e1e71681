package slackemu

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// workspace is the channel and thread model. Every field is guarded by Server.mu.
type workspace struct {
	channels   []*channel // in Config order
	byID       map[string]*channel
	users      map[string]User
	groups     map[string][]string
	ephemerals map[string][]*message // by user, oldest first
	mentions   []Mention
	files      map[string]*file
	webhooks   map[string]*webhook // by URL path
	responses  map[string]*responseURL
}

type channel struct {
	id, name string
	top      []*message          // top-level messages (and broadcast replies), oldest first
	byTS     map[string]*message // every message of the channel, replies included
}

// message is one stored message. Text is stored escaped, blocks and attachments
// normalised, as Slack stores them.
type message struct {
	channel  string
	ts       string
	threadTS string // parent ts for replies; own ts for a parent with replies

	user       string
	botID      string
	appID      string
	username   string
	subtype    string
	botProfile *botProfile
	icons      map[string]string
	team       string
	clientID   string

	text        string
	blocks      json.RawMessage
	attachments json.RawMessage
	files       []*file
	metadata    json.RawMessage

	edited    int
	editedTS  string
	reactions []*reaction

	replies      []*message
	replyUsers   []string
	latestReply  string
	parentUserID string

	byApp        bool   // posted with the app's bot token: chat.update and chat.delete may touch it
	broadcast    bool   // a thread reply also shown in the channel
	ephemeralFor string // set on ephemeral messages
}

type reaction struct {
	name  string
	users []string
}

type botProfile struct {
	ID      string `json:"id"`
	AppID   string `json:"app_id,omitempty"`
	Name    string `json:"name"`
	TeamID  string `json:"team_id"`
	Deleted bool   `json:"deleted"`
	Updated int64  `json:"updated"`
}

func newWorkspace(cfg Config) *workspace {
	w := &workspace{
		byID:       map[string]*channel{},
		users:      map[string]User{},
		groups:     map[string][]string{},
		ephemerals: map[string][]*message{},
		files:      map[string]*file{},
		webhooks:   map[string]*webhook{},
		responses:  map[string]*responseURL{},
	}
	for _, c := range cfg.Channels {
		ch := &channel{id: c.ID, name: c.Name, byTS: map[string]*message{}}
		w.channels = append(w.channels, ch)
		w.byID[c.ID] = ch
	}
	for _, u := range cfg.Users {
		w.users[u.ID] = u
	}
	if _, ok := w.users[cfg.BotUserID]; !ok {
		w.users[cfg.BotUserID] = User{ID: cfg.BotUserID, Name: cfg.BotName, RealName: cfg.BotName, IsBot: true}
	}
	for id, members := range cfg.UserGroups {
		w.groups[id] = slices.Clone(members)
	}
	return w
}

// channel finds a channel by ID, by name or by "#name".
func (w *workspace) channel(ref string) *channel {
	if ch, ok := w.byID[ref]; ok {
		return ch
	}
	name := strings.TrimPrefix(ref, "#")
	for _, ch := range w.channels {
		if ch.name == name {
			return ch
		}
	}
	return nil
}

func (w *workspace) userName(id string) string {
	if u, ok := w.users[id]; ok && u.Name != "" {
		return u.Name
	}
	return id
}

// isTopLevel reports whether m is a top-level message, one that can take replies.
func (m *message) isTopLevel() bool { return m.threadTS == "" || m.threadTS == m.ts }

// author is the ID Slack lists in reply_users: the user, or the bot for bot messages.
func (m *message) author() string {
	if m.user != "" {
		return m.user
	}
	return m.botID
}

// Message is a read-only copy of a stored message, for tests.
type Message struct {
	Channel     string
	TS          string
	ThreadTS    string // the parent's ts for a reply; its own ts for a parent with replies
	User        string
	BotID       string
	AppID       string
	Username    string
	Subtype     string
	Text        string          // as stored: escaped, with control sequences
	Blocks      json.RawMessage // as stored: normalised, block_id and action_id filled in
	Attachments json.RawMessage // as stored: "id" added, colours as hex
	Files       []File
	Edited      int // number of updates (chat.update or response_url replace)
	Reactions   []Reaction
	ReplyCount  int
	ReplyUsers  []string
	Ephemeral   bool   // only visible to EphemeralTo
	EphemeralTo string // the user who sees an ephemeral message
}

// Reaction is an emoji reaction on a message.
type Reaction struct {
	Name  string
	Users []string
}

// File is a shared file's metadata; Server.File returns its bytes.
type File struct {
	ID       string
	Name     string
	Title    string
	Mimetype string
	Size     int
}

func (m *message) export() Message {
	out := Message{
		Channel:     m.channel,
		TS:          m.ts,
		ThreadTS:    m.threadTS,
		User:        m.user,
		BotID:       m.botID,
		AppID:       m.appID,
		Username:    m.username,
		Subtype:     m.subtype,
		Text:        m.text,
		Blocks:      bytes.Clone(m.blocks),
		Attachments: bytes.Clone(m.attachments),
		Edited:      m.edited,
		ReplyCount:  len(m.replies),
		ReplyUsers:  slices.Clone(m.replyUsers),
		Ephemeral:   m.ephemeralFor != "",
		EphemeralTo: m.ephemeralFor,
	}
	for _, f := range m.files {
		out.Files = append(out.Files, File{ID: f.id, Name: f.name, Title: f.title, Mimetype: f.mimetype, Size: len(f.data)})
	}
	for _, r := range m.reactions {
		out.Reactions = append(out.Reactions, Reaction{Name: r.name, Users: slices.Clone(r.users)})
	}
	return out
}

// Messages returns the top-level messages of a channel (ID or name), oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.ws.channel(channel)
	if ch == nil {
		return nil
	}
	out := make([]Message, 0, len(ch.top))
	for _, m := range ch.top {
		out = append(out, m.export())
	}
	return out
}

// Replies returns the replies in the thread of the message ts, oldest first, without the parent.
func (s *Server) Replies(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.ws.channel(channel)
	if ch == nil {
		return nil
	}
	parent, ok := ch.byTS[ts]
	if !ok {
		return nil
	}
	var out []Message
	for _, m := range parent.replies {
		out = append(out, m.export())
	}
	return out
}

// Message returns one message of a channel, top-level or reply.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.ws.channel(channel)
	if ch == nil {
		return Message{}, false
	}
	m, ok := ch.byTS[ts]
	if !ok {
		return Message{}, false
	}
	return m.export(), true
}

// Ephemerals returns the ephemeral messages shown to user, oldest first.
func (s *Server) Ephemerals(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.ws.ephemerals[user] {
		out = append(out, m.export())
	}
	return out
}

// Mention is a mention found in a posted message: in its text, in mrkdwn or rich text
// inside its blocks, or in its attachments.
type Mention struct {
	Channel string
	TS      string
	// Target is a user ID ("U…"), a user group ID ("S…"), or "channel", "here", "everyone".
	Target string
	// Edited marks a mention added by an edit: Slack does not notify anyone for those.
	Edited bool
}

// Mentions returns every mention recorded so far, in posting order.
func (s *Server) Mentions() []Mention {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ws.mentions)
}

// recordMentionsLocked records the mentions of m; for an edit, only those that prev did not have.
func (s *Server) recordMentionsLocked(m *message, prev []string) {
	for _, t := range m.mentionTargets() {
		if prev != nil && slices.Contains(prev, t) {
			continue
		}
		s.ws.mentions = append(s.ws.mentions, Mention{Channel: m.channel, TS: m.ts, Target: t, Edited: prev != nil})
	}
}

// mentionTargets lists the distinct mention targets in text, blocks and attachments.
func (m *message) mentionTargets() []string {
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, t := range textMentions(m.text) {
		add(t)
	}
	for _, t := range jsonMentions(m.blocks) {
		add(t)
	}
	for _, t := range attachmentMentions(m.attachments) {
		add(t)
	}
	return out
}
