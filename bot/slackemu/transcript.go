package slackemu

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Transcript renders channels (IDs or names; all channels when none are given) as
// readable plain text: each top-level message with its time, author and content
// rendered from its blocks, then its thread replies indented with "↳". It is what
// `bot demo` prints.
func (s *Server) Transcript(channels ...string) string {
	return s.transcript(false, channels)
}

// TranscriptWithEphemerals is Transcript with ephemeral messages shown in place,
// marked "(only visible to @user)".
func (s *Server) TranscriptWithEphemerals(channels ...string) string {
	return s.transcript(true, channels)
}

// RenderMessage renders one message as it looks now, the way Transcript
// shows it, without its thread; "" when there is no such message.
func (s *Server) RenderMessage(channel, ts string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.ws.channel(channel)
	if ch == nil {
		return ""
	}
	m, ok := ch.byTS[ts]
	if !ok {
		return ""
	}
	var b strings.Builder
	s.renderMessage(&b, m, "")
	return b.String()
}

func (s *Server) transcript(ephemerals bool, refs []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	chans := s.ws.channels
	if len(refs) > 0 {
		chans = nil
		for _, r := range refs {
			if ch := s.ws.channel(r); ch != nil {
				chans = append(chans, ch)
			}
		}
	}
	var b strings.Builder
	for i, ch := range chans {
		if i > 0 {
			b.WriteString("\n")
		}
		title := "#" + ch.name
		fmt.Fprintf(&b, "%s\n%s\n", title, strings.Repeat("═", utf8.RuneCountInString(title)))
		eph := s.ephemeralsIn(ch.id, ephemerals)
		for _, m := range mergeByTS(ch.top, eph, "") {
			b.WriteString("\n")
			s.renderMessage(&b, m, "")
			for _, r := range mergeByTS(m.replies, eph, m.ts) {
				s.renderMessage(&b, r, "  ↳ ")
			}
		}
	}
	return b.String()
}

// ephemeralsIn lists the ephemeral messages of every user in a channel, by ts.
func (s *Server) ephemeralsIn(channel string, include bool) []*message {
	if !include {
		return nil
	}
	var out []*message
	for _, ms := range s.ws.ephemerals {
		for _, m := range ms {
			if m.channel == channel {
				out = append(out, m)
			}
		}
	}
	slices.SortFunc(out, func(a, b *message) int { return strings.Compare(a.ts, b.ts) })
	return out
}

// mergeByTS merges msgs with the ephemerals posted in thread threadTS ("" for the
// channel itself), by ts.
func mergeByTS(msgs, eph []*message, threadTS string) []*message {
	out := slices.Clone(msgs)
	for _, e := range eph {
		if e.threadTS == threadTS {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b *message) int { return strings.Compare(a.ts, b.ts) })
	return out
}

func (s *Server) renderMessage(b *strings.Builder, m *message, prefix string) {
	when := time.UnixMicro(tsMicros(m.ts)).UTC().Format("15:04:05")
	head := prefix + when + "  " + s.authorName(m)
	if m.edited > 0 {
		head += fmt.Sprintf("  (edited %d×)", m.edited)
	}
	if m.broadcast && prefix == "" {
		head += "  (thread reply, also sent to the channel)"
	}
	if m.ephemeralFor != "" {
		head += "  (only visible to @" + s.ws.userName(m.ephemeralFor) + ")"
	}
	b.WriteString(head + "\n")
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix)+len(when)+2)
	for _, line := range s.renderBody(m) {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(indent + line + "\n")
	}
}

func (s *Server) authorName(m *message) string {
	switch {
	case m.subtype == "tombstone":
		return "(deleted)"
	case m.user == s.cfg.BotUserID:
		name := s.cfg.BotName
		if m.username != "" {
			name = m.username
		}
		return name + " [app]"
	case m.botID != "" && m.username != "":
		return m.username + " [bot]"
	case m.botProfile != nil:
		return m.botProfile.Name + " [bot]"
	case m.user != "":
		return s.ws.userName(m.user)
	}
	return m.botID
}

