// Package synth owns nightowl's synthetic incidents: random but realistic
// estates (a true dependency graph and the degraded graph file an engine is
// given), alert storms with known root causes cascading through them, and
// the two disjoint halves of alert and error-text vocabulary (Tune and Test)
// that keep an engine from being tuned to the incidents it is measured on.
//
// Nothing here reads the diagnosis engine: the generator models how clusters
// and alert storms look (kube-prometheus-stack, node-exporter, exporters,
// Sloth and Pyrra, blackbox, organisation rules), not what an engine detects.
//
// # Root types and the evidence each leaves
//
// Every incident has one root type (RootTypes), drawn in equal shares. An
// incident is only kept when a competent SRE could name its root from the
// alerts and the degraded graph; Incident.Check states these rules, and the
// generator redraws an incident that breaks them.
//
//   - saturation: a datastore, queue or service runs out of connections,
//     memory, disk or CPU. Evidence: at least one cause alert on the root
//     (often late, because database rules carry `for: 10m`, and sometimes
//     only a warning) and at least one alerting caller; direct callers often
//     quote the datastore's own error ("sorry, too many clients already").
//   - bad-deploy: a rollout breaks a service. Evidence: alerts on the root
//     itself (errors quoting a panic and the new version, crash-looping pods,
//     a stuck rollout) and at least one alerting caller whose errors name it.
//   - node: a Kubernetes worker node fails. Evidence: at least one node alert
//     naming it (`node` label or node-exporter `instance`, by name or IP),
//     and pods of at least two workloads scheduled on it alerting. Worker
//     nodes are usually absent from the graph file.
//   - dns: cluster DNS or the upstream resolver fails. Evidence: DNS failure
//     text ("lookup x on 10.96.0.10:53: i/o timeout") on at least three
//     services; CoreDNS's own alerts only sometimes. An upstream failure
//     only breaks external names; cluster DNS is then also an acceptable
//     answer (the operator's first stop is the same Corefile).
//   - external: a third-party provider fails. Evidence: at least one alert
//     naming it (a provider label, its API host in error text, a status page
//     or blackbox probe) and at least one alerting caller.
//   - silent: a dependency one or two hops below the alerting services has
//     no alert of its own, and only some of its callers may reach it.
//     Evidence: error text naming it, or else at least two alerting
//     branches below it in the degraded graph (a direct dependent that
//     alerts or has an alerting caller), at least half of its dependents
//     such branches, and no other quiet node (DNS, the auth hub) with as
//     many branches and as large a share.
//   - shared-infra: a load balancer, egress proxy, NFS/EFS volume, NTP or
//     internal CA fails and shows only as symptoms. Evidence: its failure
//     text (proxyconnect, stale NFS handle, clock skew, x509) on at least two
//     services, and its name or address in an alert when the graph file
//     lacks it.
//   - two-roots: two independent roots (each of one of the types above) in
//     one window. The expected answer is both: RootCause is the first, the
//     second is in Acceptable, so naming either counts for top-1.
//
// A root that recovers while a stuck dependent stays broken (its alerts
// resolved, the dependent's still firing) is a rarer shape of saturation,
// bad-deploy and external incidents; the stuck dependent is then also an
// acceptable answer, and the note says so.
package synth
