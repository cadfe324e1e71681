package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall/oncalltest"
)

// mustSeed opens a store holding the seeded on-call history.
func mustSeed(tb testing.TB) *DB {
	tb.Helper()
	db := MustOpen(tb)
	if err := oncalltest.Write(context.Background(), db, oncalltest.History()); err != nil {
		tb.Fatal(err)
	}
	return db
}

func mustReport(tb testing.TB, db *DB, from, to time.Time, team string) oncall.Report {
	tb.Helper()
	r, err := oncall.Build(context.Background(), db, oncall.Options{From: from, To: to, Team: team, Loc: oncalltest.Loc(),
		OnCall: oncalltest.OnCall, TeamOf: oncalltest.TeamOf})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestTheWeeklyReportOfTheSeededHistoryHasItsKnownFigures(t *testing.T) {
	db := mustSeed(t)
	r := mustReport(t, db, oncalltest.Week4, oncalltest.End, "")
	m := time.Minute
	mustEqual(t, "incidents", r.Incidents, 8)
	mustEqual(t, "pages", r.Pages, 7)
	mustEqual(t, "previous week's pages", r.Previous, 5)
	mustEqual(t, "pages per week", r.PagesPerWeek(), 7.0)
	mustEqual(t, "MTTD", r.MTTD, oncall.Stat{N: 7, Median: 2 * m, P90: 4 * m})
	mustEqual(t, "MTTA", r.MTTA, oncall.Stat{N: 3, Median: 3 * m, P90: 10 * m})
	mustEqual(t, "MTTR", r.MTTR, oncall.Stat{N: 6, Median: 32*m + 30*time.Second, P90: 3 * time.Hour})
	mustEqual(t, "notifications", r.Notifications, 116)
	mustEqual(t, "dedup ratio", r.Dedup, 116.0/7)
	mustEqual(t, "auto-resolution", r.AutoResolved, oncall.Rate{Of: 1, Total: 6})
	mustEqual(t, "false positives", r.FalsePositive, oncall.Rate{Of: 2, Total: 4})
	mustEqual(t, "unanswered", r.Unanswered, 3)
	mustEqual(t, "false positives by rule", r.ByRule, []oncall.Named{
		{Name: "DiskAlmostFull", Rate: oncall.Rate{Of: 1, Total: 1}}, {Name: "PodRestarting", Rate: oncall.Rate{Of: 1, Total: 1}},
		{Name: "CheckoutHighErrorRate", Rate: oncall.Rate{Total: 1}}, {Name: "HighLatency", Rate: oncall.Rate{Total: 1}}, {Name: "ReplicaLagHigh", Rate: oncall.Rate{Total: 1}}})
	mustEqual(t, "false positives by team", r.ByTeam, []oncall.Named{
		{Name: "orders", Rate: oncall.Rate{Of: 1, Total: 1}}, {Name: "storage", Rate: oncall.Rate{Of: 1, Total: 1}},
		{Name: "data", Rate: oncall.Rate{Total: 1}}, {Name: "payments", Rate: oncall.Rate{Total: 1}}, {Name: "web", Rate: oncall.Rate{Total: 1}}})
	mustEqual(t, "night pages", r.NightPages, 4)
	mustEqual(t, "night pages by person (of their pages)", r.NightByPerson, []oncall.Named{
		{Name: oncalltest.OnCall, Rate: oncall.Rate{Of: 2, Total: 4}}, {Name: oncalltest.Bob, Rate: oncall.Rate{Of: 1, Total: 1}}, {Name: oncalltest.Alice, Rate: oncall.Rate{Of: 1, Total: 2}}})
	var pages, nights []int
	for _, d := range r.Days {
		pages, nights = append(pages, d.Pages), append(nights, d.Night)
	}
	mustEqual(t, "pages per day", pages, []int{1, 1, 1, 2, 1, 0, 1})
	mustEqual(t, "night pages per day", nights, []int{0, 1, 1, 0, 1, 0, 1})
	mustEqual(t, "rules", r.Rules, []oncall.RuleStat{
		{Rule: "DiskAlmostFull", Owner: "storage", Pages: 2, Unactioned: 2, NotActionable: 1},
		{Rule: "PodRestarting", Owner: "orders", Pages: 2, Unactioned: 2, NotActionable: 1},
		{Rule: "CheckoutHighErrorRate", Owner: "payments", Pages: 2},
		{Rule: "HighLatency", Owner: "web", Pages: 1},
		{Rule: "ReplicaLagHigh", Owner: "data", Pages: 1}})
	if len(r.Noisy) != 2 {
		t.Fatalf("noisy rules: got %d, want DiskAlmostFull and PodRestarting: %+v", len(r.Noisy), r.Noisy)
	}
	disk, pods := r.Noisy[0], r.Noisy[1]
	mustEqual(t, "noisy disk", []any{disk.Rule, disk.Owner, disk.Pages, disk.Unactioned, disk.Incidents, disk.Fix.Kind, disk.Week},
		[]any{"DiskAlmostFull", "storage", 2, 2, []string{"INC-W4B", "INC-W4C"}, oncall.FixRoute, oncalltest.Week4})
	mustEqual(t, "disk's fix", disk.Fix.YAML, `# alertmanager.yml: first under route.routes, so it matches before the route that pages
route:
  routes:
    - matchers: ['alertname="DiskAlmostFull"', 'namespace="logging"', 'service="elasticsearch"', 'severity="warning"', 'team="storage"']
      receiver: storage-no-page
      continue: false
receivers:
  - name: storage-no-page   # a channel read by day, or a ticket queue: nobody is woken
`)
	mustEqual(t, "noisy pods", []any{pods.Rule, pods.Owner, pods.Unactioned, pods.Fix.Kind}, []any{"PodRestarting", "orders", 2, oncall.FixFor})
	mustEqual(t, "pods' fix", pods.Fix.YAML, `# Prometheus rule file: the rule that defines PodRestarting; keep its expr as it is.
- alert: PodRestarting
  expr: <unchanged>
  for: 10m
  labels:
    namespace: shop
    service: orders
    severity: warning
`)
}

func TestThe30DayReportSpansTheWeeks(t *testing.T) {
	db := mustSeed(t)
	from := oncalltest.End.AddDate(0, 0, -30)
	r := mustReport(t, db, from, oncalltest.End, "")
	mustEqual(t, "pages", r.Pages, 15)
	mustEqual(t, "previous 30 days' pages", r.Previous, 1)
	mustEqual(t, "auto-resolution", r.AutoResolved, oncall.Rate{Of: 2, Total: 14})
	var weeks []string
	for _, w := range r.WeekStats {
		weeks = append(weeks, w.From.Format("01-02")+" "+w.MTTA.Median.String()+" "+w.MTTR.Median.String())
	}
	mustEqual(t, "weekly MTTA and MTTR medians", weeks, []string{
		"01-31 0s 0s", "02-02 6m0s 35m0s", "02-09 4m0s 1h12m30s", "02-16 3m30s 40m0s", "02-23 3m0s 32m30s"})
	var noisy []string
	for _, n := range r.Noisy {
		noisy = append(noisy, n.Rule+" "+n.Fix.Kind+" "+n.Week.Format("01-02")+" "+strings.Join(n.Incidents, ","))
	}
	mustEqual(t, "noisy rules", noisy, []string{
		"DiskAlmostFull route 02-23 INC-W2B,INC-W4B,INC-W4C",
		"PodRestarting for 02-23 INC-W3E,INC-W4D,INC-W4E",
		"HighLatency inhibit 02-16 INC-W3A,INC-W3B",
		"ReplicaLagHigh route 02-16 INC-W3A,INC-W3B"})
	mustEqual(t, "the symptom's inhibition", r.Noisy[2].Fix.YAML, `# alertmanager.yml
inhibit_rules:
  - source_matchers: ['alertname="ReplicaLagHigh"']
    target_matchers: ['alertname="HighLatency"', 'namespace="shop"', 'service="frontend"', 'severity="warning"', 'team="web"']
    equal: ['cluster']
`)
}

func TestAReportForOneTeamKeepsItsIncidents(t *testing.T) {
	db := mustSeed(t)
	tests := []struct {
		team                    string
		pages, previous, nights int
	}{
		{"storage", 2, 1, 2},  // by the team label: W4B, W4C; W3D
		{"orders", 2, 1, 0},   // by the graph's node team: W4D, W4E (W4G settled); W3E
		{"payments", 2, 1, 1}, // W4A, W4H; W3C
		{"nobody", 0, 0, 0},
	}
	for _, tt := range tests {
		r := mustReport(t, db, oncalltest.Week4, oncalltest.End, tt.team)
		mustEqual(t, tt.team+": pages, previous, night pages", []int{r.Pages, r.Previous, r.NightPages}, []int{tt.pages, tt.previous, tt.nights})
	}
}

func TestLifecyclesTellWhoDidWhat(t *testing.T) {
	db := mustSeed(t)
	ls, err := db.Lifecycles(context.Background(), oncalltest.Week4, oncalltest.End)
	if err != nil {
		t.Fatal(err)
	}
	var f oncall.Lifecycle
	for _, l := range ls {
		if l.Incident == "INC-W4F" {
			f = l
		}
	}
	loc := oncalltest.Loc()
	card := time.Date(2026, time.February, 27, 3, 0, 0, 0, loc).UTC()
	mustEqual(t, "card, first alert, who was paged", []any{f.Card, f.FirstAlert, f.Paged, f.PagedWho}, []any{card, card.Add(-4 * time.Minute), true, oncalltest.OnCall})
	mustEqual(t, "ack and escalation", []any{f.Ack.By, f.Ack.At, f.Escalation.By}, []any{oncalltest.Bob, card.Add(10 * time.Minute), oncalltest.Bob})
	mustEqual(t, "runs", f.Runs, []oncall.Run{{Runbook: "failover-postgres", RequestedBy: oncalltest.Bob, RequestedAt: card.Add(10 * time.Minute),
		ApprovedBy: []string{oncalltest.Carol}, ApprovedAt: card.Add(11 * time.Minute), FinishedAt: card.Add(13 * time.Minute), State: "succeeded"}})
	mustEqual(t, "outcome, root cause, questions, verdict", []any{f.Outcome, f.RootCause, f.Questions, *f.Verdict},
		[]any{"fixed", "postgres", 2, oncall.Verdict{Actionable: true, By: oncalltest.Bob, At: card.Add(42 * time.Minute)}})
}

func TestADiagnosisIsOnTheRecordEachTimeItChanges(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	save := func(cause, runbook string, minute int) {
		t.Helper()
		d := diagnosis.Diagnosis{Incident: "INC-1", GeneratedAt: at.Add(time.Duration(minute) * time.Minute), RecommendedRunbook: runbook,
			Candidates: []diagnosis.Candidate{{Service: cause, Confidence: 0.5}}}
		if err := db.SaveDiagnosis(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	save("postgres", "", 0)
	save("postgres", "", 1)
	save("checkout", "restart-checkout", 2)
	save("checkout", "restart-checkout", 3)
	events, err := db.Events(ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, string(e.Kind)+": "+e.Detail)
	}
	mustEqual(t, "events", got, []string{
		"diagnosed: root cause postgres (50%)",
		"diagnosed: root cause checkout (50%), runbook restart-checkout (was postgres)"})
}

func TestTheTimelineTellsTheIncidentInOrder(t *testing.T) {
	db := mustSeed(t)
	tl, err := db.Timeline(context.Background(), "INC-W4F")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range tl.Entries {
		got = append(got, e.At.In(oncalltest.Loc()).Format("15:04")+" "+string(e.Section)+" "+e.Actor+" "+e.Text)
	}
	mustEqual(t, "entries", got, []string{
		"02:56 alert  ReplicaLagHigh on postgres fired (critical)",
		"02:56 alert  HighLatency on frontend fired (warning)",
		"02:56 card  incident opened with 2 alerts",
		"03:00 diagnosis nightowl root cause postgres (80%), runbook failover-postgres",
		"03:00 card  card posted: C0INCIDENTS/1772157600.000014 paged UONCALL",
		"03:10 people UBOB acknowledged",
		"03:10 runbook UBOB failover-postgres: requested",
		"03:11 runbook UCAROL failover-postgres: approved",
		"03:11 runbook  failover-postgres: started — check=false",
		"03:12 people UBOB escalated to UESCALATION",
		"03:13 runbook  failover-postgres: finished — succeeded",
		"03:13 question UBOB asked: is the replica caught up?",
		"03:13 question nightowl answered: Answered from the diagnosis.",
		"03:14 question UBOB asked: why did failover not start on its own?",
		"03:14 question nightowl answered: Answered from the diagnosis.",
		"03:41 alert  ReplicaLagHigh on postgres resolved",
		"03:41 alert  HighLatency on frontend resolved",
		"03:41 resolved  resolved after 45m 0s",
		"03:42 people UBOB answered: the page was actionable",
	})
	if _, err := db.Timeline(context.Background(), "INC-NOPE"); !errors.Is(err, oncall.ErrUnknown) {
		t.Errorf("timeline of an unknown incident: got %v, want ErrUnknown", err)
	}
}

func TestAWeeksReportIsClaimedOnceUntilReleased(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	claim := func() bool {
		t.Helper()
		ok, err := db.ClaimWeek(ctx, "2026-03-02", oncalltest.Now)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	mustEqual(t, "first claim", claim(), true)
	mustEqual(t, "second claim", claim(), false)
	db = MustReopen(t, db)
	mustEqual(t, "claim after a restart", claim(), false)
	if err := db.ReleaseWeek(ctx, "2026-03-02"); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "claim after a release", claim(), true)
}
