package slackemu

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// renderBlocks renders Block Kit as plain text lines.
func (s *Server) renderBlocks(raw json.RawMessage) []string {
	var blocks []map[string]any
	if json.Unmarshal(raw, &blocks) != nil {
		return nil
	}
	var lines []string
	add := func(text string) {
		if text != "" {
			lines = append(lines, strings.Split(text, "\n")...)
		}
	}
	for _, b := range blocks {
		switch b["type"] {
		case "header":
			title := s.textObject(b["text"])
			add(title)
			add(strings.Repeat("─", min(utf8.RuneCountInString(title), 60)))
		case "section":
			add(s.textObject(b["text"]))
			fields, _ := b["fields"].([]any)
			for _, f := range fields {
				add(strings.ReplaceAll(s.textObject(f), "\n", " "))
			}
			if acc, ok := b["accessory"]; ok {
				add(s.element(acc))
			}
		case "divider":
			add(strings.Repeat("─", 24))
		case "context":
			var parts []string
			elems, _ := b["elements"].([]any)
			for _, e := range elems {
				if el, _ := e.(map[string]any); el["type"] == "image" {
					parts = append(parts, s.element(e))
				} else {
					parts = append(parts, s.textObject(e))
				}
			}
			add(strings.Join(parts, "  ·  "))
		case "actions":
			var parts []string
			elems, _ := b["elements"].([]any)
			for _, e := range elems {
				parts = append(parts, s.element(e))
			}
			add(strings.Join(parts, " "))
		case "image":
			add(s.element(b))
		case "markdown":
			text, _ := b["text"].(string)
			add(text)
		case "rich_text":
			elems, _ := b["elements"].([]any)
			add(s.richText(elems))
		case "file":
			id, _ := b["external_id"].(string)
			add("[file: " + id + "]")
		case "video":
			add("[video: " + s.textObject(b["title"]) + "]")
		case "input":
			add("[input: " + s.textObject(b["label"]) + "]")
		}
	}
	return lines
}

// textObject renders a plain_text or mrkdwn object.
func (s *Server) textObject(v any) string {
	obj, _ := v.(map[string]any)
	text, _ := obj["text"].(string)
	if obj["type"] == "mrkdwn" {
		return s.renderText(text)
	}
	return text
}

// element renders an interactive element or an image.
func (s *Server) element(v any) string {
	obj, _ := v.(map[string]any)
	switch typ, _ := obj["type"].(string); typ {
	case "button":
		return "[ " + s.textObject(obj["text"]) + " ]"
	case "image":
		alt, _ := obj["alt_text"].(string)
		return "[image: " + alt + "]"
	case "overflow":
		return "[ … ]"
	default:
		if p, ok := obj["placeholder"]; ok {
			return "[ " + s.textObject(p) + " ▾ ]"
		}
		return "[" + typ + "]"
	}
}

// richText renders rich_text elements: sections, lists, quotes and code.
func (s *Server) richText(elems []any) string {
	var out []string
	for _, e := range elems {
		el, _ := e.(map[string]any)
		inner, _ := el["elements"].([]any)
		switch el["type"] {
		case "rich_text_section":
			out = append(out, s.richInline(inner))
		case "rich_text_preformatted":
			out = append(out, "```\n"+s.richInline(inner)+"\n```")
		case "rich_text_quote":
			out = append(out, "> "+strings.ReplaceAll(s.richInline(inner), "\n", "\n> "))
		case "rich_text_list":
			for _, item := range inner {
				it, _ := item.(map[string]any)
				items, _ := it["elements"].([]any)
				out = append(out, "• "+s.richInline(items))
			}
		}
	}
	return strings.Join(out, "\n")
}

func (s *Server) richInline(elems []any) string {
	var b strings.Builder
	for _, e := range elems {
		el, _ := e.(map[string]any)
		str := func(k string) string { v, _ := el[k].(string); return v }
		switch el["type"] {
		case "text":
			b.WriteString(str("text"))
		case "user":
			b.WriteString("@" + s.ws.userName(str("user_id")))
		case "usergroup":
			b.WriteString("@" + s.groupHandle(str("usergroup_id"), ""))
		case "channel":
			b.WriteString("#" + s.channelName(str("channel_id"), ""))
		case "broadcast":
			b.WriteString("@" + str("range"))
		case "emoji":
			b.WriteString(":" + str("name") + ":")
		case "link":
			if t := str("text"); t != "" && t != str("url") {
				b.WriteString(t + " (" + str("url") + ")")
			} else {
				b.WriteString(str("url"))
			}
		case "date":
			b.WriteString(str("fallback"))
		}
	}
	return b.String()
}
