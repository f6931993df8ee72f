package ping

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
)

var t0 = time.Date(2026, 11, 25, 14, 2, 10, 0, time.UTC)

// ping is one ping the receiver took.
type ping struct {
	check string
	kind  monitor.PingKind
	at    time.Time
	body  string
}

type receiver struct {
	mu    sync.Mutex
	got   []ping
	fails error
}

func (r *receiver) Ping(_ context.Context, check string, kind monitor.PingKind, at time.Time, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fails != nil {
		return r.fails
	}
	r.got = append(r.got, ping{check, kind, at, string(body)})
	return nil
}

func (r *receiver) pings() []ping {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ping(nil), r.got...)
}

// TestHandler: the three URLs of a known token reach the receiver as
// what they say, with the body; anything else is "not found" and reaches
// nothing, and no answer names a check.
func TestHandler(t *testing.T) {
	r := &receiver{}
	h := Handler(Tokens{"kim-shop/backup": "tok-backup-0123456789", "kim-shop/sync": "tok-sync-0123456789"}, r,
		func() time.Time { return t0 }, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), "kim-shop") {
			t.Errorf("%s %s: the answer names a check: %q", method, path, b)
		}
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		method, path, body string
		code               int
		answer             string
		want               *ping
	}{
		{"GET", "/ping/tok-backup-0123456789", "", 200, "OK", &ping{"kim-shop/backup", monitor.PingSuccess, t0, ""}},
		{"POST", "/ping/tok-backup-0123456789/start", "", 200, "OK", &ping{"kim-shop/backup", monitor.PingStart, t0, ""}},
		{"POST", "/ping/tok-sync-0123456789/fail", "rsync: error 23", 200, "OK", &ping{"kim-shop/sync", monitor.PingFail, t0, "rsync: error 23"}},
		{"POST", "/ping/tok-sync-0123456789", "synced 12 files", 200, "OK", &ping{"kim-shop/sync", monitor.PingSuccess, t0, "synced 12 files"}},
		{"GET", "/ping/unknown", "", 404, "not found\n", nil},
		{"GET", "/ping/unknown/fail", "", 404, "not found\n", nil},
		{"GET", "/ping/tok-backup-0123456789/finish", "", 404, "not found\n", nil},
		{"GET", "/ping/tok-backup-0123456789/fail/again", "", 404, "not found\n", nil},
		{"GET", "/ping/", "", 404, "not found\n", nil},
		{"GET", "/ping/tok-backup", "", 404, "not found\n", nil},
		{"DELETE", "/ping/tok-backup-0123456789", "", 405, "GET or POST\n", nil},
	}
	for _, tt := range tests {
		before := len(r.pings())
		code, answer := do(tt.method, tt.path, tt.body)
		if code != tt.code || answer != tt.answer {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, code, answer, tt.code, tt.answer)
		}
		got := r.pings()[before:]
		switch {
		case tt.want == nil && len(got) != 0:
			t.Errorf("%s %s reached the receiver: %+v", tt.method, tt.path, got)
		case tt.want != nil && (len(got) != 1 || got[0] != *tt.want):
			t.Errorf("%s %s: received %+v, want %+v", tt.method, tt.path, got, *tt.want)
		}
	}

	// A body over 10 KiB is cut, never refused.
	big := strings.Repeat("x", 1<<20)
	code, _ := do("POST", "/ping/tok-backup-0123456789/fail", big)
	if got := r.pings(); code != 200 || len(got[len(got)-1].body) != 10<<10+1 {
		t.Errorf("a 1 MiB body: %d, %d bytes handed on", code, len(got[len(got)-1].body))
	}
	// A ping that cannot be taken (the monitor stopping) is to be sent
	// again.
	r.mu.Lock()
	r.fails = monitor.ErrStopped
	r.mu.Unlock()
	if code, answer := do("GET", "/ping/tok-backup-0123456789", ""); code != 503 || strings.Contains(answer, "stopped") {
		t.Errorf("a ping not taken: %d %q", code, answer)
	}
}

type tokenStore map[string]string

func (s tokenStore) PingToken(_ context.Context, check, made string) (string, error) {
	if check == "bad/check" {
		return "", errors.New("check bad/check is not registered")
	}
	if t, ok := s[check]; ok {
		return t, nil
	}
	s[check] = made
	return made, nil
}

// TestLoad: a configured token is used as it is; otherwise one is made
// once and stored, and the next start finds it.
func TestLoad(t *testing.T) {
	cfg, err := config.Parse("f.yaml", []byte(`
http: {listen: "127.0.0.1:8080", public_url: "https://hostwatch.example.com/"}
merchants:
  - name: kim-shop
    checks:
      - {name: web, tcp: {address: "kim.example:443"}}
      - {name: backup, heartbeat: {period: 1h}}
      - {name: sync, heartbeat: {period: 5m, token: "${SYNC_TOKEN}"}}
`), func(name string) (string, bool) { return "sync-token-from-the-env", name == "SYNC_TOKEN" })
	if err != nil {
		t.Fatal(err)
	}
	st := tokenStore{}
	tokens, err := Load(context.Background(), st, cfg.Checks())
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 2 || tokens["kim-shop/sync"] != "sync-token-from-the-env" || !regexp.MustCompile(`^[A-Za-z0-9_-]{24}$`).MatchString(tokens["kim-shop/backup"]) {
		t.Errorf("tokens: %v", tokens)
	}
	again, err := Load(context.Background(), st, cfg.Checks())
	if err != nil || again["kim-shop/backup"] != tokens["kim-shop/backup"] {
		t.Errorf("the next start: %v, %v; want the stored token", again, err)
	}
	base := Base(cfg.HTTP.PublicURL, cfg.HTTP.Listen)
	if got := tokens.URL(base, "kim-shop/sync"); got != "https://hostwatch.example.com/ping/sync-token-from-the-env" {
		t.Errorf("URL = %q", got)
	}
	if got := Base("", "127.0.0.1:8080"); got != "http://127.0.0.1:8080" {
		t.Errorf("Base without public_url = %q", got)
	}
	if got := tokens.URLs(base); len(got) != 2 || got["kim-shop/web"] != "" {
		t.Errorf("URLs = %v", got)
	}
	if _, err := Load(context.Background(), st, []*config.Check{{ID: "bad/check", Heartbeat: &config.HeartbeatCheck{}}}); err == nil {
		t.Error("a store that fails: no error")
	}
	if a, b := NewToken(), NewToken(); a == b || len(a) < 22 {
		t.Errorf("tokens %q and %q", a, b)
	}
}
