package diagnosis

import "testing"

// TestNameRoleReadsTroubleAfterAChangeAsTheWorkloadsOwn: a custom alert
// that pairs a shipped change (deploy, release, rollout, GitOps sync) with
// trouble says the change broke the workload it is about; the Kubernetes
// object "Deployment" is no change, and saturation stays saturation.
func TestNameRoleReadsTroubleAfterAChangeAsTheWorkloadsOwn(t *testing.T) {
	for name, want := range map[string]role{
		"CheckoutErrorsAfterDeploy":  roleCrash,
		"PaymentsCanaryLatencyHigh":  roleCrash,
		"ArgoAppDegraded":            roleCrash,
		"FluxReconciliationFailed":   roleCrash,
		"CheckoutErrorRateHigh":      roleSymptom,
		"DeploymentReplicasMismatch": roleState,
		"ReleaseNotesPublished":      roleNeutral,
		"HelmUpgradeCPUThrottling":   roleSaturation,
	} {
		if got := nameRole(name); got != want {
			t.Errorf("nameRole(%q) = %s, want %s", name, got, want)
		}
	}
}
