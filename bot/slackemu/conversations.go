package slackemu

import (
	"encoding/base64"
	"strconv"
	"strings"
)

func (s *Server) authTest(*apiRequest) (map[string]any, error) {
	return map[string]any{
		"url":                   "https://" + s.cfg.TeamDomain + ".slack.com/",
		"team":                  s.cfg.TeamDomain,
		"user":                  s.cfg.BotName,
		"team_id":               s.cfg.TeamID,
		"user_id":               s.cfg.BotUserID,
		"bot_id":                s.cfg.BotID,
		"is_enterprise_install": false,
	}, nil
}

func (s *Server) conversationsInfo(req *apiRequest) (map[string]any, error) {
	ch, err := s.channelParam(req, "channel")
	if err != nil {
		return nil, err
	}
	empty := map[string]any{"value": "", "creator": "", "last_set": 0}
	return map[string]any{"channel": map[string]any{
		"id": ch.id, "name": ch.name, "name_normalized": ch.name, "is_channel": true, "is_group": false,
		"is_im": false, "is_mpim": false, "is_private": false, "is_archived": false, "is_general": false,
		"is_member": true, "is_shared": false, "is_ext_shared": false, "is_org_shared": false,
		"created": 1700000000, "creator": "", "context_team_id": s.cfg.TeamID,
		"topic": empty, "purpose": empty,
	}}, nil
}

// page is one page of a cursor-paginated listing.
type page struct {
	items   []*message
	hasMore bool
	next    string
}

// encodeCursor and decodeCursor use Slack's cursor form, base64 of "next_ts:<ts>".
func encodeCursor(ts string) string {
	return base64.StdEncoding.EncodeToString([]byte("next_ts:" + ts))
}

func decodeCursor(c string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(raw), "next_ts:") {
		return "", apiErr("invalid_cursor")
	}
	return strings.TrimPrefix(string(raw), "next_ts:"), nil
}

// paginate filters msgs (in listing order, newest first when desc) by the oldest/latest
// bounds of req, skips to the cursor and cuts a page of limit items.
func paginate(req *apiRequest, msgs []*message, desc bool, defLimit int) (page, error) {
	limit, _ := strconv.Atoi(req.get("limit"))
	if limit <= 0 {
		limit = defLimit
	}
	limit = min(limit, 1000)
	inclusive := req.get("inclusive") == "1" || req.get("inclusive") == "true"
	oldest, latest := tsMicros(req.get("oldest")), tsMicros(req.get("latest"))
	var cursor int64 = -1
	if c := req.get("cursor"); c != "" {
		ts, err := decodeCursor(c)
		if err != nil {
			return page{}, err
		}
		cursor = tsMicros(ts)
	}
	var kept []*message
	started := cursor < 0
	for _, m := range msgs {
		t := tsMicros(m.ts)
		if req.get("oldest") != "" && (t < oldest || t == oldest && !inclusive) {
			continue
		}
		if req.get("latest") != "" && (t > latest || t == latest && !inclusive) {
			continue
		}
		if !started {
			if desc && t > cursor || !desc && t < cursor {
				continue
			}
			started = true
		}
		kept = append(kept, m)
	}
	p := page{items: kept}
	if len(kept) > limit {
		p.items, p.hasMore, p.next = kept[:limit], true, encodeCursor(kept[limit].ts)
	}
	return p, nil
}

func (s *Server) pageReply(p page, head ...*message) map[string]any {
	msgs := make([]wireMessage, 0, len(head)+len(p.items))
	for _, m := range append(head, p.items...) {
		msgs = append(msgs, s.wireLocked(m))
	}
	out := map[string]any{"messages": msgs, "has_more": p.hasMore}
	if p.hasMore {
		out["response_metadata"] = map[string]any{"next_cursor": p.next}
	}
	return out
}

// conversationsHistory lists top-level messages, newest first.
func (s *Server) conversationsHistory(req *apiRequest) (map[string]any, error) {
	ch, err := s.channelParam(req, "channel")
	if err != nil {
		return nil, err
	}
	// oldest and latest bound the messages by ts, both exclusive unless
	// inclusive is true; Slack compares them as numbers.
	oldest, latest, inclusive := tsNumber(req.get("oldest")), tsNumber(req.get("latest")), req.get("inclusive") == "true"
	in := func(raw string) bool {
		ts := tsNumber(raw)
		if oldest >= 0 && (ts < oldest || ts == oldest && !inclusive) {
			return false
		}
		return latest < 0 || ts < latest || ts == latest && inclusive
	}
	newest := make([]*message, 0, len(ch.top))
	for i := len(ch.top) - 1; i >= 0; i-- {
		if in(ch.top[i].ts) {
			newest = append(newest, ch.top[i])
		}
	}
	p, err := paginate(req, newest, true, 100)
	if err != nil {
		return nil, err
	}
	out := s.pageReply(p)
	out["pin_count"] = 0
	return out, nil
}

// conversationsReplies lists a thread oldest first; every page starts with the parent.
func (s *Server) conversationsReplies(req *apiRequest) (map[string]any, error) {
	ch, err := s.channelParam(req, "channel")
	if err != nil {
		return nil, err
	}
	m := ch.byTS[req.get("ts")]
	if m == nil {
		return nil, apiErr("thread_not_found")
	}
	if !m.isTopLevel() {
		m = ch.byTS[m.threadTS]
	}
	p, err := paginate(req, m.replies, false, 1000)
	if err != nil {
		return nil, err
	}
	return s.pageReply(p, m), nil
}

func (s *Server) usersInfo(req *apiRequest) (map[string]any, error) {
	u, ok := s.ws.users[req.get("user")]
	if !ok {
		return nil, apiErr("user_not_found")
	}
	realName := u.RealName
	if realName == "" {
		realName = u.Name
	}
	return map[string]any{"user": map[string]any{
		"id": u.ID, "team_id": s.cfg.TeamID, "name": u.Name, "real_name": realName, "deleted": false,
		"is_bot": u.IsBot, "is_app_user": false, "tz": "UTC", "tz_label": "Coordinated Universal Time", "tz_offset": 0,
		"profile": map[string]any{
			"real_name": realName, "real_name_normalized": realName,
			"display_name": u.Name, "display_name_normalized": u.Name, "team": s.cfg.TeamID,
		},
	}}, nil
}

func (s *Server) usergroupsUsersList(req *apiRequest) (map[string]any, error) {
	members, ok := s.ws.groups[req.get("usergroup")]
	if !ok {
		return nil, apiErr("no_such_subteam")
	}
	return map[string]any{"users": append([]string{}, members...)}, nil
}

// tsMicros parses a "SSSSSSSSSS.UUUUUU" timestamp into microseconds (0 if malformed).
func tsMicros(ts string) int64 {
	sec, frac, _ := strings.Cut(ts, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0
	}
	frac = (frac + "000000")[:6]
	us, _ := strconv.ParseInt(frac, 10, 64)
	return n*1e6 + us
}

// tsNumber reads a Slack ts ("1733481234.000100") as a number, -1 for
// none or junk.
func tsNumber(ts string) float64 {
	f, err := strconv.ParseFloat(ts, 64)
	if ts == "" || err != nil {
		return -1
	}
	return f
}
