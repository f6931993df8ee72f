package agent_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/agent"
	"github.com/hostwatch/hostwatch/agent/agenttest"
	"github.com/hostwatch/hostwatch/config"
)

var (
	busan1 = agent.Agent{Name: "busan-1", Location: "busan", Token: "busan-token-0123456789"}
	busan2 = agent.Agent{Name: "busan-2", Location: "busan", Token: "busan-token-second-one"}
	jeju1  = agent.Agent{Name: "jeju-1", Location: "jeju", Token: "jeju-token-abcdefghij"}
)

// fixedClock is a clock the test moves.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newServer is an agent.Server of a supply that knows busan-1, busan-2
// and jeju-1, with a web and a heartbeat check assigned to busan.
func newServer(t *testing.T) (*agent.Server, *agenttest.Supply, *fixedClock, *bytes.Buffer) {
	t.Helper()
	sup := agenttest.New(busan1, busan2, jeju1)
	sup.SetChecks("busan",
		agenttest.Check(t, "kim-shop/web", "@every 30s", 10*time.Second, &config.HTTPCheck{URL: "https://kim.example/", Method: "GET"}),
		agenttest.Check(t, "kim-shop/backup", "@every 1h", 10*time.Second, &config.HeartbeatCheck{}),
	)
	clock := &fixedClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	var logs bytes.Buffer
	s := agent.NewServer(agent.ServerOptions{Agents: sup, Checks: sup, Sink: sup, Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	return s, sup, clock, &logs
}

// signed is a request of a signed with token (a's own unless given) at
// now.
func signed(method, path, body string, location string, token config.Secret, now time.Time) *http.Request {
	r := httptest.NewRequest(method, "http://hostwatch.test"+path, strings.NewReader(body))
	agent.Sign(r, path, []byte(body), location, token, now)
	return r
}

func serve(s http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func resultsBody(check string, start time.Time) string {
	return `{"dropped":0,"results":[{"check":"` + check + `","start":"` + start.Format(time.RFC3339Nano) +
		`","ok":true,"latency":"12ms"}]}`
}

func TestAuthentication(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	body := resultsBody("kim-shop/web", now.Add(-time.Second))
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		code   int
		reason string
	}{
		{"good", func() *http.Request { return signed("POST", agent.ResultsPath, body, "busan", busan1.Token, now) }, 204, ""},
		{"the location's second agent", func() *http.Request {
			return signed("POST", agent.ResultsPath, body, "busan", busan2.Token, now)
		}, 204, ""},
		{"a timestamp within the window", func() *http.Request {
			return signed("POST", agent.ResultsPath, body, "busan", busan1.Token, now.Add(-4*time.Minute))
		}, 204, ""},
		{"wrong token", func() *http.Request {
			return signed("POST", agent.ResultsPath, body, "busan", "not-the-token-at-all", now)
		}, 401, "bad signature"},
		{"a token of another location", func() *http.Request {
			return signed("POST", agent.ResultsPath, body, "busan", jeju1.Token, now)
		}, 401, "bad signature"},
		{"an unknown location", func() *http.Request {
			return signed("POST", agent.ResultsPath, body, "seoul", busan1.Token, now)
		}, 401, "bad signature"},
		{"stale timestamp", func() *http.Request {
			return signed("POST", agent.ResultsPath, body, "busan", busan1.Token, now.Add(-6*time.Minute))
		}, 401, "timestamp more than 5m off the server's clock"},
		{"timestamp ahead", func() *http.Request {
			return signed("POST", agent.ResultsPath, body, "busan", busan1.Token, now.Add(6*time.Minute))
		}, 401, "timestamp more than 5m off the server's clock"},
		{"tampered body", func() *http.Request {
			r := signed("POST", agent.ResultsPath, body, "busan", busan1.Token, now)
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, `"ok":true`, `"ok":false`, 1)))
			return r
		}, 401, "bad signature"},
		{"location changed", func() *http.Request {
			r := signed("POST", agent.ResultsPath, body, "busan", jeju1.Token, now)
			r.Header.Set(agent.HeaderLocation, "jeju")
			return r
		}, 401, "bad signature"},
		{"signed for another path", func() *http.Request {
			r := signed("POST", agent.ChecksPath, body, "busan", busan1.Token, now)
			r.URL.Path = agent.ResultsPath
			return r
		}, 401, "bad signature"},
		{"unsigned", func() *http.Request {
			return httptest.NewRequest("POST", "http://hostwatch.test"+agent.ResultsPath, strings.NewReader(body))
		}, 401, "unsigned request"},
		{"a nonce with a newline", func() *http.Request {
			r := signed("POST", agent.ResultsPath, body, "busan", busan1.Token, now)
			r.Header.Set(agent.HeaderNonce, "abcdefghijklmnop\nq")
			return r
		}, 401, "malformed signature headers"},
		{"a signature not hex", func() *http.Request {
			r := signed("POST", agent.ResultsPath, body, "busan", busan1.Token, now)
			r.Header.Set(agent.HeaderSignature, "v1="+strings.Repeat("z", 64))
			return r
		}, 401, "malformed signature headers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _, logs := newServer(t)
			r := tc.req()
			sig := r.Header.Get(agent.HeaderSignature)
			w := serve(s, r)
			if w.Code != tc.code {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, tc.code)
			}
			if tc.reason != "" && !strings.Contains(w.Body.String(), tc.reason) {
				t.Errorf("answer %s, want the reason %q", w.Body, tc.reason)
			}
			for _, secret := range []string{busan1.Token.Value(), busan2.Token.Value(), jeju1.Token.Value(), strings.TrimPrefix(sig, "v1=")} {
				if secret != "" && (strings.Contains(w.Body.String(), secret) || strings.Contains(logs.String(), secret)) {
					t.Errorf("a token or the signature in the answer or the log:\n%s\n%s", w.Body, logs)
				}
			}
		})
	}
}

