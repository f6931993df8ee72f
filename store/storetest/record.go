package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

func testIncidentRecord(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	fail := func(at time.Time, kind, msg string, incident int64) store.Failure {
		return store.Failure{Check: "shop/web", At: at, Latency: time.Second, Kind: kind, Error: msg, Evidence: "HTTP/1.1 502", Incident: incident}
	}
	var id int64
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		// Two failures before the incident is confirmed by the third.
		if err := tx.AddFailures(ctx, []store.Failure{
			fail(t0, "timeout", "no answer within 10s", 0),
			fail(t0.Add(30*time.Second), "status", "status 502, want 2xx", 0),
		}); err != nil {
			return err
		}
		var err error
		if id, _, err = tx.OpenIncident(ctx, "shop/web", t0, t0.Add(time.Minute)); err != nil {
			return err
		}
		return tx.AddFailures(ctx, []store.Failure{
			fail(t0.Add(time.Minute), "status", "status 503, want 2xx", id),
			fail(t0.Add(90*time.Second), "timeout", "no answer within 10s (again)", id),
			// Written late (a probe that outlasted a handover): counted,
			// and the last stays the latest.
			fail(t0.Add(45*time.Second), "timeout", "no answer within 10s (late)", id),
		})
	})
	opened, err := db.Incidents(ctx, store.IncidentFilter{OpenOnly: true})
	if err != nil || len(opened) != 1 || opened[0].ID != id || !opened[0].Open() || !opened[0].Confirmed.Equal(t0.Add(time.Minute)) {
		t.Errorf("open incidents: %+v, %v", opened, err)
	}
	end := t0.Add(3*time.Hour + 12*time.Minute + 30*time.Second)
	update(t, db, func(ctx context.Context, tx store.Tx) error { return tx.ResolveIncident(ctx, id, end, "recovery") })
	// Resolving twice is refused.
	err = db.Update(ctx, func(tx store.Tx) error { return tx.ResolveIncident(ctx, id, end, "recovery") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second resolve: %v", err)
	}
	in, err := db.Incident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if in.Downtime(time.Time{}) != 3*time.Hour+12*time.Minute+30*time.Second || in.Open() || in.ResolvedBy != "recovery" || in.Check != "shop/web" {
		t.Errorf("incident = %+v", in)
	}
	want := map[string]store.ErrorSummary{
		"timeout": {Kind: "timeout", Count: 3, First: t0, FirstError: "no answer within 10s", Last: t0.Add(90 * time.Second), LastError: "no answer within 10s (again)"},
		"status":  {Kind: "status", Count: 2, First: t0.Add(30 * time.Second), FirstError: "status 502, want 2xx", Last: t0.Add(time.Minute), LastError: "status 503, want 2xx"},
	}
	if len(in.Errors) != 2 {
		t.Fatalf("errors = %+v", in.Errors)
	}
	for _, e := range in.Errors {
		w := want[e.Kind]
		if e.Count != w.Count || !e.First.Equal(w.First) || !e.Last.Equal(w.Last) || e.FirstError != w.FirstError || e.LastError != w.LastError {
			t.Errorf("%s: got %+v, want %+v", e.Kind, e, w)
		}
	}
	fs, err := db.Failures(ctx, "shop/web", t0, end)
	if err != nil || len(fs) != 5 || fs[0].Incident != id || fs[0].Latency != time.Second || fs[0].Evidence != "HTTP/1.1 502" || !fs[4].At.Equal(t0.Add(90*time.Second)) {
		t.Errorf("failures = %+v, %v", fs, err)
	}
	if fs, _ := db.Failures(ctx, "shop/web", t0.Add(time.Second), t0.Add(time.Minute)); len(fs) != 2 {
		t.Errorf("failures in [t0+1s, t0+1m): %+v", fs)
	}
	// A failed transaction leaves nothing behind.
	boom := errors.New("boom")
	err = db.Update(ctx, func(tx store.Tx) error {
		if _, _, err := tx.OpenIncident(ctx, "shop/db", t0, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
	if all, _ := db.Incidents(ctx, store.IncidentFilter{}); len(all) != 1 {
		t.Errorf("a rolled back incident was kept: %+v", all)
	}
	// Unknown checks are refused, not invented.
	err = db.Update(ctx, func(tx store.Tx) error { return tx.AddFailures(ctx, []store.Failure{{Check: "nope/x", At: t0}}) })
	if err == nil {
		t.Error("an unregistered check was accepted")
	}
	// Incident numbers are never reused: one opened after is a higher one.
	var next int64
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		var err error
		next, _, err = tx.OpenIncident(ctx, "shop/db", t0, t0)
		return err
	})
	if next <= id {
		t.Errorf("incident after #%d is #%d", id, next)
	}
}

func testStatsAndCompaction(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	day := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var ss []store.Stat
	for h := range 24 {
		ss = append(ss, store.Stat{Check: "shop/web", Period: day.Add(time.Duration(h) * time.Hour), OK: 120, Failed: 0,
			LatencySum: 120 * 50 * time.Millisecond, LatencyMax: time.Duration(h+1) * 10 * time.Millisecond})
	}
	recent := t0.Truncate(time.Hour)
	ss = append(ss, store.Stat{Check: "shop/web", Period: recent, OK: 100, Failed: 20})
	update(t, db, func(ctx context.Context, tx store.Tx) error { return tx.AddStats(ctx, ss) })
	update(t, db, func(ctx context.Context, tx store.Tx) error { // same hour: summed
		return tx.AddStats(ctx, []store.Stat{{Check: "shop/web", Period: recent.Add(5 * time.Minute), OK: 1, Failed: 1}})
	})
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		return tx.AddFailures(ctx, []store.Failure{{Check: "shop/web", At: t0.Add(-500 * 24 * time.Hour), Kind: "refused", Error: "old"}})
	})
	if err := db.Compact(ctx, t0); err != nil {
		t.Fatal(err)
	}
	got, err := db.Stats(ctx, "shop/web", day.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("want one daily row and one hourly row, got %+v", got)
	}
	daily, hourly := got[0], got[1]
	if !daily.Period.Equal(day) || daily.OK != 24*120 || daily.LatencySum != 24*120*50*time.Millisecond || daily.LatencyMax != 240*time.Millisecond {
		t.Errorf("daily = %+v", daily)
	}
	if !hourly.Period.Equal(recent) || hourly.OK != 101 || hourly.Failed != 21 {
		t.Errorf("hourly = %+v", hourly)
	}
	fs, _ := db.Failures(ctx, "shop/web", time.Time{}, t0)
	if len(fs) != 0 {
		t.Errorf("failures past retention kept: %+v", fs)
	}
	// Compacting again changes nothing.
	if err := db.Compact(ctx, t0); err != nil {
		t.Fatal(err)
	}
	again, _ := db.Stats(ctx, "shop/web", day.Add(-time.Hour), t0.Add(time.Hour))
	if len(again) != 2 || again[0].OK != daily.OK {
		t.Errorf("second compaction changed %+v into %+v", got, again)
	}
}

