package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// blipShop answers 502 to its first request and its page after that, and
// logs when each request came.
type blipShop struct {
	mu    sync.Mutex
	times []time.Time
}

func (b *blipShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.times = append(b.times, time.Now())
	first := len(b.times) == 1
	b.mu.Unlock()
	if first {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	w.Write([]byte("cart"))
}

func (b *blipShop) requests() []time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Time(nil), b.times...)
}

// TestRetryIntervalThroughTheBinary: with @every 60s, down_after 3 and
// retry_interval 5s, a shop that fails is down 10 s after its first failed
// probe, not 2 minutes; a shop that fails once is probed again 5 s later,
// then every 60 s, and opens nothing. The daemon's probes run on a clock
// 20 times faster than real time (a testclock build), so this takes a few
// seconds.
func TestRetryIntervalThroughTheBinary(t *testing.T) {
	const speed = 20
	t.Setenv("HOSTWATCH_TEST_CLOCK_SPEED", strconv.Itoa(speed))
	broken, down := newShop(t)
	down.Store(true)
	blip := &blipShop{}
	blipServer := httptest.NewServer(blip)
	t.Cleanup(blipServer.Close)
	dir := t.TempDir()
	storage, openStore := testStore(t, "sqlite")
	cfg := writeConfig(t, dir, `
timezone: UTC
`+storage+`
http: {listen: "`+freeAddr(t)+`"}
defaults: {schedule: "@every 60s", down_after: 3, up_after: 2, retry_interval: 5s, timeout: 2s, group_wait: 0s}
merchants:
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "`+broken.URL+`/", contains: cart}}
  - name: lee-shop
    checks:
      - {name: storefront, http: {url: "`+blipServer.URL+`/", contains: cart}}
`)
	p := startDaemon(t, dir, cfg)
	p.waitLine(t, "DOWN kim-shop/storefront is down: Incident #1,")
	eventually(t, "three probes of lee-shop", func() bool { return len(blip.requests()) >= 3 })
	p.stop(t)

	// In clock time: the requests' real spacing times the speed.
	at := blip.requests()
	for i, want := range []time.Duration{5 * time.Second, 60 * time.Second} {
		if got := at[i+1].Sub(at[i]) * speed; got < want-2*time.Second || got > want+2*time.Second {
			t.Errorf("lee-shop's probe %d came %v after the one before, want %v", i+2, got.Round(100*time.Millisecond), want)
		}
	}
	all, err := openStore().Incidents(context.Background(), store.IncidentFilter{})
	if err != nil || len(all) != 1 || all[0].Check != "kim-shop/storefront" {
		t.Fatalf("incidents = %+v, %v; want kim-shop's only", all, err)
	}
	// Both times are the monitor's, and so of its fast clock.
	if d := all[0].Confirmed.Sub(all[0].Start); d < 8*time.Second || d > 12*time.Second {
		t.Errorf("the outage was confirmed %v after the first failed probe, want 10s (two retries 5s apart)", d)
	}
}

// TestProductionBinaryHasNoTestClock: the clock the tests speed up is in
// the testclock build only.
func TestProductionBinaryHasNoTestClock(t *testing.T) {
	bin, err := plainBinary()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("HOSTWATCH_TEST_CLOCK_SPEED")) {
		t.Error("a build without -tags testclock reads HOSTWATCH_TEST_CLOCK_SPEED")
	}
	b, err = os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("HOSTWATCH_TEST_CLOCK_SPEED")) {
		t.Error("the tests' build has no test clock: is it built with -tags testclock?")
	}
}
