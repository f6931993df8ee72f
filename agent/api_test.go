package agent

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
)

var testNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

const goodResult = `{"check":"kim-shop/web","start":"2026-12-03T11:59:58.123456789Z","ok":true,"latency":"12.5ms","evidence":"HTTP/1.1 200 OK"}`

func TestParseResults(t *testing.T) {
	long := strings.Repeat("x", MaxID+1)
	many := "[" + strings.TrimSuffix(strings.Repeat(goodResult+",", MaxResults+1), ",") + "]"
	for _, tc := range []struct {
		name, body, err string
	}{
		{"one result", `{"dropped":0,"results":[` + goodResult + `]}`, ""},
		{"a failure", `{"dropped":3,"results":[{"check":"kim-shop/db","start":"2026-12-03T20:59:58+09:00","ok":false,` +
			`"latency":"3s","kind":"timeout","error":"no answer within 3s"}]}`, ""},
		{"a certificate's expiry", `{"dropped":0,"results":[{"check":"kim-shop/tls","start":"2026-12-03T11:00:00Z","ok":true,` +
			`"latency":"40ms","expires":"2027-02-01T00:00:00Z"}]}`, ""},
		{"only a count", `{"dropped":17,"results":[]}`, ""},
		{"empty", ``, "not a batch of results: EOF"},
		{"not JSON", `results`, "not a batch of results"},
		{"an array", `[]`, "not a batch of results"},
		{"an unknown field", `{"dropped":0,"results":[],"token":"x"}`, `unknown field "token"`},
		{"an unknown field of a result", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true,"latency":"1s","probe":1}]}`,
			`unknown field "probe"`},
		{"two batches", `{"results":[]}{"results":[]}`, "more after the batch"},
		{"negative dropped", `{"dropped":-1,"results":[]}`, "dropped: must not be negative"},
		{"fractional dropped", `{"dropped":1.5,"results":[]}`, "not a batch of results"},
		{"too many", `{"results":` + many + `}`, "results: 1001, over 1000 in one batch"},
		{"null result", `{"results":[null]}`, "results[0]: start: is missing"},
		{"no check", `{"results":[{"start":"2026-12-03T11:00:00Z","ok":true,"latency":"1s"}]}`, "results[0]: check: is empty"},
		{"long check", `{"results":[{"check":"` + long + `","start":"2026-12-03T11:00:00Z","ok":true,"latency":"1s"}]}`,
			"results[0]: check: over 512 bytes"},
		{"control in check", `{"results":[{"check":"a\nb","start":"2026-12-03T11:00:00Z","ok":true,"latency":"1s"}]}`,
			"results[0]: check: not printable UTF-8"},
		{"no start", `{"results":[{"check":"a","ok":true,"latency":"1s"}]}`, "results[0]: start: is missing"},
		{"start not RFC 3339", `{"results":[{"check":"a","start":"2026-12-03 11:00","ok":true,"latency":"1s"}]}`,
			"results[0]: start: must be an RFC 3339 time such as 2026-12-03T12:00:00.5Z"},
		{"expires not RFC 3339", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true,"latency":"1s","expires":"soon"}]}`,
			"results[0]: expires: must be an RFC 3339 time"},
		{"start a number", `{"results":[{"check":"a","start":1764763200,"ok":true,"latency":"1s"}]}`, "not a batch of results"},
		{"start too old", `{"results":[{"check":"a","start":"2026-10-01T00:00:00Z","ok":true,"latency":"1s"}]}`,
			"results[0]: start: 2026-10-01T00:00:00Z is more than 720h0m0s ago"},
		{"start ahead", `{"results":[{"check":"a","start":"2026-12-03T12:06:00Z","ok":true,"latency":"1s"}]}`,
			"results[0]: start: 2026-12-03T12:06:00Z is ahead of the server's clock by more than 5m0s"},
		{"negative latency", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true,"latency":"-1ms"}]}`,
			"results[0]: latency: must be from 0 to 24h0m0s"},
		{"latency a number", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true,"latency":12}]}`,
			"not a batch of results"},
		{"no latency", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true}]}`,
			`results[0]: latency: must be a duration such as 10s or 1.5ms, not ""`},
		{"latency not a duration", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true,"latency":"soon"}]}`,
			`results[0]: latency: must be a duration such as 10s or 1.5ms, not "soon"`},
		{"ok with an error", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true,"latency":"1s","error":"x"}]}`,
			"results[0]: a result that is ok has no kind or error"},
		{"failure without kind", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":false,"latency":"1s"}]}`,
			"results[0]: kind: must be one of timeout, refused"},
		{"unknown kind", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":false,"latency":"1s","kind":"meltdown"}]}`,
			"results[0]: kind: must be one of"},
		{"long error", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":false,"latency":"1s","kind":"error","error":"` +
			strings.Repeat("e", MaxError+1) + `"}]}`, "results[0]: error: must be UTF-8 of at most 1024 bytes"},
		{"long evidence", `{"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true,"latency":"1s","evidence":"` +
			strings.Repeat("é", MaxEvidence/2+1) + `"}]}`, "results[0]: evidence: must be UTF-8 of at most 2048 bytes"},
		{"the second bad", `{"results":[` + goodResult + `,{"check":"","start":"2026-12-03T11:00:00Z","ok":true,"latency":"1s"}]}`,
			"results[1]: check: is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseResults([]byte(tc.body), testNow)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("took %+v, want an error with %q", b, tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("error %q, want one with %q", err, tc.err)
			}
		})
	}
}

