package monitor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/store"
)

// heartbeatCheck is a check whose job pings every period, grace late at
// most.
func heartbeatCheck(period, grace time.Duration) *config.Check {
	return &config.Check{ID: "shop/backup", DownAfter: 1, UpAfter: 1,
		Heartbeat: &config.HeartbeatCheck{Period: config.Duration{Duration: period}, Grace: config.Duration{Duration: grace}}}
}

// watchBeats runs a monitor of c on a fake clock at t0 until the test
// ends; the scheduler is waiting when it returns.
func watchBeats(t *testing.T, o Options) (*Monitor, *recorder, *clockwork.FakeClock, context.Context) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	rec := &recorder{}
	o.Sink, o.Clock, o.Location = rec, clock, time.UTC
	o.Build = func(c *config.Check) (checks.Checker, error) {
		t.Fatalf("a checker was built for %s", c.ID)
		return nil, nil
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m, rec, clock, runUntilEnd(t, m, clock)
}

// runUntilEnd runs m until the test ends; its scheduler is waiting on
// clock when it returns.
func runUntilEnd(t *testing.T, m *Monitor, clock *clockwork.FakeClock) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	clock.BlockUntilContext(ctx, 1)
	return ctx
}

// advanceTo moves the fake clock to at, and waits until the scheduler
// has dealt with what fell due and waits again, with want observations.
func advanceTo(t *testing.T, ctx context.Context, clock *clockwork.FakeClock, rec *recorder, at time.Time, want int) {
	t.Helper()
	clock.Advance(at.Sub(clock.Now()))
	eventually(t, "the observations", func() bool { return len(rec.snapshot()) >= want })
	clock.BlockUntilContext(ctx, 1)
	time.Sleep(5 * time.Millisecond) // a late observation would show now
	if got := rec.snapshot(); len(got) != want {
		t.Fatalf("at +%v: %d observations, want %d: %+v", at.Sub(t0), len(got), want, got)
	}
}

// TestHeartbeatDeadline: a check never pinged is missed exactly a period
// and its grace after the watch began, down at once, and missed again
// each period after; a ping brings it up and moves the deadline to a
// period and grace after itself.
func TestHeartbeatDeadline(t *testing.T) {
	c := heartbeatCheck(time.Minute, 10*time.Second)
	m, rec, clock, ctx := watchBeats(t, Options{Checks: []*config.Check{c}})
	if got := m.Statuses()[0].NextProbe; !got.Equal(t0.Add(70 * time.Second)) {
		t.Errorf("deadline +%v, want +70s", got.Sub(t0))
	}

	advanceTo(t, ctx, clock, rec, t0.Add(70*time.Second-time.Millisecond), 0)
	advanceTo(t, ctx, clock, rec, t0.Add(70*time.Second), 1)
	o := rec.snapshot()[0]
	if !o.At.Equal(t0.Add(70*time.Second)) || o.Result.OK || o.Result.Kind != "heartbeat" ||
		o.Result.Error != "no ping since hostwatch started at 14:00:00, due every 1m with 10s grace" {
		t.Errorf("the miss: at +%v, %+v", o.At.Sub(t0), o.Result)
	}
	if o.Change == nil || o.Change.To != store.Down || !o.Change.Since.Equal(o.At) || o.Steady {
		t.Errorf("the miss did not take the check down at once: %+v", o)
	}

	// Still no ping: missed again a period later, still down.
	advanceTo(t, ctx, clock, rec, t0.Add(130*time.Second-time.Millisecond), 1)
	advanceTo(t, ctx, clock, rec, t0.Add(130*time.Second), 2)
	if o := rec.snapshot()[1]; o.Change != nil || o.State.State != store.Down || o.State.FailStreak != 2 {
		t.Errorf("the second miss: %+v", o)
	}

	// A ping: up at once; the next deadline is a period and grace on.
	pinged := t0.Add(150 * time.Second)
	clock.Advance(pinged.Sub(clock.Now()))
	if err := m.Ping(ctx, c.ID, PingSuccess, pinged, []byte("backup done")); err != nil {
		t.Fatal(err)
	}
	o = rec.snapshot()[2]
	if !o.Result.OK || o.Result.Evidence != "backup done" || o.Change == nil || o.Change.To != store.Up || o.Steady {
		t.Errorf("the ping: %+v", o)
	}
	if st := m.Statuses()[0]; !st.LastAt.Equal(pinged) || !st.NextProbe.Equal(pinged.Add(70*time.Second)) {
		t.Errorf("after the ping: last %v, deadline +%v", st.LastAt, st.NextProbe.Sub(t0))
	}
	// The scheduler still holds the old deadline: it finds it moved.
	advanceTo(t, ctx, clock, rec, t0.Add(190*time.Second), 3)
	advanceTo(t, ctx, clock, rec, pinged.Add(70*time.Second-time.Millisecond), 3)
	advanceTo(t, ctx, clock, rec, pinged.Add(70*time.Second), 4)
	if o := rec.snapshot()[3]; o.Result.Error != "no ping since 14:02:30, due every 1m with 10s grace" || o.Change == nil {
		t.Errorf("the miss after the ping: %+v", o)
	}
}