// TestReplay: a request taken once is refused the second time, however
// soon, and one made again with a new nonce is taken.
func TestReplay(t *testing.T) {
	s, sup, clock, _ := newServer(t)
	body := resultsBody("kim-shop/web", clock.Now().Add(-time.Second))
	r := signed("POST", agent.ResultsPath, body, "busan", busan1.Token, clock.Now())
	again := r.Clone(r.Context())
	again.Body = io.NopCloser(strings.NewReader(body))
	if w := serve(s, r); w.Code != 204 {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	clock.Add(4 * time.Minute)
	if w := serve(s, again); w.Code != 401 || !strings.Contains(w.Body.String(), "replayed request") {
		t.Errorf("replayed: %d %s", w.Code, w.Body)
	}
	if w := serve(s, signed("POST", agent.ResultsPath, body, "busan", busan1.Token, clock.Now())); w.Code != 204 {
		t.Errorf("signed anew: %d %s", w.Code, w.Body)
	}
	if n := len(sup.Taken()); n != 2 {
		t.Errorf("%d batches taken, want 2", n)
	}
}

// TestChecksETag: an agent gets its location's checks with an ETag, 304
// while they are the same, and the new set after a reload.
func TestChecksETag(t *testing.T) {
	s, sup, clock, _ := newServer(t)
	get := func(etag string) *httptest.ResponseRecorder {
		r := signed("GET", agent.ChecksPath, "", "busan", busan1.Token, clock.Now())
		if etag != "" {
			r.Header.Set("If-None-Match", etag)
		}
		return serve(s, r)
	}
	w := get("")
	etag := w.Header().Get("ETag")
	if w.Code != 200 || etag == "" {
		t.Fatalf("%d %s, ETag %q", w.Code, w.Body, etag)
	}
	var a agent.Assignment
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Checks) != 1 || a.Checks[0].ID != "kim-shop/web" || a.Checks[0].HTTP == nil || a.Checks[0].Timeout.Duration != 10*time.Second {
		t.Fatalf("assigned %s, want kim-shop/web alone (a heartbeat is not probed)", w.Body)
	}
	if w := get(etag); w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("the same checks: %d %s, want 304", w.Code, w.Body)
	}
	sup.SetChecks("busan", agenttest.Check(t, "kim-shop/web", "@every 30s", 10*time.Second, &config.HTTPCheck{URL: "https://kim.example/", Method: "GET"}))
	if w := get(etag); w.Code != 304 {
		t.Errorf("a reload that changed nothing for busan: %d, want 304", w.Code)
	}
	sup.SetChecks("busan", agenttest.Check(t, "kim-shop/db", "@every 1m", 5*time.Second, &config.TCPCheck{Address: "db.kim.example:3306"}))
	w = get(etag)
	if w.Code != 200 || w.Header().Get("ETag") == etag || !strings.Contains(w.Body.String(), `"id":"kim-shop/db"`) ||
		strings.Contains(w.Body.String(), "kim-shop/web") {
		t.Errorf("after the reload: %d %s, ETag %s", w.Code, w.Body, w.Header().Get("ETag"))
	}
	r := signed("GET", agent.ChecksPath, "", "jeju", jeju1.Token, clock.Now())
	if w := serve(s, r); w.Code != 200 || w.Body.String() != `{"checks":[]}` {
		t.Errorf("jeju, with nothing assigned: %d %s", w.Code, w.Body)
	}
	heard := s.Heard()
	if !heard["busan-1"].Equal(clock.Now()) || !heard["jeju-1"].Equal(clock.Now()) || !heard["busan-2"].IsZero() {
		t.Errorf("heard %v", heard)
	}
}

