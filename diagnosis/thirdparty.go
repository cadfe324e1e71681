package diagnosis

import (
	"net"
	"strings"
)

// Third parties: the providers outside the organisation (a payment, maps or
// messaging API) that a public host, a status page or a probe names, and
// the graph's node for them in whatever spelling the file gives it.

// probed names the third party a probe of a public URL is about (a
// blackbox probe of https://api.stripe.com/health is about stripe), when
// no rule found its subject and the graph has that provider. A public URL
// the graph has no provider for may well be the organisation's own
// (https://eu.api.example.com/healthz): it names nothing.
func (r *Resolver) probed(a Alert) (node, label, value string, ok bool) {
	for _, l := range []string{"instance", "target", "url"} {
		v := a.Labels[l]
		_, rest, isURL := strings.Cut(v, "://")
		if !isURL {
			continue
		}
		host, _, _ := strings.Cut(rest, "/")
		name, ok := providerName(host)
		if !ok {
			continue
		}
		if n, known, _ := r.thirdParty(name); known {
			return n, l, v, true
		}
	}
	return "", "", "", false
}

// thirdParty finds the graph's node for a provider's name, in another
// spelling if need be (postmarkapp is postmark, maps is google-maps):
// known when exactly one answers, ambiguous when several do.
func (r *Resolver) thirdParty(name string) (node string, known, ambiguous bool) {
	// The node of that very name, when it calls nothing: a provider the
	// file gives no kind. One that calls others is the organisation's own
	// (api.checkout.com is no probe of the checkout service).
	if n, ok := r.lookup(name); ok && (thirdPartyKind(r.g.Kind(n)) || len(r.g.DependsOn(n)) == 0) {
		return n, true, false
	}
	var like []string
	for _, n := range r.g.Names() {
		if thirdPartyKind(r.g.Kind(n)) && spelledAlike(name, n) {
			like = append(like, n)
		}
	}
	switch len(like) {
	case 0:
		return "", false, false
	case 1:
		return like[0], true, false
	}
	return "", false, true
}

// spelledAlike reports whether a provider's name from a host and a node's
// name are one provider's, spelled apart: equal, or one holding the other,
// once dashes, dots and underscores are gone (maps and google-maps,
// postmarkapp and postmark, hereapi and here-api). A part shorter than four
// letters holds too little to say (pay is no spelling of paypal).
func spelledAlike(name, node string) bool {
	want, k := squashName.Replace(strings.ToLower(name)), squashName.Replace(strings.ToLower(node))
	if want == k {
		return want != ""
	}
	return min(len(want), len(k)) >= 4 && (strings.Contains(k, want) || strings.Contains(want, k))
}

var squashName = strings.NewReplacer("-", "", "_", "", ".", "")

// thirdPartyKind: graph kinds of providers outside the organisation.
func thirdPartyKind(kind string) bool {
	switch strings.ToLower(kind) {
	case "external", "provider", "saas", "thirdparty", "third-party":
		return true
	}
	return false
}

// providerName names the third party behind a public host name: its
// registrable domain's name (api.stripe.com is stripe), or, on a cloud's
// shared domain, the service's own first label (fcm.googleapis.com is fcm,
// sqs.eu-west-1.amazonaws.com is sqs). Cluster-local, internal and bare
// names and addresses name no third party.
func providerName(host string) (string, bool) {
	host = strings.ToLower(strings.TrimRight(host, ".:"))
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) != nil {
		return "", false
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 || clusterLocal(strings.Join(labels[1:], ".")) || privateSuffix[labels[len(labels)-1]] {
		return "", false
	}
	for _, l := range labels {
		if l == "" {
			return "", false
		}
	}
	rest := labels[:len(labels)-1] // without the top-level domain
	if n := len(rest); n >= 2 && len(labels[len(labels)-1]) == 2 && secondLevel[rest[n-1]] {
		rest = rest[:n-1] // shop.co.uk: co is no name
	}
	name := rest[len(rest)-1]
	if sharedDomains[name] {
		// fcm.googleapis.com is Google's FCM; a longer name there
		// (internal-alb-1.eu-west-1.elb.amazonaws.com, a bucket, an API
		// gateway) is the organisation's own resource in that cloud.
		if len(rest) != 2 {
			return "", false
		}
		name = rest[0]
	}
	if len(name) < 3 || genericWords[name] {
		return "", false
	}
	return name, true
}

// privateSuffix: top-level names of private networks, never a third party.
var privateSuffix = map[string]bool{"local": true, "internal": true, "lan": true, "corp": true, "home": true, "localdomain": true, "svc": true, "intranet": true, "private": true}

// secondLevel: registries' second levels under country codes (co.uk, com.au).
var secondLevel = map[string]bool{"co": true, "com": true, "net": true, "org": true, "gov": true, "ac": true, "edu": true, "ne": true, "or": true}

// sharedDomains are clouds' domains that host many distinct services,
// each under its own first label.
var sharedDomains = map[string]bool{"googleapis": true, "amazonaws": true, "azure": true, "windows": true,
	"azurewebsites": true, "cloudfront": true, "appspot": true, "herokuapp": true, "firebaseio": true,
	"cloudflare": true, "fastly": true, "akamaized": true, "digitaloceanspaces": true, "oraclecloud": true}
