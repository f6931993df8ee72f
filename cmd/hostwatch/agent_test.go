package main

import (
	"bytes"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/agent"
	"github.com/hostwatch/hostwatch/agent/agenttest"
	"github.com/hostwatch/hostwatch/config"
)

// TestAgentBinary runs hostwatch agent as a user does, the token in the
// environment, against a server of agent.Server: the checks of its
// location reach it, and its results for a target on loopback reach the
// server with their probe times, until SIGTERM stops it cleanly.
func TestAgentBinary(t *testing.T) {
	shop, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	var probes atomic.Int64
	go func() {
		for {
			c, err := shop.Accept()
			if err != nil {
				return
			}
			probes.Add(1)
			c.Close()
		}
	}()
	const token = "busan-agent-token-4f1c9e"
	sup := agenttest.New(agent.Agent{Name: "busan-1", Location: "busan", Token: token})
	sup.SetChecks("busan",
		agenttest.Check(t, "kim-shop/db", "@every 1s", 2*time.Second, &config.TCPCheck{Address: shop.Addr().String()}),
		agenttest.Check(t, "kim-shop/backup", "@every 1h", 2*time.Second, &config.HeartbeatCheck{}))
	server := httptest.NewServer(agent.NewServer(agent.ServerOptions{Agents: sup, Checks: sup, Sink: sup}))
	defer server.Close()

	began := time.Now()
	cmd := exec.Command(binary, "agent", "-server", server.URL, "-location", "busan", "-poll", "1s")
	cmd.Env = append(os.Environ(), tokenEnv+"="+token)
	var mu sync.Mutex
	var stderr bytes.Buffer
	cmd.Stderr = &syncWriter{w: &stderr, mu: &mu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	log := func() string {
		mu.Lock()
		defer mu.Unlock()
		return stderr.String()
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		if all, _ := sup.All(); len(all) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no results within 20s; the agent's log:\n%s", log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, log())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the agent did not stop within 15s of SIGTERM:\n%s", log())
	}

	all, dropped := sup.All()
	var last time.Time
	for _, r := range all {
		if r.Check != "kim-shop/db" || !r.OK || !r.Start.After(began) || !r.Start.After(last) || !strings.HasPrefix(r.Evidence, "connected to ") {
			t.Errorf("result %+v", r)
		}
		last = r.Start
	}
	if n := probes.Load(); dropped != 0 || int64(len(all)) > n || int64(len(all)) < n-1 {
		t.Errorf("%d results, %d dropped; the shop saw %d probes", len(all), dropped, n)
	}
	out := log()
	for _, want := range []string{"agent: started", "location=busan", "agent: checks assigned", "checks=1", "agent: stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, token) || strings.Contains(out, "ps shows") {
		t.Errorf("the log names the token or warns of a flag not given:\n%s", out)
	}
}

// TestAgentFlags: what the agent refuses to start with, and that a token
// given as a flag is never printed back.
func TestAgentFlags(t *testing.T) {
	const token = "flag-token-0123456789"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no server", []string{"-location", "busan", "-token", token}, "-server and -location are required"},
		{"no location", []string{"-server", "http://127.0.0.1:1", "-token", token}, "-server and -location are required"},
		{"no token", []string{"-server", "http://127.0.0.1:1", "-location", "busan"}, "the agent needs its token: set HOSTWATCH_AGENT_TOKEN"},
		{"not a URL", []string{"-server", "hostwatch.example.com", "-location", "busan", "-token", token},
			"the server must be an absolute http or https URL"},
		{"a bad location", []string{"-server", "http://127.0.0.1:1", "-location", "busan 1", "-token", token},
			`the location "busan 1" must be a name`},
		{"no buffer", []string{"-server", "http://127.0.0.1:1", "-location", "busan", "-token", token, "-buffer", "0"},
			"-buffer and -poll must be positive"},
		{"an argument", []string{"-server", "http://127.0.0.1:1", "-location", "busan", "-token", token, "busan-2"},
			`unexpected "busan-2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := hostwatchAt(t, "", []string{tokenEnv}, append([]string{"agent"}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
			if strings.Contains(stderr, token) {
				t.Errorf("the token printed: %s", stderr)
			}
		})
	}
}
