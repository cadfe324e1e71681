package slackemu

import (
	"encoding/base64"
	"encoding/json"
	"slices"
)

// eventCallback is the events_api envelope payload.
type eventCallback struct {
	Token              string          `json:"token"`
	TeamID             string          `json:"team_id"`
	APIAppID           string          `json:"api_app_id"`
	Event              json.RawMessage `json:"event"`
	Type               string          `json:"type"`
	EventID            string          `json:"event_id"`
	EventTime          int64           `json:"event_time"`
	Authorizations     []authorization `json:"authorizations"`
	IsExtSharedChannel bool            `json:"is_ext_shared_channel"`
	EventContext       string          `json:"event_context"`
}

type authorization struct {
	EnterpriseID        *string `json:"enterprise_id"`
	TeamID              string  `json:"team_id"`
	UserID              string  `json:"user_id"`
	IsBot               bool    `json:"is_bot"`
	IsEnterpriseInstall bool    `json:"is_enterprise_install"`
}

// emitEventLocked wraps an inner event in an event_callback and queues it for the app.
func (s *Server) emitEventLocked(eventType, channel string, event any) {
	ctx := marshal(map[string]string{"et": eventType, "tid": s.cfg.TeamID, "aid": s.cfg.AppID, "cid": channel})
	cb := eventCallback{
		Token:          verificationToken,
		TeamID:         s.cfg.TeamID,
		APIAppID:       s.cfg.AppID,
		Event:          marshal(event),
		Type:           "event_callback",
		EventID:        newEventID(),
		EventTime:      s.cfg.Now().Unix(),
		Authorizations: []authorization{{TeamID: s.cfg.TeamID, UserID: s.cfg.BotUserID, IsBot: true}},
		EventContext:   "4-" + base64.RawStdEncoding.EncodeToString(ctx),
	}
	s.enqueueLocked(newEnvelope(kindEvents, marshal(cb), false, cb.EventID))
}

// emitMessageLocked sends the message event for a new message, and an app_mention
// with the same ts when someone other than the app mentions the bot user.
func (s *Server) emitMessageLocked(m *message) {
	ev := s.eventLocked(m)
	s.emitEventLocked("message", m.channel, ev)
	if m.user == s.cfg.BotUserID || !slices.Contains(textMentions(m.text), s.cfg.BotUserID) {
		return
	}
	mention := ev
	mention.Type, mention.Subtype, mention.ChannelType = "app_mention", "", ""
	mention.Username, mention.BotProfile, mention.Icons = "", nil, nil
	s.emitEventLocked("app_mention", m.channel, mention)
}

// changedEvent is a message_changed or message_deleted event.
type changedEvent struct {
	Type            string       `json:"type"`
	Subtype         string       `json:"subtype"`
	Hidden          bool         `json:"hidden"`
	Message         *wireMessage `json:"message,omitempty"`
	PreviousMessage wireMessage  `json:"previous_message"`
	DeletedTS       string       `json:"deleted_ts,omitempty"`
	Channel         string       `json:"channel"`
	TS              string       `json:"ts"`
	EventTS         string       `json:"event_ts"`
	ChannelType     string       `json:"channel_type"`
}

func (s *Server) emitChangedLocked(m *message, prev wireMessage) {
	now := s.wireLocked(m)
	ts := s.nextTSLocked()
	s.emitEventLocked("message", m.channel, changedEvent{
		Type: "message", Subtype: "message_changed", Hidden: true, Message: &now, PreviousMessage: prev,
		Channel: m.channel, TS: ts, EventTS: ts, ChannelType: "channel",
	})
}

func (s *Server) emitDeletedLocked(channel string, prev wireMessage) {
	ts := s.nextTSLocked()
	s.emitEventLocked("message", channel, changedEvent{
		Type: "message", Subtype: "message_deleted", Hidden: true, PreviousMessage: prev, DeletedTS: prev.TS,
		Channel: channel, TS: ts, EventTS: ts, ChannelType: "channel",
	})
}
