package incident

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/source"
	"github.com/hostwatch/hostwatch/store"
)

// Router says where messages go, as outbox destinations ("telegram:111",
// "webhook:pager", "console:").
type Router interface {
	// Notify lists the destinations of the contacts an escalation step
	// names for merchant: "owner" is the merchant's own contacts,
	// "admins" the admins, any other name a contact.
	Notify(merchant string, names []string) []string
	// Admins are the destinations of the admins.
	Admins() []string
	// Editable reports whether messages at dest can be edited later.
	Editable(dest string) bool
}

// Options are what an Engine needs.
type Options struct {
	Store  store.Store
	Router Router
	// Rules are the configuration's grouping, escalation, providers and
	// holds. The zero Rules tell each merchant's owner at once.
	Rules Rules
	// Wake is called after messages were written to the outbox.
	Wake func()
	// Where says what each location sees of a check probed from
	// several, for its messages; nil, or nil for a check, says nothing.
	Where func(check string) *notifier.Where
	// Checks are the IDs of the configured checks and Sources the names
	// of the configured sources; open incidents of other checks than
	// these and the sources' alerts are closed at start. Nil Checks keep
	// every incident.
	Checks  []string
	Sources []string
	// Holder is this run's token, under which it holds the engine's
	// lease; a random one by default. Replaces is the token of an
	// earlier run known to be gone, whose lease is taken over at once.
	Holder, Replaces string
	// LeaseTTL is how long the engine's lease runs unless renewed, and
	// LeaseEvery how often it is renewed. Defaults 8s and 2s.
	LeaseTTL, LeaseEvery time.Duration
	// Poll is how often the engine looks for signals that other
	// instances wrote; zero, for a store no other instance shares, never:
	// its own signals wake it.
	Poll     time.Duration
	Clock    clockwork.Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// QueueSize is how many observations may wait for the writer before
	// the monitor is made to wait. Default 4096.
	QueueSize int
	// StatsEvery is how often the aggregates of successful probes are
	// written. Default one minute; what a crash loses of them is at most
	// this much.
	StatsEvery time.Duration
	// CompactEvery is how often old history is compacted. Default a day.
	CompactEvery time.Duration
	// Linger is how long the writer waits for more observations after the
	// first one of a batch, so that the failures of many checks are
	// written in a few transactions instead of one per probe. Default
	// 50ms. A change of state is not held by it: it goes with what is
	// queued at that moment (a few in a row; in a storm of changes, one
	// batch a linger ends early).
	Linger time.Duration
}

// leaseName is the lease under which one instance takes the decisions.
const leaseName = "engine"

// Engine records observations and runs the incident lifecycle. It has two
// halves. Every instance records what its own probes saw (failures, state
// changes, the incidents they open and resolve) and signals each change
// through the store, in the same transaction. One instance, the holder of
// the engine's lease, takes the decisions: it takes the signals, and
// groups incidents into alerts, escalates, and holds messages while a
// silence, a maintenance window or flapping says so, writing the messages
// in the same transaction. Its memory is a cache of the store, read again
// whenever it may be behind.
//
// One goroutine, Run's, changes the decider's state; it holds mu while it
// does.
type Engine struct {
	store store.Store
	clock clockwork.Clock
	log   *slog.Logger
	o     Options
	rules Rules

	closeMu sync.RWMutex
	closed  bool
	in      chan monitor.Observation
	// early bounds how often a change of state ends the linger early.
	early *rate.Limiter
	// manual carries work to the writer's goroutine.
	manual chan func()
	// poke asks for a pass soon: a signal was written.
	poke chan struct{}
	// running is closed when Run starts, done when it returns.
	running, done chan struct{}

	stats *aggregator
	// registered are the checks of signals this engine registered.
	registered sync.Map

	mu sync.Mutex
	// leader says this instance holds the engine's lease; the state
	// below is its, and empty otherwise.
	leader     bool
	open       map[string]*member // check → its open incident
	alerts     map[int64]*alert   // open alerts by ID
	byMerchant map[string]*alert  // the open alert of each merchant
	byProvider map[string]*alert  // the open outage of each provider
	silences   []store.Silence    // set by command, active
	// openVersion counts the changes of open; downCache is each
	// provider's count of checks down at one of them.
	openVersion uint64
	downCache   map[string]downCount
	changes     map[string][]time.Time
	flapping    map[string]time.Time // since when; stored
	windows     map[string]bool      // maintenance windows recorded: name@start
	// orphans are open incidents in no alert at the last load: those
	// their signal does not join are of a version without alerts.
	orphans []store.Incident
	// stale says the state in memory may be behind the store (this
	// instance just took the lease, or a transaction failed): it is
	// loaded again before the next pass.
	stale bool
	// After a failed tick, nothing falls due before holdUntil: a store
	// that refuses writes is retried with backoff, not in a spin.
	holdUntil   time.Time
	tickBackoff time.Duration
	// chainDone is the last daily time the head of the chain was posted
	// at, or found unchanged or empty.
	chainDone time.Time
}

