package playbooks

import (
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	vars := map[string]any{
		"db_password": "hunter2hunter2",
		"api_token":   "tok-1234",
		"service":     "order-service",
		"nested":      map[string]any{"client_secret": `s3"cr3t`},
		"short_token": "ab",
	}
	tests := []struct {
		name, in, want string
	}{
		{"a name=value assignment hides the value", "login password=letmein now", "login password=[redacted] now"},
		{"a name: value pair hides the value", "db_passwd: letmein", "db_passwd: [redacted]"},
		{"a JSON pair keeps its quotes", `{"api_key": "abc123", "n": 1}`, `{"api_key": "[redacted]", "n": 1}`},
		{"a Python dict pair keeps its quotes", `{'Credentials': 'abc'}`, `{'Credentials': '[redacted]'}`},
		{"names match whatever their case", "GITHUB_TOKEN=ghp_x", "GITHUB_TOKEN=[redacted]"},
		{"a secret variable's value is hidden anywhere", "connecting with hunter2hunter2 as app", "connecting with [redacted] as app"},
		{"several secret values are all hidden", "tok-1234 and hunter2hunter2", "[redacted] and [redacted]"},
		{"a nested secret is hidden, also JSON-escaped", `msg: "s3\"cr3t"`, `msg: "[redacted]"`},
		{"a too-short secret is left alone outside assignments", "ab cd", "ab cd"},
		{"ordinary variables stay", "service=order-service", "service=order-service"},
		{"redacting twice changes nothing", "password=[redacted]", "password=[redacted]"},
	}
	r := newRedactor(vars)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedactVarsHidesSecretNamedValues(t *testing.T) {
	got := redactVars(map[string]any{"service": "checkout", "DB_PASSWORD": "x", "auth": map[string]any{"token": "y"}})
	if got["service"] != "checkout" || got["DB_PASSWORD"] != Redacted || got["auth"].(map[string]any)["token"] != Redacted {
		t.Errorf("got %v", got)
	}
	if s := newRedactor(nil).String("token=abc"); !strings.Contains(s, Redacted) {
		t.Errorf("a runner without vars still hides assignments: got %q", s)
	}
}