// TestResults: what the server answers a batch, and what reaches the sink.
func TestResults(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, method, path, body string
		fail                     bool
		code                     int
		message                  string
		taken                    []string // the checks of the results taken
	}{
		{"taken", "POST", agent.ResultsPath, resultsBody("kim-shop/web", now.Add(-time.Second)), false, 204, "", []string{"kim-shop/web"}},
		{"a check not assigned left out", "POST", agent.ResultsPath,
			`{"dropped":2,"results":[{"check":"lee-shop/web","start":"2026-12-03T11:59:00Z","ok":true,"latency":"1ms"},` +
				`{"check":"kim-shop/web","start":"2026-12-03T11:59:01Z","ok":false,"latency":"1ms","kind":"refused","error":"connection refused"}]}`,
			false, 204, "", []string{"kim-shop/web"}},
		{"bad body", "POST", agent.ResultsPath, `{"results":[{"check":"kim-shop/web"}]}`, false, 400, "results[0]: start: is missing", nil},
		{"unknown field", "POST", agent.ResultsPath, `{"results":[],"agent":"busan-9"}`, false, 400, `unknown field \"agent\"`, nil},
		{"wrong method", "PUT", agent.ResultsPath, resultsBody("kim-shop/web", now), false, 405, "use POST", nil},
		{"checks by POST", "POST", agent.ChecksPath, "", false, 405, "use GET", nil},
		{"unknown path", "POST", "/agent/v1/other", "", false, 404, "no such endpoint", nil},
		{"too large", "POST", agent.ResultsPath, `{"results":[],"x":"` + strings.Repeat("x", agent.MaxBody) + `"}`, false, 413,
			"the body is over 4194304 bytes", nil},
		{"the sink fails", "POST", agent.ResultsPath, resultsBody("kim-shop/web", now), true, 503, "send it again", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, sup, _, _ := newServer(t)
			sup.Fail(tc.fail)
			w := serve(s, signed(tc.method, tc.path, tc.body, "busan", busan1.Token, now))
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.message) {
				t.Fatalf("%d %s, want %d with %q", w.Code, w.Body, tc.code, tc.message)
			}
			if tc.code == 503 && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			all, _ := sup.All()
			var got []string
			for _, r := range all {
				got = append(got, r.Check)
			}
			if strings.Join(got, " ") != strings.Join(tc.taken, " ") {
				t.Errorf("taken %v, want %v", got, tc.taken)
			}
			if taken := sup.Taken(); len(taken) > 0 && taken[0].Agent.Name != "busan-1" {
				t.Errorf("taken from %+v", taken[0].Agent)
			}
		})
	}
}
