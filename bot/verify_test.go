package bot

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// fakeAlertmanager holds alerts by fingerprint and records what it was asked.
type fakeAlertmanager struct {
	holds map[string]bool
	down  bool
	asked [][]string
}

func (f *fakeAlertmanager) Held(_ context.Context, alerts []diagnosis.Alert, _ time.Time) ([]bool, error) {
	var fps []string
	out := make([]bool, len(alerts))
	for i, a := range alerts {
		fps = append(fps, a.Fingerprint)
		out[i] = f.holds[a.Fingerprint]
	}
	f.asked = append(f.asked, fps)
	if f.down {
		return nil, errors.New("dial tcp 127.0.0.1:9093: connection refused")
	}
	return out, nil
}

func verifyingBot(am AlertChecker) *Bot {
	return &Bot{deps: Deps{Alerts: am}, verify: newVerifyState(), log: slog.New(slog.DiscardHandler)}
}

func incidentOf(alerts ...diagnosis.Alert) diagnosis.Incident {
	in := diagnosis.Incident{ID: "INC-1", Status: diagnosis.Firing}
	for _, a := range alerts {
		in.Alerts = append(in.Alerts, diagnosis.AlertState{Alert: a})
	}
	return in
}

func alertWith(fp string, st diagnosis.Status) diagnosis.Alert {
	return diagnosis.Alert{Fingerprint: fp, Status: st, Labels: map[string]string{"alertname": "A" + fp}}
}

func TestVerificationAsksAlertmanagerAboutFiringAlerts(t *testing.T) {
	firing := func(fp string) diagnosis.Alert { return alertWith(fp, diagnosis.Firing) }
	cases := []struct {
		name     string
		am       *fakeAlertmanager
		in       diagnosis.Incident
		ok       bool
		note     string
		askedFor []string
	}{
		{"alerts Alertmanager holds are verified", &fakeAlertmanager{holds: map[string]bool{"a": true, "b": true}},
			incidentOf(firing("a"), firing("b")), true, "", []string{"a", "b"}},
		{"an alert Alertmanager does not hold makes the incident unverified", &fakeAlertmanager{holds: map[string]bool{"a": true}},
			incidentOf(firing("a"), firing("forged")), false, "Alertmanager does not hold 1 alert of this incident", []string{"a", "forged"}},
		{"an unreachable Alertmanager leaves it unverified and says so", &fakeAlertmanager{down: true},
			incidentOf(firing("a")), false, "could not verify: Alertmanager unreachable", []string{"a"}},
		{"resolved alerts are not asked about", &fakeAlertmanager{holds: map[string]bool{"a": true}},
			incidentOf(firing("a"), alertWith("gone", diagnosis.Resolved)), true, "", []string{"a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := verifyingBot(tc.am).verification(t.Context(), tc.in)
			if got.ok != tc.ok || !strings.Contains(got.note, tc.note) {
				t.Errorf("verdict %+v, want ok %v and a note with %q", got, tc.ok, tc.note)
			}
			if len(tc.am.asked) != 1 || !slices.Equal(tc.am.asked[0], tc.askedFor) {
				t.Errorf("asked %v, want one question about %v", tc.am.asked, tc.askedFor)
			}
		})
	}
	t.Run("without Alertmanager every incident is verified", func(t *testing.T) {
		if got := verifyingBot(nil).verification(t.Context(), incidentOf(firing("a"))); !got.ok {
			t.Errorf("verdict %+v, want verified", got)
		}
	})
}

