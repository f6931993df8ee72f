package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/hostwatch/hostwatch/store"
)

// Destination joins a platform and an address into the outbox's
// destination, "telegram:111".
func Destination(platform, address string) string {
	return platform + ":" + address
}

// SplitDestination is the inverse of Destination.
func SplitDestination(dest string) (platform, address string) {
	platform, address, _ = strings.Cut(dest, ":")
	return platform, address
}

// DispatcherOptions are what a Dispatcher needs.
type DispatcherOptions struct {
	Outbox    store.Outbox
	Notifiers map[string]Notifier // by platform
	Pacing    map[string]Pacing   // by platform; unlimited when missing
	// Undeliverable is told of each message given up on for good, to tell
	// the admins.
	Undeliverable func(ctx context.Context, item store.OutboxItem, err error)
	// DrainTimeout bounds how long Run goes on delivering after its
	// context is done. Default 10s.
	DrainTimeout time.Duration
	// BackoffBase and BackoffMax bound the wait between retries of a
	// failing destination: it doubles from the base, with jitter. Default
	// 1s and 5m.
	BackoffBase, BackoffMax time.Duration
	Clock                   clockwork.Clock
	Logger                  *slog.Logger
	Registry                prometheus.Registerer
}

// errOriginalLost is an edit of a message that was never delivered.
var errOriginalLost = errors.New("the message to edit was not delivered")

// Dispatcher delivers the outbox: one queue per destination, in the order
// the messages were written, each paced to its platform's limits, retried
// until delivered or refused for good. A slow or failing destination holds
// up only itself.
//
// Delivery is at least once: an item is marked sent right after the
// platform's answer. A process that dies between the two sends that one
// message again at the next start, so at most one duplicate per destination
// can follow a crash; the message's ID lets a receiver drop it.
type Dispatcher struct {
	o       DispatcherOptions
	clock   clockwork.Clock
	log     *slog.Logger
	wake    chan struct{}
	global  map[string]*rate.Limiter
	results *prometheus.CounterVec
	pending prometheus.Gauge

	mu      sync.Mutex
	workers map[string]*worker
	lastID  int64
}

// NewDispatcher builds a Dispatcher.
func NewDispatcher(o DispatcherOptions) (*Dispatcher, error) {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Minute
	}
	d := &Dispatcher{
		o: o, clock: o.Clock, log: o.Logger,
		wake:    make(chan struct{}, 1),
		global:  map[string]*rate.Limiter{},
		workers: map[string]*worker{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostwatch_notifications_total",
			Help: "Delivery attempts by platform and result: sent, retry (will try again) or failed (given up).",
		}, []string{"platform", "result"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hostwatch_outbox_pending", Help: "Messages waiting for delivery.",
		}),
	}
	for platform, p := range o.Pacing {
		d.global[platform] = p.Global.limiter()
	}
	for _, c := range []prometheus.Collector{d.results, d.pending} {
		if err := o.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return d, nil
}

// Wake tells the dispatcher that the outbox has new messages.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done, then goes on for at most DrainTimeout
// with what is already queued, and returns; what is left stays in the
// outbox for the next start.
func (d *Dispatcher) Run(ctx context.Context) error {
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	var wg sync.WaitGroup
	stopping := make(chan struct{})
	poll := d.clock.NewTicker(time.Second)
	defer poll.Stop()
	for ctx.Err() == nil {
		more, err := d.load(ctx, sendCtx, stopping, &wg)
		if err != nil && ctx.Err() == nil {
			d.log.Error("read outbox", "err", err)
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-poll.Chan():
		}
	}
	// What was written just before the end (the last probes' alerts) is
	// delivered in the drain too.
	for {
		more, err := d.load(sendCtx, sendCtx, stopping, &wg)
		if err != nil || !more {
			break
		}
	}
	close(stopping)
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-d.clock.After(d.o.DrainTimeout):
		d.log.Warn("delivery stopped before the outbox was empty; the rest goes out at the next start",
			"pending", d.queued())
		cancelSends()
		<-drained
	}
	return nil
}

