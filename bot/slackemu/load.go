package slackemu

import "encoding/json"

// EnvelopeChannels maps the ID of every events_api envelope so far to the
// channel its event happened in, so that a load test can tell the
// envelopes carrying relayed alerts from the app's own echoes.
func (s *Server) EnvelopeChannels() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.del.all))
	for _, e := range s.del.all {
		if e.kind != kindEvents {
			continue
		}
		var cb struct {
			Event struct {
				Channel string `json:"channel"`
			} `json:"event"`
		}
		if json.Unmarshal(e.payload, &cb) == nil {
			out[e.id] = cb.Event.Channel
		}
	}
	return out
}
