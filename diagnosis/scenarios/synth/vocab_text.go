package synth

// Error texts, as services log them and alert descriptions quote them.
// Placeholders are filled per alert (see fill in alerts.go): {dep} and
// {dephost} name the dependency the caller talks to, {host} the failing
// thing's address.

// What callers of a saturated datastore see, by technology; the prefix is the
// failure mode (conn, mem, disk, cpu).
var (
	textPostgres = phrases{"datastore/postgres",
		[]string{
			"conn|pq: sorry, too many clients already",
			"conn|FATAL: remaining connection slots are reserved for non-replication superuser connections",
			"conn|HikariPool-1 - Connection is not available, request timed out after 30000ms (jdbc:postgresql://{dephost}:5432/app)",
			"disk|ERROR: could not extend file \"base/16384/2619\": No space left on device",
			"cpu|ERROR: canceling statement due to statement timeout (host {dephost})",
		},
		[]string{
			"conn|pgx: failed to connect to `host={dephost} user=app database=app`: server error (FATAL: sorry, too many clients already (SQLSTATE 53300))",
			"conn|org.postgresql.util.PSQLException: FATAL: too many connections for role \"app\"",
			"disk|PANIC: could not write to file \"pg_wal/xlogtemp.412\": No space left on device",
			"cpu|psycopg2.errors.QueryCanceled: canceling statement due to statement timeout",
			"conn|dial tcp {dephost}:5432: connect: connection timed out",
		}}
	textMySQL = phrases{"datastore/mysql",
		[]string{
			"conn|Error 1040: Too many connections",
			"conn|SQLSTATE[HY000] [1040] Too many connections (host {dephost})",
			"cpu|Error 1205: Lock wait timeout exceeded; try restarting transaction",
		},
		[]string{
			"conn|java.sql.SQLNonTransientConnectionException: Data source rejected establishment of connection, message from server: \"Too many connections\"",
			"conn|dial tcp {dephost}:3306: i/o timeout",
			"disk|ERROR 1114 (HY000): The table 'order_items' is full",
			"cpu|(2013, 'Lost connection to MySQL server during query')",
		}}
	textRedis = phrases{"datastore/redis",
		[]string{
			"mem|OOM command not allowed when used memory > 'maxmemory'.",
			"conn|redis: connection pool timeout",
			"conn|ERR max number of clients reached",
		},
		[]string{
			"conn|dial tcp {dephost}:6379: i/o timeout",
			"disk|MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
			"cpu|Redis::CannotConnectError: Error connecting to Redis on {dephost}:6379 (Redis::TimeoutError)",
			"mem|LOADING Redis is loading the dataset in memory",
		}}
	textKafka = phrases{"datastore/kafka",
		[]string{
			"conn|kafka: client has run out of available brokers to talk to",
			"conn|kafka server: Messages are rejected since there are fewer in-sync replicas than required.",
			"cpu|Local: Message timed out (broker {dephost}:9092)",
		},
		[]string{
			"conn|org.apache.kafka.common.errors.NotEnoughReplicasException: Messages are rejected since there are fewer in-sync replicas than required.",
			"cpu|org.apache.kafka.common.errors.TimeoutException: Expiring 42 record(s) for {topic}-3: 120000 ms has passed since batch creation",
			"disk|org.apache.kafka.common.errors.KafkaStorageException: Disk error when trying to access log file on the disk.",
		}}
	textRabbit = phrases{"datastore/rabbitmq",
		[]string{
			"disk|connection.blocked: low on disk",
			"conn|Exception (504) Reason: \"channel/connection is not open\"",
			"cpu|AMQP publish confirm timed out after 5000ms ({dephost}:5672)",
		},
		[]string{
			"mem|connection blocked by broker: resource alarm (memory)",
			"conn|dial tcp {dephost}:5672: connect: connection refused",
			"conn|Channel shutdown: connection error; protocol method: #method<connection.close>(reply-code=320, reply-text=CONNECTION_FORCED - broker forced connection closure with reason 'shutdown')",
		}}
	textES = phrases{"datastore/elasticsearch",
		[]string{
			"disk|cluster_block_exception: index [{index}] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block]",
			"cpu|es_rejected_execution_exception: rejected execution of coordinating operation",
			"mem|circuit_breaking_exception: [parent] Data too large, data for [<http_request>] would be larger than limit",
		},
		[]string{
			"conn|search_phase_execution_exception: all shards failed",
			"conn|NoNodeAvailableException[None of the configured nodes are available: [{dephost}:9200]]",
			"cpu|elastic: Error 429 (Too Many Requests): rejected execution of write operation",
			"mem|ConnectionTimeout caused by - ReadTimeoutError(HTTPConnectionPool(host='{dephost}', port=9200): Read timed out. (read timeout=10))",
		}}
)

