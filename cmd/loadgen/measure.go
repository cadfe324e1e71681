package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// result is what one scenario measured.
type result struct {
	Scenario   string         `json:"scenario"`
	Short      bool           `json:"short"`
	GroupWait  time.Duration  `json:"group_wait_ns"`
	RelayedIn  time.Duration  `json:"relayed_in_ns"`
	Alerts     int            `json:"alerts"`        // alert entries relayed (firing, repeats, resolved)
	Messages   int            `json:"notifications"` // Slack messages relayed
	Incidents  int            `json:"incidents"`     // incidents relayed
	Cards      int            `json:"cards"`         // top-level bot messages in the incidents channel
	Clusters   []int          `json:"card_clusters"` // the incident each card is about, in posting order
	WebAPI     int            `json:"web_api_calls"`
	ByMethod   map[string]int `json:"web_api_by_method"`
	Failed     int            `json:"web_api_failed"`
	CardMax    time.Duration  `json:"card_latency_max_ns"` // first alert of an incident → its card
	CardP50    time.Duration  `json:"card_latency_p50_ns"`
	NoCard     int            `json:"incidents_without_card"`
	PeakRSSKB  int64          `json:"peak_rss_kb"` // the bot's VmHWM
	AckP50     time.Duration  `json:"ack_p50_ns"`  // envelopes of relayed alert messages
	AckP99     time.Duration  `json:"ack_p99_ns"`
	AckMissed  int            `json:"ack_timed_out"`
	RowP50     time.Duration  `json:"post_to_row_p50_ns"` // a relayed message's post → its last alert row in SQLite
	RowP99     time.Duration  `json:"post_to_row_p99_ns"`
	RowMax     time.Duration  `json:"post_to_row_max_ns"`
	Rows       int64          `json:"alert_rows"`
	RowSlow    []slowPost     `json:"post_to_row_slowest,omitempty"`
	CardAlerts int            `json:"card_alert_count"` // the alert count the card shows
	LateUpdate int            `json:"card_updates_after_last_post"`
	LateCard   bool           `json:"card_posted_after_last_post"`
	CardEdits  int            `json:"card_edits"`
	RSS        []rssSample    `json:"rss_samples,omitempty"`
	// HeapBefore and HeapAfter are the bot's heap in use (after a GC) in
	// the soak's first and last heap profiles, kept at HeapProfiles.
	HeapBefore   int64    `json:"heap_before_bytes,omitempty"`
	HeapAfter    int64    `json:"heap_after_bytes,omitempty"`
	HeapProfiles []string `json:"heap_profiles,omitempty"`
	Targets      []target `json:"targets"`
}

// slowPost is one of the slowest posts to reach SQLite: when it was
// posted (from the first post), how long its row took, and how far it was
// from the nearest chat.postMessage or chat.update of the bot (negative:
// the call came first).
type slowPost struct {
	At      time.Duration `json:"at_ns"`
	Latency time.Duration `json:"latency_ns"`
	Publish time.Duration `json:"nearest_publish_ns"`
}

// target is one goal of docs/performance.md and whether the run met it.
type target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// tsTime reads a Slack ts ("1733481234.000100") as a time.
func tsTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, _ := strconv.ParseInt(sec, 10, 64)
	us, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(s, us*1000)
}

var alertCount = regexp.MustCompile(`([0-9][0-9,]*) alerts`)

