// Package oncall owns what the record says about being on call: each
// incident's lifecycle (detected, paged, acknowledged, fixed, resolved, and
// whether the page was worth it), the health report over a period, the alert
// rules that page for nothing and how to quiet them, and an incident's
// timeline as a postmortem draft.
//
// It computes from plain values (Lifecycle, Timeline) that the store reads
// through the Record seam, and knows nothing of Slack or SQLite.
//
// # Definitions
//
// A page is an incident whose card was posted while it was firing (a card
// posted for an incident that had already resolved mentions nobody). An
// incident belongs to the period in which nightowl opened it.
//
//   - MTTD, time to detect: from the incident's first alert (the earliest
//     startsAt) to its card.
//   - MTTA, time to acknowledge: from the card to the first Acknowledge.
//   - MTTR, time to resolve: from the first alert to the resolution of the
//     last alert.
//   - Dedup ratio: alert notifications received per page.
//   - Auto-resolution: a resolved page fixed by an approved runbook, with no
//     escalation and no question asked in its thread.
//   - False positive: a page someone answered "not actionable"; the rate is
//     over the pages that got an answer.
//   - Night page: a page posted between 22:00 and 07:00 in the report's time
//     zone, counted for who acknowledged it, else for who it paged.
//   - Unactioned page: nobody acknowledged it and no runbook was requested
//     by a person or approved, or it was answered "not actionable". A rule
//     with two unactioned pages in one week (Monday to Monday) is noisy.
package oncall
