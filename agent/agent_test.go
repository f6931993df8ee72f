package agent_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/agent"
	"github.com/hostwatch/hostwatch/agent/agenttest"
	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
)

// target is a TCP listener on loopback that counts the connections made
// to it: one a probe.
func target(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return l.Addr().String(), &n
}

// gate stands before an agent.Server and answers the results with a status
// of its own while told to.
type gate struct {
	next   http.Handler
	status atomic.Int64
	posts  atomic.Int64 // refused while closed
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if code := g.status.Load(); code != 0 && r.URL.Path == agent.ResultsPath {
		g.posts.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "closed", int(code))
		return
	}
	g.next.ServeHTTP(w, r)
}

// logBuffer is a log written from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rig is a server of supply behind a gate, and an agent of busan-1
// talking to it.
type rig struct {
	sup  *agenttest.Supply
	gate *gate
	logs *logBuffer
	stop func()
}

// start runs an agent of busan-1 against a server of sup; o sets what the
// test tunes. Stop ends the agent and waits for it to flush.
func start(t *testing.T, sup *agenttest.Supply, o agent.Options) *rig {
	t.Helper()
	g := &gate{next: agent.NewServer(agent.ServerOptions{Agents: sup, Checks: sup, Sink: sup})}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	env := checks.NewEnv(checks.EnvOptions{})
	t.Cleanup(env.Close)
	logs := &logBuffer{}
	o.Server, o.Location, o.Token, o.Env = srv.URL, busan1.Location, busan1.Token, env
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Poll == 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.Flush == 0 {
		o.Flush = 200 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 500 * time.Millisecond
	}
	r, err := agent.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("the agent did not stop")
			}
		})
	}
	t.Cleanup(stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the agent's log:\n%s", logs)
		}
	})
	return &rig{sup: sup, gate: g, logs: logs, stop: stop}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// byCheck splits results by check, in the order they arrived.
func byCheck(rs []agent.Result) map[string][]agent.Result {
	out := map[string][]agent.Result{}
	for _, r := range rs {
		out[r.Check] = append(out[r.Check], r)
	}
	return out
}

// unbroken fails unless each check's results start in order, about a
// second apart: none lost between the first and the last. A run that
// fires late under a loaded machine narrows one gap and widens the next;
// a lost one makes a gap of two seconds.
func unbroken(t *testing.T, rs []agent.Result) {
	t.Helper()
	for check, list := range byCheck(rs) {
		for i := 1; i < len(list); i++ {
			gap := list[i].Start.Sub(list[i-1].Start)
			if gap <= 0 || gap >= 1900*time.Millisecond {
				t.Errorf("%s: result %d started %s after the one before it (%s, then %s)", check, i, gap,
					list[i-1].Start.Format("15:04:05.000"), list[i].Start.Format("15:04:05.000"))
			}
		}
	}
}

func tcpChecks(t *testing.T, addr string, ids ...string) []*config.Check {
	var out []*config.Check
	for _, id := range ids {
		out = append(out, agenttest.Check(t, id, "@every 1s", 2*time.Second, &config.TCPCheck{Address: addr}))
	}
	return out
}

// TestAgentServerDown: the server answers 503 for three seconds; the
// agent keeps what it probes meanwhile and sends it after, with the times
// it was probed at, in order, none lost.
func TestAgentServerDown(t *testing.T) {
	addr, probes := target(t)
	sup := agenttest.New(busan1)
	sup.SetChecks("busan", tcpChecks(t, addr, "kim-shop/db", "lee-shop/db")...)
	r := start(t, sup, agent.Options{})
	waitFor(t, "results", 5*time.Second, func() bool { all, _ := sup.All(); return len(all) >= 2 })

	r.gate.status.Store(http.StatusServiceUnavailable)
	down := time.Now()
	time.Sleep(3 * time.Second)
	r.gate.status.Store(0)
	up := time.Now()
	waitFor(t, "results probed after the server came back", 5*time.Second, func() bool {
		all, _ := sup.All()
		return len(all) > 0 && all[len(all)-1].Start.After(up)
	})
	r.stop()

	if r.gate.posts.Load() < 2 {
		t.Errorf("%d batches tried while the server was down, want them tried again", r.gate.posts.Load())
	}
	all, dropped := sup.All()
	unbroken(t, all)
	during := 0
	for _, res := range all {
		if res.Start.After(down) && res.Start.Before(up) {
			during++
			if !res.OK {
				t.Errorf("%s at %s: %s", res.Check, res.Start, res.Error)
			}
		}
	}
	if during < 4 {
		t.Errorf("%d results probed while the server was down reached it, want about 6", during)
	}
	// A probe the stop cut short reports nothing, though the target saw
	// its connection.
	if n := probes.Load(); dropped != 0 || int64(len(all)) > n || int64(len(all)) < n-2 {
		t.Errorf("%d results, %d dropped; the target saw %d probes", len(all), dropped, n)
	}
	for _, list := range byCheck(all) {
		if last := list[len(list)-1].Start; time.Since(last) > 2*time.Second {
			t.Errorf("the last result started at %s, before the stop", last)
		}
	}
}

