package synth

// Alert rules, as kube-prometheus-stack mixins, awesome-prometheus-alerts,
// exporters and organisations write them. Each list is split into halves.

// Cause alerts on a saturated datastore, by technology. Modes: conn, mem,
// disk, cpu.
var (
	causePostgres = rules{"cause/postgres",
		[]rule{
			{"PostgresqlTooManyConnections", "warning", m2, dbStyles, "conn", "Postgresql too many connections (instance {inst})", "PostgreSQL instance has too many connections (> 80%).\n  VALUE = {pct}"},
			{"PostgreSQLMaxConnectionsReached", "critical", m1, dbStyles, "conn", "{svc}: has {n} connections open (max_connections {max})", "{svc} is exceeding the currently configured maximum Postgres connection limit; services may be degraded."},
			{"PostgresqlHighRateStatementTimeout", "critical", m5, dbStyles, "cpu", "Postgresql high rate statement timeout (instance {inst})", "Postgres transactions showing high rate of statement timeouts\n  VALUE = {n}"},
			{"RDSFreeStorageSpaceLow", "critical", m10, []string{stRDS}, "disk", "RDS {svc}: {pct2} MiB free storage left", "FreeStorageSpace below 2% of allocated storage"},
		},
		[]rule{
			{"PostgresqlTooManyLocksAcquired", "critical", m2, dbStyles, "cpu", "Postgresql too many locks acquired (instance {inst})", "Too many locks acquired on the database. If this alert happens frequently, we may need to increase the postgres setting max_locks_per_transaction.\n  VALUE = 0.{pct}"},
			{"RDSDatabaseConnectionsHigh", "critical", m5, []string{stRDS}, "conn", "RDS {svc}: DatabaseConnections {n} of {max}", "CloudWatch DatabaseConnections at {pct}% of max_connections"},
			{"PostgresqlCPUSaturated", "warning", m10, dbStyles, "cpu", "{svc} CPU at {pct}% for 10m", "active backends {n}, load average {n2}"},
			{"PostgreSQLVolumeAlmostFull", "critical", m5, dbStyles, "disk", "{svc} data volume {pct}% full", "pg_wal and base on the same volume; autovacuum cannot keep up"},
		}}
	causeMySQL = rules{"cause/mysql",
		[]rule{
			{"MysqlTooManyConnections(>80%)", "warning", m2, dbStyles, "conn", "MySQL too many connections (> 80%) (instance {inst})", "More than 80% of MySQL connections are in use on {inst}\n  VALUE = {pct}"},
			{"MysqlHighThreadsRunning", "warning", m2, dbStyles, "cpu", "MySQL high threads running (instance {inst})", "More than 60% of MySQL connections are in running state on {inst}\n  VALUE = {pct}"},
			{"MySQLDiskAlmostFull", "critical", m10, dbStyles, "disk", "{svc}: datadir volume {pct}% used", "InnoDB cannot extend tablespaces once the volume is full"},
		},
		[]rule{
			{"MySQLConnectionsSaturated", "critical", m5, dbStyles, "conn", "{svc}: Threads_connected {n} of max_connections {max}", "connection errors (max_connections) {n2}/s"},
			{"MysqlInnodbLogWaits", "warning", m5, dbStyles, "cpu", "MySQL InnoDB log waits (instance {inst})", "MySQL innodb log writes stalling\n  VALUE = {n}"},
			{"RDSMySQLFreeStorageLow", "critical", m10, []string{stRDS}, "disk", "RDS {svc}: FreeStorageSpace {pct2} MiB", "storage autoscaling reached its maximum"},
		}}
	causeRedis = rules{"cause/redis",
		[]rule{
			{"RedisOutOfConfiguredMaxmemory", "warning", m2, dbStyles, "mem", "Redis out of configured maxmemory (instance {inst})", "Redis is running out of configured maxmemory (> 90%)\n  VALUE = {pct}"},
			{"RedisRejectedConnections", "critical", 0, dbStyles, "conn", "Redis rejected connections (instance {inst})", "Some connections to Redis has been rejected\n  VALUE = {n}"},
			{"RedisEvictionsHigh", "warning", m5, dbStyles, "mem", "{svc}: {n} keys evicted per second", "maxmemory-policy allkeys-lru evicting hot keys"},
		},
		[]rule{
			{"RedisOutOfSystemMemory", "warning", m2, dbStyles, "mem", "Redis out of system memory (instance {inst})", "Redis is running out of system memory (> 90%)\n  VALUE = {pct}"},
			{"RedisMaxClientsReached", "critical", m1, dbStyles, "conn", "{svc}: connected_clients {n} of maxclients {max}", "new connections refused with ERR max number of clients reached"},
			{"ElastiCacheEngineCPUHigh", "critical", m5, []string{stRDS, stSvc}, "cpu", "ElastiCache {svc}: EngineCPUUtilization {pct}%", "the single Redis thread is saturated"},
		}}
	causeKafka = rules{"cause/kafka",
		[]rule{
			{"KafkaUnderReplicatedPartitions", "warning", m10, []string{stCluster, stDBPod}, "disk", "Kafka {svc}: {n} under-replicated partitions", "There are {n} under replicated partitions on {pod}"},
			{"KafkaOfflinePartitions", "critical", m5, []string{stCluster, stDBPod}, "conn", "Kafka {svc}: {n} offline partitions", "One or more partitions have no leader"},
			{"KafkaRunningOutOfSpace", "critical", m10, []string{stCluster, stDBPod}, "disk", "Kafka {svc} is running out of free disk space", "There are only {pct2} MiB free on {pod}"},
		},
		[]rule{
			{"KafkaTopicsReplicas", "critical", 0, []string{stCluster, stDBPod}, "conn", "Kafka topics replicas (instance {inst})", "Kafka topic in-sync partition\n  VALUE = {n}"},
			{"KafkaUnderMinIsrPartitionCount", "critical", m5, []string{stCluster, stDBPod}, "conn", "Kafka {svc}: {n} partitions under min ISR", "Producers with acks=all are rejected"},
			{"KafkaBrokerDiskFull", "critical", m5, []string{stCluster, stDBPod}, "disk", "Kafka broker {pod} log dir {pct}% full", "retention cannot free space fast enough"},
		}}
	causeRabbit = rules{"cause/rabbitmq",
		[]rule{
			{"RabbitmqMemoryHigh", "warning", m2, []string{stCluster, stDBPod, stSvc}, "mem", "Rabbitmq memory high (instance {inst})", "A node use more than 90% of allocated RAM\n  VALUE = {pct}"},
			{"RabbitmqDiskAlarm", "critical", 0, []string{stCluster, stDBPod, stSvc}, "disk", "RabbitMQ {svc}: disk alarm, publishers blocked", "free disk space below disk_free_limit on {pod}"},
			{"RabbitmqTooManyConnections", "warning", m2, []string{stCluster, stDBPod, stSvc}, "conn", "Rabbitmq too many connections (instance {inst})", "The total connections of a node is too high\n  VALUE = {n}"},
		},
		[]rule{
			{"RabbitmqMemoryAlarm", "critical", 0, []string{stCluster, stDBPod, stSvc}, "mem", "RabbitMQ {svc}: memory alarm on {pod}", "vm_memory_high_watermark reached; publishers blocked"},
			{"RabbitmqLowDiskWatermarkPredicted", "warning", m30, []string{stCluster, stDBPod, stSvc}, "disk", "RabbitMQ {pod}: disk will hit the low watermark within 24h", "The predicted free disk space in 24 hours from now is below the low disk watermark."},
			{"RabbitmqTooManyUnackMessages", "warning", m1, []string{stCluster, stDBPod, stSvc}, "conn", "Rabbitmq too many unack messages (instance {inst})", "Too many unacknowledged messages\n  VALUE = {n}"},
		}}
	causeES = rules{"cause/elasticsearch",
		[]rule{
			{"ElasticsearchHeapUsageTooHigh", "critical", m2, []string{stCluster, stDBPod, stSvc}, "mem", "Elasticsearch Heap Usage Too High (instance {inst})", "The heap usage is over 90%\n  VALUE = {pct}"},
			{"ElasticsearchDiskOutOfSpace", "critical", 0, []string{stCluster, stDBPod, stSvc}, "disk", "Elasticsearch disk out of space (instance {inst})", "The disk usage is over 90%\n  VALUE = {pct}"},
			{"ElasticsearchClusterRed", "critical", 0, []string{stCluster, stDBPod, stSvc}, "conn", "Elasticsearch Cluster Red (instance {inst})", "Elastic Cluster Red status\n  VALUE = 0"},
		},
		[]rule{
			{"ElasticsearchWriteRejectionsHigh", "warning", m5, []string{stCluster, stDBPod, stSvc}, "cpu", "{svc}: write thread pool rejecting {n}/s", "queue of the write thread pool full on {pod}"},
			{"ElasticsearchCircuitBreakerTripped", "critical", m1, []string{stCluster, stDBPod, stSvc}, "mem", "{svc}: parent circuit breaker tripped {n} times", "Data too large; heap at {pct}%"},
			{"OpensearchClusterRed", "critical", m1, []string{stCluster, stDBPod, stSvc}, "conn", "Opensearch Cluster Red (instance {inst})", "Opensearch Cluster Red status\n  VALUE = 0"},
		}}
	causeService = rules{"cause/service",
		[]rule{
			{"KubeHpaMaxedOut", "warning", m15, []string{stKsmDeploy}, "cpu", "HPA is running at max replicas", "HPA {ns}/{svc} has been running at max replicas for longer than 15 minutes."},
			{"ContainerMemoryNearLimit", "warning", m5, []string{stKsmPod, stSvc}, "mem", "{pod} memory at {pct}% of its limit", "working set {n}Mi of {max}Mi"},
			{"{D}ThreadPoolExhausted", "critical", m2, []string{stSvc}, "cpu", "{svc} request thread pool exhausted", "active {max}/{max}, queued {n}"},
		},
		[]rule{
			{"KubernetesContainerOomKiller", "warning", 0, []string{stKsmPod}, "mem", "Kubernetes container oom killer ({ns}/{pod})", "Container {svc} in pod {ns}/{pod} has been OOMKilled {n} times in the last 10 minutes."},
			{"ContainerHighCpuUtilization", "warning", m2, []string{stKsmPod, stSvc}, "cpu", "Container High CPU utilization ({pod})", "Container CPU utilization is above 80%\n  VALUE = {pct}"},
			{"{D}WorkerPoolSaturated", "critical", m2, []string{stSvc}, "cpu", "{svc}: all {max} workers busy", "request queue depth {n}"},
		}}
)

