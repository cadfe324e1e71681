package slackemu

import (
	"encoding/json"
	"strings"
)

// Slack's message text markup: control sequences in angle brackets, and the three
// entities &amp; &lt; &gt; for everything else.

type segKind int

const (
	segText      segKind = iota
	segUser              // <@U…> or <@U…|label>
	segChannel           // <#C…> or <#C…|name>
	segGroup             // <!subteam^S…> or <!subteam^S…|@handle>
	segBroadcast         // <!here> <!channel> <!everyone>
	segLink              // <http…>, <http…|label>, <mailto:…|label>
	segDate              // <!date^…|fallback>
)

type segment struct {
	kind  segKind
	text  string // raw text for segText (still escaped)
	id    string // user, channel or group ID; broadcast range; link URL
	label string // the part after "|", if any
}

// tokenize splits stored text into plain runs and control sequences.
func tokenize(s string) []segment {
	var out []segment
	plain := 0
	flush := func(end int) {
		if end > plain {
			out = append(out, segment{kind: segText, text: s[plain:end]})
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '<' {
			continue
		}
		j := strings.IndexByte(s[i+1:], '>')
		if j < 0 {
			break
		}
		seg, ok := controlSequence(s[i+1 : i+1+j])
		if !ok {
			continue
		}
		flush(i)
		out = append(out, seg)
		i += j + 1
		plain = i + 1
	}
	flush(len(s))
	return out
}

// controlSequence recognises the inside of <…>.
func controlSequence(body string) (segment, bool) {
	if body == "" || strings.ContainsAny(body, "<\n") {
		return segment{}, false
	}
	ref, label, _ := strings.Cut(body, "|")
	switch {
	case strings.HasPrefix(ref, "@U") || strings.HasPrefix(ref, "@W") || strings.HasPrefix(ref, "@B"):
		return segment{kind: segUser, id: ref[1:], label: label}, true
	case strings.HasPrefix(ref, "#C") || strings.HasPrefix(ref, "#G"):
		return segment{kind: segChannel, id: ref[1:], label: label}, true
	case strings.HasPrefix(ref, "!subteam^"):
		return segment{kind: segGroup, id: strings.TrimPrefix(ref, "!subteam^"), label: label}, true
	case ref == "!here" || ref == "!channel" || ref == "!everyone":
		return segment{kind: segBroadcast, id: ref[1:], label: label}, true
	case strings.HasPrefix(ref, "!date^"):
		return segment{kind: segDate, id: ref, label: label}, true
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "mailto:"):
		return segment{kind: segLink, id: ref, label: label}, true
	}
	return segment{}, false
}

// escapeText stores text as Slack does: &, < and > become entities, except inside
// recognised control sequences and in entities that are already there.
func escapeText(s string) string {
	if !strings.ContainsAny(s, "<>&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			if j := strings.IndexByte(s[i+1:], '>'); j >= 0 {
				if _, ok := controlSequence(s[i+1 : i+1+j]); ok {
					b.WriteString(s[i : i+j+2])
					i += j + 1
					continue
				}
			}
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			rest := s[i:]
			if strings.HasPrefix(rest, "&amp;") || strings.HasPrefix(rest, "&lt;") || strings.HasPrefix(rest, "&gt;") {
				b.WriteByte('&')
			} else {
				b.WriteString("&amp;")
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

var entityReplacer = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// unescapeText undoes the three entities.
func unescapeText(s string) string { return entityReplacer.Replace(s) }

// textMentions lists the mention targets in stored text.
func textMentions(s string) []string {
	var out []string
	for _, seg := range tokenize(s) {
		switch seg.kind {
		case segUser, segGroup, segBroadcast:
			out = append(out, seg.id)
		}
	}
	return out
}

// jsonMentions lists the mention targets in blocks: mrkdwn text objects, markdown
// blocks, and rich text user, usergroup and broadcast elements.
func jsonMentions(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			typ, _ := v["type"].(string)
			switch typ {
			case "mrkdwn", "markdown":
				if t, ok := v["text"].(string); ok {
					out = append(out, textMentions(t)...)
				}
			case "user":
				if id, ok := v["user_id"].(string); ok {
					out = append(out, id)
				}
			case "usergroup":
				if id, ok := v["usergroup_id"].(string); ok {
					out = append(out, id)
				}
			case "broadcast":
				if r, ok := v["range"].(string); ok {
					out = append(out, r)
				}
			}
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// attachmentMentions lists the mention targets in attachments' pretext, text and fields.
func attachmentMentions(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var atts []struct {
		Pretext string `json:"pretext"`
		Text    string `json:"text"`
		Fields  []struct {
			Value string `json:"value"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &atts); err != nil {
		return nil
	}
	var out []string
	for _, a := range atts {
		out = append(out, textMentions(a.Pretext)...)
		out = append(out, textMentions(a.Text)...)
		for _, f := range a.Fields {
			out = append(out, textMentions(f.Value)...)
		}
	}
	return out
}

// richTextFromText builds the rich_text block Slack's clients attach to a person's message.
func richTextFromText(text string) json.RawMessage {
	var elems []map[string]any
	for _, seg := range tokenize(text) {
		switch seg.kind {
		case segText:
			elems = append(elems, map[string]any{"type": "text", "text": unescapeText(seg.text)})
		case segUser:
			elems = append(elems, map[string]any{"type": "user", "user_id": seg.id})
		case segChannel:
			elems = append(elems, map[string]any{"type": "channel", "channel_id": seg.id})
		case segGroup:
			elems = append(elems, map[string]any{"type": "usergroup", "usergroup_id": seg.id})
		case segBroadcast:
			elems = append(elems, map[string]any{"type": "broadcast", "range": seg.id})
		case segLink:
			link := map[string]any{"type": "link", "url": seg.id}
			if seg.label != "" {
				link["text"] = seg.label
			}
			elems = append(elems, link)
		case segDate:
			elems = append(elems, map[string]any{"type": "text", "text": seg.label})
		}
	}
	if len(elems) == 0 {
		return nil
	}
	return marshal([]any{map[string]any{
		"type":     "rich_text",
		"block_id": newShortID(),
		"elements": []any{map[string]any{"type": "rich_text_section", "elements": elems}},
	}})
}
