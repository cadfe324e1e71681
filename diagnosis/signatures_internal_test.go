package diagnosis

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Each message is what the named software prints; the test fails when a
// signature stops knowing it or starts claiming a message of another kind.
func TestSignaturesKnowWhatWidelyUsedSoftwarePrints(t *testing.T) {
	cases := []struct {
		text, want, who string
	}{
		{`curl: (6) Could not resolve host: api.payments.example`, "DNS resolution", ""},
		{`getaddrinfo: Name does not resolve`, "DNS resolution", ""},
		{`socket.gaierror: [Errno -5] No address associated with hostname`, "DNS resolution", ""},
		{`urllib3.exceptions.NameResolutionError: Failed to resolve 'api.example.com'`, "DNS resolution", ""},
		{`billing.internal could not be resolved (2: Server failure)`, "DNS resolution", ""},
		{`Error: queryA ETIMEOUT db.example.com`, "DNS resolution", ""},
		{`unable to find valid certification path to requested target`, "TLS certificates", ""},
		{`SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca`, "TLS certificates", ""},
		{`Error: unable to verify the first certificate`, "TLS certificates", ""},
		{`remote error: tls: expired certificate`, "TLS certificates", ""},
		{`MountVolume.SetUp failed for volume "shared" : mount failed: exit status 32`, "storage", ""},
		{`mount.nfs: Connection timed out mounting fs-0abc.efs.eu-west-1.amazonaws.com:/ on /mnt`, "storage", "fs-0abc.efs.eu-west-1.amazonaws.com"},
		{`write /data/seg-42: remote I/O error`, "storage", ""},
		{`ProxyError('Cannot connect to proxy.', OSError('Tunnel connection failed: 503 Service Unavailable'))`, "an egress proxy", ""},
		{`curl: (5) Could not resolve proxy: egress.corp.example`, "an egress proxy", "egress.corp.example"},
		{`tunneling socket could not be established, cause=connect ECONNREFUSED 10.0.0.9:3128`, "an egress proxy", ""},
		{`SignatureDoesNotMatch: Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z`, "clock skew", ""},
		{`NotBeforeError: jwt not active`, "clock skew", ""},
		{`oidc: current time 2026-01-01 00:00:00 before the nbf (not before) time`, "clock skew", ""},
		{`ntpdate: no server suitable for synchronization found`, "clock skew", ""},
		{`Kubelet stopped posting node status.`, "a Kubernetes node", ""},
		{`0/12 nodes are available: node.kubernetes.io/unreachable`, "a Kubernetes node", ""},
		{`PLEG is not healthy: pleg was last seen active 3m0s ago`, "a Kubernetes node", ""},
		{`503 Service Unavailable: Back-end server is at capacity`, "a load balancer", ""},
		{`statusDetails=failed_to_pick_backend`, "the servers behind a balancer", ""},
		{`curl: (28) Resolving timed out after 5000 milliseconds`, "DNS resolution", ""},
		{`server selection error: server selection timeout, current topology: { Type: ReplicaSetNoPrimary }`, "MongoDB", ""},
		{`MongoServerSelectionError: connection <monitor> to 10.0.3.4:27017 closed`, "MongoDB", ""},
		{`com.datastax.oss.driver.api.core.AllNodesFailedException: All host(s) tried for query failed`, "Cassandra", ""},
		{`gocql: no hosts available in the pool`, "Cassandra", ""},
		{`memcache: connect timeout to 10.0.2.9:11211`, "Memcached", ""},
		{`KeeperErrorCode = ConnectionLoss for /brokers/ids`, "ZooKeeper", ""},
		{`etcdserver: request timed out, possibly due to previous leader failure`, "etcd", ""},
		{`Code: 503. Errors: * Vault is sealed`, "Vault", ""},
		{`org.apache.kafka.common.errors.SerializationException: Error registering Avro schema`, "a schema registry", ""},
		{`operation error S3: PutObject, https response error StatusCode: 503, api error SlowDown: Please reduce your request rate.`, "an object store", ""},
		{`SigningKeyNotFoundError: Unable to find a signing key that matches 'a1b2c3'`, "the identity provider", ""},
		{`failed to verify signature: fetching keys oidc: get keys failed: 503 Service Unavailable`, "the identity provider", ""},
		{`read udp 10.1.4.7:48211->10.96.0.10:53: i/o timeout`, "DNS resolution", ""},
		{`sun.security.validator.ValidatorException: PKIX path validation failed`, "TLS certificates", ""},
		{`curl: (60) SSL certificate problem: unable to get local issuer certificate`, "TLS certificates", ""},
		{`Multi-Attach error for volume "pvc-3f1c" Volume is already exclusively attached to one node`, "storage", ""},
		{`blk_update_request: I/O error, dev nvme1n1, sector 4096`, "storage", ""},
		{`rsync: read errors mapping "/mnt/shared/originals/a.jpg": Connection timed out (110)`, "storage", ""},
		{`Request rejected by proxy: egress to api.example.com denied`, "an egress proxy", ""},
		{`chronyd: System clock wrong by 4.2 seconds`, "clock skew", ""},
		{`systemd-timesyncd: Timed out waiting for reply from 169.254.169.123:123 (169.254.169.123).`, "clock skew", ""},
		{`AADSTS700024: Client assertion is not within its valid time range.`, "clock skew", ""},
		{`Cannot connect to the Docker daemon at unix:///var/run/docker.sock`, "a Kubernetes node", ""},
		{`haproxy[812]: 10.0.0.4:51234 [06/Dec/2026:03:12:00] fe_https be_api/<NOSRV> 0/-1/-1/-1/0 503`, "the servers behind a balancer", ""},
		{`NVRM: Xid (PCI:0000:3b:00): 79, pid=1423, GPU has fallen off the bus.`, "a GPU node", ""},
		{`RuntimeError: CUDA error: uncorrectable ECC error encountered`, "a GPU node", ""},
		{`Failed to initialize NVML: Driver/library version mismatch`, "a GPU node", ""},
		{`paho: Connection Refused: Server Unavailable`, "an MQTT broker", ""},
		{`MqttException: Unable to connect to server (32103)`, "an MQTT broker", ""},
		{`panic: runtime error: index out of range [3] with length 3`, "a defect in its own code", ""},
		{`Traceback (most recent call last): File "app.py", line 12`, "a defect in its own code", ""},
		{`TypeError: Cannot read properties of undefined (reading 'id')`, "a defect in its own code", ""},
		{`System.NullReferenceException: Object reference not set to an instance of an object.`, "a defect in its own code", ""},
		{`thread 'main' panicked at src/main.rs:4:5`, "a defect in its own code", ""},
		{`NoMethodError: undefined method 'name' for nil`, "a defect in its own code", ""},
		{`503 Service Unavailable No server is available to handle this request.`, "the servers behind a balancer", ""},
		{`connect() failed: no live upstreams while connecting to upstream, client: 10.0.1.9, upstream: "http://billing"`, "the servers behind a balancer", ""},
		{`operation error SQS: ReceiveMessage, https response error StatusCode: 403, api error AccessDenied: User: arn:aws:sts::123456789012:assumed-role/worker/i-0ab is not authorized to perform: sqs:ReceiveMessage`, "its own permissions", ""},
		{`WebIdentityErr: failed to retrieve credentials caused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity`, "its own permissions", ""},
		{`googleapi: Error 403: worker@proj.iam.gserviceaccount.com does not have storage.objects.get access to the Google Cloud Storage object., forbidden`, "its own permissions", ""},
		{`rpc error: code = PermissionDenied desc = Permission 'pubsub.subscriptions.consume' denied on resource`, "its own permissions", ""},
		{`(AuthorizationFailed) The client 'abc' with object id 'abc' does not have authorization to perform action 'Microsoft.Storage/storageAccounts/read'`, "its own permissions", ""},
		{`pods is forbidden: User "system:serviceaccount:jobs:runner" cannot list resource "pods" in API group "" in the namespace "jobs"`, "its own permissions", ""},
		{`Post "https://api.stripe.com/v1/charges": dial tcp 52.6.4.1:443: i/o timeout`, "the network path out", ""},
		{`dial tcp 151.101.1.69:443: connect: connection timed out`, "the network path out", ""},
	}
	for _, c := range cases {
		got := readMessage(c.text, true)
		var found *sigMatch
		for i := range got.sigs {
			if got.sigs[i].sig.what == c.want {
				found = &got.sigs[i]
			}
		}
		if found == nil {
			t.Errorf("%q: no %s signature (matched %d others)", c.text, c.want, len(got.sigs))
			continue
		}
		if c.who != "" && found.who != c.who {
			t.Errorf("%q: names %q as the failing thing, want %q", c.text, found.who, c.who)
		}
	}

	// A database server's disk-full error, relayed by its client, is the
	// database's storage, not the client's own.
	for _, text := range []string{
		`pq: ERROR: could not extend file "base/16384/2619": No space left on device`,
		`Error 1114: The table 'orders' is full`,
	} {
		var whats []string
		for _, m := range readMessage(text, true).sigs {
			whats = append(whats, m.sig.what)
		}
		if !slices.Contains(whats, "a database") || slices.Contains(whats, "storage") {
			t.Errorf("%q: signatures %v, want a database's and not storage", text, whats)
		}
	}

	// A mesh sidecar with no healthy endpoint is the service's own
	// trouble, not a load balancer's; a version is not a host.
	for _, text := range []string{
		`no healthy upstream`,
		`upstream connect error or disconnect/reset before headers. reset reason: overflow`,
		`upgraded to 1.9.2 at 10:02`,
		`java.lang.OutOfMemoryError: Java heap space`,
		`TypeError: fetch failed (cause: connect ECONNREFUSED 10.0.4.2:8080)`,
		`torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB`,
		`json: cannot unmarshal string into Go struct field .price of type float64`,
		`io.netty.handler.timeout.ReadTimeoutException: null`,
		`Error 1045 (28000): Access denied for user 'app'@'10.0.1.4' (using password: YES)`,
		`dial tcp 10.0.3.12:5432: i/o timeout`,
		`dial tcp 172.20.4.1:6379: connect: connection timed out`,
		`dial tcp 192.168.1.20:443: i/o timeout`,
		`read tcp 10.1.2.3:5555->52.6.4.1:443: i/o timeout`,
	} {
		for _, m := range readMessage(text, true).sigs {
			t.Errorf("%q: matched %s (%q); want no signature", text, m.sig.what, m.text)
		}
	}
}

