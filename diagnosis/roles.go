package diagnosis

import (
	"strings"
	"sync"
	"unicode"
)

// An alert's role says what it reports about the thing it is about: that the
// thing itself broke (a cause), that it is near a limit (saturation), that
// its users suffer (a symptom), or that work piles up in front of it (a
// backlog, which is the consumer's failure more often than the queue's).
// The role of a candidate's own alerts is evidence for or against it being
// the root cause; it never decides on its own.
//
// Knowledge of roles lives here and in roles_upstream.go, nowhere else, in
// three layers:
//  1. upstreamRoles (roles_upstream.go): alert names of widely deployed
//     upstream rule sets, each group citing its source. A name found there
//     is read as its authors meant it.
//  2. Labels and annotations a rule's author sets: root_cause_candidate (read
//     by the engine as the author's claim), and the SLO tools' labels (Sloth's
//     sloth_slo/sloth_service, Pyrra's slo) that mark a burn-rate alert.
//  3. roleWords: the words of the golden signals (latency, traffic,
//     errors, saturation; Google SRE book, ch. 6) and of the USE method
//     (utilisation, saturation, errors; Gregg) as they appear in alert names
//     written in any organisation. A name is split into words at case
//     changes, digits and punctuation, and only whole words count.
//
// Any other name is neutral.
type role int

const (
	roleNeutral    role = iota
	roleSymptom         // errors, latency, a burning SLO, a failed probe: what users feel
	roleBacklog         // a queue or consumer lag grows: the consumer's trouble
	roleSaturation      // near a limit: CPU throttled, memory high, autoscaler at its maximum
	roleState           // the workload is not ready or short of replicas: often waiting on something else
	roleCrash           // the workload itself fails to run: crash loops, OOM kills, stuck rollouts
	roleCause           // the thing itself broke: down, full, exhausted, expired, no quorum
)

func (r role) String() string {
	return [...]string{"neutral", "symptom", "backlog", "saturation", "state", "crash", "cause"}[r]
}

// roleWords: words of alert names that say a role in any organisation's
// naming, from the golden signals and the USE method. Checked in the order
// of genericOrder: a name with a cause word and a symptom word ("...
// ErrorsFromPoolExhausted") reports the cause.
var roleWords = map[role][]string{
	roleCause: {"down", "exhausted", "exhaustion", "full", "outofspace", "outofmemory",
		"unavailable", "unreachable", "offline", "dead", "deadlock", "deadlocks", "expired", "expiring", "expiry",
		"corrupt", "corrupted", "readonly", "noleader", "quorum", "evicted", "evictions", "failover", "fillingup",
		"nospace", "rejected", "refused", "leak", "splitbrain", "partitioned", "failed", "failure"},
	roleCrash: {"crashloop", "crashlooping", "crashing", "crashed", "oomkilled", "oomkiller", "restarting", "restarts", "restarted", "panic", "panics"},
	roleState: {"notready", "unhealthy", "flapping", "pending", "stuck", "mismatch"},
	roleSaturation: {"saturated", "saturation", "throttling", "throttled", "pressure", "utilization", "utilisation", "usage", "maxed", "maxedout", "overcommit", "cpu", "memory", "iowait", "load", "connections", "pool", "quota", "limit",
		"replicationlag", "replicalag", "replicationdelay", "replicadelay"}, // a replica behind its primary: its own limit, not a consumer's backlog
	roleBacklog: {"lag", "backlog", "queued", "unacked", "unprocessed"},
	roleSymptom: {"error", "errors", "errorrate", "failurerate", "failureratio", "5xx", "4xx", "latency", "slow", "timeout", "timeouts", "burn", "burnrate",
		"budget", "slo", "sli", "availability", "success", "successrate", "probe", "synthetic", "apdex", "drop",
		"below", "baseline", "stale", "degraded", "failures", "failing", "declined", "dropped", "drops"},
}

// changeWords name a change someone shipped: a deploy, a rollout, a
// release, an upgrade, a GitOps sync (Argo CD, Flux, Helm). A name that
// pairs one with trouble reports a change that broke its own workload.
// "deployment" is not among them: it names a Kubernetes object, whose
// replicas may be short for reasons of their own.
var changeWords = map[string]bool{"deploy": true, "deployed": true, "rollout": true, "release": true, "released": true,
	"upgrade": true, "upgraded": true, "sync": true, "synced": true, "helm": true, "argo": true, "argocd": true,
	"flux": true, "canary": true, "reconciliation": true}

func changed(words []string) bool {
	for _, w := range words {
		if changeWords[w] {
			return true
		}
	}
	return false
}

var genericOrder = []role{roleCause, roleCrash, roleState, roleBacklog, roleSymptom, roleSaturation}

// wordRole indexes genericWords.
var wordRole = func() map[string]role {
	out := map[string]role{}
	for _, r := range genericOrder {
		for _, w := range roleWords[r] {
			if _, dup := out[w]; !dup {
				out[w] = r
			}
		}
	}
	return out
}()

