package diagnosis

import (
	"regexp"
	"slices"
	"strings"
)

// Error messages say more than labels: "lookup api.stripe.com on
// 10.96.0.10:53: server misbehaving" on three services is DNS, whichever
// service the alert is about. A signature is an error message of widely
// used software that points at a kind of node below the service that
// logged it. Every pattern is the text the named software prints; none
// comes from a scenario.
type signature struct {
	what  string
	kinds []string
	re    *regexp.Regexp
	// shared kinds serve a whole estate (DNS, a CA, a proxy, time): a
	// message points at every node of the kind when the graph does not say
	// which one the service uses, and a failure there shows up in the
	// messages of the services that use it.
	shared bool
	// hints are lower-case words one of which every match contains: a
	// cheap test before the expression runs.
	hints []string
	// who finds, in a matching message, the name of the failing thing
	// (the resolver a lookup went to, the proxy a CONNECT went through).
	who *regexp.Regexp
	// victims: the host names in a matching message are what failed to be
	// reached (a DNS error names the name it could not resolve), never
	// the failing thing itself.
	victims bool
	// unless: a message this also matches is not this signature's,
	// whatever re says.
	unless *regexp.Regexp
	// tech: words one of which the name or kind of a node running the
	// software the message comes from contains (rabbit for RabbitMQ's
	// connection.blocked): among the nodes of the kinds a service uses,
	// those are meant.
	tech []string
	// self: the message is about the code of the service that logged it
	// (a panic, an uncaught exception): that service, unless the message
	// names another node it may have come from.
	self bool
	// path: the message is about the way to a destination it names (a
	// connect timeout to a public address): a node of its kinds on the way
	// out is meant when the estate has one, the destination keeps its
	// mention, and without such a node the message says nothing more.
	path bool
	// byTech: only a node whose name or kind says the technology is meant
	// (Vault's "Vault is sealed" is about the vault, whatever kind the
	// graph file gives it, and about no other secrets store).
	byTech bool
	// behind: the message is a balancer's saying it has no healthy server
	// to send to: what the balancer routes to is meant, the balancer
	// itself only when the graph lists nothing behind it.
	behind bool
}

// hostToken finds host names in a message (a name ends in a word, not a
// number: 1.9.2 is a version).
var hostToken = regexp.MustCompile(`(?i)\b((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z](?:[a-z0-9-]*[a-z0-9])?)(?::\d+)?\b`)

// hostsIn finds the host names in a message. Host names are written in
// lower case; a dotted name with capitals is code (Client.Timeout,
// java.lang.NullPointerException), not a host.
func hostsIn(text string) []string {
	var out []string
	for _, h := range hostToken.FindAllString(text, -1) {
		if strings.ToLower(h) == h {
			out = append(out, h)
		}
	}
	return out
}

// matches returns what of text the signature matches, "" for nothing;
// lower is text in lower case.
func (s signature) matches(lower, text string) string {
	hit := len(s.hints) == 0
	for _, h := range s.hints {
		if strings.Contains(lower, h) {
			hit = true
			break
		}
	}
	if !hit {
		return ""
	}
	if s.unless != nil && s.unless.MatchString(text) {
		return ""
	}
	return s.re.FindString(text)
}

// sharedKind reports whether a node kind is shared infrastructure whose
// failures speak through its users' error messages.
func sharedKind(kind string) bool {
	kind = strings.ToLower(kind)
	for _, s := range signatures {
		if s.shared && slices.Contains(s.kinds, kind) {
			return true
		}
	}
	return false
}

// dbStorage: a database server's words for its own disk being full.
var dbStorage = regexp.MustCompile(`(?i)(could not (extend|write to) file|the table .{1,64} is full|got error 28 from storage engine)`)

// errorText finds an error message of any kind in an alert's text.
var errorText = regexp.MustCompile(`(?i)(error|exception|failed|failure|refused|denied|timed? ?out|unavailable|reset by peer|unreachable|panic|cannot|could not|unable to|no route)`)

// failoverTarget is where a balancer, a global accelerator or DNS failover
// says it sent the traffic of a failed backend ("traffic shifted to
// us-east-1", "failing over to replica-b"): the peer that took over, named
// because it is healthy.
var failoverTarget = regexp.MustCompile(`(?i)\b(?:(?:traffic|requests|load|clients|connections)\s+(?:(?:was|were|is|are|being|has been|have been)\s+)?(?:shifted|moved|routed|rerouted|redirected|drained|sent|switched)|fail(?:ed|ing|s)?[ -]?over)\s+(?:over\s+)?to\s+["']?[A-Za-z0-9._:/-]+`)