// A datastore whose pods are gone (its node died), by technology (mode).
var downStore = rules{"symptom/datastore-down",
	[]rule{
		{"PostgresqlDown", "critical", 0, dbStyles, "postgres", "Postgresql down (instance {inst})", "Postgresql instance is down\n  VALUE = 0"},
		{"RedisDown", "critical", 0, dbStyles, "redis", "Redis down (instance {inst})", "Redis instance is down\n  VALUE = 0"},
		{"RabbitmqNodeDown", "critical", 0, []string{stCluster, stDBPod, stSvc}, "rabbitmq", "Rabbitmq node down (instance {inst})", "Less than 3 nodes running in RabbitMQ cluster\n  VALUE = 2"},
		{"ElasticsearchHealthyNodes", "critical", 0, []string{stCluster, stDBPod, stSvc}, "elasticsearch", "Elasticsearch Healthy Nodes (instance {inst})", "Missing node in Elasticsearch cluster\n  VALUE = 2"},
		{"KafkaBrokerContainersDown", "critical", m1, []string{stCluster, stDBPod}, "kafka", "All `kafka` containers down or in CrashLookBackOff status", "All `kafka` containers have been down or in CrashLookBackOff status for 1 minute"},
	},
	[]rule{
		{"PostgreSQLDown", "critical", m5, dbStyles, "postgres", "Postgres instance is down.", "pg_up is 0 for {inst}"},
		{"MysqlDown", "critical", 0, dbStyles, "mysql", "MySQL down (instance {inst})", "MySQL instance is down on {inst}\n  VALUE = 0"},
		{"RedisMissingMaster", "critical", 0, dbStyles, "redis", "Redis missing master (instance {inst})", "Redis cluster has no node marked as master.\n  VALUE = 0"},
		{"RabbitmqNoMajorityOfNodesReady", "critical", m5, []string{stCluster, stDBPod, stSvc}, "rabbitmq", "Less than majority of nodes are ready in RabbitMQ cluster {svc}", "Only 1 replicas are ready in RabbitmqCluster {svc}"},
		{"KafkaBrokerOffline", "critical", m1, []string{stCluster, stDBPod}, "kafka", "Kafka broker {pod} is offline", "kafka_server_replicamanager_leadercount absent for {pod}"},
	}}