func TestParseResultsTooLarge(t *testing.T) {
	body := `{"results":[],"x":"` + strings.Repeat("x", MaxBody) + `"}`
	if _, err := ParseResults([]byte(body), testNow); !errors.Is(err, ErrTooLarge) {
		t.Errorf("error %v, want ErrTooLarge", err)
	}
}

// TestParseResultsTimes: times come back in UTC, to the nanosecond.
func TestParseResultsTimes(t *testing.T) {
	b, err := ParseResults([]byte(`{"results":[{"check":"a","start":"2026-12-03T20:59:58.000000001+09:00","ok":true,"latency":"1.5ms",`+
		`"expires":"2027-01-01T09:00:00+09:00"}]}`), testNow)
	if err != nil {
		t.Fatal(err)
	}
	r := b.Results[0]
	if want := time.Date(2026, 12, 3, 11, 59, 58, 1, time.UTC); r.Start != want {
		t.Errorf("start %v, want %v", r.Start, want)
	}
	if want := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); r.Expires != want {
		t.Errorf("expires %v, want %v", r.Expires, want)
	}
	if r.Latency.Duration != 1500*time.Microsecond {
		t.Errorf("latency %v", r.Latency)
	}
}

// TestNewResultFits: what a probe saw is cut to what a server takes, and a
// batch of the longest results still parses.
func TestNewResultFits(t *testing.T) {
	r := NewResult("kim-shop/web", testNow.Add(-time.Second), checks.Result{Kind: "novel",
		Error: strings.Repeat("\xff", 2*MaxError), Evidence: strings.Repeat("한", MaxEvidence), Latency: -time.Second})
	if r.Kind != "error" || len(r.Error) > MaxError || len(r.Evidence) > MaxEvidence || r.Latency.Duration != 0 {
		t.Errorf("kind %q, error %d bytes, evidence %d bytes, latency %v", r.Kind, len(r.Error), len(r.Evidence), r.Latency)
	}
	b := Batch{Results: make([]Result, MaxResults)}
	for i := range b.Results {
		b.Results[i] = r
	}
	body, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseResults(body, testNow); err != nil {
		t.Errorf("a batch of the longest results (%d bytes): %v", len(body), err)
	}
}