// kubeObject is a Kubernetes API object named in an error, not a host: the
// API server's status errors end in "(verb resource.group)" ("the server
// is currently unable to handle the request (get pods.metrics.k8s.io)",
// k8s.io/apimachinery's StatusError), and admission errors quote the
// webhook's name ("failed calling webhook
// \"validate.nginx.ingress.kubernetes.io\"", the API server's webhook
// dispatcher).
var kubeObject = regexp.MustCompile(`(?i)\((?:get|list|watch|create|update|patch|delete|deletecollection) [a-z0-9][a-z0-9.-]*(?:/[a-z0-9.-]+)?\)|\bwebhook \\?"[a-z0-9.-]+\\?"`)

var signatures = []signature{
	// Go net (resolver errors), glibc getaddrinfo (EAI_AGAIN, EAI_NONAME,
	// EAI_NODATA), musl, BSD libc, libpq, Java, Node.js (c-ares), Python
	// socket and urllib3, curl (CURLE_COULDNT_RESOLVE_HOST), nginx's
	// resolver, PHP.
	{what: "DNS resolution", kinds: []string{"dns"}, shared: true, victims: true,
		re:    regexp.MustCompile(`(?i)(\blookup \S+ on \S+:53\b|\blookup \S+?: (i/o timeout|no such host|server misbehaving)|no such host|server misbehaving|temporary failure in name resolution|name or service not known|name does not resolve|no address associated with hostname|nodename nor servname provided|could not translate host ?name|could not resolve host|resolving timed out after|host not found \((authoritative|non-authoritative)|:53: (i/o timeout|connect: connection refused)|could not be resolved \(\d+: |failed to resolve '|UnknownHostException|getaddrinfo (ENOTFOUND|EAI_AGAIN|failed)|EAI_AGAIN|EAI_NONAME|\bquery(A|AAAA) (ETIMEOUT|ENOTFOUND|ESERVFAIL)|gaierror|name resolution failed|dns (lookup|resolution|query) (failed|timed out|timeout)|\bSERVFAIL\b|\bNXDOMAIN\b)`),
		hints: []string{"lookup", "no such host", "misbehaving", "name resolution", "name or service", "does not resolve", "no address associated", "nodename", "translate host", "resolv", "host not found", ":53:", "unknownhost", "getaddrinfo", "eai_", "querya", "gaierror", "dns", "servfail", "nxdomain"},
		who:   regexp.MustCompile(`(?i)\blookup \S+ on \[?([0-9a-f.:]+?)\]?:53\b`)},
	// Go crypto/x509 and crypto/tls (alerts), OpenSSL (verify errors and
	// TLS alerts), Node.js tls error codes, Java PKIX, Python ssl.
	{what: "TLS certificates", kinds: []string{"ca", "cert", "certificate", "pki", "issuer"}, shared: true,
		re:    regexp.MustCompile(`(?i)(x509: |certificate (has )?expired|certificate verify failed|CERTIFICATE_VERIFY_FAILED|certificate signed by unknown authority|unknown certificate authority|PKIX path (building|validation) failed|unable to find valid certification path|CertificateExpiredException|SSLCertVerificationError|SSL certificate problem|remote certificate is invalid|RemoteCertificateChainErrors|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|DEPTH_ZERO_SELF_SIGNED_CERT|tls: (bad|expired|revoked|unknown|unsupported) certificate|alert (unknown ca|certificate expired|bad certificate)|unable to get local issuer certificate|self[- ]signed certificate in certificate chain|unable to verify the first certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_HAS_EXPIRED|SELF_SIGNED_CERT_IN_CHAIN|SSLHandshakeException)`),
		hints: []string{"x509", "certificate", "certification", "pkix", "tls:", "alert", "issuer", "leaf_signature", "cert_has_expired", "self_signed", "sslhandshake", "certificateexpired", "sslcertverification", "ssl certificate", "remote certificate", "issuer_cert", "depth_zero"},
		who:   regexp.MustCompile(`(?i)(?:issuer[ =:]+"?|candidate authority certificate "|authority[ =:]+")([A-Za-z0-9.-]+[A-Za-z0-9])`),
		// Go's crypto/x509 says "current time T is before NotBefore" for a
		// certificate not yet valid: the reader's clock is behind, the
		// certificate is fine ("is after" is one that expired).
		unless: regexp.MustCompile(`(?i)current time \S+ is before \S+`)},
	// Linux errno (ENOSPC, EROFS, ESTALE, EIO, EREMOTEIO, EUCLEAN, ENOTCONN
	// on FUSE/NFS), the kernel's hung-task and NFS messages, mount.nfs, and
	// the kubelet's volume events (FailedMount, FailedAttachVolume, Multi-Attach),
	// the kernel's block-device I/O errors, rsync's sender failing to read a
	// file it is copying ("read errors mapping", sender.c).
	{what: "storage", kinds: []string{"storage", "disk", "volume", "nfs", "efs", "filesystem"},
		re:    regexp.MustCompile(`(?i)(no space left on device|read-only file ?system|stale (nfs )?file handle|input/output error|remote I/O error|structure needs cleaning|transport endpoint is not connected|blocked for more than \d+ seconds|hung task|nfs: server \S+ not responding|mount\.nfs4?: |MountVolume\.(SetUp|MountDevice) failed|Unable to attach or mount volumes|AttachVolume\.Attach failed|Multi-Attach error for volume|I/O error, dev \S+|Buffer I/O error on dev|disk quota exceeded|read errors mapping)`),
		hints: []string{"no space", "read-only", "stale", "input/output", "i/o error", "needs cleaning", "transport endpoint", "blocked for more", "hung task", "nfs", "mountvolume", "mount volumes", "attachvolume", "multi-attach", "quota", "read errors mapping"},
		// nfs: server H not responding; an export is HOST:/path.
		who: regexp.MustCompile(`(?i)(?:nfs: server (\S+) not responding|\b([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z][a-z0-9-]*):/)`),
		// A database server's own error about its disk (PostgreSQL's
		// "could not extend file", MySQL's error 28) is the database's
		// storage, relayed by its client: see the database signature.
		unless: dbStorage},
	// Go net/http (proxyconnect), curl (CONNECT, CURLE_COULDNT_RESOLVE_PROXY),
	// Java's HTTP client, Python requests/urllib3 (ProxyError), Node.js
	// tunnel agents, Squid's error codes, egress proxies' denials
	// (Smokescreen), RFC 7235 (407).
	{what: "an egress proxy", kinds: []string{"proxy", "egress"}, shared: true,
		re:    regexp.MustCompile(`(?i)(proxyconnect tcp|from proxy \S* ?after CONNECT|unable to tunnel through proxy|CONNECT tunnel failed|tunnel connection failed|proxy CONNECT aborted|could not resolve proxy|(cannot|unable to) connect to proxy|failed to connect to proxy|(rejected|denied) by (the )?proxy|tunneling socket could not be established|\bProxyError\b|X-Squid-Error|ERR_CONNECT_FAIL|407 Proxy Authentication Required)`),
		hints: []string{"proxy", "tunnel", "squid", "err_connect_fail"},
		who:   regexp.MustCompile(`(?i)(?:proxyconnect tcp: dial tcp |from proxy |through proxy |\(proxy |resolve proxy:? |connect to proxy:? )([A-Za-z0-9.-]+[A-Za-z0-9])`)},
	// The way out: a NAT gateway that runs out of source ports (AWS NAT
	// gateway's ErrorPortAllocation, Azure's SNAT port exhaustion, Cloud
	// NAT's OUT_OF_RESOURCES) or a firewall that drops new connections
	// makes every call to the internet time out while connecting, whichever
	// provider it was for. Go's net.Dial says "dial tcp IP:PORT: i/o
	// timeout" (or the kernel's ETIMEDOUT) with a public address; a private
	// one, or a CONNECT through a proxy, is not the way out.
	{what: "the network path out", kinds: []string{"nat", "egress", "firewall"}, shared: true, path: true,
		re:     regexp.MustCompile(`dial tcp (?:\d{1,3}\.){3}\d{1,3}:\d+: (?:i/o timeout|connect: connection timed out)`),
		unless: regexp.MustCompile(`proxyconnect|dial tcp (?:10\.|127\.|0\.|169\.254\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)`),
		hints:  []string{"dial tcp"}},
	// Kerberos (KRB_AP_ERR_SKEW), AWS SigV4 ("Signature expired: T is now
	// earlier than T′", RequestTimeTooSkewed), JWT libraries (golang-jwt,
	// PyJWT, jsonwebtoken's NotBeforeError, go-oidc's nbf check), x509 "not
	// yet valid", etcd's peer clock check, CockroachDB's clock offset check,
	// Google's and Azure AD's token time checks, chrony/ntpd/ntpdate and
	// systemd-timesyncd (NTP answers on port 123).
	{what: "clock skew", kinds: []string{"ntp", "time", "clock"}, shared: true,
		re:    regexp.MustCompile(`(?i)(clock skew|clock drift|clock difference against peer|time (is )?out of sync|RequestTimeTooSkewed|signature expired: \S+ is now earlier than|token used before issued|token is not valid yet|jwt not active|before the nbf|issued in the future|not yet valid|clock (is )?(unsynchroni[sz]ed|not synchroni[sz]ed)|no server suitable for synchroni[sz]ation|no selectable sources|system clock wrong by|time jump detected|clock synchroni[sz]ation error|KRB_AP_ERR_SKEW|in a reasonable timeframe|not within its valid time range|reply from \S+:123\b)`),
		hints: []string{"clock", "time", "skew", "not yet valid", "valid yet", "token used before", "earlier than", "jwt not active", "nbf", "future", "synchroni", "selectable", "wrong by", "time jump", "krb_ap_err_skew", "timeframe", "time range", ":123"},
		who:   regexp.MustCompile(`(?i)(?:source|server|peer)s?[ :(]+"?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)`)},
	// The kubelet's eviction and node-condition messages, the node
	// controller's events and taints, the kubelet's runtime health checks.
	{what: "a Kubernetes node", kinds: []string{"node", "host", "vm"},
		re:    regexp.MustCompile(`(?i)(the node was low on resource|the node had condition|NodeNotReady|node \S+ (is )?not ready|untolerated taint|node\(s\) (had|didn't)|pod was evicted|kubelet stopped posting node status|node\.kubernetes\.io/(unreachable|not-ready)|PLEG is not healthy|container runtime (is down|network not ready)|cannot connect to the Docker daemon|containerd\.sock)`),
		hints: []string{"node", "evicted", "taint", "kubelet", "pleg", "container runtime", "docker daemon", "containerd.sock"}},
	// NVIDIA's driver and libraries when a GPU or its node fails: Xid
	// errors in the kernel log, NVML and CUDA runtime errors that mean the
	// device is gone or broken, NCCL. "CUDA out of memory" is the
	// workload's own saturation and is not among them.
	{what: "a GPU node", kinds: []string{"gpu", "node", "host", "vm"},
		re:    regexp.MustCompile(`(?i)(NVRM: Xid|GPU has fallen off the bus|Failed to initialize NVML|Driver/library version mismatch|no CUDA-capable device is detected|CUDA error: (an illegal memory access|unspecified launch failure|uncorrectable ECC error)|uncorrectable ECC error encountered|NCCL error|nvidia-smi has failed)`),
		hints: []string{"xid", "fallen off the bus", "nvml", "driver/library", "cuda", "ecc error", "nccl", "nvidia-smi"}},
	// MQTT clients when the broker refuses or drops them: CONNACK return
	// code 3 as Eclipse Paho (Go, Python, Java) prints it, Paho Java's
	// MqttException codes for an unreachable broker and a lost connection.
	{what: "an MQTT broker", kinds: []string{"mqtt", "broker", "queue"}, tech: []string{"mqtt", "emqx", "mosquitto", "hivemq", "vernemq"},
		re:    regexp.MustCompile(`(?i)(connection refused: (server|broker) unavailable|Unable to connect to server \(32103\)|Connection lost \(32109\))`),
		hints: []string{"connection refused", "32103", "32109"}},
	// AWS ELB's own error pages (ALB's awselb/2.0, Classic ELB's "Back-end
	// server is at capacity"), Google Cloud load balancers' statusDetails,
	// Azure Application Gateway's error pages.
	{what: "a load balancer", kinds: []string{"loadbalancer", "lb"}, shared: true,
		re:    regexp.MustCompile(`(?i)(awselb/2\.0|\bELB\b.{0,20}(5\d\d|unhealthy)|back-end server is at capacity|backend_connection_closed_before_data_sent_to_client|failed_to_connect_to_backend|Microsoft-Azure-Application-Gateway)`),
		hints: []string{"elb", "back-end server", "backend", "application-gateway"}},
	// A balancer with no healthy server left: nginx's "no live upstreams",
	// HAProxy's 503 page and <NOSRV> log field, Google Cloud's
	// failed_to_pick_backend. The servers behind it are down, not it.
	{what: "the servers behind a balancer", kinds: []string{"loadbalancer", "lb", "proxy", "ingress"}, behind: true,
		re:    regexp.MustCompile(`(?i)(no live upstreams|no server is available to handle this request|<NOSRV>|failed_to_pick_backend)`),
		hints: []string{"no live upstreams", "no server is available", "nosrv", "failed_to_pick_backend"}},
	// Runtimes' own words for a defect in the running code: Go panics and
	// runtime errors, uncaught Java/Kotlin, Python, Node.js, Ruby and .NET
	// exceptions of programming errors, Rust panics, a segmentation fault.
	// Resource exhaustion (OutOfMemoryError) and errors decoding another
	// service's answer are not among them.
	{what: "a defect in its own code", kinds: []string{"code"}, self: true,
		re:    regexp.MustCompile(`(panic: |runtime error: (invalid memory address|index out of range|slice bounds out of range|integer divide by zero)|nil pointer dereference|fatal error: (concurrent map|all goroutines are asleep)|java\.lang\.(NullPointerException|ClassCastException|IllegalStateException|IllegalArgumentException|ArrayIndexOutOfBoundsException|IndexOutOfBoundsException|StringIndexOutOfBoundsException|NumberFormatException|UnsupportedOperationException|NoSuchMethodError|NoSuchFieldError|NoClassDefFoundError|AbstractMethodError)|kotlin\.(UninitializedPropertyAccessException|KotlinNullPointerException)|Traceback \(most recent call last\)|\b(KeyError|TypeError|AttributeError|IndexError|NameError|ZeroDivisionError|UnboundLocalError|ModuleNotFoundError|ReferenceError): |Cannot read propert(y|ies) of (undefined|null)|is not a function\b|NoMethodError|undefined method .{1,40} for nil|System\.(NullReferenceException|InvalidCastException|IndexOutOfRangeException|ArgumentNullException)|Object reference not set to an instance of an object|thread '[^']*' panicked at|called .Option::unwrap\(\). on a .None. value|[Ss]egmentation fault|SIGSEGV)`),
		hints: []string{"panic", "runtime error", "nil pointer", "fatal error", "java.lang.", "kotlin.", "traceback", "error: ", "cannot read propert", "is not a function", "nomethoderror", "undefined method", "system.", "object reference not set", "segmentation fault", "sigsegv"},
		// fetch() rejects with a TypeError when the network fails (Node's
		// undici "fetch failed", browsers' "Failed to fetch", "NetworkError
		// when attempting to fetch resource", "Load failed"): no defect.
		unless: regexp.MustCompile(`(?i)TypeError: (fetch failed|failed to fetch|networkerror|load failed)`)},
	// Cloud and cluster authorisation denials, which name the caller's
	// own identity as lacking a permission (its IAM role, service account
	// or RBAC binding), not the service it called: AWS (AccessDenied,
	// AccessDeniedException, EC2's UnauthorizedOperation, "is not
	// authorized to perform", the SDKs' web-identity and missing-credential
	// errors), Google Cloud (PERMISSION_DENIED, "Permission '…' denied",
	// "does not have … access"), Azure Resource Manager
	// (AuthorizationFailed) and the Kubernetes API server's RBAC refusals.
	// MySQL's "Access denied for user" (a password) is not among them.
	{what: "its own permissions", kinds: []string{"identity"}, self: true,
		re:    regexp.MustCompile(`(\bAccessDenied(Exception)?\b|\bUnauthorizedOperation\b|is not authorized to perform|WebIdentityErr|NoCredentialProviders|\bPERMISSION_DENIED\b|Permission '[^']+' denied|does not have [a-z]+\.[a-zA-Z.]+ access|\bAuthorizationFailed\b|does not have authorization to perform action|is forbidden: User "system:serviceaccount:[^"]+" cannot)`),
		hints: []string{"accessdenied", "unauthorizedoperation", "not authorized to perform", "webidentityerr", "nocredentialproviders", "permission", "does not have", "authorizationfailed", "forbidden"}},
	// Redis server replies.
	{what: "Redis", kinds: []string{"cache", "redis"},
		re:    regexp.MustCompile(`(READONLY You can't write|CLUSTERDOWN|NOREPLICAS|MISCONF Redis|LOADING Redis|OOM command not allowed|max number of clients reached)`),
		hints: []string{"readonly", "clusterdown", "noreplicas", "misconf", "loading redis", "oom command", "max number of clients"}},
	// PostgreSQL (SQLSTATE 53300, 40P01, 57014, 57P01, 53100…) and MySQL (1040, 1205, 1213, 2006, 2013, 1114, errno 28) server errors.
	{what: "a database", kinds: []string{"database", "db", "datastore"},
		re:    regexp.MustCompile(`(?i)(could not (extend|write to) file|the table .{1,64} is full|got error 28 from storage engine|too many clients|remaining connection slots are reserved|too many connections|lock wait timeout exceeded|deadlock (detected|found)|canceling statement due to (lock|statement) timeout|the database system is (shutting down|starting up|in recovery mode)|server has gone away|lost connection to MySQL server|terminating connection due to administrator command|SQLSTATE 53300)`),
		hints: []string{"could not extend", "could not write to file", "is full", "error 28", "too many", "remaining connection", "lock wait", "deadlock", "canceling statement", "database system", "gone away", "lost connection", "terminating connection", "53300"}},
	// Kafka client and broker errors.
	{what: "Kafka", kinds: []string{"queue", "broker", "kafka"}, tech: []string{"kafka", "msk", "redpanda", "strimzi"},
		re:    regexp.MustCompile(`(?i)(run out of available brokers|NotEnoughReplicas|fewer in-sync replicas than required|LEADER_NOT_AVAILABLE|NotLeaderOrFollower|NOT_LEADER_FOR_PARTITION|KafkaStorageException)`),
		hints: []string{"broker", "replicas", "leader", "kafkastorage"}},
	// RabbitMQ resource alarms and forced closes.
	{what: "RabbitMQ", kinds: []string{"queue", "broker", "rabbitmq"}, tech: []string{"rabbit", "amqp"},
		re:    regexp.MustCompile(`(?i)(connection\.blocked|resource alarm|CONNECTION_FORCED)`),
		hints: []string{"connection.blocked", "resource alarm", "connection_forced"}},
	// MongoDB drivers (Go, Java, Node.js, PyMongo) when no server answers
	// or the primary is gone, and the server's own not-primary errors.
	{what: "MongoDB", kinds: []string{"database", "db", "datastore"}, tech: []string{"mongo", "documentdb"}, byTech: true,
		re:    regexp.MustCompile(`(?i)(server selection (error|timeout)|MongoServerSelectionError|ServerSelectionTimeoutError|MongoNetworkError|MongoNotConnectedError|No suitable servers found|while waiting for a server that matches|NotWritablePrimary|NotPrimaryNoSecondaryOk|not master and slaveOk=false|No replica set members match selector)`),
		hints: []string{"server selection", "mongo", "suitable servers", "waiting for a server", "primary", "not master", "replica set members"}},
	// Cassandra and ScyllaDB drivers (DataStax Java/Python/Node.js, gocql)
	// and coordinator errors. Netty's ReadTimeoutException is any HTTP
	// client's and is not among them.
	{what: "Cassandra", kinds: []string{"database", "db", "datastore"}, tech: []string{"cassandra", "scylla", "keyspaces"}, byTech: true,
		re:    regexp.MustCompile(`(?i)(NoHostAvailable(Exception)?|All host\(s\) tried for query failed|gocql: no hosts available|no hosts available in the pool|Cassandra timeout during (read|write) query|Cannot achieve consistency level|Not enough replicas available for query at consistency)`),
		hints: []string{"nohostavailable", "all host(s) tried", "no hosts available", "cassandra timeout", "consistency level", "not enough replicas"}},
	// Memcached clients (gomemcache, pymemcache, spymemcached) and the
	// server's out-of-memory reply.
	{what: "Memcached", kinds: []string{"cache"}, tech: []string{"memcache"}, byTech: true,
		re:    regexp.MustCompile(`(?i)(memcache: (connect timeout|no servers configured or available|unexpected response line)|SERVER_ERROR out of memory storing object|MemcacheServerError|net\.spy\.memcached.{0,40}(timed out|TimeoutException))`),
		hints: []string{"memcache", "server_error"}},
	// ZooKeeper clients (Java's KeeperException codes, go-zookeeper).
	{what: "ZooKeeper", kinds: []string{"coordination", "zookeeper"}, tech: []string{"zookeeper", "zk"}, byTech: true,
		re:    regexp.MustCompile(`(?i)(KeeperErrorCode = (ConnectionLoss|SessionExpired|OperationTimeout)|zk: (could not connect to a server|session has been expired by the server|connection closed))`),
		hints: []string{"keepererrorcode", "zk: "}},
	// etcd's server errors as clients (the Kubernetes API server, Patroni,
	// etcdctl) print them.
	{what: "etcd", kinds: []string{"etcd", "database", "coordination"}, tech: []string{"etcd"}, byTech: true,
		re:    regexp.MustCompile(`(?i)(etcdserver: (request timed out|leader changed|no leader|too many requests|mvcc: database space exceeded)|mvcc: database space exceeded|etcd cluster is unavailable or misconfigured)`),
		hints: []string{"etcdserver", "mvcc", "etcd cluster"}},
	// HashiCorp Vault (and OpenBao) answers to a client when sealed or
	// without an active node.
	{what: "Vault", kinds: []string{"vault", "secrets"}, tech: []string{"vault", "openbao"}, byTech: true,
		re:    regexp.MustCompile(`(?i)(Vault is sealed|Vault is not initialized|local node not active but active cluster node not found|error performing token check)`),
		hints: []string{"vault", "local node not active", "token check"}},
	// Confluent Schema Registry's serializers and REST client, Apicurio's.
	{what: "a schema registry", kinds: []string{"registry", "schema-registry"}, tech: []string{"schema-registry", "schemaregistry", "schema", "apicurio", "karapace"}, byTech: true,
		re:    regexp.MustCompile(`(?i)(Error (registering|retrieving) (Avro|JSON|Protobuf) schema|io\.confluent\.kafka\.schemaregistry|Schema being registered is incompatible|RestClientException: .{0,80}schema|schema registry (is )?(unavailable|unreachable|timed out))`),
		hints: []string{"schema"}},
	// Object stores' throttling and missing-bucket replies: Amazon S3,
	// Google Cloud Storage, Azure Blob Storage, MinIO.
	{what: "an object store", kinds: []string{"storage", "objectstore", "s3", "bucket", "blob"}, tech: []string{"s3", "bucket", "minio", "gcs", "blob", "objectstore", "object-store"}, byTech: true,
		re:    regexp.MustCompile(`(?i)(SlowDown: Please reduce your request rate|503 Slow Down|NoSuchBucket|The specified bucket does not exist|Your socket connection to the server was not read from or written to within the timeout period|rateLimitExceeded.{0,40}(bucket|storage)|ServerBusy.{0,40}(blob|storage)|XMinioServerNotInitialized|XMinioStorageFull)`),
		hints: []string{"slow", "bucket", "socket connection to the server", "ratelimitexceeded", "serverbusy", "xminio"}},
	// OpenID Connect and JWT verifiers that cannot find the issuer's
	// signing key (go-oidc, node-jwks-rsa, Spring Security, Microsoft's
	// IdentityModel) or reach its discovery document.
	{what: "the identity provider", kinds: []string{"auth", "identity", "idp", "oidc", "sso"}, tech: []string{"auth", "identity", "idp", "oidc", "sso", "keycloak", "okta", "dex", "login", "iam", "cognito", "entra"}, byTech: true,
		re:    regexp.MustCompile(`(?i)(kid not found|unable to find a signing key that matches|SigningKeyNotFoundError|no matching (signing )?key|failed to verify signature: fetching keys|oidc: (failed to get provider|get keys failed)|IDX10501: Signature validation failed. Unable to match key|IDX10503|unable to fetch (the )?(jwks|openid configuration)|jwks (fetch|request) failed|Couldn't retrieve remote JWK set)`),
		hints: []string{"kid", "signing key", "signingkeynotfound", "matching", "fetching keys", "oidc", "idx1050", "jwks", "jwk set", "openid"}},
	// Elasticsearch exceptions.
	{what: "Elasticsearch", kinds: []string{"search", "elasticsearch", "database"}, tech: []string{"elastic", "opensearch", "search"},
		re:    regexp.MustCompile(`(cluster_block_exception|flood-stage watermark|es_rejected_execution_exception|circuit_breaking_exception|NoNodeAvailableException|all shards failed)`),
		hints: []string{"cluster_block", "flood-stage", "es_rejected", "circuit_breaking", "nonodeavailable", "all shards failed"}},
}
