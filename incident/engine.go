package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/notifier"
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
	// Checks are the IDs of the configured checks; open incidents of
	// other checks are closed at start. Nil keeps every incident.
	Checks   []string
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
	// first one of a batch, so that an outage of many checks is written in
	// a few transactions instead of one per probe. Default 50ms; it delays
	// the first message of an outage by as much.
	Linger time.Duration
}

// Engine records observations and runs the incident lifecycle: it opens
// and resolves incidents, groups them into alerts, escalates, and holds
// messages while a silence, a maintenance window or flapping says so.
//
// One goroutine, Run's, changes the state; it holds mu while it does, so
// that the queries of other goroutines see a committed state.
type Engine struct {
	store store.Store
	clock clockwork.Clock
	log   *slog.Logger
	o     Options
	rules Rules

	closeMu sync.RWMutex
	closed  bool
	in      chan monitor.Observation
	// manual carries changes made by people (an acknowledgement, a
	// silence) to the writer's goroutine.
	manual chan func()

	stats *aggregator

	mu         sync.Mutex
	open       map[string]*member // check → its open incident
	alerts     map[int64]*alert   // open alerts by ID
	byMerchant map[string]*alert  // the open alert of each merchant
	byProvider map[string]*alert  // the open outage of each provider
	silences   []store.Silence    // set by command, active
	changes    map[string][]time.Time
	flapping   map[string]time.Time // since when; stored
	windows    map[string]bool      // maintenance windows recorded: name@start
	// stale says the state in memory may be ahead of the store, after a
	// transaction failed: it is loaded again before the next one.
	stale bool
	// After a failed tick, nothing falls due before holdUntil: a store
	// that refuses writes is retried with backoff, not in a spin.
	holdUntil   time.Time
	tickBackoff time.Duration
}

