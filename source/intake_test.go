package source

import (
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

// testNow is when the tests' requests come.
var testNow = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// known are the merchants the tests configure.
var known = map[string]bool{"kim-shop": true, "lee-mart": true, "ops": true}

// testRoute is a source named prom of kind that reads the merchant from
// the label merchant, and goes to ops when that names none configured.
func testRoute(kind string) Route {
	return Route{
		Source: config.Source{Name: "prom", Kind: kind, Token: "s3cret", MerchantLabel: "merchant", Merchant: "ops"},
		Known:  func(m string) bool { return known[m] },
	}
}

// keyAlphabet is what Key makes: a plain key, or 16 hex digits.
var keyAlphabet = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// checkSignals compares every field of the signals.
func checkSignals(t *testing.T, got, want []Signal) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d signals, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Source != w.Source || g.Key != w.Key || g.Merchant != w.Merchant || g.Action != w.Action ||
			g.Title != w.Title || g.Summary != w.Summary || g.Evidence != w.Evidence {
			t.Errorf("signal %d:\n got %+v\nwant %+v", i, g, w)
		}
		if !g.At.Equal(w.At) {
			t.Errorf("signal %d: At = %v, want %v", i, g.At, w.At)
		}
		if !maps.Equal(g.Labels, w.Labels) {
			t.Errorf("signal %d: Labels = %v, want %v", i, g.Labels, w.Labels)
		}
	}
}

// refusal is a body an intake must refuse, and a part of what it must
// say.
type refusal struct {
	name, body, says string
}

// checkRefusals reads each body and wants its error and no signals.
func checkRefusals(t *testing.T, in Intake, kind string, cases []refusal) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := in.Read([]byte(c.body), testRoute(kind), testNow)
			if err == nil {
				t.Fatalf("read, want an error saying %q: %+v", c.says, b)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
			if len(b.Signals) != 0 || b.Reply != nil || b.Token != "" {
				t.Errorf("a refused body gave %+v", b)
			}
		})
	}
}

// checkFuzzed is what holds of any body an intake reads.
func checkFuzzed(t *testing.T, in Intake, kind string, body []byte) {
	r := testRoute(kind)
	b, err := in.Read(body, r, testNow)
	if err != nil {
		if len(b.Signals) != 0 {
			t.Fatalf("an error (%v) with %d signals", err, len(b.Signals))
		}
		return
	}
	for i, s := range b.Signals {
		if !keyAlphabet.MatchString(s.Key) || Key(s.Key) != s.Key {
			t.Errorf("signal %d: key %q is not one Key makes", i, s.Key)
		}
		switch s.Action {
		case Down:
			if s.Merchant == "" {
				t.Errorf("signal %d: down with no merchant", i)
			}
		case Up, Ack:
		default:
			t.Errorf("signal %d: action %q", i, s.Action)
		}
		if s.Source != r.Name {
			t.Errorf("signal %d: source %q", i, s.Source)
		}
		if s.Merchant != "" && s.Merchant != r.Merchant && !known[s.Merchant] {
			t.Errorf("signal %d: merchant %q is not configured", i, s.Merchant)
		}
		if s.At.After(testNow) || s.At.IsZero() {
			t.Errorf("signal %d: at %v", i, s.At)
		}
		if len(s.Evidence) > MaxEvidence {
			t.Errorf("signal %d: %d bytes of evidence", i, len(s.Evidence))
		}
		if !strings.HasPrefix(s.Title, r.Name+"/") {
			t.Errorf("signal %d: title %q", i, s.Title)
		}
	}
}