// TestWireCheck: a check goes to the agent and comes back as it was
// configured, and a heartbeat is not sent.
func TestWireCheck(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	three := 3
	for _, c := range []config.Check{
		{ID: "kim-shop/web", Schedule: "@every 30s", Timeout: config.Duration{Duration: 10 * time.Second},
			HTTP: &config.HTTPCheck{URL: "https://kim.example/", Method: "GET", Headers: map[string]string{"Host": "kim"},
				Status: []int{200}, Contains: "cart", MaxLatency: config.Duration{Duration: 3 * time.Second}, MaxRedirects: &three,
				FreshConnection: true}},
		{ID: "kim-shop/db", Schedule: "0 */5 * * * *", Timeout: config.Duration{Duration: time.Second},
			TCP: &config.TCPCheck{Address: "db.kim.example:3306"}},
		{ID: "kim-shop/dns", Schedule: "@every 1m", Timeout: config.Duration{Duration: time.Second},
			DNS: &config.DNSCheck{Name: "kim.example", Type: "A", Server: "127.0.0.1:53", Expect: []string{"192.0.2.1"}}},
		{ID: "kim-shop/tls", Schedule: "0 0 9 * * *", Timeout: config.Duration{Duration: time.Second},
			TLS: &config.TLSCheck{Address: "kim.example:443", ServerName: "kim.example", MinDaysLeft: 14}},
	} {
		t.Run(c.ID, func(t *testing.T) {
			s, err := config.CronParser.Parse(c.Schedule)
			if err != nil {
				t.Fatal(err)
			}
			c.Cron = s
			if spec, ok := s.(*cron.SpecSchedule); ok {
				spec.Location = seoul
			}
			w, ok := WireCheck(&c)
			if !ok {
				t.Fatal("not sent")
			}
			body, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			var back Check
			if err := json.Unmarshal(body, &back); err != nil {
				t.Fatal(err)
			}
			got, err := back.Config()
			if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if got.Kind() != c.Kind() || !reflect.DeepEqual(got.HTTP, c.HTTP) || !reflect.DeepEqual(got.TCP, c.TCP) ||
				!reflect.DeepEqual(got.DNS, c.DNS) || !reflect.DeepEqual(got.TLS, c.TLS) || got.Timeout != c.Timeout ||
				got.Schedule != c.Schedule || got.ID != c.ID {
				t.Errorf("sent %s, came back %+v", body, got)
			}
			from := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
			if got.Cron.Next(from) != c.Cron.Next(from) {
				t.Errorf("next run %v, configured %v", got.Cron.Next(from), c.Cron.Next(from))
			}
		})
	}
	beat := config.Check{ID: "kim-shop/backup", Heartbeat: &config.HeartbeatCheck{}}
	if _, ok := WireCheck(&beat); ok {
		t.Error("a heartbeat was sent")
	}
}

// TestCheckConfigRefuses: what an agent will not probe, one check at a
// time, each with why.
func TestCheckConfigRefuses(t *testing.T) {
	tcp := &TCPWire{Address: "db.kim.example:3306"}
	ten := Duration{10 * time.Second}
	for _, tc := range []struct {
		name string
		c    Check
		err  string
	}{
		{"no id", Check{Kind: "tcp", Schedule: "@every 30s", Timeout: ten, TCP: tcp}, "a check's id must be 1 to 512 bytes"},
		{"no probe", Check{ID: "a", Kind: "tcp", Schedule: "@every 30s", Timeout: ten}, "check a: needs exactly one probe, has 0"},
		{"two probes", Check{ID: "a", Kind: "tcp", Schedule: "@every 30s", Timeout: ten, TCP: tcp, TLS: &TLSWire{Address: "a:443"}},
			"check a: needs exactly one probe, has 2"},
		{"a kind not known", Check{ID: "a", Kind: "icmp", Schedule: "@every 30s", Timeout: ten, TCP: tcp}, `check a: no probe of kind "icmp" here`},
		{"kind and probe differ", Check{ID: "a", Kind: "http", Schedule: "@every 30s", Timeout: ten, TCP: tcp}, `no probe of kind "http"`},
		{"no timeout", Check{ID: "a", Kind: "tcp", Schedule: "@every 30s", TCP: tcp}, "check a: timeout must be positive"},
		{"a bad schedule", Check{ID: "a", Kind: "tcp", Schedule: "every day", Timeout: ten, TCP: tcp}, `check a: schedule "every day"`},
		{"too often", Check{ID: "a", Kind: "tcp", Schedule: "@every 500ms", Timeout: ten, TCP: tcp}, "check a: @every needs a whole number of seconds, at least 1s"},
		{"not whole seconds", Check{ID: "a", Kind: "tcp", Schedule: "@every 1500ms", Timeout: ten, TCP: tcp}, "a whole number of seconds"},
		{"never", Check{ID: "a", Kind: "tcp", Schedule: "0 0 0 30 2 *", Timeout: ten, TCP: tcp}, "never fires"},
		{"a bad zone", Check{ID: "a", Kind: "tcp", Schedule: "0 * * * *", Timezone: "Mars/Olympus", Timeout: ten, TCP: tcp}, "check a: timezone"},
		{"a relative URL", Check{ID: "a", Kind: "http", Schedule: "@every 30s", Timeout: ten, HTTP: &HTTPWire{URL: "/health"}},
			"check a: http.url must be an absolute http or https URL"},
		{"no port", Check{ID: "a", Kind: "tcp", Schedule: "@every 30s", Timeout: ten, TCP: &TCPWire{Address: "db"}}, "check a: tcp.address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.c.Config()
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("got %+v, %v; want an error with %q", c, err, tc.err)
			}
		})
	}
}
