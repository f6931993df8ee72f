package notifier_test

import (
	"strings"
	"testing"

	"github.com/hostwatch/hostwatch/notifier"
)

// TestRedact: the secret parts of a webhook's URL leave an error text in
// every form a receiver's page may echo them, and nothing else does.
func TestRedact(t *testing.T) {
	const hook = "https://hooks.example/in/PATHSECRET0123456/x?token=QUERYSECRET6789&v=1"
	secrets := []string{"PATHSECRET0123456", "QUERYSECRET6789"}
	tests := []struct {
		name, text, want string
	}{
		{"the URL", "POST " + hook + " failed", "POST [redacted] failed"},
		{"path and query", "no route for /in/PATHSECRET0123456/x?token=QUERYSECRET6789&v=1", "no route for [redacted]"},
		{"HTML-escaped", `<a href="https://hooks.example/in/PATHSECRET0123456/x?token=QUERYSECRET6789&amp;v=1">`, `<a href="[redacted]">`},
		{"the path alone", "unknown hook /in/PATHSECRET0123456/x", "unknown hook [redacted]"},
		{"the query alone", "bad params token=QUERYSECRET6789&v=1", "bad params [redacted]"},
		{"a token alone", `{"error":"token QUERYSECRET6789 revoked"}`, `{"error":"token [redacted] revoked"}`},
		{"nothing to take", "Internal Server Error: try again in 1 minute", "Internal Server Error: try again in 1 minute"},
		{"short pieces stay", "in x: v=2", "in x: v=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := notifier.Redact(tt.text, hook)
			if got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
	for _, tt := range tests {
		got := notifier.Redact(tt.text, hook)
		for _, s := range secrets {
			if strings.Contains(got, s) {
				t.Errorf("%s: %q left in %q", tt.name, s, got)
			}
		}
	}
}
