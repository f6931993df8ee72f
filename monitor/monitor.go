package monitor

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/store"
)

// Observation is one probe's outcome and what it did to its check.
type Observation struct {
	Check  *config.Check
	At     time.Time // when the probe started
	Result checks.Result
	// State is the check's state after this probe. Its Incident field is
	// not the monitor's to know and is left zero.
	State store.CheckState
	// Change is set when this probe moved the check to another state.
	Change *Change
	// Steady is set for a success that changed nothing worth saving: the
	// check was up, stays up, and had no failure streak to reset.
	Steady bool
}

// Change is a check moving from one state to another.
type Change struct {
	From, To store.State
	// Since is when the new state began: the first failed probe of the run
	// that took the check down, or the first successful probe of the run
	// that brought it back.
	Since time.Time
}

// Sink takes every observation. Observe may block to push back when the
// sink falls behind; the scheduler goes on, and counts the checks it had to
// skip.
type Sink interface {
	Observe(Observation)
}

// Status is what the monitor knows of a check now.
type Status struct {
	Check     *config.Check
	State     store.CheckState
	LastAt    time.Time
	Last      checks.Result
	Probes    int64
	Skipped   int64
	Running   bool
	NextProbe time.Time
	// Owned says this instance probes the check; another instance does
	// otherwise, and State is the last this one knew.
	Owned bool
	// Watched is when this daemon began to watch the check: a heartbeat
	// never pinged is due counting from then. A reload hands it on
	// (Options.Watched).
	Watched time.Time
	// Seen is what each location sees of a check probed from several;
	// State is then theirs combined. Nil for a check probed here alone.
	Seen []Seen
}

// Seen is what one location sees of a check.
type Seen struct {
	Location string
	State    store.State
	// Cut says the location is cut off: what it sees does not count.
	Cut bool
}

// watched is one check, its running state and its place in the
// scheduler's queue. It is kept small, as it is one per check: at 100,000
// checks each byte here is 100 kB.
type watched struct {
	cfg     *config.Check
	checker checks.Checker
	// beat is set for a heartbeat check, which is pinged, not probed:
	// its checker is nil, and next is its deadline.
	beat *beat
	// series are the check's own metrics, or those all checks of its
	// kind share when they are counted together (Options.Aggregate).
	*series

	// The scheduler's own, touched only by its goroutine: the check's
	// offset within its schedule (see spread), when it is due in the
	// queue (Unix nanoseconds), and its index there (-1 once out).
	offset time.Duration
	due    int64
	index  int32

	running atomic.Bool
	// owned says this instance probed the check in its last slot; reload
	// that its state must be read from the store before the next probe,
	// another instance having probed it meanwhile.
	owned, reload atomic.Bool
	skipped       atomic.Int32
	probes        atomic.Int64
	next          atomic.Int64 // Unix nanoseconds of the next planned probe
	watched       int64        // Unix nanoseconds; see Status.Watched

	mu     sync.Mutex
	state  packed
	last   checks.Result
	lastAt int64 // Unix nanoseconds
}

// packed is a store.CheckState in a third of its size: times as Unix
// nanoseconds (0 for none), the check named by its config.
type packed struct {
	since, streakSince, probed, first int64
	failStreak, okStreak              int32
	state                             uint8
}

var states = [...]store.State{store.Unknown, store.Up, store.Down}

func pack(s store.CheckState) packed {
	p := packed{since: nanos(s.Since), streakSince: nanos(s.StreakSince), probed: nanos(s.Probed), first: nanos(s.First),
		failStreak: int32(s.FailStreak), okStreak: int32(s.OKStreak)}
	for i, st := range states {
		if st == s.State {
			p.state = uint8(i)
		}
	}
	return p
}

func (p packed) unpack(check string) store.CheckState {
	return store.CheckState{Check: check, State: states[p.state], Since: unixTime(p.since), StreakSince: unixTime(p.streakSince),
		Probed: unixTime(p.probed), First: unixTime(p.first), FailStreak: int(p.failStreak), OKStreak: int(p.okStreak)}
}

func (p packed) is(s store.State) bool { return states[p.state] == s }