// renderBody renders a message from its blocks (or its text when it has none), then
// its attachments, files and reactions.
func (s *Server) renderBody(m *message) []string {
	var lines []string
	if len(m.blocks) > 0 {
		lines = s.renderBlocks(m.blocks)
	} else if m.text != "" {
		lines = strings.Split(s.renderText(m.text), "\n")
	}
	lines = append(lines, s.renderAttachments(m.attachments)...)
	for _, f := range m.files {
		lines = append(lines, "[file: "+f.name+"]")
	}
	var rs []string
	for _, r := range m.reactions {
		rs = append(rs, fmt.Sprintf(":%s: %d", r.name, len(r.users)))
	}
	if len(rs) > 0 {
		lines = append(lines, strings.Join(rs, "  "))
	}
	return lines
}

// renderText renders stored text: mentions by name, links as "label (url)", entities undone.
func (s *Server) renderText(text string) string {
	var b strings.Builder
	for _, seg := range tokenize(text) {
		switch seg.kind {
		case segText:
			b.WriteString(unescapeText(seg.text))
		case segUser:
			if u, ok := s.ws.users[seg.id]; ok {
				b.WriteString("@" + u.Name)
			} else if seg.label != "" {
				b.WriteString("@" + strings.TrimPrefix(seg.label, "@"))
			} else {
				b.WriteString("@" + seg.id)
			}
		case segChannel:
			b.WriteString("#" + s.channelName(seg.id, seg.label))
		case segGroup:
			b.WriteString("@" + s.groupHandle(seg.id, seg.label))
		case segBroadcast:
			b.WriteString("@" + seg.id)
		case segLink:
			url := seg.id
			switch {
			case seg.label != "" && seg.label != url:
				b.WriteString(unescapeText(seg.label) + " (" + url + ")")
			default:
				b.WriteString(strings.TrimPrefix(url, "mailto:"))
			}
		case segDate:
			b.WriteString(unescapeText(seg.label))
		}
	}
	return b.String()
}

func (s *Server) channelName(id, label string) string {
	if ch, ok := s.ws.byID[id]; ok {
		return ch.name
	}
	if label != "" {
		return label
	}
	return id
}

func (s *Server) groupHandle(id, label string) string {
	if h, ok := s.cfg.UserGroupHandles[id]; ok {
		return strings.TrimPrefix(h, "@")
	}
	if label != "" {
		return strings.TrimPrefix(label, "@")
	}
	return id
}

func (s *Server) renderAttachments(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var atts []struct {
		Pretext    string          `json:"pretext"`
		AuthorName string          `json:"author_name"`
		Title      string          `json:"title"`
		TitleLink  string          `json:"title_link"`
		Text       string          `json:"text"`
		Fallback   string          `json:"fallback"`
		Footer     string          `json:"footer"`
		Blocks     json.RawMessage `json:"blocks"`
		Fields     []struct {
			Title string `json:"title"`
			Value string `json:"value"`
		} `json:"fields"`
	}
	if json.Unmarshal(raw, &atts) != nil {
		return nil
	}
	var lines []string
	for _, a := range atts {
		if a.Pretext != "" {
			lines = append(lines, strings.Split(s.renderText(a.Pretext), "\n")...)
		}
		var body []string
		add := func(text string) {
			if text != "" {
				body = append(body, strings.Split(text, "\n")...)
			}
		}
		add(a.AuthorName)
		switch {
		case a.Title != "" && a.TitleLink != "":
			add(s.renderText(a.Title) + " (" + a.TitleLink + ")")
		default:
			add(s.renderText(a.Title))
		}
		add(s.renderText(a.Text))
		for _, f := range a.Fields {
			add(f.Title + ": " + s.renderText(f.Value))
		}
		if len(a.Blocks) > 0 {
			body = append(body, s.renderBlocks(a.Blocks)...)
		}
		if len(body) == 0 {
			add(s.renderText(a.Fallback))
		}
		add(a.Footer)
		for _, l := range body {
			lines = append(lines, "┃ "+l)
		}
	}
	return lines
}
