package synth

// Word lists the estates are named from. Both halves share them: only alert
// and error-text vocabulary is split (see vocab.go).

// theme is a business domain: the namespace its services live in, the teams
// that own them and the nouns they are named after.
type theme struct {
	ns    string
	teams []string
	nouns []string
}

var themes = []theme{
	{"shop", []string{"storefront", "checkout", "catalog"}, []string{"cart", "checkout", "order", "catalog", "pricing", "promotion", "coupon", "inventory", "wishlist", "review", "recommendation", "basket", "product", "stock", "gift-card"}},
	{"payments", []string{"payments", "billing", "risk"}, []string{"payment", "ledger", "invoice", "refund", "billing", "fraud", "wallet", "payout", "settlement", "tax", "subscription", "fx", "chargeback", "card-vault", "dunning"}},
	{"identity", []string{"identity", "access"}, []string{"user", "account", "profile", "session", "login", "consent", "kyc", "permission", "token", "mfa", "sso", "directory", "password-reset", "device-trust", "org"}},
	{"logistics", []string{"fulfilment", "dispatch", "tracking"}, []string{"shipment", "dispatch", "route", "tracking", "warehouse", "fulfilment", "carrier", "label", "eta", "address", "pickup", "returns", "manifest", "slotting", "courier"}},
	{"content", []string{"media", "editorial"}, []string{"media", "asset", "thumbnail", "transcode", "upload", "cms", "article", "comment", "feed", "playlist", "caption", "image-resize", "preview", "moderation", "tagging"}},
	{"comms", []string{"messaging", "growth"}, []string{"notification", "email", "sms", "push", "template", "webhook", "campaign", "newsletter", "preference", "digest", "inbox", "delivery-report", "unsubscribe", "broadcast", "reminder"}},
	{"data", []string{"data-platform", "analytics"}, []string{"event", "ingest", "etl", "report", "analytics", "export", "metrics", "audit", "clickstream", "attribution", "forecast", "segment", "dashboard", "lineage", "quality"}},
	{"platform", []string{"platform", "developer-experience"}, []string{"config", "feature-flag", "scheduler", "job", "secrets", "rate-limit", "geo", "i18n", "search", "pdf", "file", "id-generator", "currency", "timezone", "captcha"}},
	{"support", []string{"customer-care"}, []string{"ticket", "chat", "helpdesk", "faq", "feedback", "survey", "macro", "escalation", "knowledge", "callback", "sla", "csat", "agent", "routing", "transcript"}},
	{"booking", []string{"travel", "inventory"}, []string{"booking", "availability", "fare", "itinerary", "seat", "hotel", "flight", "reservation", "ancillary", "loyalty", "voucher", "quote", "rate-plan", "allotment", "check-in"}},
}

// Service name suffixes; "" is the bare noun.
var appSuffixes = []string{"service", "api", "worker", "svc", "engine", "consumer", "sync", "scheduler", "web", "bff", "processor", "manager", "indexer", ""}

// Organisations the estates belong to.
var orgs = []string{"acme", "globex", "initech", "umbrella", "voltline", "hooli", "vandelay", "wonka", "tyrell", "cyberdyne", "soylent", "stark", "wayne", "oscorp", "aperture", "blackmesa", "massive", "dunder", "pied-piper", "nakatomi"}

var (
	ingressNames = []string{"ingress-nginx", "alb-public", "traefik", "contour-envoy", "istio-ingressgateway", "edge-proxy"}
	gatewayNames = []string{"api-gateway", "kong", "graphql-gateway", "apollo-router", "public-api-gateway", "mobile-bff-gateway"}
	authNames    = []string{"auth-service", "identity-service", "authz", "oauth-server", "keycloak", "session-service"}
	sharedDBs    = []string{"core-db", "platform-postgres", "main-db", "shared-postgres", "monolith-db"}
)

// Datastore technologies and the patterns their instances are named by
// ({noun}, {ns}).
type storeTech struct {
	tech, kind string
	port       int
	names      []string
}

var storeTechs = map[string]storeTech{
	"postgres":      {"postgres", "database", 5432, []string{"{noun}-db", "{noun}-postgres", "pg-{noun}", "{noun}-pg"}},
	"mysql":         {"mysql", "database", 3306, []string{"{noun}-mysql", "mysql-{noun}", "{noun}-mariadb"}},
	"redis":         {"redis", "cache", 6379, []string{"{noun}-redis", "redis-{noun}", "{noun}-cache"}},
	"kafka":         {"kafka", "queue", 9092, []string{"kafka-{ns}", "msk-{ns}", "{ns}-events-kafka"}},
	"rabbitmq":      {"rabbitmq", "queue", 5672, []string{"rabbitmq-{ns}", "{ns}-amqp", "{ns}-rabbit"}},
	"elasticsearch": {"elasticsearch", "database", 9200, []string{"{noun}-es", "opensearch-{ns}", "{ns}-search-cluster"}},
}

// provider is a third-party API the estate calls.
type provider struct {
	name, label, host, category string
}