// Warnings that often precede a saturation, by technology.
var (
	precursorStore = rules{"precursor/datastore",
		[]rule{
			{"PostgreSQLHighConnections", "warning", m5, dbStyles, "postgres", "{svc} connections over 80% of max_connections", "{svc} is exceeding 80% of the currently configured maximum Postgres connection limit"},
			{"RedisTooManyConnections", "warning", m2, dbStyles, "redis", "Redis too many connections (instance {inst})", "Redis is running out of connections (> 90% used)\n  VALUE = {pct}"},
			{"ElasticsearchHeapUsageWarning", "warning", m2, dbStyles, "elasticsearch", "Elasticsearch Heap Usage warning (instance {inst})", "The heap usage is over 80%\n  VALUE = {pct}"},
			{"KafkaProduceLatencyHigh", "warning", m5, []string{stCluster, stDBPod}, "kafka", "Kafka {svc}: produce p99 {n}ms", "request handler idle ratio {pct2}%"},
			{"MySQLConnectionsAbove70Percent", "warning", m5, dbStyles, "mysql", "{svc}: Threads_connected at {pct}% of max_connections", ""},
			{"RabbitmqHighConnectionChurn", "warning", m10, []string{stCluster, stDBPod, stSvc}, "rabbitmq", "More than 10% of total connections are churning in RabbitMQ cluster {svc}", "Over the last 5 minutes, {pct2}% of total connections are closed."},
		},
		[]rule{
			{"PostgresqlHighRollbackRate", "warning", m2, dbStyles, "postgres", "Postgresql high rollback rate (instance {inst})", "Ratio of transactions being aborted compared to committed is > 2 %\n  VALUE = 0.0{n}"},
			{"RedisMemoryUsageAbove80Percent", "warning", m5, dbStyles, "redis", "{svc} used_memory at {pct}% of maxmemory", "evictions will start at 100%"},
			{"ElasticsearchDiskSpaceLow", "warning", m2, []string{stCluster, stDBPod, stSvc}, "elasticsearch", "Elasticsearch disk space low (instance {inst})", "The disk usage is over 80%\n  VALUE = {pct}"},
			{"MysqlSlowQueries", "warning", m2, dbStyles, "mysql", "MySQL slow queries (instance {inst})", "MySQL server mysql has some new slow query.\n  VALUE = {n}"},
			{"KafkaLogDirUsageHigh", "warning", m15, []string{stCluster, stDBPod}, "kafka", "Kafka {svc}: log dir {pct}% used on {pod}", ""},
			{"RabbitmqFileDescriptorsNearLimit", "warning", m10, []string{stCluster, stDBPod, stSvc}, "rabbitmq", "More than 80% of file descriptors are used on the RabbitMQ node(s).", "{pct}% file descriptors of file descriptor limit are used in RabbitMQ node(s) {pod}"},
		}}
	precursorService = rules{"precursor/service",
		[]rule{
			{"ContainerCPUUsageHigh", "warning", m10, []string{stKsmPod, stSvc}, "cpu", "{pod} CPU at {pct}% of its limit", ""},
			{"JVMGCPauseTimeHigh", "warning", m5, []string{stSvc}, "mem", "{svc} spends {pct2}% of its time in GC", "old gen at {pct}% after full GC"},
		},
		[]rule{
			{"ContainerMemoryUsageAbove80Percent", "warning", m10, []string{stKsmPod, stSvc}, "mem", "{pod} memory at {pct}% of its limit", ""},
			{"ProcessOpenFDsNearLimit", "warning", m5, []string{stSvc}, "conn", "{svc} has {n} of {max} file descriptors open", ""},
		}}
)

// Alerts on a service a rollout broke.
var causeDeploy = rules{"cause/bad-deploy",
	[]rule{
		{"KubePodCrashLooping", "warning", m15, []string{stKsmPod}, "crash", "Pod is crash looping.", "Pod {ns}/{pod} ({svc}) is in waiting state (reason: \"CrashLoopBackOff\")."},
		{"KubeDeploymentRolloutStuck", "warning", m15, []string{stKsmDeploy}, "crash", "Deployment rollout is not progressing.", "Rollout of deployment {ns}/{svc} is not progressing for longer than 15 minutes."},
		{"{D}ErrorRateAfterDeploy", "critical", m2, []string{stSvc}, "errors", "{svc} errors up {n}x since {ver} rolled out", "{text}"},
		{"ArgoCdAppUnhealthy", "warning", m5, []string{stApp}, "crash", "ArgoCD application {svc} is Degraded", "health_status Degraded after sync to {ver}"},
	},
	[]rule{
		{"KubernetesPodCrashLooping", "warning", m2, []string{stKsmPod}, "crash", "Kubernetes pod crash looping ({ns}/{pod})", "Pod {ns}/{pod} is crash looping\n  VALUE = {n}"},
		{"KubeDeploymentGenerationMismatch", "warning", m15, []string{stKsmDeploy}, "crash", "Deployment generation mismatch due to possible roll-back", "Deployment generation for {ns}/{svc} does not match, this indicates that the Deployment has failed but has not been rolled back."},
		{"{D}ReleaseErrorSpike", "critical", m1, []string{stSvc}, "errors", "{svc} error spike after release {ver}", "{text}"},
		{"FluxHelmReleaseNotReady", "warning", m5, []string{stApp}, "crash", "HelmRelease {ns}/{svc} is not ready", "upgrade to {ver} failed: {n} pods not ready"},
	}}