// What a service says about an overloaded service it calls, and what the
// overloaded service logs itself.
var (
	textOverload = phrases{"service/overload-caller",
		[]string{
			"upstream request timeout calling {dep}",
			"{dep}: 503 Service Unavailable (overloaded)",
			"upstream connect error or disconnect/reset before headers. reset reason: overflow ({dep})",
		},
		[]string{
			"rpc error: code = ResourceExhausted desc = {dep}: too many concurrent requests",
			"429 Too Many Requests from {dephost}",
			"Get \"http://{dephost}:8080/v1/items\": context deadline exceeded",
		}}
	textOverloadRoot = phrases{"service/overload-root",
		[]string{
			"mem|java.lang.OutOfMemoryError: Java heap space",
			"mem|container {svc} was OOMKilled (limit 1Gi)",
			"cpu|request queue full: rejected {n} requests in 1m",
		},
		[]string{
			"mem|fatal error: runtime: out of memory",
			"mem|FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
			"cpu|[CRITICAL] WORKER TIMEOUT (pid:{n})",
		}}
	textUpstream = phrases{"service/upstream",
		[]string{
			"upstream {dep} returned 503 Service Unavailable",
			"rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp {dephost}:8080: connect: connection refused\"",
			"Get \"http://{dephost}:8080/v1/{path}\": context deadline exceeded",
			"upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
		},
		[]string{
			"POST http://{dephost}/api/{path} failed: 504 Gateway Timeout",
			"rpc error: code = DeadlineExceeded desc = context deadline exceeded (calling {dep})",
			"io.grpc.StatusRuntimeException: UNAVAILABLE: io exception (channel to {dephost}:9090)",
			"Error: read ECONNRESET while calling {dep}",
		}}
)

// What a broken release logs, and what its callers see.
var (
	textDeployRoot = phrases{"bad-deploy/root",
		[]string{
			"panic: runtime error: invalid memory address or nil pointer dereference (version {ver})",
			"java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"currency\" is null (build {ver})",
			"KeyError: 'tenant_id' (release {ver})",
		},
		[]string{
			"TypeError: Cannot read properties of undefined (reading 'items') at {ver}",
			"NoMethodError: undefined method `amount' for nil:NilClass ({ver})",
			"ERROR: column \"discount_code\" does not exist (migration for {ver} not applied)",
			"thread 'main' panicked at 'called `Option::unwrap()` on a `None` value' ({ver})",
		}}
	textDeployCaller = phrases{"bad-deploy/caller",
		[]string{
			"{dep} returned 500 Internal Server Error since the {ver} rollout",
			"unexpected status 500 from http://{dephost}:8080/v2/{path}",
			"json: cannot unmarshal string into Go struct field .price of type float64 (response from {dep})",
		},
		[]string{
			"rpc error: code = Internal desc = {dep}: internal error",
			"HTTP 400 from {dep}: unknown field \"discountCode\"",
			"response from {dephost} failed schema validation: missing required field 'total'",
		}}
)

// What pods on a failing node, and their clients, report.
var textNode = phrases{"node/pods",
	[]string{
		"Readiness probe failed: Get \"http://{podip}:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
		"pod {pod} on node {node} is not ready",
		"The node was low on resource: memory. Threshold quantity: 100Mi, available: 48Mi.",
	},
	[]string{
		"Liveness probe failed: dial tcp {podip}:8080: connect: no route to host",
		"Node {node} status is now: NodeNotReady",
		"Pod was evicted: The node had condition: [DiskPressure].",
	}}

// Name-resolution failures ({host} is the name being resolved, {resolver}
// the cluster DNS address).
var textDNS = phrases{"dns/lookup",
	[]string{
		"dial tcp: lookup {host} on {resolver}:53: server misbehaving",
		"lookup {host} on {resolver}:53: read udp {podip}:{eport}->{resolver}:53: i/o timeout",
		"getaddrinfo EAI_AGAIN {host}",
		"dial tcp: lookup {host}: no such host",
	},
	[]string{
		"dial tcp: lookup {host} on {resolver}:53: no such host",
		"java.net.UnknownHostException: {host}: Temporary failure in name resolution",
		"could not translate host name \"{host}\" to address: Temporary failure in name resolution",
		"socket.gaierror: [Errno -3] Temporary failure in name resolution ({host})",
	}}