// TestHostsAreLowerCaseDottedNames: code identifiers are dotted too; a
// host name is written in lower case.
func TestHostsAreLowerCaseDottedNames(t *testing.T) {
	text := `Get "http://10.1.2.3:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers); java.lang.NullPointerException at api.payments.example.com`
	got := hostsIn(text)
	if !slices.Equal(got, []string{"api.payments.example.com"}) {
		t.Errorf("hosts in %q: %v, want only api.payments.example.com", text, got)
	}
}

func TestProviderNameIsTheThirdPartysName(t *testing.T) {
	for host, want := range map[string]string{
		"api.stripe.com":                             "stripe",
		"api.stripe.com:443":                         "stripe",
		"fcm.googleapis.com":                         "fcm",
		"api.eu.mailgun.net":                         "mailgun",
		"hooks.slack.com.":                           "slack",
		"shop.example.co.uk":                         "example",
		"internal-alb-1.eu-west-1.elb.amazonaws.com": "",
		"billing.payments.svc.cluster.local":         "",
		"ip-10-0-1-23.eu-west-1.compute.internal":    "",
		"db.corp":   "",
		"10.0.0.12": "",
		"localhost": "",
		"www.io":    "",
	} {
		got, ok := providerName(host)
		if got != want || ok != (want != "") {
			t.Errorf("providerName(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
}

// quoting cuts a message before the host it names, on a word and never
// inside a character, whatever the text around it.
func TestQuotingCutsBeforeTheHost(t *testing.T) {
	long := strings.Repeat("İstanbul ödeme hatası ", 4) + `POST https://api.sendgrid.com/v3/mail/send: 503`
	got := quoting(long, "api.sendgrid.com")
	if !utf8.ValidString(got) || !strings.HasPrefix(got, "…") || !strings.Contains(got, "https://api.sendgrid.com/v3/mail/send: 503") {
		t.Errorf("quoting = %q", got)
	}
	// Lower-casing Ⱥ takes more bytes: a position found in the lower-cased
	// text is past the end of the text itself.
	if got := quoting(strings.Repeat("Ⱥ", 50)+" api.sendgrid.com: 503", "api.sendgrid.com"); !strings.HasSuffix(got, " api.sendgrid.com: 503") && got != "…api.sendgrid.com: 503" {
		t.Errorf("quoting = %q, want the text up to and with the host", got)
	}
}

func TestSpelledAlikeNeedsEnoughOfAName(t *testing.T) {
	for _, c := range []struct {
		name, node string
		want       bool
	}{
		{"maps", "google-maps", true},
		{"postmarkapp", "postmark", true},
		{"hereapi", "here-api", true},
		{"fcm", "fcm", true},
		{"pay", "paypal", false},
		{"sms", "sms-gateway-eu", false},
	} {
		if got := spelledAlike(c.name, c.node); got != c.want {
			t.Errorf("spelledAlike(%q, %q) = %v, want %v", c.name, c.node, got, c.want)
		}
	}
}
