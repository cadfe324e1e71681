package diagnosis

import "fmt"

// checkFor is the one thing a person can do to confirm or rule out a
// candidate, by its kind.
func checkFor(v *rcaView, c *rcaCand) string {
	n := c.node
	first := "the incident began"
	if !v.start.IsZero() {
		first = v.start.UTC().Format("15:04") + " UTC"
	}
	switch v.kind(n) {
	case "node", "host", "vm":
		return fmt.Sprintf("`kubectl describe node %s` (conditions, pressure, events) and which pods run there", n)
	case "dns":
		return fmt.Sprintf("resolve a failing name from an affected pod (`nslookup`), and read %s's logs and forward errors", n)
	case "database", "db", "datastore":
		return fmt.Sprintf("%s's connections, locks and slow queries since %s (`/graph %s`)", n, first, n)
	case "cache":
		return fmt.Sprintf("%s's clients, memory and evictions (`INFO clients`, `INFO memory`)", n)
	case "queue", "broker":
		return fmt.Sprintf("%s's broker health and the lag of each consumer group", n)
	case "external", "provider", "cloud":
		return fmt.Sprintf("%s's status page, and the error codes its callers log", n)
	case "loadbalancer", "ingress", "gateway", "proxy", "edge", "cdn":
		return fmt.Sprintf("%s's target health and 5xx by backend", n)
	case "storage", "disk", "volume", "nfs":
		return fmt.Sprintf("%s's free space, IOPS and latency, and mount errors in its clients' logs", n)
	case "ntp", "time":
		return "clock offset on the affected nodes (`chronyc tracking` / `timedatectl`)"
	case "ca", "cert", "certificate", "pki":
		return fmt.Sprintf("the expiry and chain of the certificates %s issues (`openssl s_client`)", n)
	}
	if c.obs == nil {
		return fmt.Sprintf("it has no alert: check its health directly; `/graph %s` shows who calls it", n)
	}
	return fmt.Sprintf("`kubectl rollout history` and %s's logs since %s", n, first)
}