var providers = []provider{
	{"stripe", "stripe", "api.stripe.com", "payment"},
	{"adyen", "adyen", "pal-live.adyen.com", "payment"},
	{"braintree", "braintree", "api.braintreegateway.com", "payment"},
	{"checkout-com", "checkout.com", "api.checkout.com", "payment"},
	{"paypal", "paypal", "api-m.paypal.com", "payment"},
	{"twilio", "twilio", "api.twilio.com", "sms"},
	{"vonage", "vonage", "rest.nexmo.com", "sms"},
	{"messagebird", "messagebird", "rest.messagebird.com", "sms"},
	{"sinch", "sinch", "sms.api.sinch.com", "sms"},
	{"here-api", "here", "geocode.search.hereapi.com", "geocoding"},
	{"google-maps", "google-maps", "maps.googleapis.com", "geocoding"},
	{"mapbox", "mapbox", "api.mapbox.com", "geocoding"},
	{"opencage", "opencage", "api.opencagedata.com", "geocoding"},
	{"auth0", "auth0", "login.eu.auth0.com", "identity"},
	{"okta", "okta", "id.okta.com", "identity"},
	{"onfido", "onfido", "api.eu.onfido.com", "identity"},
	{"workos", "workos", "api.workos.com", "identity"},
	{"sendgrid", "sendgrid", "api.sendgrid.com", "email"},
	{"postmark", "postmark", "api.postmarkapp.com", "email"},
	{"mailgun", "mailgun", "api.eu.mailgun.net", "email"},
	{"fcm", "fcm", "fcm.googleapis.com", "push"},
	{"apns", "apns", "api.push.apple.com", "push"},
}

// Which themes call which kind of provider first.
var providerThemes = map[string][]string{
	"payment":   {"payments", "shop", "booking"},
	"sms":       {"comms", "identity", "logistics"},
	"geocoding": {"logistics", "booking", "platform"},
	"identity":  {"identity", "payments"},
	"email":     {"comms", "support"},
	"push":      {"comms", "content"},
}

// infra is a piece of shared infrastructure: a name, a host or address it is
// reached at, and aliases a graph file might list.
type infra struct {
	name, host string
	aliases    []string
}

var (
	coreDNSes = []infra{
		{"coredns", "10.96.0.10", []string{"kube-dns", "10.96.0.10"}},
		{"coredns", "172.20.0.10", []string{"kube-dns", "172.20.0.10"}},
		{"cluster-dns", "10.100.0.10", []string{"kube-dns", "coredns", "10.100.0.10"}},
	}
	upstreamDNSes = []infra{
		{"vpc-resolver", "10.0.0.2", []string{"AmazonProvidedDNS", "10.0.0.2"}},
		{"route53-resolver", "10.0.0.2", []string{"route53-inbound", "10.0.0.2"}},
		{"unbound-upstream", "10.10.0.53", []string{"unbound", "10.10.0.53"}},
		{"corp-dns", "10.20.0.53", []string{"ad-dns", "10.20.0.53"}},
	}
	proxies = []infra{
		{"squid-egress", "squid-egress.egress.svc.cluster.local:3128", []string{"squid", "squid-egress.egress.svc.cluster.local"}},
		{"egress-gateway", "istio-egressgateway.istio-system.svc.cluster.local:443", []string{"istio-egressgateway"}},
		{"envoy-egress", "envoy-egress.network.svc.cluster.local:10000", []string{"egress-envoy", "envoy-egress.network.svc.cluster.local"}},
		{"smokescreen", "smokescreen.infra.svc.cluster.local:4750", []string{"smokescreen-proxy", "smokescreen.infra.svc.cluster.local"}},
	}
	loadBalancers = []infra{
		{"nlb-internal", "internal-k8s-nlb-7f3c2a9e1b.elb.eu-west-1.amazonaws.com", []string{"internal-k8s-nlb-7f3c2a9e1b", "net/internal-k8s-nlb/7f3c2a9e1b5d4c60"}},
		{"alb-internal", "internal-alb-services-1234567890.eu-west-1.elb.amazonaws.com", []string{"internal-alb-services", "app/internal-alb-services/4c1d8e7f9a2b3c50"}},
		{"haproxy-lb", "haproxy.lb.internal", []string{"haproxy", "10.0.8.10"}},
		{"internal-lb", "ilb.services.internal", []string{"gclb-internal", "10.128.15.200"}},
	}
	storages = []infra{
		{"efs-shared", "fs-0a1b2c3d4e5f60718.efs.eu-west-1.amazonaws.com", []string{"fs-0a1b2c3d4e5f60718", "efs-shared-pv"}},
		{"nfs-media", "nfs01.storage.internal", []string{"nfs01", "nfs01.storage.internal"}},
		{"filestore-shared", "10.44.0.2", []string{"filestore", "10.44.0.2"}},
		{"efs-uploads", "fs-07c9e1a2b3d4f5061.efs.us-east-1.amazonaws.com", []string{"fs-07c9e1a2b3d4f5061"}},
	}
	ntps = []infra{
		{"amazon-time-sync", "169.254.169.123", []string{"169.254.169.123", "chrony"}},
		{"ntp-internal", "ntp.internal", []string{"ntp.internal", "ntp"}},
		{"ntp-pool", "pool.ntp.org", []string{"pool.ntp.org"}},
		{"google-ntp", "metadata.google.internal", []string{"time.google.com", "metadata.google.internal"}},
	}
	cas = []infra{
		{"cert-manager", "cert-manager.cert-manager.svc", []string{"cert-manager-webhook", "internal-ca-issuer"}},
		{"vault-pki", "vault.vault.svc:8200", []string{"vault", "pki_int"}},
		{"step-ca", "step-ca.pki.svc.cluster.local", []string{"smallstep", "step-ca.pki.svc.cluster.local"}},
		{"istiod-ca", "istiod.istio-system.svc:15012", []string{"istiod", "istio-ca"}},
	}
)

// Clouds the estates run in: their regions and how their nodes are named.
var (
	awsRegions = []string{"eu-west-1", "us-east-1", "eu-central-1", "us-west-2", "ap-southeast-2"}
	clusters   = []string{"prod-eu-1", "prod-us-1", "production", "prd-main", "live-eu", "k8s-prod"}
)

// Alphabets of generated Kubernetes names (ReplicaSet hashes, pod suffixes).
const (
	rsAlphabet  = "bcdfghjklmnpqrstvwxz2456789"
	hexAlphabet = "0123456789abcdef"
)
