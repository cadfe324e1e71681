package diagnosis

import (
	"fmt"
	"strings"
	"time"
)

// How nightowl writes a duration for people. Every duration a person reads
// — on a card, in evidence, in a /diag reply, in a runbook's messages — is
// written by one of these five; they live here because diagnosis is the
// lowest package that everything which writes for people imports (bot,
// commands, runbooks, the adapters of diagnosis). Three count in seconds
// and up, and differ on purpose:
//
//	           45s    8m35s    1h       3h20m10s   50h
//	Elapsed    45s    8m 35s   1h 0m    3h 20m     2d 2h    how long an incident lasted (cards)
//	Roughly    45s    8m       1h 0m    3h 20m     2d       lists and ranges (/diag, /graph, the model's tools)
//	Compact    45s    8m35s    1h       3h20m      50h      evidence lines, estimates, the approval window
//
// Two count in tenths of a second: Precise ("750ms", "1.1s", "15m0s") for
// how long a runbook run took and how long a runbook, Prometheus or the
// model may take, and Latency ("850 ms", "1.2 s") for model calls on a card.
//
// The record (a run's audit summary, a playbook's stop) and the sentences
// about a setting's value keep Go's own syntax: they are read by people and
// scripts alike, and echo what was configured.

// Elapsed writes how long something has lasted, to the second, the way
// people say it on a card: "4s", "12m 5s", "3h 20m", "2d 3h". A negative
// duration is "0s".
func Elapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// Roughly is Elapsed at a glance, for lists and ranges where seconds are
// noise: "45s", "8m", "3h 20m", "2d". Minutes drop their seconds and days
// their hours.
func Roughly(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours())/24)
}

// Compact writes d in Go's duration syntax without its zero units, for
// evidence lines and settings: "45s", "4m", "4m5s", "1h30m", "2h". It is
// exact to the second below an hour and to the minute above.
func Compact(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour && d%time.Minute == 0:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s") // "1h30m", "2h0m"
	if h, whole := strings.CutSuffix(s, "h0m"); whole {
		return h + "h"
	}
	return s
}

// Precise writes how long a run took or a request may take, to a tenth of
// a second and to the millisecond below one, in Go's syntax: "750ms",
// "1.1s", "1m5.3s", "15m0s".
func Precise(d time.Duration) string {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// Latency writes how long a model call took, in milliseconds below a second and
// tenths of a second above: "850 ms", "1.2 s".
func Latency(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
