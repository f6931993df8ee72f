package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// testOneOpenIncident: a check has one open incident at most, whoever opens
// it; failures count in it without being told which it is; a state from
// an older probe is not saved over a newer one.
func testOneOpenIncident(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a, b := registered(t, open), registered(t, open)
	var first, again int64
	var opened, reopened bool
	update(t, a, func(ctx context.Context, tx store.Tx) error {
		if err := tx.AddFailures(ctx, []store.Failure{{Check: "shop/web", At: t0, Kind: "status", Error: "502"}}); err != nil {
			return err
		}
		var err error
		first, opened, err = tx.OpenIncident(ctx, "shop/web", t0, t0.Add(time.Second))
		return err
	})
	update(t, b, func(ctx context.Context, tx store.Tx) error { // another instance, late
		var err error
		again, reopened, err = tx.OpenIncident(ctx, "shop/web", t0.Add(time.Second), t0.Add(2*time.Second))
		if err != nil {
			return err
		}
		return tx.AddFailures(ctx, []store.Failure{{Check: "shop/web", At: t0.Add(2 * time.Second), Kind: "status", Error: "503"}})
	})
	if !opened || reopened || again != first {
		t.Fatalf("opened #%d (%v), then #%d (%v): want one incident", first, opened, again, reopened)
	}
	in, err := a.Incident(ctx, first)
	if err != nil || len(in.Errors) != 1 || in.Errors[0].Count != 2 || in.Errors[0].LastError != "503" {
		t.Errorf("the incident counts %+v, %v; want both failures", in.Errors, err)
	}
	states, _ := a.CheckStates(ctx)
	if states["shop/web"].Incident != first || states["shop/db"].Incident != 0 {
		t.Errorf("check states name incidents %d and %d", states["shop/web"].Incident, states["shop/db"].Incident)
	}

	var resolved, none int64
	update(t, a, func(ctx context.Context, tx store.Tx) error {
		var err error
		if resolved, err = tx.ResolveOpen(ctx, "shop/web", t0.Add(time.Minute), "recovery"); err != nil {
			return err
		}
		none, err = tx.ResolveOpen(ctx, "shop/db", t0.Add(time.Minute), "recovery")
		return err
	})
	if resolved != first || none != 0 {
		t.Errorf("resolved #%d and #%d, want #%d and none", resolved, none, first)
	}
	update(t, b, func(ctx context.Context, tx store.Tx) error {
		if err := tx.AddFailures(ctx, []store.Failure{{Check: "shop/web", At: t0.Add(2 * time.Minute), Kind: "status", Error: "504"}}); err != nil {
			return err
		}
		var err error
		again, reopened, err = tx.OpenIncident(ctx, "shop/web", t0.Add(2*time.Minute), t0.Add(2*time.Minute))
		return err
	})
	if !reopened || again <= first {
		t.Errorf("after the end, #%d (%v): want a new incident", again, reopened)
	}
	if in, _ := a.Incident(ctx, first); in.Errors[0].Count != 2 {
		t.Errorf("a failure after the end counted in the ended incident: %+v", in.Errors)
	}

	newer := store.CheckState{Check: "shop/db", State: store.Down, Since: t0, FailStreak: 3, StreakSince: t0, Probed: t0.Add(time.Minute)}
	older := store.CheckState{Check: "shop/db", State: store.Up, Since: t0, OKStreak: 1, StreakSince: t0, Probed: t0.Add(30 * time.Second)}
	update(t, a, func(ctx context.Context, tx store.Tx) error { return tx.SaveCheckState(ctx, newer) })
	update(t, b, func(ctx context.Context, tx store.Tx) error { return tx.SaveCheckState(ctx, older) })
	states, _ = b.CheckStates(ctx)
	if s := states["shop/db"]; s.State != store.Down || s.FailStreak != 3 || !s.Probed.Equal(newer.Probed) {
		t.Errorf("an older probe's state was saved over a newer one: %+v", s)
	}
}