// nanos is t in Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// unixTime is nanos undone.
func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// series are the metrics a probe counts in.
type series struct {
	okProbes, failedProbes prometheus.Counter
	skips                  prometheus.Counter
	latency                prometheus.Observer
}

// apply counts one probe against down_after and up_after.
func (w *watched) apply(at time.Time, ok bool) (*Change, bool) {
	s := w.state.unpack(w.cfg.ID)
	change, steady := Apply(&s, w.cfg, at, ok)
	w.state = pack(s)
	return change, steady
}

// Apply counts one probe at at of cfg's check against its down_after and
// up_after, in s. It returns the change of state it made, if any, and
// whether it was a success that changed nothing worth saving. A location
// that probes the check elsewhere applies the same rule to its probes.
func Apply(s *store.CheckState, cfg *config.Check, at time.Time, ok bool) (*Change, bool) {
	if s.First.IsZero() {
		s.First = at
	}
	hadFailures := s.FailStreak > 0
	from := s.State
	if ok {
		s.FailStreak = 0
		if s.OKStreak == 0 {
			s.StreakSince = at
		}
		s.OKStreak++
		if s.State == store.Unknown || (s.State == store.Down && s.OKStreak >= cfg.UpAfter) {
			s.State, s.Since = store.Up, s.StreakSince
		}
	} else {
		s.OKStreak = 0
		if s.FailStreak == 0 {
			s.StreakSince = at
		}
		s.FailStreak++
		if s.State != store.Down && s.FailStreak >= cfg.DownAfter {
			s.State, s.Since = store.Down, s.StreakSince
		}
	}
	if s.State != from {
		return &Change{From: from, To: s.State, Since: s.Since}, false
	}
	return nil, ok && s.State == store.Up && !hadFailures
}

// retryAt is when to probe the check again after a probe at at, sooner than
// its schedule: retry_interval on, while a run of failures has not yet
// taken it down, or a run of successes not yet brought it back. Zero when
// the check waits for its schedule. Called under mu, after apply.
func (w *watched) retryAt(at time.Time) time.Time {
	s := w.state
	r := w.cfg.RetryInterval.Duration
	unconfirmed := (!s.is(store.Down) && s.failStreak > 0) || (s.is(store.Down) && s.okStreak > 0)
	if r <= 0 || !unconfirmed {
		return time.Time{}
	}
	return at.Add(r)
}

// slack is how early the scheduler may start a probe to start it together
// with one already due.
const slack = 2 * time.Millisecond

// Options are what a Monitor needs.
type Options struct {
	Checks []*config.Check
	Env    *checks.Env
	// Build makes a check's Checker; Env.New when nil.
	Build func(*config.Check) (checks.Checker, error)
	Sink  Sink
	// States are the saved states of the checks, by check ID, so that a
	// restart remembers which were down.
	States map[string]store.CheckState
	// Wait says Sink and States come later, with Ready: Run probes at
	// once, and each result waits for them before it counts. A daemon
	// starts probing so while the store still registers its checks and
	// reads their states. Heartbeats, whose deadlines count from their
	// saved states, are watched from Ready on.
	Wait bool
	// Resume says States are those of a monitor that ran in this process
	// until now (a reload): runs of failures and successes go on, where a
	// restart starts them over.
	Resume bool
	// Owner says which checks are this instance's to probe at a time,
	// when instances share them; nil probes every check. State reads a
	// check's saved state when this instance takes it over.
	Owner Owner
	State func(ctx context.Context, check string) (store.CheckState, error)
	// Watched says since when each check has been watched, for a reload
	// (Status.Watched); a check not in it, from now.
	Watched map[string]time.Time
	// Location is the zone of the times in a heartbeat's error; Local
	// when nil.
	Location *time.Location
	Clock    clockwork.Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Aggregate leaves out every series labelled by check, for very large
	// installations: probes are counted by result only.
	Aggregate bool
}

// Owner says whether this instance probes a check in its slot at a time.
type Owner interface {
	Owns(check string, at time.Time) bool
}

