package slackemu

import (
	"bytes"
	"encoding/json"
	"strings"
)

// attachmentColors are the named colours Slack stores as hex.
var attachmentColors = map[string]string{
	"danger":  "a30200",
	"good":    "2eb886",
	"warning": "daa038",
}

// normalizeAttachments returns legacy attachments as Slack stores them: each gets
// "id": N, colours become hex without "#", and text fields are escaped.
// Empty input (or "[]") gives nil.
func normalizeAttachments(raw []byte) (json.RawMessage, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	var atts []map[string]any
	if err := decodeJSON(raw, &atts); err != nil {
		return nil, apiErr("invalid_attachments")
	}
	if len(atts) == 0 {
		return nil, nil
	}
	for i, a := range atts {
		if a == nil {
			return nil, apiErr("invalid_attachments")
		}
		a["id"] = i + 1
		if c, ok := a["color"].(string); ok {
			if hex, named := attachmentColors[c]; named {
				a["color"] = hex
			} else {
				a["color"] = strings.TrimPrefix(c, "#")
			}
		}
		for _, f := range []string{"text", "title", "fallback", "pretext"} {
			if s, ok := a[f].(string); ok {
				a[f] = escapeText(s)
			}
		}
		if blocks, ok := a["blocks"]; ok {
			norm, err := normalizeBlocks(marshal(blocks))
			if err != nil {
				return nil, err
			}
			a["blocks"] = norm
		}
	}
	return marshal(atts), nil
}

// content is a message body as a Web API call, a webhook or a response URL gives it.
type content struct {
	text           string // escaped
	hasText        bool
	blocks         json.RawMessage // normalised; nil when absent or empty
	hasBlocks      bool
	attachments    json.RawMessage
	hasAttachments bool
}

func (c content) empty() bool {
	return c.text == "" && len(c.blocks) == 0 && len(c.attachments) == 0
}

// parseContent validates and normalises a message body. blocks and attachments are
// JSON strings (nil when the field was not given).
func parseContent(text *string, blocks, attachments []byte) (content, error) {
	var c content
	if text != nil {
		if slackLen(*text) > maxMessageText {
			return c, apiErr("msg_too_long")
		}
		c.text, c.hasText = escapeText(*text), true
	}
	if blocks != nil {
		b, err := normalizeBlocks(blocks)
		if err != nil {
			return c, err
		}
		c.blocks, c.hasBlocks = b, true
	}
	if attachments != nil {
		a, err := normalizeAttachments(attachments)
		if err != nil {
			return c, err
		}
		c.attachments, c.hasAttachments = a, true
	}
	return c, nil
}
