package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WeekAlert is one firing interval of an alert history: firing from Start
// to End (both evaluations of its rule), after Pending in alertstate
// "pending".
type WeekAlert struct {
	Labels     map[string]string
	Start, End time.Time
	Pending    time.Duration
}

// WeekIncident is one incident a replay of the week must find.
type WeekIncident struct {
	// Kind is "cascade" (several services, one root cause), "noise" (one
	// alert alone), "flap" (one alert firing and resolving over and over:
	// one incident, one page) or "blip" (one evaluation: it resolves
	// before GROUP_WAIT, no page).
	Kind       string
	First      time.Time // the start of its earliest alert
	FirstAlert string
	RootCause  string
	Services   []string // sorted
	Alerts     int      // distinct alerts
	Paged      bool
	Night      bool // paged between 22:00 and 07:00 UTC
}

// Week is a synthetic week of alert history over the Black Friday shop
// (BlackFridayGraph): known incidents at known times, noise, a flapping
// alert, a blip, and Alertmanager's notification counter.
type Week struct {
	Since, Until time.Time
	Alerts       []WeekAlert
	Incidents    []WeekIncident // oldest first
	// Notifications are the times Alertmanager notified, per integration:
	// slack on every firing and resolution, email on critical firings.
	Notifications map[string][]time.Time
}

// EvalInterval is how often the week's alerting rules are evaluated: the
// spacing of its ALERTS samples.
const EvalInterval = 30 * time.Second

// SyntheticWeek returns the week from Monday 2024-06-03 00:00 UTC.
func SyntheticWeek() Week {
	since := time.Date(2024, 6, 3, 0, 0, 0, 0, time.UTC)
	day := func(d int, hhmm string) time.Time {
		t, err := time.Parse("15:04:05", hhmm)
		if err != nil {
			panic(err)
		}
		return since.AddDate(0, 0, d).Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second)
	}
	w := Week{Since: since, Until: since.AddDate(0, 0, 7), Notifications: map[string][]time.Time{}}
	alert := func(name, service, severity string, start, end time.Time) WeekAlert {
		return WeekAlert{Labels: map[string]string{"alertname": name, "service": service, "severity": severity, "namespace": "shop"}, Start: start, End: end}
	}
	cascade := func(root string, alerts ...WeekAlert) {
		w.Alerts = append(w.Alerts, alerts...)
		in := WeekIncident{Kind: "cascade", First: alerts[0].Start, FirstAlert: alerts[0].Labels["alertname"], RootCause: root,
			Alerts: len(alerts), Paged: true}
		for _, a := range alerts {
			if s := a.Labels["service"]; !slices.Contains(in.Services, s) {
				in.Services = append(in.Services, s)
			}
		}
		slices.Sort(in.Services)
		w.Incidents = append(w.Incidents, in)
	}
	alone := func(kind string, a WeekAlert) {
		w.Alerts = append(w.Alerts, a)
		w.Incidents = append(w.Incidents, WeekIncident{Kind: kind, First: a.Start, FirstAlert: a.Labels["alertname"],
			RootCause: a.Labels["service"], Services: []string{a.Labels["service"]}, Alerts: 1, Paged: kind != "blip"})
	}
	// Monday 03:12: order-service's connection pool, felt by its callers.
	cascade("order-service",
		alert("DatabaseConnectionPoolExhausted", "order-service", "critical", day(0, "03:12:00"), day(0, "03:52:00")),
		alert("ServiceErrorRateHigh", "payment-service", "warning", day(0, "03:13:00"), day(0, "03:53:00")),
		alert("ServiceErrorRateHigh", "checkout-service", "warning", day(0, "03:13:30"), day(0, "03:54:00")),
		alert("ServiceLatencyHigh", "api-gateway", "warning", day(0, "03:14:30"), day(0, "03:55:00")))
	alone("noise", alert("CertificateExpiringSoon", "edge-proxy", "warning", day(0, "16:20:00"), day(0, "16:45:00")))
	// Tuesday 14:05: the Redis cache goes away.
	cascade("redis-cache",
		alert("RedisDown", "redis-cache", "critical", day(1, "14:05:00"), day(1, "14:40:00")),
		alert("RedisConnectionTimeout", "payment-service", "warning", day(1, "14:06:00"), day(1, "14:40:30")),
		alert("RedisConnectionTimeout", "checkout-service", "warning", day(1, "14:06:30"), day(1, "14:41:00")),
		alert("ServiceLatencyHigh", "api-gateway", "warning", day(1, "14:08:00"), day(1, "14:42:00")))
	alone("noise", alert("BackupJobFailed", "backup-job", "warning", day(1, "22:30:00"), day(1, "22:50:00")))
	// Wednesday 23:40: a Kafka broker, through midnight.
	cascade("kafka",
		alert("KafkaBrokerDown", "kafka", "critical", day(2, "23:40:00"), day(3, "00:35:00")),
		alert("KafkaConsumerLagHigh", "notification-service", "warning", day(2, "23:42:00"), day(3, "00:36:00")),
		alert("KafkaProducerErrors", "order-service", "warning", day(2, "23:43:00"), day(3, "00:36:30")))
	alone("noise", alert("BatchJobSlow", "reports-batch", "warning", day(3, "09:00:00"), day(3, "09:20:00")))
	alone("blip", alert("ProbeFailed", "status-page", "warning", day(3, "15:00:00"), day(3, "15:00:00")))
	// Thursday 19:00: search-service's latency rule flaps eight times.
	flap := WeekIncident{Kind: "flap", First: day(3, "19:00:00"), FirstAlert: "HighLatencyP99", RootCause: "search-service",
		Services: []string{"search-service"}, Alerts: 1, Paged: true}
	for i := range 8 {
		start := flap.First.Add(time.Duration(i) * 7 * time.Minute)
		w.Alerts = append(w.Alerts, alert("HighLatencyP99", "search-service", "warning", start, start.Add(3*time.Minute)))
	}
	w.Incidents = append(w.Incidents, flap)
	// Friday 10:30: a bad rollout of inventory-service crash-loops (its
	// rule is pending for a minute first).
	crash := alert("PodCrashLooping", "inventory-service", "critical", day(4, "10:30:00"), day(4, "11:10:00"))
	crash.Pending = time.Minute
	cascade("inventory-service", crash,
		alert("ServiceErrorRateHigh", "inventory-service", "warning", day(4, "10:31:00"), day(4, "11:11:00")),
		alert("ServiceErrorRateHigh", "checkout-service", "warning", day(4, "10:33:00"), day(4, "11:12:00")),
		alert("ServiceErrorRateHigh", "api-gateway", "warning", day(4, "10:35:00"), day(4, "11:13:00")))
	alone("noise", alert("CertificateExpiringSoon", "edge-proxy", "warning", day(5, "13:00:00"), day(5, "13:15:00")))
	// Sunday 02:15: the database's disk fills.
	cascade("postgres-rds",
		alert("PostgresDiskFull", "postgres-rds", "critical", day(6, "02:15:00"), day(6, "03:00:00")),
		alert("ServiceErrorRateHigh", "order-service", "warning", day(6, "02:16:00"), day(6, "03:01:00")),
		alert("ServiceErrorRateHigh", "inventory-service", "warning", day(6, "02:16:30"), day(6, "03:01:30")))
	alone("noise", alert("HighMemoryUsage", "search-indexer", "warning", day(6, "20:00:00"), day(6, "20:30:00")))
	for i := range w.Incidents {
		in := &w.Incidents[i]
		h := in.First.Hour()
		in.Night = in.Paged && (h >= 22 || h < 7)
	}
	for _, a := range w.Alerts {
		w.Notifications["slack"] = append(w.Notifications["slack"], a.Start, a.End)
		if a.Labels["severity"] == "critical" {
			w.Notifications["email"] = append(w.Notifications["email"], a.Start)
		}
	}
	for _, ts := range w.Notifications {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	}
	return w
}

