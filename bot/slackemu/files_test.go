package slackemu_test

import (
	"bytes"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/nightowl-sre/nightowl/bot/slackemu"
)

func TestUploadFileSharesItInTheThreadAndKeepsTheBytes(t *testing.T) {
	w := newWorkspace(t, slackemu.Config{})
	parent := w.post(t, "incidents", slack.MsgOptionText("INC-1", false))
	png := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 256)
	f, err := w.api.UploadFileContext(testContext(t), slack.UploadFileParameters{
		Filename: "p99.png", Title: "p99 latency", FileSize: len(png), Reader: bytes.NewReader(png),
		Channel: "C0INCIDENTS", ThreadTimestamp: parent, InitialComment: "p99 over the last hour",
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.ID == "" || f.Title != "p99 latency" {
		t.Errorf("summary %+v", f)
	}
	name, data, ok := w.srv.File(f.ID)
	if !ok || name != "p99.png" || !bytes.Equal(data, png) {
		t.Errorf("stored %q %d bytes (found %v), want p99.png with the uploaded bytes", name, len(data), ok)
	}
	replies := w.srv.Replies("incidents", parent)
	if len(replies) != 1 || replies[0].Subtype != "file_share" || replies[0].Text != "p99 over the last hour" ||
		len(replies[0].Files) != 1 || replies[0].Files[0].ID != f.ID || replies[0].Files[0].Size != len(png) {
		t.Fatalf("replies %+v, want one file_share with the file", replies)
	}
	e := w.app.waitEvent(t, "the file share", messageEvent(func(m *slackevents.MessageEvent) bool { return m.SubType == "file_share" }))
	m := innerMessage(e)
	if m.ThreadTimeStamp != parent || len(m.Message.Files) != 1 || m.Message.Files[0].Name != "p99.png" || m.Message.Files[0].Mimetype != "image/png" {
		t.Errorf("event %+v files %+v, want the file in the thread", m, m.Message.Files)
	}
	var buf bytes.Buffer
	if err := w.api.GetFileContext(testContext(t), m.Message.Files[0].URLPrivateDownload, &buf); err != nil || !bytes.Equal(buf.Bytes(), png) {
		t.Errorf("download: %d bytes, %v", buf.Len(), err)
	}
}
