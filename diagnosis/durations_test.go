package diagnosis_test

import (
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestDurationsAreWrittenOneWayEach(t *testing.T) {
	const ms, s, m, h = time.Millisecond, time.Second, time.Minute, time.Hour
	cases := []struct {
		name                                       string
		d                                          time.Duration
		elapsed, roughly, compact, precise, called string
	}{
		{"under a second", 850 * ms, "1s", "1s", "1s", "850ms", "850 ms"},
		{"a second and a bit", 1140 * ms, "1s", "1s", "1s", "1.1s", "1.1 s"},
		{"seconds", 45 * s, "45s", "45s", "45s", "45s", "45.0 s"},
		{"whole minutes", 4 * m, "4m 0s", "4m", "4m", "4m0s", "240.0 s"},
		{"minutes and seconds", 8*m + 35*s, "8m 35s", "8m", "8m35s", "8m35s", "515.0 s"},
		// Compact used to write "1h0m", and a runbook's approval window
		// of an hour "60m", of a day "1440m".
		{"a whole hour", h, "1h 0m", "1h 0m", "1h", "1h0m0s", "3600.0 s"},
		{"a day", 24 * h, "24h 0m", "24h 0m", "24h", "24h0m0s", "86400.0 s"},
		{"an hour and a half", 90 * m, "1h 30m", "1h 30m", "1h30m", "1h30m0s", "5400.0 s"},
		{"hours, minutes and seconds", 3*h + 20*m + 10*s, "3h 20m", "3h 20m", "3h20m", "3h20m10s", "12010.0 s"},
		{"two days and more", 50 * h, "2d 2h", "2d", "50h", "50h0m0s", "180000.0 s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []struct {
				name      string
				got, want string
			}{
				{"Elapsed", diagnosis.Elapsed(tc.d), tc.elapsed},
				{"Roughly", diagnosis.Roughly(tc.d), tc.roughly},
				{"Compact", diagnosis.Compact(tc.d), tc.compact},
				{"Precise", diagnosis.Precise(tc.d), tc.precise},
				{"Latency", diagnosis.Latency(tc.d), tc.called},
			} {
				if f.got != f.want {
					t.Errorf("%s(%v) = %q, want %q", f.name, tc.d, f.got, f.want)
				}
			}
		})
	}
	if got := diagnosis.Elapsed(-time.Minute); got != "0s" {
		t.Errorf("Elapsed of a negative duration = %q, want 0s", got)
	}
}
