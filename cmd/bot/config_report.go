package main

import (
	"time"
)

// reportSettings are the rows of the configuration table for the on-call
// report: where the weekly one goes, and the time zone of nights and weeks.
func (c *Config) reportSettings() []setting {
	return []setting{
		{env: "REPORT_CHANNEL", unset: "no weekly report", help: "channel ID (C…) the on-call report of the week before is posted to, each Monday at 09:00 in TZ",
			read: func(v string, p problems) { c.ReportChannel = v; checkChannel(p, v) }},
		{env: "TZ", unset: "UTC", help: "time zone of night pages (22:00–07:00), days and weeks in /diag report, timelines and the weekly report, and of \"until Monday 09:00\" silences, such as Europe/Berlin",
			read: func(v string, p problems) {
				c.Loc = time.UTC
				if v == "" {
					return
				}
				loc, err := time.LoadLocation(v)
				if err != nil {
					p.add("%q is not a time zone such as Europe/Berlin or UTC", v)
					return
				}
				c.Loc = loc
			}},
	}
}
