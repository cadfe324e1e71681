// Package commands owns what nightowl says to people in words: the grammar
// of /diag, /graph and /runbook and their answers, follow-up questions in
// incident threads, and the card's triage, as neutral values that the bot
// renders for Slack.
package commands

import (
	"fmt"
	"strings"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Style is how a span of text is shown.
type Style int

// Styles of spans.
const (
	Plain Style = iota
	Bold
	Code
	Italic
)

// Span is a piece of a line. Text is always literal: whoever renders it
// escapes it, so an alert's "<!channel>" stays text.
type Span struct {
	Text  string `json:"text"`
	Style Style  `json:"style,omitempty"`
	// Link, when set, makes the span a link to this URL.
	Link string `json:"link,omitempty"`
}

// Line is one line of spans.
type Line []Span

// Block is a heading and its lines; Context blocks are small print.
type Block struct {
	Heading string `json:"heading,omitempty"`
	Lines   []Line `json:"lines"`
	Context bool   `json:"context,omitempty"`
}

// Picture is a PNG to upload with the answer.
type Picture struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Alt   string `json:"alt"`
	PNG   []byte `json:"-"`
}

// File is a document or another picture to upload with the answer, after
// its Picture.
type File struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Alt   string `json:"alt,omitempty"`
	Data  []byte `json:"-"`
}

// Reply is a command's answer.
type Reply struct {
	// Public answers are seen by the channel (or thread); the rest only by
	// the person who asked: errors, help, lists.
	Public bool `json:"public,omitempty"`
	// Summary is the plain-text fallback.
	Summary string   `json:"summary"`
	Blocks  []Block  `json:"blocks"`
	Picture *Picture `json:"picture,omitempty"`
	Files   []File   `json:"files,omitempty"`
	// Thread, when set, is the incident thread a public answer belongs in,
	// wherever the command was typed (a correction of the root cause).
	Thread diagnosis.Thread `json:"thread,omitzero"`
	// Corrected, when set, is the correction of the root cause this answer
	// kept (through Causes): the bot records it and redraws the card.
	Corrected *diagnosis.Correction `json:"corrected,omitempty"`
	// Regroup, when set, is a merge or a split of incidents this answer
	// asks for: the bot carries it out exactly as the card's menus do,
	// and answers with the refusal instead when it cannot.
	Regroup *Regroup `json:"regroup,omitempty"`
}

// Regroup is a merge or a split of incidents someone asked for by command.
type Regroup struct {
	// Split is false for a merge of Incident into Into, true for a split
	// of Service's alerts off Incident into a new incident.
	Split    bool   `json:"split,omitempty"`
	Incident string `json:"incident"`
	Into     string `json:"into,omitempty"`
	Service  string `json:"service,omitempty"`
	By       string `json:"by"`
}

// UsageError is a mistake in how a command was called: shown to the asker,
// with what to do about it.
type UsageError struct {
	Msg, Hint string
}

func (e UsageError) Error() string {
	if e.Hint == "" {
		return e.Msg
	}
	return e.Msg + " " + e.Hint
}

// usage builds a UsageError.
func usage(hint string, format string, args ...any) error {
	return UsageError{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// Helpers to build lines.

func text(s string) Span            { return Span{Text: s} }
func bold(s string) Span            { return Span{Text: s, Style: Bold} }
func code(s string) Span            { return Span{Text: s, Style: Code} }
func link(s, url string) Span       { return Span{Text: s, Link: url} }
func line(spans ...Span) Line       { return Line(spans) }
func textf(f string, a ...any) Span { return Span{Text: fmt.Sprintf(f, a...)} }

// String renders a reply as plain text (logs, tests, the demo).
func (r Reply) String() string {
	var b strings.Builder
	for _, bl := range r.Blocks {
		if bl.Heading != "" {
			b.WriteString(bl.Heading + "\n")
		}
		for _, l := range bl.Lines {
			for _, s := range l {
				b.WriteString(s.Text)
			}
			b.WriteString("\n")
		}
	}
	if r.Picture != nil {
		fmt.Fprintf(&b, "[picture %s: %s]\n", r.Picture.Name, r.Picture.Alt)
	}
	for _, f := range r.Files {
		fmt.Fprintf(&b, "[file %s: %s]\n", f.Name, f.Title)
	}
	return b.String()
}
