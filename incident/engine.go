package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
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

// Router says where a check's messages go, as outbox destinations
// ("telegram:111", "webhook:pager", "console:").
type Router interface {
	Destinations(check string) []string
	// Admins are the destinations of the admins.
	Admins() []string
	// Editable reports whether messages at dest can be edited later.
	Editable(dest string) bool
}

// Options are what an Engine needs.
type Options struct {
	Store  store.Store
	Router Router
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

// openIncident is an incident the engine holds open for a check.
type openIncident struct {
	id    int64
	start time.Time
}

// Engine records observations and runs the incident lifecycle.
type Engine struct {
	store store.Store
	clock clockwork.Clock
	log   *slog.Logger
	o     Options

	closeMu sync.RWMutex
	closed  bool
	in      chan monitor.Observation
	// manual carries changes made by people (a resolve by hand) to the
	// writer, which alone changes the open incidents.
	manual chan func()

	stats *aggregator

	mu   sync.Mutex
	open map[string]openIncident // check → its open incident
}

// New builds an Engine and loads the incidents left open by the last run.
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
		store: o.Store, clock: o.Clock, log: o.Logger, o: o,
		in:     make(chan monitor.Observation, o.QueueSize),
		manual: make(chan func()),
		stats:  newAggregator(),
		open:   map[string]openIncident{},
	}
	open, err := o.Store.Incidents(ctx, store.IncidentFilter{OpenOnly: true})
	if err != nil {
		return nil, fmt.Errorf("load open incidents: %w", err)
	}
	var orphans []store.Incident
	for _, in := range open {
		if o.Checks != nil && !slices.Contains(o.Checks, in.Check) {
			orphans = append(orphans, in)
			continue
		}
		e.open[in.Check] = openIncident{id: in.ID, start: in.Start}
	}
	if err := e.closeOrphans(ctx, orphans); err != nil {
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
	return e.open[check].id
}

// maxBatch bounds one transaction.
const maxBatch = 1024

// Run writes observations as they come, grouping whatever has queued up
// into one transaction, until Close; then it writes the rest and the
// aggregates and returns. Failed writes are retried: an observation is
// dropped only when the store still refuses it at shutdown.
func (e *Engine) Run(ctx context.Context) error {
	statsTicker := e.clock.NewTicker(e.o.StatsEvery)
	defer statsTicker.Stop()
	compactTicker := e.clock.NewTicker(e.o.CompactEvery)
	defer compactTicker.Stop()
	e.compact(ctx)

	batch := make([]monitor.Observation, 0, maxBatch)
	for {
		select {
		case o, ok := <-e.in:
			if !ok {
				return e.flushStats(context.WithoutCancel(ctx))
			}
			batch = e.collect(append(batch[:0], o))
			e.writeRetrying(ctx, batch)
		case fn := <-e.manual:
			fn()
		case <-statsTicker.Chan():
			if err := e.flushStats(ctx); err != nil {
				e.log.Error("write probe aggregates", "err", err)
			}
		case <-compactTicker.Chan():
			e.compact(ctx)
		}
	}
}

