package diagnosis

import (
	"context"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// FuzzAlertText: whatever an alert's summary and description say, the
// engine reads them without panicking and its evidence stays valid text.
func FuzzAlertText(f *testing.F) {
	for _, s := range []string{
		`dial tcp: lookup orders.shop.svc.cluster.local on 10.96.0.10:53: server misbehaving`,
		`POST https://api.sendgrid.com/v3/mail/send: 503 Service Unavailable`,
		`x509: certificate signed by unknown authority (issuer vault.vault.svc:8200)`,
		`ntpdate: no server suitable for synchronization found (server pool.ntp.org)`,
		`panic: runtime error: index out of range [3] with length 3`,
		`Ⱥ Ⱥ Ⱥ https://maps.googleapis.com/maps/api/geocode/json: 503`,
		"<!channel> \x00\xff lookup \xc3 on :53",
	} {
		f.Add(s, "postgres-rds too many connections")
	}
	g := graph.Example()
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, first, second string) {
		var in Incident
		for i, x := range []struct{ svc, text string }{{"checkout-service", first}, {"payment-service", second}} {
			labels := map[string]string{"alertname": "HighErrorRate", "service": x.svc, "severity": "critical"}
			a := Alert{Status: Firing, Labels: labels, StartsAt: at.Add(time.Duration(i) * time.Minute), Fingerprint: Fingerprint(labels),
				Annotations: map[string]string{"summary": x.text, "description": x.text}}
			in.Alerts = append(in.Alerts, AlertState{Alert: a, Received: 1})
		}
		in.ID, in.Status = "INC-FUZZ", Firing
		d := NewEngine(EngineConfig{Graph: g, Now: func() time.Time { return at.Add(5 * time.Minute) }}).Diagnose(context.Background(), in)
		for _, c := range d.Candidates {
			for _, e := range c.Evidence {
				if utf8.ValidString(first) && utf8.ValidString(second) && !utf8.ValidString(e) {
					t.Fatalf("evidence %q is not valid text", e)
				}
			}
		}
	})
}
