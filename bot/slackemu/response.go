package slackemu

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// Response URL limits, as Slack documents them.
const (
	responseURLTTL  = 30 * time.Minute
	responseURLUses = 5
)

// responseURL is a response_url handed out with a slash command or a click.
type responseURL struct {
	channel  string
	user     string
	threadTS string
	origin   *message // what replace_original and delete_original act on; nil if nothing yet
	created  time.Time
	uses     int
}

func (s *Server) newResponseURLLocked(channel, user, threadTS string, origin *message) (string, *responseURL) {
	id := randString(mixedAlnum, 24)
	rec := &responseURL{channel: channel, user: user, threadTS: threadTS, origin: origin, created: s.cfg.Now()}
	s.ws.responses[id] = rec
	return s.url + "/response/" + id, rec
}

// responseBody is what an app POSTs to a response_url, or acks a slash command with.
type responseBody struct {
	Text            *string         `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	Attachments     json.RawMessage `json:"attachments"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

func (b responseBody) isMessage() bool {
	return b.Text != nil && *b.Text != "" || rawOrNil(b.Blocks) != nil || rawOrNil(b.Attachments) != nil ||
		b.DeleteOriginal
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	var body responseBody
	if err == nil {
		err = json.Unmarshal(data, &body)
	}
	s.mu.Lock()
	rep := s.responseURLLocked(r.PathValue("id"), body, err)
	s.mu.Unlock()
	rep.write(w)
}

func (s *Server) responseURLLocked(id string, body responseBody, perr error) reply {
	fail := func(status int, code string) reply {
		s.recordCallLocked("response_url", code)
		return textReply(status, code)
	}
	rec, ok := s.ws.responses[id]
	switch {
	case !ok:
		return fail(http.StatusNotFound, "no_service")
	case s.cfg.Now().Sub(rec.created) > responseURLTTL:
		return fail(http.StatusNotFound, "expired_url")
	case rec.uses >= responseURLUses:
		return fail(http.StatusNotFound, "used_url")
	case perr != nil:
		return fail(http.StatusBadRequest, "invalid_payload")
	}
	if _, err := s.respondLocked(rec, body); err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			ae = apiErr("internal_error")
		}
		s.recordCallLocked("response_url", ae.Code)
		return jsonReply(http.StatusOK, errorBody(ae))
	}
	rec.uses++
	s.recordCallLocked("response_url", "")
	return jsonReply(http.StatusOK, map[string]any{"ok": true})
}

// respondLocked acts on a response: delete or replace the original message, or post a
// new one, in the channel (in_channel) or to the user only (ephemeral, the default).
func (s *Server) respondLocked(rec *responseURL, b responseBody) (*message, error) {
	ch := s.ws.channel(rec.channel)
	if ch == nil {
		return nil, apiErr("channel_not_found")
	}
	if b.DeleteOriginal {
		if rec.origin != nil {
			s.deleteLocked(rec.origin)
			rec.origin = nil
		}
		return nil, nil
	}
	body, err := parseContent(b.Text, rawOrNil(b.Blocks), rawOrNil(b.Attachments))
	if err != nil {
		return nil, err
	}
	if b.ReplaceOriginal && rec.origin != nil {
		if body.empty() {
			return nil, apiErr("no_text")
		}
		// A replacement is a new message body: what it leaves out is gone.
		body.hasText, body.hasBlocks, body.hasAttachments = true, true, true
		if err := s.updateLocked(rec.origin, body); err != nil {
			return nil, err
		}
		return rec.origin, nil
	}
	if body.empty() {
		return nil, apiErr("no_text")
	}
	threadTS := b.ThreadTS
	if threadTS == "" {
		threadTS = rec.threadTS
	}
	var m *message
	if b.ResponseType == "in_channel" {
		m, err = s.postLocked(post{channel: ch, threadTS: threadTS, from: s.appAuthorLocked(), body: body})
		if err != nil {
			return nil, err
		}
	} else {
		m = s.postEphemeralLocked(ch, rec.user, threadTS, body)
	}
	if rec.origin == nil {
		rec.origin = m
	}
	return m, nil
}
