package slackemu

import (
	"bytes"
	"encoding/json"
	"mime"
	"path"
	"strings"
)

// wireMessage is a message as Slack's Web API and Events API show it.
type wireMessage struct {
	ClientMsgID  string            `json:"client_msg_id,omitempty"`
	Type         string            `json:"type"`
	Subtype      string            `json:"subtype,omitempty"`
	Text         string            `json:"text"`
	User         string            `json:"user,omitempty"`
	BotID        string            `json:"bot_id,omitempty"`
	AppID        string            `json:"app_id,omitempty"`
	Username     string            `json:"username,omitempty"`
	Icons        map[string]string `json:"icons,omitempty"`
	BotProfile   *botProfile       `json:"bot_profile,omitempty"`
	Blocks       json.RawMessage   `json:"blocks,omitempty"`
	Attachments  json.RawMessage   `json:"attachments,omitempty"`
	Files        []wireFile        `json:"files,omitempty"`
	Upload       *bool             `json:"upload,omitempty"`
	DisplayAsBot *bool             `json:"display_as_bot,omitempty"`
	TS           string            `json:"ts"`
	ThreadTS     string            `json:"thread_ts,omitempty"`
	ParentUserID string            `json:"parent_user_id,omitempty"`
	ReplyCount   int               `json:"reply_count,omitempty"`
	ReplyUsersN  int               `json:"reply_users_count,omitempty"`
	ReplyUsers   []string          `json:"reply_users,omitempty"`
	LatestReply  string            `json:"latest_reply,omitempty"`
	Edited       *wireEdited       `json:"edited,omitempty"`
	Reactions    []wireReaction    `json:"reactions,omitempty"`
	Team         string            `json:"team,omitempty"`
	Metadata     json.RawMessage   `json:"metadata,omitempty"`

	// Events API only.
	Channel     string `json:"channel,omitempty"`
	EventTS     string `json:"event_ts,omitempty"`
	ChannelType string `json:"channel_type,omitempty"`
}

type wireEdited struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

type wireReaction struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
	Count int      `json:"count"`
}

type wireFile struct {
	ID                 string `json:"id"`
	Created            int64  `json:"created"`
	Timestamp          int64  `json:"timestamp"`
	Name               string `json:"name"`
	Title              string `json:"title"`
	Mimetype           string `json:"mimetype"`
	Filetype           string `json:"filetype"`
	PrettyType         string `json:"pretty_type"`
	User               string `json:"user"`
	AltTxt             string `json:"alt_txt,omitempty"`
	Mode               string `json:"mode"`
	Editable           bool   `json:"editable"`
	IsExternal         bool   `json:"is_external"`
	ExternalType       string `json:"external_type"`
	IsPublic           bool   `json:"is_public"`
	Size               int    `json:"size"`
	URLPrivate         string `json:"url_private"`
	URLPrivateDownload string `json:"url_private_download"`
	Permalink          string `json:"permalink"`
}

// wireLocked renders m as the Web API shows it (no channel, no event fields).
func (s *Server) wireLocked(m *message) wireMessage {
	w := wireMessage{
		ClientMsgID:  m.clientID,
		Type:         "message",
		Subtype:      m.subtype,
		Text:         m.text,
		User:         m.user,
		BotID:        m.botID,
		AppID:        m.appID,
		Username:     m.username,
		Icons:        m.icons,
		BotProfile:   m.botProfile,
		Blocks:       m.blocks,
		Attachments:  m.attachments,
		TS:           m.ts,
		ThreadTS:     m.threadTS,
		ParentUserID: m.parentUserID,
		Team:         m.team,
		Metadata:     m.metadata,
	}
	if len(m.replies) > 0 {
		w.ReplyCount = len(m.replies)
		w.ReplyUsers = m.replyUsers
		w.ReplyUsersN = len(m.replyUsers)
		w.LatestReply = m.latestReply
	}
	if m.edited > 0 {
		w.Edited = &wireEdited{User: s.editorOf(m), TS: m.editedTS}
	}
	for _, r := range m.reactions {
		w.Reactions = append(w.Reactions, wireReaction{Name: r.name, Users: r.users, Count: len(r.users)})
	}
	for _, f := range m.files {
		w.Files = append(w.Files, s.wireFileLocked(f))
	}
	if len(m.files) > 0 {
		no := false
		w.Upload, w.DisplayAsBot = &no, &no
	}
	return w
}

func (s *Server) editorOf(m *message) string {
	if m.user != "" {
		return m.user
	}
	return m.botID
}

// eventLocked renders m as the inner event of a message event.
func (s *Server) eventLocked(m *message) wireMessage {
	w := s.wireLocked(m)
	w.Channel, w.EventTS, w.ChannelType = m.channel, m.ts, "channel"
	return w
}

func (s *Server) wireFileLocked(f *file) wireFile {
	base := s.url + "/files/" + f.id + "/" + f.name
	return wireFile{
		ID:                 f.id,
		Created:            f.created,
		Timestamp:          f.created,
		Name:               f.name,
		Title:              f.title,
		Mimetype:           f.mimetype,
		Filetype:           f.filetype,
		PrettyType:         strings.ToUpper(f.filetype),
		User:               s.cfg.BotUserID,
		AltTxt:             f.altTxt,
		Mode:               "hosted",
		ExternalType:       "",
		IsPublic:           true,
		Size:               len(f.data),
		URLPrivate:         base,
		URLPrivateDownload: base,
		Permalink:          "https://" + s.cfg.TeamDomain + ".slack.com/files/" + s.cfg.BotUserID + "/" + f.id + "/" + f.name,
	}
}

// mimeOf guesses a file's mimetype and Slack filetype from its name.
func mimeOf(name string) (mimetype, filetype string) {
	ext := strings.ToLower(path.Ext(name))
	filetype = strings.TrimPrefix(ext, ".")
	if filetype == "" {
		filetype = "text"
	}
	mimetype = mime.TypeByExtension(ext)
	if i := strings.IndexByte(mimetype, ';'); i >= 0 {
		mimetype = mimetype[:i]
	}
	if mimetype == "" {
		mimetype = "application/octet-stream"
		if ext == "" || ext == ".txt" || ext == ".log" {
			mimetype = "text/plain"
		}
	}
	return mimetype, filetype
}

// marshal encodes v without HTML escaping, as Slack sends "<", ">" and "&" verbatim.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("slackemu: marshal: " + err.Error()) // only ever called on the package's own types
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// decodeJSON decodes data keeping numbers as json.Number, so re-encoding is lossless.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}