// testReadsInTheTransaction: a transaction reads what it wrote before it
// commits; nobody else does.
func testReadsInTheTransaction(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	var a store.Alert
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		id, _, err := tx.OpenIncident(ctx, "shop/web", t0, t0)
		if err != nil {
			return err
		}
		a = store.Alert{Scope: store.ScopeProvider, Name: "examplehost", Opened: t0, Triggered: t0}
		if err := tx.SaveAlert(ctx, &a); err != nil {
			return err
		}
		if err := tx.JoinAlert(ctx, id, a.ID); err != nil {
			return err
		}
		s := store.Silence{Target: "shop", Start: t0, End: t0.Add(time.Hour), By: "@kim"}
		if err := tx.AddSilence(ctx, &s); err != nil {
			return err
		}
		ins, err := tx.Incidents(ctx, store.IncidentFilter{IDs: []int64{id}})
		if err != nil || len(ins) != 1 || ins[0].Alert != a.ID || ins[0].Check != "shop/web" {
			t.Errorf("the transaction's incident: %+v, %v", ins, err)
		}
		if got, err := tx.Alert(ctx, a.ID); err != nil || got.Name != "examplehost" || got.Scope != store.ScopeProvider {
			t.Errorf("the transaction's alert: %+v, %v", got, err)
		}
		if ss, err := tx.Silences(ctx, t0.Add(time.Minute)); err != nil || len(ss) != 1 {
			t.Errorf("the transaction's silences: %+v, %v", ss, err)
		}
		if _, err := tx.Alert(ctx, a.ID+100); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an alert that is not: %v", err)
		}
		return nil
	})
	if got, err := db.Alert(ctx, a.ID); err != nil || got.ID != a.ID {
		t.Errorf("alert %d after the commit: %+v, %v", a.ID, got, err)
	}
	if ins, _ := db.Incidents(ctx, store.IncidentFilter{IDs: []int64{}}); len(ins) != 0 {
		t.Errorf("no IDs asked for, %d incidents given", len(ins))
	}
}

// testSignals: signals are taken in the order they were given, only once
// their transaction committed, and once.
func testSignals(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a, b := registered(t, open), registered(t, open)
	update(t, a, func(ctx context.Context, tx store.Tx) error {
		if err := tx.Signal(ctx, store.Signal{Kind: store.SignalChange, Check: "shop/web", Incident: 7, At: t0}); err != nil {
			return err
		}
		return tx.Signal(ctx, store.Signal{Kind: store.SignalAlert, Alert: 3, At: t0.Add(time.Second)})
	})
	a.Update(ctx, func(tx store.Tx) error {
		tx.Signal(ctx, store.Signal{Kind: store.SignalSilences, At: t0})
		return errors.New("rolled back")
	})
	update(t, b, func(ctx context.Context, tx store.Tx) error {
		return tx.Signal(ctx, store.Signal{Kind: store.SignalIncident, Incident: 9, At: t0.Add(2 * time.Second)})
	})
	var got []store.Signal
	update(t, b, func(ctx context.Context, tx store.Tx) error {
		var err error
		if got, err = tx.Signals(ctx, 2); err != nil {
			return err
		}
		return tx.TakeSignals(ctx, []int64{got[0].ID, got[1].ID})
	})
	if len(got) != 2 || got[0].Kind != store.SignalChange || got[0].Check != "shop/web" || got[0].Incident != 7 || !got[0].At.Equal(t0) ||
		got[1].Kind != store.SignalAlert || got[1].Alert != 3 {
		t.Errorf("the first two signals: %+v", got)
	}
	update(t, a, func(ctx context.Context, tx store.Tx) error {
		var err error
		got, err = tx.Signals(ctx, 10)
		return err
	})
	if len(got) != 1 || got[0].Kind != store.SignalIncident || got[0].Incident != 9 {
		t.Errorf("what is left: %+v", got)
	}
}

// testLeases: a lease is held by one holder at a time, taken over once it
// runs out; work fenced by it commits only while it is held, and a
// takeover waits for the fenced transaction under way.
func testLeases(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a, b := open(t), open(t)
	lease := func(st store.Store, holder string, ttl time.Duration) bool {
		t.Helper()
		held, err := st.Lease(ctx, "engine", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return held
	}
	if !lease(a, "run-a", time.Minute) || !lease(a, "run-a", time.Minute) {
		t.Fatal("the first holder does not hold it")
	}
	if lease(b, "run-b", time.Minute) {
		t.Fatal("a second holder took a lease that runs")
	}
	fenced := func(st store.Store, holder string) error {
		return st.Update(ctx, func(tx store.Tx) error { return tx.Fence(ctx, "engine", holder) })
	}
	if err := fenced(b, "run-b"); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("fenced work of a non-holder: %v", err)
	}
	if err := fenced(a, "run-a"); err != nil {
		t.Errorf("fenced work of the holder: %v", err)
	}
	if err := a.ReleaseLease(ctx, "engine", "run-a"); err != nil {
		t.Fatal(err)
	}
	if !lease(b, "run-b", 300*time.Millisecond) {
		t.Fatal("a released lease was not taken")
	}
	if err := fenced(a, "run-a"); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("fenced work of the holder that released: %v", err)
	}

	// b's transaction is fenced while its lease runs and outlasts it; a
	// takes over only once that transaction is over.
	var committed, took atomic.Int64
	inTx := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- b.Update(ctx, func(tx store.Tx) error {
			if err := tx.Fence(ctx, "engine", "run-b"); err != nil {
				return err
			}
			if err := tx.Signal(ctx, store.Signal{Kind: store.SignalSilences, At: t0}); err != nil {
				return err
			}
			close(inTx)
			time.Sleep(600 * time.Millisecond)
			committed.Store(time.Now().UnixNano())
			return nil
		})
	}()
	<-inTx
	for !lease(a, "run-a", time.Minute) {
		time.Sleep(20 * time.Millisecond)
	}
	took.Store(time.Now().UnixNano())
	if err := <-done; err != nil {
		t.Fatalf("the fenced transaction: %v", err)
	}
	if took.Load() < committed.Load() {
		t.Error("the lease changed hands during a transaction fenced by it")
	}
	// Exclusion: whoever holds the lease, one transaction at a time.
	if err := b.Update(ctx, func(tx store.Tx) error { return tx.Exclude(ctx, "engine") }); err != nil {
		t.Errorf("exclude: %v", err)
	}
}