// New builds an Engine, takes the engine's lease if nobody holds it, and
// then loads what the last run left open.
func New(ctx context.Context, o Options) (*Engine, error) {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Holder == "" {
		b := make([]byte, 8)
		rand.Read(b)
		o.Holder = hex.EncodeToString(b)
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 8 * time.Second
	}
	if o.LeaseEvery <= 0 {
		o.LeaseEvery = 2 * time.Second
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	if o.StatsEvery <= 0 {
		o.StatsEvery = time.Minute
	}
	if o.CompactEvery <= 0 {
		o.CompactEvery = 24 * time.Hour
	}
	if o.Linger <= 0 {
		o.Linger = 50 * time.Millisecond
	}
	e := &Engine{
		store: o.Store, clock: o.Clock, log: o.Logger, o: o, rules: o.Rules,
		in:      make(chan monitor.Observation, o.QueueSize),
		early:   rate.NewLimiter(rate.Every(o.Linger), earlyBurst),
		manual:  make(chan func()),
		poke:    make(chan struct{}, 1),
		running: make(chan struct{}),
		done:    make(chan struct{}),
		stats:   newAggregator(),
	}
	if e.rules.origins == nil {
		e.rules.origins = &origins{}
	}
	e.forget()
	if err := e.closeOrphans(ctx); err != nil {
		return nil, err
	}
	if o.Replaces != "" {
		if err := e.store.ReleaseLease(ctx, leaseName, o.Replaces); err != nil {
			return nil, err
		}
	}
	if err := e.renewLease(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader {
		if err := e.load(ctx); err != nil {
			return nil, err
		}
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hostwatch_incidents_open", Help: "Incidents open now.",
	}, func() float64 {
		e.mu.Lock()
		defer e.mu.Unlock()
		return float64(len(e.open))
	})
	if err := o.Registry.Register(gauge); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	return e, nil
}

// Leader reports whether this instance takes the decisions now.
func (e *Engine) Leader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

// renewLease takes or renews the engine's lease. An instance that takes it
// loads the state before its first pass; one that lost it forgets its
// state, which is another's to keep.
func (e *Engine) renewLease(ctx context.Context) error {
	held, err := e.store.Lease(ctx, leaseName, e.o.Holder, e.o.LeaseTTL)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case held && !e.leader:
		e.log.Info("this instance takes the incident engine's decisions", "holder", e.o.Holder)
		e.leader, e.stale = true, true
		e.pokeSoon() // the signals that waited meanwhile
	case !held && e.leader:
		e.log.Warn("another instance took the incident engine's lease")
		e.leader = false
		e.forget()
	}
	return nil
}

// forget empties the decider's state; e.mu is held or not yet shared.
func (e *Engine) forget() {
	e.open, e.alerts = map[string]*member{}, map[int64]*alert{}
	e.openVersion, e.downCache = e.openVersion+1, map[string]downCount{}
	e.byMerchant, e.byProvider = map[string]*alert{}, map[string]*alert{}
	e.silences, e.changes, e.flapping, e.windows = nil, map[string][]time.Time{}, map[string]time.Time{}, map[string]bool{}
	e.orphans = nil
}