// Alerts on a failing worker node (cause) and the warnings before it.
var (
	causeNode = rules{"cause/node",
		[]rule{
			{"KubeNodeNotReady", "warning", m15, []string{stNodeKSM}, "down", "Node is not ready.", "{node} has been unready for more than 15 minutes."},
			{"KubeNodeUnreachable", "warning", m15, []string{stNodeKSM}, "down", "Node is unreachable.", "{node} is unreachable and some workloads may be rescheduled."},
			{"NodeFilesystemAlmostOutOfSpace", "critical", m30, []string{stNodeExp}, "disk", "Filesystem has less than 3% space left.", "Filesystem on /dev/nvme0n1p1, mounted on /, at {inst} has only {pct2}% available space left."},
			{"NodeHighNumberConntrackEntriesUsed", "warning", 0, []string{stNodeExp}, "conn", "Number of conntrack are getting close to the limit.", "{pct}% of conntrack entries are used."},
			{"KubeletDown", "critical", m15, []string{stKubelet}, "down", "Target disappeared from Prometheus target discovery.", "Kubelet on {node} has disappeared from Prometheus target discovery."},
		},
		[]rule{
			{"KubernetesNodeNotReady", "critical", m10, []string{stNodeKSM}, "down", "Kubernetes Node ready (node {node})", "Node {node} has been unready for a long time\n  VALUE = 0"},
			{"KubernetesNodeMemoryPressure", "critical", m2, []string{stNodeKSM}, "mem", "Kubernetes memory pressure (node {node})", "Node {node} has MemoryPressure condition\n  VALUE = 1"},
			{"HostOutOfDiskSpace", "warning", m2, []string{stNodeExp}, "disk", "Host out of disk space (instance {inst})", "Disk is almost full (< 10% left)\n  VALUE = {pct2}"},
			{"HostOutOfMemory", "warning", m2, []string{stNodeExp}, "mem", "Host out of memory (instance {inst})", "Node memory is filling up (< 10% left)\n  VALUE = {pct2}"},
			{"HostConntrackLimit", "warning", m5, []string{stNodeExp}, "conn", "Host conntrack limit (instance {inst})", "The number of conntrack is approaching limit\n  VALUE = 0.{pct}"},
		}}
	precursorNode = rules{"precursor/node",
		[]rule{
			{"NodeFilesystemSpaceFillingUp", "warning", h1, []string{stNodeExp}, "disk", "Filesystem is predicted to run out of space within the next 24 hours.", "Filesystem on /dev/nvme0n1p1, mounted on /, at {inst} has only {pct2}% available space left and is filling up."},
			{"NodeMemoryMajorPagesFaults", "warning", m15, []string{stNodeExp}, "mem", "Memory major page faults are occurring at very high rate.", "Memory major pages are occurring at very high rate at {inst}, {n} major page faults per second for the last 15 minutes."},
			{"NodeSystemSaturation", "warning", m15, []string{stNodeExp}, "cpu", "System saturated, load per core is very high.", "System load per core at {inst} has been above 2 for the last 15 minutes, is currently at {n2}."},
		},
		[]rule{
			{"HostDiskWillFillIn24Hours", "warning", m2, []string{stNodeExp}, "disk", "Host disk will fill in 24 hours (instance {inst})", "Filesystem is predicted to run out of space within the next 24 hours at current write rate\n  VALUE = {pct2}"},
			{"HostMemoryUnderMemoryPressure", "warning", m2, []string{stNodeExp}, "mem", "Host memory under memory pressure (instance {inst})", "The node is under heavy memory pressure. High rate of loading memory pages from disk.\n  VALUE = {n}"},
			{"HostCpuStealNoisyNeighbor", "warning", 0, []string{stNodeExp}, "cpu", "Host CPU steal noisy neighbor (instance {inst})", "CPU steal is > 10%. A noisy neighbor is killing VM performances or a spot instance may be out of credit.\n  VALUE = {pct2}"},
		}}
)

// CoreDNS's own alerts. Mode "fwd" marks those about the upstream.
var causeDNS = rules{"cause/dns",
	[]rule{
		{"CoreDNSDown", "critical", m15, []string{stCoreDNS}, "local", "CoreDNS has disappeared from Prometheus target discovery.", "CoreDNS has disappeared from Prometheus target discovery."},
		{"CoreDNSErrorsHigh", "critical", m10, []string{stCoreDNS}, "local", "CoreDNS is returning SERVFAIL.", "CoreDNS is returning SERVFAIL for {pct}% of requests."},
		{"CoreDNSForwardErrorsHigh", "critical", m10, []string{stCoreDNS}, "fwd", "CoreDNS is returning SERVFAIL for forward requests.", "CoreDNS is returning SERVFAIL for {pct}% of forward requests to {fwd}."},
		{"CoreDNSForwardHealthcheckFailureCount", "warning", m2, []string{stCoreDNS}, "fwd", "CoreDNS health checks have failed to upstream server.", "CoreDNS health checks have failed to upstream server {fwd}."},
	},
	[]rule{
		{"CoreDNSLatencyHigh", "critical", m10, []string{stCoreDNS}, "local", "CoreDNS is experiencing high latency.", "CoreDNS has 99th percentile latency of {n2} seconds for server dns://:53 zone cluster.local ."},
		{"CorednsPanicCount", "critical", 0, []string{stCoreDNS}, "local", "CoreDNS Panic Count (instance {inst})", "Number of CoreDNS panics encountered\n  VALUE = {n}"},
		{"CoreDNSForwardLatencyHigh", "critical", m10, []string{stCoreDNS}, "fwd", "CoreDNS is experiencing high latency forwarding requests.", "CoreDNS has 99th percentile latency of {n2} seconds forwarding requests to {fwd}."},
		{"CoreDNSForwardHealthcheckBrokenCount", "warning", m2, []string{stCoreDNS}, "fwd", "CoreDNS health checks have failed for all upstream servers.", "CoreDNS health checks failed for all upstream servers ({fwd})."},
	}}