// Monitor runs checks on their schedules.
type Monitor struct {
	owner Owner
	state func(ctx context.Context, check string) (store.CheckState, error)
	clock clockwork.Clock
	log   *slog.Logger
	sink  Sink
	// ready is closed once the saved states and the sink are in
	// (Options.Wait): results wait for it.
	ready   chan struct{}
	watched []*watched
	byID    map[string]*watched
	queue   queue
	wg      sync.WaitGroup
	loc     *time.Location
	// requeue hands the scheduler back a heartbeat's entry once its
	// deadline was dealt with, off the scheduler's goroutine.
	requeue chan *watched
	// retries asks the scheduler, which alone owns the queue, to probe a
	// check sooner (retry_interval).
	retries chan retryRequest
	// stopMu and stopped keep pings out once Run has returned, and Run
	// from returning while one is applied.
	stopMu  sync.RWMutex
	stopped bool

	latency  *prometheus.HistogramVec
	lateness prometheus.Summary
}

// New builds a Monitor; it probes nothing until Run.
func New(o Options) (*Monitor, error) {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Build == nil {
		o.Build = o.Env.New
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	m := &Monitor{clock: o.Clock, log: o.Logger, sink: o.Sink, byID: make(map[string]*watched, len(o.Checks)), owner: o.Owner, state: o.State,
		loc: o.Location, requeue: make(chan *watched), retries: make(chan retryRequest), ready: make(chan struct{})}
	if !o.Wait {
		close(m.ready)
	}
	byCheck := []string{"check"} // the series' first label, unless aggregated
	if o.Aggregate {
		byCheck = nil
	}
	probes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hostwatch_probes_total", Help: "Probes run, by check (unless http.metrics.per_check is off) and result (ok or fail).",
	}, append(byCheck, "result"))
	skips := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hostwatch_scheduler_skipped_total", Help: "Probes skipped because the check's previous probe was still running.",
	}, byCheck)
	of := func(vec *prometheus.CounterVec, check string, labels ...string) prometheus.Counter {
		if o.Aggregate {
			return vec.WithLabelValues(labels...)
		}
		return vec.WithLabelValues(append([]string{check}, labels...)...)
	}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "hostwatch_probe_duration_seconds", Help: "How long probes took, by kind.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"kind"})
	m.lateness = prometheus.NewSummary(prometheus.SummaryOpts{
		Name: "hostwatch_scheduler_lateness_seconds", Help: "How late probes started after their planned time.",
		Objectives: map[float64]float64{0.5: 0.01, 0.9: 0.005, 0.99: 0.001},
		MaxAge:     5 * time.Minute,
	})
	down := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hostwatch_checks_down", Help: "Checks that are down now, of those this instance probes.",
	}, func() float64 { return float64(m.countDown()) })
	assigned := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hostwatch_checks_assigned", Help: "Checks this instance probes.",
	}, func() float64 { return float64(m.Assigned()) })
	collectors := []prometheus.Collector{probes, skips, m.latency, m.lateness, down, assigned}
	if !o.Aggregate {
		collectors = append(collectors, checkCollector{m})
	}
	for _, c := range collectors {
		if err := o.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}

	groups := map[string][]*watched{}
	var order []string
	now := m.clock.Now()
	shared := map[string]*series{} // by kind, when aggregated
	seriesOf := func(c *config.Check) *series {
		if s, ok := shared[c.Kind()]; ok {
			return s
		}
		s := &series{okProbes: of(probes, c.ID, "ok"), failedProbes: of(probes, c.ID, "fail"), skips: of(skips, c.ID),
			latency: m.latency.WithLabelValues(c.Kind())}
		if o.Aggregate {
			shared[c.Kind()] = s
		}
		return s
	}
	// One block for every check's state rather than an object each: one
	// allocation instead of 100,000 at start, and one object to trace.
	block := make([]watched, len(o.Checks))
	m.watched = make([]*watched, 0, len(o.Checks))
	m.queue = make(queue, 0, len(o.Checks))
	for i, c := range o.Checks {
		w := &block[i]
		w.cfg, w.watched, w.series, w.index = c, now.UnixNano(), seriesOf(c), int32(len(m.queue))
		if since, ok := o.Watched[c.ID]; ok {
			w.watched = since.UnixNano()
		}
		w.restore(o.States, o.Resume)
		w.owned.Store(true)
		m.watched = append(m.watched, w)
		m.byID[c.ID] = w
		if c.Heartbeat != nil {
			// Not probed: a deadline in the same queue.
			w.beat = &beat{}
			w.watchBeat()
			m.queue = append(m.queue, w)
			continue
		}
		checker, err := o.Build(c)
		if err != nil {
			return nil, err
		}
		if c.Cron == nil {
			return nil, fmt.Errorf("check %s: no schedule", c.ID)
		}
		w.checker = checker
		if _, seen := groups[c.Schedule]; !seen {
			order = append(order, c.Schedule)
		}
		groups[c.Schedule] = append(groups[c.Schedule], w)
	}

	for _, spec := range order {
		ws := groups[spec]
		names := make([]string, len(ws))
		for i, w := range ws {
			names[i] = w.cfg.ID
		}
		offsets := spreadOffsets(ws[0].cfg.Cron, names, now)
		for i, w := range ws {
			w.offset, w.index = offsets[i], int32(len(m.queue))
			m.queue = append(m.queue, w)
		}
	}
	return m, nil
}