// roleOf reads an alert's role: the upstream table, the SLO tools' labels,
// then the words of its name.
func roleOf(a Alert) role {
	name := a.Name()
	if forecast(a) {
		return roleSaturation
	}
	if r, ok := upstreamRoles[name]; ok {
		return r
	}
	for _, l := range []string{"sloth_slo", "sloth_id", "slo"} {
		if a.Labels[l] != "" {
			return roleSymptom
		}
	}
	return nameRole(name)
}

// forecast: a "filling up" alert below critical is a forecast, not an
// outage. The kubernetes-mixin's KubePersistentVolumeFillingUp warns when
// a volume is predicted to fill within four days, the node-exporter
// mixin's NodeFilesystemSpaceFillingUp within 24 hours; only at critical
// is the space (nearly) gone. A volume that will be full on Friday is near
// a limit: saturation.
func forecast(a Alert) bool {
	if sev := strings.ToLower(a.Labels["severity"]); sev == "critical" || sev == "page" || sev == "error" {
		return false
	}
	name := a.Name()
	if v, ok := fillingMemo.Load(name); ok {
		return v.(bool)
	}
	words, filling := nameWords(name), false
	for i := 0; i+1 < len(words); i++ {
		filling = filling || words[i] == "filling" && words[i+1] == "up"
	}
	fillingMemo.Store(name, filling)
	return filling
}

var fillingMemo sync.Map // alert name → whether it says "filling up"

var nameRoleMemo sync.Map // alert name → role

// nameRole reads a custom alert name by its words.
func nameRole(name string) role {
	if v, ok := nameRoleMemo.Load(name); ok {
		return v.(role)
	}
	words := nameWords(name)
	found := map[role]bool{}
	// A compound says more than its words ("failure rate" is a rate of
	// failures, a symptom; "failure" alone a cause): the longest form
	// starting at a word wins and covers the words it spans.
	for i := 0; i < len(words); {
		n := 0
		for k := min(3, len(words)-i); k >= 1; k-- { // "out of space", "crash loop", "not ready"
			if r, ok := wordRole[strings.Join(words[i:i+k], "")]; ok {
				found[r], n = true, k
				break
			}
		}
		i += max(n, 1)
	}
	out := roleNeutral
	for _, r := range genericOrder {
		if found[r] {
			out = r
			break
		}
	}
	if out != roleNeutral && out != roleSaturation && changed(words) {
		out = roleCrash // errors after a rollout are the rollout's: "ErrorRateAfterDeploy", "HelmReleaseNotReady"
	}
	nameRoleMemo.Store(name, out)
	return out
}

// nameWords splits an alert name into lower-case words at case changes,
// digits and punctuation: "HTTPErrorRateHigh" → http error rate high,
// "pg_up_down" → pg up down, "Http5xxHigh" → http 5xx high.
func nameWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, c := range rs {
		switch {
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			flush()
			continue
		case unicode.IsDigit(c):
			// digits stay with what follows when they start a token like 5xx
			if len(cur) > 0 && !unicode.IsDigit(cur[len(cur)-1]) {
				flush()
			}
		case unicode.IsUpper(c):
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]))
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			prevUpper := i > 0 && unicode.IsUpper(rs[i-1])
			if prevLower || (prevUpper && nextLower) {
				flush()
			}
		case unicode.IsLower(c):
			if len(cur) > 0 && unicode.IsDigit(cur[len(cur)-1]) && !isDigitsX(cur, c) {
				flush()
			}
		}
		cur = append(cur, c)
	}
	flush()
	return words
}

// isDigitsX keeps "5xx" and "4xx" whole.
func isDigitsX(_ []rune, c rune) bool { return c == 'x' || c == 'X' }

// familyKinds: the kind of thing an upstream rule family watches, by the
// prefix of its alert names (the families cited above). It tells what a
// node the graph does not know is.
var familyKinds = []struct{ prefix, kind string }{
	{"CoreDNS", "dns"},
	{"KubeNode", "node"}, {"Kubelet", "node"}, {"Node", "node"}, {"Host", "node"},
	{"Postgresql", "database"}, {"Postgres", "database"}, {"Mysql", "database"}, {"MySQL", "database"},
	{"etcd", "database"},
	{"Redis", "cache"},
	{"Kafka", "queue"}, {"Rabbitmq", "queue"}, {"RabbitMQ", "queue"},
	{"Elasticsearch", "search"},
	{"CertManager", "ca"},
	{"Haproxy", "loadbalancer"},
}

// familyKind is the kind an alert's rule family watches, "" when unknown.
func familyKind(a Alert) string {
	if hostAlert(a) {
		return "node"
	}
	if a.Labels["statuspage"] != "" {
		return "external" // a provider's status page
	}
	name := a.Name()
	for _, f := range familyKinds {
		if strings.HasPrefix(name, f.prefix) && len(name) > len(f.prefix) && !unicode.IsLower(rune(name[len(f.prefix)])) {
			return f.kind
		}
	}
	return ""
}
