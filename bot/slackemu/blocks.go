package slackemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf16"
)

// Block Kit limits Slack enforces on messages.
const (
	maxBlocks          = 50
	maxIDLen           = 255
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxContextElements = 10
	maxActionElements  = 25
	maxButtonText      = 75
	maxButtonValue     = 2000
	maxSelectOptions   = 100
	maxOptionText      = 75
	maxOptionValue     = 150
	maxPlaceholder     = 150
	maxURL             = 3000
	maxAltText         = 2000
	maxConfirmTitle    = 100
	maxConfirmText     = 300
	maxConfirmButton   = 30
	maxMarkdownText    = 12000
	maxMessageText     = 40000
)

// Validate reports whether Slack would accept blocksJSON, a JSON array of blocks, in a
// message. It returns nil, or an *APIError with Code "invalid_blocks" (or
// "invalid_blocks_format" for JSON that is not an array) whose Problems read as
// Slack's: "must be less than 151 characters [json-pointer:/blocks/0/text/text]".
func Validate(blocksJSON []byte) error {
	_, err := parseBlocks(blocksJSON)
	return err
}

// parseBlocks decodes and validates blocks.
func parseBlocks(raw []byte) ([]any, error) {
	var blocks []any
	if err := decodeJSON(raw, &blocks); err != nil {
		return nil, apiErr("invalid_blocks_format")
	}
	v := &validator{blockIDs: map[string]bool{}, actionIDs: map[string]bool{}}
	v.blocks(blocks)
	if len(v.problems) > 0 {
		return nil, &APIError{Code: "invalid_blocks", Problems: v.problems}
	}
	return blocks, nil
}

// normalizeBlocks validates raw and returns it as Slack stores it: every block gets a
// block_id, every interactive element an action_id, every plain_text "emoji":true.
// Empty input (or "[]") gives nil.
func normalizeBlocks(raw []byte) (json.RawMessage, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	blocks, err := parseBlocks(raw)
	if err != nil || len(blocks) == 0 {
		return nil, err
	}
	for _, b := range blocks {
		obj := b.(map[string]any)
		if _, ok := obj["block_id"]; !ok {
			obj["block_id"] = newShortID()
		}
		fillIDs(obj)
	}
	return marshal(blocks), nil
}

// fillIDs adds missing action_ids to interactive elements and emoji to plain_text.
func fillIDs(v any) {
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			fillIDs(x)
		}
	case map[string]any:
		switch typ, _ := v["type"].(string); {
		case typ == "plain_text":
			if _, ok := v["emoji"]; !ok {
				v["emoji"] = true
			}
		case interactiveElements[typ]:
			if _, ok := v["action_id"]; !ok {
				v["action_id"] = newShortID()
			}
		}
		for k, x := range v {
			if k != "type" {
				fillIDs(x)
			}
		}
	}
}

var knownBlocks = map[string]bool{
	"section": true, "header": true, "divider": true, "context": true, "actions": true, "image": true,
	"rich_text": true, "input": true, "file": true, "markdown": true, "video": true,
}

var interactiveElements = map[string]bool{
	"button": true, "static_select": true, "external_select": true, "users_select": true,
	"conversations_select": true, "channels_select": true, "multi_static_select": true,
	"multi_external_select": true, "multi_users_select": true, "multi_conversations_select": true,
	"multi_channels_select": true, "overflow": true, "datepicker": true, "timepicker": true,
	"datetimepicker": true, "checkboxes": true, "radio_buttons": true, "plain_text_input": true,
	"email_text_input": true, "number_input": true, "url_text_input": true, "rich_text_input": true,
	"workflow_button": true, "file_input": true,
}

type validator struct {
	problems  []string
	blockIDs  map[string]bool
	actionIDs map[string]bool
}

func (v *validator) fail(ptr, format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...)+" [json-pointer:"+ptr+"]")
}

// slackLen counts characters as Slack does, in UTF-16 code units.
func slackLen(s string) int { return len(utf16.Encode([]rune(s))) }

func (v *validator) blocks(blocks []any) {
	if len(blocks) > maxBlocks {
		v.fail("/blocks", "no more than %d items allowed", maxBlocks)
	}
	for i, b := range blocks {
		v.block(b, fmt.Sprintf("/blocks/%d", i))
	}
}

