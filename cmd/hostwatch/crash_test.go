package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/webhook/webhooktest"
)

// TestKilledWhileDelivering: incidents open while the receiver is slow, the
// daemon is killed with SIGKILL with messages pending, and started again.
// Every message arrives, in order per destination, each incident's down
// before its resolution, with at most one duplicate per destination (the one
// message that may have been in flight at the kill).
func TestKilledWhileDelivering(t *testing.T) {
	shop, down := newShop(t)
	down.Store(true)
	receiver := webhooktest.New("crash-test-secret")
	defer receiver.Close()
	receiver.Slow(400 * time.Millisecond)

	// Three owners with four shops each: one alert per shop.
	const merchants, checks = 3, 4
	dir := t.TempDir()
	cfg := ownersConfig(t, dir, receiver.URL, shop.URL, merchants, checks, "")
	t.Setenv("HOOK_SECRET", "crash-test-secret")

	p := startDaemon(t, dir, cfg)
	eventually(t, "the first delivery", func() bool { return len(receiver.Deliveries()) >= 1 })
	p.cmd.Process.Kill() // SIGKILL: no drain, no flush
	<-p.done
	atKill := len(receiver.Deliveries())
	if atKill >= merchants*checks {
		t.Fatalf("all %d messages were out before the kill; the test needs some pending", atKill)
	}

	receiver.Slow(0)
	p = startDaemon(t, dir, cfg)
	eventually(t, "the pending messages", func() bool { return distinct(receiver.Deliveries()) == merchants*checks })
	down.Store(false)
	eventually(t, "the recoveries", func() bool { return distinct(receiver.Deliveries()) == 2*merchants*checks })
	p.stop(t)

	byPath := map[string][]webhooktest.Delivery{}
	for _, d := range receiver.Deliveries() {
		byPath[d.Path] = append(byPath[d.Path], d)
	}
	if len(byPath) != merchants {
		t.Fatalf("deliveries went to %d destinations, want %d", len(byPath), merchants)
	}
	for path, ds := range byPath {
		dups, last := 0, int64(0)
		seen := map[int64]string{}
		for _, d := range ds {
			id, _ := strconv.ParseInt(d.Body.Delivery, 10, 64)
			if d.Duplicate {
				dups++
				continue
			}
			if id < last {
				t.Errorf("%s: delivery %d after %d", path, id, last)
			}
			last = id
			if d.Body.Event == "incident.resolved" && seen[d.Body.Incident] != "incident.down" {
				t.Errorf("%s: incident #%d resolved before it was announced down", path, d.Body.Incident)
			}
			seen[d.Body.Incident] = d.Body.Event
		}
		if dups > 1 {
			t.Errorf("%s: %d duplicates, want at most one", path, dups)
		}
		var incidents []int64
		for n, ev := range seen {
			if ev != "incident.resolved" {
				t.Errorf("%s: incident #%d ends on %s", path, n, ev)
			}
			incidents = append(incidents, n)
		}
		sort.Slice(incidents, func(i, j int) bool { return incidents[i] < incidents[j] })
		if len(incidents) != checks {
			t.Errorf("%s: messages about %v, want %d incidents", path, incidents, checks)
		}
	}
	t.Logf("%d delivered before the kill, %d deliveries in all", atKill, len(receiver.Deliveries()))
}

// ownersConfig writes a config of owners, each with a webhook at
// receiver/owner0, /owner1, ... signed with ${HOOK_SECRET}, and shops
// merchants per owner, each with one page checked every second at
// shop/0, /1, ...: one alert per shop. extra is added at the top level.
func ownersConfig(t *testing.T, dir, receiver, shop string, owners, shops int, extra string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "timezone: UTC\nstorage: {dsn: %q}\nhttp: {listen: %q}\n%s\n", filepath.Join(dir, "h.db"), freeAddr(t), extra)
	b.WriteString("defaults: {schedule: \"@every 1s\", down_after: 1, up_after: 1, timeout: 2s, group_wait: 0s}\ncontacts:\n")
	for o := range owners {
		fmt.Fprintf(&b, "  - {name: owner%d, webhook: \"%s/owner%d\", webhook_secret: \"${HOOK_SECRET}\"}\n", o, receiver, o)
	}
	b.WriteString("merchants:\n")
	for o := range owners {
		for s := range shops {
			fmt.Fprintf(&b, "  - name: shop%d-%d\n    contacts: [owner%d]\n    checks:\n", o, s, o)
			fmt.Fprintf(&b, "      - {name: page, http: {url: \"%s/%d\"}}\n", shop, s)
		}
	}
	return writeConfig(t, dir, b.String())
}

func distinct(ds []webhooktest.Delivery) int {
	n := 0
	for _, d := range ds {
		if !d.Duplicate {
			n++
		}
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