// New builds an Engine and loads what the last run left open.
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
		manual:  make(chan func()),
		stats:   newAggregator(),
		windows: map[string]bool{},
	}
	open, err := o.Store.Incidents(ctx, store.IncidentFilter{OpenOnly: true})
	if err != nil {
		return nil, fmt.Errorf("load open incidents: %w", err)
	}
	var orphans []store.Incident
	for _, in := range open {
		if o.Checks != nil && !slices.Contains(o.Checks, in.Check) {
			orphans = append(orphans, in)
		}
	}
	if err := e.closeOrphans(ctx, orphans); err != nil {
		return nil, err
	}
	if err := e.load(ctx); err != nil {
		return nil, err
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

// closeOrphans resolves the incidents of checks no longer configured: no
// one watches them, so they cannot end by recovery. They end now, marked as
// removed, without a message.
func (e *Engine) closeOrphans(ctx context.Context, orphans []store.Incident) error {
	if len(orphans) == 0 {
		return nil
	}
	now := e.clock.Now()
	return e.store.Update(ctx, func(tx store.Tx) error {
		for _, in := range orphans {
			e.log.Warn("incident closed: its check is no longer in the configuration", "incident", in.ID, "check", in.Check)
			if err := tx.ResolveIncident(ctx, in.ID, now, "removed"); err != nil {
				return err
			}
			if err := tx.AddEvent(ctx, store.Event{Incident: in.ID, At: now, Kind: "resolved",
				Detail: "the check is no longer in the configuration"}); err != nil {
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
func (e *Engine) OpenIncident(check string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.open[check]; m != nil {
		return m.incident
	}
	return 0
}

// maxBatch bounds one transaction.
const maxBatch = 1024

// Run writes observations as they come, grouping whatever has queued up
// into one transaction, and takes each step, release and timeout when it
// falls due, until Close; then it writes the rest and the aggregates and
// returns. Failed writes are retried: an observation is dropped only when
// the store still refuses it at shutdown.
func (e *Engine) Run(ctx context.Context) error {
	statsTicker := e.clock.NewTicker(e.o.StatsEvery)
	defer statsTicker.Stop()
	compactTicker := e.clock.NewTicker(e.o.CompactEvery)
	defer compactTicker.Stop()
	e.compact(ctx)
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
				return e.flushStats(context.WithoutCancel(ctx))
			}
			batch = e.collect(append(batch[:0], o))
			e.writeRetrying(ctx, batch)
		case fn := <-e.manual:
			fn()
		case <-due:
			e.tick(ctx)
		case <-statsTicker.Chan():
			if err := e.flushStats(ctx); err != nil {
				e.log.Error("write probe aggregates", "err", err)
			}
		case <-compactTicker.Chan():
			e.compact(ctx)
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// collect adds to batch what arrives within the linger time, up to
// maxBatch. The linger is real time whatever the clock: it only batches
// writes.
func (e *Engine) collect(batch []monitor.Observation) []monitor.Observation {
	linger := time.NewTimer(e.o.Linger)
	defer linger.Stop()
	for len(batch) < maxBatch {
		select {
		case o, ok := <-e.in:
			if !ok {
				return batch
			}
			batch = append(batch, o)
		case <-linger.C:
			return batch
		}
	}
	return batch
}

func (e *Engine) compact(ctx context.Context) {
	if err := e.store.Compact(ctx, e.clock.Now()); err != nil {
		e.log.Error("compact history", "err", err)
	}
}

// writeRetrying writes a batch, retrying while the store refuses it. The
// monitor waits meanwhile, which shows as skipped probes, not lost ones.
func (e *Engine) writeRetrying(ctx context.Context, batch []monitor.Observation) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := e.write(context.WithoutCancel(ctx), batch)
		if err == nil {
			return
		}
		e.closeMu.RLock()
		closing := e.closed
		e.closeMu.RUnlock()
		// At shutdown, give up after a few tries: the probes waiting to
		// hand over their results must be let go for the daemon to stop.
		if (closing || ctx.Err() != nil) && attempt >= 3 {
			e.log.Error("record lost: the store refused it at shutdown", "observations", len(batch), "err", err)
			return
		}
		e.log.Error("write record; will retry", "observations", len(batch), "attempt", attempt, "err", err)
		select {
		case <-e.clock.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// update runs fn in one transaction on the state, holding mu. When the
// transaction fails the state is loaded again from the store before the
// next one, so memory never runs ahead of the record.
func (e *Engine) update(ctx context.Context, fn func(p *pass) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stale {
		if err := e.load(ctx); err != nil {
			return err
		}
	}
	var sent bool
	err := e.store.Update(ctx, func(tx store.Tx) error {
		p := &pass{e: e, ctx: ctx, tx: tx, now: e.clock.Now(), dirty: map[int64]*alert{}}
		if err := fn(p); err != nil {
			return err
		}
		if err := p.settleDirty(); err != nil {
			return err
		}
		sent = p.sent
		return nil
	})
	if err != nil {
		e.stale = true
		return err
	}
	if sent && e.o.Wake != nil {
		e.o.Wake()
	}
	return nil
}

// write stores one batch in one transaction with the messages it causes.
func (e *Engine) write(ctx context.Context, batch []monitor.Observation) error {
	err := e.update(ctx, func(p *pass) error {
		var fails []store.Failure
		states := map[string]store.CheckState{}
		incidentOf := func(check string) int64 {
			if m := e.open[check]; m != nil {
				return m.incident
			}
			return 0
		}
		for _, o := range batch {
			id := o.Check.ID
			if o.Change != nil {
				// Failures before the change belong to what was before it.
				if err := p.tx.AddFailures(ctx, fails); err != nil {
					return err
				}
				fails = fails[:0]
				if err := p.change(o); err != nil {
					return err
				}
			}
			if !o.Result.OK {
				fails = append(fails, store.Failure{
					Check: id, At: o.At, Latency: o.Result.Latency, Kind: o.Result.Kind,
					Error: o.Result.Error, Evidence: o.Result.Evidence, Incident: incidentOf(id),
				})
				if m := e.open[id]; m != nil && o.Change == nil {
					m.failures++ // the probe that opened it is counted
				}
			}
			s := o.State
			s.Incident = incidentOf(id)
			states[id] = s
		}
		if err := p.tx.AddFailures(ctx, fails); err != nil {
			return err
		}
		for _, s := range states {
			if err := p.tx.SaveCheckState(ctx, s); err != nil {
				return err
			}
		}
		return p.correlate()
	})
	if err != nil {
		return err
	}
	for _, o := range batch {
		e.stats.add(o.Check.ID, o.At, o.Result)
	}
	return nil
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
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.tickBackoff = min(max(2*e.tickBackoff, time.Second), time.Minute)
		e.holdUntil = e.clock.Now().Add(e.tickBackoff)
		e.log.Error("take what fell due; will retry", "in", e.tickBackoff, "err", err)
		return
	}
	e.tickBackoff, e.holdUntil = 0, time.Time{}
}

// Sync writes the observations queued so far and takes what has fallen due
// by the clock, before it returns: for tests that drive the clock.
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
			e.writeRetrying(ctx, batch)
		}
		e.tick(ctx)
		return nil
	})
}

// do runs fn in the writer's goroutine and returns its error.
func (e *Engine) do(ctx context.Context, fn func() error) error {
	reply := make(chan error, 1)
	select {
	case e.manual <- func() { reply <- fn() }:
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
	payload, err := json.Marshal(m)
	if err != nil {
		return
	}
	var items []store.OutboxItem
	for _, dest := range e.o.Router.Admins() {
		if dest != item.Destination {
			// Not filed under the incident or its alert: a notice to the
			// admins is no alert, and later edits must not touch it.
			items = append(items, store.OutboxItem{CreatedAt: e.clock.Now(), Destination: dest, Op: "send", Payload: payload})
		}
	}
	if len(items) == 0 {
		return
	}
	if err := e.store.Update(ctx, func(tx store.Tx) error { return tx.Enqueue(ctx, items) }); err != nil {
		e.log.Error("report undeliverable message to admins", "message", item.ID, "err", err)
		return
	}
	if e.o.Wake != nil {
		e.o.Wake()
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
