// Package intake decodes the alerts that Alertmanager relays into Slack
// (nightowl's template, or Alertmanager's default message) and Alertmanager's
// webhook JSON into diagnosis.Alert values.
//
// It imports no Slack library: the bot hands it a Message built from the
// event it received. Parse tries nightowl's machine blocks first (exact: every
// label, annotation, timestamp and the fingerprint) and falls back to the
// title of Alertmanager's default message (best effort: label names are lost).
package intake

import (
	"errors"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Message is a Slack message as the bot received it: text still in Slack's
// storage format (& < > escaped, links wrapped in <…>).
type Message struct {
	Text        string
	Attachments []Attachment
}

// Attachment is one legacy attachment of a Message; Alertmanager sends one.
type Attachment struct {
	Title, TitleLink, Text, Fallback, Pretext, Color string
}

// Hints is what the bot knows that helps read the default message.
type Hints struct {
	// IsService reports whether a name is a node or alias of the service
	// graph. It may be nil.
	IsService func(name string) bool
}

// Result is what Parse read from one message.
type Result struct {
	Alerts []diagnosis.Alert
	// Format is SourceTemplate or SourceDefault.
	Format diagnosis.Source
	// Problems has one sentence per thing skipped, saying why.
	Problems []string
}

// ErrNotAlert means the message is neither nightowl's template nor
// Alertmanager's default message: a person, or another bot.
var ErrNotAlert = errors.New("not an alert message")

// Parse decodes the alerts of a message that Alertmanager posted to Slack.
// received is when the bot got it: alerts read from the default message start
// (or end) then.
//
// A message with nightowl machine blocks yields one alert per readable block;
// a malformed block is skipped with a Problem, and a message whose blocks are
// all malformed is an error. Without blocks, an attachment title in
// Alertmanager's default form ("[FIRING:2] …") yields one alert for the whole
// group. Anything else is ErrNotAlert.
func Parse(m Message, received time.Time, h Hints) (Result, error) {
	if res, found, err := parseBlocks(m, received); found {
		return res, err
	}
	for _, a := range m.Attachments {
		if res, ok, err := parseDefault(a.Title, received, h); ok {
			return res, err
		}
	}
	return Result{}, ErrNotAlert
}
