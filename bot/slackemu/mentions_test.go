package slackemu_test

import (
	"slices"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

func TestAPersonMentioningTheBotRaisesMessageAndAppMention(t *testing.T) {
	srv := MustStart(t, slackemu.Config{})
	app := startApp(t, srv)
	ts, err := srv.PostAsUser("incidents", "U1", "<@U0NIGHTOWL> what broke?", "")
	if err != nil {
		t.Fatal(err)
	}
	app.waitEvent(t, "the message", messageEvent(func(m *slackevents.MessageEvent) bool { return m.TimeStamp == ts }))
	e := app.waitEvent(t, "the app_mention", func(e socketmode.Event) bool {
		ev, ok := e.Data.(slackevents.EventsAPIEvent)
		return ok && ev.InnerEvent.Type == "app_mention"
	})
	mention := e.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.AppMentionEvent)
	if mention.TimeStamp != ts || mention.User != "U1" || mention.Channel != "C0INCIDENTS" || len(mention.Blocks.BlockSet) != 1 {
		t.Errorf("app_mention %+v, want the same ts, user and a rich_text block", mention)
	}
}

func TestMentionsAreRecordedAndThoseAddedByEditsFlagged(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{})
	userTS, err := w.srv.PostAsUser("incidents", "U1", "<@U0NIGHTOWL> paging <!subteam^S0SRE|@sre>", "")
	if err != nil {
		t.Fatal(err)
	}
	cardTS := w.post(t, "incidents", slack.MsgOptionText("INC-1", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(mrkdwn("<!here> INC-1 needs <@U2>"), nil, nil)))
	if _, _, _, err := w.api.UpdateMessageContext(testContext(t), "incidents", cardTS,
		slack.MsgOptionBlocks(slack.NewSectionBlock(mrkdwn("<!here> INC-1 needs <@U2> and <@U3>"), nil, nil))); err != nil {
		t.Fatal(err)
	}
	want := []slackemu.Mention{
		{Channel: "C0INCIDENTS", TS: userTS, Target: "U0NIGHTOWL"},
		{Channel: "C0INCIDENTS", TS: userTS, Target: "S0SRE"},
		{Channel: "C0INCIDENTS", TS: cardTS, Target: "here"},
		{Channel: "C0INCIDENTS", TS: cardTS, Target: "U2"},
		{Channel: "C0INCIDENTS", TS: cardTS, Target: "U3", Edited: true},
	}
	if got := w.srv.Mentions(); !slices.Equal(got, want) {
		t.Errorf("mentions\n%+v\nwant\n%+v", got, want)
	}
}
