package main

import (
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/store/replica"
)

// replicaSettings are the rows of the configuration table for running
// replicas (docs/ha.md): the election and the database's replica.
func (c *Config) replicaSettings() []setting {
	return []setting{
		{env: "LEADER_ELECTION", def: "none", help: "none | kubernetes: replicas elect the one that speaks to Slack through a coordination.k8s.io Lease (docs/ha.md)",
			read: func(v string, p problems) {
				c.LeaderElection = strings.ToLower(v)
				if c.LeaderElection != "none" && c.LeaderElection != "kubernetes" {
					p.add("%q is not one of none, kubernetes", v)
				}
			}},
		{env: "LEASE_NAME", def: "nightowl", help: "name of the Lease the replicas elect their leader with",
			read: func(v string, _ problems) { c.LeaseName = v }},
		{env: "POD_NAMESPACE", unset: "the service account's namespace", help: "namespace of the Lease (the Deployment sets it from the downward API)",
			read: func(v string, _ problems) { c.PodNamespace = v }},
		{env: "POD_NAME", unset: "the host name", help: "this replica's name in the Lease (the Deployment sets it from the downward API)",
			read: func(v string, _ problems) { c.PodName = v }},
		{env: "LEASE_DURATION", def: "15s", help: "how long a standby waits after the leader's last renewal before it takes over; whole seconds",
			read: func(v string, p problems) {
				c.LeaseDuration = readLeaseTerm(p, v)
				if c.LeaseDuration%time.Second != 0 {
					p.add("%q is not a whole number of seconds, as the Lease keeps it", v)
				}
			}},
		{env: "LEASE_RENEW_DEADLINE", def: "10s", help: "how long the leader tries to renew the Lease before it stops speaking; below LEASE_DURATION",
			read: func(v string, p problems) {
				c.LeaseRenewDeadline = readLeaseTerm(p, v)
				if c.LeaseDuration > 0 && c.LeaseRenewDeadline >= c.LeaseDuration {
					p.add("%q is not below LEASE_DURATION (%v): the leader must stop speaking before a standby may start", v, c.LeaseDuration)
				}
			}},
		{env: "LEASE_RETRY_PERIOD", def: "2s", help: "how often replicas try to take or renew the Lease",
			read: func(v string, p problems) {
				c.LeaseRetryPeriod = readLeaseTerm(p, v)
				if c.LeaseRenewDeadline > 0 && float64(c.LeaseRenewDeadline) <= 1.2*float64(c.LeaseRetryPeriod) {
					p.add("%q leaves no room for a retry within LEASE_RENEW_DEADLINE (%v): keep it below %v", v, c.LeaseRenewDeadline,
						time.Duration(float64(c.LeaseRenewDeadline)/1.2))
				}
			}},
		{env: "REPLICA_URL", unset: "none", help: "where Litestream streams the database and a new leader restores it from: a directory, file:///path or s3://bucket/path (docs/ha.md)",
			read: func(v string, p problems) {
				c.ReplicaURL = v
				if v != "" {
					if err := replica.Check(v); err != nil {
						p.wrap(err)
					}
				}
			}},
		{env: "REPLICA_SYNC_INTERVAL", def: "1s", help: "how often new writes are shipped to REPLICA_URL: the most a crash of the leader loses",
			read: func(v string, p problems) {
				if d, err := time.ParseDuration(v); err != nil || d < 10*time.Millisecond || d > time.Minute {
					p.add("%q is not a duration from 10ms to 1m, such as 1s", v)
				} else {
					c.ReplicaSyncInterval = d
				}
			}},
	}
}

// readLeaseTerm reads one of the election's durations.
func readLeaseTerm(p problems, v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d < 100*time.Millisecond || d > 10*time.Minute {
		p.add("%q is not a duration from 100ms to 10m, such as 15s", v)
		return 0
	}
	return d
}