// load hands new pending items to their destinations' workers, starting
// workers as needed. It reports whether there may be more to read.
func (d *Dispatcher) load(ctx, sendCtx context.Context, stopping chan struct{}, wg *sync.WaitGroup) (bool, error) {
	const page = 1000
	items, err := d.o.Outbox.Pending(ctx, d.lastID, page)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, it := range items {
		d.lastID = max(d.lastID, it.ID)
		w, ok := d.workers[it.Destination]
		if !ok {
			w = d.newWorker(it.Destination)
			d.workers[it.Destination] = w
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(sendCtx, stopping)
			}()
		}
		w.push(it)
		d.pending.Inc()
	}
	return len(items) == page, nil
}

func (d *Dispatcher) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, w := range d.workers {
		n += w.len()
	}
	return n
}

func (d *Dispatcher) newWorker(dest string) *worker {
	platform, address := SplitDestination(dest)
	w := &worker{d: d, dest: dest, platform: platform, address: address, signal: make(chan struct{}, 1)}
	w.notifier = d.o.Notifiers[platform]
	if p, ok := d.o.Pacing[platform]; ok {
		w.global = d.global[platform]
		if p.PerDestination != nil {
			w.every = p.PerDestination(address).every()
		}
	}
	w.sent = d.results.WithLabelValues(platform, "sent")
	w.retried = d.results.WithLabelValues(platform, "retry")
	w.failed = d.results.WithLabelValues(platform, "failed")
	return w
}

// worker delivers one destination's messages, one at a time, in order.
type worker struct {
	d                 *Dispatcher
	dest              string
	platform, address string
	notifier          Notifier
	global            *rate.Limiter
	// every is the least time between two sends to this destination,
	// counted from the moment of the last one; last is that moment.
	every                 time.Duration
	last                  time.Time
	sent, retried, failed prometheus.Counter

	mu     sync.Mutex
	queue  []store.OutboxItem
	signal chan struct{}
}

func (w *worker) push(it store.OutboxItem) {
	w.mu.Lock()
	w.queue = append(w.queue, it)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func (w *worker) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

func (w *worker) head() (store.OutboxItem, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return store.OutboxItem{}, false
	}
	return w.queue[0], true
}

func (w *worker) pop() {
	w.mu.Lock()
	w.queue = w.queue[1:]
	w.mu.Unlock()
	w.d.pending.Dec()
}

func (w *worker) setHead(it store.OutboxItem) {
	w.mu.Lock()
	w.queue[0] = it
	w.mu.Unlock()
}

// run delivers until the queue is empty after stopping closed, or ctx ends.
func (w *worker) run(ctx context.Context, stopping <-chan struct{}) {
	clock := w.d.clock
	for ctx.Err() == nil {
		it, ok := w.head()
		if !ok {
			select {
			case <-w.signal:
				continue
			case <-stopping:
				return
			case <-ctx.Done():
				return
			}
		}
		if wait := it.NextAt.Sub(clock.Now()); wait > 0 {
			// A destination backing off does not hold up shutdown: its
			// message stays in the outbox for the next start.
			select {
			case <-clock.After(wait):
			case <-stopping:
				return
			case <-ctx.Done():
				return
			}
		}
		if err := w.pace(ctx); err != nil {
			return
		}
		w.attempt(ctx, it)
	}
}

