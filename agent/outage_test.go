package agent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/agent"
	"github.com/hostwatch/hostwatch/agent/agenttest"
)

// TestAgentServerDownAMinute: the server answers 503 to the results for
// a full minute, then takes them again. With the default buffer, every
// probe made meanwhile reaches it, with the time it was probed at, in
// order; with room for ten, the newest ten are kept, and the server is
// told how many were dropped.
func TestAgentServerDownAMinute(t *testing.T) {
	if testing.Short() {
		t.Skip("the server is down for a minute")
	}
	ids := []string{"kim-shop/db", "lee-shop/db", "park-shop/db"}
	for _, tc := range []struct {
		name   string
		buffer int
	}{
		{"none lost", 0},
		{"room for ten", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, probes := target(t)
			sup := agenttest.New(busan1)
			sup.SetChecks("busan", tcpChecks(t, addr, ids...)...)
			r := start(t, sup, agent.Options{Buffer: tc.buffer})
			waitFor(t, "results", 10*time.Second, func() bool { all, _ := sup.All(); return len(all) >= len(ids) })

			r.gate.status.Store(http.StatusServiceUnavailable)
			down, before := time.Now(), probes.Load()
			time.Sleep(time.Minute) // the outage itself
			r.gate.status.Store(0)
			up, made := time.Now(), probes.Load()-before
			waitFor(t, "results probed after the server came back", 30*time.Second, func() bool {
				all, _ := sup.All()
				return len(all) > 0 && all[len(all)-1].Start.After(up)
			})
			r.stop()

			all, dropped := sup.All()
			refused := r.gate.posts.Load()
			t.Logf("%d probes while the server was down, %d batches refused; %d results in all, %d dropped",
				made, refused, len(all), dropped)
			if refused < 20 {
				t.Errorf("%d batches tried in a minute of the server down, want them tried again and again", refused)
			}
			if n := strings.Count(r.logs.String(), "results not sent; keeping them and trying again"); n != 1 {
				t.Errorf("the server down told %d times in the log, want once", n)
			}
			// A probe the stop cut short reports nothing, though the
			// target saw its connection.
			if n := probes.Load(); int64(len(all))+dropped > n || int64(len(all))+dropped < n-int64(len(ids)) {
				t.Errorf("%d results and %d dropped; the target saw %d probes", len(all), dropped, n)
			}
			if tc.buffer == 0 {
				unbroken(t, all)
				if dropped != 0 {
					t.Errorf("%d dropped", dropped)
				}
				for id, list := range byCheck(all) {
					during := 0
					for _, res := range list {
						if res.Start.After(down) && res.Start.Before(up) {
							during++
						}
					}
					if during < 58 {
						t.Errorf("%s: %d results probed in the minute the server was down, want about 60", id, during)
					}
				}
				return
			}
			// Room for ten: kept are the ten newest, beside the batch
			// being tried when the server went down; the count of the
			// others comes with them. A result waiting to be sent as the
			// server went down is dropped too, and a probe out as it came
			// back counted at the target before it was kept.
			if kept := made - dropped; kept < int64(tc.buffer-2*len(ids)) || kept > int64(tc.buffer+2*len(ids)) {
				t.Errorf("%d dropped of %d probes made while the server was down, want all but the %d newest",
					dropped, made, tc.buffer)
			}
			if n := strings.Count(r.logs.String(), "buffer full"); n != 1 {
				t.Errorf("the overflow told %d times in the log, want once", n)
			}
			for _, tk := range sup.Taken() {
				if tk.Batch.Dropped == 0 {
					continue
				}
				for _, res := range tk.Batch.Results {
					if res.Start.Before(up.Add(-5 * time.Second)) {
						t.Errorf("%s probed at %s kept: the newest are, from %s", res.Check,
							res.Start.Format("15:04:05.000"), up.Add(-5*time.Second).Format("15:04:05.000"))
					}
				}
			}
		})
	}
}
