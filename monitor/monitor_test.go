package monitor

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/robfig/cron/v3"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/store"
)

var t0 = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

func TestThresholds(t *testing.T) {
	tests := []struct {
		name      string
		downAfter int
		upAfter   int
		probes    string // o = ok, x = failed, one per second from t0
		want      string // state after each probe: u = up, d = down, ? = unknown
		changes   map[int]time.Duration
	}{
		{"first success is up", 3, 2, "ooo", "uuu", map[int]time.Duration{0: 0}},
		{"down after three", 3, 2, "oxxxx", "uuudd", map[int]time.Duration{0: 0, 3: 1 * time.Second}},
		{"a blip is no outage", 3, 2, "oxxoxxo", "uuuuuuu", map[int]time.Duration{0: 0}},
		{"up after two, from the first success", 2, 2, "oxxxoooo", "uuddduuu", map[int]time.Duration{0: 0, 2: time.Second, 5: 4 * time.Second}},
		{"a lone success does not recover", 1, 2, "xoxoo", "ddddu", map[int]time.Duration{0: 0, 4: 3 * time.Second}},
		{"down from the start", 2, 1, "xxo", "?du", map[int]time.Duration{1: 0, 2: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &watched{cfg: &config.Check{DownAfter: tt.downAfter, UpAfter: tt.upAfter}}
			var got []byte
			for i, p := range tt.probes {
				at := t0.Add(time.Duration(i) * time.Second)
				change, _ := w.apply(at, p == 'o')
				got = append(got, map[store.State]byte{store.Up: 'u', store.Down: 'd', store.Unknown: '?'}[states[w.state.state]])
				since, want := tt.changes[i]
				if want != (change != nil) {
					t.Fatalf("probe %d: change = %+v, want a change: %v", i, change, want)
				}
				if change != nil && !change.Since.Equal(t0.Add(since)) {
					t.Errorf("probe %d: change since %v, want %v", i, change.Since.Sub(t0), since)
				}
			}
			if string(got) != tt.want {
				t.Errorf("states %s, want %s", got, tt.want)
			}
			if first := w.state.unpack("").First; !first.Equal(t0) {
				t.Errorf("first probe %v, want the first of the run", first)
			}
		})
	}
}

func TestSpreadOffsets(t *testing.T) {
	every30 := cron.Every(30 * time.Second)
	names := make([]string, 300)
	for i := range names {
		names[i] = "m/c" + string(rune('A'+i%26)) + time.Duration(i).String()
	}
	offsets := spreadOffsets(every30, names, t0)
	sorted := slices.Clone(offsets)
	slices.Sort(sorted)
	for i, off := range sorted {
		if want := 30 * time.Second * time.Duration(i) / 300; off != want {
			t.Fatalf("offset %d = %v, want %v: checks must be evenly spread", i, off, want)
		}
	}
	again := spreadOffsets(every30, names, t0.Add(time.Hour))
	if !slices.Equal(offsets, again) {
		t.Error("the same checks must get the same offsets at every start")
	}
	// An hourly cron spec is spread over at most a minute.
	hourly, _ := config.CronParser.Parse("0 0 * * * *")
	for _, off := range spreadOffsets(hourly, names, t0) {
		if off >= maxSpread {
			t.Fatalf("offset %v beyond %v", off, maxSpread)
		}
	}
}

// fakeChecker answers what it is told, and can be made to block.
type fakeChecker struct {
	ok    atomic.Bool
	block chan struct{}
}

func (f *fakeChecker) Check(ctx context.Context) checks.Result {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return checks.Result{Kind: "timeout", Error: "no answer"}
		}
	}
	if f.ok.Load() {
		return checks.Result{OK: true, Latency: time.Millisecond}
	}
	return checks.Result{Kind: "refused", Error: "connection refused"}
}

type recorder struct {
	mu  sync.Mutex
	obs []Observation
}

func (r *recorder) Observe(o Observation) {
	r.mu.Lock()
	r.obs = append(r.obs, o)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.obs)
}