// TestAgentOverflow: with room for three results and the server down,
// the oldest are dropped, the agent says so once, and the count reaches
// the server with the next batch.
func TestAgentOverflow(t *testing.T) {
	addr, probes := target(t)
	sup := agenttest.New(busan1)
	sup.SetChecks("busan", tcpChecks(t, addr, "a/db", "b/db", "c/db")...)
	g := http.StatusServiceUnavailable
	r := start(t, sup, agent.Options{Buffer: 3})
	r.gate.status.Store(int64(g))
	waitFor(t, "probes", 10*time.Second, func() bool { return probes.Load() >= 12 })
	r.gate.status.Store(0)
	waitFor(t, "a count of the dropped", 5*time.Second, func() bool { _, d := sup.All(); return d > 0 })
	r.stop()

	all, dropped := sup.All()
	if n := probes.Load(); int64(len(all))+dropped > n || int64(len(all))+dropped < n-3 {
		t.Errorf("%d results and %d dropped; the target saw %d probes", len(all), dropped, n)
	}
	if dropped < 5 {
		t.Errorf("%d dropped, want most of the %d probes made while the server was down", dropped, probes.Load())
	}
	if n := strings.Count(r.logs.String(), "buffer full"); n != 1 {
		t.Errorf("the overflow told %d times, want once", n)
	}
	// What was kept is the newest: after the first batch tried (taken
	// before the buffer filled), the next starts after the gap of those
	// dropped.
	taken := sup.Taken()
	var gapped bool
	for _, tk := range taken {
		if tk.Batch.Dropped > 0 {
			gapped = true
			if len(tk.Batch.Results) == 0 || len(tk.Batch.Results) > 3 {
				t.Errorf("the batch with the count holds %d results, want the 3 kept", len(tk.Batch.Results))
			}
		}
	}
	if !gapped {
		t.Error("no batch told of the dropped")
	}
}

// TestAgentRefused: while the server does not know the agent's token, the
// agent says so clearly, once, keeps its results and tries again; when the
// token is configured they all arrive.
func TestAgentRefused(t *testing.T) {
	addr, _ := target(t)
	sup := agenttest.New(busan1)
	sup.SetChecks("busan", tcpChecks(t, addr, "kim-shop/db")...)
	r := start(t, sup, agent.Options{RefusedRetry: 300 * time.Millisecond})
	waitFor(t, "results", 5*time.Second, func() bool { all, _ := sup.All(); return len(all) >= 1 })
	sup.SetAgents(jeju1) // busan-1's token taken off the server
	time.Sleep(2500 * time.Millisecond)
	if n := len(sup.Taken()); n == 0 {
		t.Fatal("nothing taken")
	}
	before := len(sup.Taken())
	sup.SetAgents(busan1, jeju1)
	waitFor(t, "results after the token came back", 5*time.Second, func() bool { return len(sup.Taken()) > before })
	r.stop()

	logs := r.logs.String()
	if n := strings.Count(logs, "the server refused this agent: is the token configured on the server for this location?"); n != 1 {
		t.Errorf("the refusal told %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, "401 Unauthorized: bad signature") {
		t.Errorf("the log does not give the server's reason:\n%s", logs)
	}
	if strings.Contains(logs, busan1.Token.Value()) {
		t.Errorf("the token in the log:\n%s", logs)
	}
	all, dropped := sup.All()
	unbroken(t, all)
	if dropped != 0 {
		t.Errorf("%d dropped", dropped)
	}
}

// TestAgentFollowsReload: a new set of checks reaches the running agent
// within a poll without losing what waits to be sent, a check kept is
// probed on as before, and a check taken off stops.
func TestAgentFollowsReload(t *testing.T) {
	addr, kimProbes := target(t)
	leeAddr, _ := target(t)
	kimDB := func() *config.Check { return tcpChecks(t, addr, "kim-shop/db")[0] }
	leeDB := func() *config.Check { return tcpChecks(t, leeAddr, "lee-shop/db")[0] }
	sup := agenttest.New(busan1)
	sup.SetChecks("busan", kimDB())
	r := start(t, sup, agent.Options{})
	waitFor(t, "results of kim-shop/db", 5*time.Second, func() bool { all, _ := sup.All(); return len(all) >= 1 })

	r.gate.status.Store(http.StatusBadGateway)
	closed := time.Now()
	time.Sleep(1500 * time.Millisecond)
	sup.SetChecks("busan", kimDB(), leeDB())
	time.Sleep(time.Second)
	r.gate.status.Store(0)
	waitFor(t, "results of lee-shop/db", 5*time.Second, func() bool {
		all, _ := sup.All()
		return len(byCheck(all)["lee-shop/db"]) >= 2
	})
	all, _ := sup.All()
	unbroken(t, all)
	held := 0
	for _, res := range byCheck(all)["kim-shop/db"] {
		if res.Start.After(closed) {
			held++
		}
	}
	if held < 3 {
		t.Errorf("%d results of kim-shop/db probed since the server closed reached it, want 3 or more", held)
	}

	sup.SetChecks("busan", leeDB())
	time.Sleep(1500 * time.Millisecond) // a poll, and a probe of kim-shop/db that may be out
	before := kimProbes.Load()
	time.Sleep(2 * time.Second)
	if n := kimProbes.Load() - before; n != 0 {
		t.Errorf("kim-shop/db probed %d times after it was taken off", n)
	}
}
