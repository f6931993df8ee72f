package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// placedShop answers its page, or 502 to the probes of a location that is
// to see it down: the agents say where they probe from in their
// User-Agent.
type placedShop struct {
	localDown, busanDown atomic.Bool
	busanProbes, others  atomic.Int64
}

func (s *placedShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	busan := strings.Contains(r.UserAgent(), "(busan)")
	if busan {
		s.busanProbes.Add(1)
	} else {
		s.others.Add(1)
	}
	if (busan && s.busanDown.Load()) || (!busan && s.localDown.Load()) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	w.Write([]byte("cart"))
}

// TestAgentsConfirmAnOutage runs the daemon and an agent in busan, both
// probing a shop, two locations needed to confirm: the shop failing from
// the daemon alone opens nothing; failing from busan too opens the outage,
// and the alert says where from; busan reaching it again resolves it.
func TestAgentsConfirmAnOutage(t *testing.T) {
	shop := &placedShop{}
	target := httptest.NewServer(shop)
	t.Cleanup(target.Close)
	busanOnly := &placedShop{}
	other := httptest.NewServer(busanOnly)
	t.Cleanup(other.Close)
	const token = "busan-agent-token-0c5d7e"
	t.Setenv("AGENT_BUSAN_TOKEN", token)
	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := writeConfig(t, dir, `
timezone: UTC
storage: {driver: sqlite, dsn: "`+dir+`/hw.db"}
http: {listen: "`+listen+`"}
agents:
  - {name: busan-1, location: busan, token: "${AGENT_BUSAN_TOKEN}"}
defaults: {schedule: "@every 1s", down_after: 2, up_after: 1, timeout: 2s, group_wait: 0s, confirm: {locations: 2}}
merchants:
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "`+target.URL+`/", contains: cart}}
      - {name: busan-only, http: {url: "`+other.URL+`/"}, locations: [busan]}
`)
	p := startDaemon(t, dir, cfg)
	waitHTTP(t, "http://"+listen+"/healthz", `"status":"ok"`)

	agent := exec.Command(binary, "agent", "-server", "http://"+listen, "-location", "busan", "-poll", "1s")
	agent.Env = append(os.Environ(), tokenEnv+"="+token)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })

	waitHTTP(t, "http://"+listen+"/api/v1/locations", `"location": "busan",
    "self": false,
    "up": true,
    "checks": 2`)
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_location_up{location="busan"} 1`)
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_location_results_total{location="busan",result="ok"}`)

	// From here only: busan still reaches it, nothing opens.
	shop.localDown.Store(true)
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_probes_total{check="kim-shop/storefront",result="fail"} 3`)
	if lines, _ := p.output(); containsPrefix(lines, "DOWN") {
		t.Fatalf("an outage seen from one location of two opened:\n%s", strings.Join(lines, "\n"))
	}

	// From busan too: two of two, the outage opens and says so.
	shop.busanDown.Store(true)
	line := p.waitLine(t, "DOWN kim-shop/storefront is down: Incident #1,")
	if !strings.Contains(line, "Seen down from local and busan, 2 of 2") || !strings.Contains(line, "status 502, want 2xx") {
		t.Errorf("down line: %q", line)
	}
	// The API shows the check down, and what each location sees.
	waitHTTP(t, "http://"+listen+"/api/v1/checks", `"state": "down",
    "since"`)
	waitHTTP(t, "http://"+listen+"/api/v1/checks", `"locations": [
      {
        "location": "local",
        "state": "down"
      },
      {
        "location": "busan",
        "state": "down"
      }
    ]`)

	// Busan reaches it again: one of two left, fewer than two, resolved.
	shop.busanDown.Store(false)
	p.waitLine(t, "UP kim-shop/storefront is back: Incident #1 resolved")
	p.stop(t)
	if n := shop.busanProbes.Load(); n < 4 {
		t.Errorf("busan probed %d times", n)
	}
	if n := busanOnly.others.Load(); n != 0 || busanOnly.busanProbes.Load() < 4 {
		t.Errorf("the check placed in busan alone was probed %d times from elsewhere, %d from busan", n, busanOnly.busanProbes.Load())
	}
	if strings.Contains(strings.Join(lines(p), "\n"), "busan-only") {
		t.Errorf("the check probed from busan alone, always up, was reported")
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func lines(p *proc) []string {
	out, _ := p.output()
	return out
}

// switchable answers its page, or 502 while failing.
type switchable struct{ failing atomic.Bool }

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.failing.Load() {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	w.Write([]byte("cart"))
}

// TestCanariesHoldAlerts: one location, one canary. When everything this
// process probes fails at once, canary included, the admins hear that it
// looks cut off and no owner is alerted; when it reaches the world again,
// the admins hear that, and nothing more is said.
func TestCanariesHoldAlerts(t *testing.T) {
	canary, shop := &switchable{}, &switchable{}
	cs, ss := httptest.NewServer(canary), httptest.NewServer(shop)
	t.Cleanup(cs.Close)
	t.Cleanup(ss.Close)
	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := writeConfig(t, dir, `
timezone: UTC
storage: {driver: sqlite, dsn: "`+dir+`/hw.db"}
http: {listen: "`+listen+`"}
canaries: ["`+cs.URL+`/"]
defaults: {schedule: "@every 1s", down_after: 2, up_after: 1, timeout: 2s, group_wait: 0s}
merchants:
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "`+ss.URL+`/", contains: cart}}
`)
	p := startDaemon(t, dir, cfg)
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_probes_total{check="kim-shop/storefront",result="ok"} 2`)

	canary.failing.Store(true)
	shop.failing.Store(true)
	p.waitLine(t, "CUT OFF local looks cut off: every canary fails from there")
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_probes_total{check="kim-shop/storefront",result="fail"} 4`)
	canary.failing.Store(false)
	shop.failing.Store(false)
	p.waitLine(t, "REACHABLE local reaches the shops again: cut off")
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_probes_total{check="kim-shop/storefront",result="ok"} 5`)
	p.stop(t)
	for _, l := range lines(p) {
		if strings.HasPrefix(l, "DOWN") || strings.HasPrefix(l, "UP") {
			t.Errorf("an owner was told while this place was cut off: %q", l)
		}
	}
	if n := len(lines(p)); n != 2 {
		t.Errorf("%d lines, want the two to the admins:\n%s", n, strings.Join(lines(p), "\n"))
	}
}