// Alerts about a provider itself (status page, probes).
var causeExternal = rules{"cause/external",
	[]rule{
		{"StatuspageComponentDegraded", "warning", 0, []string{stStatus}, "", "{P} status page: {component} {status}", "{P} reports an incident: \"Elevated error rates on the {component}\""},
		{"BlackboxProbeFailed", "critical", 0, []string{stBlackbox}, "", "Blackbox probe failed (instance {url})", "Probe failed\n  VALUE = 0"},
		{"ProviderStatusIncident", "warning", m1, []string{stStatus}, "", "Open incident on {P} status page", "{component}: {status}"},
	},
	[]rule{
		{"StatusPageIncidentOpen", "warning", 0, []string{stStatus}, "", "{P}: incident open for {component}", "status {status} since {dur} ago"},
		{"BlackboxProbeHttpFailure", "critical", 0, []string{stBlackbox}, "", "Blackbox probe HTTP failure (instance {url})", "HTTP status code is not 200-399\n  VALUE = 503"},
		{"BlackboxSlowProbe", "warning", m1, []string{stBlackbox}, "", "Blackbox slow probe (instance {url})", "Blackbox probe took more than 1s to complete\n  VALUE = {n2}"},
	}}

// Optional alerts of shared infrastructure, by kind.
var (
	causeLB = rules{"cause/loadbalancer",
		[]rule{
			{"AWSALBUnHealthyHostCount", "warning", m5, []string{stYaceLB}, "", "{lb}: {n} unhealthy targets", "UnHealthyHostCount > 0 for 5m"},
			{"AWSNLBTCPTargetResetCountHigh", "warning", m5, []string{stYaceLB}, "", "{lb}: {n} target resets/min", ""},
		},
		[]rule{
			{"AWSELBHealthyHostCountLow", "critical", m5, []string{stYaceLB}, "", "{lb}: HealthyHostCount {n2}", ""},
			{"HAProxyBackendDown", "critical", m1, []string{stYaceLB}, "", "HAProxy backend down ({lb})", "HAProxy backend is down\n  VALUE = 0"},
		}}
	causeProxy = rules{"cause/proxy",
		[]rule{
			{"SquidServiceDown", "critical", m2, []string{stInfraSvc}, "", "{svc} is not answering", "squid_up == 0"},
			{"EgressProxyErrorRateHigh", "warning", m5, []string{stInfraSvc}, "", "{svc}: {pct}% of CONNECTs fail", ""},
		},
		[]rule{
			{"EnvoyEgressUpstreamFailures", "warning", m5, []string{stInfraSvc}, "", "{svc}: upstream_cx_connect_fail rising", ""},
			{"SmokescreenDenyRateHigh", "warning", m5, []string{stInfraSvc}, "", "{svc} denies {pct}% of egress", ""},
		}}
	causeStorage = rules{"cause/storage",
		[]rule{
			{"AWSEFSBurstCreditBalanceLow", "warning", m10, []string{stYaceEFS}, "", "EFS {fs}: BurstCreditBalance near zero", "throughput throttled to the baseline rate"},
			{"KubePersistentVolumeErrors", "critical", m5, []string{stInfraSvc}, "", "PersistentVolume is having issues with provisioning.", "The persistent volume {pv} has status Failed."},
		},
		[]rule{
			{"EFSPercentIOLimitHigh", "warning", m10, []string{stYaceEFS}, "", "EFS {fs}: PercentIOLimit {pct}%", ""},
			{"NFSServerNotResponding", "critical", m2, []string{stInfraSvc}, "", "NFS server {svc} not responding", "nfs client RPC retransmissions rising on {n} nodes"},
		}}
	causeCA = rules{"cause/ca",
		[]rule{
			{"CertManagerCertNotReady", "critical", m10, []string{stCert}, "", "The cert `{cert}` is not ready to serve traffic.", "This certificate has not been ready to serve traffic for at least 10m. If the cert is being renewed or there is another valid cert, the ingress controller _may_ be able to serve that instead."},
			{"CertManagerCertExpirySoon", "warning", h1, []string{stCert}, "", "The cert `{cert}` is {n} days away from expiring.", "The domain that this cert covers will be unavailable after {dur}. Clients using endpoints that this cert protects will start to fail in {dur}."},
		},
		[]rule{
			{"VaultPKIIntermediateExpiring", "warning", h1, []string{stInfraSvc}, "", "{svc}: intermediate CA expires in {dur}", "issue/renew calls will fail once it expires"},
			{"CertificateRenewalFailing", "critical", m10, []string{stCert}, "", "Certificate {cert} failed to renew", "issuer returned an error; the current certificate expires in {dur}"},
		}}
	causeNTP = rules{"cause/ntp",
		[]rule{
			{"NodeClockNotSynchronising", "critical", m10, []string{stNodeExp}, "", "Clock not synchronising.", "Clock at {inst} is not synchronising. Ensure NTP is configured on this host."},
			{"NodeClockSkewDetected", "warning", m10, []string{stNodeExp}, "", "Clock skew detected.", "Clock at {inst} is out of sync by more than 0.05s. Ensure NTP is configured correctly on this host."},
		},
		[]rule{
			{"HostClockNotSynchronising", "warning", m2, []string{stNodeExp}, "", "Host clock not synchronising (instance {inst})", "Clock not synchronising. Ensure NTP is configured on this host.\n  VALUE = 16"},
			{"HostClockSkew", "warning", m10, []string{stNodeExp}, "", "Host clock skew (instance {inst})", "Clock skew detected. Clock is out of sync. Ensure NTP is configured correctly on this host.\n  VALUE = {n2}"},
		}}
)