// A provider failing, as its callers see it.
var textExternal = phrases{"external/caller",
	[]string{
		"POST https://{host}/v1/{path}: 503 Service Unavailable",
		"{P} API error: 502 Bad Gateway",
		"Get \"https://{host}/{path}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
	},
	[]string{
		"429 Too Many Requests from {host}: rate limit exceeded",
		"upstream {P} returned HTTP 500 (request id req_{hex})",
		"read tcp {podip}:{eport}->{extip}:443: read: connection reset by peer ({host})",
		"net/http: TLS handshake timeout ({host})",
	}}

// Shared infrastructure failing, as its users see it ({host} is its address).
var (
	textProxy = phrases{"shared-infra/proxy",
		[]string{
			"proxyconnect tcp: dial tcp {host}: connect: connection refused",
			"Received HTTP code 503 from proxy {host} after CONNECT",
			"Unable to tunnel through proxy {host}. Proxy returns \"HTTP/1.1 502 Bad Gateway\"",
		},
		[]string{
			"proxyconnect tcp: dial tcp {host}: i/o timeout",
			"407 Proxy Authentication Required ({host})",
			"CONNECT tunnel failed, response 503 (proxy {host})",
		}}
	textLB = phrases{"shared-infra/loadbalancer",
		[]string{
			"502 Bad Gateway (awselb/2.0) from {host}",
			"read tcp {podip}:{eport}->{host}:443: read: connection reset by peer",
			"dial tcp {host}:443: i/o timeout",
		},
		[]string{
			"504 Gateway Time-out from {host}",
			"upstream connect error or disconnect/reset before headers. reset reason: connection termination ({host})",
			"EOF while reading response from {host}",
		}}
	textStorage = phrases{"shared-infra/storage",
		[]string{
			"stale NFS file handle on /mnt/{mount} ({host})",
			"nfs: server {host} not responding, still trying",
			"open /mnt/{mount}/{file}: input/output error",
		},
		[]string{
			"MountVolume.SetUp failed for volume \"{pv}\" : mount failed: exit status 32 (mount.nfs4: Connection timed out {host}:/)",
			"read /data/{mount}/{file}: input/output error",
			"fsync /data/{mount}/{file}: remote I/O error ({host})",
		}}
	textNTP = phrases{"shared-infra/ntp",
		[]string{
			"x509: certificate has expired or is not yet valid: current time {time} is before {time2}",
			"Token used before issued (iat {time2}, now {time})",
			"RequestTimeTooSkewed: The difference between the request time and the current time is too large.",
			"clock unsynchronised: chronyd has no reachable source ({host})",
		},
		[]string{
			"jwt: token is not valid yet (nbf): local clock {skew} ahead",
			"SignatureDoesNotMatch: Signature expired: {time} is now earlier than {time2}",
			"kerberos: Clock skew too great",
			"chronyd: no selectable sources, {host} unreachable",
		}}
	textCA = phrases{"shared-infra/ca",
		[]string{
			"x509: certificate signed by unknown authority (calling {dephost})",
			"remote error: tls: bad certificate (calling {dephost})",
			"tls: failed to verify certificate: x509: certificate has expired or is not yet valid (issuer {host})",
		},
		[]string{
			"PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed ({dephost})",
			"SSL routines::certificate verify failed ({dephost}:8443)",
			"TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED (certificate issued by {host} expired)",
		}}
)

// What a dependent that stays broken after its dependency recovered says.
var textStuck = phrases{"stuck-dependent",
	[]string{
		"connection pool holds {n} dead connections to {dep}; not recovering after failover",
		"consumer stuck: partition assignment lost, no heartbeat since {dur}",
	},
	[]string{
		"circuit breaker for {dep} still open after {dur}",
		"retry queue not draining ({n} messages) although {dep} is healthy again",
	}}

// allPhrases lists every error-text vocabulary (Vocabularies reports them).
var allPhrases = []phrases{
	textPostgres, textMySQL, textRedis, textKafka, textRabbit, textES, textOverload, textOverloadRoot,
	textUpstream, textDeployRoot, textDeployCaller, textNode, textDNS, textExternal,
	textProxy, textLB, textStorage, textNTP, textCA, textStuck,
}

// textByTech picks what callers of a saturated datastore see.
func textByTech(tech string) phrases {
	switch tech {
	case "postgres":
		return textPostgres
	case "mysql":
		return textMySQL
	case "redis":
		return textRedis
	case "kafka":
		return textKafka
	case "rabbitmq":
		return textRabbit
	case "elasticsearch":
		return textES
	}
	return textOverload
}