// Ready gives a monitor built with Options.Wait the checks' saved states
// (resume as Options.Resume) and the sink: the results waiting for them
// count from now on, and heartbeats are watched. Called once.
func (m *Monitor) Ready(states map[string]store.CheckState, resume bool, sink Sink) {
	for _, w := range m.watched {
		w.mu.Lock()
		w.restore(states, resume)
		if w.beat != nil {
			w.watchBeat()
		}
		w.mu.Unlock()
	}
	m.sink = sink
	close(m.ready)
}

// restore sets w's state from its saved one in states, if any.
func (w *watched) restore(states map[string]store.CheckState, resume bool) {
	if s, ok := states[w.cfg.ID]; ok {
		w.state = pack(restored(s))
		if resume {
			w.state = pack(s)
		}
	}
}

// restored is a saved state as a probe after a restart, or a takeover,
// continues it: up or down is kept; a streak is not, unless down: probes
// before the stop and after it are not consecutive, and joining them would
// date an outage back to before the daemon stopped. When it was last
// probed is kept: a heartbeat's deadline counts from its last ping.
func restored(s store.CheckState) store.CheckState {
	w := store.CheckState{Check: s.Check, State: s.State, Since: s.Since, First: s.First, Probed: s.Probed}
	if s.State == store.Down {
		w.FailStreak, w.StreakSince = s.FailStreak, s.StreakSince
	}
	return w
}

func (m *Monitor) countDown() int {
	n := 0
	for _, w := range m.watched {
		w.mu.Lock()
		if w.state.is(store.Down) && w.owned.Load() {
			n++
		}
		w.mu.Unlock()
	}
	return n
}

// Assigned counts the checks this instance probes.
func (m *Monitor) Assigned() int {
	n := 0
	for _, w := range m.watched {
		if w.owned.Load() {
			n++
		}
	}
	return n
}

// Run probes every check on its schedule until ctx is done, then cancels
// the probes under way and waits for them: a probe cut short by shutdown is
// no verdict on the shop and is not reported.
func (m *Monitor) Run(ctx context.Context) error {
	defer m.wg.Wait()
	defer m.stop()
	now := m.clock.Now()
	// Heartbeats wait for their saved states (Options.Wait).
	ready := m.ready
	var held []*watched
	live := m.queue[:0]
	for _, w := range m.queue {
		if w.beat != nil && !m.isReady() {
			w.index, held = -1, append(held, w)
			continue
		}
		if !m.plan(w, now) {
			continue
		}
		w.index = int32(len(live)) // where it stands once the checks never run are left out
		live = append(live, w)
	}
	m.queue = live
	if len(held) == 0 {
		ready = nil
	}
	if len(m.queue) == 0 && ready == nil {
		<-ctx.Done()
		return nil
	}
	heap.Init(&m.queue)
	wait := time.Hour // nothing queued until the heartbeats are
	if len(m.queue) > 0 {
		wait = m.queue.head().Sub(now)
	}
	timer := m.clock.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.Chan():
		case <-ready:
			for _, w := range held {
				if m.plan(w, m.clock.Now()) {
					heap.Push(&m.queue, w)
				}
			}
			ready = nil
		case w := <-m.requeue:
			if next := w.deadline(); !next.IsZero() {
				w.due = next.UnixNano()
				heap.Push(&m.queue, w)
			}
		case r := <-m.retries:
			m.sooner(r)
		}
		now := m.clock.Now()
		// Start what is due now and what falls due within the slack: a
		// few probes per wake-up instead of one costs nothing in accuracy
		// and saves the process most of its timer wake-ups.
		for len(m.queue) > 0 && m.queue[0].due <= now.Add(slack).UnixNano() {
			w := m.queue[0]
			planned := time.Unix(0, w.due)
			if w.beat != nil {
				if planned.After(now) {
					break // a deadline is kept to the instant, not the slack
				}
				m.dueBeat(ctx, w)
				continue
			}
			m.start(ctx, w, planned, now)
			// From the planned time when started early within the slack,
			// from now when late: a late scheduler does not catch up.
			next := w.schedule().Next(later(now, planned))
			if next.IsZero() { // a schedule that never fires again
				heap.Pop(&m.queue)
				continue
			}
			w.due = next.UnixNano()
			w.next.Store(w.due)
			heap.Fix(&m.queue, 0)
		}
		if len(m.queue) > 0 {
			timer.Reset(m.queue.head().Sub(m.clock.Now()))
		}
	}
}