// Symptoms on the services a failure reaches.
var (
	symptomErrors = rules{"symptom/errors",
		[]rule{
			{"ServiceErrorRateHigh", "warning", m2, appStyles, "", "{svc} error rate {pct}%", "{text}"},
			{"HTTPErrorRateHigh", "warning", m2, appStyles, "", "{svc} 5xx ratio {pct}%", "{text}"},
			{"GRPCServerErrorRateHigh", "warning", m2, appStyles, "", "{svc}: {pct}% of RPCs fail", "{text}"},
			{"{D}ErrorRateHigh", "critical", m1, []string{stSvc}, "", "{svc} error rate {pct}%", "{text}"},
			{"{D}5xxRatioHigh", "warning", m2, []string{stSvc}, "", "{pct}% of {svc} requests answer 5xx", "{text}"},
		},
		[]rule{
			{"HighErrorRate", "warning", m5, appStyles, "", "High error rate on {svc}: {pct}%", "{text}"},
			{"APIHighErrorRate", "warning", m2, appStyles, "", "{svc} API errors at {pct}%", "{text}"},
			{"GrpcErrorsHigh", "warning", m2, appStyles, "", "{svc} gRPC error ratio {pct}%", "{text}"},
			{"{D}HighErrorRate", "critical", m1, []string{stSvc}, "", "{svc}: {pct}% of requests failing", "{text}"},
			{"{D}RequestFailuresHigh", "warning", m2, []string{stSvc}, "", "{svc} request failures {n}/s", "{text}"},
		}}
	symptomLatency = rules{"symptom/latency",
		[]rule{
			{"ServiceLatencyHigh", "warning", m5, appStyles, "", "{svc} p99 latency {lat}s", "{text}"},
			{"HTTPLatencyP99High", "warning", m5, appStyles, "", "{svc} p99 {lat}s (SLO 800ms)", "{text}"},
			{"{D}LatencyBudgetBurn", "critical", m2, []string{stSvc}, "", "{svc} is burning its latency budget", "{text}"},
		},
		[]rule{
			{"APIHighLatency", "warning", m5, appStyles, "", "{svc} API p95 latency {lat}s", "{text}"},
			{"RequestLatencyHigh", "warning", m5, appStyles, "", "Request latency on {svc} is {lat}s", "{text}"},
			{"{D}P99LatencyHigh", "critical", m2, []string{stSvc}, "", "{svc} p99 above {lat}s", "{text}"},
		}}
	symptomClient = rules{"symptom/datastore-client",
		[]rule{
			{"DatabaseConnectionErrors", "warning", m2, []string{stSvc}, "", "{svc} cannot open connections to {dep}", "{text}"},
			{"{D}DBPoolSaturated", "critical", m1, []string{stSvc}, "", "{svc} connection pool {pct}% busy, {n} waiting", "{text}"},
			{"RedisClientErrors", "warning", m2, []string{stSvc}, "", "{svc}: cache errors {n}/s", "{text}"},
		},
		[]rule{
			{"DBConnectionFailures", "warning", m2, []string{stSvc}, "", "{svc}: connection failures to {dep}", "{text}"},
			{"SQLClientErrorsHigh", "warning", m2, []string{stSvc}, "", "{svc} SQL errors {n}/min", "{text}"},
			{"{D}CacheTimeouts", "warning", m2, []string{stSvc}, "", "{svc} cache calls timing out", "{text}"},
		}}
	symptomQueue = rules{"symptom/queue",
		[]rule{
			{"KafkaConsumerGroupLagHigh", "warning", m5, []string{stConsumer}, "", "consumer group {svc} lag {n} on {topic}", "{text}"},
			{"RabbitmqQueueBacklog", "warning", m5, []string{stWorkQueue}, "", "queue {queue} has {n} messages ready", "{text}"},
			{"{D}JobBacklogGrowing", "warning", m5, []string{stSvc}, "", "{svc} backlog {n} jobs", "{text}"},
		},
		[]rule{
			{"KafkaConsumersGroupLag", "warning", m1, []string{stConsumer}, "", "Kafka consumers group (instance {inst})", "Kafka consumers group lag\n  VALUE = {n}"},
			{"RabbitmqTooManyMessagesInQueue", "warning", m2, []string{stWorkQueue}, "", "queue {queue} has {n} messages", "{text}"},
			{"SidekiqQueueLatencyHigh", "warning", m5, []string{stWorkQueue}, "", "Sidekiq queue {queue} latency {n}s", "{text}"},
		}}
	symptomPod = rules{"symptom/pod",
		[]rule{
			{"KubePodNotReady", "warning", m15, []string{stPod}, "", "Pod has been in a non-ready state for more than 15 minutes.", "Pod {ns}/{pod} has been in a non-ready state for longer than 15 minutes."},
			{"KubeDeploymentReplicasMismatch", "warning", m15, []string{stKsmDeploy}, "", "Deployment has not matched the expected number of replicas.", "Deployment {ns}/{svc} has not matched the expected number of replicas for longer than 15 minutes."},
			{"KubeContainerWaiting", "warning", h1, []string{stKsmPod}, "", "Pod container waiting longer than 1 hour", "pod/{pod} in namespace {ns} on container {svc} has been in waiting state for longer than 1 hour."},
			{"TargetDown", "warning", m10, []string{stJob}, "", "One or more targets are unreachable.", "{pct}% of the {svc}/{svc} targets in {ns} namespace are down."},
		},
		[]rule{
			{"KubernetesPodNotHealthy", "critical", m15, []string{stPod}, "", "Kubernetes Pod not healthy ({ns}/{pod})", "Pod {ns}/{pod} has been in a non-running state for longer than 15 minutes.\n  VALUE = 1"},
			{"KubernetesDeploymentReplicasMismatch", "warning", m10, []string{stKsmDeploy}, "", "Kubernetes Deployment replicas mismatch ({ns}/{svc})", "Deployment Replicas mismatch\n  VALUE = {n}"},
			{"KubernetesStatefulsetDown", "critical", m1, []string{stKsmDeploy}, "", "Kubernetes StatefulSet down ({ns}/{svc})", "StatefulSet went down\n  VALUE = 0"},
			{"PrometheusTargetMissing", "critical", 0, []string{stJob}, "", "Prometheus target missing (instance {ip}:8080)", "A Prometheus target has disappeared. An exporter might be crashed.\n  VALUE = 0"},
		}}
	symptomEdge = rules{"symptom/edge",
		[]rule{
			{"NginxHighHttp5xxErrorRate", "critical", m1, edgeStyles, "", "Nginx high HTTP 5xx error rate (ingress {ingress})", "Too many HTTP requests with status 5xx (> 5%)\n  VALUE = {pct}"},
			{"AWSALBTarget5XXCountHigh", "warning", m5, []string{stALB}, "", "ALB target 5XX on {tg}", "HTTPCode_Target_5XX_Count {n}/min"},
			{"EnvoyUpstreamErrorsHigh", "warning", m2, []string{stIngress}, "", "upstream {svc} 5xx {pct}% at the edge", "{text}"},
		},
		[]rule{
			{"IngressNginx5xxRatioHigh", "warning", m2, edgeStyles, "", "5xx on ingress {ingress} for service {svc}: {pct}%", "{text}"},
			{"TraefikHighHttp5xxErrorRateService", "critical", m1, []string{stIngress}, "", "Traefik high HTTP 5xx error rate service (instance {inst})", "Traefik service 5xx error rate is above 5%\n  VALUE = {pct}"},
			{"ALBHTTPCodeTarget5XXHigh", "warning", m5, []string{stALB}, "", "{tg}: HTTPCode_Target_5XX_Count {n}", ""},
		}}
	symptomSLO = rules{"symptom/slo",
		[]rule{
			{"{D}AvailabilityBudgetBurn", "critical", 0, []string{stSloth}, "", "({sloth}) {svc} requests-availability SLO error budget burn rate is too fast.", "{n2}x burn rate over 5m and 1h"},
			{"ErrorBudgetBurn", "critical", m2, []string{stPyrra}, "", "{svc}-availability is burning its error budget too fast", ""},
			{"SLOErrorBudgetBurnFast", "critical", m2, []string{stSloth}, "", "{svc} burns its 30d error budget at {n2}x", ""},
		},
		[]rule{
			{"{D}ErrorBudgetBurning", "critical", 0, []string{stSloth}, "", "({sloth}) {svc} availability SLO error budget burn rate is too fast.", ""},
			{"SLOBurnRateTooHigh", "critical", m2, []string{stPyrra}, "", "SLO {svc}-availability: burn rate {n2}", ""},
			{"SloErrorBudgetBurnRate", "warning", m5, []string{stSloth}, "", "{svc}: {pct2}% of the monthly error budget spent in 1h", ""},
		}}
	symptomBusiness = rules{"symptom/business",
		[]rule{
			{"CheckoutConversionDrop", "critical", m5, []string{stNone}, "", "checkout conversion {pct2}% (baseline 3.1%)", ""},
			{"OrdersPerMinuteLow", "critical", m5, []string{stNone}, "", "orders/min {pct}% below the same hour last week", ""},
			{"PaymentSuccessRateLow", "critical", m5, []string{stNone}, "", "payment success rate {pct}% (baseline 97%)", ""},
			{"SignupRateDrop", "warning", m10, []string{stNone}, "", "signups/hour down {pct}% on last week", ""},
		},
		[]rule{
			{"CartAbandonmentSpike", "warning", m10, []string{stNone}, "", "cart abandonment {pct}% (baseline 68%)", ""},
			{"BookingVolumeDrop", "critical", m5, []string{stNone}, "", "bookings/min {pct}% below forecast", ""},
			{"LoginSuccessRateLow", "critical", m5, []string{stNone}, "", "login success {pct}% over 10m", ""},
			{"DeliveredMessagesDrop", "warning", m10, []string{stNone}, "", "delivered messages/min down {pct}%", ""},
		}}
	symptomExternal = rules{"symptom/external-caller",
		[]rule{
			{"ExternalProviderErrorRateHigh", "critical", m2, []string{stProvider}, "", "{P} API calls failing: {pct}%", "{text}"},
			{"PaymentProviderErrorsHigh", "critical", m2, []string{stProvider}, "", "{svc}: {P} errors {pct}%", "{text}"},
			{"{D}UpstreamDependencyErrors", "warning", m2, []string{stProvider}, "", "{svc} calls to {P} failing", "{text}"},
		},
		[]rule{
			{"ExternalAPIFailures", "critical", m2, []string{stProvider}, "", "{svc} → {P}: {pct}% failures", "{text}"},
			{"VendorAPIErrorRate", "warning", m5, []string{stProvider}, "", "vendor {P} error rate {pct}% from {svc}", "{text}"},
			{"{D}ProviderCallsFailing", "critical", m2, []string{stProvider}, "", "{svc}: {P} requests failing", "{text}"},
		}}
	symptomInfra = rules{"symptom/infra",
		[]rule{
			{"KubeDaemonSetRolloutStuck", "warning", m15, []string{stKsmDeploy}, "", "DaemonSet rollout is stuck.", "DaemonSet {ns}/{svc} has not finished or progressed for at least 15 minutes."},
			{"KubeStatefulSetReplicasMismatch", "warning", m15, []string{stKsmDeploy}, "", "StatefulSet has not matched the expected number of replicas.", "StatefulSet {ns}/{svc} has not matched the expected number of replicas for longer than 15 minutes."},
		},
		[]rule{
			{"KubernetesDaemonsetRolloutStuck", "warning", m10, []string{stKsmDeploy}, "", "Kubernetes DaemonSet rollout stuck ({ns}/{svc})", "Some Pods of DaemonSet are not scheduled or not ready\n  VALUE = {n}"},
			{"KubernetesStatefulsetReplicasMismatch", "warning", m10, []string{stKsmDeploy}, "", "Kubernetes StatefulSet replicas mismatch ({ns}/{svc})", "StatefulSet does not match the expected number of replicas.\n  VALUE = {n}"},
		}}
)