func testCheckStates(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	var id int64
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		var err error
		if id, _, err = tx.OpenIncident(ctx, "shop/db", t0, t0); err != nil {
			return err
		}
		return tx.SaveCheckState(ctx, store.CheckState{Check: "shop/db", State: store.Down, Since: t0, FailStreak: 7, StreakSince: t0, Incident: id})
	})
	// Another handle, as after a restart, sees it.
	states, err := registered(t, open).CheckStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := states["shop/db"]
	if got.State != store.Down || !got.Since.Equal(t0) || got.FailStreak != 7 || !got.StreakSince.Equal(t0) || got.Incident != id {
		t.Errorf("state after reopen = %+v", got)
	}
	if s := states["shop/web"]; s.State != store.Unknown || !s.Since.IsZero() || s.Incident != 0 {
		t.Errorf("a new check = %+v", s)
	}
	if s, err := db.CheckState(ctx, "shop/db"); err != nil || s.State != store.Down || s.FailStreak != 7 || s.Incident != id {
		t.Errorf("one check's state: %+v, %v", s, err)
	}
	if _, err := db.CheckState(ctx, "shop/none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the state of a check not registered: %v", err)
	}
	// Registering again keeps what is known.
	if err := db.Register(ctx, append(checks, "shop/new")); err != nil {
		t.Fatal(err)
	}
	states, _ = db.CheckStates(ctx)
	if len(states) != 3 || states["shop/db"].FailStreak != 7 {
		t.Errorf("after registering again: %+v", states)
	}
}

func testIncidentsByMerchant(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	if err := db.Register(ctx, []string{"kim_shop/web", "kimXshop/web", "kim%shop/web"}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []string{"shop/web", "kim_shop/web", "kimXshop/web", "kim%shop/web"} {
		update(t, db, func(ctx context.Context, tx store.Tx) error {
			_, _, err := tx.OpenIncident(ctx, c, t0.Add(time.Duration(i)*time.Minute), t0)
			return err
		})
	}
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		return tx.ResolveIncident(ctx, 1, t0.Add(time.Hour), "recovery")
	})
	tests := []struct {
		name string
		f    store.IncidentFilter
		want []string
	}{
		{"all", store.IncidentFilter{}, []string{"kim%shop/web", "kimXshop/web", "kim_shop/web", "shop/web"}},
		{"no merchant", store.IncidentFilter{Merchants: []string{}}, nil},
		{"'_' is no wildcard", store.IncidentFilter{Merchants: []string{"kim_shop"}}, []string{"kim_shop/web"}},
		{"'%' is no wildcard", store.IncidentFilter{Merchants: []string{"kim%shop"}}, []string{"kim%shop/web"}},
		{"two merchants", store.IncidentFilter{Merchants: []string{"shop", "kimXshop"}}, []string{"kimXshop/web", "shop/web"}},
		{"one check", store.IncidentFilter{Check: "kimXshop/web"}, []string{"kimXshop/web"}},
		{"open only", store.IncidentFilter{OpenOnly: true}, []string{"kim%shop/web", "kimXshop/web", "kim_shop/web"}},
		{"limit", store.IncidentFilter{Limit: 2}, []string{"kim%shop/web", "kimXshop/web"}},
		{"open at or started after", store.IncidentFilter{Since: t0.Add(2 * time.Hour)}, []string{"kim%shop/web", "kimXshop/web", "kim_shop/web"}},
		{"ended after", store.IncidentFilter{Since: t0.Add(59 * time.Minute)}, []string{"kim%shop/web", "kimXshop/web", "kim_shop/web", "shop/web"}},
	}
	for _, tt := range tests {
		got, err := db.Incidents(ctx, tt.f)
		var names []string
		for _, in := range got {
			names = append(names, in.Check)
		}
		if err != nil || !equal(names, tt.want) {
			t.Errorf("%s: %v, %v; want %v (newest first)", tt.name, names, err, tt.want)
		}
	}
	if _, err := db.Incident(ctx, 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("incident #99: %v, want not found", err)
	}
}

