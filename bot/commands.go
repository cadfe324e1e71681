package bot

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
)

// Commander answers /diag, /graph and /runbook; commands.Handler is one.
type Commander interface {
	Handle(ctx context.Context, r commands.Request) (commands.Reply, error)
}

// onSlash answers a slash command through its response_url; the envelope
// was acked before this runs.
func (b *Bot) onSlash(ctx context.Context, cmd slack.SlashCommand) {
	if b.commander == nil {
		b.onUnknownCommand(ctx, cmd)
		return
	}
	req := commands.Request{Command: cmd.Command, Text: cmd.Text, User: cmd.UserID, Channel: cmd.ChannelID}
	b.answer(ctx, req, func(m Message, public bool) error {
		return b.responder.Respond(ctx, cmd.ResponseURL, m, public)
	}, cmd.ChannelID, "")
}

// answer runs a command and delivers its reply: pictures are uploaded into
// the conversation, text goes through deliver.
func (b *Bot) answer(ctx context.Context, req commands.Request, deliver func(Message, bool) error, channel, threadTS string) {
	reply, err := b.commander.Handle(ctx, req)
	var ue commands.UsageError
	switch {
	case err == nil:
		b.corrected(ctx, reply)
		reply = b.regrouped(ctx, reply)
	case errors.As(err, &ue):
		b.log.Info("command refused", "command", req.Command, keyUser, req.User, "why", ue.Msg)
		reply = commands.Reply{Summary: ue.Error(), Blocks: []commands.Block{{Lines: []commands.Line{
			{{Text: "⚠️ " + ue.Msg}}, {{Text: ue.Hint, Style: commands.Italic}}}}}}
	case err != nil:
		b.log.Error("command failed", "command", req.Command, keyUser, req.User, "err", err)
		reply = commands.Reply{Summary: "nightowl could not answer that; the error is logged.", Blocks: []commands.Block{{Lines: []commands.Line{
			{{Text: "⚠️ nightowl could not answer that; the error is logged."}}}}}}
	}
	m := renderReply(reply)
	if t := reply.Thread; reply.Public && !t.IsZero() && t.TS != threadTS {
		// The answer belongs in the incident's thread (a correction typed
		// elsewhere): post it there, and show the asker the same words.
		in := m
		in.Channel, in.ThreadTS = t.Channel, t.TS
		if _, err := b.slack.Post(ctx, in); err != nil {
			b.log.Error("post answer in the incident's thread", "command", req.Command, keyUser, req.User, "err", err)
		} else {
			reply.Public = false
		}
	}
	// The words go first, so the asker reads the answer while the picture
	// uploads beneath it.
	if err := deliver(m, reply.Public); err != nil {
		b.log.Error("deliver command answer", "command", req.Command, keyUser, req.User, "err", err)
		return
	}
	var ups []Upload
	if p := reply.Picture; p != nil {
		ups = append(ups, Upload{Channel: channel, ThreadTS: threadTS, Name: p.Name, Title: p.Title, Alt: p.Alt, Data: p.PNG})
	}
	for _, f := range reply.Files {
		ups = append(ups, Upload{Channel: channel, ThreadTS: threadTS, Name: f.Name, Title: f.Title, Alt: f.Alt, Data: f.Data})
	}
	for _, up := range ups {
		if err := b.slack.Upload(ctx, up); err != nil {
			b.log.Error("upload picture", "command", req.Command, "file", up.Name, "err", err)
			note := commands.Reply{Summary: "The picture could not be uploaded: " + err.Error()}
			if up.Name != ups[0].Name {
				note.Summary = up.Name + " could not be uploaded: " + err.Error()
			}
			if err := deliver(renderReply(note), false); err != nil {
				b.log.Error("deliver upload failure", "command", req.Command, "err", err)
			}
			return
		}
	}
}

// renderReply turns a neutral reply into Block Kit, escaping every span.
func renderReply(r commands.Reply) Message {
	var blocks []slack.Block
	for _, bl := range r.Blocks {
		var b strings.Builder
		if bl.Heading != "" {
			b.WriteString("*" + escape(bl.Heading) + "*\n")
		}
		for i, l := range bl.Lines {
			if i > 0 {
				b.WriteByte('\n')
			}
			for _, s := range l {
				b.WriteString(renderSpan(s))
			}
		}
		text := truncate(b.String(), maxSectionText)
		if strings.TrimSpace(text) == "" {
			continue
		}
		if bl.Context {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn(text)))
		} else {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, nil))
		}
		if len(blocks) == maxBlocks-1 {
			break
		}
	}
	return Message{Text: escape(truncate(r.Summary, 300)), Blocks: blocks}
}

func renderSpan(s commands.Span) string {
	if s.Text == "" {
		return ""
	}
	if s.Link != "" {
		return "<" + s.Link + "|" + escape(s.Text) + ">"
	}
	switch s.Style {
	case commands.Code:
		return code(s.Text)
	case commands.Bold:
		return "*" + escape(s.Text) + "*"
	case commands.Italic:
		return "_" + escape(s.Text) + "_"
	}
	return escape(s.Text)
}

var mentionPrefix = regexp.MustCompile(`^\s*<@[A-Z0-9]+>\s*`)

// onMention: "@nightowl diag" in an incident's thread runs the command for
// that incident (Slack does not tell bots which thread a slash command came
// from); the answer goes into the thread.
func (b *Bot) onMention(ctx context.Context, ev slackevents.EventsAPIEvent) {
	me, ok := ev.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok || b.commander == nil {
		return
	}
	text := mentionPrefix.ReplaceAllString(me.Text, "")
	word, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
	command := "/" + strings.ToLower(strings.TrimPrefix(word, "/"))
	thread := me.ThreadTimeStamp
	if thread == "" {
		thread = me.TimeStamp
	}
	incident := b.incidentOfThread(ctx, diagnosis.Thread{Channel: me.Channel, TS: thread})
	if !slices.Contains(commands.Commands, command) {
		b.onQuestion(ctx, me, incident, thread, text)
		return
	}
	req := commands.Request{Command: command, Text: rest, User: me.User, Channel: me.Channel, Incident: incident}
	busy := func(ctx context.Context) {
		b.replyIn(ctx, question{channel: me.Channel, thread: thread, user: me.User}, busyText)
	}
	b.submit(laneCommands, "command "+command+" in a thread", func(ctx context.Context) {
		b.answer(ctx, req, func(m Message, public bool) error {
			if !public {
				return b.slack.Ephemeral(ctx, me.Channel, me.User, Message{Text: m.Text, Blocks: m.Blocks, ThreadTS: thread})
			}
			m.Channel, m.ThreadTS = me.Channel, thread
			_, err := b.slack.Post(ctx, m)
			return err
		}, me.Channel, thread)
	}, busy)
}
