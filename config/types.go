package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a Go duration written as text: "90s", "5m", "1h".
type Duration struct {
	time.Duration
}

func (d *Duration) decodeNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a duration such as 30s or 5m")
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("must be a duration such as 30s or 5m, not %q", n.Value)
	}
	d.Duration = v
	return nil
}

// Rate is a number of messages per period, written "30/s", "20/m" or
// "100/h".
type Rate struct {
	N   int
	Per time.Duration
}

func (r *Rate) decodeNode(n *yaml.Node) error {
	count, unit, ok := strings.Cut(n.Value, "/")
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	v, err := strconv.Atoi(count)
	if n.Kind != yaml.ScalarNode || !ok || per == 0 || err != nil || v <= 0 {
		return fmt.Errorf("must be a rate such as 30/s, 20/m or 100/h, not %s", describe(n))
	}
	r.N, r.Per = v, per
	return nil
}

// Secret is a value that must never be printed: a token, a signing secret, a
// DSN with a password. String, LogValue and the marshalers hide it; Value
// gives it to the code that needs it.
type Secret string

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString hides the secret from %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue hides the secret from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText hides the secret from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
