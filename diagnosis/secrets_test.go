package diagnosis_test

import (
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestSecretNamesAreOneList(t *testing.T) {
	for name, want := range map[string]bool{
		"db_password": true, "API-Key": true, "aws_secret_access_key": true, "x-auth-token": true,
		"ssh_private_key": true, "private key": true, "credentials": true, "service": false, "namespace": false,
	} {
		if got := diagnosis.SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}