func (v *validator) block(b any, ptr string) {
	obj, ok := b.(map[string]any)
	if !ok {
		v.fail(ptr, "must provide an object")
		return
	}
	typ, _ := obj["type"].(string)
	if typ == "" {
		v.fail(ptr, "missing required field: type")
		return
	}
	if !knownBlocks[typ] {
		v.fail(ptr+"/type", "unsupported type: %s", typ)
		return
	}
	v.id(obj, "block_id", ptr, v.blockIDs)
	switch typ {
	case "section":
		v.allowed(obj, ptr, "type", "block_id", "text", "fields", "accessory", "expand")
		v.section(obj, ptr)
	case "header":
		v.allowed(obj, ptr, "type", "block_id", "text", "level")
		v.text(obj["text"], ptr+"/text", textRule{required: true, plainOnly: true, max: maxHeaderText})
	case "divider":
		v.allowed(obj, ptr, "type", "block_id")
	case "context":
		v.allowed(obj, ptr, "type", "block_id", "elements")
		v.context(obj, ptr)
	case "actions":
		v.allowed(obj, ptr, "type", "block_id", "elements")
		elems := v.array(obj, "elements", ptr, maxActionElements)
		for i, e := range elems {
			v.element(e, fmt.Sprintf("%s/elements/%d", ptr, i), false)
		}
	case "image":
		v.allowed(obj, ptr, "type", "block_id", "image_url", "slack_file", "alt_text", "title")
		v.image(obj, ptr)
		if _, ok := obj["title"]; ok {
			v.text(obj["title"], ptr+"/title", textRule{plainOnly: true, max: maxAltText})
		}
	case "markdown":
		v.allowed(obj, ptr, "type", "block_id", "text")
		v.str(obj, "text", ptr, true, maxMarkdownText)
	case "rich_text":
		if _, ok := obj["elements"].([]any); !ok {
			v.fail(ptr, "missing required field: elements")
		}
	case "input":
		v.text(obj["label"], ptr+"/label", textRule{required: true, plainOnly: true, max: maxAltText})
		if _, ok := obj["element"].(map[string]any); !ok {
			v.fail(ptr, "missing required field: element")
		} else {
			v.element(obj["element"], ptr+"/element", false)
		}
	case "file":
		v.str(obj, "external_id", ptr, true, maxIDLen)
		v.str(obj, "source", ptr, true, maxIDLen)
	case "video":
		for _, f := range []string{"video_url", "thumbnail_url", "alt_text"} {
			v.str(obj, f, ptr, true, maxURL)
		}
		v.text(obj["title"], ptr+"/title", textRule{required: true, plainOnly: true, max: 200})
	}
}

func (v *validator) section(obj map[string]any, ptr string) {
	_, hasText := obj["text"]
	_, hasFields := obj["fields"]
	if !hasText && !hasFields {
		v.fail(ptr+"/type", "must define either `text` or `fields`")
	}
	if hasText {
		v.text(obj["text"], ptr+"/text", textRule{required: true, max: maxSectionText})
	}
	if hasFields {
		for i, f := range v.array(obj, "fields", ptr, maxSectionFields) {
			v.text(f, fmt.Sprintf("%s/fields/%d", ptr, i), textRule{required: true, max: maxFieldText})
		}
	}
	if acc, ok := obj["accessory"]; ok {
		v.element(acc, ptr+"/accessory", true)
	}
}

func (v *validator) context(obj map[string]any, ptr string) {
	for i, e := range v.array(obj, "elements", ptr, maxContextElements) {
		eptr := fmt.Sprintf("%s/elements/%d", ptr, i)
		eobj, _ := e.(map[string]any)
		switch typ, _ := eobj["type"].(string); typ {
		case "plain_text", "mrkdwn":
			v.text(e, eptr, textRule{required: true, max: maxSectionText})
		case "image":
			v.allowed(eobj, eptr, "type", "image_url", "slack_file", "alt_text")
			v.image(eobj, eptr)
		default:
			v.fail(eptr+"/type", "unsupported type: %s", typ)
		}
	}
}

// element validates an interactive element (or an image accessory).
func (v *validator) element(e any, ptr string, accessory bool) {
	obj, ok := e.(map[string]any)
	if !ok {
		v.fail(ptr, "must provide an object")
		return
	}
	typ, _ := obj["type"].(string)
	if typ == "image" && accessory {
		v.allowed(obj, ptr, "type", "image_url", "slack_file", "alt_text")
		v.image(obj, ptr)
		return
	}
	if !interactiveElements[typ] {
		v.fail(ptr+"/type", "unsupported type: %s", typ)
		return
	}
	v.id(obj, "action_id", ptr, v.actionIDs)
	if typ == "static_select" {
		v.staticSelect(obj, ptr)
		return
	}
	if typ != "button" {
		return
	}
	v.allowed(obj, ptr, "type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label")
	v.confirm(obj, ptr)
	v.text(obj["text"], ptr+"/text", textRule{required: true, plainOnly: true, max: maxButtonText})
	v.str(obj, "value", ptr, false, maxButtonValue)
	v.str(obj, "url", ptr, false, maxURL)
	v.str(obj, "accessibility_label", ptr, false, maxButtonText)
	if style, ok := obj["style"]; ok && style != "primary" && style != "danger" {
		v.fail(ptr+"/style", "must be one of: primary, danger")
	}
}