// TestHeartbeatPingsMoveTheDeadline: pings in time keep the check up and
// are never missed; the deadline is always a period and grace after the
// last.
func TestHeartbeatPingsMoveTheDeadline(t *testing.T) {
	c := heartbeatCheck(time.Minute, 10*time.Second)
	m, rec, clock, ctx := watchBeats(t, Options{Checks: []*config.Check{c}})
	for i := 1; i <= 5; i++ {
		at := t0.Add(time.Duration(i) * 65 * time.Second) // each 5 s late, within the grace
		advanceTo(t, ctx, clock, rec, at, i-1)
		if err := m.Ping(ctx, c.ID, PingSuccess, at, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range rec.snapshot() {
		if !o.Result.OK || o.Steady {
			t.Errorf("at +%v: %+v", o.At.Sub(t0), o)
		}
	}
	last := t0.Add(5 * 65 * time.Second)
	advanceTo(t, ctx, clock, rec, last.Add(70*time.Second-time.Millisecond), 5)
	advanceTo(t, ctx, clock, rec, last.Add(70*time.Second), 6)
}

// TestHeartbeatFailStartAndSuccess: a failure the job reports is down at
// once with what it sent; a start then a success is up, its latency the
// time between them.
func TestHeartbeatFailStartAndSuccess(t *testing.T) {
	c := heartbeatCheck(time.Hour, time.Minute)
	m, rec, clock, ctx := watchBeats(t, Options{Checks: []*config.Check{c}})
	at := t0.Add(time.Minute)
	clock.Advance(time.Minute)
	if err := m.Ping(ctx, c.ID, PingFail, at, []byte("pg_dump: connection refused")); err != nil {
		t.Fatal(err)
	}
	o := rec.snapshot()[0]
	if o.Result.OK || o.Result.Kind != "heartbeat" || o.Result.Error != "the job reported a failure" ||
		o.Result.Evidence != "pg_dump: connection refused" || o.Change == nil || o.Change.To != store.Down {
		t.Errorf("the failure: %+v", o)
	}
	if err := m.Ping(ctx, c.ID, PingStart, at.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.snapshot()); n != 1 {
		t.Errorf("a start was observed: %d observations", n)
	}
	if err := m.Ping(ctx, c.ID, PingSuccess, at.Add(3*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	o = rec.snapshot()[1]
	if !o.Result.OK || o.Result.Latency != 2*time.Minute || o.Change == nil || o.Change.From != store.Down || o.Change.To != store.Up {
		t.Errorf("the success after a start: %+v", o)
	}
	// No start since: the next success took no time.
	if err := m.Ping(ctx, c.ID, PingSuccess, at.Add(4*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if o := rec.snapshot()[2]; o.Result.Latency != 0 || o.Change != nil || o.Steady {
		t.Errorf("a success without a start: %+v", o)
	}
	if err := m.Ping(ctx, "shop/other", PingSuccess, at, nil); !errors.Is(err, ErrNotHeartbeat) {
		t.Errorf("a ping of no heartbeat: %v", err)
	}
	if _, err := m.ProbeNow(ctx, c.ID); !errors.Is(err, ErrNotProbed) {
		t.Errorf("a heartbeat probed: %v", err)
	}
}

// TestHeartbeatSchedule: a job due at 03:00 each day with 30 minutes'
// grace is missed at 03:30, whenever the watch began.
func TestHeartbeatSchedule(t *testing.T) {
	c := &config.Check{ID: "shop/nightly", DownAfter: 1, UpAfter: 1, Heartbeat: &config.HeartbeatCheck{
		Schedule: "0 3 * * *", Cron: mustCron(t, "CRON_TZ=UTC 0 3 * * *"), Grace: config.Duration{Duration: 30 * time.Minute}}}
	m, rec, clock, ctx := watchBeats(t, Options{Checks: []*config.Check{c}})
	night := time.Date(2026, 11, 26, 3, 30, 0, 0, time.UTC) // t0 is the 25th, 14:00
	if got := m.Statuses()[0].NextProbe; !got.Equal(night) {
		t.Fatalf("deadline %v, want %v", got, night)
	}
	advanceTo(t, ctx, clock, rec, night.Add(-time.Millisecond), 0)
	advanceTo(t, ctx, clock, rec, night, 1)
	if o := rec.snapshot()[0]; o.Result.Error != `no ping since hostwatch started at 14:00:00, due at "0 3 * * *" with 30m grace` {
		t.Errorf("the miss: %+v", o.Result)
	}
	// Pinged at 03:40, late: up, and due the next night.
	pinged := night.Add(10 * time.Minute)
	clock.Advance(10 * time.Minute)
	if err := m.Ping(ctx, c.ID, PingSuccess, pinged, nil); err != nil {
		t.Fatal(err)
	}
	if got := m.Statuses()[0].NextProbe; !got.Equal(night.AddDate(0, 0, 1)) {
		t.Errorf("deadline after the ping %v, want the next night's", got)
	}
}

// TestHeartbeatAfterARestart: the deadline counts from the last ping in
// the saved state, not from the start; a reload hands on when a check
// never pinged began to be watched.
func TestHeartbeatAfterARestart(t *testing.T) {
	c := heartbeatCheck(time.Minute, 10*time.Second)
	pinged := t0.Add(-50 * time.Second)
	m, rec, clock, ctx := watchBeats(t, Options{Checks: []*config.Check{c},
		States: map[string]store.CheckState{c.ID: {Check: c.ID, State: store.Up, Since: t0.Add(-time.Hour), Probed: pinged}}})
	if st := m.Statuses()[0]; !st.LastAt.Equal(pinged) {
		t.Errorf("last ping %v, want the saved one", st.LastAt)
	}
	advanceTo(t, ctx, clock, rec, t0.Add(20*time.Second), 1)
	if o := rec.snapshot()[0]; o.Result.Error != "no ping since 13:59:10, due every 1m with 10s grace" || o.Change == nil {
		t.Errorf("the miss after a restart: %+v", o)
	}

	// Pinged last three hours before the start: missed at the start,
	// once, and a period and grace after it.
	m, rec, clock, ctx = watchBeats(t, Options{Checks: []*config.Check{c},
		States: map[string]store.CheckState{c.ID: {Check: c.ID, State: store.Up, Since: t0.Add(-4 * time.Hour), Probed: t0.Add(-3 * time.Hour)}}})
	advanceTo(t, ctx, clock, rec, t0, 1)
	if o := rec.snapshot()[0]; !o.At.Equal(t0) || o.Result.Error != "no ping since 11:00:00, due every 1m with 10s grace" {
		t.Errorf("the miss of a deadline passed while stopped: at +%v, %+v", o.At.Sub(t0), o.Result)
	}
	advanceTo(t, ctx, clock, rec, t0.Add(70*time.Second-time.Millisecond), 1)
	advanceTo(t, ctx, clock, rec, t0.Add(70*time.Second), 2)
	if !m.Statuses()[0].NextProbe.Equal(t0.Add(130 * time.Second)) {
		t.Errorf("deadline +%v, want +130s", m.Statuses()[0].NextProbe.Sub(t0))
	}

	began := t0.Add(-55 * time.Second)
	m, _, _, _ = watchBeats(t, Options{Checks: []*config.Check{c}, Resume: true,
		States:  map[string]store.CheckState{c.ID: {Check: c.ID, State: store.Unknown}},
		Watched: map[string]time.Time{c.ID: began}})
	if st := m.Statuses()[0]; !st.NextProbe.Equal(began.Add(70*time.Second)) || !st.Watched.Equal(began) {
		t.Errorf("after a reload: deadline +%v, watched %v", st.NextProbe.Sub(t0), st.Watched)
	}
}

// TestHeartbeatInACluster: only the instance that owns the check acts on
// its deadline, after reading the state saved last, where a ping another
// instance took shows; a ping read there moves the deadline.
func TestHeartbeatInACluster(t *testing.T) {
	c := heartbeatCheck(time.Minute, 10*time.Second)
	saved := &savedState{s: store.CheckState{Check: c.ID, State: store.Unknown}}
	own := &owner{from: t0.Add(100 * time.Second)}
	m, rec, clock, ctx := watchBeats(t, Options{Checks: []*config.Check{c}, Owner: own, State: saved.read})
	// Another instance's at +70s: nothing here.
	advanceTo(t, ctx, clock, rec, t0.Add(70*time.Second), 0)
	if saved.reads.Load() != 0 || m.Assigned() != 0 {
		t.Errorf("a deadline of a check not owned: %d reads, %d assigned", saved.reads.Load(), m.Assigned())
	}
	// Owned from +100s; at the deadline of +130s, the other instance
	// had taken a ping at +125s: no miss, due from that ping.
	saved.set(store.CheckState{Check: c.ID, State: store.Up, Since: t0.Add(125 * time.Second), OKStreak: 1, Probed: t0.Add(125 * time.Second)})
	advanceTo(t, ctx, clock, rec, t0.Add(130*time.Second), 0)
	if saved.reads.Load() != 1 || !m.Statuses()[0].NextProbe.Equal(t0.Add(195*time.Second)) {
		t.Errorf("%d reads; deadline +%v, want +195s", saved.reads.Load(), m.Statuses()[0].NextProbe.Sub(t0))
	}
	advanceTo(t, ctx, clock, rec, t0.Add(195*time.Second), 1)
	if o := rec.snapshot()[0]; o.Result.Error != "no ping since 14:02:05, due every 1m with 10s grace" || o.Change == nil || o.Change.From != store.Up {
		t.Errorf("the owner's miss: %+v", o)
	}
	// A ping here reads the state first: it continues what was saved.
	saved.set(store.CheckState{Check: c.ID, State: store.Down, Since: t0.Add(195 * time.Second), FailStreak: 1, Probed: t0.Add(196 * time.Second)})
	if err := m.Ping(ctx, c.ID, PingSuccess, t0.Add(197*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if o := rec.snapshot()[1]; saved.reads.Load() != 3 || o.Change == nil || o.Change.From != store.Down || o.Change.To != store.Up {
		t.Errorf("a ping in a cluster (%d reads): %+v", saved.reads.Load(), o)
	}
}

// savedState is a check's state as the store of a cluster holds it.
type savedState struct {
	mu    sync.Mutex
	s     store.CheckState
	reads atomic.Int32
}

func (s *savedState) read(context.Context, string) (store.CheckState, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s, nil
}

func (s *savedState) set(st store.CheckState) {
	s.mu.Lock()
	s.s = st
	s.mu.Unlock()
}

// TestHeartbeatEvidence: what a job sends is kept to its first 10 KiB,
// cut between characters, in valid UTF-8 without NUL.
func TestHeartbeatEvidence(t *testing.T) {
	body := []byte(strings.Repeat("가", 4000)) // 12,000 bytes
	got := evidence(body)
	if len(got) > 10<<10 || !utf8.ValidString(got) || !strings.HasPrefix(string(body), got) || len(got) < 10<<10-2 {
		t.Errorf("%d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if got := evidence([]byte("ok\x00\xffdone")); got != "ok\uFFFD\uFFFDdone" {
		t.Errorf("%q", got)
	}
}

// TestHeartbeatStoppedMonitor: a ping after the monitor stopped is
// refused, not lost silently.
func TestHeartbeatStoppedMonitor(t *testing.T) {
	c := heartbeatCheck(time.Minute, 0)
	m, err := New(Options{Checks: []*config.Check{c}, Sink: &recorder{}, Clock: clockwork.NewFakeClockAt(t0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m.Run(ctx)
	if err := m.Ping(context.Background(), c.ID, PingSuccess, t0, nil); !errors.Is(err, ErrStopped) {
		t.Errorf("ping after the stop: %v", err)
	}
}

// TestHeartbeatTakenOverAfterItsDeadline: an instance that takes a check
// over just after the deadline it did not own acts on it within 30 s, not
// a period later.
func TestHeartbeatTakenOverAfterItsDeadline(t *testing.T) {
	c := heartbeatCheck(time.Hour, 10*time.Second)
	saved := &savedState{s: store.CheckState{Check: c.ID, State: store.Up, Since: t0, Probed: t0}}
	own := &owner{from: t0.Add(time.Hour + 20*time.Second)}
	_, rec, clock, ctx := watchBeats(t, Options{Checks: []*config.Check{c}, Owner: own, State: saved.read,
		States: map[string]store.CheckState{c.ID: saved.s}})
	advanceTo(t, ctx, clock, rec, t0.Add(time.Hour+10*time.Second), 0) // the deadline: another's
	advanceTo(t, ctx, clock, rec, t0.Add(time.Hour+40*time.Second), 1) // taken over: missed now
	if o := rec.snapshot()[0]; o.Result.OK || o.Change == nil || o.Change.To != store.Down {
		t.Errorf("the miss after the takeover: %+v", o)
	}
}
