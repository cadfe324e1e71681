package diagnosis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
	"github.com/nightowl-sre/nightowl/diagnosis/graph"
)

// Third parties and the software behind a message: who an error that
// quotes a public host, or that speaks one store's language, is about.

// TestEngineNamesAThirdPartyTheGraphLacks: the errors of search and
// billing (which call no provider the graph knows) quote a public API's
// host; the graph file lacks that provider, and it is what failed.
func TestEngineNamesAThirdPartyTheGraphLacks(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	d := diagnoseText(t, hostsGraph(t), at, map[string]string{
		"search":  `POST https://api.sendgrid.com/v3/mail/send: 503 Service Unavailable`,
		"billing": `Get "https://api.sendgrid.com/v3/templates": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
	})
	top, ok := d.Top()
	if !ok || top.Service != "sendgrid" || top.InGraph {
		t.Fatalf("top candidate %+v, want sendgrid, which the graph lacks; candidates %+v", top, d.Candidates)
	}
	ev := strings.Join(top.Evidence, "\n")
	if !strings.Contains(ev, "api.sendgrid.com") || !strings.Contains(ev, "the graph file does not list it") {
		t.Errorf("evidence %q: want the error that quotes the host, and that the graph file lacks it", top.Evidence)
	}
}

// TestEngineReadsAThirdPartyHostInAnotherSpelling: cart calls stripe, and
// its errors quote Stripe's host under a name the graph does not list as
// an alias; that is still stripe, not a provider of its own.
func TestEngineReadsAThirdPartyHostInAnotherSpelling(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	d := diagnoseText(t, hostsGraph(t), at, map[string]string{
		"cart": `POST https://files.stripe.network/upload: 502 Bad Gateway`,
		"web":  "upstream cart failed",
	})
	for _, c := range d.Candidates {
		if c.Service == "stripe.network" || !c.InGraph && strings.Contains(c.Service, "stripe") {
			t.Fatalf("a second stripe the graph does not know: %+v", d.Candidates)
		}
	}
}

// TestEngineBlamesTheStoreWhoseSoftwareSpeaks: a database client's error
// of one database's software is about the store that runs it, not the
// other databases the service uses; and Vault's own words are about the
// vault, whatever kind the graph file gives it.
func TestEngineBlamesTheStoreWhoseSoftwareSpeaks(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "profile", DependsOn: []string{"accounts-pg", "sessions-mongo", "secrets-vault", "auth-service"}},
		{Name: "feed", DependsOn: []string{"accounts-pg", "sessions-mongo", "secrets-vault", "auth-service"}},
		{Name: "web", DependsOn: []string{"profile", "feed"}},
		{Name: "accounts-pg", Kind: "database"},
		{Name: "sessions-mongo", Kind: "database"},
		{Name: "secrets-vault", Kind: "service"},
		{Name: "auth-service", Kind: "service", DependsOn: []string{"auth-db"}},
		{Name: "auth-db", Kind: "database"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	for want, text := range map[string]string{
		"sessions-mongo": "server selection error: server selection timeout, current topology: { Type: ReplicaSetNoPrimary }",
		"secrets-vault":  "error fetching secret: Code: 503. Errors: * Vault is sealed",
	} {
		var alerts []diagnosis.Alert
		for i, svc := range []string{"profile", "feed"} {
			a := mkAlert("HighErrorRate", svc, at.Add(time.Duration(i)*20*time.Second))
			a.Annotations = map[string]string{"summary": svc + " error rate 60%", "description": text}
			alerts = append(alerts, a)
		}
		d := diagnoseAt(t, g, at.Add(5*time.Minute), alerts...)
		if top, ok := d.Top(); !ok || top.Service != want || len(d.Candidates) > 1 && d.Candidates[1].Confidence >= top.Confidence/2 {
			t.Errorf("%q: top %+v, want %s; candidates %+v", text, top, want, d.Candidates)
		}
	}
}

// TestAnErrorOfOneSoftwareIsNotAboutTheStoreThatSharesItsName: a JWKS
// error is about the identity provider (auth-service), not the database
// below it whose name shares a word with it (auth-db is a database).
func TestAnErrorOfOneSoftwareIsNotAboutTheStoreThatSharesItsName(t *testing.T) {
	g, err := graph.New([]graph.Node{
		{Name: "profile", DependsOn: []string{"auth-service", "profile-db"}},
		{Name: "feed", DependsOn: []string{"auth-service"}},
		{Name: "auth-service", Kind: "service", DependsOn: []string{"auth-db"}},
		{Name: "auth-db", Kind: "database"},
		{Name: "profile-db", Kind: "database"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	var alerts []diagnosis.Alert
	for i, svc := range []string{"profile", "feed"} {
		a := mkAlert("JWTValidationFailures", svc, at.Add(time.Duration(i)*20*time.Second))
		a.Annotations = map[string]string{"summary": "JWT validation failures: kid not found in JWKS"}
		alerts = append(alerts, a)
	}
	login := mkAlert("LoginFailuresHigh", "auth-service", at.Add(time.Minute))
	login.Annotations = map[string]string{"summary": "login failure ratio 41%"}
	alerts = append(alerts, login)
	d := diagnoseAt(t, g, at.Add(5*time.Minute), alerts...)
	top, ok := d.Top()
	if !ok || top.Service != "auth-service" {
		t.Fatalf("top %+v, want auth-service; candidates %+v", top, d.Candidates)
	}
	for _, c := range d.Candidates {
		if c.Service == "auth-db" && strings.Contains(strings.Join(c.Evidence, " "), "identity provider") {
			t.Errorf("auth-db, a database, is read as the identity provider: %q", c.Evidence)
		}
	}
}

// TestEngineKnowsAProviderByItsStatusPageAndItsHost: the graph file lacks
// Google Maps; its status page names it google-maps and the callers'
// errors quote maps.googleapis.com. That is one provider, not two.
func TestEngineKnowsAProviderByItsStatusPageAndItsHost(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	status := diagnosis.Alert{Status: diagnosis.Firing, StartsAt: at,
		Labels:      map[string]string{"alertname": "StatuspageComponentDegraded", "job": "statuspage-exporter", "statuspage": "google-maps", "component": "Geocoding API", "severity": "warning"},
		Annotations: map[string]string{"summary": "Google Maps status page: Geocoding API major_outage"}}
	status.Fingerprint = diagnosis.Fingerprint(status.Labels)
	alerts := []diagnosis.Alert{status}
	for i, svc := range []string{"search", "billing"} {
		a := mkAlert("HighErrorRate", svc, at.Add(time.Duration(i+1)*20*time.Second))
		a.Annotations = map[string]string{"description": `POST https://maps.googleapis.com/maps/api/geocode/json: 503 Service Unavailable`}
		alerts = append(alerts, a)
	}
	d := diagnoseAt(t, hostsGraph(t), at.Add(5*time.Minute), alerts...)
	top, _ := d.Top()
	if top.Service != "google-maps" {
		t.Errorf("top %+v, want google-maps; candidates %+v", top, d.Candidates)
	}
	for _, c := range d.Candidates {
		if c.Service == "maps" {
			t.Errorf("a second provider, maps, beside google-maps: %+v", d.Candidates)
		}
	}
}