func testAcknowledge(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	var id int64
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		var err error
		id, _, err = tx.OpenIncident(ctx, "shop/web", t0, t0)
		return err
	})
	ackAt := t0.Add(4 * time.Minute)
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		if err := tx.Acknowledge(ctx, id, "@kim", ackAt); err != nil {
			return err
		}
		return tx.AddEvent(ctx, store.Event{Incident: id, At: ackAt, Kind: "acknowledged", Detail: "@kim"})
	})
	in, err := db.Incident(ctx, id)
	if err != nil || in.AckBy != "@kim" || !in.AckAt.Equal(ackAt) || in.FirstAckBy != "@kim" || !in.FirstAckAt.Equal(ackAt) {
		t.Errorf("acknowledged: %+v, %v", in, err)
	}
	// An ack timeout clears the acknowledgement in force; the first stays.
	update(t, db, func(ctx context.Context, tx store.Tx) error { return tx.Acknowledge(ctx, id, "", t0.Add(time.Hour)) })
	in, _ = db.Incident(ctx, id)
	if in.AckBy != "" || !in.AckAt.IsZero() || in.FirstAckBy != "@kim" {
		t.Errorf("after the ack timeout: %+v", in)
	}
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		return tx.ResolveIncident(ctx, id, t0.Add(2*time.Hour), "@ops")
	})
	err = db.Update(ctx, func(tx store.Tx) error { return tx.Acknowledge(ctx, id, "@kim", t0.Add(3*time.Hour)) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("acknowledging a resolved incident: %v, want not found", err)
	}
	evs, err := db.Events(ctx, id)
	if err != nil || len(evs) != 1 || evs[0].Kind != "acknowledged" || evs[0].Detail != "@kim" || !evs[0].At.Equal(ackAt) {
		t.Errorf("timeline: %+v, %v", evs, err)
	}
}

func testStateChangesAndFirstSeen(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		for _, c := range []store.StateChange{
			{Check: "shop/web", At: t0, From: store.Unknown, To: store.Up},
			{Check: "shop/web", At: t0.Add(time.Hour), From: store.Up, To: store.Down, Incident: 0},
			{Check: "shop/db", At: t0.Add(2 * time.Hour), From: store.Unknown, To: store.Down},
		} {
			if err := tx.AddStateChange(ctx, c); err != nil {
				return err
			}
		}
		return tx.AddStats(ctx, []store.Stat{{Check: "shop/db", Period: t0.Truncate(time.Hour), OK: 1}})
	})
	cs, err := db.StateChanges(ctx, t0.Add(time.Hour))
	if err != nil || len(cs) != 2 || cs[0].Check != "shop/web" || cs[0].To != store.Down || cs[1].Check != "shop/db" {
		t.Errorf("state changes since +1h: %+v, %v", cs, err)
	}
	// A change of state is dated by a probe; the hour of an aggregate is
	// not a probe's time, and does not date the first.
	first, err := db.FirstSeen(ctx)
	if err != nil || !first["shop/web"].Equal(t0) || !first["shop/db"].Equal(t0.Add(2*time.Hour)) {
		t.Errorf("first seen: %v, %v", first, err)
	}
}

func testFlapping(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetFlapping(ctx, "shop/web", t0); err != nil {
			return err
		}
		return tx.SetFlapping(ctx, "shop/web", t0.Add(time.Minute)) // still the first since
	})
	if f, err := db.Flapping(ctx); err != nil || len(f) != 1 || !f["shop/web"].Equal(t0) {
		t.Errorf("flapping: %v, %v", f, err)
	}
	update(t, db, func(ctx context.Context, tx store.Tx) error { return tx.SetFlapping(ctx, "shop/web", time.Time{}) })
	if f, _ := db.Flapping(ctx); len(f) != 0 {
		t.Errorf("after steady: %v", f)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