// plan sets when w's check is first due from now: its first probe, or a
// heartbeat's deadline. False for a check never due.
func (m *Monitor) plan(w *watched, now time.Time) bool {
	var next time.Time
	if w.beat != nil {
		if next = w.deadline(); next.IsZero() {
			m.log.Warn("heartbeat schedule never falls due; check not watched", "check", w.cfg.ID)
			return false
		}
		// A deadline passed while the daemon was stopped is missed now,
		// not back then: the job may have pinged to no one.
		next = later(next, now)
	} else if next = w.schedule().first(now); next.IsZero() {
		m.log.Warn("schedule never fires; check not run", "check", w.cfg.ID, "schedule", w.cfg.Schedule)
		return false
	} else {
		w.next.Store(next.UnixNano())
	}
	w.due = next.UnixNano()
	return true
}

// isReady says the saved states and the sink are in (Options.Wait).
func (m *Monitor) isReady() bool {
	select {
	case <-m.ready:
		return true
	default:
		return false
	}
}

// waitReady waits for the saved states and the sink; false if ctx ends
// first.
func (m *Monitor) waitReady(ctx context.Context) bool {
	select {
	case <-m.ready:
		return true
	case <-ctx.Done():
		return false
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// start runs one probe of w's check, planned at planned, unless the check
// is another instance's in this slot, or the previous probe of it still
// runs.
func (m *Monitor) start(ctx context.Context, w *watched, planned, now time.Time) {
	if m.owner != nil {
		if !m.owner.Owns(w.cfg.ID, planned) {
			w.owned.Store(false)
			return
		}
		if !w.owned.Swap(true) {
			w.reload.Store(true)
		}
	}
	if !w.running.CompareAndSwap(false, true) {
		w.skipped.Add(1)
		w.skips.Inc()
		m.log.Debug("probe skipped: the previous one still runs", "check", w.cfg.ID)
		return
	}
	m.lateness.Observe(max(now.Sub(planned), 0).Seconds())
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		again := m.probe(ctx, w, now)
		// Done before the retry is asked for: a retry already due starts
		// at once, and must not be skipped as still running.
		w.running.Store(false)
		if !again.IsZero() {
			m.retry(ctx, w, again)
		}
	}()
}

// retryRequest asks to probe a check again at a time.
type retryRequest struct {
	w  *watched
	at time.Time
}

// retry asks the scheduler to probe w's check again at at, unless another
// instance owns it then: that one decides on its own probes.
func (m *Monitor) retry(ctx context.Context, w *watched, at time.Time) {
	if m.owner != nil && !m.owner.Owns(w.cfg.ID, at) {
		return
	}
	select {
	case m.retries <- retryRequest{w: w, at: at}:
	case <-ctx.Done():
	}
}

// sooner moves a retried check forward to its retry, never later than it
// was planned: after the retry, its schedule takes it on from there. A
// retry already past, the probe having taken longer, is due now.
func (m *Monitor) sooner(r retryRequest) {
	w := r.w
	if w.index < 0 || r.at.UnixNano() >= w.due {
		return
	}
	w.due = later(r.at, m.clock.Now()).UnixNano()
	w.next.Store(w.due)
	heap.Fix(&m.queue, int(w.index))
}

// probe runs one probe that the scheduler started at at, and says when to
// probe again sooner than the schedule (zero for not).
func (m *Monitor) probe(ctx context.Context, w *watched, at time.Time) time.Time {
	pctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout.Duration)
	r := w.checker.Check(pctx)
	cancel()
	if ctx.Err() != nil {
		return time.Time{}
	}
	w.probes.Add(1)
	w.latency.Observe(r.Latency.Seconds())
	if r.OK {
		w.okProbes.Inc()
	} else {
		w.failedProbes.Inc()
	}
	// After the saved states are in, so that they do not overwrite it.
	if !m.waitReady(ctx) || !m.takenOver(ctx, w) {
		return time.Time{}
	}

	w.mu.Lock()
	change, steady := w.apply(at, r.OK)
	state := w.state.unpack(w.cfg.ID)
	again := w.retryAt(at)
	w.last, w.lastAt = r, at.UnixNano()
	w.mu.Unlock()

	if change != nil {
		m.log.Info("check changed state", "check", w.cfg.ID, "from", change.From, "to", change.To, "error", r.Error)
	}
	m.sink.Observe(Observation{Check: w.cfg, At: at, Result: r, State: state, Change: change, Steady: steady})
	return again
}

