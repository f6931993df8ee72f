package monitor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/store"
)

// scripted answers its probes in turn, o for a success and x for a
// failure; past the end of its script, the last answer again. Its first
// probe waits for first to close, when that is set.
type scripted struct {
	mu     sync.Mutex
	script string
	n      int
	first  chan struct{}
}

func (s *scripted) Check(ctx context.Context) checks.Result {
	s.mu.Lock()
	i := min(s.n, len(s.script)-1)
	s.n++
	s.mu.Unlock()
	if i == 0 && s.first != nil {
		<-s.first
	}
	if s.script[i] == 'o' {
		return checks.Result{OK: true, Latency: time.Millisecond}
	}
	return checks.Result{Kind: "status", Error: "status 502, want 2xx"}
}

// retryRun is one check on @every 60s with down_after 3 and up_after 2,
// run by a monitor on a fake clock from t0, saved as up or down.
type retryRun struct {
	t     *testing.T
	ctx   context.Context
	clock *clockwork.FakeClock
	m     *Monitor
	rec   *recorder
	done  chan error
}

func startRetryRun(t *testing.T, retry time.Duration, saved store.State, checker checks.Checker, own Owner) *retryRun {
	t.Helper()
	c := &config.Check{ID: "shop/web", Schedule: "@every 60s", Cron: mustCron(t, "@every 60s"),
		Timeout: config.Duration{Duration: time.Hour}, DownAfter: 3, UpAfter: 2,
		RetryInterval: config.Duration{Duration: retry}, HTTP: &config.HTTPCheck{}}
	r := &retryRun{t: t, clock: clockwork.NewFakeClockAt(t0), rec: &recorder{}, done: make(chan error, 1)}
	var err error
	r.m, err = New(Options{Checks: []*config.Check{c}, Sink: r.rec, Clock: r.clock, Owner: own,
		States: map[string]store.CheckState{c.ID: {Check: c.ID, State: saved, Since: t0.Add(-time.Hour), FailStreak: 5}},
		Build:  func(*config.Check) (checks.Checker, error) { return checker, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.ctx = ctx
	go func() { r.done <- r.m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

// to moves the fake clock to t0+d.
func (r *retryRun) to(d time.Duration) {
	r.clock.BlockUntilContext(r.ctx, 1)
	r.clock.Advance(t0.Add(d).Sub(r.clock.Now()))
}

// observed waits for the nth observation and returns it.
func (r *retryRun) observed(n int) Observation {
	r.t.Helper()
	eventually(r.t, "the probe", func() bool { return len(r.rec.snapshot()) >= n })
	return r.rec.snapshot()[n-1]
}

// nextAt waits for the check's next probe to be planned at t0+d.
func (r *retryRun) nextAt(d time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		next := r.m.Statuses()[0].NextProbe
		if next.Equal(t0.Add(d)) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("next probe planned at +%v, want +%v", next.Sub(t0), d)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRetryInterval: after a first failure the check is probed again
// every retry_interval until down_after confirms the outage or a success
// ends the run, and likewise while down until up_after confirms the
// recovery; then it is back on its schedule. Without retry_interval, only
// the schedule probes.
func TestRetryInterval(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name   string
		retry  time.Duration
		saved  store.State
		script string
		at     []time.Duration // when each probe runs
		change int             // the probe that changes the state, -1 for none
		to     store.State
		next   time.Duration // the probe planned after the last
	}{
		{"down 10 s after the first failure", 5 * s, store.Up, "xxx", []time.Duration{0, 5 * s, 10 * s}, 2, store.Down, 70 * s},
		{"a lone failure goes back on schedule", 5 * s, store.Up, "xo", []time.Duration{0, 5 * s}, -1, "", 65 * s},
		{"up 5 s after the first success", 5 * s, store.Down, "oo", []time.Duration{0, 5 * s}, 1, store.Up, 65 * s},
		{"a failure ends a recovery", 5 * s, store.Down, "ox", []time.Duration{0, 5 * s}, -1, "", 65 * s},
		{"retries stop once down", 5 * s, store.Up, "xxxx", []time.Duration{0, 5 * s, 10 * s, 70 * s}, 2, store.Down, 130 * s},
		{"without retry_interval", 0, store.Up, "xxx", []time.Duration{0, 60 * s, 120 * s}, 2, store.Down, 180 * s},
		{"without retry_interval, up", 0, store.Down, "oo", []time.Duration{0, 60 * s}, 1, store.Up, 120 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRetryRun(t, tt.retry, tt.saved, &scripted{script: tt.script}, nil)
			for i, at := range tt.at {
				if i > 0 {
					r.nextAt(at)
					r.to(at)
				}
				o := r.observed(i + 1)
				if !o.At.Equal(t0.Add(at)) {
					t.Fatalf("probe %d at +%v, want +%v", i, o.At.Sub(t0), at)
				}
				if (o.Change != nil) != (i == tt.change) {
					t.Fatalf("probe %d at +%v: change %+v, want a change: %v", i, at, o.Change, i == tt.change)
				}
				if o.Change != nil && (o.Change.To != tt.to || !o.Change.Since.Equal(t0)) {
					t.Errorf("probe %d: %+v, want %s since the first probe of the run", i, o.Change, tt.to)
				}
			}
			r.nextAt(tt.next)
		})
	}
}

// TestRetryAfterASkippedProbe: a probe slower than the interval has the
// next one skipped; its retry, already past when it ends, runs at once, and
// the retries go on from there.
func TestRetryAfterASkippedProbe(t *testing.T) {
	slow := &scripted{script: "x", first: make(chan struct{})}
	r := startRetryRun(t, 5*time.Second, store.Up, slow, nil)
	eventually(t, "the first probe to start", func() bool { return r.m.Statuses()[0].Running })
	r.to(60 * time.Second)
	eventually(t, "the probe due meanwhile to be skipped", func() bool { return r.m.Statuses()[0].Skipped == 1 })
	close(slow.first)
	if o := r.observed(1); !o.At.Equal(t0) {
		t.Fatalf("first probe at +%v", o.At.Sub(t0))
	}
	if o := r.observed(2); !o.At.Equal(t0.Add(60*time.Second)) || o.State.FailStreak != 2 {
		t.Fatalf("the retry after the slow probe: at +%v, %d failures; want at once (+60s), the second", o.At.Sub(t0), o.State.FailStreak)
	}
	r.nextAt(65 * time.Second)
	r.to(65 * time.Second)
	if o := r.observed(3); o.Change == nil || o.Change.To != store.Down || !o.Change.Since.Equal(t0) {
		t.Fatalf("the third failure: %+v, want down since +0", o.Change)
	}
	r.nextAt(125 * time.Second)
}

// ownsUntil owns every check in the slots before a time.
type ownsUntil struct {
	until time.Time
	mu    sync.Mutex
	asked []time.Time
}

func (o *ownsUntil) Owns(_ string, at time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.asked = append(o.asked, at)
	return at.Before(o.until)
}

func (o *ownsUntil) wasAsked(at time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range o.asked {
		if a.Equal(at) {
			return true
		}
	}
	return false
}

// TestNoRetryOfACheckAnotherInstanceOwns: a retry that would fall in a
// slot of another instance's is not planned; the check keeps its schedule
// and this instance does not probe it there.
func TestNoRetryOfACheckAnotherInstanceOwns(t *testing.T) {
	own := &ownsUntil{until: t0.Add(3 * time.Second)}
	r := startRetryRun(t, 5*time.Second, store.Up, &scripted{script: "x"}, own)
	r.observed(1)
	eventually(t, "the retry's slot to be looked at", func() bool { return own.wasAsked(t0.Add(5 * time.Second)) })
	r.nextAt(60 * time.Second)
	r.to(60 * time.Second)
	eventually(t, "the slot at +60s to pass", func() bool { return !r.m.Statuses()[0].Owned })
	if n := len(r.rec.snapshot()); n != 1 {
		t.Errorf("%d probes, want only the first, this instance's", n)
	}
}
