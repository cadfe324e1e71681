package bot

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// recordingObserver keeps what the bot reported, one line per call.
type recordingObserver struct {
	mu    sync.Mutex
	calls []string
}

func (o *recordingObserver) add(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, fmt.Sprintf(format, args...))
}

func (o *recordingObserver) AlertReceived(source string, accepted bool) {
	o.add("AlertReceived %s %t", source, accepted)
}
func (o *recordingObserver) IncidentOpened()   { o.add("IncidentOpened") }
func (o *recordingObserver) IncidentResolved() { o.add("IncidentResolved") }
func (o *recordingObserver) CardPosted(since time.Duration, err error) {
	o.add("CardPosted %s ok=%t", since, err == nil)
}
func (o *recordingObserver) PageSent(notified int)     { o.add("PageSent %d", notified) }
func (o *recordingObserver) Diagnosed(d time.Duration) { o.add("Diagnosed") }

// count is how many calls are exactly line.
func (o *recordingObserver) count(line string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, c := range o.calls {
		if c == line {
			n++
		}
	}
	return n
}

func (o *recordingObserver) lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.calls)
}

func TestTheBotReportsAlertsIncidentsCardsAndPagesToItsObserver(t *testing.T) {
	cases := []struct {
		name string
		run  func(bt *botUnderTest)
		want map[string]int // line → times
	}{
		{"an incident of two alerts: two alerts accepted, one incident, one card after GROUP_WAIT, one page",
			func(bt *botUnderTest) {
				bt.relay(alertOn("ServiceErrorRateHigh", "order-service"), alertOn("ServiceLatencyHigh", "order-service"))
				wait(tGroupWait)
			},
			map[string]int{"AlertReceived " + tRelay + " true": 2, "IncidentOpened": 1,
				"CardPosted " + tGroupWait.String() + " ok=true": 1, "PageSent 1": 1, "IncidentResolved": 0}},
		{"the last resolution resolves the incident, which is not opened again",
			func(bt *botUnderTest) {
				a := alertOn("ServiceErrorRateHigh", "order-service")
				bt.relay(a)
				wait(tGroupWait)
				bt.relay(resolvedAlert(a))
				wait(tGroupWait)
			},
			map[string]int{"AlertReceived " + tRelay + " true": 2, "IncidentOpened": 1, "PageSent 1": 1, "IncidentResolved": 1}},
		{"a card Slack refuses is counted as not posted, then posted once; the incident is opened once and pages once",
			func(bt *botUnderTest) {
				bt.slack.failNext(fault{method: "chat.postMessage", n: 1, err: slackDown, match: isCard})
				bt.relay(alertOn("ServiceErrorRateHigh", "order-service"))
				wait(tGroupWait)
				wait(time.Minute)
			},
			map[string]int{"IncidentOpened": 1, "CardPosted " + tGroupWait.String() + " ok=false": 1, "PageSent 1": 1}},
		{"a message from a bot not in ALERT_SOURCES is refused and opens nothing",
			func(bt *botUnderTest) {
				me := &slackevents.MessageEvent{Type: "message", Channel: tAlerts, TimeStamp: "1600000000.000009", BotID: "B0STRANGER",
					Message: &slack.Msg{BotID: "B0STRANGER", Text: `[{"labels":{"alertname":"X"}}]`, Timestamp: "1600000000.000009"}}
				bt.slack.deliver(socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: slackevents.EventsAPIEvent{
					Type: slackevents.CallbackEvent, InnerEvent: slackevents.EventsAPIInnerEvent{Type: string(slackevents.Message), Data: me}}})
				synctest.Wait()
				wait(tGroupWait)
			},
			map[string]int{"AlertReceived B0STRANGER false": 1, "IncidentOpened": 0, "PageSent 1": 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &recordingObserver{}
				bt := mustRunBot(t, botOptions{observer: obs})
				tc.run(bt)
				for line, want := range tc.want {
					if got := obs.count(line); got != want {
						t.Errorf("%q reported %d times, want %d; reported: %q", line, got, want, obs.lines())
					}
				}
				if tc.want["IncidentOpened"] > 0 && obs.count("Diagnosed") == 0 {
					t.Errorf("no diagnosis observed; reported: %q", obs.lines())
				}
			})
		})
	}
}
