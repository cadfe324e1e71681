package intake_test

import (
	"testing"

	"github.com/nightowl-sre/nightowl/deploy/alertmanager"
	"github.com/nightowl-sre/nightowl/diagnosis/intake"
)

// BenchmarkParse reads one Slack-stored message that carries 30 alerts of
// the Black Friday storm in nightowl's template.
func BenchmarkParse(b *testing.B) {
	storm := MustLoadStorm(b)[:30]
	msg := MustMessage(b, MustRender(b, storm, []string{"namespace"}, alertmanager.Nightowl), true)
	b.SetBytes(int64(len(msg.Attachments[0].Text)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := intake.Parse(msg, received, intake.Hints{})
		if err != nil || len(res.Alerts) != 30 {
			b.Fatalf("got %d alerts, %v", len(res.Alerts), err)
		}
	}
	b.ReportMetric(float64(30*b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkParseDefault reads one of Alertmanager's default messages.
func BenchmarkParseDefault(b *testing.B) {
	storm := MustLoadStorm(b)[2:3]
	msg := MustMessage(b, MustRender(b, storm, []string{"alertname", "service"}, alertmanager.Default), true)
	hints := MustGraphHints(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := intake.Parse(msg, received, hints); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
