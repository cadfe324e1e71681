package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/commands"
	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/oncall"
)

// record is an oncall.Record of a few lifecycles and one timeline; it
// remembers the period it was asked for.
type record struct {
	ls       []oncall.Lifecycle
	from, to time.Time
}

func (r *record) Lifecycles(_ context.Context, from, to time.Time) ([]oncall.Lifecycle, error) {
	r.from, r.to = from, to
	var out []oncall.Lifecycle
	for _, l := range r.ls {
		if !l.Opened.Before(from) && l.Opened.Before(to) {
			out = append(out, l)
		}
	}
	return out, nil
}

func (r *record) Timeline(_ context.Context, id string) (oncall.Timeline, error) {
	for _, l := range r.ls {
		if l.Incident == id {
			return oncall.Timeline{Incident: diagnosis.Incident{ID: id}, Lifecycle: l,
				Entries: []oncall.Entry{{At: l.Card, Section: oncall.SectionCard, Text: "card posted"}}}, nil
		}
	}
	return oncall.Timeline{}, oncall.ErrUnknown
}

var reportNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// page is a page of rule, posted at card, with nobody acting on it.
func page(id string, card time.Time, rule string) oncall.Lifecycle {
	return oncall.Lifecycle{Incident: id, FirstAlert: card.Add(-time.Minute), Opened: card.Add(-50 * time.Second), Card: card, Paged: true,
		Resolved: card.Add(5 * time.Minute), Notifications: 3, Rules: []oncall.Rule{{Name: rule, Node: "orders", Firing: 6 * time.Minute,
			Labels: map[string]string{"alertname": rule, "team": "orders"}}}}
}

func reportHandler(rec *record) *commands.Handler {
	return commands.New(commands.Deps{Record: rec, OnCall: "UONCALL", Now: func() time.Time { return reportNow }})
}

func TestDiagReportSaysTheFiguresAndAttachesChartsAndFixes(t *testing.T) {
	rec := &record{ls: []oncall.Lifecycle{
		page("INC-1", reportNow.Add(-30*time.Hour), "PodRestarting"), // 03:00, a night page
		page("INC-2", reportNow.Add(-20*time.Hour), "PodRestarting"),
		page("INC-0", reportNow.AddDate(0, 0, -10), "PodRestarting"), // the week before
	}}
	reply, err := reportHandler(rec).Handle(context.Background(), commands.Request{Command: "/diag", Text: "report 7d"})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.to.Equal(reportNow) || !rec.from.Equal(reportNow.AddDate(0, 0, -14)) {
		t.Errorf("read %s → %s, want the week and the one before it", rec.from, rec.to)
	}
	got := reply.String()
	for _, want := range []string{
		"Pages: 2 · 2.0 a week, up 100% from 1.0",
		"Night pages (22:00–07:00): 1 — UONCALL 1",
		"PodRestarting — owner orders · 2 pages, 2 unactioned",
		"PodRestarting — owner orders: 2 of 2 pages unactioned.",
		"[picture report-pages-per-day.png",
		"[file report-night-pages.png",
		"[file report-mtta-mttr.png",
		"[file noisy-alerts.md",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
	noisy := string(reply.Files[len(reply.Files)-1].Data)
	if !strings.Contains(noisy, "for: 10m") {
		t.Errorf("noisy-alerts.md lacks the fix:\n%s", noisy)
	}
}

func TestDiagReportAndTimelineRefuseWhatTheyCannotRead(t *testing.T) {
	rec := &record{ls: []oncall.Lifecycle{page("INC-1", reportNow.Add(-time.Hour), "PodRestarting")}}
	tests := []struct {
		text, incident string
		want           string
		h              *commands.Handler
	}{
		{"report 365d", "", "A report covers 1 to 90 days, not 365d.", reportHandler(rec)},
		{"report 7d payments web", "", `/diag report takes a period and one team, not "7d payments web".`, reportHandler(rec)},
		{"timeline", "", "Say which incident: /diag timeline INC-….", reportHandler(rec)},
		{"timeline INC-NOPE", "", "No incident INC-NOPE on the record.", reportHandler(rec)},
		{"report", "", "nightowl keeps no record here, so it has no report or timeline to show.", commands.New(commands.Deps{})},
	}
	for _, tt := range tests {
		_, err := tt.h.Handle(context.Background(), commands.Request{Command: "/diag", Text: tt.text, Incident: tt.incident})
		var ue commands.UsageError
		if !errors.As(err, &ue) || ue.Msg != tt.want {
			t.Errorf("/diag %s: got %v, want %q", tt.text, err, tt.want)
		}
	}
}

func TestDiagTimelineInAThreadDraftsThatIncidentsPostmortem(t *testing.T) {
	rec := &record{ls: []oncall.Lifecycle{page("INC-1", reportNow.Add(-time.Hour), "PodRestarting")}}
	reply, err := reportHandler(rec).Handle(context.Background(), commands.Request{Command: "/diag", Text: "timeline", Incident: "INC-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Files) != 1 || reply.Files[0].Name != "INC-1-postmortem.md" {
		t.Fatalf("files: %+v", reply.Files)
	}
	md := string(reply.Files[0].Data)
	for _, want := range []string{"# Postmortem draft — INC-1", "| Card posted (detected) | 2026-03-02 08:00:00 (+1m), paged on-call |", "## Action items"} {
		if !strings.Contains(md, want) {
			t.Errorf("the draft lacks %q:\n%s", want, md)
		}
	}
}
