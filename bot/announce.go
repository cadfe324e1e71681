package bot

import (
	"context"
	"fmt"

	"github.com/nightowl-sre/nightowl/commands"
)

// Announce posts a reply in a channel as the bot's own message, then
// uploads its picture and files there: the weekly on-call report.
func (b *Bot) Announce(ctx context.Context, channel string, r commands.Reply) error {
	m := renderReply(r)
	m.Channel = channel
	if _, err := b.slack.Post(ctx, m); err != nil {
		return fmt.Errorf("post in %s: %w", channel, err)
	}
	if p := r.Picture; p != nil {
		if err := b.slack.Upload(ctx, Upload{Channel: channel, Name: p.Name, Title: p.Title, Alt: p.Alt, Data: p.PNG}); err != nil {
			return fmt.Errorf("upload %s in %s: %w", p.Name, channel, err)
		}
	}
	for _, f := range r.Files {
		if err := b.slack.Upload(ctx, Upload{Channel: channel, Name: f.Name, Title: f.Title, Alt: f.Alt, Data: f.Data}); err != nil {
			return fmt.Errorf("upload %s in %s: %w", f.Name, channel, err)
		}
	}
	return nil
}