// collect adds to batch what arrives within the linger time, up to
// maxBatch.
func (e *Engine) collect(batch []monitor.Observation) []monitor.Observation {
	linger := e.clock.NewTimer(e.o.Linger)
	defer linger.Stop()
	for len(batch) < maxBatch {
		select {
		case o, ok := <-e.in:
			if !ok {
				return batch
			}
			batch = append(batch, o)
		case <-linger.Chan():
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

// write stores one batch in one transaction and, once it is committed,
// sends the messages it caused.
func (e *Engine) write(ctx context.Context, batch []monitor.Observation) error {
	e.mu.Lock()
	open := make(map[string]openIncident, len(e.open))
	for k, v := range e.open {
		open[k] = v
	}
	e.mu.Unlock()

	var sent bool
	err := e.store.Update(ctx, func(tx store.Tx) error {
		sent = false
		var fails []store.Failure
		states := map[string]store.CheckState{}
		for _, o := range batch {
			id := o.Check.ID
			if c := o.Change; c != nil {
				// Failures before the change belong to what was before it.
				if err := tx.AddFailures(ctx, fails); err != nil {
					return err
				}
				fails = fails[:0]
				m, err := e.change(ctx, tx, o, open)
				if err != nil {
					return err
				}
				if m != nil {
					if err := e.enqueue(ctx, tx, *m); err != nil {
						return err
					}
					sent = true
				}
			}
			if !o.Result.OK {
				fails = append(fails, store.Failure{
					Check: id, At: o.At, Latency: o.Result.Latency, Kind: o.Result.Kind,
					Error: o.Result.Error, Evidence: o.Result.Evidence, Incident: open[id].id,
				})
			}
			s := o.State
			s.Incident = open[id].id
			states[id] = s
		}
		if err := tx.AddFailures(ctx, fails); err != nil {
			return err
		}
		for _, s := range states {
			if err := tx.SaveCheckState(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.open = open
	e.mu.Unlock()
	for _, o := range batch {
		e.stats.add(o.Check.ID, o.At, o.Result)
	}
	if sent && e.o.Wake != nil {
		e.o.Wake()
	}
	return nil
}

// enqueue writes m to the outbox for every destination of its check: a new
// message each, and for a resolution also an edit of the down message
// where the platform can edit.
func (e *Engine) enqueue(ctx context.Context, tx store.Tx, m notifier.Message) error {
	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	now := e.clock.Now()
	var sends map[string]int64
	var items []store.OutboxItem
	if m.Kind == notifier.Resolved {
		if sends, err = tx.Sends(ctx, m.Incident); err != nil {
			return err
		}
	}
	for _, dest := range e.o.Router.Destinations(m.Check) {
		// A resolution edits the alert where the platform can, and its
		// new message follows up the alert (in its thread, in Slack).
		ref := sends[dest]
		if ref != 0 && e.o.Router.Editable(dest) {
			items = append(items, store.OutboxItem{CreatedAt: now, Destination: dest, Incident: m.Incident, Op: "edit", Ref: ref, Payload: payload})
		}
		items = append(items, store.OutboxItem{CreatedAt: now, Destination: dest, Incident: m.Incident, Op: "send", Ref: ref, Payload: payload})
	}
	return tx.Enqueue(ctx, items)
}

// Acknowledge records that by took incident n in hand and has every alert
// of it that can be edited say so. It fails with store.ErrNotFound for an
// incident that is not open and store.ErrAcknowledged for one acknowledged
// before.
func (e *Engine) Acknowledge(ctx context.Context, n int64, by string) (store.Incident, error) {
	in, err := e.store.Incident(ctx, n)
	if err != nil {
		return in, err
	}
	now := e.clock.Now()
	m := notifier.Message{Kind: notifier.Down, Incident: n, Merchant: merchant(in.Check), Check: in.Check,
		Start: in.Start, AckBy: by, AckAt: now}
	var first time.Time
	for _, es := range in.Errors {
		if m.Error == "" || es.First.Before(first) {
			m.Error, first = es.FirstError, es.First
		}
		m.Failures += es.Count
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return in, err
	}
	err = e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.Acknowledge(ctx, n, by, now); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, store.Event{Incident: n, At: now, Kind: "acknowledged", Detail: by}); err != nil {
			return err
		}
		sends, err := tx.Sends(ctx, n)
		if err != nil {
			return err
		}
		var items []store.OutboxItem
		for _, dest := range slices.Sorted(maps.Keys(sends)) {
			if e.o.Router.Editable(dest) && slices.Contains(e.o.Router.Destinations(in.Check), dest) {
				items = append(items, store.OutboxItem{CreatedAt: now, Destination: dest, Incident: n, Op: "edit", Ref: sends[dest], Payload: payload})
			}
		}
		return tx.Enqueue(ctx, items)
	})
	if err != nil {
		return in, err
	}
	in.AckBy, in.AckAt = by, now
	if e.o.Wake != nil {
		e.o.Wake()
	}
	return in, nil
}

// Resolve closes open incident n by hand, for by, and tells its contacts.
// The check is still probed: it opens a new incident only after it has
// recovered and gone down again.
func (e *Engine) Resolve(ctx context.Context, n int64, by string) (store.Incident, error) {
	type result struct {
		in  store.Incident
		err error
	}
	reply := make(chan result, 1)
	fn := func() {
		in, err := e.resolve(ctx, n, by)
		reply <- result{in, err}
	}
	select {
	case e.manual <- fn:
	case <-ctx.Done():
		return store.Incident{}, ctx.Err()
	}
	r := <-reply
	return r.in, r.err
}

// resolve runs in the writer's goroutine.
func (e *Engine) resolve(ctx context.Context, n int64, by string) (store.Incident, error) {
	in, err := e.store.Incident(ctx, n)
	if err != nil {
		return in, err
	}
	if !in.Open() {
		return in, fmt.Errorf("resolve #%d: %w", n, store.ErrNotFound)
	}
	now := e.clock.Now()
	m := notifier.Message{Kind: notifier.Resolved, Incident: n, Merchant: merchant(in.Check), Check: in.Check,
		Start: in.Start, End: now, ResolvedBy: by}
	err = e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.ResolveIncident(ctx, n, now, by); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, store.Event{Incident: n, At: now, Kind: "resolved", Detail: "by hand: " + by}); err != nil {
			return err
		}
		return e.enqueue(ctx, tx, m)
	})
	if err != nil {
		return in, err
	}
	e.mu.Lock()
	if e.open[in.Check].id == n {
		delete(e.open, in.Check)
	}
	e.mu.Unlock()
	in.End, in.ResolvedBy = now, by
	if e.o.Wake != nil {
		e.o.Wake()
	}
	return in, nil
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
			// Not filed under the incident: a notice to the admins is no
			// alert of it, and later edits of its alerts must not touch it.
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

// change applies one state change inside tx, updating open, and returns the
// message it calls for.
func (e *Engine) change(ctx context.Context, tx store.Tx, o monitor.Observation, open map[string]openIncident) (*notifier.Message, error) {
	c, id := o.Change, o.Check.ID
	cur := open[id]
	var msg *notifier.Message
	switch {
	case c.To == store.Down && cur.id == 0:
		n, err := tx.OpenIncident(ctx, id, c.Since, o.At)
		if err != nil {
			return nil, err
		}
		cur = openIncident{id: n, start: c.Since}
		open[id] = cur
		detail := fmt.Sprintf("%d failed probes since %s: %s", o.State.FailStreak, c.Since.UTC().Format(time.RFC3339), o.Result.Error)
		if err := tx.AddEvent(ctx, store.Event{Incident: n, At: o.At, Kind: "opened", Detail: detail}); err != nil {
			return nil, err
		}
		msg = &notifier.Message{
			Kind: notifier.Down, Incident: n, Merchant: merchant(id), Check: id,
			Start: c.Since, Error: o.Result.Error, Failures: o.State.FailStreak,
		}
	case c.From == store.Down && cur.id != 0:
		if err := tx.ResolveIncident(ctx, cur.id, c.Since, "recovery"); err != nil {
			return nil, err
		}
		detail := fmt.Sprintf("%d successful probes since %s", o.State.OKStreak, c.Since.UTC().Format(time.RFC3339))
		if err := tx.AddEvent(ctx, store.Event{Incident: cur.id, At: o.At, Kind: "resolved", Detail: detail}); err != nil {
			return nil, err
		}
		delete(open, id)
		msg = &notifier.Message{
			Kind: notifier.Resolved, Incident: cur.id, Merchant: merchant(id), Check: id,
			Start: cur.start, End: c.Since,
		}
	}
	err := tx.AddStateChange(ctx, store.StateChange{Check: id, At: c.Since, From: c.From, To: c.To, Incident: cur.id})
	return msg, err
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