// Noise: unrelated alerts in the same window, and warnings that have fired
// for hours.
var (
	noiseWindow = rules{"noise/window",
		[]rule{
			{"CPUThrottlingHigh", "info", m15, []string{stKsmPod}, "", "Processes experience elevated CPU throttling.", "{pct}% throttling of CPU in namespace {ns} for container {svc} in pod {pod}."},
			{"KubeJobFailed", "warning", m15, []string{stKsmDeploy}, "", "Job failed to complete.", "Job {ns}/{svc}-nightly-{n} failed to complete. Removing failed job after investigation should clear this alert."},
			{"KubePersistentVolumeFillingUp", "warning", h1, []string{stKsmDeploy}, "", "PersistentVolume is filling up.", "Based on recent sampling, the PersistentVolume claimed by data-{svc}-0 in Namespace {ns} is expected to fill up within four days. Currently {pct2}% is available."},
			{"KubeHpaReplicasMismatch", "warning", m15, []string{stKsmDeploy}, "", "HPA has not matched desired number of replicas.", "HPA {ns}/{svc} has not matched the desired number of replicas for longer than 15 minutes."},
		},
		[]rule{
			{"ContainerHighThrottleRate", "warning", m2, []string{stKsmPod}, "", "Container high throttle rate ({pod})", "Container is being throttled\n  VALUE = {pct}"},
			{"KubernetesJobFailed", "warning", 0, []string{stKsmDeploy}, "", "Kubernetes Job failed ({ns}/{svc}-backfill)", "Job {ns}/{svc}-backfill failed to complete\n  VALUE = 1"},
			{"KubernetesVolumeOutOfDiskSpace", "warning", m2, []string{stKsmDeploy}, "", "Kubernetes Volume out of disk space (instance {inst})", "Volume is almost full (< 10% left)\n  VALUE = {pct2}"},
			{"KubernetesHpaScaleInability", "warning", m2, []string{stKsmDeploy}, "", "Kubernetes HPA scale inability ({ns}/{svc})", "HPA is unable to scale\n  VALUE = 1"},
		}}
	noiseLong = rules{"noise/long-running",
		[]rule{
			{"KubeVersionMismatch", "warning", m15, []string{stNone}, "", "Different semantic versions of Kubernetes components running.", "There are 2 different semantic versions of Kubernetes components running."},
			{"KubeClientCertificateExpiration", "warning", m5, []string{stNone}, "", "Client certificate is about to expire.", "A client certificate used to authenticate to kubernetes apiserver is expiring in less than 7.0 days."},
			{"NodeTextFileCollectorScrapeError", "warning", 0, []string{stNone}, "", "Node Exporter text file collector failed to scrape.", "Node Exporter text file collector on {ip}:9100 failed to scrape."},
			{"{D}DependencyDeprecated", "info", h1, []string{stSvc}, "", "{svc} still calls a deprecated API version", ""},
		},
		[]rule{
			{"KubernetesApiClientErrors", "warning", m2, []string{stNone}, "", "Kubernetes API client errors (instance {ip}:443)", "Kubernetes API client is experiencing high error rate\n  VALUE = {pct2}"},
			{"HostKernelVersionDeviations", "warning", h1, []string{stNone}, "", "Host kernel version deviations (instance {ip}:9100)", "Different kernel versions are running\n  VALUE = 2"},
			{"PrometheusTsdbCompactionsFailed", "warning", 0, []string{stNone}, "", "Prometheus TSDB compactions failed (instance {ip}:9090)", "Prometheus encountered {n} TSDB compactions failures"},
			{"{D}CertificateRotationDue", "info", h1, []string{stSvc}, "", "{svc} client certificate rotation due in {n} days", ""},
		}}
)

// allRules lists every rule vocabulary (Vocabularies reports them).
var allRules = []rules{
	causePostgres, causeMySQL, causeRedis, causeKafka, causeRabbit, causeES, causeService,
	precursorStore, precursorService, causeDeploy, causeNode, precursorNode, causeDNS, causeExternal,
	causeLB, causeProxy, causeStorage, causeCA, causeNTP,
	symptomErrors, symptomLatency, symptomClient, symptomQueue, symptomPod, symptomEdge, symptomSLO,
	symptomBusiness, symptomExternal, symptomInfra, downStore, noiseWindow, noiseLong,
}

// causeByTech picks the cause vocabulary of a datastore technology.
func causeByTech(tech string) rules {
	switch tech {
	case "postgres":
		return causePostgres
	case "mysql":
		return causeMySQL
	case "redis":
		return causeRedis
	case "kafka":
		return causeKafka
	case "rabbitmq":
		return causeRabbit
	case "elasticsearch":
		return causeES
	}
	return causeService
}
