package incident_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/source"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/postgres"
	"github.com/hostwatch/hostwatch/store/postgres/pgtest"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// instance is one engine on a shared store, as one daemon of several runs
// it.
type instance struct {
	engine *incident.Engine
	stop   func()
}

func runInstance(t *testing.T, st store.Store, holder string, c *config.Check) *instance {
	t.Helper()
	e, err := incident.New(context.Background(), incident.Options{Store: st, Router: router{}, Holder: holder,
		LeaseTTL: 600 * time.Millisecond, LeaseEvery: 100 * time.Millisecond, Poll: 20 * time.Millisecond,
		Rules: incident.Rules{Location: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	in := &instance{engine: e}
	in.stop = func() {
		e.Close()
		<-done
		cancel()
		in.stop = func() {}
	}
	t.Cleanup(func() { in.stop() })
	return in
}

// observe hands one instance a probe of c that changed its state.
func observe(in *instance, c *config.Check, to store.State) {
	now := time.Now()
	o := monitor.Observation{Check: c, At: now, Result: checks.Result{OK: to == store.Up},
		State: store.CheckState{Check: c.ID, State: to, Since: now}}
	from := store.Up
	if to == store.Up {
		from = store.Down
	} else {
		o.Result.Kind, o.Result.Error = "status", "status 502, want 2xx"
		o.State.FailStreak = 1
	}
	o.Change = &monitor.Change{From: from, To: to, Since: now}
	in.engine.Observe(o)
}

// TestOneInstanceDecides: two instances share a store; the one that holds
// the engine's lease takes every decision, whatever the other records or
// is asked; when it stops, the other takes over, and no message is
// written twice.
func TestOneInstanceDecides(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) { oneInstanceDecides(t, driver) })
	}
}

// sharedStore gives a test a new store of the driver and how to open
// handles on it, each a store of its own as an instance has.
func sharedStore(t *testing.T, driver string) func() store.Store {
	ctx := context.Background()
	var open func() (store.Store, error)
	if driver == "postgres" {
		dsn := pgtest.Database(t)
		open = func() (store.Store, error) { return postgres.Open(ctx, dsn) }
	} else {
		path := filepath.Join(t.TempDir(), "h.db")
		open = func() (store.Store, error) { return sqlite.Open(ctx, path) }
	}
	return func() store.Store {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
}

func oneInstanceDecides(t *testing.T, driver string) {
	ctx := context.Background()
	c := storefront(t, "http://127.0.0.1:1/")
	shared := sharedStore(t, driver)
	open := func() store.Store {
		st := shared()
		if err := st.Register(ctx, []string{c.ID}); err != nil {
			t.Fatal(err)
		}
		return st
	}
	dbA, dbB := open(), open()
	a := runInstance(t, dbA, "a", c)
	b := runInstance(t, dbB, "b", c)
	if !a.engine.Leader() || b.engine.Leader() {
		t.Fatalf("leaders: a %v, b %v; want a alone", a.engine.Leader(), b.engine.Leader())
	}
	seen := func() []string {
		var out []string
		for _, it := range outbox(t, dbA) {
			m := decode(t, it)
			s := fmt.Sprintf("%s %s %s #%d", it.Destination, it.Op, m.Kind, m.Incident)
			if m.AckBy != "" {
				s += " ack:" + m.AckBy
			}
			out = append(out, s)
		}
		return out
	}
	wait := func(what string, n int) {
		t.Helper()
		eventually(t, what, func() bool { return len(seen()) >= n })
	}

	// b probes the check: a tells of it.
	observe(b, c, store.Down)
	wait("the alert", 2)
	// Asked of b, the acknowledgement is told by a.
	if _, err := b.engine.Acknowledge(ctx, 1, "@kim"); err != nil {
		t.Fatal(err)
	}
	wait("the acknowledgement", 3)
	if _, err := b.engine.Acknowledge(ctx, 1, "@kim"); err == nil {
		t.Error("a second acknowledgement was taken")
	}
	// a stops: b takes the decisions, and tells of the recovery.
	a.stop()
	eventually(t, "b to take over", b.engine.Leader)
	observe(b, c, store.Up)
	wait("the recovery", 6)
	time.Sleep(200 * time.Millisecond) // nothing more comes
	want := []string{
		"chat:1 send down #1", "webhook:ops send down #1",
		"chat:1 edit down #1 ack:@kim",
		"chat:1 edit resolved #1 ack:@kim", "chat:1 send resolved #1 ack:@kim", "webhook:ops send resolved #1 ack:@kim",
	}
	if got := seen(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("outbox:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSourceSignalsOnAnyInstance: a source's alert taken by one instance
// is told by the one that decides; the same alert again, on the other,
// changes nothing; its resolve, taken by an instance that never saw the
// alert, ends it. On both stores.
func TestSourceSignalsOnAnyInstance(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			c := storefront(t, "http://127.0.0.1:1/")
			shared := sharedStore(t, driver)
			dbA, dbB := shared(), shared()
			a := runInstance(t, dbA, "a", c)
			b := runInstance(t, dbB, "b", c)
			fire := source.Signal{Source: "prom", Key: "1a2b3c", Merchant: "shop", Action: source.Down, At: time.Now(),
				Title: "prom/DiskFull", Summary: "disk 97% full", Labels: map[string]string{"alertname": "DiskFull"}}
			if err := b.engine.Take(ctx, []source.Signal{fire}); err != nil {
				t.Fatal(err)
			}
			kinds := func() []string {
				var out []string
				for _, it := range outbox(t, dbA) {
					m := decode(t, it)
					out = append(out, fmt.Sprintf("%s %s %s %s", it.Destination, it.Op, m.Kind, m.Title))
				}
				return out
			}
			eventually(t, "the alert", func() bool { return len(kinds()) == 2 })
			if err := a.engine.Take(ctx, []source.Signal{fire}); err != nil {
				t.Fatal(err)
			}
			resolve := source.Signal{Source: "prom", Key: "1a2b3c", Action: source.Up, At: time.Now()}
			if err := a.engine.Take(ctx, []source.Signal{resolve}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the recovery", func() bool { return len(kinds()) >= 4 })
			time.Sleep(200 * time.Millisecond)
			want := "chat:1 send down prom/DiskFull|webhook:ops send down prom/DiskFull|chat:1 edit resolved prom/DiskFull|" +
				"chat:1 send resolved prom/DiskFull|webhook:ops send resolved prom/DiskFull"
			if got := strings.Join(kinds(), "|"); got != want {
				t.Errorf("outbox:\n%s\nwant:\n%s", strings.ReplaceAll(got, "|", "\n"), strings.ReplaceAll(want, "|", "\n"))
			}
			ins, err := dbB.Incidents(ctx, store.IncidentFilter{})
			if err != nil || len(ins) != 1 || ins[0].Open() || ins[0].Check != "shop/prom/1a2b3c" {
				t.Errorf("incidents = %+v, %v; want shop/prom/1a2b3c's, resolved", ins, err)
			}
		})
	}
}
