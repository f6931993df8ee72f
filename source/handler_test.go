package source

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hostwatch/hostwatch/config"
)

// fakeSink records what it took, or fails with err.
type fakeSink struct {
	mu    sync.Mutex
	err   error
	taken [][]Signal
}

func (s *fakeSink) Take(ctx context.Context, sigs []Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.taken = append(s.taken, sigs)
	return nil
}

func (s *fakeSink) took() [][]Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken
}

// The tokens of the test's sources.
const (
	amToken = "am-s3cret"
	gfToken = "gf-s3cret"
	evToken = "e93facc04764012d7bfb002500d5d1a6"
)

// testServer serves the sources prom (alertmanager), graf (grafana) and
// pd (events) of the merchants kim-shop, lee-mart and ops.
func testServer(t *testing.T, sink Sink) *httptest.Server {
	t.Helper()
	cfg := &config.Config{
		Merchants: []config.Merchant{{Name: "kim-shop"}, {Name: "lee-mart"}, {Name: "ops"}},
		Sources: []config.Source{
			{Name: "prom", Kind: "alertmanager", Token: amToken, MerchantLabel: "merchant", Merchant: "ops"},
			{Name: "graf", Kind: "grafana", Token: gfToken, MerchantLabel: "merchant", Merchant: "ops"},
			{Name: "pd", Kind: "events", Token: evToken, MerchantLabel: "merchant", Merchant: "ops"},
		},
	}
	h, err := NewHandler(cfg, sink, func() time.Time { return testNow }, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// answer is a response: its status, headers and JSON body.
type answer struct {
	code   int
	header http.Header
	body   map[string]any
}

func send(t *testing.T, srv *httptest.Server, method, path, token, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{code: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s answered %d with no JSON: %q", method, path, resp.StatusCode, raw)
	}
	return a
}

func TestHandlerTakes(t *testing.T) {
	for _, c := range []struct {
		name, path, token, body string
		keys                    []string
		reply                   map[string]any
	}{{
		name: "alertmanager", path: "/intake/alertmanager/prom", token: amToken,
		body:  amBody("firing", amWeb1, amWeb2),
		keys:  []string{"6a1c3e0d2f4b5a79", "9e2f7c41b0a3d658"},
		reply: map[string]any{"status": "success", "signals": 2.0},
	}, {
		name: "grafana", path: "/intake/grafana/graf", token: gfToken,
		body:  gfBody("firing", gfMemory, gfCPU),
		keys:  []string{"c6eadffa33fcdf37", "bc97ff14869b13e3"},
		reply: map[string]any{"status": "success", "signals": 2.0},
	}, {
		name: "events", path: "/intake/events/pd",
		body:  evTrigger,
		keys:  []string{Key("db-1/mysql")},
		reply: map[string]any{"status": "success", "message": "Event processed", "dedup_key": "db-1/mysql"},
	}, {
		name: "an empty group", path: "/intake/alertmanager/prom", token: amToken,
		body:  amBody("resolved"),
		reply: map[string]any{"status": "success", "signals": 0.0},
	}} {
		t.Run(c.name, func(t *testing.T) {
			sink := &fakeSink{}
			a := send(t, testServer(t, sink), http.MethodPost, c.path, c.token, c.body)
			if a.code != http.StatusAccepted {
				t.Fatalf("answered %d %v", a.code, a.body)
			}
			if !sameJSON(a.body, c.reply) {
				t.Errorf("replied %v, want %v", a.body, c.reply)
			}
			took := sink.took()
			if len(c.keys) == 0 {
				if len(took) != 0 {
					t.Errorf("the sink took %v of an empty group", took)
				}
				return
			}
			if len(took) != 1 || len(took[0]) != len(c.keys) {
				t.Fatalf("the sink took %v", took)
			}
			for i, s := range took[0] {
				if s.Key != c.keys[i] || s.Source != strings.TrimPrefix(c.path[strings.LastIndex(c.path, "/"):], "/") {
					t.Errorf("signal %d: %s of %s, want %s", i, s.Key, s.Source, c.keys[i])
				}
			}
		})
	}
}

// sameJSON reports whether a and b are the same JSON.
func sameJSON(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestHandlerRefuses(t *testing.T) {
	wrongKey := strings.Replace(evTrigger, evToken, "0000000000000000000000000000000", 1)
	noKey := `{"event_action":"resolve","dedup_key":"db-1/mysql"}`
	huge := amBody("firing", `{"status":"firing","labels":{"alertname":"X","pad":"`+strings.Repeat("x", MaxBody)+`"}}`)
	for _, c := range []struct {
		name, method, path, token, body string
		code                            int
		says                            string
		header, value                   string
	}{
		{"no bearer", "POST", "/intake/alertmanager/prom", "", amBody("firing", amWeb1),
			401, "a wrong or missing bearer token", "WWW-Authenticate", `Bearer realm="hostwatch"`},
		{"a wrong bearer", "POST", "/intake/alertmanager/prom", gfToken, amBody("firing", amWeb1),
			401, "a wrong or missing bearer token", "WWW-Authenticate", `Bearer realm="hostwatch"`},
		{"grafana without its bearer", "POST", "/intake/grafana/graf", amToken, gfBody("firing", gfMemory),
			401, "a wrong or missing bearer token", "", ""},
		{"a wrong bearer before a bad body", "POST", "/intake/alertmanager/prom", "nope", `{`,
			401, "a wrong or missing bearer token", "", ""},
		{"a wrong routing_key", "POST", "/intake/events/pd", "", wrongKey,
			401, "a wrong or missing routing_key", "", ""},
		{"a bearer is no routing_key", "POST", "/intake/events/pd", evToken, strings.Replace(evResolve, evToken, "x", 1),
			401, "a wrong or missing routing_key", "", ""},
		{"no routing_key", "POST", "/intake/events/pd", evToken, noKey,
			400, "'routing_key' is missing or blank", "", ""},
		{"a bad alertmanager body", "POST", "/intake/alertmanager/prom", amToken, amBody("firing", `{"status":"pending","labels":{"alertname":"X"}}`),
			400, `alerts[0].status is "pending"; it must be "firing" or "resolved"`, "", ""},
		{"one bad alert of two", "POST", "/intake/grafana/graf", gfToken, gfBody("firing", gfMemory, `{"status":"firing","labels":{}}`),
			400, "alerts[1]: labels.alertname is missing or blank", "", ""},
		{"a bad event", "POST", "/intake/events/pd", "", `{"routing_key":"` + evToken + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"high"}}`,
			400, "'payload.severity' must be one of critical, error, warning, info", "", ""},
		{"over 1 MiB", "POST", "/intake/alertmanager/prom", amToken, huge,
			413, "the body is over 1048576 bytes", "", ""},
		{"over 1 MiB of events", "POST", "/intake/events/pd", "", strings.Replace(evTrigger, `"client": "`, `"client": "`+strings.Repeat("x", MaxBody), 1),
			413, "the body is over 1048576 bytes", "", ""},
		{"an unknown source", "POST", "/intake/alertmanager/nobody", amToken, amBody("firing", amWeb1),
			404, `no source of kind "alertmanager" is named "nobody"`, "", ""},
		{"a source of another kind", "POST", "/intake/grafana/prom", amToken, gfBody("firing", gfMemory),
			404, `no source of kind "grafana" is named "prom"`, "", ""},
		{"an unknown kind", "POST", "/intake/nagios/prom", amToken, amBody("firing", amWeb1),
			404, `no source of kind "nagios" is named "prom"`, "", ""},
		{"no name", "POST", "/intake/alertmanager", amToken, amBody("firing", amWeb1),
			404, "no source of kind", "", ""},
		{"a GET", "GET", "/intake/alertmanager/prom", amToken, "",
			405, "send the alerts with POST", "Allow", "POST"},
		{"a PUT", "PUT", "/intake/events/pd", "", evTrigger,
			405, "send the alerts with POST", "Allow", "POST"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := &fakeSink{}
			a := send(t, testServer(t, sink), c.method, c.path, c.token, c.body)
			if a.code != c.code {
				t.Errorf("answered %d %v, want %d", a.code, a.body, c.code)
			}
			if msg, _ := a.body["message"].(string); !strings.Contains(msg, c.says) {
				t.Errorf("said %q, want %q", msg, c.says)
			}
			if c.header != "" && a.header.Get(c.header) != c.value {
				t.Errorf("%s: %q, want %q", c.header, a.header.Get(c.header), c.value)
			}
			if took := sink.took(); len(took) != 0 {
				t.Errorf("the sink took %v", took)
			}
		})
	}
}

func TestHandlerSinkFails(t *testing.T) {
	for _, c := range []struct{ path, token, body string }{
		{"/intake/alertmanager/prom", amToken, amBody("firing", amWeb1)},
		{"/intake/grafana/graf", gfToken, gfBody("resolved", gfResolved)},
		{"/intake/events/pd", "", evAcknowledge},
	} {
		sink := &fakeSink{err: errors.New("database is locked")}
		a := send(t, testServer(t, sink), http.MethodPost, c.path, c.token, c.body)
		if a.code != http.StatusServiceUnavailable {
			t.Errorf("%s: answered %d %v, want 503", c.path, a.code, a.body)
		}
		if a.header.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", c.path)
		}
		if msg, _ := a.body["message"].(string); strings.Contains(msg, "database") {
			t.Errorf("%s: told the sender %q", c.path, msg)
		}
	}
}

// TestBearerScheme: the scheme of Authorization is read in any letter
// case, as HTTP has it; anything else is no token.
func TestBearerScheme(t *testing.T) {
	for _, tt := range []struct {
		header, want string
	}{
		{"Bearer abc", "abc"}, {"bearer abc", "abc"}, {"BEARER  abc ", "abc"}, {"Basic abc", ""}, {"abc", ""}, {"", ""},
	} {
		r := httptest.NewRequest("POST", "/intake/alertmanager/prom", nil)
		r.Header.Set("Authorization", tt.header)
		if got := bearer(r); got != tt.want {
			t.Errorf("bearer(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

// TestIntakeMetrics: each answer is counted by source and status, each
// signal recorded by source and action; a path of no source has no series
// of its own.
func TestIntakeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := &config.Config{Merchants: []config.Merchant{{Name: "ops"}},
		Sources: []config.Source{{Name: "prom", Kind: "alertmanager", Token: amToken, Merchant: "ops"}}}
	h, err := NewHandler(cfg, &fakeSink{}, func() time.Time { return testNow }, slog.New(slog.DiscardHandler), reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	send(t, srv, "POST", "/intake/alertmanager/prom", "wrong", amBody("firing", amWeb1))
	send(t, srv, "POST", "/intake/alertmanager/prom", amToken, amBody("firing", amWeb1))
	send(t, srv, "POST", "/intake/alertmanager/nobody", amToken, amBody("firing", amWeb1))
	for _, tt := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{h.requests.WithLabelValues("prom", "401"), 1},
		{h.requests.WithLabelValues("prom", "202"), 1},
		{h.requests.WithLabelValues("prom", "400"), 0},
		{h.requests.WithLabelValues("-", "404"), 1},
		{h.signals.WithLabelValues("prom", "down"), 1},
	} {
		if got := testutil.ToFloat64(tt.c); got != tt.want {
			t.Errorf("%v = %v, want %v", tt.c.(prometheus.Metric).Desc(), got, tt.want)
		}
	}
}
