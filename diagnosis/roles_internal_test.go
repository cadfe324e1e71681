package diagnosis

import "testing"

// TestNameRoleReadsTroubleAfterAChangeAsTheWorkloadsOwn: a custom alert
// that pairs a shipped change (deploy, release, rollout, GitOps sync) with
// trouble says the change broke the workload it is about; the Kubernetes
// object "Deployment" is no change, and saturation stays saturation.
func TestNameRoleReadsTroubleAfterAChangeAsTheWorkloadsOwn(t *testing.T) {
	wantNameRoles(t, map[string]role{
		"CheckoutErrorsAfterDeploy":  roleCrash,
		"PaymentsCanaryLatencyHigh":  roleCrash,
		"ArgoAppDegraded":            roleCrash,
		"FluxReconciliationFailed":   roleCrash,
		"CheckoutErrorRateHigh":      roleSymptom,
		"DeploymentReplicasMismatch": roleState,
		"ReleaseNotesPublished":      roleNeutral,
		"HelmUpgradeCPUThrottling":   roleSaturation,
	})
}

// TestRoleOfReadsAFillingUpWarningAsAForecast: below critical, "filling
// up" forecasts a full volume (days ahead, in the kubernetes-mixin); at
// critical the space is gone.
func TestRoleOfReadsAFillingUpWarningAsAForecast(t *testing.T) {
	for _, tc := range []struct {
		name, severity string
		want           role
	}{
		{"KubePersistentVolumeFillingUp", "warning", roleSaturation},
		{"KubePersistentVolumeFillingUp", "critical", roleCause},
		{"NodeFilesystemSpaceFillingUp", "warning", roleSaturation},
		{"OrdersDiskFillingUp", "info", roleSaturation},
		{"NodeFilesystemAlmostOutOfSpace", "warning", roleCause},
	} {
		a := Alert{Labels: map[string]string{"alertname": tc.name, "severity": tc.severity}}
		if got := roleOf(a); got != tc.want {
			t.Errorf("roleOf(%s at %s) = %s, want %s", tc.name, tc.severity, got, tc.want)
		}
	}
}

// TestNameRoleReadsACompoundBeforeItsWords: a failure rate is a rate of
// failures (a symptom), while a failure is a cause.
func TestNameRoleReadsACompoundBeforeItsWords(t *testing.T) {
	wantNameRoles(t, map[string]role{
		"SMSDeliveryFailureRateHigh": roleSymptom,
		"CheckoutFailureRatioHigh":   roleSymptom,
		"BackupJobFailure":           roleCause,
		"DiskOutOfSpace":             roleCause,
		"WorkerCrashLooping":         roleCrash,
	})
}

// TestNameRoleReadsReplicationLagAsTheReplicasOwn: a queue's or consumer's
// lag is the consumer's trouble (a backlog), but a replica that lags
// behind its primary is near its own limit, as the upstream rules say
// (PostgresqlReplicationLag, MysqlSlaveReplicationLag: saturation).
func TestNameRoleReadsReplicationLagAsTheReplicasOwn(t *testing.T) {
	wantNameRoles(t, map[string]role{
		"PostgresReplicationLagHigh":    roleSaturation,
		"LedgerReplicaLagSeconds":       roleSaturation,
		"MongoReplicationDelayHigh":     roleSaturation,
		"OrdersConsumerLagHigh":         roleBacklog,
		"KafkaConsumerGroupLagHigh":     roleBacklog,
		"ReplicationSlotBacklogGrowing": roleBacklog,
	})
}

func wantNameRoles(t *testing.T, want map[string]role) {
	t.Helper()
	for name, w := range want {
		if got := nameRole(name); got != w {
			t.Errorf("nameRole(%q) = %s, want %s", name, got, w)
		}
	}
}