// confirm validates an element's confirmation dialog, if it has one: a
// plain_text title (100), text (300), confirm and deny (30 each), and an
// optional style.
func (v *validator) confirm(el map[string]any, ptr string) {
	c, ok := el["confirm"]
	if !ok {
		return
	}
	ptr += "/confirm"
	obj, ok := c.(map[string]any)
	if !ok {
		v.fail(ptr, "must provide an object")
		return
	}
	v.allowed(obj, ptr, "title", "text", "confirm", "deny", "style")
	v.text(obj["title"], ptr+"/title", textRule{required: true, plainOnly: true, max: maxConfirmTitle})
	v.text(obj["text"], ptr+"/text", textRule{required: true, plainOnly: true, max: maxConfirmText})
	v.text(obj["confirm"], ptr+"/confirm", textRule{required: true, plainOnly: true, max: maxConfirmButton})
	v.text(obj["deny"], ptr+"/deny", textRule{required: true, plainOnly: true, max: maxConfirmButton})
	if style, ok := obj["style"]; ok && style != "primary" && style != "danger" {
		v.fail(ptr+"/style", "must be one of: primary, danger")
	}
}

// staticSelect validates a static_select menu of plain options (option
// groups are not checked).
func (v *validator) staticSelect(obj map[string]any, ptr string) {
	v.allowed(obj, ptr, "type", "action_id", "options", "option_groups", "initial_option", "placeholder", "confirm", "focus_on_load")
	v.confirm(obj, ptr)
	v.text(obj["placeholder"], ptr+"/placeholder", textRule{plainOnly: true, max: maxPlaceholder})
	if _, ok := obj["option_groups"]; ok {
		return
	}
	opts := v.array(obj, "options", ptr, maxSelectOptions)
	for i, o := range opts {
		op := fmt.Sprintf("%s/options/%d", ptr, i)
		opt, ok := o.(map[string]any)
		if !ok {
			v.fail(op, "must provide an object")
			continue
		}
		v.allowed(opt, op, "text", "value", "description", "url")
		v.text(opt["text"], op+"/text", textRule{required: true, plainOnly: true, max: maxOptionText})
		v.str(opt, "value", op, true, maxOptionValue)
	}
}

func (v *validator) image(obj map[string]any, ptr string) {
	_, hasURL := obj["image_url"]
	_, hasFile := obj["slack_file"]
	if !hasURL && !hasFile {
		v.fail(ptr, "must provide either `image_url` or `slack_file`")
	}
	if hasURL {
		v.str(obj, "image_url", ptr, true, maxURL)
	}
	v.str(obj, "alt_text", ptr, true, maxAltText)
}

type textRule struct {
	required  bool
	plainOnly bool
	max       int
}

// text validates a text object.
func (v *validator) text(t any, ptr string, rule textRule) {
	if t == nil {
		if rule.required {
			v.fail(ptr, "must provide an object")
		}
		return
	}
	obj, ok := t.(map[string]any)
	if !ok {
		v.fail(ptr, "must provide an object")
		return
	}
	typ, _ := obj["type"].(string)
	switch {
	case typ == "plain_text":
		v.allowed(obj, ptr, "type", "text", "emoji")
	case typ == "mrkdwn" && !rule.plainOnly:
		v.allowed(obj, ptr, "type", "text", "verbatim")
	case typ == "mrkdwn":
		v.fail(ptr+"/type", "must be plain_text")
	default:
		v.fail(ptr+"/type", "must be one of: plain_text, mrkdwn")
	}
	v.str(obj, "text", ptr, true, rule.max)
}

// str validates a string field: present if required, non-empty, at most max characters.
func (v *validator) str(obj map[string]any, field, ptr string, required bool, max int) {
	raw, ok := obj[field]
	if !ok {
		if required {
			v.fail(ptr, "missing required field: %s", field)
		}
		return
	}
	s, ok := raw.(string)
	switch {
	case !ok:
		v.fail(ptr+"/"+field, "must be a string")
	case s == "":
		v.fail(ptr+"/"+field, "must be more than 0 characters")
	case slackLen(s) > max:
		v.fail(ptr+"/"+field, "must be less than %d characters", max+1)
	}
}

// id validates block_id or action_id: a string of at most 255 characters, unique in the message.
func (v *validator) id(obj map[string]any, field, ptr string, seen map[string]bool) {
	raw, ok := obj[field]
	if !ok {
		return
	}
	v.str(obj, field, ptr, false, maxIDLen)
	if s, ok := raw.(string); ok && s != "" {
		if seen[s] {
			v.fail(ptr+"/"+field, "`%s` %q already exists", field, s)
		}
		seen[s] = true
	}
}

// array returns obj[field] as a non-empty array of at most max items.
func (v *validator) array(obj map[string]any, field, ptr string, max int) []any {
	raw, ok := obj[field]
	if !ok {
		v.fail(ptr, "missing required field: %s", field)
		return nil
	}
	arr, ok := raw.([]any)
	switch {
	case !ok:
		v.fail(ptr+"/"+field, "must be an array")
	case len(arr) == 0:
		v.fail(ptr+"/"+field, "must provide at least 1 items")
	case len(arr) > max:
		v.fail(ptr+"/"+field, "no more than %d items allowed", max)
	}
	return arr
}

// allowed reports every property Slack would not accept on obj.
func (v *validator) allowed(obj map[string]any, ptr string, fields ...string) {
	var extra []string
	for k := range obj {
		if !slices.Contains(fields, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		v.fail(ptr, "invalid additional property: %s", k)
	}
}