// pace waits until the next send keeps both limits. The destination's is
// counted from its last actual send, not from a reservation: a wait for the
// platform's limit in between must not squeeze two sends to one chat
// together.
func (w *worker) pace(ctx context.Context) error {
	clock := w.d.clock
	if w.every > 0 && !w.last.IsZero() {
		if d := w.last.Add(w.every).Sub(clock.Now()); d > 0 {
			select {
			case <-clock.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if w.global != nil {
		r := w.global.Reserve()
		if d := r.Delay(); d > 0 {
			select {
			case <-clock.After(d):
			case <-ctx.Done():
				r.Cancel()
				return ctx.Err()
			}
		}
	}
	w.last = clock.Now()
	return nil
}

// attempt delivers the head item once and records the outcome.
func (w *worker) attempt(ctx context.Context, it store.OutboxItem) {
	log := w.d.log.With("destination", w.dest, "message", it.ID, "incident", it.Incident)
	receipt, err := w.deliver(ctx, it)
	// The outcome is written even when ctx was just cancelled: a message
	// the platform took must not go out again.
	mctx := context.WithoutCancel(ctx)
	now := w.d.clock.Now()
	it.Attempts++
	var retryAfter *RetryAfterError
	switch {
	case err == nil:
		if merr := w.d.o.Outbox.MarkSent(mctx, it.ID, receipt, now); merr != nil {
			log.Error("record delivery", "err", merr)
		}
		w.sent.Inc()
		w.pop()
	case ctx.Err() != nil:
		// Cut short by shutdown: it stays pending.
	case errors.Is(err, errOriginalLost):
		// The message to edit was never delivered, which was reported
		// then: the edit is dropped without a second report.
		log.Warn("edit dropped", "err", err)
		if merr := w.d.o.Outbox.MarkFailed(mctx, it.ID, it.Attempts, err.Error(), now); merr != nil {
			log.Error("record failed delivery", "err", merr)
		}
		w.pop()
	case IsPermanent(err):
		w.failed.Inc()
		log.Error("message undeliverable, given up", "attempts", it.Attempts, "err", err)
		if merr := w.d.o.Outbox.MarkFailed(mctx, it.ID, it.Attempts, err.Error(), now); merr != nil {
			log.Error("record failed delivery", "err", merr)
		}
		w.pop()
		if w.d.o.Undeliverable != nil {
			w.d.o.Undeliverable(mctx, it, err)
		}
	default:
		w.retried.Inc()
		wait := w.backoff(it.Attempts)
		if errors.As(err, &retryAfter) {
			wait = retryAfter.After
		}
		it.NextAt, it.LastError = now.Add(wait), err.Error()
		log.Warn("delivery failed; will retry", "attempts", it.Attempts, "in", wait, "err", err)
		if merr := w.d.o.Outbox.MarkRetry(mctx, it.ID, it.Attempts, it.NextAt, it.LastError); merr != nil {
			log.Error("record retry", "err", merr)
		}
		w.setHead(it)
	}
}

func (w *worker) deliver(ctx context.Context, it store.OutboxItem) (string, error) {
	if w.notifier == nil {
		return "", Permanent(fmt.Errorf("no notifier for platform %q", w.platform))
	}
	var m Message
	if err := json.Unmarshal(it.Payload, &m); err != nil {
		return "", Permanent(fmt.Errorf("decode message: %w", err))
	}
	m.ID = it.ID
	if it.Op != "edit" {
		if it.Ref != 0 {
			if orig, err := w.d.o.Outbox.Item(ctx, it.Ref); err == nil && orig.State == store.Sent {
				m.ReplyTo = orig.Receipt
			}
		}
		return w.notifier.Send(ctx, w.address, m)
	}
	editor, ok := w.notifier.(Editor)
	if !ok {
		return "", Permanent(fmt.Errorf("%s messages cannot be edited", w.platform))
	}
	orig, err := w.d.o.Outbox.Item(ctx, it.Ref)
	if err != nil {
		return "", fmt.Errorf("find the message to edit: %w", err)
	}
	if orig.State != store.Sent {
		return "", fmt.Errorf("message %d: %w", it.Ref, errOriginalLost)
	}
	return orig.Receipt, editor.Edit(ctx, w.address, orig.Receipt, m)
}

// backoff is the wait before retry n: doubling from the base up to the
// maximum, with jitter so that failing destinations do not retry in step.
func (w *worker) backoff(n int) time.Duration {
	d := w.d.o.BackoffBase << min(n-1, 20)
	if d <= 0 || d > w.d.o.BackoffMax {
		d = w.d.o.BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}
