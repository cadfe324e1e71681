package slackemu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

func TestSlackGoGetsInvalidBlocksForMessagesSlackWouldReject(t *testing.T) {
	fiftyOne := make([]slack.Block, 51)
	for i := range fiftyOne {
		fiftyOne[i] = slack.NewDividerBlock()
	}
	danger := button("b", "v", "B")
	danger.Style = "warning"
	tests := []struct {
		name   string
		blocks []slack.Block
		want   string
	}{
		{"51 blocks", fiftyOne, "no more than 50 items allowed [json-pointer:/blocks]"},
		{"a header of 151 characters", []slack.Block{slack.NewHeaderBlock(plain(strings.Repeat("h", 151)))},
			"must be less than 151 characters [json-pointer:/blocks/0/text/text]"},
		{"a section without text or fields", []slack.Block{slack.NewSectionBlock(nil, nil, nil)},
			"must define either `text` or `fields` [json-pointer:/blocks/0/type]"},
		{"two buttons with one action_id", []slack.Block{slack.NewActionBlock("", button("approve", "1", "A"), button("approve", "2", "B"))},
			"`action_id` \"approve\" already exists [json-pointer:/blocks/0/elements/1/action_id]"},
		{"a button style Slack does not have", []slack.Block{slack.NewActionBlock("", danger)},
			"must be one of: primary, danger [json-pointer:/blocks/0/elements/0/style]"},
		{"a mrkdwn header", []slack.Block{slack.NewHeaderBlock(mrkdwn("*x*"))},
			"must be plain_text [json-pointer:/blocks/0/text/type]"},
	}
	srv := MustStart(t, slackemu.Config{})
	api := newClient(t, srv, "xoxb-emulator")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := api.PostMessageContext(testContext(t), "alerts", slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(tt.blocks...))
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) || se.Err != "invalid_blocks" {
				t.Fatalf("got %v, want invalid_blocks", err)
			}
			if !hasProblem(se, tt.want) {
				t.Errorf("problems %v / %v, want %q", se.Errors, se.ResponseMetadata.Messages, tt.want)
			}
		})
	}
	if n := len(srv.Messages("alerts")); n != 0 {
		t.Errorf("%d messages stored, want none", n)
	}
}

// hasProblem reports whether Slack's error lists want in errors and, as "[ERROR] want",
// in response_metadata.messages.
func hasProblem(se slack.SlackErrorResponse, want string) bool {
	inErrors := false
	for _, e := range se.Errors {
		if e.Message != nil && *e.Message == want {
			inErrors = true
		}
	}
	for _, m := range se.ResponseMetadata.Messages {
		if m == "[ERROR] "+want {
			return inErrors
		}
	}
	return false
}

func TestValidateJudgesBlocksAsSlackDoes(t *testing.T) {
	tests := []struct {
		name   string
		blocks string
		want   []string // problems; none means valid
	}{
		{"a valid card", `[{"type":"header","text":{"type":"plain_text","text":"INC-1","emoji":true}},
			{"type":"section","text":{"type":"mrkdwn","text":"*cause*"},"accessory":{"type":"button","text":{"type":"plain_text","text":"Graph"},"action_id":"graph"}},
			{"type":"context","elements":[{"type":"mrkdwn","text":"x"},{"type":"image","image_url":"http://x/i.png","alt_text":"i"}]},
			{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Approve"},"style":"primary","action_id":"a","value":"v"}]},
			{"type":"image","image_url":"http://x/p.png","alt_text":"p99"},{"type":"divider"}]`, nil},
		{"not an array", `{"type":"divider"}`, []string{"invalid_blocks_format"}},
		{"an unknown block type", `[{"type":"sections"}]`, []string{"unsupported type: sections [json-pointer:/blocks/0/type]"}},
		{"empty text", `[{"type":"section","text":{"type":"mrkdwn","text":""}}]`,
			[]string{"must be more than 0 characters [json-pointer:/blocks/0/text/text]"}},
		{"section text of 3001 characters", `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("x", 3001) + `"}}]`,
			[]string{"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"}},
		{"eleven fields", `[{"type":"section","fields":[` + strings.TrimSuffix(strings.Repeat(`{"type":"mrkdwn","text":"f"},`, 11), ",") + `]}]`,
			[]string{"no more than 10 items allowed [json-pointer:/blocks/0/fields]"}},
		{"emoji on mrkdwn", `[{"type":"section","text":{"type":"mrkdwn","text":"x","emoji":true}}]`,
			[]string{"invalid additional property: emoji [json-pointer:/blocks/0/text]"}},
		{"a duplicate block_id", `[{"type":"divider","block_id":"d"},{"type":"divider","block_id":"d"}]`,
			[]string{"`block_id` \"d\" already exists [json-pointer:/blocks/1/block_id]"}},
		{"a block_id of 256 characters", `[{"type":"divider","block_id":"` + strings.Repeat("b", 256) + `"}]`,
			[]string{"must be less than 256 characters [json-pointer:/blocks/0/block_id]"}},
		{"button text of 76 characters", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"` + strings.Repeat("b", 76) + `"}}]}]`,
			[]string{"must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"}},
		{"an image without alt_text", `[{"type":"image","image_url":"http://x/p.png"}]`,
			[]string{"missing required field: alt_text [json-pointer:/blocks/0]"}},
		{"a block_id on an element", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"b"},"block_id":"x"}]}]`,
			[]string{"invalid additional property: block_id [json-pointer:/blocks/0/elements/0]"}},
		{"twenty-six actions", `[{"type":"actions","elements":[` + strings.TrimSuffix(strings.Repeat(`{"type":"button","text":{"type":"plain_text","text":"b"}},`, 26), ",") + `]}]`,
			[]string{"no more than 25 items allowed [json-pointer:/blocks/0/elements]"}},
		{"eleven context elements", `[{"type":"context","elements":[` + strings.TrimSuffix(strings.Repeat(`{"type":"plain_text","text":"c"},`, 11), ",") + `]}]`,
			[]string{"no more than 10 items allowed [json-pointer:/blocks/0/elements]"}},
		{"a field of 2001 characters", `[{"type":"section","fields":[{"type":"mrkdwn","text":"` + strings.Repeat("f", 2001) + `"}]}]`,
			[]string{"must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]"}},
		{"a context text of 3001 characters", `[{"type":"context","elements":[{"type":"mrkdwn","text":"` + strings.Repeat("c", 3001) + `"}]}]`,
			[]string{"must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]"}},
		{"a button value of 2001 characters", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"b"},"value":"` + strings.Repeat("v", 2001) + `"}]}]`,
			[]string{"must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"}},
		{"a header of 76 emoji, 152 characters as Slack counts them", `[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("😀", 76) + `"}}]`,
			[]string{"must be less than 151 characters [json-pointer:/blocks/0/text/text]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := slackemu.Validate([]byte(tt.blocks))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var ae *slackemu.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *APIError", err)
			}
			got := ae.Problems
			if ae.Code == "invalid_blocks_format" {
				got = []string{ae.Code}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