// OpenMetrics renders the week as `promtool tsdb create-blocks-from
// openmetrics` imports it: ALERTS as Prometheus's rule evaluation writes
// it (a gauge of 1 every EvalInterval while pending or firing, labelled
// alertstate and the alert's labels), and alertmanager_notifications_total
// per integration every minute of the week.
func (w Week) OpenMetrics() []byte {
	var b bytes.Buffer
	b.WriteString("# HELP ALERTS Alerts of the synthetic week.\n# TYPE ALERTS gauge\n")
	type series struct {
		labels map[string]string
		times  []time.Time
	}
	bySeries := map[string]*series{}
	add := func(labels map[string]string, state string, t time.Time) {
		l := maps.Clone(labels)
		l["alertstate"] = state
		k := labelText(l)
		s := bySeries[k]
		if s == nil {
			s = &series{labels: l}
			bySeries[k] = s
		}
		s.times = append(s.times, t)
	}
	for _, a := range w.Alerts {
		for t := a.Start.Add(-a.Pending); t.Before(a.Start); t = t.Add(EvalInterval) {
			add(a.Labels, "pending", t)
		}
		for t := a.Start; !t.After(a.End); t = t.Add(EvalInterval) {
			add(a.Labels, "firing", t)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(bySeries)) {
		s := bySeries[k]
		slices.SortFunc(s.times, func(a, b time.Time) int { return a.Compare(b) })
		for _, t := range s.times {
			fmt.Fprintf(&b, "ALERTS%s 1 %d\n", k, t.Unix())
		}
	}
	b.WriteString("# HELP alertmanager_notifications The total number of attempted notifications.\n# TYPE alertmanager_notifications counter\n")
	for _, in := range slices.Sorted(maps.Keys(w.Notifications)) {
		ts := w.Notifications[in]
		n := 0
		for t := w.Since; !t.After(w.Until); t = t.Add(time.Minute) {
			for n < len(ts) && !ts[n].After(t) {
				n++
			}
			fmt.Fprintf(&b, "alertmanager_notifications_total{integration=%q} %d %d\n", in, n, t.Unix())
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

// labelText is {a="x",b="y"} with names sorted.
func labelText(l map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+strconv.Quote(l[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// WebhookLines renders the week as Alertmanager webhook JSON lines: one
// payload when each alert fires and one when it resolves.
func (w Week) WebhookLines() []byte {
	type wire struct {
		Status   string            `json:"status"`
		Labels   map[string]string `json:"labels"`
		StartsAt string            `json:"startsAt"`
		EndsAt   string            `json:"endsAt"`
	}
	type event struct {
		at   time.Time
		line string
	}
	var events []event
	for _, a := range w.Alerts {
		for _, st := range []string{"firing", "resolved"} {
			x := wire{Status: st, Labels: a.Labels, StartsAt: a.Start.Format(time.RFC3339), EndsAt: "0001-01-01T00:00:00Z"}
			at := a.Start
			if st == "resolved" {
				x.EndsAt, at = a.End.Format(time.RFC3339), a.End
			}
			events = append(events, event{at, fmt.Sprintf(`{"version":"4","status":%q,"alerts":[%s]}`, st, mustJSON(x))})
		}
	}
	slices.SortStableFunc(events, func(a, b event) int { return a.at.Compare(b.at) })
	var b bytes.Buffer
	for _, e := range events {
		b.WriteString(e.line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// LargeWeek is a week of n alert intervals over a generated estate of
// services (as YAML): domains of twenty services, each a layered graph in
// a namespace of its own, where bursts cascade from a root to its callers
// (seven alerts in ten), and noise (single alerts anywhere). The same seed
// gives the same week.
func LargeWeek(seed uint64, services, n int) (graphYAML []byte, alerts []WeekAlert) {
	const domain = 20
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	name := func(i int) string { return fmt.Sprintf("svc-%03d", i) }
	callers := make([][]int, services)
	var g bytes.Buffer
	g.WriteString("services:\n")
	for i := range services {
		fmt.Fprintf(&g, "  %s:\n", name(i))
		end := min(services, (i/domain+1)*domain) // the domain's services after i
		var deps []string
		for range 2 {
			if i+1 >= end {
				break
			}
			d := i + 1 + rng.IntN(min(5, end-i-1))
			if !slices.Contains(deps, name(d)) {
				deps = append(deps, name(d))
				callers[d] = append(callers[d], i)
			}
		}
		if len(deps) > 0 {
			fmt.Fprintf(&g, "    depends_on: [%s]\n", strings.Join(deps, ", "))
		}
	}
	rules := []string{"ServiceErrorRateHigh", "ServiceLatencyHigh", "PodRestarting", "HighCPUUsage", "HighMemoryUsage",
		"DatabaseConnectionPoolExhausted", "KafkaConsumerLagHigh", "DiskSpaceLow", "CertificateExpiringSoon", "ProbeFailed"}
	since := time.Date(2024, 6, 3, 0, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	mk := func(svc int, start time.Time) WeekAlert {
		start = start.Truncate(EvalInterval)
		d := time.Duration(2+rng.IntN(60)) * time.Minute
		return WeekAlert{Labels: map[string]string{"alertname": rules[rng.IntN(len(rules))], "service": name(svc),
			"severity": []string{"warning", "critical"}[rng.IntN(2)], "namespace": fmt.Sprintf("team-%02d", svc/domain)},
			Start: start, End: start.Add(d)}
	}
	for len(alerts) < n {
		at := since.Add(time.Duration(rng.Int64N(int64(week - 2*time.Hour))))
		root := rng.IntN(services)
		alerts = append(alerts, mk(root, at))
		if rng.IntN(10) < 3 { // noise: one alert alone
			continue
		}
		frontier := []int{root}
		for step := 0; len(frontier) > 0 && step < 4 && len(alerts) < n; step++ {
			var next []int
			for _, s := range frontier {
				for _, c := range callers[s] {
					if len(alerts) < n && rng.IntN(4) > 0 {
						alerts = append(alerts, mk(c, at.Add(time.Duration(step+1)*time.Minute)))
						next = append(next, c)
					}
				}
			}
			frontier = next
		}
	}
	return g.Bytes(), alerts
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
