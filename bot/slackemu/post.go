package slackemu

import (
	"encoding/json"
	"slices"
)

// author is who a new message is from.
type author struct {
	user       string
	botID      string
	appID      string
	username   string
	subtype    string
	botProfile *botProfile
	icons      map[string]string
	human      bool // a person typing in a client: client_msg_id and rich_text blocks
	byApp      bool // the app under test, with its bot token
}

// appAuthorLocked is the app under test posting with its bot token.
func (s *Server) appAuthorLocked() author {
	return author{
		user: s.cfg.BotUserID, botID: s.cfg.BotID, appID: s.cfg.AppID, byApp: true,
		botProfile: &botProfile{ID: s.cfg.BotID, AppID: s.cfg.AppID, Name: s.cfg.BotName, TeamID: s.cfg.TeamID, Updated: 1700000000},
	}
}

// botAuthor is another integration: an incoming webhook or another app.
func (s *Server) botAuthor(o WebhookOwner) author {
	return author{
		botID: o.BotID, username: o.Name, subtype: "bot_message",
		botProfile: &botProfile{ID: o.BotID, AppID: o.AppID, Name: o.Name, TeamID: s.cfg.TeamID, Updated: 1700000000},
	}
}

func humanAuthor(user string) author { return author{user: user, human: true} }

// post is a new channel message.
type post struct {
	channel   *channel
	threadTS  string
	broadcast bool
	from      author
	body      content
	files     []*file
	metadata  json.RawMessage
	subtype   string // overrides the author's (file_share)
}

// postLocked stores a channel message, updates its thread, records its mentions and
// delivers it to the app as a message event (and an app_mention when it mentions the app).
func (s *Server) postLocked(p post) (*message, error) {
	var parent *message
	if p.threadTS != "" {
		parent = p.channel.byTS[p.threadTS]
		if parent == nil || !parent.isTopLevel() {
			return nil, apiErr("thread_not_found")
		}
	}
	m := &message{
		channel:     p.channel.id,
		ts:          s.nextTSLocked(),
		user:        p.from.user,
		botID:       p.from.botID,
		appID:       p.from.appID,
		username:    p.from.username,
		subtype:     p.from.subtype,
		botProfile:  p.from.botProfile,
		icons:       p.from.icons,
		team:        s.cfg.TeamID,
		text:        p.body.text,
		blocks:      p.body.blocks,
		attachments: p.body.attachments,
		files:       p.files,
		metadata:    p.metadata,
		byApp:       p.from.byApp,
	}
	if p.subtype != "" {
		m.subtype = p.subtype
	}
	if p.from.human {
		m.clientID = newUUID()
		if m.blocks == nil {
			m.blocks = richTextFromText(m.text)
		}
	}
	if parent != nil {
		m.threadTS, m.parentUserID = parent.ts, parent.author()
		parent.threadTS = parent.ts
		parent.replies = append(parent.replies, m)
		if !slices.Contains(parent.replyUsers, m.author()) {
			parent.replyUsers = append(parent.replyUsers, m.author())
		}
		parent.latestReply = m.ts
		if p.broadcast {
			m.broadcast, m.subtype = true, "thread_broadcast"
		}
	}
	p.channel.byTS[m.ts] = m
	if parent == nil || m.broadcast {
		p.channel.top = append(p.channel.top, m)
	}
	s.recordMentionsLocked(m, nil)
	s.emitMessageLocked(m)
	s.notifyLocked()
	return m, nil
}

// postEphemeralLocked stores a message only user sees; Slack sends no event for it.
func (s *Server) postEphemeralLocked(ch *channel, user, threadTS string, body content) *message {
	from := s.appAuthorLocked()
	m := &message{
		channel: ch.id, ts: s.nextTSLocked(), threadTS: threadTS,
		user: from.user, botID: from.botID, appID: from.appID, botProfile: from.botProfile, team: s.cfg.TeamID,
		text: body.text, blocks: body.blocks, attachments: body.attachments, ephemeralFor: user,
	}
	s.ws.ephemerals[user] = append(s.ws.ephemerals[user], m)
	s.notifyLocked()
	return m
}

// updateLocked applies an edit (chat.update or a response URL's replace_original),
// records the mentions it adds and sends message_changed.
func (s *Server) updateLocked(m *message, body content) error {
	prev := s.wireLocked(m)
	prevTargets := append([]string{}, m.mentionTargets()...)
	text, blocks, atts := m.text, m.blocks, m.attachments
	if body.hasText {
		text = body.text
	}
	if body.hasBlocks {
		blocks = body.blocks
	}
	if body.hasAttachments {
		atts = body.attachments
	}
	if text == "" && len(blocks) == 0 && len(atts) == 0 && len(m.files) == 0 {
		return apiErr("no_text")
	}
	m.text, m.blocks, m.attachments = text, blocks, atts
	m.edited++
	m.editedTS = s.nextTSLocked()
	if m.ephemeralFor == "" {
		s.recordMentionsLocked(m, prevTargets)
		s.emitChangedLocked(m, prev)
	}
	s.notifyLocked()
	return nil
}

// deleteLocked removes m (a parent with replies stays as a tombstone, as on Slack)
// and sends message_deleted.
func (s *Server) deleteLocked(m *message) {
	if m.ephemeralFor != "" {
		s.ws.ephemerals[m.ephemeralFor] = slices.DeleteFunc(s.ws.ephemerals[m.ephemeralFor], func(x *message) bool { return x == m })
		s.notifyLocked()
		return
	}
	prev := s.wireLocked(m)
	ch := s.ws.byID[m.channel]
	switch {
	case len(m.replies) > 0:
		*m = message{
			channel: m.channel, ts: m.ts, threadTS: m.threadTS, user: "USLACKBOT", subtype: "tombstone",
			text: "This message was deleted.", team: m.team, replies: m.replies, replyUsers: m.replyUsers,
			latestReply: m.latestReply,
		}
	default:
		delete(ch.byTS, m.ts)
		ch.top = slices.DeleteFunc(ch.top, func(x *message) bool { return x == m })
		if !m.isTopLevel() {
			if parent := ch.byTS[m.threadTS]; parent != nil {
				parent.replies = slices.DeleteFunc(parent.replies, func(x *message) bool { return x == m })
				parent.replyUsers, parent.latestReply = nil, ""
				for _, r := range parent.replies {
					if !slices.Contains(parent.replyUsers, r.author()) {
						parent.replyUsers = append(parent.replyUsers, r.author())
					}
					parent.latestReply = r.ts
				}
			}
		}
	}
	s.emitDeletedLocked(m.channel, prev)
	s.notifyLocked()
}
