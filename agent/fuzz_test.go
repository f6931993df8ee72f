package agent

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hostwatch/hostwatch/checks"
)

// FuzzParseResults reads any body: it must not panic, and a batch it takes
// is written and read again to the same batch.
func FuzzParseResults(f *testing.F) {
	for _, body := range []string{
		`{"dropped":0,"results":[` + goodResult + `]}`,
		`{"dropped":3,"results":[{"check":"kim-shop/db","start":"2026-12-03T20:59:58+09:00","ok":false,"latency":"3s","kind":"timeout","error":"no answer"}]}`,
		`{"dropped":0,"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true,"latency":"0s","expires":"2027-02-01T00:00:00.5-07:00"}]}`,
		`{"dropped":17,"results":[]}`,
		`{"results":null}`,
		`{"results":[null]}`,
		`{"results":[{"check":"\u00e9\ufffd","start":"2026-12-03T11:00:00Z","ok":false,"latency":"1h","kind":"dns","evidence":"\u0000"}]}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseResults(body, testNow)
		if err != nil {
			return
		}
		again, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("a batch taken cannot be written: %v", err)
		}
		b2, err := ParseResults(again, testNow)
		if err != nil {
			t.Fatalf("a batch taken, written again, is refused: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(b, b2) {
			t.Fatalf("read %+v\nwritten and read again %+v", b, b2)
		}
	})
}

// FuzzAssignment reads any answer to GET /agent/v1/checks as an agent
// does: no check it takes may make the probes' Env panic.
func FuzzAssignment(f *testing.F) {
	for _, body := range []string{
		`{"checks":[{"id":"kim-shop/web","kind":"http","schedule":"@every 30s","timeout":"10s","http":{"url":"https://kim.example/","status":[200],"max_redirects":0}}]}`,
		`{"checks":[{"id":"kim-shop/db","kind":"tcp","schedule":"0 */5 * * * *","timezone":"Asia/Seoul","timeout":"1s","tcp":{"address":"db:3306"}}]}`,
		`{"checks":[{"id":"kim-shop/dns","kind":"dns","schedule":"@every 1m","timeout":"1s","dns":{"name":"kim.example","type":"MX","server":"127.0.0.1:53"}}]}`,
		`{"checks":[{"id":"kim-shop/tls","kind":"tls","schedule":"@daily","timeout":"1s","tls":{"address":"[::1]:443","min_days_left":-1}}]}`,
		`{"checks":[{"id":"x","kind":"heartbeat","schedule":"@every 1s","timeout":"1s"}],"canaries":[]}`,
	} {
		f.Add([]byte(body))
	}
	env := checks.NewEnv(checks.EnvOptions{})
	f.Cleanup(env.Close)
	f.Fuzz(func(t *testing.T, body []byte) {
		var a Assignment
		if json.Unmarshal(body, &a) != nil {
			return
		}
		for _, w := range a.Checks {
			c, err := w.Config()
			if err != nil {
				continue
			}
			if c.Cron == nil || c.Timeout.Duration <= 0 || c.Kind() != w.Kind {
				t.Fatalf("took %+v as %+v", w, c)
			}
			env.New(c)
		}
	})
}