func mustCron(t *testing.T, spec string) cron.Schedule {
	t.Helper()
	s, err := config.CronParser.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSchedulerSpreadsAndSkips(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	var cs []*config.Check
	fakes := map[string]*fakeChecker{}
	for i := range 10 {
		c := &config.Check{ID: "shop/c" + string(rune('0'+i)), Schedule: "@every 10s", Cron: mustCron(t, "@every 10s"),
			Timeout: config.Duration{Duration: time.Hour}, DownAfter: 1, UpAfter: 1, TCP: &config.TCPCheck{}}
		cs = append(cs, c)
		fakes[c.ID] = &fakeChecker{}
		fakes[c.ID].ok.Store(true)
	}
	stuck := fakes["shop/c0"]
	stuck.block = make(chan struct{})
	rec := &recorder{}
	m, err := New(Options{Checks: cs, Sink: rec, Clock: clock,
		Build: func(c *config.Check) (checks.Checker, error) { return fakes[c.ID], nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()

	// Advance one second at a time through two intervals, letting the
	// probes started in each second finish before the next: fake time
	// runs faster than real goroutines.
	idle := func() bool {
		for _, s := range m.Statuses()[1:] {
			if s.Running {
				return false
			}
		}
		return true
	}
	for range 19 {
		clock.BlockUntilContext(ctx, 1)
		eventually(t, "the second's probes", idle)
		clock.Advance(time.Second)
	}
	clock.BlockUntilContext(ctx, 1)
	eventually(t, "18 probes", func() bool { return len(rec.snapshot()) == 18 })

	// Nine checks ran twice, each at its own second of the interval.
	starts := map[time.Time]int{}
	for _, o := range rec.snapshot() {
		starts[o.At]++
		if o.At.Sub(t0) >= 20*time.Second {
			t.Errorf("%s probed at +%v, beyond two intervals", o.Check.ID, o.At.Sub(t0))
		}
	}
	for at, n := range starts {
		if n > 1 {
			t.Errorf("%d checks fired together at +%v", n, at.Sub(t0))
		}
	}
	// The stuck one started once and was skipped once, not stacked.
	for _, s := range m.Statuses() {
		if s.Check.ID == "shop/c0" {
			if !s.Running || s.Skipped != 1 {
				t.Errorf("stuck check: running=%v skipped=%d, want running and skipped once", s.Running, s.Skipped)
			}
		} else if s.Probes != 2 {
			t.Errorf("%s probed %d times, want 2", s.Check.ID, s.Probes)
		}
	}
	close(stuck.block)
	eventually(t, "the stuck probe to end", func() bool { return len(rec.snapshot()) == 19 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestShutdownCancelsProbesAndReportsNothing(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	f := &fakeChecker{block: make(chan struct{})}
	c := &config.Check{ID: "shop/web", Schedule: "@every 5s", Cron: mustCron(t, "@every 5s"),
		Timeout: config.Duration{Duration: time.Hour}, DownAfter: 1, UpAfter: 1, HTTP: &config.HTTPCheck{}}
	rec := &recorder{}
	m, err := New(Options{Checks: []*config.Check{c}, Sink: rec, Clock: clock,
		Build: func(*config.Check) (checks.Checker, error) { return f, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	eventually(t, "the probe to start", func() bool { return m.Statuses()[0].Running })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if n := len(rec.snapshot()); n != 0 {
		t.Errorf("a probe cut short by shutdown was reported as %+v", rec.snapshot())
	}
}

func TestRestoredStateIsKept(t *testing.T) {
	c := &config.Check{ID: "shop/web", Schedule: "@every 5s", Cron: mustCron(t, "@every 5s"),
		Timeout: config.Duration{Duration: time.Second}, DownAfter: 3, UpAfter: 2, HTTP: &config.HTTPCheck{}}
	f := &fakeChecker{}
	rec := &recorder{}
	since := t0.Add(-time.Hour)
	m, err := New(Options{Checks: []*config.Check{c}, Sink: rec, Clock: clockwork.NewFakeClockAt(t0),
		States: map[string]store.CheckState{c.ID: {Check: c.ID, State: store.Down, Since: since, FailStreak: 40, StreakSince: since, Incident: 7}},
		Build:  func(*config.Check) (checks.Checker, error) { return f, nil }})
	if err != nil {
		t.Fatal(err)
	}
	m.probe(context.Background(), m.watched[0], t0)
	o := rec.snapshot()[0]
	if o.Change != nil || o.State.State != store.Down || o.State.FailStreak != 41 || !o.State.StreakSince.Equal(since) {
		t.Errorf("a restart must continue the outage, got %+v", o)
	}
}

// TestSlackStartsEachProbeOnce: probes that fall due within the slack start
// together with the one due, and each only once per interval.
func TestSlackStartsEachProbeOnce(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	every := mustCron(t, "@every 1s")
	var cs []*config.Check
	f := &fakeChecker{}
	f.ok.Store(true)
	for i := range 1000 { // spread 1 ms apart
		cs = append(cs, &config.Check{ID: "shop/c" + time.Duration(i).String(), Schedule: "@every 1s", Cron: every,
			Timeout: config.Duration{Duration: time.Second}, DownAfter: 1, UpAfter: 1, TCP: &config.TCPCheck{}})
	}
	rec := &recorder{}
	m, err := New(Options{Checks: cs, Sink: rec, Clock: clock,
		Build: func(*config.Check) (checks.Checker, error) { return f, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	clock.BlockUntilContext(ctx, 1) // the first round is due at t0 + 0..999 ms
	for range 2000 {
		clock.Advance(time.Millisecond)
		clock.BlockUntilContext(ctx, 1)
	}
	eventually(t, "two rounds", func() bool {
		for _, s := range m.Statuses() {
			if s.Running || s.Probes+s.Skipped < 2 {
				return false
			}
		}
		return true
	})
	last := map[string]time.Time{}
	for _, o := range rec.snapshot() {
		if prev, ok := last[o.Check.ID]; ok && o.At.Sub(prev) < time.Second-slack {
			t.Fatalf("%s probed at +%v and again at +%v", o.Check.ID, prev.Sub(t0), o.At.Sub(t0))
		}
		last[o.Check.ID] = o.At
	}
	for _, s := range m.Statuses() {
		if n := s.Probes + s.Skipped; n < 2 || n > 3 {
			t.Fatalf("%s: %d probes, %d skipped in two intervals", s.Check.ID, s.Probes, s.Skipped)
		}
	}
	cancel()
	<-done
}

// TestRestartDoesNotJoinStreaks: failures before a stop and after it are
// not consecutive, so an outage is never dated back across a restart; a
// check that was down stays down.
func TestRestartDoesNotJoinStreaks(t *testing.T) {
	monday := t0.Add(-48 * time.Hour)
	tests := []struct {
		name       string
		saved      store.CheckState
		wantChange bool
		wantState  store.State
	}{
		{"up with two failures saved", store.CheckState{State: store.Up, Since: monday.Add(-time.Hour), FailStreak: 2, StreakSince: monday}, false, store.Up},
		{"down with a recovery under way", store.CheckState{State: store.Down, Since: monday, OKStreak: 1, StreakSince: monday}, false, store.Down},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config.Check{ID: "shop/web", Schedule: "@every 5s", Cron: mustCron(t, "@every 5s"),
				Timeout: config.Duration{Duration: time.Second}, DownAfter: 3, UpAfter: 2, HTTP: &config.HTTPCheck{}}
			f := &fakeChecker{}
			f.ok.Store(tt.saved.State == store.Down)
			rec := &recorder{}
			tt.saved.Check = c.ID
			m, err := New(Options{Checks: []*config.Check{c}, Sink: rec, Clock: clockwork.NewFakeClockAt(t0),
				States: map[string]store.CheckState{c.ID: tt.saved},
				Build:  func(*config.Check) (checks.Checker, error) { return f, nil }})
			if err != nil {
				t.Fatal(err)
			}
			m.probe(context.Background(), m.watched[0], t0)
			o := rec.snapshot()[0]
			if (o.Change != nil) != tt.wantChange || o.State.State != tt.wantState || !o.State.StreakSince.Equal(t0) {
				t.Errorf("after one probe on restart: %+v, change %+v", o.State, o.Change)
			}
		})
	}
}

func TestEverySpreadsOverTheWholeInterval(t *testing.T) {
	names := []string{"a/1", "a/2", "a/3", "a/4"}
	offsets := spreadOffsets(mustCron(t, "@every 5m"), names, t0)
	if slices.Max(offsets) != 225*time.Second {
		t.Errorf("offsets %v: @every 5m must spread over five minutes", offsets)
	}
}

// owner owns the checks of its set, for slots from `from` on.
type owner struct {
	mu   sync.Mutex
	from time.Time
}

func (o *owner) Owns(_ string, at time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !at.Before(o.from)
}

// TestTakeOverReadsTheState: a check another instance probes is not
// probed here; in the first slot this instance owns it, its state is read
// from the store, where the other left it, and the probe continues it;
// the same when the monitor waits for its saved states (Options.Wait) and
// they come after the probe, older than the state read.
func TestTakeOverReadsTheState(t *testing.T) {
	for _, wait := range []bool{false, true} {
		t.Run(fmt.Sprintf("wait=%v", wait), func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(t0)
			c := &config.Check{ID: "shop/web", Schedule: "@every 1s", Cron: mustCron(t, "@every 1s"),
				Timeout: config.Duration{Duration: time.Second}, DownAfter: 3, UpAfter: 2, HTTP: &config.HTTPCheck{}}
			f := &countingChecker{}
			rec := &recorder{}
			own := &owner{from: t0.Add(5 * time.Second)}
			since := t0.Add(-time.Minute)
			saved := map[string]store.CheckState{c.ID: {Check: c.ID, State: store.Up, Since: t0.Add(-time.Hour)}}
			var reads atomic.Int32
			o := Options{Checks: []*config.Check{c}, Sink: rec, States: saved, Wait: wait, Clock: clock, Owner: own,
				State: func(_ context.Context, check string) (store.CheckState, error) {
					reads.Add(1)
					return store.CheckState{Check: check, State: store.Down, Since: since, FailStreak: 9, StreakSince: since}, nil
				},
				Build: func(*config.Check) (checks.Checker, error) { return f, nil }}
			if wait {
				o.Sink, o.States = nil, nil
			}
			m, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			ctx := runUntilEnd(t, m, clock)
			tick := func(n int) {
				for range n {
					clock.Advance(time.Second)
					clock.BlockUntilContext(ctx, 1)
					time.Sleep(5 * time.Millisecond)
				}
			}
			tick(6)
			if wait {
				eventually(t, "the probe of the check taken over", func() bool { return f.probes.Load() >= 1 })
				m.Ready(saved, false, rec)
			}
			tick(3)
			eventually(t, "probes once owned", func() bool { return len(rec.snapshot()) >= 3 })
			for _, o := range rec.snapshot() {
				if o.At.Before(own.from) {
					t.Errorf("probed at +%v, before the check was this instance's", o.At.Sub(t0))
				}
			}
			first := rec.snapshot()[0]
			if first.Change != nil || first.State.State != store.Down || first.State.FailStreak != 10 || reads.Load() != 1 {
				t.Errorf("the first probe after the takeover: %+v (%d reads); want the outage continued", first.State, reads.Load())
			}
			if m.Assigned() != 1 || !m.Statuses()[0].Owned {
				t.Errorf("assigned %d", m.Assigned())
			}
		})
	}
}

// TestPackedState: a check's state held packed comes back as it went in,
// the zero times as zero, whatever the state.
func TestPackedState(t *testing.T) {
	at := time.Date(2026, 12, 3, 14, 2, 10, 123456789, time.UTC)
	for _, s := range []store.CheckState{
		{Check: "shop/home", State: store.Unknown},
		{Check: "shop/home", State: store.Up, Since: at, OKStreak: 7, StreakSince: at.Add(-time.Minute), Probed: at, First: at.Add(-time.Hour)},
		{Check: "shop/home", State: store.Down, Since: at, FailStreak: 3, StreakSince: at, First: at},
	} {
		got := pack(s).unpack("shop/home")
		if got.State != s.State || got.FailStreak != s.FailStreak || got.OKStreak != s.OKStreak || got.Check != s.Check {
			t.Errorf("%+v came back as %+v", s, got)
		}
		for _, pair := range [][2]time.Time{{got.Since, s.Since}, {got.StreakSince, s.StreakSince}, {got.Probed, s.Probed}, {got.First, s.First}} {
			if !pair[0].Equal(pair[1]) || pair[0].IsZero() != pair[1].IsZero() {
				t.Errorf("%+v: time %v came back as %v", s, pair[1], pair[0])
			}
		}
	}
}

// countingChecker succeeds or fails as told, and counts its probes.
type countingChecker struct {
	ok     bool
	probes atomic.Int32
}

func (c *countingChecker) Check(context.Context) checks.Result {
	c.probes.Add(1)
	if c.ok {
		return checks.Result{OK: true}
	}
	return checks.Result{Kind: "refused", Error: "connection refused"}
}

// TestWaitProbesBeforeTheStates: a monitor built to wait probes on its
// schedule before it has the saved states; the result then waits for
// them, and counts on from the saved outage. A heartbeat is watched from
// Ready on, its deadline counted from its saved last ping.
func TestWaitProbesBeforeTheStates(t *testing.T) {
	web := &config.Check{ID: "shop/web", Schedule: "@every 5s", Cron: mustCron(t, "@every 5s"),
		Timeout: config.Duration{Duration: time.Second}, DownAfter: 3, UpAfter: 2, HTTP: &config.HTTPCheck{}}
	backup := heartbeatCheck(time.Minute, 10*time.Second)
	probe := &countingChecker{}
	clock := clockwork.NewFakeClockAt(t0)
	m, err := New(Options{Checks: []*config.Check{web, backup}, Wait: true, Clock: clock, Location: time.UTC,
		Build: func(*config.Check) (checks.Checker, error) { return probe, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := runUntilEnd(t, m, clock)
	// Past the heartbeat's saved deadline (+20s); the check's probe at
	// the start still waits, and its next slots are skipped.
	clock.Advance(25 * time.Second)
	clock.BlockUntilContext(ctx, 1)
	eventually(t, "a probe before the states are in", func() bool { return probe.probes.Load() >= 1 })

	down := t0.Add(-time.Hour)
	rec := &recorder{}
	m.Ready(map[string]store.CheckState{
		web.ID:    {Check: web.ID, State: store.Down, Since: down, FailStreak: 40, StreakSince: down},
		backup.ID: {Check: backup.ID, State: store.Up, Since: down, Probed: t0.Add(-50 * time.Second)},
	}, false, rec)
	eventually(t, "the waiting result and the heartbeat's miss", func() bool { return len(rec.snapshot()) >= 2 })
	for _, o := range rec.snapshot() {
		switch o.Check.ID {
		case web.ID:
			if o.Change != nil || o.State.State != store.Down || o.State.FailStreak != 41 || !o.State.StreakSince.Equal(down) {
				t.Errorf("the probe made before the states came must count on from the saved outage: %+v", o.State)
			}
		case backup.ID:
			if o.Result.Error != "no ping since 13:59:10, due every 1m with 10s grace" || !o.At.Equal(t0.Add(25*time.Second)) {
				t.Errorf("the heartbeat's deadline must count from its saved ping, missed when watched: at +%v, %+v", o.At.Sub(t0), o.Result)
			}
		}
	}
}

// TestFNV: the offsets are hashed as hash/fnv's FNV-1a hashes the names,
// so that a check keeps its place in its interval across versions.
func TestFNV(t *testing.T) {
	for _, name := range []string{"", "kim-shop/web", "shop000001/web", "한글/web"} {
		h := fnv.New64a()
		h.Write([]byte(name))
		if got, want := fnv64a(name), h.Sum64(); got != want {
			t.Errorf("fnv64a(%q) = %x, want %x", name, got, want)
		}
	}
}

// BenchmarkNew100k builds a monitor of 100,000 HTTP checks, as a daemon
// does at start before its first probe.
func BenchmarkNew100k(b *testing.B) {
	every := mustCronB(b, "@every 60s")
	cs := make([]*config.Check, 100_000)
	for i := range cs {
		cs[i] = &config.Check{ID: fmt.Sprintf("shop%06d/web", i), Schedule: "@every 60s", Cron: every,
			Timeout: config.Duration{Duration: 5 * time.Second}, DownAfter: 3, UpAfter: 2,
			HTTP: &config.HTTPCheck{URL: fmt.Sprintf("http://127.0.0.1:9/shop/%d", i), Method: "GET"}}
	}
	env := checks.NewEnv(checks.EnvOptions{UserAgent: "hostwatch/bench"})
	defer env.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Options{Checks: cs, Env: env, Wait: true, Aggregate: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func mustCronB(b *testing.B, spec string) cron.Schedule {
	s, err := config.CronParser.Parse(spec)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
