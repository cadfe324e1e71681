package bot

import (
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestASilenceEndsAfterAnHourFourHoursOrOnTheNextMondayAtNine(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name, choice, now, want string
	}{
		{"1h is an hour on", silenceHour, "2026-11-27 23:30", "2026-11-28 00:30"},
		{"4h is four hours on", silence4Hours, "2026-11-27 23:30", "2026-11-28 03:30"},
		{"on a Friday night, Monday is three days on", silenceMonday, "2026-11-27 23:30", "2026-11-30 09:00"},
		{"on a Monday before nine, it is that morning", silenceMonday, "2026-11-30 03:00", "2026-11-30 09:00"},
		{"on a Monday after nine, it is the next Monday", silenceMonday, "2026-11-30 10:00", "2026-12-07 09:00"},
		{"across the change to summer time it is still 09:00 local", silenceMonday, "2026-03-28 12:00", "2026-03-30 09:00"},
	} {
		got, ok := silenceEnd(tc.choice, at(tc.now), berlin)
		if !ok || !got.Equal(at(tc.want)) {
			t.Errorf("%s: %v, want %s Berlin", tc.name, got.In(berlin), tc.want)
		}
	}
	if _, ok := silenceEnd("forever", time.Now(), berlin); ok {
		t.Error("a choice nightowl does not offer was taken")
	}
}

func TestASilenceMatchesTheIncidentsAlertsByNameAndSharedLabels(t *testing.T) {
	in := diagnosis.Incident{Alerts: []diagnosis.AlertState{
		{Alert: alertOn("ServiceErrorRateHigh", "order-service")},
		{Alert: alertOn("DatabaseConnectionsHigh", "postgres-rds")},
		{Alert: alertOn("DatabaseConnectionsHigh", "postgres-rds", "instance", "db-2")},
	}}
	got := matcherText(incidentMatchers(in))
	want := `alertname=~"DatabaseConnectionsHigh|ServiceErrorRateHigh",service=~"order-service|postgres-rds",namespace="production"`
	if got != want {
		t.Errorf("matchers %s\nwant     %s", got, want)
	}
	in.Alerts[0].Labels["service"] = "a.b+c"
	if got := matcherText(incidentMatchers(in)); got != `alertname=~"DatabaseConnectionsHigh|ServiceErrorRateHigh",service=~"a\\.b\\+c|postgres-rds",namespace="production"` {
		t.Errorf("regular expression characters in a value are not quoted: %s", got)
	}
}