// measure reads the workspace, the bot's memory and the row samples.
func measure(h *harness, o options, posts []posted, rows []rowSample) *result {
	r := &result{Scenario: o.Scenario, Short: o.Short, GroupWait: o.GroupWait, Messages: len(posts), ByMethod: map[string]int{}}
	r.PeakRSSKB = h.rss.peak()
	r.RSS = h.rss.all()
	incidents := map[int]bool{}
	for _, p := range posts {
		incidents[p.Incident] = true
	}
	r.Incidents = len(incidents)
	if len(posts) > 0 {
		r.Alerts = posts[len(posts)-1].Cum
	}

	// The relayed messages, in posting order, give each its ts.
	relayed := h.emu.Messages(chAlerts)
	msgTime := func(i int) time.Time {
		if i < len(relayed) {
			return tsTime(relayed[i].TS)
		}
		return posts[i].Sent
	}
	first := map[int]time.Time{}
	for i, p := range posts {
		if _, ok := first[p.Incident]; !ok {
			first[p.Incident] = msgTime(i)
		}
	}

	// Cards and how long each incident waited for its own.
	carded := map[int]bool{}
	var lat []time.Duration
	var card string
	for _, m := range h.emu.Messages(chIncidents) {
		if m.BotID != botID {
			continue
		}
		r.Cards++
		card = m.TS
		r.CardEdits = m.Edited
		k := clusterOf(m.Text)
		if k < 0 {
			k = clusterOf(h.emu.RenderMessage(chIncidents, m.TS))
		}
		r.Clusters = append(r.Clusters, k)
		if t, ok := first[k]; ok && !carded[k] {
			carded[k] = true
			lat = append(lat, tsTime(m.TS).Sub(t))
		}
	}
	r.NoCard = r.Incidents - len(carded)
	r.CardP50, _, r.CardMax = quantiles(lat)

	// Web API calls, by method; after the last post, chat.update on the card.
	var lastPost time.Time
	if len(posts) > 0 {
		lastPost = msgTime(len(posts) - 1)
	}
	var publishes []time.Time
	for _, c := range h.emu.CallLog() {
		if c.Method == "webhook" {
			continue
		}
		r.WebAPI++
		r.ByMethod[c.Method]++
		if !c.OK {
			r.Failed++
		}
		if c.Method == "chat.postMessage" || c.Method == "chat.update" {
			publishes = append(publishes, c.At)
		}
		if c.Method == "chat.update" && c.At.After(lastPost) {
			r.LateUpdate++
		}
	}
	if card != "" {
		r.LateCard = tsTime(card).After(lastPost)
		if m := alertCount.FindStringSubmatch(h.emu.RenderMessage(chIncidents, card)); m != nil {
			r.CardAlerts, _ = strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
		}
	}

	// Acks of the envelopes that carried relayed messages.
	channels := h.emu.EnvelopeChannels()
	var acks []time.Duration
	for _, e := range h.emu.Envelopes() {
		if channels[e.ID] != chAlerts {
			continue
		}
		if e.TimedOut {
			r.AckMissed++
		}
		if e.Acked {
			acks = append(acks, e.AckedAfter)
		}
	}
	r.AckP50, r.AckP99, _ = quantiles(acks)

	// Post → alert row: the first row sample that holds a message's last row.
	if len(rows) > 0 {
		r.Rows = rows[len(rows)-1].Max
		var rowLat []time.Duration
		var slow []slowPost
		j := 0
		for i, p := range posts {
			for j < len(rows) && rows[j].Max < int64(p.Cum) {
				j++
			}
			if j == len(rows) {
				break
			}
			rowLat = append(rowLat, max(0, rows[j].At.Sub(msgTime(i))))
			slow = append(slow, slowPost{At: msgTime(i).Sub(msgTime(0)), Latency: rowLat[len(rowLat)-1], Publish: nearest(publishes, msgTime(i))})
		}
		r.RowP50, r.RowP99, r.RowMax = quantiles(rowLat)
		slices.SortFunc(slow, func(a, b slowPost) int { return int(b.Latency - a.Latency) })
		r.RowSlow = slow[:min(len(slow), 10)]
	}
	return r
}

// nearest is the signed distance from t to the closest of ts (ts - t).
func nearest(ts []time.Time, t time.Time) time.Duration {
	var best time.Duration
	for i, x := range ts {
		if d := x.Sub(t); i == 0 || d.Abs() < best.Abs() {
			best = d
		}
	}
	return best
}

// quantiles are the median, the 99th percentile and the maximum.
func quantiles(ds []time.Duration) (p50, p99, top time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99), s[len(s)-1]
}

// judge sets the targets of r's scenario (docs/performance.md).
func (r *result) judge(o options) {
	mb := func(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }
	add := func(name, want, got string, met bool) {
		r.Targets = append(r.Targets, target{Name: name, Want: want, Got: got, Met: met})
	}
	switch r.Scenario {
	case "storm":
		bound := 400 * r.Incidents / 20
		add("cards", fmt.Sprintf("exactly %d", r.Incidents), fmt.Sprint(r.Cards), r.Cards == r.Incidents && r.NoCard == 0)
		add("Web API calls", fmt.Sprintf("< %d", bound), fmt.Sprint(r.WebAPI), r.WebAPI < bound)
		add("first alert → card (max)", "≤ GROUP_WAIT + 2s = "+(o.GroupWait+2*time.Second).String(), r.CardMax.Round(time.Millisecond).String(),
			r.NoCard == 0 && r.CardMax <= o.GroupWait+2*time.Second)
		add("peak RSS", "< 150 MB", mb(r.PeakRSSKB), r.PeakRSSKB < 150*1024)
	case "one-incident":
		add("cards", "exactly 1", fmt.Sprint(r.Cards), r.Cards == 1)
		add("peak RSS", "< 300 MB", mb(r.PeakRSSKB), r.PeakRSSKB < 300*1024)
		add("intake p99 (envelope ack)", "< 50ms", r.AckP99.Round(10*time.Microsecond).String(), r.AckP99 < 50*time.Millisecond && r.AckMissed == 0)
		if r.Rows > 0 {
			add("intake p99 (post → alert row)", "< 50ms", r.RowP99.Round(time.Millisecond).String(), r.RowP99 < 50*time.Millisecond)
		}
		add("card current after the last post", "posted or updated after it, shows every alert",
			fmt.Sprintf("%d chat.update after it (card posted after it: %v), card shows %d alerts", r.LateUpdate, r.LateCard, r.CardAlerts),
			(r.LateUpdate >= 1 || r.LateCard) && r.CardAlerts >= r.Alerts)
	case "soak":
		if o.Duration < 10*time.Minute {
			return // too short to say memory is flat: the bot is still warming up
		}
		first, last := r.soakGrowth()
		add("memory flat", "second half grows < 10%", fmt.Sprintf("%s → %s", mb(first), mb(last)), first > 0 && last < first*11/10)
	}
}

// soakGrowth is the bot's RSS at half time and at the end.
func (r *result) soakGrowth() (half, end int64) {
	if len(r.RSS) == 0 {
		return 0, 0
	}
	return r.RSS[len(r.RSS)/2].RSS, r.RSS[len(r.RSS)-1].RSS
}

// missed reports whether any target was missed.
func (r *result) missed() bool {
	return slices.ContainsFunc(r.Targets, func(t target) bool { return !t.Met })
}