// testRecordChange: a change to down opens the check's incident, claiming
// the failures that led to it, once however many instances record it; a
// change from down resolves it; each is in the timeline, the state
// changes, and a signal naming the incident.
func testRecordChange(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a, b := registered(t, open), registered(t, open)
	down := store.Change{Check: "shop/web", From: store.Up, To: store.Down, Since: t0, Confirmed: t0.Add(2 * time.Second),
		Now: t0.Add(2 * time.Second), Detail: "3 failed probes"}
	update(t, a, func(ctx context.Context, tx store.Tx) error {
		if err := tx.AddFailures(ctx, []store.Failure{{Check: "shop/web", At: t0, Kind: "status", Error: "502"},
			{Check: "shop/web", At: t0.Add(time.Second), Kind: "status", Error: "503"}}); err != nil {
			return err
		}
		return tx.RecordChange(ctx, down)
	})
	again := down
	again.Since, again.Confirmed = t0.Add(time.Second), t0.Add(3*time.Second)
	update(t, b, func(ctx context.Context, tx store.Tx) error { return tx.RecordChange(ctx, again) })
	ins, err := a.Incidents(ctx, store.IncidentFilter{})
	if err != nil || len(ins) != 1 || !ins[0].Start.Equal(t0) || !ins[0].Confirmed.Equal(t0.Add(2*time.Second)) || !ins[0].Open() {
		t.Fatalf("incidents: %+v, %v", ins, err)
	}
	id := ins[0].ID
	if len(ins[0].Errors) != 1 || ins[0].Errors[0].Count != 2 || ins[0].Errors[0].FirstError != "502" || ins[0].Errors[0].LastError != "503" {
		t.Errorf("the failures that led to it: %+v", ins[0].Errors)
	}
	up := store.Change{Check: "shop/web", From: store.Down, To: store.Up, Since: t0.Add(time.Hour), Confirmed: t0.Add(time.Hour),
		Now: t0.Add(time.Hour), Detail: "2 successful probes"}
	first := store.Change{Check: "shop/db", From: store.Unknown, To: store.Up, Since: t0, Confirmed: t0, Now: t0}
	update(t, a, func(ctx context.Context, tx store.Tx) error {
		if err := tx.RecordChange(ctx, up); err != nil {
			return err
		}
		return tx.RecordChange(ctx, first)
	})
	in, err := a.Incident(ctx, id)
	if err != nil || in.Open() || !in.End.Equal(t0.Add(time.Hour)) || in.ResolvedBy != "recovery" {
		t.Errorf("after the change to up: %+v, %v", in, err)
	}
	evs, _ := a.Events(ctx, id)
	if len(evs) != 2 || evs[0].Kind != "opened" || evs[0].Detail != "3 failed probes" || evs[1].Kind != "resolved" ||
		!evs[1].At.Equal(t0.Add(time.Hour)) {
		t.Errorf("timeline: %+v", evs)
	}
	cs, _ := a.StateChanges(ctx, t0)
	if len(cs) != 4 || cs[0].Incident != id || cs[3].Incident != id || cs[1].Check != "shop/db" || cs[1].Incident != 0 {
		t.Errorf("state changes: %+v", cs)
	}
	var sigs []store.Signal
	update(t, b, func(ctx context.Context, tx store.Tx) error {
		var err error
		sigs, err = tx.Signals(ctx, 10)
		return err
	})
	want := []int64{id, id, id, 0}
	if len(sigs) != 4 {
		t.Fatalf("signals: %+v", sigs)
	}
	for i, s := range sigs {
		if s.Kind != store.SignalChange || s.Incident != want[i] {
			t.Errorf("signal %d: %+v, want incident %d", i, s, want[i])
		}
	}
}
