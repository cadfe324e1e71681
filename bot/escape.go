package bot

import "strings"

// Everything that came from an alert, a label or a person is untrusted text:
// it must reach Slack as plain text, never as a mention, a link or formatting.

var entityEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes s inert in Slack text: "<!channel>" and "<@U1>" become
// "&lt;!channel&gt;" and "&lt;@U1&gt;", which Slack shows but never acts on.
func escape(s string) string { return entityEscaper.Replace(s) }

// code renders untrusted s as an inline code span in mrkdwn: escaped, on one
// line, with backticks replaced so the span cannot be closed early. Inside a
// code span Slack applies no bold, italics, strike or links.
func code(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "` `"
	}
	return "`" + escape(strings.ReplaceAll(s, "`", "ˋ")) + "`"
}
