package main

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/webhook/webhooktest"
)

// TestDrainEndsWithMessagesInFlight: a receiver that takes each message at once
// and answers 1.5 s later, four destinations with three alerts each, and
// SIGTERM with a drain timeout of 1 s, so that each destination has a
// message in flight when the drain ends. The daemon waits for those
// answers; after a restart every destination has every message exactly
// once: a clean stop sends nothing twice.
func TestDrainEndsWithMessagesInFlight(t *testing.T) {
	shop, down := newShop(t)
	down.Store(true)
	receiver := webhooktest.New("drain-test-secret")
	defer receiver.Close()
	receiver.SlowAnswer(1500 * time.Millisecond)

	const owners, shops = 4, 3
	dir := t.TempDir()
	cfg := ownersConfig(t, dir, receiver.URL, shop.URL, owners, shops, "delivery: {drain_timeout: 1s}")
	t.Setenv("HOOK_SECRET", "drain-test-secret")

	p := startDaemon(t, dir, cfg)
	eventually(t, "a message taken by each destination", func() bool { return len(paths(receiver.Deliveries())) == owners })
	p.stop(t)
	_, stderr := p.output()
	m := regexp.MustCompile(`drain timeout.* in_flight=(\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("the drain did not time out; the test needs messages in flight at its end:\n%s", stderr)
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Fatalf("nothing in flight when the drain ended; the test needs some:\n%s", stderr)
	}
	atStop := len(receiver.Deliveries())
	if atStop >= owners*shops {
		t.Fatalf("all %d messages were out before the stop; the test needs some pending", atStop)
	}

	receiver.SlowAnswer(0)
	p = startDaemon(t, dir, cfg)
	eventually(t, "every message", func() bool { return distinct(receiver.Deliveries()) == owners*shops })
	time.Sleep(time.Second) // a duplicate would come now
	p.stop(t)

	ds := receiver.Deliveries()
	byPath := map[string]map[string]int{}
	for _, d := range ds {
		if byPath[d.Path] == nil {
			byPath[d.Path] = map[string]int{}
		}
		byPath[d.Path][d.Body.Delivery]++
	}
	if len(byPath) != owners {
		t.Errorf("deliveries went to %d destinations, want %d", len(byPath), owners)
	}
	for path, ids := range byPath {
		if len(ids) != shops {
			t.Errorf("%s: %d distinct messages, want %d", path, len(ids), shops)
		}
		for id, n := range ids {
			if n != 1 {
				t.Errorf("%s: delivery %s received %d times", path, id, n)
			}
		}
	}
	t.Logf("%d taken before the stop (%s in flight when the drain ended), %d deliveries in all", atStop, m[1], len(ds))
}

// paths are the receivers that took at least one delivery.
func paths(ds []webhooktest.Delivery) map[string]bool {
	out := map[string]bool{}
	for _, d := range ds {
		out[d.Path] = true
	}
	return out
}