// takenOver reads the state of a check this instance has just taken over
// where the instance that probed it last left it; false if it cannot.
func (m *Monitor) takenOver(ctx context.Context, w *watched) bool {
	if !w.reload.Load() || m.state == nil {
		return true
	}
	s, err := m.state(ctx, w.cfg.ID)
	if err != nil {
		m.log.Debug("probe not counted: the state of a check taken over could not be read", "check", w.cfg.ID, "err", err)
		return false
	}
	w.mu.Lock()
	w.state = pack(restored(s))
	w.mu.Unlock()
	w.reload.Store(false)
	return true
}

// ProbeNow runs check id once, now, within its timeout, and reports the
// result without counting it: a probe asked for is no scheduled probe.
func (m *Monitor) ProbeNow(ctx context.Context, id string) (checks.Result, error) {
	w, ok := m.byID[id]
	if !ok {
		return checks.Result{}, fmt.Errorf("no check is named %q", id)
	}
	if w.checker == nil {
		return checks.Result{}, fmt.Errorf("check %s: %w", id, ErrNotProbed)
	}
	pctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout.Duration)
	defer cancel()
	return w.checker.Check(pctx), nil
}

// Statuses returns what the monitor knows of every check, in config order.
func (m *Monitor) Statuses() []Status {
	out := make([]Status, len(m.watched))
	for i, w := range m.watched {
		w.mu.Lock()
		out[i] = Status{Check: w.cfg, State: w.state.unpack(w.cfg.ID), LastAt: unixTime(w.lastAt), Last: w.last}
		w.mu.Unlock()
		out[i].Probes = w.probes.Load()
		out[i].Skipped = int64(w.skipped.Load())
		out[i].Running = w.running.Load()
		out[i].Owned = w.owned.Load()
		out[i].Watched = time.Unix(0, w.watched)
		if n := w.next.Load(); n != 0 {
			out[i].NextProbe = time.Unix(0, n)
		}
	}
	return out
}

// ProbeOnce runs each check once, at most parallel at a time, each within
// its own timeout, and returns the results in the order of cs. A check
// that is not probed (a heartbeat) has a zero Result.
func ProbeOnce(ctx context.Context, env *checks.Env, cs []*config.Check, parallel int) ([]checks.Result, error) {
	checkers := make([]checks.Checker, len(cs))
	for i, c := range cs {
		ch, err := env.New(c)
		if err != nil {
			return nil, err
		}
		checkers[i] = ch
	}
	results := make([]checks.Result, len(cs))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, c := range cs {
		if checkers[i] == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pctx, cancel := context.WithTimeout(ctx, c.Timeout.Duration)
			defer cancel()
			results[i] = checkers[i].Check(pctx)
		}()
	}
	wg.Wait()
	return results, ctx.Err()
}