func TestVerificationRemembersWhatAlertmanagerSaid(t *testing.T) {
	am := &fakeAlertmanager{holds: map[string]bool{"a": true}}
	b := verifyingBot(am)
	in := incidentOf(alertWith("a", diagnosis.Firing), alertWith("forged", diagnosis.Firing))
	if got := b.verification(t.Context(), in); got.ok {
		t.Fatalf("verdict %+v, want unverified", got)
	}

	// Alertmanager lets "a" go (it resolved there first) and the forger
	// resolves "forged": the incident stays unverified, and "a" is not
	// asked about again.
	am.holds = map[string]bool{}
	in.Alerts[1].Status = diagnosis.Resolved
	if got := b.verification(t.Context(), in); got.ok || !strings.Contains(got.note, "does not hold 1 alert") {
		t.Errorf("verdict %+v, want unverified: an alert missing while it fired stays suspect", got)
	}
	if len(am.asked) != 1 {
		t.Errorf("asked %v, want no question about alerts already vouched for or resolved", am.asked)
	}

	// Once Alertmanager holds an alert it was missing (it was slow), the
	// incident is verified.
	am.holds = map[string]bool{"forged": true}
	in.Alerts[1].Status = diagnosis.Firing
	if got := b.verification(t.Context(), in); !got.ok {
		t.Errorf("verdict %+v, want verified once Alertmanager holds every alert", got)
	}
}

// fakeRecords keeps alert origins for ownResolutions.
type fakeRecords struct {
	origins map[string]string
	err     error
}

func (f fakeRecords) FirstSeen(context.Context, string, time.Time) (bool, error) { return true, nil }
func (f fakeRecords) RecordAlerts(context.Context, string, string, string, time.Time, []diagnosis.Alert) error {
	return nil
}
func (f fakeRecords) Ungrouped(context.Context, time.Time) ([]diagnosis.Alert, error) {
	return nil, nil
}
func (f fakeRecords) LastMessage(context.Context, string) (string, error) { return "", nil }
func (f fakeRecords) Append(context.Context, diagnosis.Event) error       { return nil }
func (f fakeRecords) LinkAlerts(context.Context, string, []string) error  { return nil }
func (f fakeRecords) AlertOrigins(_ context.Context, fps []string) (map[string]string, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]string{}
	for _, fp := range fps {
		if o, ok := f.origins[fp]; ok {
			out[fp] = o
		}
	}
	return out, nil
}

func TestOnlyTheSourceThatReportedAnAlertCanResolveIt(t *testing.T) {
	origins := map[string]string{"mine": "B0AM", "theirs": "B0OTHER", "legacy": ""}
	resolved := func(fp string) diagnosis.Alert { return alertWith(fp, diagnosis.Resolved) }
	cases := []struct {
		name string
		recs fakeRecords
		in   []diagnosis.Alert
		want []string
	}{
		{"a resolution from the source that reported the alert firing is kept", fakeRecords{origins: origins},
			[]diagnosis.Alert{resolved("mine")}, []string{"mine"}},
		{"a resolution from another source is dropped", fakeRecords{origins: origins},
			[]diagnosis.Alert{resolved("theirs"), resolved("mine")}, []string{"mine"}},
		{"an alert recorded before sources were kept can be resolved", fakeRecords{origins: origins},
			[]diagnosis.Alert{resolved("legacy")}, []string{"legacy"}},
		{"an alert never recorded firing can be resolved", fakeRecords{origins: origins},
			[]diagnosis.Alert{resolved("new")}, []string{"new"}},
		{"firing alerts pass whoever reported them first", fakeRecords{origins: origins},
			[]diagnosis.Alert{alertWith("theirs", diagnosis.Firing)}, []string{"theirs"}},
		{"when the record cannot say, resolutions are dropped and firing alerts kept", fakeRecords{err: errors.New("disk I/O error")},
			[]diagnosis.Alert{resolved("mine"), alertWith("new", diagnosis.Firing)}, []string{"new"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &Bot{deps: Deps{Records: tc.recs}, log: slog.New(slog.DiscardHandler)}
			var got []string
			for _, a := range b.ownResolutions(t.Context(), relayedMsg{channel: "C1", ts: "1", source: "B0AM"}, tc.in) {
				got = append(got, a.Fingerprint)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("kept %v, want %v", got, tc.want)
			}
		})
	}
}