// closeOrphans resolves the incidents of checks no longer configured: no
// one watches them, so they cannot end by recovery. They end now, marked as
// removed, without a message.
func (e *Engine) closeOrphans(ctx context.Context) error {
	if e.o.Checks == nil {
		return nil
	}
	open, err := e.store.Incidents(ctx, store.IncidentFilter{OpenOnly: true})
	if err != nil {
		return fmt.Errorf("load open incidents: %w", err)
	}
	var orphans []store.Incident
	for _, in := range open {
		if !slices.Contains(e.o.Checks, in.Check) && !slices.Contains(e.o.Sources, source.SourceOf(in.Check)) {
			orphans = append(orphans, in)
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	return e.act(ctx, func(tx store.Tx, now time.Time) error {
		for _, in := range orphans {
			e.log.Warn("incident closed: its check is no longer in the configuration", "incident", in.ID, "check", in.Check)
			if err := tx.ResolveIncident(ctx, in.ID, now, "removed"); err != nil {
				return err
			}
			if err := tx.AddEvent(ctx, store.Event{Incident: in.ID, At: now, Kind: "resolved",
				Detail: "the check is no longer in the configuration"}); err != nil {
				return err
			}
			if err := tx.Signal(ctx, store.Signal{Kind: store.SignalIncident, Incident: in.ID, At: now}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Observe takes one probe's outcome. A steady success only adds to the
// aggregates; everything else is queued for the writer, and Observe waits
// when the queue is full.
func (e *Engine) Observe(o monitor.Observation) {
	if o.Steady {
		e.stats.add(o.Check.ID, o.At, o.Result)
		return
	}
	e.closeMu.RLock()
	defer e.closeMu.RUnlock()
	if e.closed {
		e.log.Warn("observation after shutdown dropped", "check", o.Check.ID)
		return
	}
	e.in <- o
}

// Close ends the intake; Run writes what is queued and returns.
func (e *Engine) Close() {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	if !e.closed {
		e.closed = true
		close(e.in)
	}
}

// OpenIncident returns the open incident of a check, 0 if none.
func (e *Engine) OpenIncident(ctx context.Context, check string) int64 {
	ins, err := e.store.Incidents(ctx, store.IncidentFilter{Check: check, OpenOnly: true, Limit: 1})
	if err != nil || len(ins) == 0 {
		return 0
	}
	return ins[0].ID
}

// maxBatch bounds one transaction.
const maxBatch = 1024

// Run writes observations as they come, grouping whatever has queued up
// into one transaction, and while it holds the engine's lease, takes the
// signals and each step, release and timeout when it falls due, until
// Close; then it writes the rest and the aggregates, gives the lease up,
// and returns. Failed writes are retried: an observation is dropped only
// when the store still refuses it at shutdown.
func (e *Engine) Run(ctx context.Context) error {
	close(e.running)
	defer close(e.done)
	statsTicker := e.clock.NewTicker(e.o.StatsEvery)
	defer statsTicker.Stop()
	compactTicker := e.clock.NewTicker(e.o.CompactEvery)
	defer compactTicker.Stop()
	// The lease is renewed beside the writer, not between its batches: a
	// burst of an outage to record and decide must not let it run out.
	leaseCtx, cancelLease := context.WithCancel(ctx)
	leaseDone := make(chan struct{})
	stopLease := func() {
		cancelLease()
		<-leaseDone
	}
	defer cancelLease()
	go func() {
		defer close(leaseDone)
		t := e.clock.NewTicker(e.o.LeaseEvery)
		defer t.Stop()
		for {
			select {
			case <-leaseCtx.Done():
				return
			case <-t.Chan():
				if err := e.renewLease(leaseCtx); err != nil && leaseCtx.Err() == nil {
					e.log.Error("renew the incident engine's lease", "err", err)
				}
			}
		}
	}()
	// Signals of other instances are looked for on the real clock: the
	// poll only bounds how late they are taken.
	var poll <-chan time.Time
	if e.o.Poll > 0 {
		t := time.NewTicker(e.o.Poll)
		defer t.Stop()
		poll = t.C
	}
	if e.Leader() {
		e.compact(ctx)
	}
	e.tick(ctx)

	batch := make([]monitor.Observation, 0, maxBatch)
	for {
		var due <-chan time.Time
		var timer clockwork.Timer
		if next := e.nextWake(); !next.IsZero() {
			timer = e.clock.NewTimer(max(next.Sub(e.clock.Now()), 0))
			due = timer.Chan()
		}
		select {
		case o, ok := <-e.in:
			if !ok {
				// What was recorded last is decided on too: its
				// messages are written before the daemon stops.
				rest := context.WithoutCancel(ctx)
				e.decide(rest)
				err := e.flushStats(rest)
				stopLease()
				e.release(rest)
				return err
			}
			batch = e.collect(append(batch[:0], o))
			if e.recordRetrying(ctx, batch) {
				e.decide(context.WithoutCancel(ctx))
			}
		case fn := <-e.manual:
			fn()
		case <-due:
			e.tick(ctx)
		case <-e.poke:
			e.decide(ctx)
		case <-poll:
			e.decide(ctx)
		case <-statsTicker.Chan():
			if err := e.flushStats(ctx); err != nil {
				e.log.Error("write probe aggregates", "err", err)
			}
		case <-compactTicker.Chan():
			if e.Leader() {
				e.compact(ctx)
			}
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// release gives the engine's lease up at shutdown, so that another
// instance takes the decisions at once instead of when it runs out.
func (e *Engine) release(ctx context.Context) {
	if !e.Leader() {
		return
	}
	if err := e.store.ReleaseLease(ctx, leaseName, e.o.Holder); err != nil {
		e.log.Warn("give up the incident engine's lease; it runs out by itself", "err", err)
	}
}

// earlyBurst is how many batches in a row a change of state may end
// early, after which it may end one a linger at most: a few checks that go
// down together are told at once, and a storm of thousands of changes is
// written and decided in batches of a linger, as plain results are, not in
// a transaction and a pass of the decider each.
const earlyBurst = 3

// collect adds to batch what arrives within the linger time, up to
// maxBatch. A change of state ends the wait: it opens or resolves an
// incident, whose first message must not wait for the batch to fill, so
// the batch takes only what is queued already and goes, unless changes
// come faster than earlyBurst allows. Plain results keep lingering: at a
// thousand failures a second, batching is what keeps the cost of each
// low. The linger is real time whatever the clock: it only batches
// writes.
func (e *Engine) collect(batch []monitor.Observation) []monitor.Observation {
	linger := time.NewTimer(e.o.Linger)
	defer linger.Stop()
	early := slices.ContainsFunc(batch, changes) && e.early.Allow()
	for len(batch) < maxBatch {
		var o monitor.Observation
		var ok bool
		if early {
			select {
			case o, ok = <-e.in:
			default:
				return batch
			}
		} else {
			select {
			case o, ok = <-e.in:
			case <-linger.C:
				return batch
			}
		}
		if !ok {
			return batch
		}
		batch = append(batch, o)
		early = early || changes(o) && e.early.Allow()
	}
	return batch
}

// changes reports whether o moved its check to another state.
func changes(o monitor.Observation) bool { return o.Change != nil }

func (e *Engine) compact(ctx context.Context) {
	if err := e.store.Compact(ctx, e.clock.Now()); err != nil {
		e.log.Error("compact history", "err", err)
	}
}

// recordRetrying writes a batch, retrying while the store refuses it, and
// reports whether it signalled a change. The monitor waits meanwhile,
// which shows as skipped probes, not lost ones.
func (e *Engine) recordRetrying(ctx context.Context, batch []monitor.Observation) bool {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		changed, err := e.record(context.WithoutCancel(ctx), batch)
		if err == nil {
			return changed
		}
		e.closeMu.RLock()
		closing := e.closed
		e.closeMu.RUnlock()
		// At shutdown, give up after a few tries: the probes waiting to
		// hand over their results must be let go for the daemon to stop.
		if (closing || ctx.Err() != nil) && attempt >= 3 {
			e.log.Error("record lost: the store refused it at shutdown", "observations", len(batch), "err", err)
			return false
		}
		e.log.Error("write record; will retry", "observations", len(batch), "attempt", attempt, "err", err)
		select {
		case <-e.clock.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// errNotLeader is a pass asked of an instance that does not take the
// decisions.
var errNotLeader = errors.New("this instance does not hold the incident engine's lease")

// update runs one pass of the decider in one transaction, fenced by the
// engine's lease: the signals first, then fn, then the alerts they
// changed. When the transaction fails the state is loaded again from the
// store before the next one, so memory never runs ahead of the record.
func (e *Engine) update(ctx context.Context, fn func(p *pass) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leader {
		return errNotLeader
	}
	if e.stale {
		if err := e.load(ctx); err != nil {
			return err
		}
	}
	var sent, more bool
	err := e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.Fence(ctx, leaseName, e.o.Holder); err != nil {
			return err
		}
		p := &pass{e: e, ctx: ctx, tx: tx, now: e.clock.Now(), dirty: map[int64]*alert{}}
		if err := p.signals(); err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if err := p.settleDirty(); err != nil {
			return err
		}
		sent, more = p.sent, p.more
		return nil
	})
	if errors.Is(err, store.ErrLeaseLost) {
		e.log.Warn("the incident engine's lease was lost: another instance takes the decisions")
		e.leader = false
		e.forget()
		return err
	}
	if err != nil {
		e.stale = true
		return err
	}
	e.orphans = nil
	if sent && e.o.Wake != nil {
		e.o.Wake()
	}
	if more {
		e.pokeSoon()
	}
	return nil
}

func (e *Engine) pokeSoon() {
	select {
	case e.poke <- struct{}{}:
	default:
	}
}

// decide takes the signals waiting, if this instance takes the decisions.
func (e *Engine) decide(ctx context.Context) {
	err := e.update(ctx, func(p *pass) error { return nil })
	if err != nil && !errors.Is(err, errNotLeader) && !errors.Is(err, store.ErrLeaseLost) && ctx.Err() == nil {
		e.log.Error("take the signals; will retry", "err", err)
	}
}

// tick takes what has fallen due: group_wait ends, escalation steps,
// acknowledgement timeouts, maintenance windows opening and closing,
// silences ending, checks that stopped flapping.
func (e *Engine) tick(ctx context.Context) {
	err := e.update(ctx, func(p *pass) error {
		if err := p.correlate(); err != nil {
			return err
		}
		if err := p.maintenance(); err != nil {
			return err
		}
		if err := p.steady(); err != nil {
			return err
		}
		e.silences = slices.DeleteFunc(e.silences, func(s store.Silence) bool { return !s.End.After(p.now) })
		for _, a := range e.alerts {
			p.dirty[a.ID] = a
		}
		return nil
	})
	if errors.Is(err, errNotLeader) || errors.Is(err, store.ErrLeaseLost) {
		return
	}
	e.mu.Lock()
	if err != nil {
		e.tickBackoff = min(max(2*e.tickBackoff, time.Second), time.Minute)
		e.holdUntil = e.clock.Now().Add(e.tickBackoff)
		in := e.tickBackoff
		e.mu.Unlock()
		e.log.Error("take what fell due; will retry", "in", in, "err", err)
		return
	}
	e.tickBackoff, e.holdUntil = 0, time.Time{}
	e.mu.Unlock()
	e.postChainHead(ctx)
}

// Sync writes the observations queued so far and takes the signals and
// what has fallen due by the clock, before it returns: for tests that
// drive the clock.
func (e *Engine) Sync(ctx context.Context) error {
	return e.do(ctx, func() error {
		var batch []monitor.Observation
	queued:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-e.in:
				if !ok {
					break queued
				}
				batch = append(batch, o)
			default:
				break queued
			}
		}
		if len(batch) > 0 {
			e.recordRetrying(ctx, batch)
		}
		e.tick(ctx)
		return nil
	})
}

// errStopped is work asked of an engine whose writer is not running.
var errStopped = errors.New("the incident engine is not running")

// do runs fn in the writer's goroutine and returns its error.
func (e *Engine) do(ctx context.Context, fn func() error) error {
	select {
	case <-e.running:
	case <-ctx.Done():
		return ctx.Err()
	}
	reply := make(chan error, 1)
	select {
	case e.manual <- func() { reply <- fn() }:
	case <-e.done:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TellAdmins queues m for every admin: a notice, filed under no incident
// or alert.
func (e *Engine) TellAdmins(ctx context.Context, m notifier.Message) error {
	return e.tellAdmins(ctx, m, "")
}

// tellAdmins queues m for every admin but the destination except. Not
// filed under an incident or its alert: a notice to the admins is no
// alert, and later edits must not touch it.
func (e *Engine) tellAdmins(ctx context.Context, m notifier.Message, except string) error {
	payload, err := notifier.Encode(m)
	if err != nil {
		return err
	}
	var items []store.OutboxItem
	for _, dest := range e.o.Router.Admins() {
		if dest != except {
			items = append(items, store.OutboxItem{CreatedAt: e.clock.Now(), Destination: dest, Op: "send", Payload: payload})
		}
	}
	if len(items) == 0 {
		return nil
	}
	if err := e.store.Update(ctx, func(tx store.Tx) error { return tx.Enqueue(ctx, items) }); err != nil {
		return fmt.Errorf("tell the admins: %w", err)
	}
	if e.o.Wake != nil {
		e.o.Wake()
	}
	return nil
}

// ReportUndeliverable tells the admins that a message could not be
// delivered and never will be, unless the failed destination is all they
// have.
func (e *Engine) ReportUndeliverable(ctx context.Context, item store.OutboxItem, cause error) {
	var failed notifier.Message
	json.Unmarshal(item.Payload, &failed)
	if failed.Kind == notifier.DeliveryFailed {
		return // never a report about a report
	}
	m := notifier.Message{Kind: notifier.DeliveryFailed, Incident: item.Incident, Merchant: failed.Merchant,
		Check: failed.Check, Destination: item.Destination, Detail: cause.Error()}
	if err := e.tellAdmins(ctx, m, item.Destination); err != nil {
		e.log.Error("report undeliverable message to admins", "message", item.ID, "err", err)
	}
}

func merchant(check string) string {
	m, _, _ := strings.Cut(check, "/")
	return m
}

func (e *Engine) flushStats(ctx context.Context) error {
	ss := e.stats.take()
	if len(ss) == 0 {
		return nil
	}
	err := e.store.Update(ctx, func(tx store.Tx) error { return tx.AddStats(ctx, ss) })
	if err != nil {
		e.stats.putBack(ss)
		return fmt.Errorf("write %d aggregates: %w", len(ss), err)
	}
	return nil
}
