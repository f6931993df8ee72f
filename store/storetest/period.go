package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/store"
)

// probe is one probe of a check: when, and whether it passed.
type probe struct {
	at time.Time
	ok bool
}

// every is a probe a minute from start, n of them, all passing or all
// failing.
func every(start time.Time, n int, ok bool) []probe {
	out := make([]probe, n)
	for i := range out {
		out[i] = probe{start.Add(time.Duration(i) * time.Minute), ok}
	}
	return out
}

// writeProbes records probes of check as the daemon does, a transaction
// each: the hourly aggregate, a failure, a change of state (down after
// downAfter failures in a row, dated from the first; up at the first
// success) and the state, with its first probe.
func writeProbes(t *testing.T, db store.Store, check string, downAfter int, probes []probe) {
	t.Helper()
	s := store.CheckState{Check: check, State: store.Unknown}
	for _, p := range probes {
		update(t, db, func(ctx context.Context, tx store.Tx) error {
			if s.First.IsZero() {
				s.First = p.at
			}
			from := s.State
			stat := store.Stat{Check: check, Period: p.at.Truncate(time.Hour), OK: 1}
			if p.ok {
				s.FailStreak = 0
				s.State, s.Since = store.Up, p.at
			} else {
				stat.OK, stat.Failed = 0, 1
				if s.FailStreak == 0 {
					s.StreakSince = p.at
				}
				if s.FailStreak++; s.FailStreak >= downAfter && s.State != store.Down {
					s.State, s.Since = store.Down, s.StreakSince
				}
				if err := tx.AddFailures(ctx, []store.Failure{{Check: check, At: p.at, Kind: "status", Error: "status 502"}}); err != nil {
					return err
				}
			}
			if s.State != from && (s.State == store.Down || from == store.Down || from == store.Unknown) {
				c := store.Change{Check: check, From: from, To: s.State, Since: s.Since, Confirmed: p.at, Now: p.at}
				if err := tx.RecordChange(ctx, c); err != nil {
					return err
				}
			}
			s.Probed = p.at
			if err := tx.SaveCheckState(ctx, s); err != nil {
				return err
			}
			return tx.AddStats(ctx, []store.Stat{stat})
		})
	}
}

// testPeriodEdges: a check is measured from its first probe, to the
// millisecond, never from the start of the hour its first aggregate
// counts; a check never probed has no figures.
func testPeriodEdges(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	hour := t0.Truncate(time.Hour) // 14:00
	lastSecond := hour.Add(time.Hour - time.Second)
	tests := []struct {
		name      string
		downAfter int
		probes    []probe
		now       time.Time
		// first is the first probe the store tells, zero for none: then
		// the report has no figures.
		first  time.Time
		uptime float64
	}{
		{"down since a first probe mid-hour", 3, every(t0, 48, false), t0.Add(48 * time.Minute), t0, 0},
		{"down since a first probe at 14:59:59", 2, every(lastSecond, 2, false), lastSecond.Add(2 * time.Minute), lastSecond, 0},
		{"up at 14:59:59, down for the last 30 s of a minute", 1,
			[]probe{{lastSecond, true}, {lastSecond.Add(30 * time.Second), false}, {lastSecond.Add(time.Minute), false}},
			lastSecond.Add(time.Minute), lastSecond, 50},
		{"failing since a mid-hour first probe, not yet down", 3, every(t0, 2, false), t0.Add(2 * time.Minute), t0, 100},
		{"up since a mid-hour first probe", 3, every(t0, 10, true), t0.Add(10 * time.Minute), t0, 100},
		{"never probed", 3, nil, t0, time.Time{}, 0},
	}
	db := open(t)
	var names []string
	for i := range tests {
		names = append(names, "edge/"+string(rune('a'+i)))
	}
	if err := db.Register(ctx, names); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := names[i]
			writeProbes(t, db, check, tt.downAfter, tt.probes)
			first, err := db.FirstSeen(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := first[check]; ok == tt.first.IsZero() || !got.Equal(tt.first) {
				t.Errorf("first probe %v (listed: %v), want %v", got, ok, tt.first)
			}
			if s, err := db.CheckState(ctx, check); err != nil || !s.First.Equal(tt.first) {
				t.Errorf("state's first probe %v, want %v (%v)", s.First, tt.first, err)
			}
			p := report.Period{From: tt.now.Add(-30 * 24 * time.Hour), To: tt.now, Label: "30d"}
			r, err := report.Build(ctx, db, []string{check}, p, tt.now, func(string, string) bool { return false })
			if err != nil {
				t.Fatal(err)
			}
			c := r.Checks[0]
			if !c.Since.Equal(tt.first) {
				t.Errorf("measured since %v, want %v", c.Since, tt.first)
			}
			if !tt.first.IsZero() && c.Uptime != tt.uptime {
				t.Errorf("uptime %.3f%%, want %.3f%%", c.Uptime, tt.uptime)
			}
		})
	}
}

// testFirstProbeKept: the store keeps the earliest first probe it is
// given; a later one, or none, does not move it.
func testFirstProbeKept(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	for i, first := range []time.Time{t0, t0.Add(time.Minute), {}} {
		update(t, db, func(ctx context.Context, tx store.Tx) error {
			return tx.SaveCheckState(ctx, store.CheckState{Check: "shop/web", State: store.Up, Since: t0,
				First: first, Probed: t0.Add(time.Duration(i) * time.Minute)})
		})
	}
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		return tx.SaveCheckState(ctx, store.CheckState{Check: "shop/web", State: store.Up, Since: t0,
			First: t0.Add(-time.Second), Probed: t0.Add(time.Hour)})
	})
	s, err := db.CheckState(ctx, "shop/web")
	if err != nil || !s.First.Equal(t0.Add(-time.Second)) {
		t.Errorf("first probe %v, want the earliest given (%v)", s.First, err)
	}
	if first, _ := db.FirstSeen(ctx); !first["shop/web"].Equal(t0.Add(-time.Second)) {
		t.Errorf("first seen %v", first)
	}
}
