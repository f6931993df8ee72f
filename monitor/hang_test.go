package monitor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
)

// TestHangingTargetHoldsUpNoOne: one target accepts connections and never
// answers; 100 other checks keep their schedule, and the hanging one fails
// at its timeout.
func TestHangingTargetHoldsUpNoOne(t *testing.T) {
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer good.Close()
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		hang.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()

	every := mustCron(t, "@every 1s")
	const timeout = 1500 * time.Millisecond
	hanging := &config.Check{ID: "slow-shop/web", Schedule: "@every 1s", Cron: every, Timeout: config.Duration{Duration: timeout},
		DownAfter: 1, UpAfter: 1, HTTP: &config.HTTPCheck{URL: "http://" + hang.Addr().String() + "/", Method: "GET"}}
	cs := []*config.Check{hanging}
	for i := range 100 {
		cs = append(cs, &config.Check{ID: fmt.Sprintf("shop%03d/web", i), Schedule: "@every 1s", Cron: every,
			Timeout: config.Duration{Duration: 5 * time.Second}, DownAfter: 1, UpAfter: 1,
			HTTP: &config.HTTPCheck{URL: good.URL + "/", Method: "GET"}})
	}
	zero := 0
	for _, c := range cs {
		c.HTTP.MaxRedirects = &zero
	}
	env := checks.NewEnv(checks.EnvOptions{})
	defer env.Close()
	clock := clockwork.NewFakeClockAt(t0)
	rec := &recorder{}
	m, err := New(Options{Checks: cs, Env: env, Sink: rec, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()

	// Three intervals go by while the hanging probe waits for its answer.
	for tick := 1; tick <= 3; tick++ {
		clock.BlockUntilContext(ctx, 1)
		clock.Advance(time.Second)
		eventually(t, fmt.Sprintf("all 100 good checks probed %d times", tick), func() bool {
			for _, s := range m.Statuses()[1:] {
				if s.Probes < int64(tick) || s.Running {
					return false
				}
			}
			return true
		})
	}
	// The hanging check started once, was skipped since, and fails at its timeout.
	eventually(t, "the hanging probe to time out", func() bool { return m.Statuses()[0].Probes == 1 })
	st := m.Statuses()[0]
	if st.Skipped < 1 {
		t.Errorf("hanging check skipped %d times, want at least once", st.Skipped)
	}
	var hung *Observation
	for _, o := range rec.snapshot() {
		if o.Check == hanging {
			hung = &o
		} else if !o.Result.OK {
			t.Errorf("%s failed: %+v", o.Check.ID, o.Result)
		}
	}
	if hung == nil || hung.Result.OK || hung.Result.Kind != "timeout" {
		t.Fatalf("hanging check result: %+v", hung)
	}
	if l := hung.Result.Latency; l < timeout-100*time.Millisecond || l > timeout+time.Second {
		t.Errorf("the hanging probe failed after %v, want its timeout %v", l, timeout)
	}
	cancel()
	<-done
}
