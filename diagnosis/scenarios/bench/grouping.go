package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
)

// StormWindow is how far from an incident's median start an alert counts as
// part of its storm: the Grouper's default MaxGap. Scenarios place noise
// alerts hours before the storm on purpose; those should stay out, so they
// are not held against the Grouper.
const StormWindow = 30 * time.Minute

// Grouping measures the Grouper fairly on a corpus: it counts only the
// storm (the alerts within StormWindow of each expected incident's median
// start) and asks what a person paged would ask: did the storm get one
// card, and did two unrelated incidents share one?
type Grouping struct {
	Incidents   int // expected incidents measured
	StormAlerts int // their alerts within the storm window
	// Strays are storm alerts outside the grouped incident that holds most
	// of their storm; Split counts the expected incidents with any.
	Strays, Split int
	// Merged counts pairs of distinct expected incidents whose storms ended
	// up in the same grouped incident.
	Merged int
	// Outside counts alerts outside the storm window that joined the main
	// grouped incident anyway (informational: the noise kept out is not).
	Outside int
	// Notes name each split and merge, one line each.
	Notes []string
}

// add measures one scenario's grouped incidents.
func (m *Grouping) add(s scenarios.Scenario, live []diagnosis.Incident) {
	home := map[string]int{} // fingerprint → index in live
	for j, in := range live {
		for _, a := range in.Alerts {
			home[a.Fingerprint] = j
		}
	}
	mains := make([]int, len(s.Incidents))
	for i, exp := range s.Incidents {
		name := s.Name
		if exp.Label != "" {
			name += "#" + exp.Label
		}
		median := medianStart(exp.Alerts)
		inStorm := func(a diagnosis.Alert) bool {
			d := a.StartsAt.Sub(median)
			return d >= -StormWindow && d <= StormWindow
		}
		count := map[int]int{}
		storm := 0
		for _, a := range exp.Alerts {
			if inStorm(a) {
				storm++
				count[home[a.Fingerprint]]++
			}
		}
		main, best := -1, 0
		for j := range live { // in order, so ties go to the oldest incident
			if count[j] > best {
				main, best = j, count[j]
			}
		}
		mains[i] = main
		m.Incidents++
		m.StormAlerts += storm
		if strays := storm - best; strays > 0 {
			m.Strays += strays
			m.Split++
			m.Notes = append(m.Notes, fmt.Sprintf("split  %-58s %d of %d storm alerts in %d other incident(s)", name, strays, storm, len(count)-1))
		}
		for _, a := range exp.Alerts {
			if !inStorm(a) && main >= 0 && home[a.Fingerprint] == main {
				m.Outside++
			}
		}
	}
	for i := range s.Incidents {
		for k := i + 1; k < len(s.Incidents); k++ {
			if mains[i] >= 0 && mains[i] == mains[k] {
				m.Merged++
				m.Notes = append(m.Notes, fmt.Sprintf("merged %-58s incidents %q and %q share %s", s.Name, s.Incidents[i].Label, s.Incidents[k].Label, live[mains[i]].ID))
			}
		}
	}
}

func medianStart(alerts []diagnosis.Alert) time.Time {
	if len(alerts) == 0 {
		return time.Time{}
	}
	starts := make([]time.Time, len(alerts))
	for i, a := range alerts {
		starts[i] = a.StartsAt
	}
	slices.SortFunc(starts, time.Time.Compare)
	return starts[len(starts)/2]
}

// Report is one summary line, then a line per split or merge.
func (m Grouping) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "grouping of the storms (alerts within %s of each incident's median start): %d incidents, %d storm alerts; "+
		"%d alerts outside their incident's main card (%d incidents split), %d pairs of incidents merged; "+
		"%d alerts from outside the window joined\n", StormWindow, m.Incidents, m.StormAlerts, m.Strays, m.Split, m.Merged, m.Outside)
	for _, n := range m.Notes {
		b.WriteString("  " + n + "\n")
	}
	return b.String()
}
